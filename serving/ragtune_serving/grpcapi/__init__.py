"""The gRPC boundary: proto ↔ records (codec) and domain errors → status codes (errors)."""
