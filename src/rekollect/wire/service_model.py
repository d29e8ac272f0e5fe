"""The service models the wire layer serves, as botocore loads them.

Rekognition's every shape, limit, enum and pattern comes from botocore's
``botocore/data/rekognition/2016-06-27/service-2.json``; nothing is copied by hand. Rekollect's own
operations (``rekollect-extensions``) have a model of the same format shipped in the package under
``DATA_PATH``, the folder to name in ``AWS_DATA_PATH`` so that boto3 and the aws CLI load it too.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from botocore.loaders import Loader
from botocore.model import ServiceModel

DATA_PATH = Path(__file__).resolve().parent.parent / "data"
"""Folder holding ``rekollect-extensions/<api-version>/service-2.json`` (botocore's data layout)."""

EXTENSIONS = "rekollect-extensions"
"""botocore service name of Rekollect's extension operations."""


@cache
def rekognition_model() -> ServiceModel:
    """Return botocore's ``ServiceModel`` for ``rekognition`` (API version 2016-06-27)."""
    return ServiceModel(Loader().load_service_model("rekognition", "service-2"), "rekognition")


@cache
def extensions_model() -> ServiceModel:
    """Return the ``ServiceModel`` of ``rekollect-extensions`` shipped in ``DATA_PATH``."""
    loader = Loader(extra_search_paths=[str(DATA_PATH)], include_default_search_paths=False)
    return ServiceModel(loader.load_service_model(EXTENSIONS, "service-2"), EXTENSIONS)
