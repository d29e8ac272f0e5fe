"""dlib's face-recognition ResNet run by ONNX Runtime (the model ``resnet_convert`` installs)."""

from __future__ import annotations

import numpy as np
import onnxruntime

from ..cores import available_cores
from .attributes.model_files import model_path

MODEL = "dlib_face_recognition_resnet_model_v1.onnx"
"""File name of the converted model in ``models_dir()``."""


class ResNetOnnx:
    """Face chips to 128-d descriptors, equal to dlib's ``compute_face_descriptor`` within
    ``resnet_convert.TOLERANCE``.

    ``threads`` is ONNX Runtime's intra-op thread count (default ``available_cores()``); one
    inter-op thread. Idle pool threads do not spin: on a machine whose cores are shared (with
    detection in other requests, other worker processes), spinning threads took the cores the
    run itself needed (1 face, 2 threads on 2 busy cores: 17 ms spinning, 9 ms not).
    ``RuntimeError`` naming the install command if the model file is missing. The session is safe
    to call from several threads at once and releases the GIL while it runs.
    """

    def __init__(self, threads: int | None = None) -> None:
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or available_cores()
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.threads = options.intra_op_num_threads
        self._session = onnxruntime.InferenceSession(
            str(model_path(MODEL)), sess_options=options, providers=["CPUExecutionProvider"]
        )

    def __call__(self, chips: np.ndarray) -> np.ndarray:
        """``(N, 150, 150, 3)`` uint8 RGB chips (``dlib.get_face_chip``) to ``(N, 128)`` float32, one run."""
        if len(chips) == 0:
            return np.zeros((0, 128), dtype=np.float32)
        return self._session.run(["descriptors"], {"chips": np.ascontiguousarray(chips, dtype=np.uint8)})[0]
