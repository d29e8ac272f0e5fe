"""Where the attribute models' weight files live once installed (see ``install.py``)."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def models_dir() -> Path:
    """``$REKOLLECT_MODELS_DIR``, or ``<sys.prefix>/share/rekollect/models`` (inside the virtual environment)."""
    configured = os.environ.get("REKOLLECT_MODELS_DIR")
    return Path(configured) if configured else Path(sys.prefix) / "share" / "rekollect" / "models"


def model_path(name: str) -> Path:
    """Path of an installed model file; ``RuntimeError`` naming the install command if it is missing."""
    path = models_dir() / name
    if not path.is_file():
        raise RuntimeError(
            f"model file {path} is missing: run `python -m rekollect.vision.attributes.install` once at set-up"
        )
    return path
