"""The installed model files (``rekollect install`` puts them into ``config.models_dir()``)."""

from __future__ import annotations

from pathlib import Path

from ...config import models_dir


def model_path(name: str) -> Path:
    """Path of an installed model file; ``RuntimeError`` naming the install command if it is missing."""
    path = models_dir() / name
    if not path.is_file():
        raise RuntimeError(f"model file {path} is missing: run `rekollect install` once at set-up")
    return path
