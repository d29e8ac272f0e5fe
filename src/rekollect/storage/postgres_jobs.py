"""``JobStore`` on PostgreSQL: one video job queue for every node (``--database-url``).

Every method but ``claim`` is ``SqlJobStore``'s. Workers claim the oldest free job with
``SELECT … FOR UPDATE SKIP LOCKED`` (two nodes asking at once get different jobs, neither waits),
hold it under a lease they renew while they work, and finish it only while they still own it. A
job whose node died is free again once its lease runs out, and another node runs it from the
beginning. Results are rows of the shared database, so any node answers GetFaceSearch /
GetFaceDetection. ``add`` counts the jobs in progress in a write transaction, which holds the
cluster's write lock (``PostgresDatabase.WRITE_LOCK``), so the ``--video-max-jobs`` limit is
cluster-wide. Lease times are the database server's clock (``now()``), so the nodes' clocks need
not agree.

The tables live in the metadata store's database (``postgres_schema.py``) and share its
``PostgresDatabase``, so a job's final status and the check that its collection still exists
commit in one transaction.
"""

from __future__ import annotations

from .jobs import IN_PROGRESS, JOB_COLUMNS, JobRecord, SqlJobStore, job_of


class PostgresJobStore(SqlJobStore):
    """``JobStore`` in the database of a ``PostgresDatabase`` (tables created by ``postgres_schema.MIGRATIONS``,
    which ``PostgresStore`` applies)."""

    lease_end = "now() + make_interval(secs => ?)"
    def claim(self, owner: str, lease_seconds: float, apis: tuple[str, ...]) -> JobRecord | None:
        with self.db.connection() as db:  # one statement: atomic by itself
            row = db.one(
                f"UPDATE jobs SET owner = ?, lease_until = {self.lease_end}"
                f" WHERE seq = (SELECT seq FROM jobs WHERE status = ? AND {self.db.any_of('api')}"
                " AND (owner IS NULL OR lease_until < now()) ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED)"
                f" RETURNING {JOB_COLUMNS}",
                (owner, lease_seconds, IN_PROGRESS, self.db.listed(apis)),
            )
        return None if row is None else job_of(row)
