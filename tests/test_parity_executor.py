"""Whole networks through the executor against MXNet 1.9.1's recorded results.

- ``module/cnn-*``: a small CNN (Convolution, BatchNorm, Activation, Pooling, LeakyReLU,
  Flatten, Dropout, FullyConnected, SoftmaxOutput) from MXNet's Module: inference output,
  training output of the same graph with Dropout p=0, every gradient after ``backward()`` and
  the BatchNorm moving statistics after the training forward (tests/data/expectations.json
  ``module.cnn``).
- ``models/mobilenet0.25``: a Gluon model-zoo export with its params file
  (``models.mobilenet0.25``), through ``load_checkpoint`` + ``simple_bind``.
- ``models/<zoo name>``: the smallest variant of each model-zoo family, exported by
  tests/fixtures/gen_models.py with parameters made from a seed (see that script).
"""

from __future__ import annotations

import importlib.util
import json
import pathlib

import numpy as np
import pytest
from conftest import DATA

import mxlite as mx
from mxlite.model import load_checkpoint

EXPECT = json.loads((DATA / "expectations.json").read_text())
FIXTURES = pathlib.Path(__file__).parent / "fixtures"


def _gen_models():
    spec = importlib.util.spec_from_file_location("gen_models", FIXTURES / "gen_models.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# ----------------------------------------------------------------------------------------
# The Module CNN.


@pytest.fixture(scope="module")
def cnn():
    assert EXPECT["module"]["cnn"]["symbol"] == "module/cnn-symbol.json"
    sym, args, aux = load_checkpoint(str(DATA / "module" / "cnn"), 0)
    io = np.load(DATA / "module" / "cnn_io.npz")
    return sym, args, aux, io


def _bind_cnn(sym, args, aux, io, grad_req="null"):
    exe = sym.simple_bind(mx.cpu(), grad_req=grad_req, data=io["data"].shape,
                          softmax_label=io["label"].shape)
    exe.copy_params_from(args, aux)
    return exe


def test_cnn_inference_matches_mxnet(cnn):
    sym, args, aux, io = cnn
    exe = _bind_cnn(sym, args, aux, io)
    out = exe.forward(is_train=False, data=io["data"], softmax_label=io["label"])
    np.testing.assert_allclose(out[0].asnumpy(), io["out_inference"], rtol=1e-4, atol=1e-5)
    # Inference leaves the moving statistics alone.
    for name, a in exe.aux_dict.items():
        np.testing.assert_array_equal(a.asnumpy(), aux[name].asnumpy())


def _no_dropout(sym):
    doc = json.loads(sym.tojson())
    for node in doc["nodes"]:
        if node["op"] == "Dropout":
            node["attrs"]["p"] = "0"
    return mx.sym.load_json(json.dumps(doc))


def test_cnn_training_forward_backward_match_mxnet(cnn):
    sym, args, aux, io = cnn
    exe = _bind_cnn(_no_dropout(sym), args, aux, io, grad_req="write")
    out = exe.forward(is_train=True, data=io["data"], softmax_label=io["label"])
    np.testing.assert_allclose(out[0].asnumpy(), io["out_train_nodropout"], rtol=1e-4,
                               atol=1e-5)
    # As in MXNet, the moving statistics move in backward, not in the training forward.
    for name in ("bn1_moving_mean", "bn1_moving_var"):
        np.testing.assert_array_equal(exe.aux_dict[name].asnumpy(), aux[name].asnumpy())
    exe.backward()  # SoftmaxOutput is a loss layer: no head gradient needed
    for name in ("bn1_moving_mean", "bn1_moving_var"):
        np.testing.assert_allclose(exe.aux_dict[name].asnumpy(), io[f"aux_after_{name}"],
                                   rtol=1e-4, atol=1e-5, err_msg=name)
    grads = [k[len("grad_"):] for k in io.files if k.startswith("grad_")]
    assert sorted(grads) == sorted(n for n in sym.list_arguments() if n != "softmax_label")
    for name in grads:
        np.testing.assert_allclose(exe.grad_dict[name].asnumpy(), io[f"grad_{name}"],
                                   rtol=1e-3, atol=1e-5, err_msg=name)


def test_cnn_inference_after_training_uses_updated_statistics(cnn):
    sym, args, aux, io = cnn
    exe = _bind_cnn(_no_dropout(sym), args, aux, io, grad_req="write")
    exe.forward(is_train=True, data=io["data"], softmax_label=io["label"])
    exe.backward()
    moved = {k: v.asnumpy().copy() for k, v in exe.aux_dict.items()}
    first = exe.forward(is_train=False)[0].asnumpy().copy()
    # The same weights with the moved statistics bound afresh give the same inference output.
    exe2 = _bind_cnn(sym, args, {k: mx.nd.array(v) for k, v in moved.items()}, io)
    again = exe2.forward(is_train=False, data=io["data"])[0].asnumpy()
    np.testing.assert_allclose(first, again, rtol=1e-6, atol=1e-7)
    assert not np.allclose(first, io["out_inference"], rtol=1e-4, atol=1e-5)


# ----------------------------------------------------------------------------------------
# Model-zoo exports.


def test_mobilenet_checkpoint_matches_mxnet():
    info = EXPECT["models"]["mobilenet0.25"]
    sym, args, aux = load_checkpoint(str(DATA / "models" / "mobilenet0.25"), 0)
    io = np.load(DATA / "models" / "mobilenet0.25_io.npz")
    exe = sym.simple_bind(mx.cpu(), grad_req="null", **{info["input_name"]: io["data"].shape})
    exe.copy_params_from(args, aux)
    out = exe.forward(is_train=False, data=io["data"])[0].asnumpy()
    np.testing.assert_allclose(out, io["out"], rtol=1e-3, atol=1e-4)


ZOO = json.loads((DATA / "models" / "zoo.json").read_text())


@pytest.mark.parametrize("stem", list(ZOO["models"]))
def test_model_zoo_export_matches_mxnet(stem):
    info = ZOO["models"][stem]
    gen = _gen_models()
    sym = mx.sym.load(str(DATA / "models" / f"{stem}-symbol.json"))
    shape = tuple(info["input_shape"])
    exe = sym.simple_bind(mx.cpu(), grad_req="null", data=shape)
    names = [n for n in sym.list_arguments() if n != "data"] + sym.list_auxiliary_states()
    table = {**exe.arg_dict, **exe.aux_dict}
    params = gen.make_params(names, [table[n].shape for n in names], ZOO["seed"])
    assert len(params) == info["params"]
    assert sum(float(v.sum(dtype=np.float64)) for v in params.values()) == pytest.approx(
        info["param_sum"], rel=1e-9)
    data = gen.make_input(shape)
    assert float(data.sum(dtype=np.float64)) == pytest.approx(info["data_sum"], rel=1e-9)
    exe.copy_params_from({n: v for n, v in params.items() if n in exe.arg_dict},
                         {n: v for n, v in params.items() if n in exe.aux_dict})
    out = exe.forward(is_train=False, data=data)[0].asnumpy()
    want = np.load(DATA / "models" / f"{stem}_io.npz")["out"]
    assert out.shape == tuple(info["output_shape"])
    np.testing.assert_allclose(out, want, rtol=1e-3, atol=1e-4)
