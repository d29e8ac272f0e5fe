"""``python -m rekollect.vision.attributes.install``: the name ``rekollect install`` had in earlier
releases, kept working. Run as a program, it runs that command (``rekollect.install``) in its place."""

from __future__ import annotations

import os
import sys

if __name__ == "__main__":
    os.execv(sys.executable, [sys.executable, "-m", "rekollect", "install", *sys.argv[1:]])
