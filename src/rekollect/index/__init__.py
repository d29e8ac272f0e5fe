"""Vector search: the ``VectorIndex`` interface and its exact in-memory implementation."""
