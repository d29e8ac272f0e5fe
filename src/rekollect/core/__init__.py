"""The face service's domain core: images, stored faces, search and face details; no HTTP."""
