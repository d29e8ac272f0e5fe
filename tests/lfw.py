"""The LFW development set (``../shared/data/lfw-dev``) as the recognition benchmarks and tests read it.

- **Images:** the 6,894 deep-funneled images of View-2 folds 2–10 (``MANIFEST.tsv``), each one's
  labelled face being the detected face nearest the image centre (LFW centres it; other faces can
  appear near the border).
- **Identities:** LFW's names, except that ``ALIASES`` merges names under which LFW files one
  person twice (a spelling variant, the family name first, a married name), so that person is
  never counted as a stranger to themself; ``MISLABELLED`` leaves out images whose centred face is
  visibly someone other than the name says. Both were found by looking at the smallest
  different-name distances of face model 2.0 on all nine folds; the people are public figures
  whose names make the alias plain.
- **Calibration and report identities:** View-2's folds are identity-disjoint (an alias goes with
  the fold of the name it is merged into). Identities of the pairs of folds 2–5 (1,651 identities, 3,004 images) calibrate: the Similarity map, the user
  vector scale, fusion weights and thresholds are chosen on them. Identities of folds 6–10
  (2,195 identities, 3,890 images) report: numbers measured on them are on people no choice
  was made on.

LFW's images are news photos published with no licence; they are read from the shared folder and
never copied into the repository.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from multiprocessing import Pool
from pathlib import Path

import numpy as np

LFW = Path(os.environ.get("REKOLLECT_LFW_DIR", Path(__file__).resolve().parents[2] / "shared" / "data" / "lfw-dev"))
CALIBRATION_FOLDS = frozenset({2, 3, 4, 5})
REPORT_FOLDS = frozenset({6, 7, 8, 9, 10})

ALIASES = {
    "Hasan_Wirayuda": "Hassan_Wirajuda",
    "Cristina_Kirchner": "Cristina_Fernandez",
    "Mireya_Elisa_Moscoso_Rodriguez": "Mireya_Moscoso",
    "John_Gruden": "Jon_Gruden",
    "Wang_Nan": "Nan_Wang",
    "John_Burnett": "John_Barnett",
    "Uday_Hussein": "Odai_Hussein",
}
"""LFW names that are another LFW name's person: Indonesia's foreign minister spelled two ways;
Cristina Fernández de Kirchner by her maiden and married names; Panama's president Mireya Moscoso
by her short and full names; the coach Jon Gruden misspelled; the table-tennis player Wang Nan with
her family name last and first; the Los Angeles lawyer John Barnett misspelled; Saddam Hussein's son
Uday (Odai) in two transliterations."""

MISLABELLED = {
    "images/Shavon_Earp/Shavon_Earp_0001.jpg": "the centred face is Diana Taurasi's (her LFW photos match it)",
}
"""Images whose labelled (centred) face is someone else, with what was seen."""


@dataclass(frozen=True)
class LfwImage:
    """One image: ``path`` relative to ``LFW``, its ``identity`` (aliases merged), and whether that
    identity is a calibration one (folds 2–5) rather than a report one (folds 6–10)."""

    path: str
    identity: str
    calibration: bool


def images() -> list[LfwImage]:
    """Every image of the development set but ``MISLABELLED``, sorted by path."""
    folds: dict[str, int] = {}
    with open(LFW / "pairs.tsv", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            for column in ("path_a", "path_b"):
                folds[row[column].split("/")[1]] = int(row["fold"])
    with open(LFW / "MANIFEST.tsv", newline="") as handle:
        paths = sorted(row["path"] for row in csv.DictReader(handle, delimiter="\t"))
    result = []
    for path in paths:
        if path in MISLABELLED:
            continue
        identity = ALIASES.get(path.split("/")[1], path.split("/")[1])
        result.append(LfwImage(path, identity, folds[identity] in CALIBRATION_FOLDS))
    return result


_networks = None


def _embed(path: str) -> np.ndarray:
    """Face model 2.0's (and 2.1's) 256-d vector of the face nearest the image centre; NaN if none."""
    global _networks
    from PIL import Image

    if _networks is None:
        from rekollect.vision.dlib_pack import DlibFaceAnalyzer
        from rekollect.vision.zoo_pack import ZooFaceAnalyzer

        _networks = ZooFaceAnalyzer(DlibFaceAnalyzer(threads=1), threads=1)
    image = np.asarray(Image.open(LFW / path).convert("RGB"))
    faces = _networks.detect(image)
    if not faces:
        return np.full(_networks.embedding_size, np.nan, dtype=np.float32)
    centre = np.array([image.shape[1] / 2, image.shape[0] / 2])
    face = min(faces, key=lambda f: float(np.hypot((f.box[0] + f.box[2]) / 2 - centre[0], (f.box[1] + f.box[3]) / 2 - centre[1])))
    return _networks.embed(image, [face])[0]


def embeddings(paths: list[str], processes: int = 2, cache: Path | None = None) -> np.ndarray:
    """``(len(paths), 256)`` float32 vectors of ``paths`` (``_embed``), computed by ``processes``
    worker processes; read from / written to ``cache`` (an ``.npz`` keyed by the paths) when given."""
    if cache is not None and cache.is_file():
        stored = np.load(cache)
        if list(stored["paths"]) == paths:
            return stored["vectors"]
    with Pool(processes) as pool:
        vectors = np.stack(pool.map(_embed, paths, chunksize=16)).astype(np.float32)
    if cache is not None:
        np.savez(cache, paths=np.array(paths), vectors=vectors)
    return vectors


def impostor_distances(vectors: np.ndarray, identities: list[str]) -> np.ndarray:
    """Sorted Euclidean distances of every pair of rows whose identities differ (float64)."""
    names = np.array(identities)
    x = vectors.astype(np.float64)
    squared = (x**2).sum(1)
    result = []
    for start in range(0, len(x), 1024):
        block = x[start : start + 1024]
        d2 = squared[start : start + 1024, None] + squared[None, :] - 2.0 * block @ x.T
        later = np.arange(len(x))[None, :] > np.arange(start, start + len(block))[:, None]
        keep = later & (names[start : start + len(block), None] != names[None, :])
        result.append(np.sqrt(np.maximum(d2[keep], 0.0)))
    return np.sort(np.concatenate(result))
