"""Completion notifications: Rekognition's SNS message, and an optional HTTP webhook.

The message is the one the Rekognition Developer Guide documents ("Reference: Video analysis
results notification"): ``JobId``, ``Status``, ``API`` (the Start operation's name), ``JobTag`` (when
the job has one), ``Timestamp`` (Unix milliseconds when the job finished), ``Video`` (``S3ObjectName``,
``S3Bucket``) and ``Message`` (the ``StatusMessage``, empty on success). It is published as the SNS
message body to the job's ``NotificationChannel.SNSTopicArn`` through boto3 (credentials from the
usual boto3 chain; ``RoleArn`` is not assumed), against ``sns_endpoint_url`` when set. When
``webhook_url`` is set the same JSON is POSTed there for every finished job. Delivery failures are
logged and never change the job.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.request
from typing import Any

import boto3
from botocore.config import Config

from ..storage.jobs import JobRecord

log = logging.getLogger(__name__)

_TIMEOUT_SECONDS = 10


def completion_message(job: JobRecord) -> dict[str, Any]:
    """The completion message for a finished job."""
    s3_object = job.request["Video"]["S3Object"]
    message: dict[str, Any] = {
        "JobId": job.job_id,
        "Status": job.status,
        "API": job.api,
        "Timestamp": round((job.finished or 0.0) * 1000),
        "Message": job.status_message or "",
        "Video": {"S3ObjectName": s3_object["Name"], "S3Bucket": s3_object["Bucket"]},
    }
    if job.request.get("JobTag"):
        message["JobTag"] = job.request["JobTag"]
    return message


class Notifier:
    """Sends completion messages; one boto3 SNS client per region, made on first use."""

    def __init__(self, sns_endpoint_url: str | None, webhook_url: str | None) -> None:
        self.sns_endpoint_url = sns_endpoint_url
        self.webhook_url = webhook_url
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def job_finished(self, job: JobRecord) -> None:
        """Publish ``job``'s completion message to its SNS topic and the webhook (whichever apply)."""
        body = json.dumps(completion_message(job))
        channel = job.request.get("NotificationChannel")
        if channel:
            self.publish(channel["SNSTopicArn"], body, f"the completion of job {job.job_id}")
        if self.webhook_url:
            request = urllib.request.Request(
                self.webhook_url, data=body.encode(), headers={"Content-Type": "application/json"}, method="POST"
            )
            try:
                with urllib.request.urlopen(request, timeout=_TIMEOUT_SECONDS) as response:
                    response.read()
            except Exception:
                log.exception("could not post the completion of job %s to %s", job.job_id, self.webhook_url)

    def publish(self, topic: str, body: str, what: str) -> None:
        """Publish ``body`` to the SNS topic ``topic`` (its region from the ARN); a failure is logged
        (naming ``what`` was being published), never raised."""
        try:
            self._sns(topic.split(":")[3]).publish(TopicArn=topic, Message=body)
        except Exception:
            log.exception("could not publish %s to %s", what, topic)

    def _sns(self, region: str) -> Any:
        with self._lock:
            if region not in self._clients:
                self._clients[region] = boto3.client(
                    "sns",
                    endpoint_url=self.sns_endpoint_url,
                    region_name=region,
                    config=Config(retries={"max_attempts": 2}, connect_timeout=5, read_timeout=_TIMEOUT_SECONDS),
                )
            return self._clients[region]
