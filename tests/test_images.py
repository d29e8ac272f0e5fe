"""Image decoding: malformed EXIF, every PIL mode, large images decoded reduced within a memory bound,
and a mutation fuzz of the decoder (issue 12, items 7, 8, 9)."""

from __future__ import annotations

import base64
import io
import json
import struct
import threading
import time
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from support import ServerProcess, image_bytes
from test_wire import post

from rekollect.core.images import DETECTION_SIZE, decode_image, reduction
from rekollect.core.memory_budget import MemoryBudget
from rekollect.core.pixels import to_rgb
from rekollect.errors import (
    ImageTooLargeException,
    InvalidImageFormatException,
    InvalidParameterException,
    ThrottlingException,
)

FACE = "people/Barack_Obama/obama_small.jpg"
ORIENTATION = 0x0112


def _exif(*entries: tuple[int, int, bytes]) -> bytes:
    """A little-endian EXIF block with one IFD of ``(tag, type, inline value)`` entries, count 1."""
    ifd = struct.pack("<H", len(entries))
    for tag, kind, value in entries:
        ifd += struct.pack("<HHI", tag, kind, 1) + value.ljust(4, b"\0")
    return b"Exif\0\0II*\0" + struct.pack("<I", 8) + ifd + struct.pack("<I", 0)


ROTATE_270 = (ORIENTATION, 3, struct.pack("<H", 6))
"""Orientation 6: the stored image must be turned 90° clockwise to be upright."""
IMAGE_WIDTH_AS_BYTE = (0x0100, 1, b"\x01")
"""ImageWidth typed BYTE: Pillow parses it, but cannot write it back (``struct.error``)."""


def _jpeg(image: Image.Image, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", **options)
    return buffer.getvalue()


def _png(image: Image.Image, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", **options)
    return buffer.getvalue()


def _sideways_face_with_malformed_exif() -> bytes:
    """The shared face photo stored turned, with EXIF saying how to turn it back, and a malformed tag."""
    upright = Image.open(io.BytesIO(image_bytes(FACE)))
    return _jpeg(upright.transpose(Image.Transpose.ROTATE_90), exif=_exif(ROTATE_270, IMAGE_WIDTH_AS_BYTE))


# --- item 7: malformed EXIF -------------------------------------------------------------------


def test_malformed_exif_still_gives_the_upright_image():
    data = _jpeg(Image.new("RGB", (40, 30), (200, 30, 30)), exif=_exif(ROTATE_270, IMAGE_WIDTH_AS_BYTE))
    assert len(data) < 2000
    decoded = decode_image(data)
    assert (decoded.width, decoded.height) == (30, 40)


def test_an_unreadable_orientation_is_ignored():
    data = _jpeg(Image.new("RGB", (40, 30)), exif=_exif((ORIENTATION, 2, b"6\0"), IMAGE_WIDTH_AS_BYTE))
    assert (decode_image(data).width, decode_image(data).height) == (40, 30)


def test_every_image_operation_takes_malformed_exif(rekognition, collection):
    image = {"Bytes": _sideways_face_with_malformed_exif()}
    assert len(rekognition.detect_faces(Image=image)["FaceDetails"]) == 1
    assert len(rekognition.index_faces(CollectionId=collection, Image=image)["FaceRecords"]) == 1
    assert len(rekognition.search_faces_by_image(CollectionId=collection, Image=image)["FaceMatches"]) == 1
    assert len(rekognition.compare_faces(SourceImage=image, TargetImage=image)["FaceMatches"]) == 1


def _seeds() -> list[bytes]:
    face = Image.open(io.BytesIO(image_bytes(FACE))).resize((64, 48))
    gray16 = (np.asarray(face.convert("L")).astype(np.uint16) * 257).astype(np.uint16)
    return [
        image_bytes(FACE),
        image_bytes("people/Tom_Hanks/Tom_Hanks_54745.png"),
        _jpeg(face, exif=_exif(ROTATE_270, IMAGE_WIDTH_AS_BYTE)),
        _jpeg(face, progressive=True),
        _png(Image.fromarray(gray16)),
        _png(face.convert("P"), transparency=0),
        _png(face.convert("LA")),
    ]


SEEDS = _seeds()
AWS_IMAGE_ERRORS = (InvalidImageFormatException, ImageTooLargeException, InvalidParameterException)


@st.composite
def mutated_images(draw) -> bytes:
    """A seed image with a few bytes overwritten, deleted or inserted (the signature mostly kept)."""
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["set", "delete", "insert"]))
        if action == "set":
            data[at] = draw(st.integers(0, 255))
        elif action == "delete":
            del data[at : at + draw(st.integers(1, 64))]
        else:
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
    return bytes(data)


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(data=mutated_images())
def test_the_decoder_raises_only_aws_errors(data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow warns about the corrupt EXIF it skips
        try:
            decoded = decode_image(data)
        except AWS_IMAGE_ERRORS:
            return
    assert decoded.pixels.dtype == np.uint8 and decoded.pixels.shape[2] == 3


# --- item 8: every mode to 8-bit RGB ------------------------------------------------------------


def _gray16(value: int, mode: str) -> Image.Image:
    dtype = ">u2" if mode == "I;16B" else "<u2"
    return Image.frombuffer(mode, (4, 4), np.full((4, 4), value, dtype).tobytes(), "raw", mode, 0, 1)


def _transparent_palette() -> Image.Image:
    image = Image.new("P", (4, 4), 1)
    image.putpalette([0, 0, 0, 10, 200, 30])
    image.info["transparency"] = 1
    return image


MODES = [
    ("I;16", lambda: _gray16(0x8080, "I;16"), (128, 128, 128)),
    ("I;16B", lambda: _gray16(0xFFFF, "I;16B"), (255, 255, 255)),
    ("I", lambda: Image.new("I", (4, 4), 0x4000), (64, 64, 64)),
    ("I negative", lambda: Image.new("I", (4, 4), -5), (0, 0, 0)),
    ("F", lambda: Image.new("F", (4, 4), 32896.0), (128, 128, 128)),
    ("LA transparent", lambda: Image.new("LA", (4, 4), (0, 0)), (255, 255, 255)),
    ("LA opaque", lambda: Image.new("LA", (4, 4), (90, 255)), (90, 90, 90)),
    ("RGBA half", lambda: Image.new("RGBA", (4, 4), (0, 0, 0, 128)), (127, 127, 127)),
    ("P transparent", _transparent_palette, (255, 255, 255)),
    ("CMYK", lambda: Image.new("CMYK", (4, 4), (0, 255, 255, 0)), (255, 0, 0)),
    ("1", lambda: Image.new("1", (4, 4), 1), (255, 255, 255)),
    ("L", lambda: Image.new("L", (4, 4), 77), (77, 77, 77)),
]


@pytest.mark.parametrize(("make", "expected"), [(make, rgb) for _, make, rgb in MODES], ids=[m for m, _, _ in MODES])
def test_every_mode_becomes_8_bit_rgb(make, expected):
    rgb = np.asarray(to_rgb(make()))
    assert rgb.shape == (4, 4, 3)
    assert np.abs(rgb.astype(int) - expected).max() <= 1, rgb[0, 0]


def test_16_bit_png_decodes_like_its_8_bit_copy():
    gray = np.asarray(Image.open(io.BytesIO(image_bytes(FACE))).convert("L"))
    sixteen = decode_image(_png(Image.fromarray(gray.astype(np.uint16) * 257)))
    assert np.array_equal(sixteen.pixels[..., 0], gray)


def test_16_bit_png_of_a_face_finds_the_faces_its_8_bit_copy_finds(rekognition):
    for name in (FACE, "people/Barack_Obama/obama.jpg"):
        gray = Image.open(io.BytesIO(image_bytes(name))).convert("L")
        eight = rekognition.detect_faces(Image={"Bytes": _png(gray)})["FaceDetails"]
        wide = Image.fromarray(np.asarray(gray).astype(np.uint16) * 257)
        assert wide.mode.startswith("I;16")
        sixteen = rekognition.detect_faces(Image={"Bytes": _png(wide)})["FaceDetails"]
        assert len(sixteen) == len(eight) >= 1, name


# --- item 9: large images decoded reduced, in bounded memory ---------------------------------


@pytest.mark.parametrize(
    ("size", "factor"),
    [((1920, 1080), 1), ((3839, 2159), 1), ((3840, 2160), 2), ((2160, 3840), 2), ((11500, 7650), 5),
     ((10000, 1000), 1), ((100, 100), 1)],
)  # fmt: skip
def test_reduction_keeps_at_least_the_detection_size(size, factor):
    assert reduction(*size) == factor
    long_side, short_side = sorted(side // factor for side in size)[::-1]
    assert long_side >= DETECTION_SIZE[0] or factor == 1
    assert short_side >= DETECTION_SIZE[1] or factor == 1


@pytest.mark.parametrize(
    ("size", "encode", "decoded"),
    [
        ((7680, 4320), _jpeg, (1920, 1080)),  # the JPEG decoder reduces by 4
        ((4320, 7680), _jpeg, (1080, 1920)),
        ((5000, 3000), _png, (2500, 1500)),  # PNG: decoded, then reduced by 2
        ((4000, 500), _png, (4000, 500)),
    ],
)
def test_large_images_are_decoded_reduced(size, encode, decoded):
    data = encode(Image.new("RGB", size, (10, 120, 200)))
    image = decode_image(data, max_bytes=len(data))
    assert (image.width, image.height) == decoded
    assert np.abs(image.pixels[0, 0].astype(int) - (10, 120, 200)).max() <= 2


@pytest.fixture(scope="module")
def huge_jpeg() -> bytes:
    """An 88-megapixel JPEG of a two-person photo (about 1.5 MB)."""
    photo = Image.open(io.BytesIO(image_bytes("groups/couple.jpg")))
    return _jpeg(photo.resize((11500, 7650), Image.Resampling.NEAREST), quality=8)


def _peak_rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def test_an_88_megapixel_jpeg_stays_in_bounded_memory(tmp_path, rekognition, huge_jpeg):
    """One such request peaked at 1.7 GB before the decoder reduced JPEGs; now about 270 MiB."""
    server = ServerProcess(tmp_path / "data").start()
    try:
        body = json.dumps({"Image": {"Bytes": base64.b64encode(huge_jpeg).decode()}}).encode()
        status, _, payload = post(server.url, "RekognitionService.DetectFaces", body)
        assert status == 200, payload
        assert server.process is not None
        peak = _peak_rss_mib(server.process.pid)
    finally:
        server.stop()
    assert peak < 600, f"peak RSS {peak:.0f} MiB"
    original = rekognition.detect_faces(Image={"Bytes": image_bytes("groups/couple.jpg")})["FaceDetails"]
    assert len(payload["FaceDetails"]) == len(original) == 2
    for big, small in zip(payload["FaceDetails"], original, strict=True):
        for side in ("Left", "Top", "Width", "Height"):
            assert big["BoundingBox"][side] == pytest.approx(small["BoundingBox"][side], abs=0.02)


def test_the_budget_queues_then_throttles():
    budget = MemoryBudget(capacity=100, wait_seconds=0.2)
    with budget.reserve(80):
        started = time.monotonic()
        with pytest.raises(ThrottlingException), budget.reserve(30):
            pass
        assert time.monotonic() - started >= 0.2
        with budget.reserve(20):  # what is left is free
            assert budget.used == 100
    assert budget.used == 0


def test_the_budget_lets_a_waiter_in_when_memory_frees():
    budget = MemoryBudget(capacity=100, wait_seconds=10)
    order: list[str] = []
    holding = threading.Event()

    def big() -> None:
        with budget.reserve(500):  # more than the whole budget: clamped, runs alone
            holding.set()
            time.sleep(0.2)
            order.append("big")

    thread = threading.Thread(target=big)
    thread.start()
    holding.wait()
    with budget.reserve(10):
        order.append("small")
    thread.join()
    assert order == ["big", "small"] and budget.used == 0
