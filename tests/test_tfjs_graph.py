"""The NumPy TF.js interpreter's convolutions against direct loops, and the shipped graphs' outputs."""

from __future__ import annotations

import numpy as np
import pytest

from rekollect.vision.attributes import tfjs_graph
from rekollect.vision.attributes.model_files import model_path


def _reference_conv(x: np.ndarray, kernel: np.ndarray, stride: int, padding: str, depthwise: bool) -> np.ndarray:
    """Direct sliding-window convolution with TensorFlow's padding rule."""
    kh, kw = kernel.shape[:2]
    x = tfjs_graph._pad(x, (kh, kw), stride, padding)
    oh, ow = (x.shape[1] - kh) // stride + 1, (x.shape[2] - kw) // stride + 1
    outputs = x.shape[3] if depthwise else kernel.shape[3]
    out = np.zeros((x.shape[0], oh, ow, outputs))
    for i in range(oh):
        for j in range(ow):
            patch = x[:, i * stride : i * stride + kh, j * stride : j * stride + kw, :]
            if depthwise:
                out[:, i, j, :] = (patch * kernel[:, :, :, 0]).sum(axis=(1, 2))
            else:
                out[:, i, j, :] = np.tensordot(patch, kernel, axes=([1, 2, 3], [0, 1, 2]))
    return out


@pytest.mark.parametrize(("size", "stride", "padding"), [(9, 1, "SAME"), (10, 2, "SAME"), (9, 2, "VALID")])
def test_convolutions_match_direct_loops(size, stride, padding):
    rng = np.random.default_rng(7)
    x = rng.normal(size=(1, size, size, 4)).astype(np.float32)
    kernel = rng.normal(size=(3, 3, 4, 5)).astype(np.float32)
    depthwise_kernel = rng.normal(size=(3, 3, 4, 1)).astype(np.float32)
    np.testing.assert_allclose(
        tfjs_graph._conv2d(x, kernel, stride, padding), _reference_conv(x, kernel, stride, padding, False), atol=1e-4
    )
    np.testing.assert_allclose(
        tfjs_graph._depthwise(x, depthwise_kernel, stride, padding),
        _reference_conv(x, depthwise_kernel, stride, padding, True),
        atol=1e-4,
    )


def test_shipped_graphs_give_distributions():
    faceres = tfjs_graph.GraphModel(model_path("faceres.json"))
    gender, ages = faceres.run(np.zeros((1, 224, 224, 3), np.float32), ["gender_pred/Sigmoid", "age_pred/Softmax"])
    assert gender.shape == (1, 1) and 0 <= gender[0, 0] <= 1
    assert ages.shape == (1, 100) and ages.sum() == pytest.approx(1, abs=1e-4)
    emotion = tfjs_graph.GraphModel(model_path("emotion.json"))
    (scores,) = emotion.run(np.zeros((1, 64, 64, 1), np.float32), ["Identity"])
    assert scores.shape == (1, 7) and scores.sum() == pytest.approx(1, abs=1e-4)
