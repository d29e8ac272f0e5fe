"""The service's gauges for ``GET /metrics``, computed at each scrape (a prometheus-client
custom collector), never kept by hand:

- ``rekollect_collection_faces{collection}``: faces stored in each collection (the store: the
  same in every server process);
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


class ServiceGauges(Collector):
    """Reads ``service``'s store and index, and the video ``jobs``, when Prometheus scrapes (see the module docstring)."""

    def __init__(self, service: FaceService, jobs: JobStore) -> None:
        self._service = service
        self._jobs = jobs

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """The three gauge families, read now."""
        store = self._service.store
        faces = GaugeMetricFamily("rekollect_collection_faces", "Faces stored in the collection", labels=["collection"])
        for record in every_item(lambda after: store.list_collections(after, _PAGE)):
            faces.add_metric([record.collection_id], store.count_faces(record.collection_id))
        yield faces

        yield GaugeMetricFamily(
            "rekollect_index_memory_bytes",
            "Bytes allocated for the vector index's arrays in this process",
            value=self._service.index.inner.memory_bytes(),
        )

        yield GaugeMetricFamily(
            "rekollect_video_jobs_in_progress", "Stored-video jobs in progress", value=self._jobs.count_in_progress(VIDEO_APIS)
        )
