"""Read the weights of dlib's face-recognition ResNet from its serialized ``.dat`` file.

dlib has no API that exposes a network's layers, so this follows dlib's own serialization code
(``dlib/serialize.h``, ``dlib/dnn/core.h``, ``layers.h``, ``input.h``, ``loss.h``, ``tensor.h``)
for the one network type that file holds, ``anet_type`` of ``tools/python/src/face_recognition.cpp``
(a 29-layer ResNet, input 150×150 RGB, output 128 floats):

- integers: a control byte (bit 7: negative; low 4 bits: byte count) and that many little-endian
  bytes of the absolute value; ``bool``: the character ``'1'`` or ``'0'``; strings: their length,
  then the bytes; ``float``/``double``: two integers, mantissa then exponent, value ``m · 2**e``;
- tensors: version, then ``num_samples, k, nr, nc``, then the values (version 2: little-endian
  IEEE float32; version 1: one ``float`` each as above);
- a network is nested: each layer writes its version, then its whole sub-network, then its own
  details, so the file holds the versions from the loss layer inwards, then the input layer, then
  each layer's details from the first layer outwards.

``NETWORK`` spells the network layer by layer in forward order; ``read_network`` checks every
layer of the file against it (filter counts, sizes, strides, padding) and returns its weights.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

CHIP_SIZE = 150
"""Side of the square RGB face chip the network reads, in pixels."""


@dataclass(frozen=True)
class Layer:
    """One layer of ``NETWORK`` in forward order.

    ``kind`` is one of ``con`` (``size``×``size`` convolution, ``filters`` outputs, ``stride``),
    ``affine`` (per-channel ``x·gamma + beta``), ``relu``, ``max_pool``/``avg_pool`` (``size``×``size``
    window, ``stride``; ``size`` 0 is the whole input), ``fc`` (``filters`` outputs, no bias), ``tag``
    (names the current output ``tag_id``), ``skip`` (continues from tag ``tag_id``'s output) and
    ``add_prev`` (adds tag ``tag_id``'s output, the smaller of the two zero-padded at the end of
    each axis).
    """

    kind: str
    filters: int = 0
    size: int = 0
    stride: int = 1
    tag_id: int = 0


@dataclass
class LoadedLayer:
    """A ``Layer`` with what the file holds for it (empty for layers without parameters).

    ``weights``: ``con``: ``(filters, channels_in, size, size)`` float32; ``fc``: ``(inputs,
    outputs)`` float32; ``affine``: gamma ``(channels,)``. ``bias``: ``con``: ``(filters,)``;
    ``affine``: beta ``(channels,)``. ``padding``: ``(y, x)`` zero rows/columns on each side for
    ``con`` and pools.
    """

    layer: Layer
    weights: np.ndarray | None = None
    bias: np.ndarray | None = None
    padding: tuple[int, int] = (0, 0)


@dataclass
class Network:
    """Everything ``read_network`` takes from the file.

    ``mean_rgb``: the input layer's per-channel means (the input is ``(pixel - mean) / 256``).
    ``layers``: forward order. ``margin``/``distance_threshold``: the metric loss's training
    settings (not used to compute descriptors).
    """

    mean_rgb: tuple[float, float, float]
    layers: list[LoadedLayer] = field(default_factory=list)
    margin: float = 0.0
    distance_threshold: float = 0.0


def _residual(filters: int, down: bool) -> list[Layer]:
    """dlib's ``ares`` (``down`` False) or ``ares_down`` block with ``affine`` layers, forward order."""
    stride = 2 if down else 1
    block = [
        Layer("tag", tag_id=1),
        Layer("con", filters, 3, stride),
        Layer("affine"),
        Layer("relu"),
        Layer("con", filters, 3, 1),
        Layer("affine"),
    ]
    if down:
        block += [Layer("tag", tag_id=2), Layer("skip", tag_id=1), Layer("avg_pool", size=2, stride=2)]
        return [*block, Layer("add_prev", tag_id=2), Layer("relu")]
    return [*block, Layer("add_prev", tag_id=1), Layer("relu")]


def _network() -> list[Layer]:
    layers = [Layer("con", 32, 7, 2), Layer("affine"), Layer("relu"), Layer("max_pool", size=3, stride=2)]
    # alevel4 .. alevel0: (filters, blocks); the first block of every level but alevel4 halves the size
    for level, (filters, blocks) in enumerate(((32, 3), (64, 4), (128, 3), (256, 3), (256, 1))):
        for block in range(blocks):
            layers += _residual(filters, down=level > 0 and block == 0)
    return [*layers, Layer("avg_pool", size=0, stride=1), Layer("fc", 128)]


NETWORK: list[Layer] = _network()
"""``anet_type`` of dlib's face recognition example, forward order (input excluded)."""


class DlibFormatError(ValueError):
    """The file is not the network ``NETWORK`` describes, in a serialization this reader knows."""


class _Reader:
    """Sequential reader of dlib's serialization primitives over a byte string."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def _take(self, count: int) -> bytes:
        if self.pos + count > len(self.data):
            raise DlibFormatError(f"file ends at byte {len(self.data)}, {count} more needed at {self.pos}")
        chunk = self.data[self.pos : self.pos + count]
        self.pos += count
        return chunk

    def integer(self) -> int:
        control = self._take(1)[0]
        if control & 0x70 or (control & 0x0F) > 8:
            raise DlibFormatError(f"bad integer control byte {control:#04x} at {self.pos - 1}")
        value = int.from_bytes(self._take(control & 0x0F), "little")
        return -value if control & 0x80 else value

    def boolean(self) -> bool:
        char = self._take(1)
        if char not in (b"0", b"1"):
            raise DlibFormatError(f"bad bool {char!r} at {self.pos - 1}")
        return char == b"1"

    def string(self) -> str:
        return self._take(self.integer()).decode("latin-1")

    def real(self) -> float:
        mantissa, exponent = self.integer(), self.integer()
        special = {32000: math.inf, 32001: -math.inf, 32002: math.nan}
        return special[exponent] if exponent in special else math.ldexp(mantissa, exponent)

    def tensor(self) -> np.ndarray:
        """A tensor as a float32 ``(num_samples, k, nr, nc)`` array."""
        version = self.integer()
        shape = tuple(self.integer() for _ in range(4))
        count = math.prod(shape)
        if version == 2:
            values = np.frombuffer(self._take(4 * count), dtype="<f4").astype(np.float32)
        elif version == 1:
            values = np.array([self.real() for _ in range(count)], dtype=np.float32)
        else:
            raise DlibFormatError(f"unknown tensor version {version}")
        return values.reshape(shape)

    def alias(self) -> tuple[int, int, int, int]:
        """An ``alias_tensor``: a shape laid over part of a parameter tensor."""
        self.expect_int(1, "alias_tensor version")
        rows = tuple(self.integer() for _ in range(4))
        return rows[0], rows[1], rows[2], rows[3]

    def expect_int(self, expected: int, what: str) -> None:
        value = self.integer()
        if value != expected:
            raise DlibFormatError(f"{what}: expected {expected}, found {value}")

    def version(self, *known: str) -> str:
        found = self.string()
        if found not in known:
            raise DlibFormatError(f"expected one of {known}, found {found!r}")
        return found


def _con(reader: _Reader, layer: Layer) -> LoadedLayer:
    version = reader.version("con_4", "con_5", "con_6")
    params = reader.tensor().ravel()
    filters, rows, cols, stride_y, stride_x = (reader.integer() for _ in range(5))
    padding = (reader.integer(), reader.integer())
    shape, bias_shape = reader.alias(), reader.alias()
    for _ in range(4):  # learning-rate and weight-decay multipliers
        reader.real()
    use_bias = reader.boolean() if version in ("con_5", "con_6") else True
    if version == "con_6" and reader.boolean():
        raise DlibFormatError("con_ with a fused relu is not supported")
    if (filters, rows, cols, stride_y, stride_x) != (layer.filters, layer.size, layer.size, layer.stride, layer.stride):
        raise DlibFormatError(f"con_ {filters} {rows}x{cols}/{stride_y}x{stride_x} where {layer} was expected")
    count = math.prod(shape)
    weights = params[:count].reshape(shape)
    bias = params[count : count + filters] if use_bias else np.zeros(filters, np.float32)
    if not use_bias or bias_shape != (1, filters, 1, 1) or params.size != count + filters:
        raise DlibFormatError(f"con_ parameters of size {params.size} do not match {shape} + {bias_shape}")
    return LoadedLayer(layer, weights, bias.copy(), padding)


def _affine(reader: _Reader, layer: Layer) -> LoadedLayer:
    version = reader.version("affine_", "affine_2")
    params = reader.tensor().ravel()
    gamma_shape, beta_shape = reader.alias(), reader.alias()
    reader.expect_int(0, "affine_ mode (0: per channel)")
    if version == "affine_2" and reader.boolean():
        raise DlibFormatError("disabled affine_ layer")
    channels = gamma_shape[1]
    if gamma_shape != (1, channels, 1, 1) or beta_shape != gamma_shape or params.size != 2 * channels:
        raise DlibFormatError(f"affine_ parameters of size {params.size} do not match {gamma_shape}")
    return LoadedLayer(layer, params[:channels].copy(), params[channels:].copy())


def _pool(reader: _Reader, layer: Layer) -> LoadedLayer:
    reader.version(f"{layer.kind}_2")
    rows, cols, stride_y, stride_x = (reader.integer() for _ in range(4))
    padding = (reader.integer(), reader.integer())
    if (rows, cols, stride_y, stride_x) != (layer.size, layer.size, layer.stride, layer.stride):
        raise DlibFormatError(f"{layer.kind}_ {rows}x{cols}/{stride_y}x{stride_x} where {layer} was expected")
    return LoadedLayer(layer, padding=padding)


def _fc(reader: _Reader, layer: Layer) -> LoadedLayer:
    version = reader.version("fc_2", "fc_3")
    outputs, inputs = reader.integer(), reader.integer()
    params = reader.tensor().ravel()
    shape = reader.alias()
    reader.alias()  # biases: unused without bias
    reader.expect_int(1, "fc_ bias mode (1: no bias)")
    for _ in range(4):
        reader.real()
    if version == "fc_3":
        reader.boolean()
    if outputs != layer.filters or shape != (inputs, outputs, 1, 1) or params.size != inputs * outputs:
        raise DlibFormatError(f"fc_ {inputs}->{outputs} with {params.size} parameters where {layer} was expected")
    return LoadedLayer(layer, params.reshape(inputs, outputs).copy())


def _details(reader: _Reader, layer: Layer) -> LoadedLayer:
    """A computational layer's own serialization (its ``layer_details``)."""
    if layer.kind == "con":
        return _con(reader, layer)
    if layer.kind == "affine":
        return _affine(reader, layer)
    if layer.kind in ("max_pool", "avg_pool"):
        return _pool(reader, layer)
    if layer.kind == "fc":
        return _fc(reader, layer)
    reader.version(f"{layer.kind}_")  # relu_ and add_prev_ carry nothing else
    return LoadedLayer(layer)


def read_network(path: Path) -> Network:
    """Parse ``dlib_face_recognition_resnet_model_v1.dat``; ``DlibFormatError`` if it is not ``NETWORK``."""
    reader = _Reader(path.read_bytes())
    reader.expect_int(1, "add_loss_layer version")
    reader.version("loss_metric_2")
    margin, distance_threshold = reader.real(), reader.real()
    versions = []
    for position, layer in enumerate(reversed(NETWORK)):  # outermost first
        version = reader.integer()
        innermost = position == len(NETWORK) - 1
        known = (1,) if layer.kind in ("tag", "skip") else (2, 3) if innermost else (1, 2)
        if version not in known:
            raise DlibFormatError(f"{layer.kind} layer version {version}, expected one of {known}")
        versions.append(version)
    reader.version("input_rgb_image_sized")
    network = Network(
        mean_rgb=(reader.real(), reader.real(), reader.real()),
        margin=margin,
        distance_threshold=distance_threshold,
    )
    reader.expect_int(CHIP_SIZE, "input rows")
    reader.expect_int(CHIP_SIZE, "input columns")
    for index, (layer, version) in enumerate(zip(NETWORK, reversed(versions), strict=True)):
        if layer.kind in ("tag", "skip"):
            network.layers.append(LoadedLayer(layer))
            continue
        network.layers.append(_details(reader, layer))
        for _ in range(3):  # setup called, gradient stale, output getters disabled
            reader.boolean()
        reader.tensor()  # x_grad
        reader.tensor()  # cached_output
        if index == 0:
            reader.tensor()  # grad_final
            if version >= 3:
                reader.integer()  # sample expansion factor
        elif version == 2:
            reader.tensor()  # params_grad
    if reader.pos != len(reader.data):
        raise DlibFormatError(f"{len(reader.data) - reader.pos} bytes left after the network")
    return network
