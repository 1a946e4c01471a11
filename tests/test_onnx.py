"""ONNX export and import against mxlite's own executor, run in onnxruntime.

Every graph in tests/data and one model-zoo architecture per family: exported at batch 1 and
with a dynamic batch axis, checked with ``onnx.checker.check_model(full_check=True)``, run in
onnxruntime (outputs within 1e-4 relative of mxlite's executor) and imported back (the
Symbol's outputs match). Single-operator graphs cover each converter's modes. The whole model
zoo runs when MXLITE_SLOW=1.
"""

from __future__ import annotations

import json
import os
import pathlib

import numpy as np
import pytest

import mxlite as mx
from mxlite.base import MXNetError

onnx = pytest.importorskip("onnx", reason="ONNX export needs the onnx package (mxlite[onnx])")
ort = pytest.importorskip("onnxruntime",
                          reason="the parity tests run models in onnxruntime (mxlite[onnx])")

from onnx_check import export_checked, session  # noqa: E402  (after the skips)

DATA = pathlib.Path(__file__).parent / "data"
RTOL = 1e-4
SLOW = bool(os.environ.get("MXLITE_SLOW"))


# ----------------------------------------------------------------------------------------
# Helpers.


def _rand_params(sym, shapes: dict, rng, types: dict | None = None) -> dict:
    arg_shapes, _, aux_shapes = sym.infer_shape(**shapes)
    params = {}
    for n, s in zip(sym.list_arguments(), arg_shapes):
        if n in shapes or n.endswith("_label"):
            continue
        params[n] = mx.nd.array(rng.normal(0, 0.3, s).astype(np.float32))
    for n, s in zip(sym.list_auxiliary_states(), aux_shapes):
        v = rng.uniform(0.5, 1.5, s) if n.endswith("var") else rng.normal(0, 0.3, s)
        params[n] = mx.nd.array(v.astype(np.float32))
    return params


def _run_mx(sym, params: dict, feeds: dict) -> list[np.ndarray]:
    arg_names = set(sym.list_arguments())
    # An input only read for its shape is a constant of the ONNX graph: its import lacks it.
    feeds = {k: v for k, v in feeds.items() if k in arg_names}
    args = {k: mx.nd.array(v, dtype=v.dtype) for k, v in feeds.items()}
    shapes = {k: v.shape for k, v in feeds.items()}
    arg_shapes, _, _ = sym.infer_shape_partial(**shapes)
    for n, s in zip(sym.list_arguments(), arg_shapes):
        if n not in args and n not in params:  # a label the forward pass ignores
            args[n] = mx.nd.zeros(s)
    args.update({k: v for k, v in params.items() if k in arg_names})
    aux = {k: v for k, v in params.items() if k in set(sym.list_auxiliary_states())}
    exe = sym.bind(mx.cpu(), args, aux_states=aux, grad_req="null")
    return [o.asnumpy() for o in exe.forward(is_train=False)]


def _within(got: np.ndarray, want: np.ndarray, rtol: float = RTOL) -> bool:
    """Same shape, and the largest difference within ``rtol`` of the reference's scale."""
    if got.shape != want.shape:
        return False
    scale = max(float(np.max(np.abs(want))), 1e-6) if want.size else 1.0
    return not want.size or float(np.max(np.abs(got.astype(np.float64) - want))) <= rtol * scale


def _problem(got: np.ndarray, want: np.ndarray, rtol: float = RTOL) -> str:
    """How ``got`` differs from ``want`` (shape, or values beyond :func:`_within`); empty when
    they agree."""
    if got.shape != want.shape:
        return f"shape {got.shape}, expected {want.shape}"
    if not _within(got, want, rtol):
        return f"max abs error {np.max(np.abs(got - want))}"
    return ""


def _export(tmp_path, sym, params, shapes: list, dynamic: bool = False, **kw):
    dyn = [(None, *s[1:]) for s in shapes] if dynamic else None
    path = tmp_path / ("dyn.onnx" if dynamic else "static.onnx")
    return export_checked(path, sym, params, in_shapes=shapes, dynamic=dynamic,
                          dynamic_input_shapes=dyn, **kw)


def _parity(tmp_path, sym, params, feeds: dict, batch_dyn: int = 3, roundtrip: bool = True,
            rtol: float = RTOL, int_inputs: dict | None = None, **kw) -> list[str]:
    """Export at the feeds' shapes and with a dynamic batch axis; run both in onnxruntime
    against the executor; import the static model back and run it in the executor. Returns
    what disagrees (empty when everything does)."""
    names = list(feeds)
    shapes = [feeds[n].shape for n in names]
    types = [feeds[n].dtype for n in names]
    model = _export(tmp_path, sym, params, shapes, in_types=types, **kw)
    want = _run_mx(sym, params, feeds)
    got = session(model).run(None, feeds)
    if len(got) != len(want):
        return [f"{len(got)} outputs, expected {len(want)}"]
    problems = [f"static output {i}: {p}" for i, (g, w) in enumerate(zip(got, want))
                if (p := _problem(g, w, rtol))]
    if batch_dyn:
        rng = np.random.default_rng(7)
        big = {}
        for n, v in feeds.items():
            s = (batch_dyn, *v.shape[1:])
            if int_inputs and n in int_inputs:
                big[n] = rng.integers(0, int_inputs[n], s).astype(v.dtype)
            else:
                big[n] = rng.normal(0, 1, s).astype(v.dtype)
        dmodel = _export(tmp_path, sym, params, shapes, dynamic=True, in_types=types, **kw)
        dim = dmodel.graph.input[0].type.tensor_type.shape.dim[0]
        if not (dim.dim_param and not dim.dim_value):
            problems.append("the exported batch axis is not dynamic")
        want_d = _run_mx(sym, params, big)
        problems += [f"dynamic output {i}: {p}" for i, (g, w) in
                     enumerate(zip(session(dmodel).run(None, big), want_d))
                     if (p := _problem(g, w, rtol))]
    if roundtrip:
        sym2, args2, aux2 = mx.onnx.import_model(str(tmp_path / "static.onnx"))
        problems += [f"imported output {i}: {p}" for i, (g, w) in
                     enumerate(zip(_run_mx(sym2, {**args2, **aux2}, feeds), want))
                     if (p := _problem(g, w, rtol))]
    return problems


# ----------------------------------------------------------------------------------------
# Every graph in tests/data.

_EXPECT = json.loads((DATA / "ops/expected_shapes.json").read_text())
# Inputs that hold indices (Embedding's data), with their range.
_INT_INPUTS = {"attention_like": {"data": 50}, "embed": {"tokens": 50}}
_DATA_GRAPHS = [
    ("ops/" + n, DATA / f"ops/{n}-symbol.json", None, _EXPECT[n]["given"])
    for n in sorted(_EXPECT)
] + [
    ("models/mobilenet0.25", DATA / "models/mobilenet0.25-symbol.json",
     DATA / "models/mobilenet0.25-0000.params", {"data": [1, 3, 64, 64]}),
    ("module/cnn", DATA / "module/cnn-symbol.json", DATA / "module/cnn-0000.params", None),
    ("module/mx_mlp", DATA / "module/mx_mlp-symbol.json", DATA / "module/mx_mlp-0003.params",
     None),
    ("ops/rnn/bilstm", DATA / "ops/rnn/bilstm-symbol.json", DATA / "ops/rnn/bilstm-0000.params",
     {"data0": [3, 7, 5]}),
] + [
    ("viz/" + n, DATA / f"viz/{n}-symbol.json", None, shapes)
    for n, shapes in sorted(json.loads((DATA / "viz/cases.json").read_text()).items())
]
# Graphs whose ONNX form (an LSTM node) the importer does not map back.
_DATA_NO_IMPORT = {"ops/rnn/bilstm"}
# Graphs whose inputs do not share a leading batch axis (the LSTM's states are (L*D, N, H));
# the RNN tests below cover a dynamic batch.
_TIME_MAJOR = {"ops/rnn/bilstm"}
_ZOO_SHAPES = json.loads((DATA / "models/zoo.json").read_text())["models"]
_DATA_GRAPHS += [("models/" + n, DATA / f"models/{n}-symbol.json", None,
                  {"data": _ZOO_SHAPES[n]["input_shape"]})
                 for n in sorted(_ZOO_SHAPES) if n not in ("densenet121", "inceptionv3")
                 or SLOW]


def _io_shapes(case_id: str) -> dict:
    name = case_id.split("/")[1]
    io = np.load(DATA / f"module/{'io' if name == 'mx_mlp' else name + '_io'}.npz")
    key = "data" if "data" in io.files else sorted(io.files)[0]
    return {"data": list(io[key].shape)}


@pytest.mark.parametrize("case", _DATA_GRAPHS, ids=[c[0] for c in _DATA_GRAPHS])
def test_data_graph_parity(tmp_path, case):
    case_id, sym_path, params_path, given = case
    sym = mx.sym.load(str(sym_path))
    if given is None:
        given = _io_shapes(case_id)
    rng = np.random.default_rng(0)
    name = case_id.split("/")[-1]
    ints = _INT_INPUTS.get(name, {})
    shapes = {k: tuple(v) for k, v in given.items()}
    data_shapes = {k: (1, *v[1:]) for k, v in shapes.items()}
    # Inputs the given ones decide in a loaded model (an RNN's initial states) are data
    # inputs too.
    data_shapes_extra = set()
    if params_path is not None:
        for n, shp in zip(sym.list_arguments(), sym.infer_shape_partial(**data_shapes)[0]):
            if n not in data_shapes and n.startswith("data") and shp:
                data_shapes[n] = tuple(shp)
                data_shapes_extra.add(n)
    if params_path is not None:
        loaded = mx.nd.load(str(params_path))
        params = {k.split(":", 1)[-1]: v for k, v in loaded.items()}
    else:
        params = _rand_params(sym, shapes, rng)
    feeds = {}
    for k, s in data_shapes.items():
        if k in params:
            continue
        if k in ints:
            feeds[k] = rng.integers(0, ints[k], s).astype(np.float32)
        else:
            feeds[k] = rng.normal(0, 1, s).astype(np.float32)
    # A graph whose non-data inputs are not batched (multi_output's bias) is exported with
    # those as parameters.
    for k in list(feeds):
        if "data" in feeds and k != "data" and k not in data_shapes_extra:
            params[k] = mx.nd.array(rng.normal(0, 1, shapes[k]).astype(np.float32))
            del feeds[k]
    assert _parity(tmp_path, sym, params, feeds, int_inputs=ints,
                   roundtrip=case_id not in _DATA_NO_IMPORT,
                   batch_dyn=0 if case_id in _TIME_MAJOR else 3) == []
    if case_id in _DATA_NO_IMPORT:
        with pytest.raises(MXNetError, match="no MXNet mapping"):
            mx.onnx.import_model(str(tmp_path / "static.onnx"))


@pytest.mark.parametrize("name, run", [
    ("foreach", "foreach/run"), ("foreach_multi", "foreach_multi/run"),
    ("while_loop", "while_loop/run"), ("cond", "cond/then"), ("cond", "cond/else"),
])
def test_control_flow_graphs(tmp_path, name, run):
    """_foreach, _while_loop and _cond as ONNX Scan, Loop and If, against mxlite and the
    outputs MXNet 1.9.1 recorded for the same inputs."""
    data = np.load(DATA / "ops/control/data.npz")
    sym = mx.sym.load(str(DATA / f"ops/control/{name}-symbol.json"))
    names = sym.list_inputs()
    feeds = {n: data[f"{run}/in/{n}"].astype(np.float32) for n in names}
    model = _export(tmp_path, sym, {}, [feeds[n].shape for n in names])
    got = session(model).run(None, feeds)
    want = _run_mx(sym, {}, feeds)
    assert len(got) == len(want)
    for i, (g, w) in enumerate(zip(got, want)):
        assert not _problem(g, w)
        assert not _problem(g, data[f"{run}/out/{i}"])


def test_custom_op_has_no_converter(tmp_path):
    # A Custom operator runs Python code: the file names one no process ever registered
    # (other tests register the fixture's own operators in this process).
    text = (DATA / "ops/control/custom-symbol.json").read_text()
    for name in ("scaled_sq", "cube"):
        text = text.replace(f'"op_type": "{name}"', '"op_type": "onnx_test_never_registered"')
    (tmp_path / "custom-symbol.json").write_text(text)
    with pytest.raises(MXNetError, match="not a registered custom operator"):
        mx.onnx.export_model(str(tmp_path / "custom-symbol.json"), {},
                             [(4, 3), (5, 3), (5,), (5,)],
                             onnx_file_path=str(tmp_path / "c.onnx"))


def test_params_file_names_and_arg_aux_list(tmp_path):
    sym_path = DATA / "models/mobilenet0.25-symbol.json"
    params_path = DATA / "models/mobilenet0.25-0000.params"
    io = np.load(DATA / "models/mobilenet0.25_io.npz")
    out = mx.onnx.export_model(str(sym_path), str(params_path), [io["data"].shape],
                               onnx_file_path=str(tmp_path / "m.onnx"))
    got = session(onnx.load(out)).run(None, {"data": io["data"]})[0]
    assert not _problem(got, io["out"])  # MXNet 1.9.1's own output for this input
    sym, arg, aux = mx.model.load_checkpoint(str(DATA / "models/mobilenet0.25"), 0)
    out2 = mx.contrib.onnx.export_model(sym, [arg, aux], [io["data"].shape], np.float32,
                                        str(tmp_path / "m2.onnx"))
    got2 = session(onnx.load(out2)).run(None, {"data": io["data"]})[0]
    np.testing.assert_array_equal(got2, got)
    meta = mx.onnx.get_model_metadata(out)
    assert meta["input_tensor_data"] == [("data", (1, 3, 64, 64))]
    assert [s for _, s in meta["output_tensor_data"]] == [(1, 16)]


# ----------------------------------------------------------------------------------------
# The model zoo.

_FAMILY_REPS = ["alexnet", "densenet121", "inceptionv3", "mobilenet0.25", "mobilenetv2_0.25",
                "resnet18_v1", "resnet18_v2", "squeezenet1.1", "vgg11_bn"]
_ZOO = sorted(p.stem for p in (DATA / "gluon/zoo").glob("*.json") if p.stem != "api")
_ZOO_HEAVY = {"densenet121", "inceptionv3", "alexnet", "vgg11_bn"}


def _zoo_case(tmp_path, name: str, roundtrip: bool) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(what, onnxruntime's or the re-imported symbol's output, mxlite's) for a zoo model:
    batch 1, a dynamic batch of 2 and, with ``roundtrip``, the ONNX import."""
    shape = tuple(json.loads((DATA / f"gluon/zoo/{name}.json").read_text())["input_shape"])
    mx.random.seed(3)
    net = mx.gluon.model_zoo.vision.get_model(name, classes=10)
    net.initialize(mx.init.Xavier())
    x = np.random.default_rng(1).normal(0, 1, shape).astype(np.float32)
    want = net(mx.nd.array(x)).asnumpy()
    model = _export(tmp_path, net, None, [shape])
    pairs = [("batch 1", session(model).run(None, {"data": x})[0], want)]
    dmodel = _export(tmp_path, net, None, [shape], dynamic=True)
    x2 = np.concatenate([x, -x], axis=0)
    got2 = session(dmodel).run(None, {"data": x2})[0]
    pairs.append(("dynamic batch, first row", got2[:1], want))
    if roundtrip:
        pairs.append(("dynamic batch of 2", got2, net(mx.nd.array(x2)).asnumpy()))
        sym, args, aux = mx.onnx.import_model(str(tmp_path / "static.onnx"))
        pairs.append(("imported", _run_mx(sym, {**args, **aux}, {"data": x})[0], want))
    return pairs



@pytest.mark.parametrize("name", _FAMILY_REPS)
def test_zoo_family_parity(tmp_path, name):
    # One forward of the heavy ones takes seconds in numpy: batch 1 and dynamic only.
    roundtrip = name not in _ZOO_HEAVY or SLOW
    for what, got, want in _zoo_case(tmp_path, name, roundtrip):
        assert _within(got, want), what


@pytest.mark.skipif(not SLOW, reason="the full model-zoo sweep runs with MXLITE_SLOW=1")
@pytest.mark.parametrize("name", [n for n in _ZOO if n not in _FAMILY_REPS])
def test_zoo_full_sweep(tmp_path, name):
    for what, got, want in _zoo_case(tmp_path, name, roundtrip=True):
        assert _within(got, want), what


# ----------------------------------------------------------------------------------------
# Single operators: each converter's modes.

S = mx.sym


_VARS: dict = {}


def _v(name="data"):
    """One variable per name within a case (a graph may use it many times)."""
    if name not in _VARS:
        _VARS[name] = S.var(name)
    return _VARS[name]


_OP_CASES = {
    # activations
    "relu": (lambda: S.Activation(_v(), act_type="relu"), {"data": (2, 3, 4)}),
    "softrelu": (lambda: S.Activation(_v(), act_type="softrelu"), {"data": (2, 5)}),
    "softsign": (lambda: S.Activation(_v(), act_type="softsign"), {"data": (2, 5)}),
    "leaky": (lambda: S.LeakyReLU(_v(), act_type="leaky", slope=0.2), {"data": (2, 5)}),
    "elu": (lambda: S.LeakyReLU(_v(), act_type="elu", slope=0.7), {"data": (2, 5)}),
    "selu": (lambda: S.LeakyReLU(_v(), act_type="selu"), {"data": (2, 5)}),
    "gelu": (lambda: S.LeakyReLU(_v(), act_type="gelu"), {"data": (2, 5)}),
    "rrelu": (lambda: S.LeakyReLU(_v(), act_type="rrelu"), {"data": (2, 5)}),
    "prelu": (lambda: S.LeakyReLU(_v(), act_type="prelu", name="pr"), {"data": (2, 3, 4, 4)}),
    "prelu_2d": (lambda: S.LeakyReLU(_v(), act_type="prelu", name="pr"), {"data": (2, 3)}),
    "hard_sigmoid": (lambda: S.hard_sigmoid(_v(), alpha=0.3, beta=0.4), {"data": (2, 5)}),
    "softmax_axis1": (lambda: S.softmax(_v(), axis=1, temperature=2.0), {"data": (2, 3, 4)}),
    "log_softmax": (lambda: S.log_softmax(_v(), axis=-1), {"data": (2, 3, 4)}),
    "softmin": (lambda: S.softmin(_v(), axis=1), {"data": (2, 3)}),
    "softmax_act_channel": (lambda: S.SoftmaxActivation(_v(), mode="channel"),
                            {"data": (2, 3, 2, 2)}),
    "softmax_act_instance": (lambda: S.SoftmaxActivation(_v()), {"data": (2, 3, 2, 2)}),
    "softmax_output": (lambda: S.SoftmaxOutput(_v(), name="softmax"), {"data": (2, 3, 2)}),
    "softmax_output_multi": (lambda: S.SoftmaxOutput(_v(), multi_output=True, name="sm"),
                             {"data": (2, 3, 2)}),
    "logistic_output": (lambda: S.LogisticRegressionOutput(_v(), name="lro"),
                        {"data": (2, 3)}),
    # normalisation
    "bn_fix_gamma": (lambda: S.BatchNorm(_v(), fix_gamma=True, name="bn"),
                     {"data": (2, 3, 4, 4)}),
    "bn_free_gamma": (lambda: S.BatchNorm(_v(), fix_gamma=False, eps=1e-3, name="bn"),
                      {"data": (2, 3, 4, 4)}),
    "bn_axis_last": (lambda: S.BatchNorm(_v(), fix_gamma=False, axis=-1, name="bn"),
                     {"data": (2, 4, 3)}),
    "l2norm_instance": (lambda: S.L2Normalization(_v(), mode="instance"),
                        {"data": (2, 3, 4, 4)}),
    "l2norm_channel": (lambda: S.L2Normalization(_v(), mode="channel"),
                       {"data": (2, 3, 4, 4)}),
    "l2norm_spatial": (lambda: S.L2Normalization(_v(), mode="spatial", eps=1e-5),
                       {"data": (2, 3, 4, 4)}),
    "instance_norm": (lambda: S.InstanceNorm(_v(), name="in"), {"data": (2, 3, 4, 4)}),
    "layer_norm": (lambda: S.LayerNorm(_v(), name="ln"), {"data": (2, 3, 4)}),
    "layer_norm_axis1": (lambda: S.LayerNorm(_v(), axis=1, name="ln"), {"data": (2, 3, 4)}),
    "group_norm": (lambda: S.GroupNorm(_v(), num_groups=2, name="gn"), {"data": (2, 4, 3, 3)}),
    "lrn": (lambda: S.LRN(_v(), nsize=3), {"data": (2, 5, 4, 4)}),
    # convolution, pooling
    "conv_group_dilate": (lambda: S.Convolution(_v(), kernel=(3, 3), num_filter=4,
                                                 num_group=2, dilate=(2, 1), pad=(1, 2),
                                                 stride=(1, 2), name="c"),
                          {"data": (2, 4, 9, 9)}),
    "conv1d": (lambda: S.Convolution(_v(), kernel=(3,), num_filter=2, no_bias=True, name="c"),
               {"data": (2, 3, 7)}),
    "conv_nhwc": (lambda: S.Convolution(_v(), kernel=(3, 3), num_filter=2, layout="NHWC",
                                         name="c"), {"data": (2, 6, 6, 3)}),
    "deconv": (lambda: S.Deconvolution(_v(), kernel=(3, 3), num_filter=4, stride=(2, 2),
                                       pad=(1, 1), adj=(1, 1), name="d"),
               {"data": (2, 3, 5, 5)}),
    "deconv_group_target": (lambda: S.Deconvolution(_v(), kernel=(4, 4), num_filter=4,
                                                     num_group=2, stride=(2, 2),
                                                     target_shape=(9, 9), no_bias=False,
                                                     name="d"),
                            {"data": (2, 4, 5, 5)}),
    "max_valid": (lambda: S.Pooling(_v(), kernel=(3, 3), stride=(2, 2), pool_type="max"),
                  {"data": (2, 3, 8, 8)}),
    "max_full": (lambda: S.Pooling(_v(), kernel=(3, 3), stride=(2, 2), pool_type="max",
                                   pooling_convention="full"), {"data": (2, 3, 8, 8)}),
    "avg_full_pad": (lambda: S.Pooling(_v(), kernel=(3, 3), stride=(2, 2), pad=(1, 1),
                                       pool_type="avg", pooling_convention="full"),
                     {"data": (2, 3, 8, 8)}),
    "avg_exclude_pad": (lambda: S.Pooling(_v(), kernel=(3, 3), stride=(2, 2), pad=(1, 1),
                                          pool_type="avg", count_include_pad=False),
                        {"data": (2, 3, 7, 7)}),
    "avg_same_1d": (lambda: S.Pooling(_v(), kernel=(3,), stride=(2,), pool_type="avg",
                                      pooling_convention="same"), {"data": (2, 3, 8)}),
    "max_same_1d": (lambda: S.Pooling(_v(), kernel=(4,), stride=(3,), pool_type="max",
                                      pooling_convention="same"), {"data": (2, 3, 10)}),
    "sum_pool": (lambda: S.Pooling(_v(), kernel=(2, 2), stride=(2, 2), pad=(1, 1),
                                   pool_type="sum"), {"data": (2, 3, 6, 6)}),
    "lp_pool": (lambda: S.Pooling(_v(), kernel=(2, 2), stride=(1, 1), pool_type="lp",
                                  p_value=2), {"data": (2, 3, 5, 5)}),
    "global_max": (lambda: S.Pooling(_v(), global_pool=True, kernel=(1, 1), pool_type="max"),
                   {"data": (2, 3, 5, 5)}),
    "global_sum": (lambda: S.Pooling(_v(), global_pool=True, kernel=(1, 1), pool_type="sum"),
                   {"data": (2, 3, 5, 5)}),
    "pool3d": (lambda: S.Pooling(_v(), kernel=(2, 2, 2), stride=(2, 2, 2), pool_type="avg"),
               {"data": (1, 2, 4, 4, 4)}),
    "upsampling_nearest": (lambda: S.UpSampling(_v(), scale=2, sample_type="nearest",
                                                num_args=1), {"data": (2, 3, 4, 4)}),
    "upsampling_multi_sum": (lambda: S.UpSampling(_v("a"), _v("b"), scale=2,
                                                  sample_type="nearest", num_args=2,
                                                  multi_input_mode="sum"),
                             {"a": (2, 3, 4, 4), "b": (2, 3, 2, 2)}),
    "upsampling_bilinear": (lambda: S.UpSampling(_v(), scale=2, sample_type="bilinear",
                                                 num_filter=3, num_args=1, name="up"),
                            {"data": (2, 3, 4, 4)}),
    "fc_no_flatten": (lambda: S.FullyConnected(_v(), num_hidden=4, flatten=False, name="fc"),
                      {"data": (2, 3, 5)}),
    "fc_flatten_nd": (lambda: S.FullyConnected(_v(), num_hidden=4, no_bias=True, name="fc"),
                      {"data": (2, 3, 5)}),
    "pad_reflect": (lambda: S.Pad(_v(), mode="reflect", pad_width=(0, 0, 0, 0, 1, 2, 2, 1)),
                    {"data": (2, 3, 4, 4)}),
    "pad_constant": (lambda: S.Pad(_v(), mode="constant", constant_value=1.5,
                                   pad_width=(0, 0, 0, 0, 1, 0, 0, 2)), {"data": (2, 3, 4, 4)}),
    "depth_to_space": (lambda: S.depth_to_space(_v(), block_size=2), {"data": (2, 8, 3, 3)}),
    "space_to_depth": (lambda: S.space_to_depth(_v(), block_size=2), {"data": (2, 2, 4, 6)}),
    # shapes
    "reshape_codes": (lambda: S.Reshape(_v(), shape=(0, -3, -2)), {"data": (2, 3, 4, 5)}),
    "reshape_split": (lambda: S.Reshape(_v(), shape=(0, -4, 2, -1, 0)), {"data": (2, 6, 5)}),
    "flatten_transpose": (lambda: S.transpose(S.Flatten(_v()), axes=(1, 0)),
                          {"data": (2, 3, 4)}),
    "expand_squeeze": (lambda: S.squeeze(S.expand_dims(_v(), axis=1), axis=1),
                       {"data": (2, 3)}),
    "swapaxes": (lambda: S.SwapAxis(_v(), dim1=1, dim2=2), {"data": (2, 3, 4)}),
    "concat_stack": (lambda: S.stack(S.concat(_v("a"), _v("b"), dim=1), _v("c"), axis=1),
                     {"a": (2, 1, 3), "b": (2, 2, 3), "c": (2, 3, 3)}),
    "split_squeeze": (lambda: S.Group(list(S.split(_v(), num_outputs=3, axis=1,
                                                   squeeze_axis=True))),
                      {"data": (2, 3, 4)}),
    "split_v2": (lambda: S.Group(list(S.split_v2(_v(), (1, 3), axis=2))), {"data": (2, 3, 5)}),
    "slice": (lambda: S.slice(_v(), begin=(0, 1, 0), end=(2, 3, 4), step=(1, 1, 2)),
              {"data": (2, 3, 5)}),
    "slice_axis": (lambda: S.slice_axis(_v(), axis=2, begin=1, end=None),
                   {"data": (2, 3, 5)}),
    "slice_like": (lambda: S.slice_like(_v("a"), _v("b"), axes=(2,)),
                   {"a": (2, 3, 5), "b": (2, 3, 2)}),
    "reverse": (lambda: S.reverse(_v(), axis=(1, 2)), {"data": (2, 3, 4)}),
    "tile": (lambda: S.tile(_v(), reps=(1, 2, 2)), {"data": (2, 3)}),
    "repeat": (lambda: S.repeat(_v(), repeats=2, axis=1), {"data": (2, 3)}),
    "broadcast_to": (lambda: S.broadcast_to(_v(), shape=(0, 3, 4)), {"data": (2, 1, 4)}),
    "broadcast_axis": (lambda: S.broadcast_axis(_v(), axis=(2,), size=(3,)),
                       {"data": (2, 4, 1)}),
    "broadcast_like": (lambda: S.broadcast_like(_v("a"), _v("b")),
                       {"a": (2, 1, 4), "b": (2, 3, 4)}),
    # arithmetic
    "arith_scalars": (lambda: ((_v() + 1.5) * 2 - 0.5) / 3 - (1 - _v()) + S.maximum(_v(), 0.1)
                      + S.minimum(_v(), 0.2) + 2 / (S.abs(_v()) + 1), {"data": (2, 3)}),
    "power": (lambda: S.abs(_v()) ** 1.5 + 2 ** _v(), {"data": (2, 3)}),
    "broadcast_binary": (lambda: S.broadcast_mul(S.broadcast_add(_v("a"), _v("b")), _v("b"))
                         - S.broadcast_div(_v("a"), S.abs(_v("b")) + 1)
                         + S.broadcast_maximum(_v("a"), _v("b")),
                         {"a": (2, 3), "b": (2, 1)}),
    "compare": (lambda: (_v("a") > _v("b")) + (_v("a") <= 0.1) + S.broadcast_equal(_v("a"),
                                                                                    _v("a"))
                + (_v("a") != _v("b")), {"a": (2, 3), "b": (2, 3)}),
    "logic": (lambda: S.logical_not(_v("a") > 0) + S.broadcast_logical_xor(_v("a") > 0,
                                                                            _v("b") > 0),
              {"a": (2, 3), "b": (2, 3)}),
    "mod": (lambda: S.broadcast_mod(_v("a"), _v("b")), {"a": (2, 3), "b": (2, 3)}),
    "hypot": (lambda: S.broadcast_hypot(_v("a"), _v("b")), {"a": (2, 3), "b": (2, 3)}),
    "unary_math": (lambda: S.exp(S.tanh(_v())) + S.log1p(S.abs(_v())) + S.expm1(_v() * 0.1)
                   + S.sqrt(S.abs(_v())) + S.rsqrt(S.abs(_v()) + 1) + S.cbrt(_v())
                   + S.square(_v()) + S.sin(_v()) + S.cos(_v()) + S.arctan(_v())
                   + S.sigmoid(_v()) + S.log2(S.abs(_v()) + 1) + S.log10(S.abs(_v()) + 1)
                   + S.degrees(_v()) + S.reciprocal(S.abs(_v()) + 1) + S.sign(_v())
                   + S.erf(_v()) + S.softsign(_v()) + S.relu(_v()) + S.negative(_v())
                   + S.rcbrt(S.abs(_v()) + 1), {"data": (2, 5)}),
    "rounding": (lambda: S.round(_v() * 2) + S.rint(_v() * 2) + S.fix(_v() * 2)
                 + S.floor(_v()) + S.ceil(_v()) + S.trunc(_v() * 3),
                 {"data": (3, 4)}),
    "clip": (lambda: S.clip(_v(), a_min=-0.5, a_max=0.3), {"data": (2, 5)}),
    "add_n": (lambda: S.add_n(_v("a"), _v("b"), _v("c")),
              {"a": (2, 3), "b": (2, 3), "c": (2, 3)}),
    "smooth_l1": (lambda: S.smooth_l1(_v(), scalar=1.5), {"data": (2, 5)}),
    "where": (lambda: S.where(_v("c") > 0, _v("a"), _v("b")),
              {"c": (2, 3), "a": (2, 3), "b": (2, 3)}),
    "cast": (lambda: S.Cast(S.Cast(_v() * 3, dtype="int32"), dtype="float32"),
             {"data": (2, 5)}),
    # reductions and indexing
    "reduce": (lambda: S.sum(_v(), axis=1) + S.mean(_v(), axis=(1,), keepdims=False)
               + S.max(_v(), axis=1) + S.min(_v(), axis=1) + S.prod(_v(), axis=1),
               {"data": (2, 3, 4)}),
    "reduce_exclude_keep": (lambda: S.sum(_v(), axis=1, exclude=True, keepdims=True),
                            {"data": (2, 3, 4)}),
    "reduce_all": (lambda: S.sum(_v()) + S.norm(_v()), {"data": (2, 3, 4)}),
    "nansum": (lambda: S.nansum(_v(), axis=2), {"data": (2, 3, 4)}),
    "norm_l1_axis": (lambda: S.norm(_v(), ord=1, axis=1), {"data": (2, 3, 4)}),
    "moments": (lambda: S.Group(list(S.moments(_v(), axes=(1, 2)))), {"data": (2, 3, 4)}),
    "argmax_argmin": (lambda: S.argmax(_v(), axis=1) + S.argmin(_v(), axis=1, keepdims=False)
                      + S.argmax_channel(_v()), {"data": (2, 5)}),
    "topk_both": (lambda: S.Group(list(S.topk(_v(), k=2, axis=1, ret_typ="both"))),
                  {"data": (2, 5)}),
    "sort_argsort": (lambda: S.sort(_v(), axis=1) + S.argsort(_v(), axis=1, is_ascend=False),
                     {"data": (2, 5)}),
    "dot": (lambda: S.dot(_v("a"), _v("b"), transpose_b=True), {"a": (2, 3), "b": (4, 3)}),
    "dot_nd": (lambda: S.dot(_v("a"), _v("b")), {"a": (2, 3, 4), "b": (4, 5)}),
    "batch_dot": (lambda: S.batch_dot(_v("a"), _v("b"), transpose_a=True),
                  {"a": (2, 3, 4), "b": (2, 3, 5)}),
    "zeros_ones_like": (lambda: S.zeros_like(_v()) + S.ones_like(_v()) * _v(),
                        {"data": (2, 3)}),
    "sequence_mask_reverse": (lambda: S.SequenceReverse(S.SequenceMask(_v(), value=-1.0)),
                              {"data": (4, 2, 3)}),
    "sequence_last": (lambda: S.SequenceLast(_v()), {"data": (4, 2, 3)}),
    "dropout_identity": (lambda: S.Dropout(_v(), p=0.5) * 1.0 + S.BlockGrad(_v()),
                         {"data": (2, 3)}),
    # legacy, contrib, linear algebra, image
    "legacy_v1": (lambda: S.Pooling_v1(S.BatchNorm_v1(S.Convolution_v1(
        _v(), kernel=(3, 3), num_filter=4, name="c"), name="bn"), kernel=(2, 2), stride=(2, 2),
        pool_type="avg"), {"data": (2, 3, 6, 6)}),
    "crop_center": (lambda: S.Crop(_v(), h_w=(3, 4), center_crop=True, num_args=1),
                    {"data": (2, 3, 7, 8)}),
    "crop_offset": (lambda: S.Crop(_v(), offset=(1, 2), h_w=(3, 4), num_args=1),
                    {"data": (2, 3, 7, 8)}),
    "contrib_misc": (lambda: S.contrib.div_sqrt_dim(_v()) + S.contrib.quadratic(
        _v(), a=0.5, b=-1.0, c=2.0) + S.contrib.round_ste(_v() * 3) + S.contrib.sign_ste(_v())
        + S.contrib.gradientmultiplier(_v(), scalar=0.5), {"data": (2, 3, 4)}),
    "arange_like": (lambda: S.broadcast_add(_v(), S.contrib.arange_like(_v(), axis=2)),
                    {"data": (2, 3, 4)}),
    "adaptive_avg_pool": (lambda: S.contrib.AdaptiveAvgPooling2D(_v(), output_size=(2, 3)),
                          {"data": (2, 3, 4, 6)}),
    "bilinear_resize": (lambda: S.contrib.BilinearResize2D(_v(), height=7, width=5),
                        {"data": (2, 3, 4, 4)}),
    "bilinear_resize_half_pixel": (lambda: S.contrib.BilinearResize2D(
        _v(), height=7, width=9, align_corners=False), {"data": (2, 3, 4, 5)}),
    "linalg_gemm": (lambda: S.linalg.gemm(_v("a"), _v("b"), _v("c"), transpose_b=True,
                                          alpha=0.5, beta=2.0),
                    {"a": (2, 3, 4), "b": (2, 5, 4), "c": (2, 3, 5)}),
    "linalg_gemm2_syrk": (lambda: S.linalg.gemm2(_v("a"), _v("b"), transpose_a=True)
                          + S.linalg.syrk(_v("b"), transpose=True, alpha=2.0),
                          {"a": (2, 4, 4), "b": (2, 4, 4)}),
    "linalg_det": (lambda: S.linalg.det(_v()), {"data": (2, 3, 3)}),
    "linalg_diag": (lambda: S.linalg.extractdiag(_v(), offset=1)
                    + S.linalg.extractdiag(_v(), offset=-1), {"data": (2, 4, 4)}),
    "linalg_makediag": (lambda: S.linalg.makediag(_v(), offset=-1), {"data": (2, 3)}),
    "linalg_sumlogdiag": (lambda: S.linalg.sumlogdiag(S.abs(_v()) + 1), {"data": (2, 3, 3)}),
    "image_normalize": (lambda: S.image.normalize(_v(), mean=(0.1, 0.2, 0.3),
                                                  std=(0.5, 1.0, 2.0)), {"data": (2, 3, 4, 4)}),
    "image_to_tensor_flip_crop": (lambda: S.image.to_tensor(S.image.flip_left_right(
        S.image.flip_top_bottom(S.image.crop(_v(), x=1, y=0, width=3, height=2)))),
        {"data": (4, 5, 3)}),
    "box_iou": (lambda: S.contrib.box_iou(_v("a"), _v("b")) + S.contrib.box_iou(
        _v("a"), _v("b"), format="center"), {"a": (2, 3, 4), "b": (5, 4)}),
    "bn_relu_sync": (lambda: S.contrib.BatchNormWithReLU(_v(), fix_gamma=False, name="bnr")
                     + S.contrib.SyncBatchNorm(_v(), key="k", name="sbn"),
                     {"data": (2, 3, 4, 4)}),
    "linalg_slogdet": (lambda: S.Group(list(S.linalg.slogdet(_v()))), {"data": (2, 3, 3)}),
    "index_copy": (lambda: S.contrib.index_copy(_v("a"), S.Cast(_v("i") * 0 + S.contrib.
                                                                 arange_like(_v("i")), "int32"),
                                                _v("b")),
                   {"a": (5, 3), "i": (2,), "b": (2, 3)}),
    "box_decode": (lambda: S.contrib.box_decode(_v("a"), _v("b"), std0=0.1, std1=0.2,
                                                clip=0.5)
                   + S.contrib.box_decode(_v("a"), _v("b"), format="corner"),
                   {"a": (2, 6, 4), "b": (1, 6, 4)}),
    "slice_assign": (lambda: S._internal._slice_assign(_v("a"), _v("b"), begin=(0, 1),
                                                       end=(2, 4), step=(1, 2))
                     + S._internal._slice_assign_scalar(_v("a"), scalar=2.5, begin=(1,),
                                                        end=(2,)),
                     {"a": (2, 5), "b": (2, 2)}),
    "fill_element_0index": (lambda: S.fill_element_0index(
        _v("a"), _v("m"), S.clip(S.abs(_v("m")) * 3, a_min=0, a_max=3)),
        {"a": (3, 4), "m": (3,)}),
    "allclose": (lambda: S.Group([S.contrib.allclose(_v("a"), _v("a") * 1.000001),
                                  S.contrib.allclose(_v("a"), _v("b"))]),
                 {"a": (2, 3), "b": (2, 3)}),
    "ravel_unravel": (lambda: S.Group([S._internal._ravel_multi_index(S.abs(
        S.round(_v() * 2)), shape=(3, 4)), S._internal._unravel_index(S.abs(S.round(
            _v("i") * 5)), shape=(3, 4))]), {"data": (2, 5), "i": (6,)}),
    "identity_like_rhs": (lambda: S._internal._identity_with_attr_like_rhs(_v("a"), _v("b")),
                          {"a": (2, 3), "b": (2, 3)}),
    "square_sum_diag": (lambda: S._internal._square_sum(_v(), axis=1) if hasattr(
        S._internal, "_square_sum") else S.sum(S.square(_v()), axis=1), {"data": (3, 3)}),
}


@pytest.mark.parametrize("case", sorted(_OP_CASES))
def test_op_parity_opset12(tmp_path, case):
    """The oldest supported opset, where Squeeze, Reduce*, Split and Softmax differ."""
    build, shapes = _OP_CASES[case]
    _VARS.clear()
    sym = build()
    rng = np.random.default_rng(3)
    params = _rand_params(sym, shapes, rng)
    feeds = {k: rng.normal(0, 1, s).astype(np.float32) for k, s in shapes.items()}
    assert _parity(tmp_path, sym, params, feeds, batch_dyn=0, roundtrip=False,
                   opset_version=12) == []


@pytest.mark.parametrize("case", sorted(_OP_CASES))
def test_op_parity(tmp_path, case):
    build, shapes = _OP_CASES[case]
    _VARS.clear()
    sym = build()
    rng = np.random.default_rng(3)
    params = _rand_params(sym, shapes, rng)
    feeds = {k: rng.normal(0, 1, s).astype(np.float32) for k, s in shapes.items()}
    assert _parity(tmp_path, sym, params, feeds, batch_dyn=3 if case not in _STATIC else 0,
                   roundtrip=case not in _NO_IMPORT) == []
    if case in _NO_IMPORT:
        with pytest.raises(MXNetError):
            sym2, args2, aux2 = mx.onnx.import_model(str(tmp_path / "static.onnx"))
            _run_mx(sym2, {**args2, **aux2}, feeds)


# Cases whose export uses ONNX forms the importer does not map back (it says so).
_NO_IMPORT = {"avg_full_pad", "avg_same_1d", "max_same_1d", "mod", "nansum", "rrelu",
              "zeros_ones_like", "box_iou", "bilinear_resize", "bilinear_resize_half_pixel",
              "index_copy", "slice_assign", "fill_element_0index", "allclose",
              "ravel_unravel"}
# Cases whose first axis is no batch axis (sequences are time-major).
_STATIC = {"sequence_mask_reverse", "sequence_last", "dot", "dot_nd", "square_sum_diag",
           "arange_like", "box_iou", "image_to_tensor_flip_crop", "index_copy", "box_decode",
           "slice_assign", "fill_element_0index", "ravel_unravel", "allclose"}


# ----------------------------------------------------------------------------------------
# Detection and recurrent operators.


def _boxes(rng, b: int, n: int) -> np.ndarray:
    xy = rng.uniform(0, 10, (b, n, 2))
    wh = rng.uniform(1, 5, (b, n, 2))
    score = rng.uniform(0, 1, (b, n, 1))
    cls = rng.integers(0, 3, (b, n, 1))
    return np.concatenate([cls, score, xy, xy + wh], axis=2).astype(np.float32)


@pytest.mark.parametrize("kw", [
    {},
    {"id_index": 0, "overlap_thresh": 0.3},
    {"id_index": 0, "force_suppress": True, "topk": 10, "valid_thresh": 0.2},
    {"id_index": 0, "background_id": 1, "out_format": "center"},
    {"id_index": 0, "in_format": "center", "coord_start": 2},
], ids=["plain", "per_class", "topk_force", "background_center_out", "center_in"])
def test_box_nms_via_non_max_suppression(tmp_path, kw):
    rng = np.random.default_rng(5)
    data = _boxes(rng, 2, 30)
    sym = S.contrib.box_nms(S.var("data"), **kw)
    model = _export(tmp_path, sym, {}, [data.shape], dynamic=True)
    got = session(model).run(None, {"data": data})[0]
    want = mx.nd.contrib.box_nms(mx.nd.array(data), **kw).asnumpy()
    np.testing.assert_array_equal(got, want)
    more = _boxes(rng, 3, 30)  # another batch size through the dynamic axis
    got = session(model).run(None, {"data": more})[0]
    np.testing.assert_array_equal(got, mx.nd.contrib.box_nms(mx.nd.array(more), **kw).asnumpy())


def test_box_nms_2d_opset12(tmp_path):
    data = _boxes(np.random.default_rng(6), 1, 25)[0]
    sym = S.contrib.box_nms(S.var("data"), id_index=0)
    model = _export(tmp_path, sym, {}, [data.shape], opset_version=12)
    got = session(model).run(None, {"data": data})[0]
    np.testing.assert_array_equal(
        got, mx.nd.contrib.box_nms(mx.nd.array(data), id_index=0).asnumpy())


@pytest.mark.parametrize("make", [
    lambda: mx.gluon.rnn.LSTM(6, num_layers=2, bidirectional=True),
    lambda: mx.gluon.rnn.GRU(6, num_layers=2),
    lambda: mx.gluon.rnn.GRU(5, bidirectional=True),
    lambda: mx.gluon.rnn.RNN(6, activation="relu", num_layers=2),
    lambda: mx.gluon.rnn.RNN(4, activation="tanh", bidirectional=True),
], ids=["lstm_2l_bi", "gru_2l", "gru_bi", "rnn_relu_2l", "rnn_tanh_bi"])
def test_gluon_rnn_layers(tmp_path, make):
    layer = make()
    mx.random.seed(2)
    layer.initialize(mx.init.Uniform(0.5))
    rng = np.random.default_rng(2)
    x = rng.normal(0, 1, (5, 2, 4)).astype(np.float32)
    want = layer(mx.nd.array(x)).asnumpy()
    path = mx.onnx.export_model(layer, None, [x.shape], onnx_file_path=str(tmp_path / "r.onnx"),
                                dynamic=True, dynamic_input_shapes=[(5, None, 4)])
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    sess = session(model)
    assert not _problem(sess.run(None, {"data": x})[0], want)
    x3 = rng.normal(0, 1, (5, 3, 4)).astype(np.float32)
    assert not _problem(sess.run(None, {"data": x3})[0], layer(mx.nd.array(x3)).asnumpy())


@pytest.mark.parametrize("mode", ["lstm", "gru", "rnn_tanh"])
def test_rnn_op_states_and_sequence_length(tmp_path, mode):
    t, n, c, h = 5, 3, 4, 6
    ins = [S.var("data"), S.var("params"), S.var("h")]
    shapes = {"data": (t, n, c), "h": (4, n, h)}
    if mode == "lstm":
        ins.append(S.var("c"))
        shapes["c"] = (4, n, h)
    ins.append(S.var("len"))
    shapes["len"] = (n,)
    sym = S.RNN(*ins, mode=mode, state_size=h, num_layers=2, bidirectional=True,
                state_outputs=True, use_sequence_length=True)
    rng = np.random.default_rng(4)
    params = _rand_params(sym, shapes, rng)
    feeds = {k: rng.normal(0, 1, s).astype(np.float32) for k, s in shapes.items()}
    feeds["len"] = np.array([5, 2, 3], np.float32)
    model = _export(tmp_path, sym, params, list(shapes.values()))
    got = session(model).run(None, feeds)
    want = _run_mx(sym, params, feeds)
    assert len(got) == len(want) == (3 if mode == "lstm" else 2)
    for g, w in zip(got, want):
        assert not _problem(g, w)


# ----------------------------------------------------------------------------------------
# Options.


def test_opset_range_and_shape_inference(tmp_path):
    sym = S.FullyConnected(S.Activation(S.var("data"), act_type="relu"), num_hidden=3,
                           name="fc")
    params = _rand_params(sym, {"data": (2, 4)}, np.random.default_rng(0))
    x = np.random.default_rng(1).normal(0, 1, (2, 4)).astype(np.float32)
    want = _run_mx(sym, params, {"data": x})[0]
    top = onnx.defs.onnx_opset_version()
    for opset in (12, 13, 17, top):
        m = _export(tmp_path, sym, params, [(2, 4)], opset_version=opset,
                    run_shape_inference=True)
        assert m.opset_import[0].version == opset
        assert not _problem(session(m).run(None, {"data": x})[0], want)
    assert "FullyConnected" in mx.onnx.get_operator_support()
    assert "_contrib_box_nms" in mx.onnx.get_operator_support(12)


def test_large_model_external_data(tmp_path):
    sym = S.FullyConnected(S.var("data"), num_hidden=64, name="fc")
    params = _rand_params(sym, {"data": (1, 32)}, np.random.default_rng(0))
    path = mx.onnx.export_model(sym, params, [(1, 32)], onnx_file_path=str(tmp_path / "l.onnx"),
                                large_model=True)
    # tensors over 1 KB go to the side file (the weight), small ones (the bias) stay inline
    assert (tmp_path / "l.onnx.data").stat().st_size == 64 * 32 * 4
    x = np.ones((1, 32), np.float32)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    assert not _problem(sess.run(None, {"data": x})[0], _run_mx(sym, params, {"data": x})[0])


def test_module_and_old_argument_names(tmp_path):
    sym = mx.sym.load(str(DATA / "module/cnn-symbol.json"))
    io = np.load(DATA / "module/cnn_io.npz")
    x = io["data"][:1].astype(np.float32)
    mod = mx.mod.Module(sym, data_names=["data"], label_names=["softmax_label"])
    mod.bind(data_shapes=[("data", x.shape)], label_shapes=[("softmax_label", (1,))],
             for_training=False)
    arg, aux = mx.model.load_checkpoint(str(DATA / "module/cnn"), 0)[1:]
    mod.set_params(arg, aux)
    path = mx.onnx.export_model(mod, None, onnx_file_path=str(tmp_path / "mod.onnx"))
    want = _run_mx(sym, {**arg, **aux}, {"data": x})[0]
    assert not _problem(session(onnx.load(path)).run(None, {"data": x})[0], want)
    path2 = mx.contrib.onnx.export_model(sym, {**arg, **aux}, input_shape=[x.shape],
                                         input_type=np.float32,
                                         onnx_file_path=str(tmp_path / "old.onnx"))
    assert not _problem(session(onnx.load(path2)).run(None, {"data": x})[0], want)


# ----------------------------------------------------------------------------------------
# Bad input.


def _small():
    sym = S.FullyConnected(S.var("data"), num_hidden=2, name="fc")
    return sym, _rand_params(sym, {"data": (1, 3)}, np.random.default_rng(0))


@pytest.mark.parametrize("kwargs, match", [
    ({"in_shapes": [(1, 3), (1, 3)]}, "2 shapes but the model has 1 data inputs"),
    ({"in_shapes": None}, "in_shapes is required"),
    ({"in_shapes": [(1, 3)], "opset_version": 11}, "outside the supported range"),
    ({"in_shapes": [(1, 3)], "dynamic_input_shapes": [(None, 3)]}, "set dynamic=True"),
    ({"in_shapes": [(1, 3)], "in_types": "nonsense"}, "not a data type"),
    ({"in_shapes": [(1, 4)]}, "shape"),
    ({"in_shapes": [(1, 3)], "dynamic": True, "dynamic_input_shapes": [(None, 4)]},
     "disagrees"),
])
def test_bad_arguments(tmp_path, kwargs, match):
    sym, params = _small()
    with pytest.raises(MXNetError, match=match):
        mx.onnx.export_model(sym, params, onnx_file_path=str(tmp_path / "x.onnx"), **kwargs)


def test_bad_sources(tmp_path):
    sym, params = _small()
    with pytest.raises(MXNetError, match="does not exist"):
        mx.onnx.export_model(str(tmp_path / "none-symbol.json"), params, [(1, 3)])
    with pytest.raises(MXNetError, match="params file .* does not exist"):
        mx.onnx.export_model(sym, str(tmp_path / "none.params"), [(1, 3)])
    with pytest.raises(MXNetError, match="sym must be"):
        mx.onnx.export_model(42, params, [(1, 3)])
    with pytest.raises(MXNetError, match=r"\[arg_params, aux_params\]"):
        mx.onnx.export_model(sym, [params], [(1, 3)])
    with pytest.raises(MXNetError, match="does not exist"):
        mx.onnx.import_model(str(tmp_path / "none.onnx"))
    (tmp_path / "junk.onnx").write_bytes(b"\x00not a model")
    with pytest.raises(MXNetError, match="not a readable ONNX model"):
        mx.onnx.import_model(str(tmp_path / "junk.onnx"))


def test_operator_without_converter_names_node_and_op(tmp_path):
    sym = S.gammaln(S.var("data"), name="lg")
    with pytest.raises(MXNetError, match=r"node 'lg' uses operator 'gammaln'.*docs/onnx.md"):
        mx.onnx.export_model(sym, {}, [(2, 3)], onnx_file_path=str(tmp_path / "x.onnx"))
    sym = S.softmax(S.var("data"), S.var("length"), use_length=True, name="sm")
    with pytest.raises(MXNetError, match=r"node 'sm' \(operator softmax\).*use_length"):
        mx.onnx.export_model(sym, {}, [(2, 3), (2,)], onnx_file_path=str(tmp_path / "x.onnx"))


def test_import_unmapped_operator(tmp_path):
    from onnx import helper

    g = helper.make_graph([helper.make_node("Hardmax", ["x"], ["y"], name="hm")], "g",
                          [helper.make_tensor_value_info("x", 1, [3, 3])],
                          [helper.make_tensor_value_info("y", 1, [])])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    with pytest.raises(MXNetError, match="node 'hm' uses operator 'Hardmax'"):
        mx.onnx.import_model(model)


def test_onnx_absent_says_how_to_install(monkeypatch):
    import sys

    from mxlite.onnx import _common

    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(MXNetError, match=r"pip install 'mxlite\[onnx\]'"):
        _common.require_onnx()


@pytest.mark.parametrize("kind, kw", [
    ("align", {"pooled_size": (3, 3), "spatial_scale": 0.5}),
    ("align", {"pooled_size": (2, 4), "spatial_scale": 1.0, "aligned": True}),
    ("align", {"pooled_size": (3, 3), "spatial_scale": 1.0, "sample_ratio": 2}),
    ("pool", {"pooled_size": (3, 3), "spatial_scale": 0.5}),
], ids=["align", "align_aligned", "align_ratio2", "roi_pooling"])
def test_roi_ops(tmp_path, kind, kw):
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, (2, 3, 16, 16)).astype(np.float32)
    rois = np.array([[0, 1.3, 2.2, 9.7, 12.1], [1, 0, 0, 15, 15], [1, 4.4, 3.1, 6.6, 5.0]],
                    np.float32)
    d, r = S.var("data"), S.var("rois")
    sym = S.contrib.ROIAlign(d, r, **kw) if kind == "align" else S.ROIPooling(d, r, **kw)
    # onnxruntime 1.2x implements RoiAlign up to opset 16's definition (21 is the same op)
    model = _export(tmp_path, sym, {}, [x.shape, rois.shape], opset_version=21)
    got = session(model).run(None, {"data": x, "rois": rois})[0]
    assert not _problem(got, _run_mx(sym, {}, {"data": x, "rois": rois})[0])


def test_interleaved_attention_dynamic_time_and_batch(tmp_path):
    t, tk, b, h, d = 5, 4, 2, 3, 2
    c = S.contrib
    qkv, q, kv = S.var("qkv"), S.var("q"), S.var("kv")
    att = c.interleaved_matmul_selfatt_qk(qkv, heads=h)
    y1 = c.interleaved_matmul_selfatt_valatt(qkv, S.softmax(att, axis=-1), heads=h)
    att2 = c.interleaved_matmul_encdec_qk(q, kv, heads=h)
    y2 = c.interleaved_matmul_encdec_valatt(kv, S.softmax(att2, axis=-1), heads=h)
    sym = S.Group([y1, y2, att])
    rng = np.random.default_rng(0)

    def feeds(t, tk, b):
        return {"qkv": rng.normal(0, 1, (t, b, 3 * h * d)).astype(np.float32),
                "q": rng.normal(0, 1, (t, b, h * d)).astype(np.float32),
                "kv": rng.normal(0, 1, (tk, b, 2 * h * d)).astype(np.float32)}

    f = feeds(t, tk, b)
    names = sym.list_inputs()
    path = mx.onnx.export_model(sym, {}, [f[n].shape for n in names],
                                onnx_file_path=str(tmp_path / "att.onnx"), dynamic=True,
                                dynamic_input_shapes=[(None, None, f[n].shape[2])
                                                      for n in names])
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    sess = session(model)
    for fd in (f, feeds(7, 2, 3)):
        for g, w in zip(sess.run(None, fd), _run_mx(sym, {}, fd)):
            assert not _problem(g, w)
