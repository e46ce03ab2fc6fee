"""The only operator modules that do I/O: the Kubernetes API, the gateway, the Ray dashboard."""
