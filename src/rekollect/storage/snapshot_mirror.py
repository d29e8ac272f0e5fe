"""Index snapshots shared between nodes through S3 (``--snapshot-url s3://bucket/prefix``).

Layout under the prefix: ``snapshots/<cursor>-<random>/`` holds one snapshot's ``.rkix`` files and
its ``manifest.json`` exactly as ``SyncedIndex`` wrote them (block checksums and the manifest's
SHA-256 included); ``latest.json`` names the newest folder and its change-log cursor. A snapshot
is published files first and ``latest.json`` last, so a reader never sees a folder that is not
complete; folders older than the previous one are then removed. Any node may publish; each
published folder is consistent by itself, and the log replay after loading brings it up to date.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

import boto3
from botocore.exceptions import ClientError

KEEP_FOLDERS = 2
"""Published snapshots kept: the newest, and the one before it for a node still reading it."""


class SnapshotMirror:
    """Publishes and fetches index snapshots under ``url`` (``s3://bucket/prefix``) on the S3
    endpoint ``endpoint_url`` (AWS's when ``None``), credentials from boto3's usual chain."""

    def __init__(self, url: str, endpoint_url: str | None, region: str) -> None:
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc:
            raise ValueError(f"snapshot URL {url!r} is not s3://bucket/prefix")
        self.bucket = parts.netloc
        self.prefix = parts.path.strip("/") + "/" if parts.path.strip("/") else ""
        self.client = boto3.client("s3", endpoint_url=endpoint_url, region_name=region)

    def publish(self, directory: Path, manifest: dict) -> None:
        """Upload the snapshot ``manifest`` of ``directory`` and make it the latest."""
        folder = f"{self.prefix}snapshots/{manifest['cursor']:020d}-{secrets.token_hex(4)}/"
        for name in manifest["files"].values():
            self.client.upload_file(str(directory / name), self.bucket, folder + name)
        self.client.upload_file(str(directory / "manifest.json"), self.bucket, folder + "manifest.json")
        latest = {"folder": folder, "cursor": manifest["cursor"]}
        self.client.put_object(Bucket=self.bucket, Key=self.prefix + "latest.json", Body=json.dumps(latest).encode())
        self._remove_old_folders()

    def fetch(self, directory: Path, cursor: int | None) -> bool:
        """Download the latest snapshot into ``directory`` if it is past ``cursor`` (``None``: no local one)."""
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self.prefix + "latest.json")["Body"].read()
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NoSuchBucket"):
                return False
            raise
        latest = json.loads(body)
        if cursor is not None and cursor >= latest["cursor"]:
            return False
        folder = latest["folder"]
        manifest = json.loads(self.client.get_object(Bucket=self.bucket, Key=folder + "manifest.json")["Body"].read())
        directory.mkdir(parents=True, exist_ok=True)
        for name in manifest["files"].values():
            self._download(folder + name, directory / name)
        self._download(folder + "manifest.json", directory / "manifest.json")
        return True

    def _download(self, key: str, path: Path) -> None:
        temporary = path.with_name(f".{path.name}.{os.getpid()}.download")
        try:
            self.client.download_file(self.bucket, key, str(temporary))
            os.replace(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)

    def _remove_old_folders(self) -> None:
        folders: set[str] = set()
        for page in self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix + "snapshots/", Delimiter="/"
        ):
            folders.update(entry["Prefix"] for entry in page.get("CommonPrefixes", []))
        for folder in sorted(folders)[:-KEEP_FOLDERS]:
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=folder):
                for item in page.get("Contents", []):
                    self.client.delete_object(Bucket=self.bucket, Key=item["Key"])
