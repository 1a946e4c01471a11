"""Sliding-window kernels against MXNet 1.9.1 (tests/fixtures/gen_window.py made the data)."""

from __future__ import annotations

import ast
import json
import pathlib

import numpy as np
import pytest

from mxlite.ops import _window as W

FIX = pathlib.Path(__file__).parent / "fixtures" / "window"
CASES = json.loads((FIX / "cases.json").read_text())
DATA = np.load(FIX / "data.npz")
RTOL, ATOL = 1e-5, 2e-5


def _tuple(kw: dict, key: str, nd: int, default: int) -> tuple[int, ...]:
    return tuple(ast.literal_eval(kw[key])) if key in kw else (default,) * nd


def assert_close(got: np.ndarray, name: str) -> None:
    want = DATA[name]
    assert got.shape == want.shape, name
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL, err_msg=name)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_window_kernel_matches_mxnet(case):
    n, kw = case["name"], case["kw"]
    x, dy = DATA[f"{n}/in/data"], DATA[f"{n}/dy"]
    nd = x.ndim - 2
    if case["op"] == "Pooling":
        if kw.get("global_pool") == "True":
            kernel, stride, pad = x.shape[2:], (1,) * nd, (0,) * nd
        else:
            kernel = _tuple(kw, "kernel", nd, 1)
            stride, pad = _tuple(kw, "stride", nd, 1), _tuple(kw, "pad", nd, 0)
        args = (kw["pool_type"], kernel, stride, pad, kw.get("pooling_convention", "valid"),
                kw.get("count_include_pad", "True") == "True", int(kw.get("p_value", 2)))
        y = W.pool_forward(x, *args)
        assert_close(y, f"{n}/y")
        assert_close(W.pool_backward(dy, x, y, *args), f"{n}/grad/data")
        return
    w = DATA[f"{n}/in/weight"]
    b = DATA[f"{n}/in/bias"] if f"{n}/in/bias" in DATA else None
    geo = (_tuple(kw, "stride", nd, 1), _tuple(kw, "pad", nd, 0), _tuple(kw, "dilate", nd, 1))
    groups = int(kw.get("num_group", 1))
    if case["op"] == "Convolution":
        y = W.conv_forward(x, w, b, *geo, groups)
        dx, dw, db = W.conv_backward(dy, x, w, *geo, groups)
    else:
        y = W.deconv_forward(x, w, b, *geo, _tuple(kw, "adj", nd, 0), groups)
        dx, dw, db = W.deconv_backward(dy, x, w, *geo, groups)
    assert_close(y, f"{n}/y")
    assert_close(dx, f"{n}/grad/data")
    assert_close(dw, f"{n}/grad/weight")
    if b is not None:
        assert_close(db, f"{n}/grad/bias")


def test_pool_out_sizes():
    assert W.pool_out_size(7, 2, 3, 0, "valid") == 2
    assert W.pool_out_size(7, 2, 3, 0, "full") == 3
    assert W.pool_out_size(7, 3, 2, 0, "same") == 4
    assert W.conv_out_size(9, 3, 2, 1, 1) == 5
    assert W.conv_out_size(8, 3, 1, 2, 2) == 8
