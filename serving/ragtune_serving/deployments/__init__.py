"""Thin Ray Serve deployments: gateway, embedder, retriever, generator."""
