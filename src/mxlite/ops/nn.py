"""Neural-network layers: FullyConnected, Convolution, Pooling, the norms, activations, Dropout."""

from __future__ import annotations

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
from .registry import Attrs, same_shape, same_type

# ----------------------------------------------------------------------------------------
# FullyConnected


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


declare(
    "FullyConnected", "_npx_fully_connected", "_sparse_FullyConnected",
    params={"num_hidden": P(INT), "no_bias": P(BOOL, False), "flatten": P(BOOL, True)},
    inputs=lambda a: ("data", "weight") if a.no_bias else ("data", "weight", "bias"),
    infer_shape=_fc_shape,
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


declare(
    "Convolution", "_npx_convolution",
    params=_conv_params(no_bias=False, workspace=1024, deconv=False),
    inputs=lambda a: ("data", "weight") if a.no_bias else ("data", "weight", "bias"),
    infer_shape=_conv_shape,
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


declare(
    "Deconvolution", "_npx_deconvolution",
    params=_conv_params(no_bias=True, workspace=512, deconv=True),
    inputs=lambda a: ("data", "weight") if a.no_bias else ("data", "weight", "bias"),
    infer_shape=_deconv_shape,
)


def _pool_shape(attrs: Attrs, ins: list, outs: list):
    d0 = ins[0]
    if d0 is None:
        return ins, outs
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
        stride = attrs.stride or (1,) * k
        pad = attrs.pad or (0,) * k
        if len(stride) != k or len(pad) != k:
            raise fail(attrs, f"stride={stride} and pad={pad} must have {k} dims")
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


def _pool_outputs(a: Attrs):
    # MXNet 1.9.1's CPU build (oneDNN) gives max pooling with a kernel over channel-first data
    # a hidden workspace output; it shows in the saved JSON's node_row_ptr.
    if a.pool_type == "max" and a.kernel and (a.layout or "NC").startswith("NC"):
        return ("output", "workspace")
    return ("output",)


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
    infer_shape=_bn_shape, infer_type=_bn_type,
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


declare(
    "LayerNorm", "_npx_layer_norm",
    params={"axis": P(INT, -1), "eps": P(FLOAT, 1e-5), "output_mean_var": P(BOOL, False)},
    inputs=("data", "gamma", "beta"), outputs=("output", "mean", "std"),
    num_visible_outputs=lambda a: 3 if a.output_mean_var else 1,
    infer_shape=_layer_norm_shape,
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


declare(
    "GroupNorm",
    params={"num_groups": P(INT, 1), "eps": P(FLOAT, 1e-5), "output_mean_var": P(BOOL, False)},
    inputs=("data", "gamma", "beta"), outputs=("output", "mean", "std"),
    num_visible_outputs=lambda a: 3 if a.output_mean_var else 1,
    infer_shape=_group_norm_shape,
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


declare(
    "InstanceNorm",
    params={"eps": P(FLOAT, 1e-3)},
    inputs=("data", "gamma", "beta"), outputs=("output", "mean", "var"),
    num_visible_outputs=1, infer_shape=_instance_norm_shape, infer_type=_float32_default,
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


declare(
    "L2Normalization",
    params={"eps": P(FLOAT, 1e-10), "mode": P(enum("channel", "instance", "spatial"),
                                                "instance")},
    outputs=("output", "norm"), num_visible_outputs=1, infer_shape=_l2norm_shape,
)


declare(
    "LRN",
    params={"alpha": P(FLOAT, 1e-4), "beta": P(FLOAT, 0.75), "knorm": P(FLOAT, 2.0),
            "nsize": P(INT)},
    outputs=("output", "tmp_norm"), num_visible_outputs=1, infer_shape=like_data,
)

# ----------------------------------------------------------------------------------------
# Activations and Dropout.

declare(
    "Activation", "_npx_activation",
    params={"act_type": P(enum("relu", "sigmoid", "softrelu", "softsign", "tanh"))},
    infer_shape=same_shape,
)


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
    infer_shape=_leaky_shape,
)


declare(
    "Dropout", "_npx_dropout",
    params={"p": P(FLOAT, 0.5), "mode": P(enum("always", "training"), "training"),
            "axes": P(SHAPE, ()), "cudnn_off": P(OPT_BOOL, False)},
    outputs=("output", "mask"), num_visible_outputs=1, infer_shape=like_data,
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


declare(
    "Embedding", "_npx_embedding", "_sparse_Embedding",
    params={"input_dim": P(INT), "output_dim": P(INT),
            "dtype": P(dtypes(*_EMB_DTYPES), F32), "sparse_grad": P(BOOL, False)},
    inputs=("data", "weight"),
    infer_shape=_embedding_shape, infer_type=_embedding_type,
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


declare(
    "softmax", "_npx_softmax", params=dict(_SOFTMAX_PARAMS),
    inputs=lambda a: ("data", "length") if a.use_length else ("data",),
    infer_shape=_softmax_shape, infer_type=_softmax_type,
)
# Unlike softmax (which may take a length input), these two infer in both directions.
declare("log_softmax", "_npx_log_softmax", params=dict(_SOFTMAX_PARAMS),
        infer_shape=same_shape, infer_type=_softmax_type)
declare("softmin", params=dict(_SOFTMAX_PARAMS), infer_shape=same_shape,
        infer_type=_softmax_type)

declare(
    "SoftmaxActivation",
    params={"mode": P(enum("channel", "instance"), "instance")},
    infer_shape=same_shape,
)

# ----------------------------------------------------------------------------------------
# UpSampling and Pad.


def _upsampling_inputs(a: Attrs):
    if a.sample_type == "bilinear":
        return ("data", "weight")
    return tuple(f"arg{i}" for i in range(a.num_args))


def _upsampling_shape(attrs: Attrs, ins: list, outs: list):
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


declare(
    "UpSampling",
    params={"scale": P(INT), "num_filter": P(INT, 0),
            "sample_type": P(enum("bilinear", "nearest")),
            "multi_input_mode": P(enum("concat", "sum"), "concat"), "num_args": P(INT),
            "workspace": P(INT, 512)},
    inputs=_upsampling_inputs, key_var_num_args="num_args",
    infer_shape=_upsampling_shape,
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


declare(
    "Pad", "pad",
    params={"mode": P(enum("constant", "edge", "reflect")), "pad_width": P(SHAPE),
            "constant_value": P(FLOAT, 0.0)},
    infer_shape=_pad_shape,
)
