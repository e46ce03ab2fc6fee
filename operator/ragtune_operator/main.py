"""Run the operator: `ragtune operator [--direct DASHBOARD_URL] [--namespace NS ...]`.

KubeRay mode (default) renders a RayService per namespace; direct mode PUTs the same Serve
config to an existing Ray cluster's dashboard. Credentials come from the pod's service account,
else the kubeconfig (`KUBECONFIG`), as for kubectl.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import kopf

from ragtune_operator import convergence
from ragtune_operator import handlers as _registers_the_handlers  # noqa: F401
from ragtune_operator.settings import OperatorSettings


def run(
    namespaces: Sequence[str] = (),
    *,
    direct: str = "",
    milvus_uri: str = "",
    liveness_endpoint: str | None = None,
    verbose: bool = False,
) -> None:
    """Serve until interrupted; `namespaces` empty watches the whole cluster.

    `direct` and `milvus_uri` override the settings read from `RAGTUNE_OPERATOR_*`, except
    that an explicitly configured Milvus wins over the local default `milvus_uri` brings.
    """
    overrides: dict[str, str] = {}
    if direct:
        overrides["direct_dashboard_url"] = direct.rstrip("/")
    default_milvus = OperatorSettings.model_fields["milvus_uri"].default
    if milvus_uri and convergence.SETTINGS.milvus_uri == default_milvus:
        overrides["milvus_uri"] = milvus_uri
    if overrides:
        convergence.use_settings(convergence.SETTINGS.model_copy(update=overrides))
    if convergence.SETTINGS.direct and len(namespaces) != 1:
        raise ValueError(
            "direct mode serves one namespace on one Ray cluster (its whole Serve config): "
            "give exactly one namespace"
        )
    kopf.configure(verbose=verbose, log_format=kopf.LogFormat.PLAIN)
    logging.getLogger("kubernetes").setLevel(logging.WARNING)
    kopf.run(
        standalone=True,
        clusterwide=not namespaces,
        namespaces=list(namespaces),
        liveness_endpoint=liveness_endpoint,
    )
