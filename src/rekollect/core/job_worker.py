"""``JobWorker``: the thread of one process that runs jobs of some kinds from a ``JobStore``.

It claims the oldest free job of its kinds under a lease (``JobStore.claim``), renews the lease
every third of it while the job runs, and runs one job at a time; when idle it looks again every
``poll_seconds``, or at once when ``wake`` is called (a job started by this process). A job whose
worker died is claimed again by the next worker to look once the lease has run out. The store
being unreachable is logged and retried at the next look.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from ..storage.jobs import JobRecord, JobStore, worker_name

log = logging.getLogger(__name__)


class JobWorker:
    """Runs ``run(job)`` for each job of ``apis`` it claims from ``store``; ``owner`` names it in the store
    (``slot`` tells apart several workers of one process)."""

    def __init__(
        self,
        store: JobStore,
        apis: tuple[str, ...],
        run: Callable[[JobRecord], None],
        *,
        name: str,
        lease_seconds: float,
        poll_seconds: float = 1.0,
        slot: str | None = None,
    ) -> None:
        if lease_seconds <= 0:
            raise ValueError("the job lease must be positive")
        self.store = store
        self.apis = apis
        self.run = run
        self.name = name
        self.lease_seconds = lease_seconds
        self.poll_seconds = poll_seconds
        self.owner = worker_name(slot)
        self._wake = threading.Event()

    def start(self) -> None:
        """Start the worker thread."""
        threading.Thread(target=self._work, name=self.name, daemon=True).start()

    def wake(self) -> None:
        """Look for a job now (one was just added)."""
        self._wake.set()

    def _work(self) -> None:
        while True:
            try:
                job = self.store.claim(self.owner, self.lease_seconds, self.apis)
            except Exception as error:  # the store unreachable: look again later
                log.warning("%s: cannot look for jobs: %s", self.name, error)
                job = None
            if job is None:
                self._wake.wait(self.poll_seconds)
                self._wake.clear()
                continue
            done = threading.Event()
            threading.Thread(target=self._renew, args=(job.job_id, done), name=f"{self.name}-lease", daemon=True).start()
            try:
                self.run(job)
            except Exception:
                log.exception("%s: job %s could not be finished", self.name, job.job_id)
            finally:
                done.set()

    def _renew(self, job_id: str, done: threading.Event) -> None:
        """Renew the lease on ``job_id`` until ``done`` (a failed renewal is retried at the next turn)."""
        while not done.wait(self.lease_seconds / 3):
            try:
                if not self.store.renew(job_id, self.owner, self.lease_seconds):
                    log.warning("%s: job %s was taken over by another worker", self.name, job_id)
                    return
            except Exception as error:
                log.warning("%s: cannot renew the lease on job %s: %s", self.name, job_id, error)
