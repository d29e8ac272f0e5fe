"""Paging a finished job's results, as GetFaceSearch, GetFaceDetection and GetFaceClustering do.

``MaxResults`` is at most (and by default) ``MAX_PAGE_SIZE``; ``NextToken`` is a signed offset
into the job's results in one order (``core.pagination``), valid only for that job and order.
"""

from __future__ import annotations

from typing import Any

from ..core.pagination import TokenSigner
from ..storage.jobs import JobStore

MAX_PAGE_SIZE = 1000


def result_page(
    tokens: TokenSigner, store: JobStore, job_id: str, listing: str, order: str, request: dict[str, Any]
) -> tuple[list[dict[str, Any]], str | None]:
    """The page of the job's results that ``request``'s ``NextToken`` and ``MaxResults`` ask for, in
    ``order`` (a key of ``storage.jobs.ORDERS``), and the ``NextToken`` of the next page (``None``
    at the end). ``listing`` names the job and order in the token;
    ``InvalidPaginationTokenException`` for a token of another listing."""
    offset = tokens.cursor(request.get("NextToken"), listing) or 0
    limit = min(request.get("MaxResults") or MAX_PAGE_SIZE, MAX_PAGE_SIZE)
    items, more = store.results(job_id, order, offset, limit)
    return items, tokens.token(offset + limit if more else None, listing)
