"""``GET /health``: whether this node may be sent requests (for a load balancer's health check).

Ready (HTTP 200) when the metadata store answers and this node's vector index has applied every
change-log entry committed before the check (``SyncedIndex.sync`` runs first, so a node that has
fallen behind catches up here). A node only listens once its index is loaded and caught up at
start-up, so a new node is never sent a search before then. Unready (HTTP 503) while the store
cannot be reached. The body is JSON: ``status`` (``ready`` / ``unavailable``), the index's and the
store's change-log positions, and the ``reason`` when unready. It reveals no data, and needs no
signature: HAProxy's and nginx's health checks send none.
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
            return JSONResponse({"status": "unavailable", "reason": error.message}, status_code=503)
        status = "ready" if index.cursor >= stored else "catching-up"
        return JSONResponse(
            {"status": status, "indexCursor": index.cursor, "storeCursor": stored},
            status_code=200 if status == "ready" else 503,
        )

    async def endpoint(request: Request) -> JSONResponse:
        return await run_in_threadpool(check)

    return Route("/health", endpoint, methods=["GET"])
