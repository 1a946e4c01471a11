"""The spatial sampling operators (ops/sampling.py) and UpSampling: MXNet 1.9.1's values
(tests/data/ops/sampling, from tests/fixtures/gen_sampling.py), finite differences, and the
errors bad parameters raise."""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest
from gradcheck import gradients

import mxlite as mx
from mxlite.base import MXNetError

DATA = pathlib.Path(__file__).parent / "data" / "ops" / "sampling"
DOC = json.loads((DATA / "cases.json").read_text())
ARRAYS = np.load(DATA / "data.npz", allow_pickle=False)
CASES = {c["name"]: c for c in DOC["cases"]}


def _func(ns, name: str):
    obj = ns
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def _close(got: np.ndarray, want: np.ndarray, what: str, rtol: float = 1e-5) -> None:
    # 1e-5 relative; the absolute floor covers values that cancel to ~0 in float32 sums.
    # float16 data is computed in float32 and rounded once, MXNet rounds every step.
    if want.dtype == np.float16:
        rtol = 2e-3
    scale = max(1.0, float(np.abs(want).max(initial=0)))
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * scale * 0.5, err_msg=what)


@pytest.mark.parametrize("name", list(CASES))
def test_matches_mxnet(name):
    case = CASES[name]
    fn = _func(mx.nd, case["func"])
    nds = {s["name"]: mx.nd.array(ARRAYS[f"{name}/in/{s['name']}"], dtype=s["dtype"])
           for s in case["inputs"]}
    for n in case["grads"]:
        nds[n].attach_grad()
    train = case["mode"] == "train"
    with mx.autograd.record(train_mode=train):
        out = fn(*nds.values(), **case["kwargs"])
    outs = out if isinstance(out, list) else [out]
    assert len(outs) == case["n_out"]
    for i, o in enumerate(outs):
        want = ARRAYS[f"{name}/out{i}"]
        assert o.shape == want.shape and o.dtype == want.dtype
        _close(o.asnumpy(), want, f"{name} output {i}")
    mx.autograd.backward([outs[0]], [mx.nd.array(ARRAYS[f"{name}/head"])], train_mode=train)
    # MXNet's CPU backward of the modulated deformable convolution is not implemented, and
    # oneDNN's BatchNormWithReLU backward after an inference-mode forward reads a workspace
    # forward did not write: finite differences check those gradients below.
    if "backward_error" not in case and not case.get("grads_unwritten"):
        for n in case["grads"]:
            _close(nds[n].grad.asnumpy(), ARRAYS[f"{name}/grad/{n}"], f"{name} grad {n}")
    for n in case["aux"]:
        _close(nds[n].asnumpy(), ARRAYS[f"{name}/aux/{n}"], f"{name} aux {n}")


@pytest.mark.parametrize("name", list(CASES))
def test_symbol_matches_mxnet(name):
    case = CASES[name]
    want = case["symbol"]
    sym = _func(mx.sym, case["func"])(*[mx.sym.var(s["name"]) for s in case["inputs"]],
                                      name="op", **case["kwargs"])
    assert json.loads(sym.tojson()) == want["json"]
    assert sym.list_arguments() == want["list_arguments"]
    assert sym.list_outputs() == want["list_outputs"]
    assert sym.list_auxiliary_states() == want["list_auxiliary_states"]
    arg, out, aux = sym.infer_shape(**{s["name"]: tuple(s["shape"]) for s in case["inputs"]})
    assert [list(s) for s in arg] == want["infer_shape"]["arg"]
    assert [list(s) for s in out] == want["infer_shape"]["out"]
    assert [list(s) for s in aux] == want["infer_shape"]["aux"]


def test_every_oracle_error_is_refused():
    # what MXNet refuses, mxlite refuses too, naming the parameter at fault
    names = {"resize_bad_mode": "mode", "resize_zero_height": "height",
             "resize_scale_height_only": "scale_width",
             "resize_odd_scale_missing": "scale_height", "grid_no_target": "target_shape",
             "grid_bad_type": "transform_type", "corr_even_kernel": "kernel_size",
             "corr_too_small": "max_displacement", "crop_too_big": "h_w",
             "crop_bad_offset": "offset", "dconv_3d": "kernel", "dconv_zero_filter": "num_filter",
             "st_bad_transform": "transform_type"}
    assert sorted(names) == sorted(e["name"] for e in DOC["errors"])
    for e in DOC["errors"]:
        assert e["message"], e["name"]  # MXNet did refuse it
        nds = [mx.nd.array(np.ones(s, "float32")) for s in e["inputs"]]
        with pytest.raises(MXNetError, match=names[e["name"]]):
            _func(mx.nd, e["func"])(*nds, **e["kwargs"]).asnumpy()


_ONES = mx.nd.ones


@pytest.mark.parametrize("func, kwargs, shapes, param", [
    ("Correlation", {"pad_size": -1}, [(1, 1, 5, 5)] * 2, "pad_size"),
    ("Correlation", {"stride1": 0}, [(1, 1, 5, 5)] * 2, "stride1"),
    ("Correlation", {}, [(1, 1, 5, 5), (1, 1, 5, 6)], "data2"),
    ("contrib.AdaptiveAvgPooling2D", {"output_size": (-1, 2)}, [(1, 1, 4, 4)], "output_size"),
    ("contrib.BilinearResize2D", {"width": -3}, [(1, 1, 4, 4)], "width"),
    ("contrib.BilinearResize2D", {"mode": "to_even_down"}, [(1, 1, 1, 4)], "to_even_down"),
    ("Crop", {"num_args": 3}, [(1, 1, 4, 4)] * 3, "num_args"),
    ("BilinearSampler", {}, [(1, 1, 4, 4), (1, 3, 2, 2)], "grid"),
    ("GridGenerator", {"transform_type": "affine", "target_shape": (2, 2)}, [(1, 5)], "data"),
    ("SpatialTransformer", {"target_shape": (2, 2), "transform_type": "affine",
                            "sampler_type": "nearest"}, [(1, 1, 3, 3), (1, 6)], "sampler_type"),
    ("contrib.DeformableConvolution", {"kernel": (3, 3), "num_filter": 2},
     [(1, 2, 5, 5), (1, 17, 3, 3), (2, 2, 3, 3), (2,)], "offset"),
    ("contrib.DeformableConvolution", {"kernel": (3, 3), "num_filter": 2, "layout": "NCW"},
     [(1, 2, 5, 5), (1, 18, 3, 3), (2, 2, 3, 3), (2,)], "layout"),
    ("contrib.DeformableConvolution", {"kernel": (3, 3), "num_filter": 3, "num_group": 2},
     [(1, 2, 5, 5), (1, 18, 3, 3), (3, 1, 3, 3), (3,)], "num_group"),
    ("contrib.ModulatedDeformableConvolution", {"kernel": (1, 1), "num_filter": 1,
                                                "im2col_step": 2},
     [(3, 1, 2, 2), (3, 2, 2, 2), (3, 1, 2, 2), (1, 1, 1, 1), (1,)], "im2col_step"),
    ("contrib.SyncBatchNorm", {"key": "k", "ndev": 0}, [(2, 2, 2)] + [(2,)] * 4, "ndev"),
    ("contrib.SyncBatchNorm", {"key": "k", "ndev": 2}, [(2, 2, 2)] + [(2,)] * 4, "ndev"),
    ("UpSampling", {"scale": 2, "sample_type": "nearest", "multi_input_mode": "sum"},
     [(1, 2, 3, 3), (1, 3, 3, 3)], "multi_input_mode"),
    ("UpSampling", {"scale": 0, "sample_type": "nearest"}, [(1, 2, 3, 3)], "scale"),
])
def test_bad_parameters_raise(func, kwargs, shapes, param):
    with pytest.raises(MXNetError, match=param):
        _func(mx.nd, func)(*[_ONES(s) for s in shapes], **kwargs).asnumpy()
    # the symbol's error names the node and the parameter, at creation or at inference
    with pytest.raises(MXNetError, match=f"nd7.*{param}"):
        sym = _func(mx.sym, func)(*[mx.sym.var(f"v{i}") for i in range(len(shapes))],
                                  name="nd7", **kwargs)
        sym.infer_shape(**{f"v{i}": s for i, s in enumerate(shapes)})


def test_required_parameters():
    x = mx.sym.var("x")
    with pytest.raises(MXNetError, match="transform_type"):
        mx.sym.GridGenerator(x)
    with pytest.raises(MXNetError, match="key"):
        mx.sym.contrib.SyncBatchNorm(x)
    with pytest.raises(MXNetError, match="kernel"):
        mx.sym.contrib.DeformableConvolution(x, num_filter=2)


# ----------------------------------------------------------------------------------------
# Finite differences in float64: f = sum(op(inputs)[0] * head), central differences.


def _fd_mismatches(func, kwargs, arrays, wrt, train=True, tol=1e-5) -> list[str]:
    """The inputs of ``wrt`` whose backward gradient differs from the finite-difference one
    by more than ``tol`` (relative and absolute), with the largest difference; empty when
    all agree."""
    grads = gradients(_func(mx.nd, func), arrays, wrt, kwargs, positional=True,
                      first_output=True, train=train)
    return [f"{k}: max abs difference {np.max(np.abs(got - num))}"
            for k, (got, num) in grads.items()
            if np.shape(got) != np.shape(num) or not np.allclose(got, num, rtol=tol, atol=tol)]


def _r(*shape, seed=0, scale=1.0, low=None, high=None):
    rng = np.random.default_rng(seed + sum(shape))
    if low is not None:
        return rng.uniform(low, high, shape)
    return rng.standard_normal(shape) * scale


@pytest.mark.parametrize("kwargs", [
    {"height": 5, "width": 3}, {"height": 2, "width": 7, "align_corners": False},
    {"mode": "odd_scale", "scale_height": 1.5, "scale_width": 2.0},
])
def test_fd_bilinear_resize(kwargs):
    assert _fd_mismatches("contrib.BilinearResize2D", kwargs, {"data": _r(1, 2, 3, 4)},
                          ["data"]) == []


def test_fd_bilinear_resize_like():
    assert _fd_mismatches("contrib.BilinearResize2D", {"mode": "like"},
                          {"data": _r(1, 1, 3, 3), "like": _r(1, 1, 4, 5)}, ["data", "like"]) == []


def test_fd_adaptive_avg_pooling():
    assert _fd_mismatches("contrib.AdaptiveAvgPooling2D", {"output_size": (2, 3)},
                          {"data": _r(1, 2, 5, 7)}, ["data"]) == []


@pytest.mark.parametrize("kwargs, shape", [
    ({"transform_type": "affine", "target_shape": (3, 4)}, (2, 6)),
    ({"transform_type": "warp"}, (1, 2, 3, 3)),
])
def test_fd_grid_generator(kwargs, shape):
    assert _fd_mismatches("GridGenerator", kwargs, {"data": _r(*shape)}, ["data"]) == []


def test_fd_bilinear_sampler():
    assert _fd_mismatches("BilinearSampler", {},
                          {"data": _r(1, 2, 3, 4), "grid": _r(1, 2, 2, 3, low=-1.2, high=1.2)},
                          ["data", "grid"]) == []


def test_fd_spatial_transformer():
    loc = np.array([[0.9, 0.1, 0.05, -0.1, 1.1, 0.02]])
    assert _fd_mismatches("SpatialTransformer", {"target_shape": (3, 3),
                                                 "transform_type": "affine",
                                                 "sampler_type": "bilinear"},
                          {"data": _r(1, 1, 4, 4), "loc": loc}, ["data", "loc"]) == []


@pytest.mark.parametrize("kwargs", [
    {"kernel_size": 3, "max_displacement": 1, "pad_size": 1},
    {"kernel_size": 1, "max_displacement": 2, "stride1": 2, "stride2": 2, "pad_size": 2},
    {"kernel_size": 3, "max_displacement": 1, "pad_size": 1, "is_multiply": False},
])
def test_fd_correlation(kwargs):
    assert _fd_mismatches("Correlation", kwargs,
                          {"data1": _r(1, 2, 4, 4), "data2": _r(1, 2, 4, 4, seed=1)},
                          ["data1", "data2"]) == []


def test_fd_crop():
    assert _fd_mismatches("Crop", {"num_args": 2, "offset": (1, 0)},
                          {"data": _r(1, 1, 4, 4), "like": _r(1, 1, 2, 3)}, ["data", "like"]) == []


@pytest.mark.parametrize("func, kwargs, mask", [
    ("contrib.DeformableConvolution", {"kernel": (3, 3), "pad": (1, 1), "num_filter": 2}, False),
    ("contrib.DeformableConvolution", {"kernel": (2, 2), "stride": (2, 2), "num_filter": 2,
                                       "num_group": 2, "num_deformable_group": 2}, False),
    ("contrib.ModulatedDeformableConvolution", {"kernel": (3, 3), "pad": (1, 1),
                                                "num_filter": 2}, True),
    ("contrib.ModulatedDeformableConvolution", {"kernel": (2, 2), "dilate": (2, 1),
                                                "num_filter": 2, "num_group": 2,
                                                "num_deformable_group": 2}, True),
])
def test_fd_deformable_convolution(func, kwargs, mask):
    k = kwargs["kernel"]
    dg, g = kwargs.get("num_deformable_group", 1), kwargs.get("num_group", 1)
    c, h, w = 2, 4, 4
    n_out = [(x + 2 * p - (d * (kk - 1) + 1)) // s + 1 for x, kk, p, d, s in zip(
        (h, w), k, kwargs.get("pad", (0, 0)), kwargs.get("dilate", (1, 1)),
        kwargs.get("stride", (1, 1)))]
    arrays = {"data": _r(1, c, h, w), "offset": _r(1, 2 * k[0] * k[1] * dg, *n_out, scale=1.3)}
    if mask:
        arrays["mask"] = _r(1, k[0] * k[1] * dg, *n_out, low=0.1, high=1.0)
    arrays["weight"] = _r(2, c // g, *k, seed=2)
    arrays["bias"] = _r(2, seed=3)
    assert _fd_mismatches(func, kwargs, arrays, list(arrays)) == []


@pytest.mark.parametrize("func, kwargs, train", [
    ("contrib.SyncBatchNorm", {"key": "fd", "fix_gamma": False}, True),
    ("contrib.SyncBatchNorm", {"key": "fd", "fix_gamma": False}, False),
    ("contrib.BatchNormWithReLU", {"fix_gamma": False}, True),
    ("contrib.BatchNormWithReLU", {"fix_gamma": False}, False),
])
def test_fd_batch_norms(func, kwargs, train):
    arrays = {"data": _r(3, 2, 2, 2), "gamma": np.array([0.8, 1.3]),
              "beta": np.array([0.1, -0.2]), "moving_mean": np.array([0.1, -0.1]),
              "moving_var": np.array([0.9, 1.2])}
    assert _fd_mismatches(func, kwargs, arrays, ["data", "gamma", "beta"], train=train) == []


# ----------------------------------------------------------------------------------------
# Types, graphs and the Gluon layers on these operators.


def test_infer_type():
    x = mx.sym.var("x")
    s = mx.sym.contrib.SyncBatchNorm(x, key="k", name="bn")
    args, outs, aux = s.infer_type(x="float16")
    assert [np.dtype(t).name for t in args] == ["float16", "float32", "float32"]
    assert [np.dtype(t).name for t in outs] == ["float16"]
    assert [np.dtype(t).name for t in aux] == ["float32", "float32"]
    s = mx.sym.contrib.BatchNormWithReLU(x, name="bn")
    args, outs, aux = s.infer_type(x="float16")
    assert [np.dtype(t).name for t in args] == ["float16", "float32", "float32"]
    s = mx.sym.BilinearSampler(x, mx.sym.var("g"))
    args, outs, _ = s.infer_type(x="float64")
    assert [np.dtype(t).name for t in args + outs] == ["float64"] * 3
    s = mx.sym.contrib.DeformableConvolution(x, mx.sym.var("o"), kernel=(3, 3), num_filter=2)
    args, outs, _ = s.infer_type(x="float64")
    assert [np.dtype(t).name for t in args + outs] == ["float64"] * 5


def test_hidden_outputs_in_internals():
    s = mx.sym.SpatialTransformer(mx.sym.var("x"), mx.sym.var("loc"), target_shape=(2, 3),
                                  transform_type="affine", sampler_type="bilinear", name="st")
    assert s.list_outputs() == ["st_output"]
    names = s.get_internals().list_outputs()
    assert names[-1] == "st_output"
    _, out, _ = s.infer_shape(x=(2, 3, 4, 4), loc=(2, 6))
    assert out == [(2, 3, 2, 3)]


def test_graph_round_trip_and_executor():
    x = mx.sym.var("x")
    off = mx.sym.Convolution(x, kernel=(3, 3), pad=(1, 1), num_filter=18, name="off")
    y = mx.sym.contrib.DeformableConvolution(x, off, kernel=(3, 3), pad=(1, 1), num_filter=4,
                                             name="dcn")
    y = mx.sym.contrib.BilinearResize2D(y, scale_height=2.0, scale_width=2.0, name="up")
    y = mx.sym.Crop(y, num_args=1, h_w=(5, 5), center_crop=True, name="crop")
    z = mx.sym.load_json(y.tojson())
    assert z.tojson() == y.tojson()
    exe = z.simple_bind(mx.cpu(), x=(1, 2, 4, 4))
    rng = np.random.default_rng(0)
    for a in exe.arg_dict.values():
        a[:] = rng.standard_normal(a.shape) * 0.3
    out = exe.forward(is_train=True)[0]
    assert out.shape == (1, 4, 5, 5)
    exe.backward(mx.nd.ones(out.shape))
    assert np.abs(exe.grad_dict["off_weight"].asnumpy()).sum() > 0


def test_gluon_sync_batch_norm_is_batch_norm_on_one_device():
    from mxlite import gluon

    rng = np.random.default_rng(1)
    x = mx.nd.array(rng.standard_normal((4, 3, 2, 2)))
    sbn = gluon.contrib.nn.SyncBatchNorm(in_channels=3, num_devices=1)
    bn = gluon.nn.BatchNorm(in_channels=3)
    for layer in (sbn, bn):
        layer.initialize()
    for p in ("gamma", "beta", "running_mean", "running_var"):
        v = rng.uniform(0.5, 1.5, 3)
        getattr(sbn, p).set_data(mx.nd.array(v))
        getattr(bn, p).set_data(mx.nd.array(v))
    for layer in (sbn, bn):
        layer.hybridize()
    outs = []
    for layer in (sbn, bn):
        xi = x.copy()
        xi.attach_grad()
        with mx.autograd.record():
            y = layer(xi)
        y.backward()
        outs.append((y.asnumpy(), xi.grad.asnumpy(), layer.running_mean.data().asnumpy()))
    for a, b in zip(*outs):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert "_contrib_SyncBatchNorm" in sbn(mx.sym.var("data")).tojson()


def test_gluon_batch_norm_relu():
    from mxlite import gluon

    layer = gluon.nn.BatchNormReLU(in_channels=2)
    layer.initialize()
    x = mx.nd.array(np.random.default_rng(2).standard_normal((3, 2, 2, 2)))
    with mx.autograd.record():
        y = layer(x)
    assert (y.asnumpy() >= 0).all() and (y.asnumpy() > 0).any()


def test_grid_generator_and_sampler_equal_spatial_transformer_in_an_executor():
    # SpatialTransformer is GridGenerator('affine') then BilinearSampler: the same numbers
    # through the executor, hidden outputs included
    data, loc = mx.sym.var("data"), mx.sym.var("loc")
    grid = mx.sym.GridGenerator(loc, transform_type="affine", target_shape=(4, 5))
    two = mx.sym.BilinearSampler(data, grid)
    one = mx.sym.SpatialTransformer(data, loc, target_shape=(4, 5), transform_type="affine",
                                    sampler_type="bilinear")
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 6, 7))
    theta = np.tile([0.8, 0.1, 0.05, -0.2, 1.1, 0.1], (2, 1)) + rng.uniform(-0.1, 0.1, (2, 6))
    head = rng.standard_normal((2, 3, 4, 5))
    results = []
    for sym in (two, one):
        exe = sym.simple_bind(mx.cpu(), data=x.shape, loc=theta.shape)
        exe.arg_dict["data"][:] = x
        exe.arg_dict["loc"][:] = theta
        out = exe.forward(is_train=True)[0].asnumpy()
        exe.backward(mx.nd.array(head))
        results.append((out, exe.grad_dict["data"].asnumpy(), exe.grad_dict["loc"].asnumpy()))
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
