"""Plain-text tables for the tools' human-readable output."""

from __future__ import annotations

from collections.abc import Sequence


def printable(text: str) -> str:
    """``text`` with every character that is not printable (control characters such as ESC, CR and
    BEL, and bytes of a file name that are not UTF-8) written as a Python escape (``\\x1b``), so a
    name cannot move the cursor, ring the bell or rewrite the terminal."""
    return "".join(char if char.isprintable() else ascii(char)[1:-1] for char in text)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """``rows`` under ``headers`` in aligned columns (numbers right-aligned), one line per row;
    text cells go through ``printable``."""
    cells = [[printable(str(cell)) for cell in row] for row in rows]
    widths = [max(len(text) for text in column) for column in zip(headers, *cells, strict=False)]
    numeric = [all(isinstance(row[i], int | float) for row in rows) and bool(rows) for i in range(len(headers))]

    def line(values: Sequence[str]) -> str:
        parts = [v.rjust(w) if n else v.ljust(w) for v, w, n in zip(values, widths, numeric, strict=True)]
        return "  ".join(parts).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(row) for row in cells)])
