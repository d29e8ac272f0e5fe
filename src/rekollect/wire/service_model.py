"""Rekognition's service model, as botocore ships it.

Every shape, limit, enum and pattern the wire layer enforces comes from
``botocore/data/rekognition/2016-06-27/service-2.json``; nothing is copied by hand.
"""

from __future__ import annotations

from functools import cache

from botocore.loaders import Loader
from botocore.model import ServiceModel


@cache
def rekognition_model() -> ServiceModel:
    """Return botocore's ``ServiceModel`` for ``rekognition`` (API version 2016-06-27)."""
    return ServiceModel(Loader().load_service_model("rekognition", "service-2"), "rekognition")
