"""ragtune's Kubernetes operator: KnowledgeBase and Adapter resources → Ray Serve.

The package imports no Ray, torch, pymilvus or gRPC (checked by .importlinter), so the
operator image stays small.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
