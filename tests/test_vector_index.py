"""The tiered vector index: approximate search agrees with exact search, deletes and updates are
honoured at once, and saved spaces load back identically (in-process, synthetic and real vectors)."""

from __future__ import annotations

import numpy as np
import pytest
from support import FACES, manifest

from rekollect.core.images import decode_image
from rekollect.index.exact import ExactIndex
from rekollect.index.tiered import TieredIndex
from rekollect.vision.dlib_pack import DlibFaceAnalyzer

SPACE = "faces/test"


def clustered(count: int, seed: int = 0) -> np.ndarray:
    """``(count, 128)`` float32 vectors in identities of 4, about 0.4 apart within and 0.85 across."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((count // 4 + 1, 128)).astype(np.float32) * 0.053
    return (np.repeat(centres, 4, axis=0)[:count] + rng.standard_normal((count, 128)) * 0.025).astype(np.float32)


def keys(count: int, prefix: str = "k") -> list[str]:
    return [f"{prefix}{number}" for number in range(count)]


def both(vectors: np.ndarray, threshold: int) -> tuple[TieredIndex, ExactIndex]:
    tiered, exact = TieredIndex(ann_threshold=threshold), ExactIndex()
    for index in (tiered, exact):
        index.add(SPACE, keys(len(vectors)), vectors)
    return tiered, exact


def test_approximate_search_has_the_exact_top_match_and_exact_distances():
    vectors = clustered(6000)
    tiered, exact = both(vectors, threshold=2000)
    assert tiered.uses_ann(SPACE)
    queries = vectors[::50] + np.random.default_rng(1).standard_normal((120, 128)).astype(np.float32) * 0.025
    recall = []
    for query in queries:
        found, truth = tiered.search(SPACE, query, 10, np.inf), exact.search(SPACE, query, 10, np.inf)
        assert found[0] == truth[0]
        distances = dict(truth)
        assert all(distance == distances[key] for key, distance in found if key in distances)
        recall.append(len({key for key, _ in found} & set(distances)) / 10)
    assert np.mean(recall) >= 0.8


def test_max_distance_and_k_are_honoured_on_the_approximate_path():
    vectors = clustered(4000)
    tiered, exact = both(vectors, threshold=1000)
    query = vectors[7]
    assert tiered.search(SPACE, query, 3, 0.5) == exact.search(SPACE, query, 3, 0.5)
    assert all(distance <= 0.5 for _, distance in tiered.search(SPACE, query, 50, 0.5))
    assert len(tiered.search(SPACE, query, 1, np.inf)) == 1


def test_deletes_and_updates_are_honoured_immediately():
    vectors = clustered(4000)
    tiered, exact = both(vectors, threshold=1000)
    query = vectors[100]
    assert tiered.search(SPACE, query, 1, np.inf)[0][0] == "k100"
    for index in (tiered, exact):
        index.remove(SPACE, ["k100"])
    assert tiered.search(SPACE, query, 4000, np.inf)[0] == exact.search(SPACE, query, 1, np.inf)[0]
    assert "k100" not in {key for key, _ in tiered.search(SPACE, query, 4000, np.inf)}
    assert tiered.get(SPACE, "k100") is None
    moved = vectors[3000] + 0.001
    tiered.add(SPACE, ["k5"], moved[np.newaxis])
    assert tiered.search(SPACE, vectors[3000], 1, np.inf)[0][0] in {"k3000", "k5"}
    assert np.array_equal(tiered.get(SPACE, "k5"), moved)
    assert tiered.size(SPACE) == 3999


def test_mass_deletes_compact_and_fall_back_to_exact_search():
    vectors = clustered(3000)
    tiered, exact = both(vectors, threshold=1000)
    gone = keys(2600)
    tiered.remove(SPACE, gone)
    exact.remove(SPACE, gone)
    assert not tiered.uses_ann(SPACE)
    for query in vectors[::97]:
        assert tiered.search(SPACE, query, 5, np.inf) == exact.search(SPACE, query, 5, np.inf)


def test_a_saved_space_loads_back_identically(tmp_path):
    vectors = clustered(3000)
    tiered, _ = both(vectors, threshold=1000)
    tiered.remove(SPACE, ["k1", "k2"])
    path = tmp_path / "space.rkix"
    assert tiered.save_space(SPACE, path)
    loaded = TieredIndex()
    assert loaded.load_space(path) == SPACE
    assert loaded.uses_ann(SPACE) and loaded.size(SPACE) == 2998
    for query in vectors[::101]:
        assert loaded.search(SPACE, query, 10, np.inf) == tiered.search(SPACE, query, 10, np.inf)
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ValueError):
        TieredIndex().load_space(path)


def test_a_search_split_over_threads_finds_what_one_thread_finds():
    vectors = clustered(6000)
    tiered, exact = both(vectors, threshold=2000)
    assert tiered.ivf_lists(SPACE) == 64
    queries = vectors[::60] + np.random.default_rng(2).standard_normal((100, 128)).astype(np.float32) * 0.025
    found = {}
    for threads in (1, 2, 3):
        tiered.search_threads = threads
        found[threads] = [tiered.search(SPACE, query, 10, np.inf) for query in queries]
    assert found[2] == found[1] and found[3] == found[1]
    tiered.probe_fraction, tiered.rerank = 1.0, len(vectors)  # every list (3 uneven parts), every vector
    for query in queries[:20]:
        assert tiered.search(SPACE, query, 10, np.inf) == exact.search(SPACE, query, 10, np.inf)


def test_a_space_saved_by_an_earlier_version_is_refused(tmp_path):
    path = tmp_path / "old.rkix"
    path.write_bytes(b"RKIX1\n" + bytes(64))
    with pytest.raises(ValueError, match="earlier version"):
        TieredIndex().load_space(path)


@pytest.fixture(scope="module")
def photo_embeddings() -> np.ndarray:
    """Embeddings of the largest face of up to 40 person photos of the shared data set."""
    analyzer = DlibFaceAnalyzer()
    vectors = []
    rows = [row for row in manifest() if row.kind == "person" and not row.is_edge_case and row.is_jpeg_or_png]
    for row in rows[:40]:
        image = decode_image(row.file.read_bytes())
        faces = analyzer.detect(image.pixels)
        if faces:
            vectors.append(analyzer.embed(image.pixels, faces[:1])[0])
    assert len(vectors) >= 30, f"too few faces found in {FACES}"
    return np.stack(vectors).astype(np.float32)


def test_approximate_search_matches_exact_search_on_real_faces(photo_embeddings):
    """The real faces among 2000 synthetic ones: each finds the same nearest other face either way."""
    real = photo_embeddings
    vectors = np.concatenate([real, clustered(2000, seed=3) + real.mean(axis=0)])
    tiered, exact = both(vectors, threshold=1000)
    assert tiered.uses_ann(SPACE)
    for number, query in enumerate(real):
        tiered.remove(SPACE, [f"k{number}"])
        exact.remove(SPACE, [f"k{number}"])
        assert tiered.search(SPACE, query, 1, np.inf) == exact.search(SPACE, query, 1, np.inf)
        tiered.add(SPACE, [f"k{number}"], query[np.newaxis])
        exact.add(SPACE, [f"k{number}"], query[np.newaxis])


def test_a_small_space_is_scanned_whole_whatever_the_fraction():
    """Below ``min_scanned`` codes every list is scanned, so a thin fraction costs no recall there."""
    vectors = clustered(6000)
    tiered, exact = both(vectors, threshold=2000)
    queries = vectors[::60] + np.random.default_rng(3).standard_normal((100, 128)).astype(np.float32) * 0.025
    expected = [exact.search(SPACE, query, 10, np.inf) for query in queries]
    tiered.probe_fraction = 1 / 64  # one list of 64
    thin = [tiered.search(SPACE, query, 10, np.inf) for query in queries]
    tiered.min_scanned = 0
    assert [tiered.search(SPACE, query, 10, np.inf) for query in queries] != expected
    assert thin == expected
