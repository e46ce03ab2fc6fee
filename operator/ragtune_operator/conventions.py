"""Names shared by the CRDs, the operator and serving: API group, versions, plurals, labels."""

from __future__ import annotations

GROUP = "ragtune.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"

KNOWLEDGE_BASE_KIND = "KnowledgeBase"
KNOWLEDGE_BASE_PLURAL = "knowledgebases"
KNOWLEDGE_BASE_SHORT_NAMES = ("kb",)
ADAPTER_KIND = "Adapter"
ADAPTER_PLURAL = "adapters"
ADAPTER_SHORT_NAMES = ("rtadapter",)
EVALUATION_KIND = "Evaluation"
EVALUATION_PLURAL = "evaluations"
EVALUATION_SHORT_NAMES = ("rteval",)

LABEL_PREFIX = "ragtune.io/"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "ragtune-operator"
FINALIZER = f"{GROUP}/drop-collection"


def knowledge_base_address(namespace: str, name: str) -> str:
    """How clients address a knowledge base in gRPC requests: `namespace/name`."""
    return f"{namespace}/{name}"


RAYSERVICE_NAME = "ragtune"  # one per namespace, serving all its knowledge bases
GRPC_SERVICE_NAME = "ragtune-grpc"
INSTANCE_LABEL = "app.kubernetes.io/instance"
COMPONENT_LABEL = "app.kubernetes.io/component"
SPEC_HASH_ANNOTATION = f"{LABEL_PREFIX}spec-hash"
