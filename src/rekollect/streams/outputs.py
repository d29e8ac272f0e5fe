"""Where a stream processor's frame records go: a Kinesis data stream, S3 objects, and a webhook.

Each destination of a running processor has one sender thread and a queue of records, sent in the
order they were made:

- ``KinesisOutput`` (``Output.KinesisDataStream``): ``PutRecords`` batches of up to 500 records and
  5 MiB (the Kinesis quotas), at ``--kinesis-endpoint-url`` or boto3's endpoint for the stream's
  region, credentials from the usual boto3 chain (``RoleArn`` is not assumed). Every record of a
  processor has the processor's name as partition key, so all go to one shard, where Kinesis keeps
  them in order. A failed request (network, throttling, a 5xx) is sent again, whole, after a back-off
  (0.1 s doubling to 5 s), before any newer record; records a response refused while it stored
  others are sent again first, one per request, so they are neither lost nor overtaken by newer
  ones. What no sender can undo: within one ``PutRecords`` request Kinesis may store a later record
  and refuse an earlier one (its API reference: PutRecords does not guarantee order), and the stored
  one then precedes the retried one in the shard; retrying one by one keeps it to that request. A
  processor writes about 5 records a second, so a shard refuses records only when other writers
  take it past its 1,000 records or 1 MiB a second. A stream
  that does not exist or may not be written (``ResourceNotFoundException``, ``AccessDeniedException``...)
  fails the processor with that error.
- ``ObjectOutput`` (``Output.S3Destination``, a Rekollect extension for face search): one JSON object
  per record, ``<KeyPrefix>/<Name>/<SessionId>/<FragmentNumber>-<offset ms>.json`` (keys sort in
  frame order), in the S3 of ``--s3-endpoint-url``, else under the local object root
  (``<root>/<Bucket>/<key>``, written to a temporary file and renamed). A missing bucket fails the
  processor; other errors are retried like Kinesis's.
- ``WebhookOutput`` (``--stream-webhook-url``, an extension): ``POST`` of
  ``{"StreamProcessorName", "SessionId", "Records": [...]}`` with up to 100 records. Best effort: a
  failed POST is retried with the same back-off, and when more than ``MAX_PENDING`` records wait the
  oldest are dropped (and logged) rather than holding up the AWS outputs.

Kinesis and S3 lose nothing: when ``MAX_PENDING`` records wait for one of them, ``Outputs.put``
blocks the analysis, so frames are skipped at the camera instead. Records still queued when a node
dies are lost with it; the processor goes on from the camera's live picture on the node that takes
it over.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import urllib.request
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

log = logging.getLogger(__name__)

_CLIENTS = threading.Lock()
"""Held while a boto3 client is made: the default session is not safe to make clients from several threads."""

MAX_PENDING = 3000
"""Records that may wait for one destination (10 minutes of one processor at 5 frames a second)."""
MAX_BATCH_RECORDS = 500
MAX_BATCH_BYTES = 5 * 1024 * 1024
"""Kinesis ``PutRecords`` quotas: records and bytes (data and partition keys) per request."""
FIRST_BACKOFF, MAX_BACKOFF = 0.1, 5.0
_TIMEOUT = 10
_PERMANENT = frozenset(
    {
        "ResourceNotFoundException",
        "AccessDeniedException",
        "InvalidArgumentException",
        "ValidationException",
        "UnrecognizedClientException",
        "NoSuchBucket",
    }
)
"""Error codes that sending again cannot cure."""


class OutputError(Exception):
    """A destination cannot take records at all (the message says why): the processor fails."""


@dataclass(frozen=True)
class OutRecord:
    """A frame record: its JSON ``data``, ``name`` (``<FragmentNumber>-<offset ms>``, unique in a
    session) and ``received`` (Unix seconds the frame was decoded)."""

    data: bytes
    name: str
    received: float


class Destination(Protocol):
    """Takes records in order. ``lossless``: whether the queue for it blocks rather than drops."""

    lossless: bool
    batch_records: int
    described: str

    def deliver(self, records: Sequence[OutRecord]) -> list[bool]:
        """Send ``records``; which were stored. ``OutputError`` when none ever can be; any other
        exception: none was (try again)."""
        ...


class KinesisOutput:
    """``PutRecords`` to the data stream ``stream_arn`` (``arn:aws:kinesis:<region>:<account>:stream/<name>``)."""

    lossless = True
    batch_records = MAX_BATCH_RECORDS

    def __init__(self, stream_arn: str, partition_key: str, endpoint_url: str | None) -> None:
        parts = stream_arn.split(":", 5)
        self.stream_arn = stream_arn
        self.stream_name = parts[5].partition("/")[2]
        self.partition_key = partition_key
        self.described = f"the Kinesis data stream {stream_arn}"
        with _CLIENTS:
            self._client = boto3.client(
                "kinesis",
                endpoint_url=endpoint_url,
                region_name=parts[3],
                config=Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=_TIMEOUT),
            )

    def deliver(self, records: Sequence[OutRecord]) -> list[bool]:
        try:
            response = self._client.put_records(
                StreamName=self.stream_name,
                Records=[{"Data": record.data, "PartitionKey": self.partition_key} for record in records],
            )
        except ClientError as error:
            _raise_permanent(error, self.described)
            raise
        return ["ErrorCode" not in entry for entry in response["Records"]]


class ObjectWriter(Protocol):
    """Writes one object: ``OutputError`` for a bucket that cannot take objects."""

    def put(self, bucket: str, key: str, data: bytes) -> None: ...


class LocalObjectWriter:
    """Objects under ``root/<bucket>/<key>`` (the bucket folder must exist); nothing outside the root."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def put(self, bucket: str, key: str, data: bytes) -> None:
        folder = (self.root / bucket).resolve()
        if folder.parent != self.root or not folder.is_dir():
            raise OutputError(f"The S3 bucket {bucket} does not exist in the local object root")
        path = (folder / key).resolve()
        if not path.is_relative_to(folder):
            raise OutputError(f"The S3 key {key} leaves the bucket {bucket}")
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".part-", delete=False) as handle:
            handle.write(data)
        os.replace(handle.name, path)


class S3ObjectWriter:
    """Objects in the S3-compatible server at ``endpoint_url`` (credentials from the boto3 chain)."""

    def __init__(self, endpoint_url: str, region: str) -> None:
        self._client = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            config=Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=_TIMEOUT),
        )

    def put(self, bucket: str, key: str, data: bytes) -> None:
        try:
            self._client.put_object(Bucket=bucket, Key=key, Body=data, ContentType="application/json")
        except ClientError as error:
            _raise_permanent(error, f"the S3 bucket {bucket}")
            raise


class ObjectOutput:
    """``Output.S3Destination``: one object per record (see the module docstring)."""

    lossless = True
    batch_records = 50

    def __init__(self, writer: ObjectWriter, bucket: str, key_prefix: str, name: str, session_id: str) -> None:
        self.writer = writer
        self.bucket = bucket
        self.folder = "/".join(part for part in (key_prefix.strip("/"), name, session_id) if part)
        self.described = f"the S3 bucket {bucket}"

    def deliver(self, records: Sequence[OutRecord]) -> list[bool]:
        stored = []
        for record in records:
            try:
                self.writer.put(self.bucket, f"{self.folder}/{record.name}.json", record.data)
            except OutputError:
                raise
            except Exception:
                if not stored:
                    raise
                log.warning("could not write a record to %s; trying again", self.described, exc_info=True)
                break
            stored.append(True)
        return stored + [False] * (len(records) - len(stored))


class WebhookOutput:
    """``POST``s records to ``url`` (see the module docstring)."""

    lossless = False
    batch_records = 100

    def __init__(self, url: str, name: str, session_id: str) -> None:
        self.url = url
        self.name = name
        self.session_id = session_id
        self.described = f"the stream webhook {url}"

    def deliver(self, records: Sequence[OutRecord]) -> list[bool]:
        body = json.dumps(
            {
                "StreamProcessorName": self.name,
                "SessionId": self.session_id,
                "Records": [json.loads(record.data) for record in records],
            }
        ).encode()
        request = urllib.request.Request(
            self.url, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        with urllib.request.urlopen(request, timeout=_TIMEOUT) as response:
            response.read()
        return [True] * len(records)


class Sender:
    """One destination's queue and sender thread (see the module docstring for the order kept)."""

    def __init__(self, destination: Destination) -> None:
        self.destination = destination
        self.failure: str | None = None
        self.dropped = 0
        self._pending: deque[OutRecord] = deque()
        self._singles = 0  # records at the head a response refused: sent again one a request
        self._closing = False
        self._abandoned = False
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="stream-output", daemon=True)
        self._thread.start()

    def put(self, record: OutRecord, timeout: float) -> bool:
        """Queue ``record``; ``False`` (not queued) if a lossless destination's queue stayed full for
        ``timeout`` seconds. A failed destination takes records and discards them."""
        with self._changed:
            if self.destination.lossless:
                if not self._changed.wait_for(lambda: len(self._pending) < MAX_PENDING or self.failure, timeout):
                    return False
            elif len(self._pending) >= MAX_PENDING:
                self._pending.popleft()
                self.dropped += 1
                if self.dropped % 100 == 1:
                    log.warning(
                        "dropped %d records for %s, which does not keep up", self.dropped, self.destination.described
                    )
            if self.failure is None:
                self._pending.append(record)
                self._changed.notify_all()
        return True

    def close(self, timeout: float) -> bool:
        """Send what is queued, for at most ``timeout`` seconds, and stop; whether everything was sent."""
        with self._changed:
            self._closing = True
            self._changed.notify_all()
        self._thread.join(timeout)
        with self._changed:
            self._abandoned = True
            self._changed.notify_all()
            return not self._pending

    def _batch(self) -> list[OutRecord]:
        """The oldest records, as many as one request of the destination takes (one while records a
        response refused are at the head)."""
        limit = 1 if self._singles else self.destination.batch_records
        batch: list[OutRecord] = []
        size = 0
        for record in self._pending:
            size += len(record.data) + 64
            if len(batch) >= limit or (batch and size > MAX_BATCH_BYTES):
                break
            batch.append(record)
        return batch

    def _run(self) -> None:
        backoff = FIRST_BACKOFF
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._pending or self._closing or self._abandoned)
                if self._abandoned or not self._pending:
                    return
                batch = self._batch()
            try:
                stored = self.destination.deliver(batch)
            except OutputError as error:
                log.error("stream output failed: %s", error)
                with self._changed:
                    self.failure = str(error)
                    self._pending.clear()
                    self._changed.notify_all()
                return
            except Exception as error:
                log.warning(
                    "could not send %d records to %s (%s); trying again", len(batch), self.destination.described, error
                )
                stored = [False] * len(batch)
            with self._changed:  # the batch is the queue's head: put back what failed, in order
                for _ in batch:
                    self._pending.popleft()
                refused = [record for record, done in zip(batch, stored, strict=True) if not done]
                self._pending.extendleft(reversed(refused))
                if any(stored) and refused:  # some stored, some not: Kinesis may have reordered them
                    self._singles = len(refused)
                elif self._singles and not refused:
                    self._singles -= 1
                self._changed.notify_all()
                if refused:
                    self._changed.wait_for(lambda: self._abandoned, backoff)
            backoff = min(MAX_BACKOFF, backoff * 2) if refused else FIRST_BACKOFF


class Outputs:
    """The senders of one session; records go to every destination."""

    def __init__(self, destinations: Sequence[Destination]) -> None:
        self.senders = [Sender(destination) for destination in destinations]

    @property
    def failure(self) -> str | None:
        """Why a destination can take no records, or ``None``."""
        return next((sender.failure for sender in self.senders if sender.failure), None)

    def put(self, record: OutRecord, keep_waiting: Callable[[], bool]) -> bool:
        """Queue ``record`` for every destination, waiting while a lossless queue is full as long as
        ``keep_waiting()`` (asked every half second); ``False`` if it gave up."""
        for sender in self.senders:
            while not sender.put(record, 0.5):
                if not keep_waiting():
                    return False
        return True

    def close(self, timeout: float) -> bool:
        """Flush and stop every sender (each for at most ``timeout`` seconds); whether all was sent."""
        return all([sender.close(timeout) for sender in self.senders])


def _raise_permanent(error: ClientError, described: str) -> None:
    code = error.response.get("Error", {}).get("Code", "")
    if code in _PERMANENT or code.startswith("KMS"):
        message = error.response.get("Error", {}).get("Message", "")
        raise OutputError(f"Cannot write to {described}: {code}: {message}") from None


def record_bytes(record: dict[str, Any]) -> bytes:
    """A frame record as the JSON bytes every destination stores."""
    return json.dumps(record, separators=(",", ":")).encode()
