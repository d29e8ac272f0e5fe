"""Convert dlib's face-recognition ResNet into an ONNX model, checked against dlib (install time).

``convert(target)`` reads ``dlib_face_recognition_resnet_model_v1.dat`` from the installed
``face_recognition_models`` package (``dlib_resnet_weights.read_network``), builds the same network
as an ONNX graph, runs it on the verification chips with ONNX Runtime and compares every
descriptor with dlib's own ``compute_face_descriptor`` on the same chips. It writes
``<target>/dlib_face_recognition_resnet_model_v1.onnx`` only if the largest absolute difference of
any descriptor component is at most ``TOLERANCE``; otherwise it raises and writes nothing.

The graph (opset 17): input ``chips``, ``(N, 150, 150, 3)`` uint8 RGB face chips as
``dlib.get_face_chip`` cuts them; ``(chip - mean_rgb) / 256`` as dlib's input layer computes it;
each ``con`` + ``affine`` pair folded into one ``Conv`` (weights × gamma, bias × gamma + beta,
computed in float64); dlib's zero-padding ``add_prev`` as ``Pad`` + ``Add``; output
``descriptors``, ``(N, 128)`` float32.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import dlib
import numpy as np
import onnx
import onnxruntime
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

from .dlib_pack import model_file
from .dlib_resnet_weights import CHIP_SIZE, LoadedLayer, Network, read_network
from .resnet_onnx import MODEL

SOURCE = "dlib_face_recognition_resnet_model_v1.dat"
CONVERTER_VERSION = "1"
TOLERANCE = 1e-5
"""Largest allowed absolute difference between an ONNX and a dlib descriptor component (the
components are about ±0.3; descriptors of one person lie about 0.3–0.55 apart)."""

VERIFICATION_CHIP = Path(__file__).parent / "data" / "eileen_collins_chip.png"
"""A 150×150 chip (``dlib.get_face_chip``) of ``astronaut.png`` from scikit-image's data set,
Eileen Collins, a NASA photograph in the public domain."""


class ConversionError(RuntimeError):
    """The converted model does not reproduce dlib's descriptors within ``TOLERANCE``."""


def verification_chips() -> np.ndarray:
    """``(4, 150, 150, 3)`` uint8: the real chip, its mirror image, a darker copy and seeded noise."""
    chip = np.asarray(Image.open(VERIFICATION_CHIP).convert("RGB"))
    noise = np.random.default_rng(20240601).integers(0, 256, chip.shape, dtype=np.uint8)
    return np.stack([chip, chip[:, ::-1], (chip * 0.5).astype(np.uint8), noise])


def _fold(layers: list[LoadedLayer]) -> list[LoadedLayer]:
    """Each ``con`` followed by ``affine`` as one ``con`` with ``w·gamma`` and ``b·gamma + beta``."""
    folded: list[LoadedLayer] = []
    for loaded in layers:
        if loaded.layer.kind == "affine":
            con = folded[-1]
            if con.layer.kind != "con":
                raise ConversionError("an affine layer that does not follow a convolution")
            gamma, beta = loaded.weights.astype(np.float64), loaded.bias.astype(np.float64)
            weights = con.weights.astype(np.float64) * gamma[:, None, None, None]
            bias = con.bias.astype(np.float64) * gamma + beta
            folded[-1] = LoadedLayer(con.layer, weights.astype(np.float32), bias.astype(np.float32), con.padding)
        else:
            folded.append(loaded)
    return folded


class _Graph:
    """Accumulates nodes and initializers; ``shape`` is the current ``(channels, rows, cols)``."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.count = 0

    def constant(self, name: str, value: np.ndarray) -> str:
        self.initializers.append(numpy_helper.from_array(value, name))
        return name

    def node(self, op: str, inputs: list[str], **attributes: object) -> str:
        self.count += 1
        output = f"{op.lower()}{self.count}"
        self.nodes.append(helper.make_node(op, inputs, [output], name=output, **attributes))
        return output


def _pooled(size: int, window: int, stride: int, padding: int) -> int:
    return 1 + (size + 2 * padding - window) // stride


def _zero_pad(graph: _Graph, value: str, shape: tuple[int, ...], target: tuple[int, ...]) -> str:
    """``value`` zero-padded at the end of each ``(channels, rows, cols)`` axis up to ``target``."""
    if shape == target:
        return value
    ends = [0, *(t - s for s, t in zip(shape, target, strict=True))]
    pads = graph.constant(f"pads{graph.count}", np.array([0, 0, 0, 0, *ends], dtype=np.int64))
    return graph.node("Pad", [value, pads])


def build_model(network: Network) -> onnx.ModelProto:
    """The ONNX model of ``network`` (see the module docstring for its inputs and outputs)."""
    graph = _Graph()
    mean = graph.constant("mean_rgb", np.array(network.mean_rgb, dtype=np.float32).reshape(1, 1, 1, 3))
    scale = graph.constant("scale", np.array(1 / 256, dtype=np.float32))
    pixels = graph.node("Cast", ["chips"], to=TensorProto.FLOAT)
    value = graph.node("Transpose", [graph.node("Mul", [graph.node("Sub", [pixels, mean]), scale])], perm=[0, 3, 1, 2])
    shape: tuple[int, ...] = (3, CHIP_SIZE, CHIP_SIZE)
    tags: dict[int, tuple[str, tuple[int, ...]]] = {}
    for loaded in _fold(network.layers):
        layer, (pad_y, pad_x) = loaded.layer, loaded.padding
        if layer.kind == "con":
            weights = graph.constant(f"w{graph.count}", loaded.weights)
            bias = graph.constant(f"b{graph.count}", loaded.bias)
            value = graph.node(
                "Conv",
                [value, weights, bias],
                kernel_shape=[layer.size, layer.size],
                strides=[layer.stride, layer.stride],
                pads=[pad_y, pad_x, pad_y, pad_x],
            )
            shape = (
                layer.filters,
                _pooled(shape[1], layer.size, layer.stride, pad_y),
                _pooled(shape[2], layer.size, layer.stride, pad_x),
            )
        elif layer.kind == "relu":
            value = graph.node("Relu", [value])
        elif layer.kind == "avg_pool" and layer.size == 0:
            value, shape = graph.node("GlobalAveragePool", [value]), (shape[0], 1, 1)
        elif layer.kind in ("max_pool", "avg_pool"):
            if layer.kind == "avg_pool" and (pad_y, pad_x) != (0, 0):
                raise ConversionError("average pooling with padding is not supported")
            op = "MaxPool" if layer.kind == "max_pool" else "AveragePool"
            value = graph.node(
                op,
                [value],
                kernel_shape=[layer.size, layer.size],
                strides=[layer.stride, layer.stride],
                pads=[pad_y, pad_x, pad_y, pad_x],
            )
            shape = (
                shape[0],
                _pooled(shape[1], layer.size, layer.stride, pad_y),
                _pooled(shape[2], layer.size, layer.stride, pad_x),
            )
        elif layer.kind == "tag":
            tags[layer.tag_id] = (value, shape)
        elif layer.kind == "skip":
            value, shape = tags[layer.tag_id]
        elif layer.kind == "add_prev":
            other, other_shape = tags[layer.tag_id]
            target = tuple(max(a, b) for a, b in zip(shape, other_shape, strict=True))
            value = graph.node(
                "Add", [_zero_pad(graph, value, shape, target), _zero_pad(graph, other, other_shape, target)]
            )
            shape = target
        elif layer.kind == "fc":
            weights = graph.constant("fc", loaded.weights)
            value = graph.node("MatMul", [graph.node("Flatten", [value], axis=1), weights])
        else:
            raise ConversionError(f"no ONNX translation for {layer.kind}")
    graph.nodes.append(helper.make_node("Identity", [value], ["descriptors"], name="descriptors"))
    onnx_graph = helper.make_graph(
        graph.nodes,
        "dlib_face_recognition_resnet_model_v1",
        [helper.make_tensor_value_info("chips", TensorProto.UINT8, ["N", CHIP_SIZE, CHIP_SIZE, 3])],
        [helper.make_tensor_value_info("descriptors", TensorProto.FLOAT, ["N", 128])],
        graph.initializers,
    )
    model = helper.make_model(onnx_graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    model.producer_name = "rekollect"
    onnx.checker.check_model(model)
    return model


def max_difference(model: onnx.ModelProto, chips: np.ndarray) -> float:
    """Largest ``|onnx - dlib|`` over every component of the descriptors of ``(N, 150, 150, 3)`` chips."""
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    ours = session.run(["descriptors"], {"chips": chips})[0]
    encoder = dlib.face_recognition_model_v1(str(model_file(SOURCE)))
    theirs = np.array(encoder.compute_face_descriptor(list(chips)), dtype=np.float64)
    return float(np.abs(ours - theirs).max())


def _metadata(model: onnx.ModelProto) -> dict[str, str]:
    return {prop.key: prop.value for prop in model.metadata_props}


def _source_sha256() -> str:
    return hashlib.sha256(model_file(SOURCE).read_bytes()).hexdigest()


def is_current(path: Path) -> bool:
    """Whether ``path`` is a model this converter version made from the installed weights."""
    if not path.is_file():
        return False
    metadata = _metadata(onnx.load(str(path), load_external_data=False))
    return metadata.get("source_sha256") == _source_sha256() and metadata.get("converter_version") == CONVERTER_VERSION


def convert(target: Path) -> Path:
    """Write ``<target>/<MODEL>`` (kept if already current); ``ConversionError`` if it disagrees with dlib."""
    path = target / MODEL
    if is_current(path):
        return path
    model = build_model(read_network(model_file(SOURCE)))
    difference = max_difference(model, verification_chips())
    if not difference <= TOLERANCE:
        raise ConversionError(f"ONNX and dlib descriptors differ by up to {difference:.2e} (tolerance {TOLERANCE:.0e})")
    helper.set_model_props(
        model,
        {
            "source": SOURCE,
            "source_sha256": _source_sha256(),
            "converter_version": CONVERTER_VERSION,
            "max_abs_difference": f"{difference:.3e}",
        },
    )
    target.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".onnx.partial")
    onnx.save(model, str(partial))
    partial.replace(path)
    return path
