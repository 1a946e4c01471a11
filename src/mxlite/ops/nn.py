"""Neural-network layers: FullyConnected, Convolution, Pooling, the norms, activations, Dropout.

Each operator's forward and backward kernels sit next to its declaration. Float16 data is
computed in float32 (MXNet's accumulation type) and cast back; statistics such as BatchNorm's
are kept in float32 for it, as MXNet does.
"""

from __future__ import annotations

import math

import numpy as np

from ..base import MXNetError
from . import _window
from ._util import (
    BOOL,
    F32,
    FLOAT,
    INT,
    OPT_BOOL,
    OPT_FLOAT,
    OPT_INT,
    SHAPE,
    P,
    assign,
    assign_type,
    axis_of,
    declare,
    dtypes,
    enum,
    fail,
    like_data,
    opt_dtypes,
    opt_enum,
    size_of,
)
from .elemwise import NP_MATH
from .registry import Attrs, bilinear_grad_graph, linear_grad_graph, same_shape, same_type

# ----------------------------------------------------------------------------------------
# Shared kernel helpers.


def _acc(x: np.ndarray) -> np.ndarray:
    """``x`` in its accumulation dtype: float16 (and smaller) computes in float32."""
    return x.astype(np.float32) if x.dtype.kind == "f" and x.dtype.itemsize < 4 else x


def _along(v: np.ndarray, axis: int, ndim: int) -> np.ndarray:
    """A per-channel vector shaped to broadcast along ``axis`` of an ``ndim``-d array."""
    shape = [1] * ndim
    shape[axis] = -1
    return v.reshape(shape)


def _out_buffer(x: np.ndarray, ctx, pos: int = 0) -> np.ndarray | None:
    """``x`` itself when the executor says its buffer is dead after this operator."""
    return x if pos in ctx.inplace and x.flags.writeable else None


def _normalized(x: np.ndarray, axes: tuple, eps: float):
    """(x - mean) / sqrt(var + eps) over ``axes`` (kept), with the mean and that std."""
    mean = x.mean(axis=axes, keepdims=True)
    xhat = x - mean
    std = np.sqrt(np.square(xhat).mean(axis=axes, keepdims=True) + eps)
    xhat /= std
    return xhat, mean, std


def _normalized_grad(g: np.ndarray, xhat: np.ndarray, std: np.ndarray, axes: tuple
                     ) -> np.ndarray:
    """d/dx of the normalisation above for the gradient ``g`` of ``xhat``:
    (g - mean(g) - xhat * mean(g * xhat)) / std, the means over ``axes``."""
    dx = xhat * -(g * xhat).mean(axis=axes, keepdims=True)
    dx += g
    dx -= g.mean(axis=axes, keepdims=True)
    dx /= std
    return dx


# ----------------------------------------------------------------------------------------
# FullyConnected


def _weighted_inputs(attrs: Attrs) -> tuple[str, ...]:
    # FullyConnected, Convolution, Deconvolution: the bias input exists unless no_bias.
    return ("data", "weight") if attrs.no_bias else ("data", "weight", "bias")


def _fc_shape(attrs: Attrs, ins: list, outs: list):
    names = attrs.op.list_inputs(attrs)
    d = ins[0]
    if d is None:
        return ins, outs
    if attrs.flatten and 0 in d[1:]:
        raise fail(attrs, f"data of shape {d} must have its non-batch dims known to be "
                          "flattened (flatten=True)")
    num_input = size_of(d[1:]) if attrs.flatten else d[-1]
    assign(attrs, ins, 1, (attrs.num_hidden, num_input), names)
    if not attrs.no_bias:
        b = ins[2]
        if not (b is not None and tuple(b) == (attrs.num_hidden, 1)):
            assign(attrs, ins, 2, (attrs.num_hidden,), names)
    out = (*d[:-1], attrs.num_hidden) if not attrs.flatten else (d[0], attrs.num_hidden)
    assign(attrs, outs, 0, out, ["output"])
    if outs[0] is not None:
        assign(attrs, ins, 0, (outs[0][0], *d[1:]), names)
    return ins, outs


def _fc_forward(attrs, inputs, ctx):
    # y = x W^T + b, one GEMM; flatten=False applies it to the last axis.
    x, w = inputs[0], inputs[1]
    rows = x.shape[0] if attrs.flatten else -1
    # Through _window.gemm, as the convolutions' products: numpy's multi-threaded BLAS
    # leaves its pool threads spinning for ~0.1 s after a call, taking a core from the
    # kernels' threads (ResNet-18's classifier slowed the next forward's stem 1.6x).
    y = _window.gemm(_acc(x).reshape(rows, w.shape[1]), _acc(w).T)
    if not attrs.no_bias:
        y += _acc(inputs[2]).reshape(-1)
    out_shape = (x.shape[0], w.shape[0]) if attrs.flatten else (*x.shape[:-1], w.shape[0])
    return [y.reshape(out_shape).astype(x.dtype, copy=False)]


def _fc_backward(attrs, out_grads, inputs, outputs, ctx):
    # dx = dy W, dW = dy^T x, db = sum(dy) over rows.
    x, w = inputs[0], inputs[1]
    dy = _acc(out_grads[0]).reshape(-1, w.shape[0])
    dx = _shaped(dy @ _acc(w), x) if ctx.wants(0) else None
    dw = ((dy.T @ _acc(x).reshape(dy.shape[0], -1)).astype(w.dtype, copy=False)
          if ctx.wants(1) else None)
    if attrs.no_bias:
        return [dx, dw]
    return [dx, dw, _shaped(dy.sum(axis=0), inputs[2])]


def _fc_grad_graph(F, attrs, out_grads, inputs, outputs, ctx):
    # _fc_backward's products as operators, for gradients differentiated again
    x, w = inputs[0], inputs[1]
    dy = out_grads[0].reshape((-1, w.shape[0]))
    grads = [F.dot(dy, w).reshape(x.shape),
             F.dot(dy, x.reshape((dy.shape[0], -1)), transpose_a=True)]
    return grads if attrs.no_bias else [*grads, F.sum(dy, axis=0)]


def _shaped(g: np.ndarray, like: np.ndarray) -> np.ndarray:
    # A fresh array, not a view, when no reshape is needed: the executor can then adopt it as
    # the gradient buffer instead of copying it.
    if g.shape != like.shape:
        g = g.reshape(like.shape)
    return g.astype(like.dtype, copy=False)


declare(
    "FullyConnected", "_npx_fully_connected", "_sparse_FullyConnected",
    params={"num_hidden": P(INT), "no_bias": P(BOOL, False), "flatten": P(BOOL, True)},
    inputs=_weighted_inputs,
    infer_shape=_fc_shape, forward=_fc_forward, backward=_fc_backward,
    grad_graph=_fc_grad_graph,
)

# ----------------------------------------------------------------------------------------
# Convolution / Deconvolution / Pooling share layouts: shapes are converted to N, C, spatial.

_LAYOUTS = ("NCW", "NCHW", "NCDHW", "NHWC", "NDHWC", "NWC")
_CANON = {1: "NCW", 2: "NCHW", 3: "NCDHW"}


def _layout(attrs: Attrs, k: int) -> str:
    lay = attrs.layout or _CANON.get(k)
    if lay is None or len(lay) != k + 2:
        raise fail(attrs, f"layout {attrs.layout!r} does not fit a {k}-d kernel")
    return lay


def _to_nc(shape: tuple | None, lay: str) -> tuple | None:
    if shape is None:
        return None
    canon = _CANON[len(lay) - 2]
    return tuple(shape[lay.index(c)] for c in canon)


def _from_nc(shape: tuple | None, lay: str) -> tuple | None:
    if shape is None:
        return None
    canon = _CANON[len(lay) - 2]
    return tuple(shape[canon.index(c)] for c in lay)


def _nc_array(a: np.ndarray, lay: str) -> np.ndarray:
    """A view of ``a`` (data or weight laid out as ``lay``) in channel-first order."""
    if lay.startswith("NC"):
        return a
    canon = _CANON[len(lay) - 2]
    return a.transpose([lay.index(c) for c in canon])


def _from_nc_array(a: np.ndarray, lay: str) -> np.ndarray:
    if lay.startswith("NC"):
        return a
    canon = _CANON[len(lay) - 2]
    return np.ascontiguousarray(a.transpose([canon.index(c) for c in lay]))


def _conv_params(no_bias: bool, workspace: int, deconv: bool) -> dict:
    p = {
        "kernel": P(SHAPE), "stride": P(SHAPE, ()), "dilate": P(SHAPE, ()), "pad": P(SHAPE, ()),
    }
    if deconv:
        p.update(adj=P(SHAPE, ()), target_shape=P(SHAPE, ()))
    p.update({
        "num_filter": P(INT), "num_group": P(INT, 1), "workspace": P(INT, workspace),
        "no_bias": P(BOOL, no_bias),
        "cudnn_tune": P(opt_enum("fastest", "limited_workspace", "off"), None),
        "cudnn_off": P(BOOL, False), "layout": P(opt_enum(*_LAYOUTS[:5]), None),
    })
    return p


def _spatial(attrs: Attrs, k: int):
    def get(name, fill):
        v = attrs.get(name) or (fill,) * k
        if len(v) != k:
            raise fail(attrs, f"{name}={v} must have {k} dims like kernel={attrs.kernel}")
        return v
    return get("stride", 1), get("dilate", 1), get("pad", 0)


def _conv_shape(attrs: Attrs, ins: list, outs: list):
    names = attrs.op.list_inputs(attrs)
    k = len(attrs.kernel)
    if k not in (1, 2, 3):
        raise fail(attrs, f"kernel={attrs.kernel} must have 1, 2 or 3 dims")
    lay = _layout(attrs, k)
    stride, dilate, pad = _spatial(attrs, k)
    if ins[0] is None:
        return ins, outs
    if len(ins[0]) != k + 2:
        raise fail(attrs, f"data of shape {ins[0]} must have {k + 2} dims for kernel "
                          f"{attrs.kernel}")
    d = _to_nc(ins[0], lay)
    g = attrs.num_group
    if attrs.num_filter % g or d[1] % g:
        raise fail(attrs, f"num_filter={attrs.num_filter} and the {d[1]} input channels must "
                          f"divide by num_group={g}")
    assign(attrs, ins, 1, _from_nc((attrs.num_filter, d[1] // g, *attrs.kernel), lay), names)
    if not attrs.no_bias:
        assign(attrs, ins, 2, (attrs.num_filter,), names)
    dk = [1 + (kk - 1) * dl for kk, dl in zip(attrs.kernel, dilate)]
    sp = []
    for i in range(k):
        x = d[2 + i]
        if x and dk[i] > x + 2 * pad[i]:
            raise fail(attrs, f"kernel size {attrs.kernel} (dilated {tuple(dk)}) exceeds "
                              f"the padded input {ins[0]}")
        sp.append((x + 2 * pad[i] - dk[i]) // stride[i] + 1 if x else 0)
    assign(attrs, outs, 0, _from_nc((d[0], attrs.num_filter, *sp), lay), ["output"])
    # Back-fill the batch, and the spatial dims where stride 1 makes them recoverable.
    o = _to_nc(outs[0], lay)
    back = [o[0], d[1]]
    for i in range(k):
        x = d[2 + i]
        if o[2 + i] and stride[i] == 1:
            x = o[2 + i] + dk[i] - 1 - 2 * pad[i]
        back.append(x)
    assign(attrs, ins, 0, _from_nc(tuple(back), lay), names)
    return ins, outs


def _conv_geometry(attrs: Attrs) -> tuple[str, tuple, tuple, tuple]:
    """(layout, stride, pad, dilate) with MXNet's defaults filled in."""
    k = len(attrs.kernel)
    stride, dilate, pad = _spatial(attrs, k)
    return _layout(attrs, k), tuple(stride), tuple(pad), tuple(dilate)


def _conv_forward(attrs, inputs, ctx):
    lay, stride, pad, dilate = _conv_geometry(attrs)
    x, w = inputs[0], inputs[1]
    b = None if attrs.no_bias else _acc(inputs[2])
    y = _window.conv_forward(_acc(_nc_array(x, lay)), _acc(_nc_array(w, lay)), b, stride, pad,
                             dilate, attrs.num_group)
    return [_from_nc_array(y, lay).astype(x.dtype, copy=False)]


def conv_batchnorm_inference(conv: Attrs, bn: Attrs, inputs: list,
                             act: tuple | None = None, geometry: tuple | None = None
                             ) -> np.ndarray:
    """``BatchNorm(Convolution(x, w, b))`` in inference as one convolution (the executor's
    folded step for a channel-first convolution read only by a BatchNorm on axis 1).

    ``inputs`` are the convolution's then BatchNorm's gamma, beta, moving mean and variance.
    BatchNorm with moving statistics is ``y * scale + shift`` per channel: the scale rides in
    the convolution (on the weights or the output, whichever is smaller) and the shift, with
    the convolution's bias, is its bias. Computed from the current arrays on every call, so
    weights and statistics changed in place are always seen. ``act = (lo, hi)`` clips the
    result in the same step (a fused ReLU or ``clip``, see :func:`fused_clip_bounds`).
    ``geometry`` is :func:`_conv_geometry` of ``conv`` when the caller keeps it.
    """
    n_conv = 2 if conv.no_bias else 3
    x, w = inputs[0], inputs[1]
    _, stride, pad, dilate = geometry or _conv_geometry(conv)
    xa, wa = _acc(x), _acc(w)
    scale, shift = _batchnorm_fold(bn, inputs[n_conv:n_conv + 4],
                                   _acc(inputs[2]) if n_conv == 3 else None, wa.dtype)
    y = _window.conv_forward(xa, wa, shift, stride, pad, dilate, conv.num_group, scale=scale,
                             act=act)
    return y.astype(x.dtype, copy=False)


def depthwise_pointwise_inference(dw: Attrs, dw_bn: Attrs, dw_inputs: list,
                                  dw_act: tuple | None, dw_geometry: tuple, pw: Attrs,
                                  pw_bn: Attrs, pw_inputs: list, pw_act: tuple | None
                                  ) -> np.ndarray:
    """Two :func:`conv_batchnorm_inference` steps in one: a depthwise convolution's and that
    of the 1x1 convolution reading only its output (the executor's fused step).
    ``pw_inputs`` are the second's inputs without its data. Float32 and float64 only: a
    float16 network rounds the intermediate to float16 between the two, which the caller
    keeps as two steps."""
    nd = 2 if dw.no_bias else 3
    x, wd = dw_inputs[0], dw_inputs[1]
    _, stride, pad, dilate = dw_geometry
    sd, bd = _batchnorm_fold(dw_bn, dw_inputs[nd:nd + 4],
                             dw_inputs[2] if nd == 3 else None, wd.dtype)
    npw = 1 if pw.no_bias else 2
    wp = pw_inputs[0]
    sp, bp = _batchnorm_fold(pw_bn, pw_inputs[npw:npw + 4],
                             pw_inputs[1] if npw == 2 else None, wp.dtype)
    return _window.depthwise_pointwise(x, wd, stride, pad, dilate, dw.num_group, sd, bd,
                                       dw_act, wp, sp, bp, pw_act)


def expand_depthwise_pointwise_inference(ex: Attrs, ex_bn: Attrs, ex_inputs: list,
                                         ex_act: tuple | None, dw: Attrs, dw_bn: Attrs,
                                         dw_inputs: list, dw_act: tuple | None,
                                         dw_geometry: tuple, pw: Attrs, pw_bn: Attrs,
                                         pw_inputs: list, pw_act: tuple | None,
                                         memo: dict | None = None, residual: bool = False
                                         ) -> np.ndarray:
    """Three :func:`conv_batchnorm_inference` steps in one: a 1x1 convolution, the depthwise
    convolution reading only its output, and the 1x1 convolution reading only that
    (MobileNet V2's inverted residual block, the executor's fused step). ``dw_inputs`` and
    ``pw_inputs`` are without their data. Float32 and float64 only, as
    :func:`depthwise_pointwise_inference`. ``memo``, ``residual`` (the block's input added to
    the result): see :func:`_window.expand_depthwise_pointwise`."""
    ne = 2 if ex.no_bias else 3
    x, we = ex_inputs[0], ex_inputs[1]
    se, be = _batchnorm_fold(ex_bn, ex_inputs[ne:ne + 4], ex_inputs[2] if ne == 3 else None,
                             we.dtype)
    nd = 1 if dw.no_bias else 2
    wd = dw_inputs[0]
    _, stride, pad, dilate = dw_geometry
    sd, bd = _batchnorm_fold(dw_bn, dw_inputs[nd:nd + 4], dw_inputs[1] if nd == 2 else None,
                             wd.dtype)
    npw = 1 if pw.no_bias else 2
    wp = pw_inputs[0]
    sp, bp = _batchnorm_fold(pw_bn, pw_inputs[npw:npw + 4],
                             pw_inputs[1] if npw == 2 else None, wp.dtype)
    return _window.expand_depthwise_pointwise(x, we, se, be, ex_act, wd, stride, pad, dilate,
                                              dw.num_group, sd, bd, dw_act, wp, sp, bp,
                                              pw_act, memo, residual)


# (id(attrs), dtype) -> (attrs, eps, 1, use gamma) of a BatchNorm, in the dtype: what its
# attributes fix (a few microseconds of attribute lookups per layer and forward otherwise).
_FOLD_CONSTS: dict = {}


def _batchnorm_fold(bn: Attrs, stats: list, bias: np.ndarray | None, dt: np.dtype
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Inference BatchNorm as ``(scale, shift)`` in ``dt`` from gamma, beta, moving mean and
    variance (``stats``), the shift taking a preceding convolution's ``bias`` along; one
    compiled pass where the kernels are on (a dozen small numpy calls otherwise, per layer
    and forward)."""
    gamma, beta, mean, var = stats
    jm = _window.jit()
    if jm is not None and var.dtype == dt and jm.dtype_ok(
            var, gamma, beta, mean, var if bias is None else bias):
        consts = _FOLD_CONSTS.get((id(bn), dt))
        if consts is None or consts[0] is not bn:
            if len(_FOLD_CONSTS) > 4096:
                _FOLD_CONSTS.clear()
            consts = _FOLD_CONSTS[id(bn), dt] = (bn, dt.type(bn.eps), dt.type(1),
                                                 not bn.fix_gamma)
        scale, shift = np.empty(var.shape, dt), np.empty(var.shape, dt)
        jm.batchnorm_fold(var, gamma, beta, mean, beta if bias is None else bias, *consts[1:],
                          bias is not None, scale, shift)
        return scale, shift
    scale = np.sqrt(var.astype(dt, copy=False) + dt.type(bn.eps))
    np.reciprocal(scale, out=scale)
    if not bn.fix_gamma:
        scale *= gamma
    shift = beta - mean * scale
    if bias is not None:
        shift += bias * scale
    return scale, shift.astype(dt, copy=False)


def fused_clip_bounds(op_name: str, attrs: Attrs, dtype: np.dtype) -> tuple | None:
    """``(lo, hi)`` in ``dtype`` when the activation ``op_name`` (``Activation``, ``relu`` or
    ``clip``) on an input of ``dtype`` is a clip the convolution's epilogue can apply with
    the same result as the operator's own kernel; else None (the executor runs the kernel)."""
    if dtype not in (np.float32, np.float64):
        return None
    dt = np.dtype(dtype).type
    if op_name == "relu" or (op_name == "Activation" and attrs.act_type == "relu"):
        return dt(0), dt(np.inf)
    if op_name == "clip":
        # The bounds as the clip kernel holds them: float32 parameters met in the input dtype.
        return dt(np.float32(attrs.a_min)), dt(np.float32(attrs.a_max))
    return None


def _grad_from_nc(g: np.ndarray | None, lay: str, dtype: np.dtype) -> np.ndarray | None:
    return None if g is None else _from_nc_array(g, lay).astype(dtype, copy=False)


def _window_grads(attrs: Attrs, inputs: list, lay: str, dx, dw, db) -> list:
    """(De)convolution gradients back in the op's layout and the inputs' dtypes."""
    grads = [_grad_from_nc(dx, lay, inputs[0].dtype), _grad_from_nc(dw, lay, inputs[1].dtype)]
    if not attrs.no_bias:
        grads.append(db.astype(inputs[2].dtype, copy=False))
    return grads


def _conv_backward(attrs, out_grads, inputs, outputs, ctx):
    lay, stride, pad, dilate = _conv_geometry(attrs)
    x, w = inputs[0], inputs[1]
    dx, dw, db = _window.conv_backward(
        _acc(_nc_array(out_grads[0], lay)), _acc(_nc_array(x, lay)), _acc(_nc_array(w, lay)),
        stride, pad, dilate, attrs.num_group, need_dx=ctx.wants(0), need_dw=ctx.wants(1))
    return _window_grads(attrs, inputs, lay, dx, dw, db)


declare(
    "Convolution", "_npx_convolution",
    params=_conv_params(no_bias=False, workspace=1024, deconv=False),
    inputs=_weighted_inputs,
    infer_shape=_conv_shape, forward=_conv_forward, backward=_conv_backward,
    grad_graph=bilinear_grad_graph,
)


def _deconv_spatial(attrs: Attrs, d: tuple, k: int) -> list[int]:
    """Output spatial sizes: from ``target_shape`` where given (MXNet then derives pad and adj
    from it), else ``stride * (in - 1) + dilated kernel - 2 * pad + adj``."""
    stride, dilate, pad = _spatial(attrs, k)
    adj = attrs.adj or (0,) * k
    target = attrs.target_shape or (0,) * k
    out = []
    for i in range(k):
        x = d[2 + i]
        if target[i]:
            out.append(target[i])
        elif x:
            dk = 1 + (attrs.kernel[i] - 1) * dilate[i]
            out.append(stride[i] * (x - 1) + dk - 2 * pad[i] + adj[i])
        else:
            out.append(0)
    return out


def _deconv_shape(attrs: Attrs, ins: list, outs: list):
    names = attrs.op.list_inputs(attrs)
    k = len(attrs.kernel)
    if k not in (1, 2, 3):
        raise fail(attrs, f"kernel={attrs.kernel} must have 1, 2 or 3 dims")
    lay = _layout(attrs, k)
    if ins[0] is None:
        return ins, outs
    if len(ins[0]) != k + 2:
        raise fail(attrs, f"data of shape {ins[0]} must have {k + 2} dims for kernel "
                          f"{attrs.kernel}")
    d = _to_nc(ins[0], lay)
    g = attrs.num_group
    if attrs.num_filter % g or d[1] % g:
        raise fail(attrs, f"num_filter={attrs.num_filter} and the {d[1]} input channels must "
                          f"divide by num_group={g}")
    assign(attrs, ins, 1, _from_nc((d[1], attrs.num_filter // g, *attrs.kernel), lay), names)
    if not attrs.no_bias:
        assign(attrs, ins, 2, (attrs.num_filter,), names)
    sp = _deconv_spatial(attrs, d, k)
    assign(attrs, outs, 0, _from_nc((d[0], attrs.num_filter, *sp), lay), ["output"])
    o = _to_nc(outs[0], lay)
    assign(attrs, ins, 0, _from_nc((o[0], *d[1:]), lay), names)
    return ins, outs


def _deconv_geometry(attrs: Attrs, spatial: tuple) -> tuple[str, tuple, tuple, tuple, tuple]:
    """(layout, stride, pad, dilate, adj). A ``target_shape`` overrides pad and adj as MXNet's
    InferPad does: the surplus of the unpadded output over the target, halved (rounding up)
    into pad, its parity into adj (only along dims whose target is given, as shape inference
    reads it)."""
    lay, stride, pad, dilate = _conv_geometry(attrs)
    k = len(attrs.kernel)
    adj = list(attrs.adj or (0,) * k)
    pad = list(pad)
    target = attrs.target_shape or ()
    if any(target) and len(target) != k:
        raise fail(attrs, f"target_shape={target} must have {k} dims")
    for i, t in enumerate(target):
        if t:
            surplus = stride[i] * (spatial[i] - 1) + 1 + (attrs.kernel[i] - 1) * dilate[i] - t
            if surplus < 0:
                raise fail(attrs, f"target_shape={target} is too big for input of spatial "
                                  f"shape {tuple(spatial)}")
            pad[i], adj[i] = (surplus + 1) // 2, surplus % 2
    return lay, stride, tuple(pad), dilate, tuple(adj)


def _deconv_forward(attrs, inputs, ctx):
    x, w = inputs[0], inputs[1]
    xn = _nc_array(x, _layout(attrs, len(attrs.kernel)))
    lay, stride, pad, dilate, adj = _deconv_geometry(attrs, xn.shape[2:])
    b = None if attrs.no_bias else _acc(inputs[2])
    y = _window.deconv_forward(_acc(xn), _acc(_nc_array(w, lay)), b, stride, pad, dilate, adj,
                               attrs.num_group)
    return [_from_nc_array(y, lay).astype(x.dtype, copy=False)]


def _deconv_backward(attrs, out_grads, inputs, outputs, ctx):
    x, w = inputs[0], inputs[1]
    xn = _nc_array(x, _layout(attrs, len(attrs.kernel)))
    lay, stride, pad, dilate, _ = _deconv_geometry(attrs, xn.shape[2:])
    dx, dw, db = _window.deconv_backward(
        _acc(_nc_array(out_grads[0], lay)), _acc(xn), _acc(_nc_array(w, lay)), stride, pad,
        dilate, attrs.num_group, need_dx=ctx.wants(0), need_dw=ctx.wants(1))
    return _window_grads(attrs, inputs, lay, dx, dw, db)


declare(
    "Deconvolution", "_npx_deconvolution",
    params=_conv_params(no_bias=True, workspace=512, deconv=True),
    inputs=_weighted_inputs,
    infer_shape=_deconv_shape, forward=_deconv_forward, backward=_deconv_backward,
    grad_graph=bilinear_grad_graph,
)


def _pool_shape(attrs: Attrs, ins: list, outs: list):
    d0 = ins[0]
    if d0 is None:
        return ins, outs
    _same_check(attrs, d0)
    k = len(d0) - 2
    if k not in (1, 2, 3):
        raise fail(attrs, f"data of shape {d0} must have 3, 4 or 5 dims")
    lay = attrs.layout or _CANON[k]
    if len(lay) != k + 2:
        raise fail(attrs, f"layout {lay!r} does not fit data of shape {d0}")
    d = _to_nc(d0, lay)
    if attrs.global_pool:
        sp = [1] * k
    else:
        if len(attrs.kernel) != k:
            raise fail(attrs, f"kernel={attrs.kernel} must have {k} dims for data of "
                              f"shape {d0}")
        stride, pad = _pool_stride_pad(attrs, k)
        sp = []
        for x, kk, s, p in zip(d[2:], attrs.kernel, stride, pad):
            if not x:
                sp.append(0)
                continue
            if kk > x + 2 * p:
                raise fail(attrs, f"kernel size {attrs.kernel} exceeds the padded input "
                                  f"of shape {d0}")
            conv = attrs.pooling_convention
            if conv == "valid":
                sp.append(1 + (x + 2 * p - kk) // s)
            elif conv == "full":
                sp.append(1 + -(-(x + 2 * p - kk) // s))
            else:  # 'same' is defined for 1-D pooling only
                if k != 1:
                    raise fail(attrs, f"pooling_convention 'same' needs 1-D pooling (3-D data), "
                                      f"got data of shape {d0}")
                sp.append(-(-x // s))
    o = _from_nc((d[0], d[1], *sp), lay)
    for i in range(len(outs)):  # the workspace, when there is one, is shaped like the output
        assign(attrs, outs, i, o, attrs.op.list_outputs(attrs))
    return ins, outs


def _pool_grad_graph(F, attrs, out_grads, inputs, outputs, ctx):
    # average and sum pooling are linear; max and lp pooling differentiate once
    if attrs.pool_type in ("avg", "sum"):
        return linear_grad_graph(F, attrs, out_grads, inputs, outputs, ctx)
    return None


def _pool_outputs(a: Attrs):
    # MXNet 1.9.1's CPU build (oneDNN) gives max pooling with a kernel over channel-first data
    # a hidden workspace output; it shows in the saved JSON's node_row_ptr.
    if a.pool_type == "max" and a.kernel and (a.layout or "NC").startswith("NC"):
        return ("output", "workspace")
    return ("output",)


def _pool_stride_pad(attrs: Attrs, k: int) -> tuple[tuple, tuple]:
    """stride and pad for ``k`` spatial dims (defaults 1 and 0). MXNet reads their first
    ``k`` values: longer tuples pass (1-D 'same' pooling is spelt ``pad=(0, 0, 0)``, see
    :func:`_same_check`), shorter ones fail."""
    stride = attrs.stride or (1,) * k
    pad = attrs.pad or (0,) * k
    if len(stride) < k or len(pad) < k:
        raise fail(attrs, f"stride={stride} and pad={pad} must have {k} dims")
    return tuple(stride[:k]), tuple(pad[:k])


def _same_check(attrs: Attrs, shape: tuple) -> None:
    """MXNet's rules for ``pooling_convention='same'`` (checked before anything else, global
    pooling included): 1-D pooling of 3-D data only, and no ``pad``. (MXNet's check reads
    pad[0], pad[1] and pad[2], so there only ``pad=(0, 0, 0)`` passes; an omitted pad is
    accepted here too.)"""
    if attrs.pooling_convention != "same":
        return
    if len(shape) != 3:
        raise fail(attrs, f"pooling_convention 'same' needs 3-D data (batch, channel, x) "
                          f"(1-D max pooling), got data of shape {tuple(shape)}")
    if any(attrs.pad):
        raise fail(attrs, f"pooling_convention 'same' disables the pad parameter, got "
                          f"pad={attrs.pad}")


def _pool_setup(attrs: Attrs, x: np.ndarray) -> tuple[str, np.ndarray, dict]:
    """(layout, channel-first data, keyword arguments of the window kernels)."""
    _same_check(attrs, x.shape)
    k = x.ndim - 2
    lay = attrs.layout or _CANON.get(k, "")
    if k not in (1, 2, 3) or len(lay) != x.ndim:
        raise fail(attrs, f"data of shape {x.shape} does not fit layout {lay!r}")
    xn = _nc_array(x, lay)
    if attrs.global_pool:
        geo = {"kernel": xn.shape[2:], "stride": (1,) * k, "pad": (0,) * k,
               "convention": "valid"}
    else:
        stride, pad = _pool_stride_pad(attrs, k)
        geo = {"kernel": tuple(attrs.kernel), "stride": stride, "pad": pad,
               "convention": attrs.pooling_convention}
    geo["count_include_pad"] = attrs.count_include_pad is not False
    geo["p_value"] = 2 if attrs.p_value is None else attrs.p_value
    return lay, xn, geo


def _pool_forward(attrs, inputs, ctx):
    x = inputs[0]
    lay, xn, geo = _pool_setup(attrs, x)
    y = _from_nc_array(_window.pool_forward(_acc(xn), attrs.pool_type, **geo), lay)
    y = y.astype(x.dtype, copy=False)
    # oneDNN's hidden workspace: nothing reads it, so the output stands in for it.
    return [y] * len(attrs.op.list_outputs(attrs))


def _pool_backward(attrs, out_grads, inputs, outputs, ctx):
    x = inputs[0]
    lay, xn, geo = _pool_setup(attrs, x)
    dx = _window.pool_backward(_acc(_nc_array(out_grads[0], lay)), _acc(xn),
                               _acc(_nc_array(outputs[0], lay)), attrs.pool_type, **geo)
    return [_from_nc_array(dx, lay).astype(x.dtype, copy=False)]


declare(
    "Pooling", "_npx_pooling",
    params={
        "kernel": P(SHAPE, ()), "pool_type": P(enum("avg", "lp", "max", "sum"), "max"),
        "global_pool": P(BOOL, False), "cudnn_off": P(BOOL, False),
        "pooling_convention": P(enum("full", "same", "valid"), "valid"),
        "stride": P(SHAPE, ()), "pad": P(SHAPE, ()), "p_value": P(OPT_INT, None),
        "count_include_pad": P(OPT_BOOL, None), "layout": P(opt_enum(*_LAYOUTS), None),
    },
    outputs=_pool_outputs, num_visible_outputs=1, infer_shape=_pool_shape,
    forward=_pool_forward, backward=_pool_backward, grad_graph=_pool_grad_graph,
)

# ----------------------------------------------------------------------------------------
# Normalisation layers.


def _acc_type(t):
    """MXNet's AccReal: float16 statistics are kept in float32."""
    return F32 if t is not None and t.itemsize < 4 and t.kind == "f" else t


def _bn_shape(attrs: Attrs, ins: list, outs: list):
    d = ins[0]
    if d is None:
        return ins, outs
    ax = axis_of(attrs, attrs.axis, len(d))
    c = (d[ax],)
    # MXNet overwrites the parameter shapes from the data's channel count instead of checking.
    ins[1:5] = [c] * 4
    for i, s in enumerate((d, c, c)):
        assign(attrs, outs, i, s, attrs.op.list_outputs(attrs))
    return ins, outs


def _bn_type(attrs: Attrs, ins: list, outs: list):
    names = attrs.op.list_inputs(attrs)
    t = ins[0] if ins[0] is not None else outs[0]
    if t is None:
        return ins, outs
    acc = _acc_type(t)
    ins[0] = t
    for i in range(1, len(ins)):
        assign_type(attrs, ins, i, acc, names)
    return ins, [t, acc, acc]


def _bn_forward(attrs, inputs, ctx):
    x, gamma, beta, moving_mean, moving_var = inputs
    ax = axis_of(attrs, attrs.axis, x.ndim)
    red = tuple(i for i in range(x.ndim) if i != ax)
    xa = _acc(x)
    if attrs.fix_gamma:
        gamma[...] = 1  # MXNet writes the fixed 1 into the array, so checkpoints hold it
    g = gamma
    batch = ctx.is_train and not attrs.use_global_stats
    if batch:
        # The moving statistics move in backward, as in MXNet: a training forward alone
        # leaves them as they were.
        mean = xa.mean(axis=red)
        y = xa - _along(mean, ax, x.ndim)
        var = np.square(y).mean(axis=red)
        invstd = 1 / np.sqrt(var + attrs.eps)
        y *= _along(g * invstd, ax, x.ndim)
        y += _along(beta, ax, x.ndim)
    else:
        # Inference is one per-channel affine map: y = x * scale + shift.
        mean = moving_mean.copy()
        invstd = 1 / np.sqrt(moving_var + attrs.eps)
        scale = g * invstd
        shift = beta - mean * scale
        # Backward reads x (for gamma's gradient), so only inference may overwrite it.
        out = _out_buffer(x, ctx) if xa is x and not ctx.is_train else None
        y = np.multiply(xa, _along(scale.astype(xa.dtype, copy=False), ax, x.ndim), out=out)
        y += _along(shift.astype(xa.dtype, copy=False), ax, x.ndim)
    # MXNet names the third output var, but it holds 1 / sqrt(var + eps).
    return [y.astype(x.dtype, copy=False), mean, invstd.astype(mean.dtype, copy=False)]


def _bn_backward(attrs, out_grads, inputs, outputs, ctx):
    # The mean and var outputs are statistics, not functions anyone differentiates: MXNet
    # ignores their head gradients.
    x, gamma = inputs[0], inputs[1]
    ax = axis_of(attrs, attrs.axis, x.ndim)
    red = tuple(i for i in range(x.ndim) if i != ax)
    mean, invstd = outputs[1], outputs[2]
    batch = ctx.is_train and not attrs.use_global_stats
    if batch:
        # MXNet recovers the variance from the saved 1 / sqrt(var + eps) to update the moving
        # statistics here, in backward.
        moving_mean, moving_var = inputs[3], inputs[4]
        m = attrs.momentum
        var = 1 / np.square(invstd) - attrs.eps
        moving_mean *= m
        moving_mean += (1 - m) * mean.astype(moving_mean.dtype, copy=False)
        moving_var *= m
        moving_var += (1 - m) * var.astype(moving_var.dtype, copy=False)
    g = np.ones_like(gamma) if attrs.fix_gamma else gamma
    dy = _acc(out_grads[0])
    xhat = _acc(x) - _along(mean, ax, x.ndim)
    xhat *= _along(invstd, ax, x.ndim)
    dbeta = dy.sum(axis=red)
    dgamma = (dy * xhat).sum(axis=red)
    if batch:
        # dx = g * invstd * (dy - mean(dy) - xhat * mean(dy * xhat))
        m = x.size // x.shape[ax]
        xhat *= _along(-dgamma / m, ax, x.ndim)
        xhat += dy
        xhat -= _along(dbeta / m, ax, x.ndim)
        dx = xhat
        dx *= _along(g * invstd, ax, x.ndim)
    else:
        dx = dy * _along(g * invstd, ax, x.ndim)
    if attrs.fix_gamma:
        dgamma = np.zeros_like(dgamma)
    return [dx.astype(x.dtype, copy=False), dgamma.astype(gamma.dtype, copy=False),
            dbeta.astype(inputs[2].dtype, copy=False), None, None]


declare(
    "BatchNorm", "_npx_batch_norm",
    params={
        "eps": P(FLOAT, 1e-3), "momentum": P(FLOAT, 0.9), "fix_gamma": P(BOOL, True),
        "use_global_stats": P(BOOL, False), "output_mean_var": P(BOOL, False),
        "axis": P(INT, 1), "cudnn_off": P(BOOL, False),
        "min_calib_range": P(OPT_FLOAT, None), "max_calib_range": P(OPT_FLOAT, None),
    },
    inputs=("data", "gamma", "beta", "moving_mean", "moving_var"),
    aux=("moving_mean", "moving_var"),
    outputs=("output", "mean", "var"),
    num_visible_outputs=lambda a: 3 if a.output_mean_var else 1,
    input_var_attrs={"moving_mean": {"__init__": '["zero", {}]'},
                     "moving_var": {"__init__": '["one", {}]'}},
    infer_shape=_bn_shape, infer_type=_bn_type, forward=_bn_forward, backward=_bn_backward,
)


def _layer_norm_shape(attrs: Attrs, ins: list, outs: list):
    names = attrs.op.list_inputs(attrs)
    d = ins[0]
    if d is None:
        return ins, outs
    ax = axis_of(attrs, attrs.axis, len(d))
    assign(attrs, ins, 1, (d[ax],), names)
    assign(attrs, ins, 2, (d[ax],), names)
    m = tuple(1 if i == ax else x for i, x in enumerate(d))
    for i, s in enumerate((d, m, m)):
        assign(attrs, outs, i, s, attrs.op.list_outputs(attrs))
    return ins, outs


def _affine_backward(dy: np.ndarray, xhat: np.ndarray, gamma_b: np.ndarray, red: tuple,
                     shape: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For y = xhat * gamma + beta: (dy/dxhat, dgamma, dbeta), the parameter gradients summed
    over ``red`` and shaped ``shape``."""
    dgamma = _accurate_sum(dy * xhat, red, fresh=True).reshape(shape)
    dbeta = _accurate_sum(dy, red).reshape(shape)
    return dy * gamma_b, dgamma, dbeta


def _accurate_sum(a: np.ndarray, red: tuple, fresh: bool = False) -> np.ndarray:
    """``a.sum(axis=red)`` in ``a``'s dtype, accurate over many rows as MXNet's compensated
    (Kahan) sum reducer is: numpy sums a leading axis row by row, which in float32 over
    thousands of rows loses ~1e-4 of results that cancel (LayerNorm's parameter gradients).
    Leading axes of C-contiguous data are summed pairwise, halving the rows per pass (about
    the cost of numpy's sum); other layouts accumulate in float64. ``fresh``: ``a`` is a
    temporary the passes may overwrite."""
    if a.dtype.kind != "f" or a.dtype.itemsize > 4:
        return a.sum(axis=red)
    k = len(red)
    if red != tuple(range(k)) or not a.flags.c_contiguous or a.size == 0:
        return a.sum(axis=red, dtype=np.float64).astype(a.dtype)
    rows = a.reshape(math.prod(a.shape[:k]), -1)
    first = True
    while rows.shape[0] > 1:
        h, odd = divmod(rows.shape[0], 2)
        if first and not fresh:
            top = rows[:h] + rows[h:2 * h]  # never write into the caller's array
        else:
            top = np.add(rows[:h], rows[h:2 * h], out=rows[:h])
        if odd:
            top[0] += rows[2 * h]
        rows, first = top, False
    return rows[0].reshape(a.shape[k:]).copy()


def _layer_norm_forward(attrs, inputs, ctx):
    x, gamma, beta = inputs
    ax = axis_of(attrs, attrs.axis, x.ndim)
    xhat, mean, std = _normalized(_acc(x), (ax,), attrs.eps)
    y = xhat * _along(gamma, ax, x.ndim)
    y += _along(beta, ax, x.ndim)
    return [y.astype(x.dtype, copy=False), mean.astype(x.dtype, copy=False),
            std.astype(x.dtype, copy=False)]


def _layer_norm_backward(attrs, out_grads, inputs, outputs, ctx):
    x, gamma, beta = inputs
    ax = axis_of(attrs, attrs.axis, x.ndim)
    xa = _acc(x)
    mean, std = _acc(outputs[1]), _acc(outputs[2])
    xhat = (xa - mean) / std
    red = tuple(i for i in range(x.ndim) if i != ax)
    g, dgamma, dbeta = _affine_backward(_acc(out_grads[0]), xhat, _along(gamma, ax, x.ndim),
                                        red, gamma.shape)
    dx = _normalized_grad(g, xhat, std, (ax,))
    return [dx.astype(x.dtype, copy=False), dgamma.astype(gamma.dtype, copy=False),
            dbeta.astype(beta.dtype, copy=False)]


declare(
    "LayerNorm", "_npx_layer_norm",
    params={"axis": P(INT, -1), "eps": P(FLOAT, 1e-5), "output_mean_var": P(BOOL, False)},
    inputs=("data", "gamma", "beta"), outputs=("output", "mean", "std"),
    num_visible_outputs=lambda a: 3 if a.output_mean_var else 1,
    infer_shape=_layer_norm_shape, forward=_layer_norm_forward, backward=_layer_norm_backward,
)


def _group_norm_shape(attrs: Attrs, ins: list, outs: list):
    names = attrs.op.list_inputs(attrs)
    d = ins[0]
    if d is None:
        return ins, outs
    g = attrs.num_groups
    if d[1] and d[1] % g:
        raise fail(attrs, f"the {d[1]} channels of data {d} do not divide into "
                          f"num_groups={g}")
    # MXNet 1.x keeps one gamma/beta per group, not per channel.
    assign(attrs, ins, 1, (g,), names)
    assign(attrs, ins, 2, (g,), names)
    m = (d[0], g)
    for i, s in enumerate((d, m, m)):
        assign(attrs, outs, i, s, attrs.op.list_outputs(attrs))
    return ins, outs


def _grouped(attrs: Attrs, x: np.ndarray) -> np.ndarray:
    """(N, C, ...) -> (N, G, C/G * ...): each group's values in one row."""
    if x.ndim < 2 or x.shape[1] % attrs.num_groups:
        raise fail(attrs, f"the channels of data {x.shape} do not divide into "
                          f"num_groups={attrs.num_groups}")
    return x.reshape(x.shape[0], attrs.num_groups, -1)


def _group_norm_forward(attrs, inputs, ctx):
    x, gamma, beta = inputs
    xhat, mean, std = _normalized(_grouped(attrs, _acc(x)), (2,), attrs.eps)
    y = xhat * _along(gamma, 1, 3)
    y += _along(beta, 1, 3)
    return [y.reshape(x.shape).astype(x.dtype, copy=False),
            mean.reshape(mean.shape[:2]).astype(x.dtype, copy=False),
            std.reshape(std.shape[:2]).astype(x.dtype, copy=False)]


def _group_norm_backward(attrs, out_grads, inputs, outputs, ctx):
    x, gamma, beta = inputs
    xg = _grouped(attrs, _acc(x))
    mean, std = _acc(outputs[1])[..., None], _acc(outputs[2])[..., None]
    xhat = (xg - mean) / std
    g, dgamma, dbeta = _affine_backward(_grouped(attrs, _acc(out_grads[0])), xhat,
                                        _along(gamma, 1, 3), (0, 2), gamma.shape)
    dx = _normalized_grad(g, xhat, std, (2,)).reshape(x.shape)
    return [dx.astype(x.dtype, copy=False), dgamma.astype(gamma.dtype, copy=False),
            dbeta.astype(beta.dtype, copy=False)]


declare(
    "GroupNorm",
    params={"num_groups": P(INT, 1), "eps": P(FLOAT, 1e-5), "output_mean_var": P(BOOL, False)},
    inputs=("data", "gamma", "beta"), outputs=("output", "mean", "std"),
    num_visible_outputs=lambda a: 3 if a.output_mean_var else 1,
    infer_shape=_group_norm_shape, forward=_group_norm_forward, backward=_group_norm_backward,
)


def _instance_norm_shape(attrs: Attrs, ins: list, outs: list):
    names = attrs.op.list_inputs(attrs)
    d = ins[0]
    if d is None:
        return ins, outs
    if len(d) < 3:
        raise fail(attrs, f"data of shape {d} must have at least 3 dims")
    assign(attrs, ins, 1, (d[1],), names)
    assign(attrs, ins, 2, (d[1],), names)
    for i, s in enumerate((d, (d[0], d[1]), (d[0], d[1]))):
        assign(attrs, outs, i, s, attrs.op.list_outputs(attrs))
    return ins, outs


def _float32_default(attrs: Attrs, ins: list, outs: list):
    """One dtype for all, float32 when nothing says otherwise."""
    ins, outs = same_type(attrs, ins, outs)
    return [F32 if t is None else t for t in ins], [F32 if t is None else t for t in outs]


def _instance_norm_forward(attrs, inputs, ctx):
    # Per (item, channel) statistics over the spatial dims; outputs mean and variance.
    x, gamma, beta = inputs
    xs = _acc(x).reshape(x.shape[0], x.shape[1], -1)
    xhat, mean, std = _normalized(xs, (2,), attrs.eps)
    y = xhat * _along(gamma, 1, 3)
    y += _along(beta, 1, 3)
    ctx.saved["std"] = std
    var = np.square(std) - attrs.eps
    return [y.reshape(x.shape).astype(x.dtype, copy=False),
            mean[..., 0].astype(x.dtype, copy=False), var[..., 0].astype(x.dtype, copy=False)]


def _instance_norm_backward(attrs, out_grads, inputs, outputs, ctx):
    x, gamma, beta = inputs
    xs = _acc(x).reshape(x.shape[0], x.shape[1], -1)
    mean = _acc(outputs[1])[..., None]
    std = ctx.saved.get("std")
    if std is None:
        std = np.sqrt(_acc(outputs[2])[..., None] + attrs.eps)
    xhat = (xs - mean) / std
    dy = _acc(out_grads[0]).reshape(xs.shape)
    g, dgamma, dbeta = _affine_backward(dy, xhat, _along(gamma, 1, 3), (0, 2), gamma.shape)
    dx = _normalized_grad(g, xhat, std, (2,)).reshape(x.shape)
    return [dx.astype(x.dtype, copy=False), dgamma.astype(gamma.dtype, copy=False),
            dbeta.astype(beta.dtype, copy=False)]


declare(
    "InstanceNorm",
    params={"eps": P(FLOAT, 1e-3)},
    inputs=("data", "gamma", "beta"), outputs=("output", "mean", "var"),
    num_visible_outputs=1, infer_shape=_instance_norm_shape, infer_type=_float32_default,
    forward=_instance_norm_forward, backward=_instance_norm_backward,
)


def _l2norm_shape(attrs: Attrs, ins: list, outs: list):
    d = ins[0]
    if d is None:
        return ins, outs
    mode = attrs.mode
    if mode == "instance":
        n = (d[0],)
    elif mode == "channel":
        if len(d) < 3:
            raise fail(attrs, f"mode 'channel' needs data of at least 3 dims, got {d}")
        n = (d[0], *d[2:])
    else:
        if len(d) < 3:
            raise fail(attrs, f"mode 'spatial' needs data of at least 3 dims, got {d}")
        n = (d[0], d[1])
    assign(attrs, outs, 0, d, ["output", "norm"])
    assign(attrs, outs, 1, n, ["output", "norm"])
    return ins, outs


def _l2norm_axes(attrs: Attrs, x: np.ndarray) -> tuple[int, ...]:
    if attrs.mode == "instance":
        return tuple(range(1, x.ndim))
    if x.ndim < 3:
        raise fail(attrs, f"mode {attrs.mode!r} needs data of at least 3 dims, got {x.shape}")
    return (1,) if attrs.mode == "channel" else tuple(range(2, x.ndim))


def _l2norm_forward(attrs, inputs, ctx):
    # y = x / sqrt(sum(x^2) + eps) over the mode's axes; the norm is the hidden output.
    x = inputs[0]
    axes = _l2norm_axes(attrs, x)
    xa = _acc(x)
    norm = np.sqrt(np.square(xa).sum(axis=axes, keepdims=True) + attrs.eps)
    return [(xa / norm).astype(x.dtype, copy=False),
            np.squeeze(norm, axis=axes).astype(x.dtype, copy=False)]


def _l2norm_backward(attrs, out_grads, inputs, outputs, ctx):
    # dx = (dy - y * sum(dy * y)) / norm
    x = inputs[0]
    axes = _l2norm_axes(attrs, x)
    y, dy = _acc(outputs[0]), _acc(out_grads[0])
    norm = np.expand_dims(_acc(outputs[1]), axes)
    dx = y * -(dy * y).sum(axis=axes, keepdims=True)
    dx += dy
    dx /= norm
    return [dx.astype(x.dtype, copy=False)]


declare(
    "L2Normalization",
    params={"eps": P(FLOAT, 1e-10), "mode": P(enum("channel", "instance", "spatial"),
                                                "instance")},
    outputs=("output", "norm"), num_visible_outputs=1, infer_shape=_l2norm_shape,
    forward=_l2norm_forward, backward=_l2norm_backward,
)


def _channel_window_sum(a: np.ndarray, nsize: int) -> np.ndarray:
    """s[:, c] = sum of a[:, c - h : c + h + 1], h = (nsize - 1) // 2, clipped to the channels.

    The window is symmetric, so an even nsize sums nsize - 1 channels (as MXNet does); being
    symmetric, the sum is its own adjoint.
    """
    half = (nsize - 1) // 2
    c = a.shape[1]
    s = np.zeros_like(a)
    for off in range(-half, half + 1):  # a loop over the window's offsets only
        lo, hi = max(0, -off), min(c, c - off)
        if lo < hi:
            s[:, lo:hi] += a[:, lo + off:hi + off]
    return s


def _lrn_forward(attrs, inputs, ctx):
    # y = x * norm^-beta, norm = knorm + alpha / nsize * (sum of x^2 over nsize channels)
    x = inputs[0]
    xa = _acc(x)
    norm = _channel_window_sum(np.square(xa), attrs.nsize)
    norm *= attrs.alpha / attrs.nsize
    norm += attrs.knorm
    y = xa * norm ** -attrs.beta
    return [y.astype(x.dtype, copy=False), norm.astype(x.dtype, copy=False)]


def _lrn_backward(attrs, out_grads, inputs, outputs, ctx):
    # dx = dy * norm^-beta - 2 beta alpha / nsize * x * window_sum(dy * y / norm)
    x = inputs[0]
    xa, dy = _acc(x), _acc(out_grads[0])
    y, norm = _acc(outputs[0]), _acc(outputs[1])
    t = _channel_window_sum(dy * y / norm, attrs.nsize)
    t *= xa * (-2 * attrs.beta * attrs.alpha / attrs.nsize)
    t += dy * norm ** -attrs.beta
    return [t.astype(x.dtype, copy=False)]


declare(
    "LRN",
    params={"alpha": P(FLOAT, 1e-4), "beta": P(FLOAT, 0.75), "knorm": P(FLOAT, 2.0),
            "nsize": P(INT)},
    outputs=("output", "tmp_norm"), num_visible_outputs=1, infer_shape=like_data,
    forward=_lrn_forward, backward=_lrn_backward,
)

# ----------------------------------------------------------------------------------------
# Activations and Dropout.



def _sigmoid(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    y = np.negative(x, out=out)
    with np.errstate(over="ignore"):
        np.exp(y, out=y)
    y += 1
    return np.reciprocal(y, out=y)


def _softrelu(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    # log(1 + e^x) = max(x, 0) + log1p(e^-|x|), which never overflows.
    t = np.abs(x)
    np.negative(t, out=t)
    np.exp(t, out=t)
    np.log1p(t, out=t)
    y = np.maximum(x, 0, out=out)
    y += t
    return y


def _softsign(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    t = np.abs(x)
    t += 1
    return np.divide(x, t, out=out)


# act_type -> (y = f(x), written into ``out`` when given; f'(x) expressed through y alone, so
# backward never needs the input and the forward may overwrite it; over ``F`` as the
# elementwise derivatives are, so it also serves higher-order gradients).
_ACTIVATIONS = {
    "relu": (lambda x, out: np.maximum(x, 0, out=out), lambda F, y: y > 0),
    "sigmoid": (_sigmoid, lambda F, y: y * (1 - y)),
    "tanh": (lambda x, out: np.tanh(x, out=out), lambda F, y: 1 - F.square(y)),
    "softrelu": (_softrelu, lambda F, y: -F.expm1(-y)),
    "softsign": (_softsign, lambda F, y: F.square(1 - F.abs(y))),
}


def _activation_forward(attrs, inputs, ctx):
    x = inputs[0]
    return [_ACTIVATIONS[attrs.act_type][0](x, _out_buffer(x, ctx))]


def _activation_grad_graph(F, attrs, out_grads, inputs, outputs, ctx):
    return [out_grads[0] * _ACTIVATIONS[attrs.act_type][1](F, outputs[0])]


def _activation_backward(attrs, out_grads, inputs, outputs, ctx):
    return _activation_grad_graph(NP_MATH, attrs, out_grads, inputs, outputs, ctx)


declare(
    "Activation", "_npx_activation",
    params={"act_type": P(enum("relu", "sigmoid", "softrelu", "softsign", "tanh"))},
    infer_shape=same_shape, forward=_activation_forward, backward=_activation_backward,
    grad_graph=_activation_grad_graph,
)

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_LAMBDA = 1.0507009873554804934193349852946
_SQRT_HALF = math.sqrt(0.5)


def _erf(x: np.ndarray) -> np.ndarray:
    """erf in float64 to about 1e-15 (numpy has none): a series of positive terms below
    |x| = 3, the continued fraction of erfc above."""
    z = np.abs(x.astype(np.float64))
    out = np.empty_like(z)
    small = z < 3
    zs = z[small]
    # erf(z) = 2/sqrt(pi) exp(-z^2) sum_n (2z^2)^n z / (1 * 3 * ... * (2n + 1))
    term, total, z2 = zs.copy(), zs.copy(), 2 * zs * zs
    for n in range(1, 64):
        term *= z2 / (2 * n + 1)
        total += term
    out[small] = (2 / math.sqrt(math.pi)) * np.exp(-zs * zs) * total
    zl = z[~small]
    # erfc(z) = exp(-z^2) / sqrt(pi) / (z + (1/2) / (z + 1 / (z + (3/2) / (z + ...))))
    f = np.zeros_like(zl)
    for k in range(48, 0, -1):
        f = (k / 2) / (zl + f)
    out[~small] = 1 - np.exp(-zl * zl) / math.sqrt(math.pi) / (zl + f)
    return np.copysign(out, x)


def _positive(x: np.ndarray) -> np.ndarray:
    """1 where x > 0, else 0, in x's dtype. The layers below blend their two sides with it
    arithmetically: on random signs that is several times faster than np.where."""
    return (x > 0).astype(x.dtype)


def _leaky_slope(x: np.ndarray, s) -> np.ndarray:
    """d/dx of leaky: 1 for x > 0, the slope ``s`` (a number or broadcastable array) else."""
    d = _positive(x)
    d *= 1 - s
    d += s
    return d


def _elu(x: np.ndarray, s, out: np.ndarray | None) -> np.ndarray:
    # max(x, 0) + s * expm1(min(x, 0))
    t = np.minimum(x, 0)
    np.expm1(t, out=t)
    t *= s
    y = np.maximum(x, 0, out=out)
    y += t
    return y


def _elu_slope(x: np.ndarray, s) -> np.ndarray:
    # 1 for x > 0, s * exp(x) = y + s else
    d = np.minimum(x, 0)
    np.exp(d, out=d)
    d *= s
    p = _positive(x)
    p *= 1 - s
    d += p
    return d


def _selu(x: np.ndarray, s, out: np.ndarray | None) -> np.ndarray:
    y = _elu(x, _SELU_ALPHA, out)
    y *= _SELU_LAMBDA
    return y


def _selu_slope(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    # MXNet 1.9.1's selu gradient on the negative side is lambda * (y + alpha), not the
    # derivative y + lambda * alpha; models trained with it expect that, so we keep it.
    p = _positive(x)
    d = y + _SELU_ALPHA
    d *= 1 - p
    d += p
    d *= _SELU_LAMBDA
    return d


def _times(x: np.ndarray, factor: np.ndarray, out: np.ndarray | None) -> np.ndarray:
    """x * factor, into ``out`` or else into ``factor`` (a fresh temporary of x's shape)."""
    return np.multiply(x, factor, out=factor if out is None else out)


def _gelu(x: np.ndarray, s, out: np.ndarray | None) -> np.ndarray:
    # x * Phi(x), Phi the standard normal CDF (MXNet's erf form, not the tanh approximation).
    phi = (0.5 * (1 + _erf(x * _SQRT_HALF))).astype(x.dtype, copy=False)
    return _times(x, phi, out)


def _gelu_slope(x: np.ndarray) -> np.ndarray:
    xf = x.astype(np.float64)
    d = 0.5 * (1 + _erf(xf * _SQRT_HALF)) + xf * np.exp(-0.5 * xf * xf) / math.sqrt(2 * math.pi)
    return d.astype(x.dtype, copy=False)


# act_type -> (y = f(x) for slope s, written into ``out`` when given; dy/dx given x, y, s).
# prelu and rrelu are leaky with a learnt (per-channel) and a random slope.
_LEAKY = {
    "leaky": (lambda x, s, out: _times(x, _leaky_slope(x, s), out),
              lambda x, y, s: _leaky_slope(x, s)),
    "elu": (_elu, lambda x, y, s: _elu_slope(x, s)),
    "selu": (_selu, lambda x, y, s: _selu_slope(x, y)),
    "gelu": (_gelu, lambda x, y, s: _gelu_slope(x)),
}
_LEAKY["prelu"] = _LEAKY["rrelu"] = _LEAKY["leaky"]


def _prelu_gamma_shape(gshape: tuple, dshape: tuple) -> tuple:
    """gamma's shape as it broadcasts against data (MXNet's ``expand_shape``): gamma's
    trailing dims line up with the data's axes 0 and 1 only (one slope per channel, or per
    sample and channel), every other axis gets 1; a dim must match or be 1."""
    out = [1] * len(dshape)
    s = len(gshape) - 1
    for i in range(len(dshape) - 1, -1, -1):
        if s >= 0 and i <= 1 and (dshape[i] == gshape[s] or gshape[s] == 1):
            out[i] = gshape[s]
            s -= 1
    if s != -1:
        raise MXNetError(f"operator LeakyReLU: cannot broadcast gamma to data. gamma: "
                         f"{tuple(gshape)}, data: {tuple(dshape)}")
    return tuple(out)


def _prelu_slope(x: np.ndarray, gamma: np.ndarray) -> np.ndarray:
    """gamma broadcastable against x, as MXNet lines it up (:func:`_prelu_gamma_shape`)."""
    return gamma.reshape(_prelu_gamma_shape(gamma.shape, x.shape))


def _leaky_forward(attrs, inputs, ctx):
    x = inputs[0]
    act = attrs.act_type
    s = attrs.slope
    mask = None
    if act == "prelu":
        s = _prelu_slope(x, inputs[1])
    elif act == "rrelu":
        lo, hi = attrs.lower_bound, attrs.upper_bound
        if ctx.is_train:
            rng = ctx.rng if ctx.rng is not None else np.random.default_rng()
            mask = rng.uniform(lo, hi, x.shape).astype(x.dtype)
        else:
            mask = np.full(x.shape, (lo + hi) / 2, dtype=x.dtype)
        s = mask
    # Backward reads x, so only inference may overwrite it.
    y = _LEAKY[act][0](x, s, None if ctx.is_train else _out_buffer(x, ctx))
    return [y] if mask is None else [y, mask]


def _leaky_backward(attrs, out_grads, inputs, outputs, ctx):
    x, dy = inputs[0], out_grads[0]
    act = attrs.act_type
    s = attrs.slope
    if act == "prelu":
        s = _prelu_slope(x, inputs[1])
    elif act == "rrelu":
        s = outputs[1]
    dx = _LEAKY[act][1](x, outputs[0], s)
    dx *= dy
    if act != "prelu":
        return [dx]
    gamma = inputs[1]
    dgs = dy * np.minimum(x, 0)  # d/dgamma of gamma * x on the negative side
    # summed over the axes gamma was broadcast along
    gs = _prelu_gamma_shape(gamma.shape, x.shape)
    dgamma = dgs.sum(axis=tuple(i for i in range(x.ndim) if gs[i] == 1 and x.shape[i] != 1))
    return [dx, np.reshape(dgamma, gamma.shape).astype(gamma.dtype, copy=False)]


def _leaky_grad_graph(F, attrs, out_grads, inputs, outputs, ctx):
    # leaky and elu, the penalised critics' activations; the others differentiate once
    x, g = inputs[0], out_grads[0]
    s = attrs.slope
    if attrs.act_type == "leaky":
        return [g * ((x > 0) * (1 - s) + s)]
    if attrs.act_type == "elu":
        return [g * F.where(x > 0, F.ones_like(x), s * F.exp(x))]
    return None


def _leaky_shape(attrs: Attrs, ins: list, outs: list):
    d = ins[0]
    if d is not None and attrs.act_type == "prelu" and ins[1] is None:
        if len(d) < 2:
            raise fail(attrs, f"prelu needs data of at least 2 dims (channels on axis 1), "
                              f"got {d}")
        ins[1] = (d[1],)
    return like_data(attrs, ins, outs)


declare(
    "LeakyReLU", "_npx_leaky_relu",
    params={
        "act_type": P(enum("elu", "gelu", "leaky", "prelu", "rrelu", "selu"), "leaky"),
        "slope": P(FLOAT, 0.25), "lower_bound": P(FLOAT, 0.125),
        "upper_bound": P(FLOAT, 0.334),
    },
    inputs=lambda a: ("data", "gamma") if a.act_type == "prelu" else ("data",),
    outputs=lambda a: ("output", "mask") if a.act_type == "rrelu" else ("output",),
    # MXNet starts PReLU's slopes at 0.25 (the initializer reads this from the variable).
    input_var_attrs={"gamma": {"__init__": '["Constant", {"value": 0.25}]'}},
    infer_shape=_leaky_shape, forward=_leaky_forward, backward=_leaky_backward,
    grad_graph=_leaky_grad_graph,
)


def _dropout_forward(attrs, inputs, ctx):
    # Inverted dropout: kept values are scaled by 1 / (1 - p), so inference is the identity.
    # ``axes`` share one draw along those axes (the mask has size 1 there).
    x = inputs[0]
    if not ((ctx.is_train or attrs.mode == "always") and attrs.p > 0):
        ctx.saved["mask"] = None
        y = x if _out_buffer(x, ctx) is not None else x.copy()
        return [y, np.broadcast_to(np.ones((), dtype=x.dtype), x.shape)]
    shape = list(x.shape)
    for a in attrs.axes:
        shape[axis_of(attrs, a, x.ndim, "axes")] = 1
    keep = 1 - attrs.p
    rng = ctx.rng if ctx.rng is not None else np.random.default_rng()
    mask = (rng.random(shape, dtype=np.float32) < keep).astype(x.dtype)
    # MXNet scales the 0/1 draw by 1 / keep; p = 1 makes that inf, and the mask (so the
    # output and the gradient) NaN: 0 * inf
    with np.errstate(divide="ignore", invalid="ignore"):
        mask *= np.divide(np.float32(1), np.float32(keep))
    ctx.saved["mask"] = mask
    y = np.multiply(x, mask, out=None if ctx.is_train else _out_buffer(x, ctx))
    return [y, np.broadcast_to(mask, x.shape)]


def _dropout_grad_graph(F, attrs, out_grads, inputs, outputs, ctx):
    # The compact mask forward kept (broadcast along ``axes``); the full-size output otherwise.
    mask = ctx.saved["mask"] if "mask" in ctx.saved else outputs[1]
    return [out_grads[0] if mask is None else out_grads[0] * F.asarray(mask)]


def _dropout_backward(attrs, out_grads, inputs, outputs, ctx):
    return _dropout_grad_graph(NP_MATH, attrs, out_grads, inputs, outputs, ctx)



declare(
    "Dropout", "_npx_dropout",
    params={"p": P(FLOAT, 0.5), "mode": P(enum("always", "training"), "training"),
            "axes": P(SHAPE, ()), "cudnn_off": P(OPT_BOOL, False)},
    outputs=("output", "mask"), num_visible_outputs=1, infer_shape=like_data,
    forward=_dropout_forward, backward=_dropout_backward, grad_graph=_dropout_grad_graph,
)

# ----------------------------------------------------------------------------------------
# Embedding.

_EMB_DTYPES = ("bfloat16", "float16", "float32", "float64", "int32", "int64", "int8", "uint8")


def _embedding_shape(attrs: Attrs, ins: list, outs: list):
    names = attrs.op.list_inputs(attrs)
    d = ins[0]
    if d is not None:
        assign(attrs, ins, 1, (attrs.input_dim, attrs.output_dim), names)
        assign(attrs, outs, 0, (*d, attrs.output_dim), ["output"])
    return ins, outs


def _embedding_type(attrs: Attrs, ins: list, outs: list):
    names = attrs.op.list_inputs(attrs)
    t = attrs.dtype
    assign_type(attrs, ins, 1, t, names)
    assign_type(attrs, outs, 0, t, ["output"])
    return ins, outs


def _embedding_rows(attrs: Attrs, data: np.ndarray) -> np.ndarray:
    # Indices truncate toward zero and clip into [0, input_dim), as MXNet's take does.
    return np.clip(data.astype(np.int64), 0, attrs.input_dim - 1)


def _embedding_forward(attrs, inputs, ctx):
    data, weight = inputs
    return [np.take(weight, _embedding_rows(attrs, data), axis=0)]


def _embedding_backward(attrs, out_grads, inputs, outputs, ctx):
    # Each looked-up row receives the sum of its output gradients (a row looked up twice, twice).
    data, weight = inputs
    dw = np.zeros(weight.shape, dtype=weight.dtype)
    np.add.at(dw, _embedding_rows(attrs, data).ravel(),
              out_grads[0].reshape(-1, weight.shape[1]))
    return [None, dw]


def embedding_rows(datas: list, input_dim: int) -> np.ndarray:
    """The rows ``Embedding(sparse_grad=True)`` stores in its weight's row_sparse gradient
    for the index arrays ``datas``: those looked up. Indices out of ``[0, input_dim - 1]``
    raise MXNetError, as MXNet's sparse backward checks them where the dense one clips."""
    for data in datas:
        if data.size and (data.min() < 0 or data.max() > input_dim - 1):
            raise MXNetError(f"Embedding input contains data out of bound: data must lie in "
                             f"[0, input_dim - 1 = {input_dim - 1}] for sparse_grad=True")
    return np.unique(np.concatenate([np.ravel(d) for d in datas]).astype(np.int64))


def embedding_sparse_grad_rows(attrs, arrays, ins):
    # MXNet's Embedding writes a row_sparse weight gradient exactly when sparse_grad is set
    # (SparseEmbedding always) and refuses a gradient buffer of the other storage type
    data = ins[0]
    always = attrs.op.name == "_contrib_SparseEmbedding"

    def rows(i: int, stype: str) -> np.ndarray | None:
        if i != 1 or stype == "null":
            return None
        if always and stype != "row_sparse":
            raise MXNetError(f"_contrib_SparseEmbedding writes a row_sparse gradient w.r.t. "
                             f"weight; the weight's gradient stype is {stype}")
        if not always and (stype == "row_sparse") != bool(attrs.sparse_grad):
            raise MXNetError(f"Cannot use sparse_grad = {int(attrs.sparse_grad)}, while "
                             f"stype of gradients w.r.t embedding weight is {stype}")
        return embedding_rows([data], attrs.input_dim) if stype == "row_sparse" else None

    return rows


def embedding_sparse_grad_stypes(attrs, in_stypes):
    return [False, attrs.op.name == "_contrib_SparseEmbedding" or bool(attrs.sparse_grad)]


declare(
    "Embedding", "_npx_embedding", "_sparse_Embedding",
    params={"input_dim": P(INT), "output_dim": P(INT),
            "dtype": P(dtypes(*_EMB_DTYPES), F32), "sparse_grad": P(BOOL, False)},
    inputs=("data", "weight"),
    infer_shape=_embedding_shape, infer_type=_embedding_type,
    forward=_embedding_forward, backward=_embedding_backward,
    sparse_grad_rows=embedding_sparse_grad_rows, sparse_grad_stypes=embedding_sparse_grad_stypes,
)

# ----------------------------------------------------------------------------------------
# Softmax family.

_SOFTMAX_PARAMS = {
    "axis": P(INT, -1), "temperature": P(OPT_FLOAT, None),
    "dtype": P(opt_dtypes("float16", "float32", "float64"), None),
    "use_length": P(OPT_BOOL, False),
}


def _softmax_shape(attrs: Attrs, ins: list, outs: list):
    names = attrs.op.list_inputs(attrs)
    d = ins[0]
    if attrs.use_length and d is not None:
        ax = axis_of(attrs, attrs.axis, len(d))
        assign(attrs, ins, 1, tuple(x for i, x in enumerate(d) if i != ax), names)
    return like_data(attrs, ins, outs)


def _softmax_type(attrs: Attrs, ins: list, outs: list):
    if attrs.dtype is None:
        t = ins[0] if ins[0] is not None else outs[0]
        ins[0] = outs[0] = t
    else:
        outs[0] = attrs.dtype
    return ins, outs


def _softmax(x: np.ndarray, axis: int, scale: float, log: bool,
             valid: np.ndarray | None = None) -> np.ndarray:
    """softmax (or log_softmax) of ``x * scale`` along ``axis`` in the accumulation dtype;
    positions where ``valid`` is False get probability 0."""
    z = _acc(x)
    z = z - z.max(axis=axis, keepdims=True) if scale > 0 else z - z.min(axis=axis, keepdims=True)
    if scale != 1:
        z *= scale
    with np.errstate(invalid="ignore", divide="ignore"):
        if valid is not None:
            z = np.where(valid, z, -np.inf)
            z -= z.max(axis=axis, keepdims=True)
        if log:
            z -= np.log(np.exp(z).sum(axis=axis, keepdims=True))
            return z
        np.exp(z, out=z)
        z /= z.sum(axis=axis, keepdims=True)
    return z


def _softmax_grad(y: np.ndarray, dy: np.ndarray, axis: int, scale: float, log: bool,
                  dtype: np.dtype | None = None) -> np.ndarray:
    """Input gradient from the output: softmax  scale * y * (dy - sum(dy * y)),
    log_softmax  scale * (dy - exp(y) * sum(dy)); computed in the wider of the output's
    accumulation dtype and ``dtype`` (the input's)."""
    t = np.result_type(_acc(y).dtype, dtype or y.dtype)
    y, dy = y.astype(t, copy=False), dy.astype(t, copy=False)
    if log:
        dx = np.exp(y)
        dx *= -dy.sum(axis=axis, keepdims=True)
        dx += dy
    else:
        dx = dy - (dy * y).sum(axis=axis, keepdims=True)
        dx *= y
    if scale != 1:
        dx *= scale
    return dx


# op -> (log, sign of the scale): softmin is softmax of -x.
_SOFTMAX_KINDS = {"softmax": (False, 1), "log_softmax": (True, 1), "softmin": (False, -1)}


def _softmax_setup(attrs: Attrs, x: np.ndarray) -> tuple[int, float, bool]:
    log, sign = _SOFTMAX_KINDS[attrs.op.name]
    t = 1.0 if attrs.temperature is None else attrs.temperature
    return axis_of(attrs, attrs.axis, x.ndim), sign / t, log


def _softmax_forward(attrs, inputs, ctx):
    x = inputs[0]
    axis, scale, log = _softmax_setup(attrs, x)
    valid = None
    if len(inputs) > 1:  # use_length: only the first length[...] entries along axis count
        n = x.shape[axis]
        valid = _along(np.arange(n), axis, x.ndim) < np.expand_dims(inputs[1], axis)
    y = _softmax(x, axis, scale, log, valid)
    if valid is not None:
        y[~np.broadcast_to(valid, y.shape)] = 0
    return [y.astype(attrs.dtype or x.dtype, copy=False)]


def _softmax_backward(attrs, out_grads, inputs, outputs, ctx):
    x = inputs[0]
    axis, scale, log = _softmax_setup(attrs, x)
    dx = _softmax_grad(outputs[0], out_grads[0], axis, scale, log, x.dtype)
    dx = dx.astype(x.dtype, copy=False)
    return [dx, None] if len(inputs) > 1 else [dx]


_SOFTMAX_KERNELS = {"forward": _softmax_forward, "backward": _softmax_backward}

declare(
    "softmax", "_npx_softmax", params=dict(_SOFTMAX_PARAMS),
    inputs=lambda a: ("data", "length") if a.use_length else ("data",),
    infer_shape=_softmax_shape, infer_type=_softmax_type, **_SOFTMAX_KERNELS,
)
# Unlike softmax (which may take a length input), these two infer in both directions.
declare("log_softmax", "_npx_log_softmax", params=dict(_SOFTMAX_PARAMS),
        infer_shape=same_shape, infer_type=_softmax_type, **_SOFTMAX_KERNELS)
declare("softmin", params=dict(_SOFTMAX_PARAMS), infer_shape=same_shape,
        infer_type=_softmax_type, **_SOFTMAX_KERNELS)


def _softmax_activation_view(attrs: Attrs, x: np.ndarray) -> np.ndarray:
    """instance: one distribution per batch item over everything else; channel: over axis 1."""
    return x.reshape(x.shape[0], -1) if attrs.mode == "instance" else x


def _softmax_activation_forward(attrs, inputs, ctx):
    x = inputs[0]
    y = _softmax(_softmax_activation_view(attrs, x), 1, 1.0, False)
    return [y.reshape(x.shape).astype(x.dtype, copy=False)]


def _softmax_activation_backward(attrs, out_grads, inputs, outputs, ctx):
    x = inputs[0]
    y, dy = (_softmax_activation_view(attrs, a) for a in (outputs[0], out_grads[0]))
    return [_softmax_grad(y, dy, 1, 1.0, False).reshape(x.shape).astype(x.dtype, copy=False)]


declare(
    "SoftmaxActivation",
    params={"mode": P(enum("channel", "instance"), "instance")},
    infer_shape=same_shape, forward=_softmax_activation_forward,
    backward=_softmax_activation_backward,
)

# ----------------------------------------------------------------------------------------
# UpSampling and Pad.


def _upsampling_inputs(a: Attrs):
    if a.sample_type == "bilinear":
        return ("data", "weight")
    return tuple(f"arg{i}" for i in range(a.num_args))


def _upsampling_shape(attrs: Attrs, ins: list, outs: list):
    for p in ("scale", "num_args"):  # MXNet's lower bounds
        if getattr(attrs, p) < 1:
            raise fail(attrs, f"{p}={getattr(attrs, p)} must be at least 1")
    names = attrs.op.list_inputs(attrs)
    d = ins[0]
    if d is None:
        return ins, outs
    if len(d) != 4:
        raise fail(attrs, f"data of shape {d} must have 4 dims (NCHW)")
    s = attrs.scale
    oh, ow = d[2] * s, d[3] * s
    if attrs.sample_type == "bilinear":
        k = 2 * s - s % 2
        assign(attrs, ins, 1, (d[1], 1, k, k), names)
        assign(attrs, outs, 0, (d[0], d[1], oh, ow), ["output"])
        return ins, outs
    c = 0
    for i, x in enumerate(ins):
        if x is None:
            return ins, outs
        if len(x) != 4 or (x[2] and oh % x[2]) or (x[3] and ow % x[3]):
            raise fail(attrs, f"input {names[i]} of shape {x} cannot be scaled to "
                              f"({oh}, {ow})")
        if attrs.multi_input_mode == "sum" and x[1] != d[1]:
            raise fail(attrs, f"input {names[i]} of shape {x} has {x[1]} channels, "
                              f"expected {d[1]} for multi_input_mode 'sum'")
        c += x[1]
    if attrs.multi_input_mode == "sum":
        c = d[1]
    assign(attrs, outs, 0, (d[0], c, oh, ow), ["output"])
    return ins, outs


def _bilinear_geometry(scale: int) -> dict:
    """The Deconvolution that bilinear UpSampling is: kernel 2s - s % 2, stride s,
    pad ceil((s - 1) / 2), one group per channel."""
    pad = scale // 2  # = ceil((scale - 1) / 2)
    return {"stride": (scale, scale), "pad": (pad, pad), "dilate": (1, 1)}


def _nearest_factors(attrs: Attrs, inputs: list) -> list[int]:
    oh = inputs[0].shape[2] * attrs.scale
    return [oh // x.shape[2] for x in inputs]


def _upsampling_forward(attrs, inputs, ctx):
    # imperative calls skip inference, which is where mismatched inputs are named
    attrs.op.shapes(attrs, [a.shape for a in inputs])
    x = inputs[0]
    if attrs.sample_type == "bilinear":
        w = inputs[1]
        y = _window.deconv_forward(_acc(x), _acc(w), None, adj=(0, 0), groups=x.shape[1],
                                   **_bilinear_geometry(attrs.scale))
        return [y.astype(x.dtype, copy=False)]
    ups = []
    for a, f in zip(inputs, _nearest_factors(attrs, inputs)):
        n, c, h, w = a.shape
        # Each pixel repeated f x f times: one broadcast copy.
        ups.append(np.broadcast_to(a[:, :, :, None, :, None], (n, c, h, f, w, f))
                   .reshape(n, c, h * f, w * f))
    if attrs.multi_input_mode == "sum":
        y = ups[0].copy() if len(ups) == 1 else ups[0] + ups[1]
        for u in ups[2:]:
            y += u
        return [y]
    return [np.concatenate(ups, axis=1) if len(ups) > 1 else np.ascontiguousarray(ups[0])]


def _upsampling_backward(attrs, out_grads, inputs, outputs, ctx):
    dy = out_grads[0]
    if attrs.sample_type == "bilinear":
        x, w = inputs
        dx, dw, _ = _window.deconv_backward(_acc(dy), _acc(x), _acc(w), groups=x.shape[1],
                                            **_bilinear_geometry(attrs.scale))
        return [dx.astype(x.dtype, copy=False), dw.astype(w.dtype, copy=False)]
    grads = []
    start = 0
    for a, f in zip(inputs, _nearest_factors(attrs, inputs)):
        n, c, h, w = a.shape
        if attrs.multi_input_mode == "sum":
            part = dy
        else:
            part, start = dy[:, start:start + c], start + c
        grads.append(part.reshape(n, c, h, f, w, f).sum(axis=(3, 5)).astype(a.dtype, copy=False))
    return grads


declare(
    "UpSampling",
    params={"scale": P(INT), "num_filter": P(INT, 0),
            "sample_type": P(enum("bilinear", "nearest")),
            "multi_input_mode": P(enum("concat", "sum"), "concat"), "num_args": P(INT),
            "workspace": P(INT, 512)},
    inputs=_upsampling_inputs, key_var_num_args="num_args",
    # MXNet gives the second input variable, whatever the sample_type, a bilinear initializer
    input_var_attrs={n: {"__init__": '["bilinear", {}]'} for n in ("weight", "arg1")},
    infer_shape=_upsampling_shape, forward=_upsampling_forward, backward=_upsampling_backward,
)


def _pad_shape(attrs: Attrs, ins: list, outs: list):
    d = ins[0]
    if d is None:
        return ins, outs
    pw = attrs.pad_width
    if len(pw) != 2 * len(d):
        raise fail(attrs, f"pad_width={pw} must have 2 entries per dim of data {d}")
    if len(d) not in (4, 5) or any(pw[:4]):
        raise fail(attrs, "only 4-D and 5-D data padded in their spatial dims are supported "
                          f"(data {d}, pad_width {pw})")
    out = tuple(x + pw[2 * i] + pw[2 * i + 1] if x else 0 for i, x in enumerate(d))
    assign(attrs, outs, 0, out, ["output"])
    return ins, outs


def _pad_pairs(attrs: Attrs, x: np.ndarray) -> list[tuple[int, int]]:
    pw = attrs.pad_width
    if len(pw) != 2 * x.ndim:
        raise fail(attrs, f"pad_width={pw} must have 2 entries per dim of data {x.shape}")
    pairs = list(zip(pw[::2], pw[1::2]))
    if attrs.mode == "reflect" and any(b >= n or a >= n for (a, b), n in zip(pairs, x.shape)):
        raise fail(attrs, f"reflect padding {pw} must be smaller than the data's dims "
                          f"{x.shape}")
    return pairs


def _pad_forward(attrs, inputs, ctx):
    x = inputs[0]
    pairs = _pad_pairs(attrs, x)
    if attrs.mode == "constant":
        return [np.pad(x, pairs, mode="constant", constant_values=attrs.constant_value)]
    return [np.pad(x, pairs, mode=attrs.mode)]


def _pad_backward(attrs, out_grads, inputs, outputs, ctx):
    # The adjoint of padding: crop, then (edge, reflect) fold each border's gradient back onto
    # the entries it copied, one axis at a time.
    x = inputs[0]
    g = out_grads[0]
    for ax, (a, b) in enumerate(_pad_pairs(attrs, x)):
        if not (a or b):
            continue
        n = x.shape[ax]
        core = np.moveaxis(g, ax, 0)[a:a + n].copy()
        if attrs.mode != "constant":
            full = np.moveaxis(g, ax, 0)
            before, after = full[:a], full[a + n:]
            if attrs.mode == "edge":
                core[0] += before.sum(axis=0)
                core[n - 1] += after.sum(axis=0)
            else:  # reflect: padded entry a - i mirrors entry i, without repeating the edge
                core[1:a + 1] += before[::-1]
                core[n - 1 - b:n - 1] += after[::-1]
        g = np.moveaxis(core, 0, ax)
    return [np.ascontiguousarray(g).astype(x.dtype, copy=False)]


declare(
    "Pad", "pad",
    params={"mode": P(enum("constant", "edge", "reflect")), "pad_width": P(SHAPE),
            "constant_value": P(FLOAT, 0.0)},
    infer_shape=_pad_shape, forward=_pad_forward, backward=_pad_backward,
)
