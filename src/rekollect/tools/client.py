"""The boto3 clients the tools use: endpoint, region and credentials.

Endpoint, first found: ``--aws`` (Amazon's own endpoint: none given to boto3), ``--endpoint-url``,
``$REKOLLECT_ENDPOINT_URL``, ``$AWS_ENDPOINT_URL_REKOGNITION``, ``$AWS_ENDPOINT_URL`` (boto3's own
variables), else ``http://127.0.0.1:8085`` (``rekollect serve``'s default address).

Region and credentials come from boto3's usual chain (environment, ``~/.aws/config`` and
``~/.aws/credentials``, profiles...). Only when the chain has none and the endpoint is a loopback
URL (where ``rekollect serve`` runs in local mode without authentication) do the tools use region
``us-east-1`` and the dummy key pair ``local``/``local``, so they work on a fresh machine.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.config import Config

from .. import addresses

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


def session_for(endpoint_url: str | None) -> boto3.session.Session:
    """A boto3 session on the usual chain, with the loopback defaults filled in where it has nothing."""
    session = boto3.session.Session()
    if not is_loopback(endpoint_url):
        return session
    region = session.region_name or LOOPBACK_REGION
    if session.get_credentials() is None:
        return boto3.session.Session(
            region_name=region, aws_access_key_id=LOOPBACK_KEY, aws_secret_access_key=LOOPBACK_KEY
        )
    return boto3.session.Session(region_name=region)


def rekognition_client(endpoint_url: str | None, max_connections: int = 10) -> Any:
    """A Rekognition client at ``endpoint_url`` (``None``: Amazon's) with standard retries.

    ``max_connections`` sizes the connection pool for that many requests in flight. Throttling
    (``ThrottlingException``, ``ProvisionedThroughputExceededException``) is retried by boto3's
    ``standard`` retry mode, up to 5 attempts.
    """
    config = Config(
        max_pool_connections=max(10, max_connections),
        retries={"mode": "standard", "max_attempts": 5},
        read_timeout=120,
    )
    return session_for(endpoint_url).client("rekognition", endpoint_url=endpoint_url, config=config)


def s3_client(s3_endpoint_url: str | None) -> Any:
    """An S3 client for listing ``s3://`` sources: at ``s3_endpoint_url`` (else boto3's own choice,
    ``$AWS_ENDPOINT_URL_S3`` included), with the same loopback defaults as the Rekognition client."""
    return session_for(s3_endpoint_url).client("s3", endpoint_url=s3_endpoint_url)
