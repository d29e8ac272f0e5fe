"""The boto3 clients the tools use: endpoint, region and credentials.

Endpoint, first found: ``--aws`` (Amazon's own endpoint: none given to boto3), ``--endpoint-url``,
``$REKOLLECT_ENDPOINT_URL``, ``$AWS_ENDPOINT_URL_REKOGNITION``, ``$AWS_ENDPOINT_URL`` (boto3's own
variables), else ``http://127.0.0.1:8085`` (``rekollect serve``'s default address).

Region and credentials come from boto3's usual chain (environment, ``~/.aws/config`` and
``~/.aws/credentials``, profiles...); ``--region`` overrides the region. Only when the chain has none and the endpoint is a loopback
URL (where ``rekollect serve`` runs in local mode without authentication) do the tools use region
``us-east-1`` and the dummy key pair ``local``/``local``, so they work on a fresh machine.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

import boto3
import botocore.session
from botocore.config import Config

from .. import addresses
from ..wire.service_model import DATA_PATH, EXTENSIONS

DEFAULT_ENDPOINT = "http://127.0.0.1:8085"
LOOPBACK_REGION = "us-east-1"
LOOPBACK_KEY = "local"


def resolve_endpoint(endpoint_url: str | None, use_aws: bool) -> str | None:
    """The Rekognition endpoint URL to use, or ``None`` for Amazon's own (see the module docstring)."""
    if use_aws:
        return None
    for candidate in (
        endpoint_url,
        os.environ.get("REKOLLECT_ENDPOINT_URL"),
        os.environ.get("AWS_ENDPOINT_URL_REKOGNITION"),
        os.environ.get("AWS_ENDPOINT_URL"),
    ):
        if candidate:
            return candidate
    return DEFAULT_ENDPOINT


def is_loopback(url: str | None) -> bool:
    """Whether ``url``'s host is ``localhost`` or a loopback address (``addresses.is_loopback``)."""
    return addresses.is_loopback(urlsplit(url).hostname if url else None)


def session_for(endpoint_url: str | None, region: str | None = None) -> boto3.session.Session:
    """A boto3 session on the usual chain, with ``region`` (``--region``) when given, the loopback
    defaults filled in where it has nothing, and Rekollect's extension model on botocore's search path."""
    core = botocore.session.get_session()
    core.get_component("data_loader").search_paths.append(str(DATA_PATH))
    if region:
        core.set_config_variable("region", region)
    session = boto3.session.Session(botocore_session=core)
    if not is_loopback(endpoint_url):
        return session
    if session.region_name is None:
        core.set_config_variable("region", LOOPBACK_REGION)
    if session.get_credentials() is None:
        core.set_credentials(LOOPBACK_KEY, LOOPBACK_KEY)
    return session


def rekognition_client(endpoint_url: str | None, max_connections: int = 10, region: str | None = None) -> Any:
    """A Rekognition client at ``endpoint_url`` (``None``: Amazon's) with standard retries, in ``region``
    when given (else the chain's).

    ``max_connections`` sizes the connection pool for that many requests in flight. Throttling
    (``ThrottlingException``, ``ProvisionedThroughputExceededException``) is retried by boto3's
    ``standard`` retry mode, up to 5 attempts.
    """
    return session_for(endpoint_url, region).client("rekognition", endpoint_url=endpoint_url, config=_config(max_connections))


def extensions_client(endpoint_url: str | None, region: str | None = None) -> Any:
    """A client of Rekollect's extension operations (``rekollect-extensions``: face clustering, face
    pictures, the job listing), set up as ``rekognition_client``; Amazon has no such endpoint."""
    return session_for(endpoint_url, region).client(EXTENSIONS, endpoint_url=endpoint_url, config=_config(10))


def _config(max_connections: int) -> Config:
    return Config(
        max_pool_connections=max(10, max_connections),
        retries={"mode": "standard", "max_attempts": 5},
        read_timeout=120,
    )


def s3_client(s3_endpoint_url: str | None, region: str | None = None) -> Any:
    """An S3 client for listing ``s3://`` sources: at ``s3_endpoint_url`` (else boto3's own choice,
    ``$AWS_ENDPOINT_URL_S3`` included), with the same loopback defaults as the Rekognition client."""
    return session_for(s3_endpoint_url, region).client("s3", endpoint_url=s3_endpoint_url)
