"""The AWS JSON 1.1 wire layer: parsing, validation, serialization and HTTP, knowing nothing of faces."""
