"""Shared helpers for the benchmarks: a server on loopback and the shared face set."""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from support import FACES, ManifestRow, ServerProcess, manifest

__all__ = ["FACES", "ManifestRow", "ServerProcess", "manifest", "percentile", "usable_people"]


def percentile(values: list[float], fraction: float) -> float:
    """The ``fraction`` quantile (inclusive method) of ``values``."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(fraction * 100) - 1]


def usable_people() -> dict[str, list[ManifestRow]]:
    """JPEG/PNG person photos that are not edge cases, by identity."""
    people: dict[str, list[ManifestRow]] = {}
    for row in manifest():
        if row.kind == "person" and not row.is_edge_case and row.is_jpeg_or_png:
            people.setdefault(row.identity, []).append(row)
    return people
