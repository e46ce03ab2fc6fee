"""ragtune serving: knowledge bases and generation on Ray Serve, reached over gRPC.

Importing this package imports nothing heavy; Ray, torch and pymilvus load in the modules
that need them.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
