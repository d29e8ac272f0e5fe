"""The labelled attribute set (``tests/data/attribute_labels.tsv``) and how a ``FaceDetail`` is scored on it.

Shared by ``tests/test_attributes.py`` (which requires a bar per attribute) and
``bench/attributes.py`` (which prints the accuracy table).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LABELS = Path(__file__).resolve().parent / "data" / "attribute_labels.tsv"

SCORED = ("Gender", "AgeRange", "Smile", "MouthOpen", "EyesOpen", "Emotions")
"""Attributes the service computes and the labels can check, in table order."""


@dataclass(frozen=True)
class Label:
    """One labelled photo; ``None`` where the label is ``.`` (not labelled)."""

    path: str
    values: dict[str, str | None]


def labels() -> list[Label]:
    """Every row of the labels file (paths relative to the shared faces folder)."""
    with open(LABELS, newline="") as handle:
        rows = csv.DictReader((line for line in handle if not line.startswith("#")), delimiter="\t")
        return [
            Label(row["path"], {key: None if value == "." else value for key, value in row.items() if key != "path"})
            for row in rows
        ]


def _flag(value: str | None) -> bool | None:
    return None if value is None else value == "true"


def score(detail: dict[str, Any], label: Label) -> dict[str, bool | None]:
    """Per attribute in ``SCORED``: whether ``detail`` agrees with the label (``None``: not labelled).

    Gender and the binary attributes must equal the label; ``AgeRange`` must overlap the labelled
    bracket; the most confident ``Emotions`` type must be the labelled dominant emotion.
    """
    values = label.values
    smile, mouth, eyes = _flag(values["smile"]), _flag(values["mouth_open"]), _flag(values["eyes_open"])
    low, high = int(values["age_low"] or 0), int(values["age_high"] or 0)
    emotion = values["emotion"]
    return {
        "Gender": None if values["gender"] is None else detail["Gender"]["Value"] == values["gender"],
        "AgeRange": detail["AgeRange"]["Low"] <= high and detail["AgeRange"]["High"] >= low,
        "Smile": None if smile is None else detail["Smile"]["Value"] == smile,
        "MouthOpen": None if mouth is None else detail["MouthOpen"]["Value"] == mouth,
        "EyesOpen": None if eyes is None else detail["EyesOpen"]["Value"] == eyes,
        "Emotions": None if emotion is None else detail["Emotions"][0]["Type"] == emotion,
    }


def accuracy(results: list[dict[str, bool | None]], attribute: str) -> tuple[int, int]:
    """``(right, labelled)`` for one attribute over scored results."""
    marks = [result[attribute] for result in results if result[attribute] is not None]
    return sum(marks), len(marks)
