"""ONNX model -> MXNet Symbol and parameters: ``mx.onnx.import_model``.

Each ONNX node maps to registry operators through ``mx.sym``; initializers read as
attributes (Reshape's shape, Slice's bounds, Clip's limits...) are consumed at import time,
the others become parameters (BatchNormalization's running statistics as auxiliary states).
An ONNX operator with no mapping raises MXNetError naming the node and the operator.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ..base import MXNetError
from ._common import require_onnx

__all__ = ["import_model", "get_model_metadata", "IMPORTERS"]

IMPORTERS: dict[str, Any] = {}

_I64_MAX = np.iinfo(np.int64).max // 2


def _imp(*names: str):
    def wrap(fn):
        for n in names:
            IMPORTERS[n] = fn
        return fn
    return wrap


class _Importer:
    def __init__(self, onnx: Any, model: Any):
        from .. import symbol as sym

        self.onnx = onnx
        self.sym = sym
        self.model = model
        self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")),
                          13)
        self.consts: dict[str, np.ndarray] = {}
        self.tensors: dict[str, Any] = {}  # tensor name -> Symbol
        self.arg_params: dict[str, np.ndarray] = {}
        self.aux_params: dict[str, np.ndarray] = {}
        self.node: Any = None
        self.ranks: dict[str, int] = {}
        try:
            inferred = onnx.shape_inference.infer_shapes(model)
        except Exception:  # noqa: BLE001 - ranks are a help, not a need
            inferred = model
        g = inferred.graph
        for vi in [*g.input, *g.value_info, *g.output]:
            t = vi.type.tensor_type
            if t.HasField("shape"):
                self.ranks[vi.name] = len(t.shape.dim)
        for t in g.initializer:
            self.ranks[t.name] = len(t.dims)

    def rank(self, i: int) -> int | None:
        return self.ranks.get(self.node.input[i])

    # -- values ----------------------------------------------------------------------------

    def fail(self, msg: str) -> MXNetError:
        n = self.node
        return MXNetError(f"ONNX import: node {n.name or n.output[0]!r} ({n.op_type}): {msg}")

    def const(self, name: str) -> np.ndarray:
        if name not in self.consts:
            raise self.fail(f"input {name!r} must be a constant (an initializer)")
        return self.consts[name]

    def has_const(self, i: int) -> bool:
        ins = self.node.input
        return i < len(ins) and ins[i] != "" and ins[i] in self.consts

    def opt_const(self, i: int) -> np.ndarray | None:
        ins = self.node.input
        if i >= len(ins) or ins[i] == "":
            return None
        return self.const(ins[i])

    def s(self, i: int, aux: bool = False) -> Any:
        """Input ``i`` as a Symbol (a constant becomes a parameter)."""
        name = self.node.input[i]
        if name in self.tensors:
            return self.tensors[name]
        if name in self.consts:
            v = self.sym.var(name)
            (self.aux_params if aux else self.arg_params)[name] = self.consts[name]
            self.tensors[name] = v
            return v
        raise self.fail(f"input {name!r} is not produced by any earlier node")

    def attrs(self) -> dict[str, Any]:
        h = self.onnx.helper
        return {a.name: h.get_attribute_value(a) for a in self.node.attribute}

    @property
    def name(self) -> str:
        return self.node.output[0]


def _decode(v: Any) -> Any:
    return v.decode() if isinstance(v, bytes) else v


def _load(model: Any) -> Any:
    onnx = require_onnx()
    if isinstance(model, (str, os.PathLike)):
        path = os.fspath(model)
        if not os.path.exists(path):
            raise MXNetError(f"ONNX file {path!r} does not exist")
        try:
            return onnx, onnx.load(path)
        except Exception as e:  # noqa: BLE001 - protobuf's errors vary
            raise MXNetError(f"{path!r} is not a readable ONNX model: {e}") from None
    if isinstance(model, onnx.ModelProto):
        return onnx, model
    raise MXNetError(f"model must be an ONNX file name or ModelProto, got {type(model).__name__}")


def import_model(model_file: Any) -> tuple[Any, dict, dict]:
    """Import an ONNX model file as ``(sym, arg_params, aux_params)``, like MXNet's
    ``mx.contrib.onnx.import_model``; parameters are NDArrays. A damaged file raises an
    MXNetError naming it."""
    try:
        return _import(model_file)
    except MXNetError:
        raise
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, OverflowError,
            RecursionError) as e:
        # protobuf parses almost any bytes; what it parsed can still be nonsense
        # (an unknown tensor type, a tensor whose data does not fit its dims ...)
        raise MXNetError(f"ONNX import: {model_file}: malformed model: "
                         f"{type(e).__name__}: {e}") from None


def _import(model_file: Any) -> tuple[Any, dict, dict]:
    from .. import ndarray as nd
    from ..symbol.symbol import Group

    onnx, model = _load(model_file)
    from onnx import numpy_helper

    imp = _Importer(onnx, model)
    graph = model.graph
    for t in graph.initializer:
        imp.consts[t.name] = numpy_helper.to_array(t)
    for vi in graph.input:
        if vi.name not in imp.consts:
            imp.tensors[vi.name] = imp.sym.var(vi.name)
    for node in graph.node:
        imp.node = node
        if node.op_type == "Constant":
            a = imp.attrs()
            if "value" not in a:
                raise imp.fail("only Constant nodes with a tensor 'value' are supported")
            imp.consts[node.output[0]] = numpy_helper.to_array(a["value"])
            continue
        if node.domain not in ("", "ai.onnx"):
            raise imp.fail(f"operators of domain {node.domain!r} are not supported")
        fn = IMPORTERS.get(node.op_type)
        if fn is None:
            raise MXNetError(f"ONNX import: node {node.name or node.output[0]!r} uses operator "
                             f"{node.op_type!r}, which has no MXNet mapping")
        try:
            outs = fn(imp)
        except MXNetError:
            raise
        except (TypeError, ValueError, KeyError, IndexError, AttributeError) as e:
            # a damaged file: an input no node produced, an attribute of the wrong kind...
            raise MXNetError(f"ONNX import: node {node.name or node.output[0]!r} "
                             f"({node.op_type}): malformed: {type(e).__name__}: {e}") from None
        if not isinstance(outs, (list, tuple)):
            outs = [outs]
        for name, s in zip(node.output, outs):
            if name and s is not None:
                if isinstance(s, np.ndarray):
                    imp.consts[name] = s
                else:
                    imp.tensors[name] = s
    heads = []
    for o in graph.output:
        if o.name in imp.tensors:
            heads.append(imp.tensors[o.name])
        elif o.name in imp.consts:
            raise MXNetError(f"ONNX import: output {o.name!r} is a constant")
        else:
            raise MXNetError(f"ONNX import: output {o.name!r} is produced by no node")
    if not heads:
        raise MXNetError(f"ONNX import: {model_file}: the graph has no outputs (an empty or "
                         "damaged model)")
    sym = heads[0] if len(heads) == 1 else Group(heads)
    # BatchNorm's running statistics are auxiliary states in MXNet.
    aux_names = set(sym.list_auxiliary_states())
    args, auxs = {}, {}
    for k, v in {**imp.arg_params, **imp.aux_params}.items():
        (auxs if k in aux_names else args)[k] = nd.array(v, dtype=v.dtype)
    return sym, args, auxs


def get_model_metadata(model_file: Any) -> dict[str, list]:
    """``{'input_tensor_data': [(name, shape)], 'output_tensor_data': [(name, shape)]}`` of
    an ONNX model, as MXNet's; a dynamic dim reads 0."""
    _, model = _load(model_file)
    inits = {t.name for t in model.graph.initializer}

    def shape(vi: Any) -> tuple:
        return tuple(d.dim_value for d in vi.type.tensor_type.shape.dim)

    return {"input_tensor_data": [(i.name, shape(i)) for i in model.graph.input
                                  if i.name not in inits],
            "output_tensor_data": [(o.name, shape(o)) for o in model.graph.output]}


# ----------------------------------------------------------------------------------------
# Mappings.

_UNARY = {
    "Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "Exp": "exp", "Log": "log",
    "Sqrt": "sqrt", "Abs": "abs", "Neg": "negative", "Reciprocal": "reciprocal",
    "Floor": "floor", "Ceil": "ceil", "Sin": "sin", "Cos": "cos", "Tan": "tan",
    "Asin": "arcsin", "Acos": "arccos", "Atan": "arctan", "Sinh": "sinh", "Cosh": "cosh",
    "Asinh": "arcsinh", "Acosh": "arccosh", "Atanh": "arctanh", "Sign": "sign", "Erf": "erf",
    "Round": "rint", "Softsign": "softsign", "Not": "logical_not",
}


def _unary(mx_name: str):
    def fn(imp: _Importer) -> Any:
        return getattr(imp.sym, mx_name)(imp.s(0), name=imp.name)
    return fn


for _o, _m in _UNARY.items():
    _imp(_o)(_unary(_m))


@_imp("Softplus")
def _softplus(imp: _Importer) -> Any:
    return imp.sym.Activation(imp.s(0), act_type="softrelu", name=imp.name)


@_imp("Identity", "Dropout")
def _identity(imp: _Importer) -> Any:
    if imp.node.op_type == "Dropout" and len(imp.node.input) > 2 and imp.has_const(2) and \
            bool(imp.const(imp.node.input[2])):
        raise imp.fail("Dropout in training mode has no MXNet mapping")
    x = imp.s(0)
    return [x, None]


_BINARY = {"Add": ("broadcast_add", "_plus_scalar", "_plus_scalar"),
           "Sub": ("broadcast_sub", "_minus_scalar", "_rminus_scalar"),
           "Mul": ("broadcast_mul", "_mul_scalar", "_mul_scalar"),
           "Div": ("broadcast_div", "_div_scalar", "_rdiv_scalar"),
           "Pow": ("broadcast_power", "_power_scalar", "_rpower_scalar"),
           "Max": ("broadcast_maximum", "_maximum_scalar", "_maximum_scalar"),
           "Min": ("broadcast_minimum", "_minimum_scalar", "_minimum_scalar"),
           "Equal": ("broadcast_equal", "_equal_scalar", "_equal_scalar"),
           "Less": ("broadcast_lesser", "_lesser_scalar", "_greater_scalar"),
           "Greater": ("broadcast_greater", "_greater_scalar", "_lesser_scalar"),
           "LessOrEqual": ("broadcast_lesser_equal", "_lesser_equal_scalar",
                           "_greater_equal_scalar"),
           "GreaterOrEqual": ("broadcast_greater_equal", "_greater_equal_scalar",
                              "_lesser_equal_scalar"),
           "And": ("broadcast_logical_and", "_logical_and_scalar", "_logical_and_scalar"),
           "Or": ("broadcast_logical_or", "_logical_or_scalar", "_logical_or_scalar"),
           "Xor": ("broadcast_logical_xor", "_logical_xor_scalar", "_logical_xor_scalar")}


def _binary(names: tuple[str, str, str]):
    def fn(imp: _Importer) -> Any:
        full, scalar, rscalar = names
        ins = imp.node.input
        if len(ins) == 2:
            for i, op in ((1, scalar), (0, rscalar)):
                if imp.has_const(i) and imp.const(ins[i]).size == 1 and ins[1 - i] not in \
                        imp.consts:
                    v = imp.const(ins[i]).reshape(())
                    return getattr(imp.sym, op)(imp.s(1 - i), scalar=float(v), name=imp.name)
        return getattr(imp.sym, full)(imp.s(0), imp.s(1), name=imp.name)
    return fn


for _o, _n in _BINARY.items():
    _imp(_o)(_binary(_n))


@_imp("Sum")
def _sum(imp: _Importer) -> Any:
    ins = [imp.s(i) for i in range(len(imp.node.input))]
    if len(ins) == 1:
        return ins[0]
    return imp.sym.add_n(*ins, name=imp.name)


@_imp("Cast")
def _cast(imp: _Importer) -> Any:
    to = imp.onnx.helper.tensor_dtype_to_np_dtype(imp.attrs()["to"])
    return imp.sym.Cast(imp.s(0), dtype=np.dtype(to).name, name=imp.name)


@_imp("Where")
def _where(imp: _Importer) -> Any:
    return imp.sym.where(imp.s(0), imp.s(1), imp.s(2), name=imp.name)


@_imp("Clip")
def _clip(imp: _Importer) -> Any:
    a = imp.attrs()
    lo, hi = a.get("min", -np.inf), a.get("max", np.inf)
    if imp.opset >= 11:
        v = imp.opt_const(1)
        lo = -np.inf if v is None else float(np.asarray(v).reshape(-1)[0])
        v = imp.opt_const(2)
        hi = np.inf if v is None else float(np.asarray(v).reshape(-1)[0])
    if lo == 0 and hi == np.inf:
        return imp.sym.relu(imp.s(0), name=imp.name)
    return imp.sym.clip(imp.s(0), a_min=float(lo), a_max=float(hi), name=imp.name)


@_imp("LeakyRelu")
def _leaky(imp: _Importer) -> Any:
    return imp.sym.LeakyReLU(imp.s(0), act_type="leaky", slope=imp.attrs().get("alpha", 0.01),
                             name=imp.name)


@_imp("Elu")
def _elu(imp: _Importer) -> Any:
    return imp.sym.LeakyReLU(imp.s(0), act_type="elu", slope=imp.attrs().get("alpha", 1.0),
                             name=imp.name)


@_imp("Selu")
def _selu(imp: _Importer) -> Any:
    return imp.sym.LeakyReLU(imp.s(0), act_type="selu", name=imp.name)


@_imp("Gelu")
def _gelu(imp: _Importer) -> Any:
    if imp.attrs().get("approximate", "none") not in ("none", b"none"):
        raise imp.fail("tanh-approximated Gelu has no MXNet mapping")
    return imp.sym.LeakyReLU(imp.s(0), act_type="gelu", name=imp.name)


@_imp("PRelu")
def _prelu(imp: _Importer) -> Any:
    name = imp.node.input[1]
    if name in imp.consts and name not in imp.tensors:
        imp.consts[name] = imp.consts[name].reshape(-1)
    return imp.sym.LeakyReLU(imp.s(0), imp.s(1), act_type="prelu", name=imp.name)


@_imp("HardSigmoid")
def _hard_sigmoid(imp: _Importer) -> Any:
    a = imp.attrs()
    return imp.sym.hard_sigmoid(imp.s(0), alpha=a.get("alpha", 0.2), beta=a.get("beta", 0.5),
                                name=imp.name)


def _softmax_axis(imp: _Importer, op: str) -> Any:
    a = imp.attrs()
    axis = a.get("axis", -1 if imp.opset >= 13 else 1)
    if imp.opset < 13 and axis != -1:
        raise imp.fail("Softmax before opset 13 flattens its input; only axis=-1 maps back")
    return getattr(imp.sym, op)(imp.s(0), axis=axis, name=imp.name)


@_imp("Softmax")
def _softmax(imp: _Importer) -> Any:
    return _softmax_axis(imp, "softmax")


@_imp("LogSoftmax")
def _log_softmax(imp: _Importer) -> Any:
    return _softmax_axis(imp, "log_softmax")


def _sym_pads(imp: _Importer, pads: list[int], k: int) -> tuple[int, ...] | None:
    before, after = pads[:k], pads[k:]
    return tuple(before) if before == after else None


def _explicit_pad(imp: _Importer, x: Any, pads: list[int], k: int, value: float) -> Any:
    pw = [0, 0, 0, 0]
    for b, e in zip(pads[:k], pads[k:]):
        pw += [b, e]
    return imp.sym.Pad(x, mode="constant", pad_width=tuple(pw), constant_value=value,
                       name=imp.name + "_pad")


@_imp("Conv")
def _conv(imp: _Importer) -> Any:
    a = imp.attrs()
    w = imp.const(imp.node.input[1]) if imp.has_const(1) else None
    kernel = tuple(a.get("kernel_shape", w.shape[2:] if w is not None else ()))
    if not kernel:
        raise imp.fail("kernel_shape is needed when the weight is not a constant")
    k = len(kernel)
    if a.get("auto_pad", "NOTSET") not in ("NOTSET", b"NOTSET"):
        raise imp.fail("auto_pad has no MXNet mapping")
    pads = list(a.get("pads", [0] * 2 * k))
    x = imp.s(0)
    pad = _sym_pads(imp, pads, k)
    if pad is None:
        x, pad = _explicit_pad(imp, x, pads, k, 0.0), (0,) * k
    num_filter = w.shape[0] if w is not None else None
    if num_filter is None:
        raise imp.fail("the weight must be a constant (its shape gives num_filter)")
    ins = [x, imp.s(1)] + ([imp.s(2)] if len(imp.node.input) > 2 and imp.node.input[2] else [])
    return imp.sym.Convolution(*ins, kernel=kernel, stride=tuple(a.get("strides", (1,) * k)),
                               dilate=tuple(a.get("dilations", (1,) * k)), pad=pad,
                               num_filter=int(num_filter), num_group=int(a.get("group", 1)),
                               no_bias=len(ins) == 2, name=imp.name)


@_imp("ConvTranspose")
def _conv_transpose(imp: _Importer) -> Any:
    a = imp.attrs()
    w = imp.const(imp.node.input[1])
    kernel = tuple(a.get("kernel_shape", w.shape[2:]))
    k = len(kernel)
    if "output_shape" in a:
        raise imp.fail("output_shape has no MXNet mapping (give pads instead)")
    pads = list(a.get("pads", [0] * 2 * k))
    pad = _sym_pads(imp, pads, k)
    if pad is None:
        raise imp.fail("asymmetric pads have no MXNet mapping")
    group = int(a.get("group", 1))
    ins = [imp.s(0), imp.s(1)] + ([imp.s(2)] if len(imp.node.input) > 2 and imp.node.input[2]
                                  else [])
    return imp.sym.Deconvolution(*ins, kernel=kernel, stride=tuple(a.get("strides", (1,) * k)),
                                 dilate=tuple(a.get("dilations", (1,) * k)), pad=pad,
                                 adj=tuple(a.get("output_padding", (0,) * k)),
                                 num_filter=int(w.shape[1] * group), num_group=group,
                                 no_bias=len(ins) == 2, name=imp.name)


@_imp("Gemm")
def _gemm(imp: _Importer) -> Any:
    a = imp.attrs()
    alpha, beta = a.get("alpha", 1.0), a.get("beta", 1.0)
    ta, tb = a.get("transA", 0), a.get("transB", 0)
    has_c = len(imp.node.input) > 2 and imp.node.input[2] != ""
    if imp.has_const(1) and alpha == 1.0 and beta == 1.0 and not ta:
        w = imp.const(imp.node.input[1])
        if not tb:
            wname = imp.node.input[1] + "_T"
            imp.consts[wname] = np.ascontiguousarray(w.T)
            w_sym = imp.sym.var(wname)
            imp.arg_params[wname] = imp.consts[wname]
            imp.tensors[wname] = w_sym
            w = imp.consts[wname]
        else:
            w_sym = imp.s(1)
        c_ok = not has_c or (imp.has_const(2) and imp.const(imp.node.input[2]).ndim == 1)
        if c_ok:
            ins = [imp.s(0), w_sym] + ([imp.s(2)] if has_c else [])
            return imp.sym.FullyConnected(*ins, num_hidden=int(w.shape[0]), no_bias=not has_c,
                                          name=imp.name)
    y = imp.sym.dot(imp.s(0), imp.s(1), transpose_a=bool(ta), transpose_b=bool(tb))
    if alpha != 1.0:
        y = y * alpha
    if has_c:
        c = imp.s(2)
        y = imp.sym.broadcast_add(y, c * beta if beta != 1.0 else c, name=imp.name)
    return y


@_imp("MatMul")
def _matmul(imp: _Importer) -> Any:
    ra, rb = imp.rank(0), imp.rank(1)
    if rb == 2 and ra is not None and ra >= 1:
        # MXNet's dot contracts lhs's last axis with a 2-D rhs's first: a matmul.
        return imp.sym.dot(imp.s(0), imp.s(1), name=imp.name)
    if ra is not None and ra == rb and ra >= 3:
        return imp.sym.batch_dot(imp.s(0), imp.s(1), name=imp.name)
    raise imp.fail(f"MatMul of ranks {ra} and {rb} has no MXNet mapping")


@_imp("BatchNormalization")
def _batch_norm(imp: _Importer) -> Any:
    a = imp.attrs()
    if a.get("training_mode", 0):
        raise imp.fail("training_mode has no MXNet mapping")
    ins = [imp.s(0), imp.s(1), imp.s(2), imp.s(3, aux=True), imp.s(4, aux=True)]
    return imp.sym.BatchNorm(*ins, eps=float(a.get("epsilon", 1e-5)),
                             momentum=float(a.get("momentum", 0.9)), fix_gamma=False,
                             name=imp.name)


@_imp("InstanceNormalization")
def _instance_norm(imp: _Importer) -> Any:
    return imp.sym.InstanceNorm(imp.s(0), imp.s(1), imp.s(2),
                                eps=float(imp.attrs().get("epsilon", 1e-5)), name=imp.name)


@_imp("LRN")
def _lrn(imp: _Importer) -> Any:
    a = imp.attrs()
    return imp.sym.LRN(imp.s(0), alpha=a.get("alpha", 1e-4), beta=a.get("beta", 0.75),
                       knorm=a.get("bias", 1.0), nsize=int(a["size"]), name=imp.name)


def _pool(imp: _Importer, pool_type: str) -> Any:
    a = imp.attrs()
    kernel = tuple(a["kernel_shape"])
    k = len(kernel)
    if a.get("auto_pad", "NOTSET") not in ("NOTSET", b"NOTSET"):
        raise imp.fail("auto_pad has no MXNet mapping")
    if any(d != 1 for d in a.get("dilations", [1] * k)):
        raise imp.fail("dilated pooling has no MXNet mapping")
    pads = list(a.get("pads", [0] * 2 * k))
    x = imp.s(0)
    pad = _sym_pads(imp, pads, k)
    count_pad = bool(a.get("count_include_pad", 0))
    if pad is None:
        if pool_type == "avg" and not count_pad:
            raise imp.fail("asymmetric pads without count_include_pad have no MXNet mapping")
        fill = float(np.finfo(np.float32).min) if pool_type == "max" else 0.0
        x, pad = _explicit_pad(imp, x, pads, k, fill), (0,) * k
    kw = {}
    if pool_type == "lp":
        kw["p_value"] = int(a.get("p", 2))
    if pool_type == "avg":
        kw["count_include_pad"] = count_pad
    return [imp.sym.Pooling(x, kernel=kernel, stride=tuple(a.get("strides", (1,) * k)),
                            pad=pad, pool_type=pool_type,
                            pooling_convention="full" if a.get("ceil_mode", 0) else "valid",
                            name=imp.name, **kw), None]


@_imp("MaxPool")
def _max_pool(imp: _Importer) -> Any:
    return _pool(imp, "max")


@_imp("AveragePool")
def _avg_pool(imp: _Importer) -> Any:
    return _pool(imp, "avg")


@_imp("LpPool")
def _lp_pool(imp: _Importer) -> Any:
    return _pool(imp, "lp")


def _global_pool(pool_type: str):
    def fn(imp: _Importer) -> Any:
        kw = {"p_value": int(imp.attrs().get("p", 2))} if pool_type == "lp" else {}
        return imp.sym.Pooling(imp.s(0), kernel=(1, 1), global_pool=True, pool_type=pool_type,
                               name=imp.name, **kw)
    return fn


_imp("GlobalMaxPool")(_global_pool("max"))
_imp("GlobalAveragePool")(_global_pool("avg"))
_imp("GlobalLpPool")(_global_pool("lp"))


@_imp("Pad")
def _pad(imp: _Importer) -> Any:
    a = imp.attrs()
    mode = _decode(a.get("mode", "constant"))
    pads = list(imp.const(imp.node.input[1])) if imp.opset >= 11 else list(a["pads"])
    value = 0.0
    v = imp.opt_const(2) if imp.opset >= 11 else a.get("value")
    if v is not None:
        value = float(np.asarray(v).reshape(()))
    if len(imp.node.input) > 3 and imp.node.input[3]:
        raise imp.fail("Pad with an axes input has no MXNet mapping")
    n = len(pads) // 2
    pw = []
    for b, e in zip(pads[:n], pads[n:]):
        pw += [int(b), int(e)]
    return imp.sym.Pad(imp.s(0), mode=mode, pad_width=tuple(pw), constant_value=value,
                       name=imp.name)


@_imp("Flatten")
def _flatten(imp: _Importer) -> Any:
    axis = imp.attrs().get("axis", 1)
    if axis == 1:
        return imp.sym.Flatten(imp.s(0), name=imp.name)
    if axis == 0:
        return imp.sym.Reshape(imp.s(0), shape=(1, -1), name=imp.name)
    raise imp.fail(f"Flatten with axis={axis} has no MXNet mapping")


@_imp("Reshape")
def _reshape(imp: _Importer) -> Any:
    if imp.attrs().get("allowzero", 0):
        raise imp.fail("allowzero=1 has no MXNet mapping")
    shape = tuple(int(v) for v in imp.const(imp.node.input[1]))
    return imp.sym.Reshape(imp.s(0), shape=shape, name=imp.name)


@_imp("Transpose")
def _transpose(imp: _Importer) -> Any:
    perm = imp.attrs().get("perm")
    return imp.sym.transpose(imp.s(0), axes=tuple(perm) if perm else (), name=imp.name)


@_imp("Concat")
def _concat(imp: _Importer) -> Any:
    ins = [imp.s(i) for i in range(len(imp.node.input))]
    return imp.sym.Concat(*ins, dim=imp.attrs()["axis"], name=imp.name)


def _axes(imp: _Importer, i: int = 1) -> list[int] | None:
    a = imp.attrs()
    if "axes" in a:
        return list(a["axes"])
    v = imp.opt_const(i)
    return None if v is None else [int(x) for x in v]


@_imp("Squeeze")
def _squeeze(imp: _Importer) -> Any:
    axes = _axes(imp)
    return imp.sym.squeeze(imp.s(0), axis=tuple(axes) if axes else None, name=imp.name)


@_imp("Unsqueeze")
def _unsqueeze(imp: _Importer) -> Any:
    axes = _axes(imp)
    if not axes:
        raise imp.fail("Unsqueeze needs axes")
    x = imp.s(0)
    if any(a < 0 for a in axes):
        raise imp.fail("negative Unsqueeze axes have no MXNet mapping")
    for j, ax in enumerate(sorted(axes)):
        x = imp.sym.expand_dims(x, axis=ax, name=imp.name if j == len(axes) - 1 else None)
    return x


@_imp("Split")
def _split(imp: _Importer) -> Any:
    a = imp.attrs()
    axis = a.get("axis", 0)
    n = len(imp.node.output)
    sizes = a.get("split")
    if sizes is None:
        v = imp.opt_const(1)
        sizes = None if v is None else [int(x) for x in v]
    if sizes is None or len(set(sizes)) == 1:
        out = imp.sym.SliceChannel(imp.s(0), num_outputs=n, axis=axis, name=imp.name)
    else:
        idx = tuple(int(i) for i in np.cumsum([0, *sizes[:-1]]))
        out = imp.sym._split_v2(imp.s(0), indices=idx, axis=axis, squeeze_axis=False,
                                sections=0, name=imp.name)
    return [out[i] for i in range(n)] if n > 1 else [out]


_REDUCE = {"ReduceSum": "sum", "ReduceMean": "mean", "ReduceMax": "max", "ReduceMin": "min",
           "ReduceProd": "prod", "ReduceSumSquare": "_square_sum"}


def _reduce(mx_name: str):
    def fn(imp: _Importer) -> Any:
        a = imp.attrs()
        axes = _axes(imp)
        keep = bool(a.get("keepdims", 1))
        if not axes and a.get("noop_with_empty_axes", 0):
            return imp.s(0)
        kw = {"axis": tuple(axes)} if axes else {}
        return getattr(imp.sym, mx_name)(imp.s(0), keepdims=keep, name=imp.name, **kw)
    return fn


for _o, _m in _REDUCE.items():
    _imp(_o)(_reduce(_m))


@_imp("ReduceL1", "ReduceL2")
def _reduce_norm(imp: _Importer) -> Any:
    axes = _axes(imp)
    kw = {"axis": tuple(axes)} if axes else {}
    return imp.sym.norm(imp.s(0), ord=1 if imp.node.op_type == "ReduceL1" else 2,
                        keepdims=bool(imp.attrs().get("keepdims", 1)), name=imp.name, **kw)


@_imp("ArgMax", "ArgMin")
def _arg(imp: _Importer) -> Any:
    a = imp.attrs()
    fn = imp.sym.argmax if imp.node.op_type == "ArgMax" else imp.sym.argmin
    y = fn(imp.s(0), axis=a.get("axis", 0), keepdims=bool(a.get("keepdims", 1)))
    return imp.sym.Cast(y, dtype="int64", name=imp.name)


@_imp("Gather")
def _gather(imp: _Importer) -> Any:
    return imp.sym.take(imp.s(0), imp.s(1), axis=imp.attrs().get("axis", 0), mode="wrap",
                        name=imp.name)


@_imp("Slice")
def _slice(imp: _Importer) -> Any:
    if imp.opset >= 10:
        starts = [int(v) for v in imp.const(imp.node.input[1])]
        ends = [int(v) for v in imp.const(imp.node.input[2])]
        axes = imp.opt_const(3)
        steps = imp.opt_const(4)
    else:
        a = imp.attrs()
        starts, ends, axes, steps = list(a["starts"]), list(a["ends"]), a.get("axes"), None
    axes = list(range(len(starts))) if axes is None else [int(v) for v in axes]
    steps = [1] * len(starts) if steps is None else [int(v) for v in steps]
    x = imp.s(0)
    if all(st == 1 for st in steps) or all(st == -1 and b == -1 and e <= -_I64_MAX
                                           for b, e, st in zip(starts, ends, steps)):
        for b, e, ax, st in zip(starts, ends, axes, steps):
            if st == 1:
                x = imp.sym.slice_axis(x, axis=ax, begin=b, end=None if e >= _I64_MAX else e)
            else:
                x = imp.sym.reverse(x, axis=(ax,))
        return imp.sym.identity(x, name=imp.name)
    rank = imp.rank(0)
    if rank is None or any(a < 0 for a in axes):
        raise imp.fail("a strided Slice needs the input's rank and non-negative axes")
    begin, end, step = [None] * rank, [None] * rank, [None] * rank
    for b, e, ax, st in zip(starts, ends, axes, steps):
        begin[ax] = None if (st < 0 and b == -1) or (st > 0 and b == 0) else b
        end[ax] = None if abs(e) >= _I64_MAX else e
        step[ax] = st
    return imp.sym.slice(x, begin=tuple(begin), end=tuple(end), step=tuple(step),
                         name=imp.name)


@_imp("Expand")
def _expand(imp: _Importer) -> Any:
    shape = tuple(int(v) for v in imp.const(imp.node.input[1]))
    return imp.sym.broadcast_to(imp.s(0), shape=tuple(0 if d == 1 else d for d in shape),
                                name=imp.name)


@_imp("Tile")
def _tile(imp: _Importer) -> Any:
    reps = tuple(int(v) for v in imp.const(imp.node.input[1]))
    return imp.sym.tile(imp.s(0), reps=reps, name=imp.name)


@_imp("DepthToSpace")
def _d2s(imp: _Importer) -> Any:
    a = imp.attrs()
    if _decode(a.get("mode", "DCR")) != "DCR":
        raise imp.fail("only DCR mode maps to depth_to_space")
    return imp.sym.depth_to_space(imp.s(0), block_size=int(a["blocksize"]), name=imp.name)


@_imp("SpaceToDepth")
def _s2d(imp: _Importer) -> Any:
    return imp.sym.space_to_depth(imp.s(0), block_size=int(imp.attrs()["blocksize"]),
                                  name=imp.name)


@_imp("Resize", "Upsample")
def _resize(imp: _Importer) -> Any:
    a = imp.attrs()
    if _decode(a.get("mode", "nearest")) != "nearest":
        raise imp.fail("only nearest Resize maps to UpSampling")
    scales = imp.opt_const(2 if imp.node.op_type == "Resize" else 1)
    if scales is None or len(scales) != 4 or scales[0] != 1 or scales[1] != 1 or \
            scales[2] != scales[3] or scales[2] != int(scales[2]):
        raise imp.fail("only an equal integer scale of H and W maps to UpSampling")
    return imp.sym.UpSampling(imp.s(0), scale=int(scales[2]), sample_type="nearest",
                              num_args=1, name=imp.name)


@_imp("TopK")
def _topk(imp: _Importer) -> Any:
    a = imp.attrs()
    k = int(imp.const(imp.node.input[1]).reshape(-1)[0])
    out = imp.sym.topk(imp.s(0), k=k, axis=a.get("axis", -1), ret_typ="both",
                       is_ascend=not a.get("largest", 1), dtype="int64", name=imp.name)
    return [out[0], out[1]]


@_imp("Shape")
def _shape(imp: _Importer) -> Any:
    return imp.sym.shape_array(imp.s(0), name=imp.name)


@_imp("Mod")
def _mod(imp: _Importer) -> Any:
    if imp.attrs().get("fmod", 0):
        raise imp.fail("fmod=1 has no MXNet mapping")
    return imp.sym.broadcast_mod(imp.s(0), imp.s(1), name=imp.name)


@_imp("Det")
def _det(imp: _Importer) -> Any:
    return imp.sym.linalg.det(imp.s(0), name=imp.name)
