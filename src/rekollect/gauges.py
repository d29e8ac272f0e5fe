"""The service's gauges for ``GET /metrics``, computed at each scrape (a prometheus-client
custom collector), never kept by hand:

- ``rekollect_collection_faces{collection}``: faces stored in each of the ``TOP_COLLECTIONS``
  largest collections (ties: by id), and in all the others together under
  ``collection="(other)"`` (parentheses are not allowed in a CollectionId, so no collection has that
  name), so a store of thousands of collections gives at most 101 series; read from the store, the
  same in every server process;
- ``rekollect_collections``: how many collections the store holds;
- ``rekollect_index_memory_bytes``: bytes allocated for the vector index's arrays in the process
  answering the scrape (``TieredIndex.memory_bytes``; each of ``--workers`` holds its own index);
- ``rekollect_video_jobs_in_progress``: stored-video jobs ``IN_PROGRESS`` (the job store, shared
  by every process).
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from .core.service import FaceService
from .storage.base import every_item
from .storage.jobs import JobStore
from .video.jobs import VIDEO_APIS

_PAGE = 1000
"""Collections read from the store at a time."""
TOP_COLLECTIONS = 100
"""Collections with a series of their own in ``rekollect_collection_faces``."""
OTHER = "(other)"
"""The ``collection`` label of the faces of every other collection."""


class ServiceGauges(Collector):
    """Reads ``service``'s store and index, and the video ``jobs``, when Prometheus scrapes (see the module docstring)."""

    def __init__(self, service: FaceService, jobs: JobStore) -> None:
        self._service = service
        self._jobs = jobs

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """The gauge families, read now."""
        store = self._service.store
        counts = [
            (store.count_faces(record.collection_id), record.collection_id)
            for record in every_item(lambda after: store.list_collections(after, _PAGE))
        ]
        counts.sort(key=lambda item: (-item[0], item[1]))
        faces = GaugeMetricFamily(
            "rekollect_collection_faces",
            f"Faces stored in the collection ({TOP_COLLECTIONS} largest; {OTHER}: all the others)",
            labels=["collection"],
        )
        for count, collection_id in counts[:TOP_COLLECTIONS]:
            faces.add_metric([collection_id], count)
        if len(counts) > TOP_COLLECTIONS:
            faces.add_metric([OTHER], sum(count for count, _ in counts[TOP_COLLECTIONS:]))
        yield faces
        yield GaugeMetricFamily("rekollect_collections", "Collections in the store", value=len(counts))

        yield GaugeMetricFamily(
            "rekollect_index_memory_bytes",
            "Bytes allocated for the vector index's arrays in this process",
            value=self._service.index.inner.memory_bytes(),
        )

        yield GaugeMetricFamily(
            "rekollect_video_jobs_in_progress", "Stored-video jobs in progress", value=self._jobs.count_in_progress(VIDEO_APIS)
        )
