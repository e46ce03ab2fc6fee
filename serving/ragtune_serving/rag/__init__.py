"""Pure RAG logic: chunking, documents, prompts, citations, ranking. No Ray, no I/O."""
