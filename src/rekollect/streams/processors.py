"""``StreamProcessors``: the stream processors of one server, their status rules, and the workers that run them.

Status (AWS's ``StreamProcessorStatus``). A processor is created ``STOPPED``. StartStreamProcessor
(from ``STOPPED`` or ``FAILED``) makes it ``STARTING`` and queues a job of the shared job queue
(``api`` ``StartStreamProcessor``, with the new ``SessionId``) in the same transaction; a worker of
any process or node claims it under a lease (``--job-lease``), as video jobs are claimed, and runs
the session (``session.Session``): ``RUNNING`` from the first frame. StopStreamProcessor (from
``STARTING`` or ``RUNNING``) makes it ``STOPPING``, and its worker ``STOPPED`` within a second, once
the queued records are sent; a job no worker claimed yet is ended at once (``STOPPED``). A session
ends ``FAILED`` with a ``StatusMessage`` (see ``session``). When a node dies, its sessions' jobs are
claimed by other workers once their leases run out, and go on (same ``SessionId``, still
``RUNNING``); on SQLite a restarted server resumes its own at once. Each process runs up to
``slots`` sessions at a time; more wait ``STARTING`` for a free worker. Anything else
(starting a running processor, stopping a stopped one, deleting or updating one that is not
``STOPPED`` or ``FAILED``) is ``ResourceInUseException``; an unknown name ``ResourceNotFoundException``.
UpdateStreamProcessor applies at once, so ``UPDATING`` is never seen.

A status change (``RUNNING``, ``STOPPED``, ``FAILED``) is published to the processor's
``NotificationChannel.SNSTopicArn`` as the JSON ``status_notification`` writes (AWS documents only label
detection's session summary, so this shape is Rekollect's, in the style of the video jobs'
completion message).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

from ..core.job_worker import JobWorker
from ..core.service import FaceService
from ..errors import (
    InvalidParameterException,
    ResourceInUseException,
    ResourceNotFoundException,
)
from ..storage.base import Page
from ..storage.jobs import FAILED as JOB_FAILED
from ..storage.jobs import IN_PROGRESS, SUCCEEDED, JobRecord
from ..storage.streams import (
    FAILED,
    RUNNING,
    STARTING,
    STOPPED,
    STOPPING,
    SqlStreamStore,
    StreamProcessorRecord,
)
from ..video.notify import Notifier
from .camera import LiveSource
from .outputs import Destination, KinesisOutput, ObjectOutput, ObjectWriter, Outputs, WebhookOutput
from .session import RecordOf, Session
from .sources import StreamSources, video_stream_arn

STREAM_API = "StartStreamProcessor"
"""The kind of job (``api``) of a stream processor's session in the job queue."""


def status_notification(record: StreamProcessorRecord, status: str, message: str | None) -> dict[str, Any]:
    """The notification of a status change: ``StreamProcessorArn``, ``Name``, ``SessionId``, ``Status``,
    ``Message`` (the ``StatusMessage``, empty when none) and ``Timestamp`` (Unix milliseconds)."""
    return {
        "StreamProcessorArn": record.arn,
        "Name": record.name,
        "SessionId": record.session_id or "",
        "Status": status,
        "Message": message or "",
        "Timestamp": round(time.time() * 1000),
    }


class StreamProcessors:
    """The stream processors in ``store`` for ``service``.

    ``sources`` maps Kinesis video streams to URLs; ``objects`` writes ``S3Destination`` objects;
    ``kinesis_endpoint_url`` and ``webhook_url`` as the settings of those names; ``record_of``
    writes a frame's record; ``sample_rate`` frames analysed per second at most; ``slots`` sessions
    one process runs at once, each holding its job for ``lease_seconds``.
    """

    def __init__(
        self,
        service: FaceService,
        store: SqlStreamStore,
        sources: StreamSources,
        notifier: Notifier,
        objects: ObjectWriter,
        *,
        record_of: RecordOf,
        kinesis_endpoint_url: str | None,
        webhook_url: str | None,
        sample_rate: float,
        slots: int,
        lease_seconds: float,
        poll_seconds: float = 1.0,
    ) -> None:
        if sample_rate <= 0 or slots < 1:
            raise ValueError("the stream sampling rate must be positive and the slots at least 1")
        self.service = service
        self.store = store
        self.sources = sources
        self.notifier = notifier
        self.objects = objects
        self.record_of = record_of
        self.kinesis_endpoint_url = kinesis_endpoint_url
        self.webhook_url = webhook_url
        self.sample_rate = sample_rate
        self.workers = [
            JobWorker(
                store.jobs,
                (STREAM_API,),
                lambda job, slot=slot: self._run(job, self.workers[slot].owner),
                name=f"stream-{slot + 1}",
                lease_seconds=lease_seconds,
                poll_seconds=poll_seconds,
                slot=f"stream-{slot + 1}",
            )
            for slot in range(slots)
        ]

    def run_workers(self) -> None:
        """Start this process's stream workers."""
        for worker in self.workers:
            worker.start()

    def arn(self, name: str) -> str:
        """``arn:aws:rekognition:<region>:<account>:streamprocessor/<name>``."""
        return f"{self.service.arn_prefix}streamprocessor/{name}"

    def url_of(self, settings: dict[str, Any]) -> str:
        """The source URL of a processor's video stream; ``InvalidParameterException`` when the server maps none."""
        stream = video_stream_arn(settings["Input"]["KinesisVideoStream"]["Arn"])
        url = self.sources.url_for(stream)
        if url is None:
            where = self.sources.path or "--stream-sources (unset)"
            raise InvalidParameterException(
                f"No source is configured for the Kinesis video stream {stream.arn}: add a line"
                f" `{stream.name} = <rtsp, http or file URL>` to {where}"
            )
        return url

    def create(self, name: str, settings: dict[str, Any], tags: dict[str, str]) -> StreamProcessorRecord:
        """Create ``STOPPED``; ``ResourceInUseException`` if the name is taken."""
        self.url_of(settings)
        record = StreamProcessorRecord(name=name, arn=self.arn(name), settings=settings, status=STOPPED, tags=tags)
        if not self.store.create(record):
            raise ResourceInUseException(f"A stream processor named {name} already exists")
        return record

    def get(self, name: str) -> StreamProcessorRecord:
        """The processor; ``ResourceNotFoundException`` if there is none of that name."""
        record = self.store.get(name)
        if record is None:
            raise ResourceNotFoundException(f"The stream processor {name} does not exist")
        return record

    def list(self, after: int | None, limit: int) -> Page[StreamProcessorRecord]:
        """Processors in creation order."""
        return self.store.list(after, limit)

    def start(self, name: str, max_duration: int | None) -> str:
        """Start a session (``max_duration`` seconds at most); its ``SessionId``."""
        session_id = str(uuid.uuid4())
        with self.store.atomic():
            record = self._in(name, (STOPPED, FAILED), "started")
            collection_id = record.settings["Settings"]["FaceSearch"]["CollectionId"]
            self.service.collection(collection_id)
            self.url_of(record.settings)
            request: dict[str, Any] = {"Name": name, "SessionId": session_id}
            if max_duration is not None:
                request["MaxDurationInSeconds"] = max_duration
            self.store.start_session(
                name, JobRecord(str(uuid.uuid4()), STREAM_API, None, request, IN_PROGRESS, created=time.time())
            )
        for worker in self.workers:
            worker.wake()
        return session_id

    def stop(self, name: str) -> None:
        """Ask the session to stop (``STOPPING``; ``STOPPED`` at once when no worker runs it yet)."""
        with self.store.atomic():
            record = self._in(name, (STARTING, RUNNING), "stopped")
            if record.job_id is not None and self.store.jobs.cancel(record.job_id, SUCCEEDED):
                self.store.set_status(name, STOPPED, None)
                stopped = True
            else:
                self.store.set_status(name, STOPPING, None)
                stopped = False
        if stopped:
            self._notify(self.get(name), STOPPED, None)

    def update(self, name: str, change: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        """Replace the processor's settings by ``change(settings)`` (checked by the caller), in one transaction."""
        with self.store.atomic():
            record = self._in(name, (STOPPED, FAILED), "updated")
            self.store.set_settings(name, change(dict(record.settings)))

    def delete(self, name: str) -> None:
        """Delete a processor that is not running."""
        with self.store.atomic():
            self._in(name, (STOPPED, FAILED), "deleted")
            self.store.delete(name)

    def set_tags(self, name: str, change: Callable[[dict[str, str]], dict[str, str]]) -> None:
        """Replace the processor's tags by ``change(tags)``, in one transaction."""
        with self.store.atomic():
            self.store.set_tags(name, change(self.get(name).tags))

    def matches(self, name: str, limit: int) -> list[tuple[str, str]]:
        """The newest matched frame records ``(SessionId, record JSON)``, newest first."""
        self.get(name)
        return self.store.matches(name, limit)

    def _in(self, name: str, statuses: tuple[str, ...], verb: str) -> StreamProcessorRecord:
        record = self.get(name)
        if record.status not in statuses:
            raise ResourceInUseException(
                f"The stream processor {name} is {record.status} and cannot be {verb}"
                f" (only when {' or '.join(statuses)})"
            )
        return record

    def _notify(self, record: StreamProcessorRecord, status: str, message: str | None) -> None:
        channel = record.settings.get("NotificationChannel")
        if channel:
            body = json.dumps(status_notification(record, status, message))
            self.notifier.publish(channel["SNSTopicArn"], body, f"the status of stream processor {record.name}")

    def _run(self, job: JobRecord, owner: str) -> None:
        """Run the session ``job`` on the worker ``owner``."""
        record = self.store.get(job.request["Name"])
        session_id = job.request["SessionId"]
        if record is None or record.session_id != session_id or record.status in (STOPPED, FAILED, STOPPING):
            with self.store.atomic():
                finished = self.store.jobs.finish(job.job_id, owner, SUCCEEDED, None, None, [])
                stopped = (
                    finished is not None
                    and record is not None
                    and self.store.set_session_status(record.name, session_id, STOPPED, None, (STOPPING,))
                )
            if stopped:
                assert record is not None
                self._notify(record, STOPPED, None)
            return
        try:
            url = self.url_of(record.settings)
        except InvalidParameterException as error:
            with self.store.atomic():
                if self.store.jobs.finish(job.job_id, owner, JOB_FAILED, error.message, None, []) is not None:
                    self.store.set_session_status(record.name, session_id, FAILED, error.message, (STARTING, RUNNING))
            self._notify(record, FAILED, error.message)
            return
        Session(
            service=self.service,
            store=self.store,
            job=job,
            owner=owner,
            record=record,
            url=url,
            outputs=Outputs(self._destinations(record, session_id)),
            open_source=lambda source, on_state, must_connect: LiveSource(
                source, self.sample_rate, on_state=on_state, must_connect=must_connect
            ),
            record_of=self.record_of,
            notify=self._notify,
        ).run()

    def _destinations(self, record: StreamProcessorRecord, session_id: str) -> list[Destination]:
        output = record.settings["Output"]
        destinations: list[Destination] = []
        if "KinesisDataStream" in output:
            destinations.append(
                KinesisOutput(output["KinesisDataStream"]["Arn"], record.name, self.kinesis_endpoint_url)
            )
        if "S3Destination" in output:
            bucket = output["S3Destination"]
            destinations.append(
                ObjectOutput(self.objects, bucket["Bucket"], bucket.get("KeyPrefix", ""), record.name, session_id)
            )
        if self.webhook_url:
            destinations.append(WebhookOutput(self.webhook_url, record.name, session_id))
        return destinations
