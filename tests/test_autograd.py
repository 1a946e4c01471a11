"""mx.autograd against MXNet 1.9.1 (tests/fixtures/autograd_cases.py, recorded by
gen_autograd.py) and its refusals."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from conftest import DATA

import mxlite as mx
from mxlite import autograd

sys.path.insert(0, str(DATA.parent / "fixtures"))
import autograd_cases  # noqa: E402

EXPECTED = np.load(DATA / "autograd" / "cases.npz")


@pytest.mark.parametrize("case", autograd_cases.CASES, ids=lambda c: c.__name__)
def test_case_matches_mxnet(case):
    got = case(mx)
    names = sorted(k.split("/", 1)[1] for k in EXPECTED.files
                   if k.startswith(case.__name__ + "/"))
    assert sorted(got) == names
    for k, v in got.items():
        v = v.asnumpy() if hasattr(v, "asnumpy") else np.asarray(v)
        want = EXPECTED[f"{case.__name__}/{k}"]
        assert v.shape == want.shape, k
        np.testing.assert_allclose(v, want, rtol=1e-5, atol=1e-6, err_msg=k)


def test_backward_of_unrecorded_head_is_refused():
    x = mx.nd.ones((2,))
    x.attach_grad()
    y = x * 2  # not recorded
    with pytest.raises(mx.MXNetError, match="not in a computational graph"):
        y.backward()


def test_second_backward_needs_retain_graph():
    x = mx.nd.ones((2,))
    x.attach_grad()
    with autograd.record():
        y = (x * 3).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_array_equal(x.grad.asnumpy(), [3, 3])
    with pytest.raises(mx.MXNetError, match="retain_graph=True"):
        y.backward()


def test_grad_create_graph_differentiates_again():
    # (more in test_higher_order.py)
    x = mx.nd.array([1.0, 2.0])
    x.attach_grad()
    with autograd.record():
        y = x * x * x
        (g,) = autograd.grad(y, [x], create_graph=True)
    assert g.asnumpy().tolist() == [3.0, 12.0]
    g.backward()
    assert x.grad.asnumpy().tolist() == [6.0, 12.0]


def test_grad_req_null_leaves_grad():
    x = mx.nd.ones((2,))
    x.attach_grad(grad_req="null")
    w = mx.nd.ones((2,))
    w.attach_grad()
    with autograd.record():
        y = (x * w * 5).sum()
    y.backward()
    np.testing.assert_array_equal(x.grad.asnumpy(), [0, 0])
    np.testing.assert_array_equal(w.grad.asnumpy(), [5, 5])


def test_out_into_recorded_array_is_refused():
    x = mx.nd.ones((2,))
    x.attach_grad()
    with autograd.record():
        y = x * 2
        with pytest.raises(mx.MXNetError, match="computational graph"):
            mx.nd.relu(y, out=y)
        with pytest.raises(mx.MXNetError, match="computational graph"):
            y[0] = 5


def test_operator_without_gradient_names_itself():
    x = mx.nd.array([1.0, 3.0, 2.0])
    x.attach_grad()
    with autograd.record():
        y = mx.nd.argsort(x) * x
    y.backward()  # argsort's output is an input to the product, the gradient stops there
    np.testing.assert_array_equal(x.grad.asnumpy(), [0, 2, 1])


def test_function_called_twice_is_refused():
    class Identity(autograd.Function):
        def forward(self, x):
            return x * 1

        def backward(self, dy):
            return dy

    f = Identity()
    f(mx.nd.ones((1,)))
    with pytest.raises(mx.MXNetError, match="only be called once"):
        f(mx.nd.ones((1,)))


def test_state_is_restored_after_error():
    with pytest.raises(ValueError):
        with autograd.record():
            raise ValueError("boom")
    assert not autograd.is_recording() and not autograd.is_training()


def test_get_symbol_names_as_mxnet():
    x = mx.nd.ones((2, 3))
    x.attach_grad()
    w = mx.nd.ones((3,))
    w.attach_grad()
    with autograd.record():
        y = mx.nd.relu(x * 2) + mx.nd.broadcast_mul(x, w.reshape((1, 3)))
        z = mx.nd.BatchNorm(y.reshape((2, 3, 1, 1)), mx.nd.ones(3), mx.nd.zeros(3),
                            mx.nd.zeros(3), mx.nd.ones(3))
    s = autograd.get_symbol(z)
    # MXNet 1.9.1 gives exactly these lists for the same code.
    assert s.list_arguments() == ["var0", "var1", "null2", "null3"]
    assert s.list_auxiliary_states() == ["null4", "null5"]
    assert [n["name"] for n in __import__("json").loads(s.tojson())["nodes"]
            if n["op"] != "null"] == [f"node_{i}" for i in range(7)]
    exe = s.bind(mx.cpu(), {"var0": x, "var1": w, "null2": mx.nd.ones(3),
                            "null3": mx.nd.zeros(3)},
                 aux_states={"null4": mx.nd.zeros(3), "null5": mx.nd.ones(3)})
    out = exe.forward(is_train=True)[0]  # recorded in training mode: batch statistics
    np.testing.assert_allclose(out.asnumpy(), z.asnumpy(), rtol=1e-6)


def test_an_array_from_a_freed_graph_is_a_constant_later():
    # MXNet's test_cached pattern: y's graph is freed by its backward; a later graph that
    # reads y treats it as a constant, while y itself can no longer be differentiated.
    x = mx.nd.array([1.0, 2.0])
    x.attach_grad()
    with mx.autograd.record():
        y = x * 3
    y.backward()
    np.testing.assert_array_equal(x.grad.asnumpy(), [3.0, 3.0])
    with mx.autograd.record():
        z = y * x
    z.backward()
    np.testing.assert_array_equal(x.grad.asnumpy(), y.asnumpy())  # d(y*x)/dx with y fixed
    with pytest.raises(mx.MXNetError, match="already freed"):
        y.backward()
