"""What the ONNX test files share: export a graph to a file and check it with the full ONNX
checker, and run a model in onnxruntime on one thread.

Import it after ``pytest.importorskip("onnx")`` / ``("onnxruntime")``, so a machine without
the extra skips instead of failing to collect.
"""

from __future__ import annotations

import pathlib

import numpy as np
import onnx
import onnxruntime as ort

import mxlite as mx


def export_checked(path: pathlib.Path, sym, params, **kw) -> onnx.ModelProto:
    """``mx.onnx.export_model(sym, params, onnx_file_path=path, **kw)``, loaded back and
    passed through ``onnx.checker.check_model(full_check=True)``."""
    out = mx.onnx.export_model(sym, params, onnx_file_path=str(path), **kw)
    assert out == str(path)
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    return model


def session(model: onnx.ModelProto) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    opts.intra_op_num_threads = 1  # the test machine's cores are shared
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(model.SerializeToString(), opts,
                                providers=["CPUExecutionProvider"])


def run(model: onnx.ModelProto, feeds: dict) -> list[np.ndarray]:
    return session(model).run(None, feeds)
