"""Persistent metadata: the ``MetadataStore`` interface and its embedded SQLite implementation."""
