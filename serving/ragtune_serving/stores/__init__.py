"""Storage of chunks and vectors (Milvus) behind small, typed classes."""
