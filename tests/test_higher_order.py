"""Higher-order gradients: ``autograd.grad(create_graph=True)`` against MXNet 1.9.1's answers
(tests/data/higher_order, written by tests/fixtures/gen_higher_order.py from the scenarios of
higher_order_cases.py) and, where mxlite goes further than MXNet (broadcast and scalar
arithmetic), against finite differences."""

from __future__ import annotations

import pathlib
import sys
from typing import Any

import numpy as np
import pytest
from gradcheck import numeric_gradient

import mxlite as mx
from mxlite import autograd, nd
from mxlite.base import MXNetError

DATA = pathlib.Path(__file__).parent / "data" / "higher_order" / "grads.npz"
sys.path.insert(0, str(pathlib.Path(__file__).parent / "fixtures"))
import higher_order_cases as cases  # noqa: E402


@pytest.fixture(scope="module")
def mxnet_grads() -> dict[str, np.ndarray]:
    with np.load(DATA) as z:
        return {k: z[k] for k in z.files}


def _stored(grads: dict, prefix: str) -> dict[str, np.ndarray]:
    return {k.split("/", 1)[1]: v for k, v in grads.items() if k.startswith(prefix + "/")}


# MXNet 1.9.1's second derivative of arccosh has the wrong sign (its test runs at x ~ 500-1000,
# where the value, ~1e-9, is inside its tolerance): d/dx (x^2 - 1)^-0.5 = -x (x^2 - 1)^-1.5.
MXNET_SIGN_WRONG = {"arccosh": "d2"}


@pytest.mark.parametrize("name", sorted(cases.UNARY))
def test_unary_orders_match_mxnet(mxnet_grads, name):
    want = _stored(mxnet_grads, name)
    arrays = {k: want[k] for k in cases.inputs(name)}
    np.testing.assert_array_equal(arrays["x"], cases.inputs(name)["x"])
    got = cases.unary(mx, name, arrays)
    assert sorted(got) == [f"d{k}" for k in range(1, cases.UNARY[name][2] + 1)]
    for k, v in got.items():
        assert v.shape == cases.SHAPE and v.dtype == np.float32
        sign = -1 if MXNET_SIGN_WRONG.get(name) == k else 1
        np.testing.assert_allclose(v, sign * want[k], rtol=2e-5, atol=1e-5,
                                   err_msg=f"{name} {k}")


def _fd_penalty(chain: str, a: dict[str, np.ndarray]) -> dict:
    """The penalty's gradients by central differences of its value, in float64."""
    b = {k: np.array(v, np.float64) for k, v in a.items()}

    def value() -> float:
        return float(cases.chain(mx, chain, b, "float64")["penalty"].item())

    return {f"penalty_d{k}": numeric_gradient(value, b[k]) for k in "wbx"}


@pytest.mark.parametrize("chain", cases.CHAINS)
def test_gradient_penalty(mxnet_grads, chain):
    # The input gradient taken with create_graph is MXNet's. MXNet's gradient of the penalty
    # is not: its FullyConnected second order drops the terms through the activation's
    # derivative (the bias gets zeros, and clip_fc's weight too), so finite differences of
    # the penalty, in float64, are the reference; relu_fc, whose activation has no such
    # term, agrees with MXNet as well.
    want = _stored(mxnet_grads, chain)
    a = {k: want[k] for k in "xwbh"}
    got = cases.chain(mx, chain, a)
    np.testing.assert_allclose(got["dx"], want["dx"], rtol=2e-5, atol=2e-6)
    np.testing.assert_allclose(got["penalty"], want["penalty"], rtol=2e-5)
    exact = cases.chain(mx, chain, a, "float64")
    for k, v in _fd_penalty(chain, a).items():
        assert got[k].shape == v.shape and got[k].dtype == np.float32
        np.testing.assert_allclose(exact[k], v, rtol=1e-5, atol=1e-6, err_msg=k)
        np.testing.assert_allclose(got[k], v, rtol=1e-3, atol=1e-4, err_msg=k)
        if chain == "relu_fc":
            np.testing.assert_allclose(got[k], want[k], rtol=2e-5, atol=2e-5, err_msg=k)


def test_mxnet_exp_gradient_case():
    # MXNet's test_autograd.py::test_gradient, to 1e-7: exp(1) rounds as glibc's expf does
    x = nd.ones((1,))
    x.attach_grad()
    with autograd.record():
        z = nd.elemwise_add(nd.exp(x), x)
    (dx,) = autograd.grad(z, [x], create_graph=True)
    assert dx.asnumpy().tolist() == [np.float32(np.e) + np.float32(1)]
    dx.backward()
    assert x.grad.asnumpy().tolist() == [np.float32(np.e)]
    assert abs(x.grad.asscalar() - 2.71828175) < 1e-7


def test_arcsinh_second_order_is_the_true_one():
    # MXNet 1.9.1 returns +x / (x^2 + 1)^1.5 (its test asserts that sign); the derivative of
    # 1 / sqrt(x^2 + 1) is -x / (x^2 + 1)^1.5
    x0 = np.array([-1.5, -0.2, 0.4, 2.0], np.float32)
    x = nd.array(x0)
    x.attach_grad()
    with autograd.record():
        d1 = autograd.grad(nd.arcsinh(x), x, create_graph=True, retain_graph=True)[0]
        d2 = autograd.grad(d1, x)[0]
    np.testing.assert_allclose(d1.asnumpy(), 1 / np.sqrt(x0 * x0 + 1), rtol=1e-6)
    np.testing.assert_allclose(d2.asnumpy(), -x0 / (x0 * x0 + 1) ** 1.5, rtol=1e-5)


def _broadcast_expr(x, y):
    return (x * y + x / y - (x ** 2) * 3 + 2 ** x) * (y - 0.5) ** 3 - 1 / y


def _fd_second(f, x0: np.ndarray, y0: np.ndarray, eps: float = 1e-4) -> tuple:
    """d/dx (sum of df/dx) and d/dy (sum of df/dx) by central differences of the numeric
    first derivative's sum, in float64."""
    x, y = np.array(x0, np.float64), np.array(y0, np.float64)

    def dfdx_sum() -> float:
        return float((f(x + eps, y) - f(x - eps, y)).sum()) / (2 * eps)

    return numeric_gradient(dfdx_sum, x, eps), numeric_gradient(dfdx_sum, y, eps)


def test_broadcast_and_scalar_arithmetic_second_order():
    # beyond MXNet 1.9.1, whose _backward_broadcast_mul and _backward_mul_scalar have no
    # gradient: checked against finite differences in float64
    r = np.random.default_rng(7)
    x0, y0 = r.uniform(0.5, 1.5, (3, 4)), r.uniform(0.8, 1.6, (1, 4))
    x, y = nd.array(x0, dtype="float64"), nd.array(y0, dtype="float64")
    x.attach_grad()
    y.attach_grad()
    with autograd.record():
        gx = autograd.grad(_broadcast_expr(x, y), x, create_graph=True, retain_graph=True)[0]
        dxx, dxy = autograd.grad(gx, [x, y], retain_graph=True)
    want_x, want_y = _fd_second(_broadcast_expr, x0, y0)
    assert dxx.shape == (3, 4) and dxy.shape == (1, 4)
    np.testing.assert_allclose(dxx.asnumpy(), want_x, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(dxy.asnumpy(), want_y, rtol=1e-5, atol=1e-6)


def test_gradient_independent_of_the_variable_differentiates_to_zeros():
    x = nd.array([0.5, -1.0, 2.0])
    x.attach_grad()
    with autograd.record():
        d1 = autograd.grad(nd.radians(x) - x * 2, x, create_graph=True, retain_graph=True)[0]
        d2 = autograd.grad(d1, x)[0]
    np.testing.assert_allclose(d1.asnumpy(), [np.pi / 180 - 2] * 3, rtol=1e-6)
    assert d2.asnumpy().tolist() == [0.0, 0.0, 0.0]


def test_operator_without_graph_gradient_gives_values_then_refuses():
    # softmax's gradient is a kernel only: right values, refused one order up, naming the
    # gradient operator as MXNet does
    x0 = np.array([[0.1, 0.5, -0.3]], np.float32)
    x = nd.array(x0)
    x.attach_grad()
    with autograd.record():
        y = nd.softmax(x) * nd.array([[1.0, 2.0, 3.0]])
        d1 = autograd.grad(y, x, create_graph=True, retain_graph=True)[0]
    x2 = nd.array(x0)
    x2.attach_grad()
    with autograd.record():
        y2 = nd.softmax(x2) * nd.array([[1.0, 2.0, 3.0]])
    y2.backward()
    np.testing.assert_allclose(d1.asnumpy(), x2.grad.asnumpy(), rtol=1e-6)
    with pytest.raises(MXNetError, match="_backward_softmax has no gradient"):
        with autograd.record():
            autograd.grad(d1, x)


def test_first_order_values_unchanged_by_create_graph():
    r = np.random.default_rng(3)
    x0 = r.uniform(0.2, 2, (4, 5)).astype(np.float32)
    grads = []
    for create in (False, True):
        x = nd.array(x0)
        x.attach_grad()
        with autograd.record():
            y = nd.log(x) * nd.sin(x) + nd.sqrt(x) / (x + 1)
            grads.append(autograd.grad(y, x, create_graph=create)[0].asnumpy())
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-6, atol=1e-7)
    assert grads[0].dtype == grads[1].dtype == np.float32


def _wgan_penalty(net: Any, x0: np.ndarray) -> Any:
    """WGAN-GP's penalty: sum over samples of (|d net / d x|^2 - 1)^2, the input gradient
    taken with create_graph (so the penalty differentiates in the parameters)."""
    x = nd.array(x0, dtype="float64")
    x.attach_grad()
    with autograd.record():
        gx = autograd.grad(net(x), x, create_graph=True, retain_graph=True)[0]
        return ((gx.reshape((x0.shape[0], -1)) ** 2).sum(axis=1) - 1).square().sum()


def _parameter_gradients(net: Any, x0: np.ndarray) -> dict:
    """{parameter: (autograd's gradient of the penalty, central differences of it)},
    float64."""
    _wgan_penalty(net, x0).backward()
    out = {}
    for p in net.collect_params().values():
        got, data = p.grad().asnumpy().copy(), p.data().asnumpy().copy()

        def value(p: Any = p, data: np.ndarray = data) -> float:
            p.set_data(nd.array(data, dtype="float64"))
            return _wgan_penalty(net, x0).asscalar()

        out[p.name] = (got, numeric_gradient(value, data))
        p.set_data(nd.array(data, dtype="float64"))
    return out


@pytest.mark.parametrize("act", ["relu", "sigmoid", "tanh", "softrelu", "softsign", "leaky",
                                 "elu"])
def test_gluon_gradient_penalty_through_activation(act):
    # WGAN-GP's penalty with Gluon layers: the input gradient of a two-layer critic, taken
    # with create_graph, squared and differentiated with respect to every parameter; each
    # checked against central differences of the penalty, in float64
    r = np.random.default_rng(11)
    x0 = r.uniform(-1.5, 1.5, (4, 3))
    net = mx.gluon.nn.Sequential()
    if act == "leaky":
        net.add(mx.gluon.nn.Dense(5, in_units=3), mx.gluon.nn.LeakyReLU(0.2))
    elif act == "elu":
        net.add(mx.gluon.nn.Dense(5, in_units=3), mx.gluon.nn.ELU(0.7))
    else:
        net.add(mx.gluon.nn.Dense(5, activation=act, in_units=3))
    net.add(mx.gluon.nn.Dense(1, in_units=5))
    net.initialize(mx.init.Normal(0.8))
    net.cast("float64")
    for name, (got, want) in _parameter_gradients(net, x0).items():
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=name)


@pytest.mark.parametrize("layer", ["conv", "conv_nobias_strided", "deconv", "conv_avgpool"])
def test_gradient_penalty_through_convolutions(layer):
    # A DCGAN-style critic, beyond MXNet 1.9.1 (_backward_Convolution has no gradient there):
    # the penalty's gradient in every parameter against central differences, in float64
    r = np.random.default_rng(5)
    x0 = r.uniform(-1, 1, (2, 2, 6, 6))
    nn = mx.gluon.nn
    net = nn.Sequential()
    if layer == "conv":
        net.add(nn.Conv2D(3, 3, padding=1, in_channels=2))
    elif layer == "conv_nobias_strided":
        net.add(nn.Conv2D(3, 3, strides=2, use_bias=False, in_channels=2))
    elif layer == "deconv":
        net.add(nn.Conv2DTranspose(3, 3, strides=2, in_channels=2))
    else:
        net.add(nn.Conv2D(3, 3, in_channels=2), nn.AvgPool2D(2))
    net.add(nn.LeakyReLU(0.2), nn.Flatten(), nn.Dense(1))
    net.initialize(mx.init.Normal(0.5))
    net.cast("float64")
    net(nd.array(x0, dtype="float64"))  # deferred shapes
    for name, (got, want) in _parameter_gradients(net, x0).items():
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=name)


def _second_order(f, x0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """d/dx sum(d f / d x) by create_graph, and by central differences of the first-order
    gradient's sum, in float64."""
    x0 = np.array(x0, np.float64)

    def first_sum() -> float:
        v = nd.array(x0, dtype="float64")
        v.attach_grad()
        with autograd.record():
            return float(autograd.grad(f(v), v)[0].asnumpy().sum())

    x = nd.array(x0, dtype="float64")
    x.attach_grad()
    with autograd.record():
        g = autograd.grad(f(x), x, create_graph=True, retain_graph=True)[0]
        second = autograd.grad(g, x)[0].asnumpy()
    return second, numeric_gradient(first_sum, x0)


@pytest.mark.parametrize("reduce", ["sum", "mean", "max", "prod"])
def test_reductions_second_order(reduce):
    # d/dx of sum(d/dx f) for f = reduce(tanh(x) * x, axis=1), against finite differences
    r = np.random.default_rng(9)
    x0 = r.uniform(0.3, 1.5, (3, 4))

    def f(v):
        return getattr(nd, reduce)(nd.tanh(v) * v, axis=1)

    second, want = _second_order(f, x0)
    np.testing.assert_allclose(second, want, rtol=1e-5, atol=1e-6)


def test_shape_operators_second_order():
    # transpose, reshape, expand_dims and squeeze between the nonlinearities, to any order
    r = np.random.default_rng(4)
    x0 = r.uniform(-1, 1, (2, 3))
    c0 = r.uniform(-1, 1, (3, 1, 2))

    def f(v):
        t = nd.tanh(v).transpose().expand_dims(axis=1)
        return (nd.sin(t.reshape((3, 1, 2)) * nd.array(c0, dtype="float64")).squeeze() * v.T)

    second, want = _second_order(f, x0)
    np.testing.assert_allclose(second, want, rtol=1e-5, atol=1e-6)
