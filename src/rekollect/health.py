"""``GET /health``: whether this node may be sent requests (for a load balancer's health check).

Ready (HTTP 200, ``status`` ``ready``) when this node's vector index has applied every change-log
entry committed before the check (``SyncedIndex.sync`` runs first, so a node that has fallen
behind catches up here), else 503 (``catching-up``). A node only listens once its index is loaded
and caught up at start-up, so a new node is never sent a search before then.

When the metadata store cannot be reached the answer is still 200, with ``status`` ``degraded``
and the ``reason``: the database is shared, so every node is cut off alike, and a node's own
answer to a request (``InternalServerError``, "The database is unavailable ...; retry the
request", which the AWS SDKs retry) is more useful to clients than the balancer's own error page
for a backend with no server left. The body is JSON with the index's and the store's change-log
positions. It reveals no data, and needs no signature: HAProxy's and nginx's health checks send none.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .core.index_sync import SyncedIndex
from .errors import RekognitionError


def health_route(index: SyncedIndex) -> Route:
    """The ``GET /health`` route reporting on ``index`` and the store it follows."""

    def check() -> JSONResponse:
        try:
            stored = index.store.index_cursor()
            index.sync()
        except RekognitionError as error:
            return JSONResponse({"status": "degraded", "indexCursor": index.cursor, "reason": error.message})
        status = "ready" if index.cursor >= stored else "catching-up"
        return JSONResponse(
            {"status": status, "indexCursor": index.cursor, "storeCursor": stored},
            status_code=200 if status == "ready" else 503,
        )

    async def endpoint(request: Request) -> JSONResponse:
        return await run_in_threadpool(check)

    return Route("/health", endpoint, methods=["GET"])
