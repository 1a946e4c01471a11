"""The executor: a Symbol bound to arrays, run forward and backward (MXNet's ``Executor``).

Binding fixes the arrays: ``arg_arrays``, ``grad_arrays`` and ``aux_arrays`` are NDArrays whose
``_data`` the executor reads and writes in place, so an optimizer updating ``weight._data`` is
seen by the next forward and gradients land in the arrays a Module holds.

A forward pass runs the graph's operators in MXNet's topological order on numpy arrays, each
through the kernels of its registry entry. Inference follows a memory plan made at bind time:
an intermediate value is dropped as soon as its last reader has run, and when an input dies at
the operator reading it (and nothing else sees its buffer) the kernel is told, through
``OpContext.inplace``, that it may write its output there. So a deep network holds only a few
activations at once. In inference a ``Convolution`` feeding only a ``BatchNorm`` runs as one
convolution with the normalisation folded into its scale and bias, and an activation
(``Activation``, ``relu``, ``clip``) that is the BatchNorm's only reader joins the same step,
its own kernel overwriting the convolution's fresh output; a folded depthwise convolution
whose output only a folded 1x1 convolution reads runs with it as one step (MobileNet's
blocks: one pass of row blocks over both, see ``ops._window.depthwise_pointwise``), together
with the folded 1x1 expansion in front when the depthwise layer alone reads it, and with the
add of the block's input after it (``ops._window.expand_depthwise_pointwise``). The fold
is recomputed on every forward from the current arrays (one compiled pass per layer), and
nothing else derived from parameter values is kept between forwards: weights and statistics
are written in place through many paths (``arr[:] =``, ``copyto``, optimizers on ``_data``,
numpy views from ``np.asarray``, training forwards), which no cache could watch cheaply.

Training keeps every value for backward, which walks the operators in reverse, sums the
gradients of values read by several operators and honours ``grad_req`` per argument
(``write``, ``add``, ``null``). As in MXNet, a head gradient is required (and its shape
checked) only when some argument's gradient reads it: not through loss layers, nor through
operators whose gradient is zero (comparisons, ``argmax``, ``shape_array``...).

As in MXNet's MKLDNN build, BatchNorm updates its moving statistics during the training
forward (the kernel does it: aux states are passed to it as inputs and updated in place).

Sparse arrays (csr data, row_sparse weights) may be bound as arguments, aux states and
gradients; ``simple_bind`` makes them from ``stype_dict`` or the variables' ``stype``. The
graph is computed densely, but operators reached by a sparse value run mx.nd's storage-aware
kernels so outputs get MXNet's storage types, and a sparse gradient is stored as MXNet's
kernels store it (row_sparse: the rows the operator declares, as imperative autograd does,
else the non-zero rows). Which arrays are sparse is found at bind: a dense executor pays
nothing for it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence
from time import perf_counter_ns
from typing import Any

import numpy as np

from . import autograd as _ag
from . import profiler as _profiler
from . import random as _random
from .base import MXNetError
from .context import Context, current_context
from .ndarray.ndarray import NDArray
from .ops import _mxnet_traits, registry
from .ops import nn as _nn
from .ops.registry import Attrs, Op, OpContext, merge_dtype, merge_shape
from .symbol import _graph

__all__ = ["Executor", "bind", "simple_bind", "eval_symbol"]

# Operators whose gradient does not read the head gradient (MXNet's loss layers and
# gradient stoppers): backward() may omit out_grads for heads they produce.
def _is_loss(node: Any) -> bool:
    """Whether a head needs no gradient from the caller: a loss operator, or a Custom
    operator whose Prop says ``need_top_grad`` is False (MXNet's custom losses)."""
    if node.op is None:
        return False
    if node.op.name == "Custom":
        from .ops import custom

        return not custom.needs_head_grad(node.parsed)
    return node.op.name in _LOSS_OPS


_LOSS_OPS = frozenset({
    "SoftmaxOutput", "LinearRegressionOutput", "LogisticRegressionOutput",
    "MAERegressionOutput", "SVMOutput", "MakeLoss", "make_loss", "BlockGrad",
})

_GRAD_REQS = ("write", "add", "null")
# Operators whose gradient is zero by definition: no gradient crosses them.
_BLOCKING_OPS = frozenset({"BlockGrad"})
_MERGE = {"shape": merge_shape, "type": merge_dtype}


class _ParamError(MXNetError, ValueError):
    """A parameter MXNet refuses with ValueError (unknown name, wrong shape)."""


def _req(value: Any, what: str) -> str:
    if value == "inplace":  # MXNet's kInPlace writes the gradient like kWriteTo
        return "write"
    if value not in _GRAD_REQS:
        raise MXNetError(f"grad_req for {what} is {value!r}; expected one of {_GRAD_REQS}")
    return value


def _reads_head_grad(node: _graph.Node) -> bool:
    """Whether the gradient MXNet builds for ``node`` reads its output gradients.

    Loss layers (and Custom operators whose Prop sets ``need_top_grad=False``) make their
    own; the operators of ``ops._mxnet_traits.ZERO_GRADIENT`` give zeros; ``topk`` does so
    when it returns indices or a mask, ``sample_multinomial`` without ``get_prob``.
    """
    op = node.op
    if op is None:
        return True
    if _is_loss(node) or _mxnet_traits.zero_gradient(op):
        return False
    if op.name == "topk":
        return node.parsed.ret_typ in ("value", "both")
    if op.name == "_sample_multinomial":
        return bool(node.parsed.get_prob)
    return True


def _grad_reqs(grad_req: Any, names: list[str]) -> list[str]:
    """One request per argument from a string, a list in argument order or a dict by name.

    As in MXNet's ``bind`` and ``simple_bind``, a dict's names that are not arguments are
    ignored (Module passes one dict to every executor of a model) and arguments it leaves
    out get ``null``."""
    if isinstance(grad_req, str):
        r = _req(grad_req, "every argument")
        return [r] * len(names)
    if isinstance(grad_req, Mapping):
        return [_req(grad_req.get(n, "null"), repr(n)) for n in names]
    reqs = list(grad_req)
    if len(reqs) != len(names):
        raise MXNetError(f"grad_req has {len(reqs)} entries for {len(names)} arguments "
                         f"({names})")
    return [_req(r, repr(n)) for r, n in zip(reqs, names)]


def _named_arrays(given: Any, names: list[str], what: str, required: bool
                  ) -> list[NDArray | None]:
    """Arrays in ``names`` order from a list or a dict (MXNet's ``_get_ndarray_inputs``)."""
    if given is None:
        if required and names:
            raise MXNetError(f"bind: key `{names[0]}` is missing in `{what}`")
        return [None] * len(names)
    if isinstance(given, Mapping):
        out = []
        for n in names:
            a = given.get(n)
            if a is None and required:
                raise MXNetError(f"bind: key `{n}` is missing in `{what}`")
            out.append(_as_nd(a, n, what))
        return out
    given = list(given)
    if len(given) != len(names):
        raise MXNetError(f"bind: length of `{what}` ({len(given)}) does not match the number "
                         f"of {'auxiliary states' if what == 'aux_states' else 'arguments'} "
                         f"({len(names)}: {names})")
    return [_as_nd(a, n, what) for a, n in zip(given, names)]


def _as_nd(a: Any, name: str, what: str) -> NDArray | None:
    if a is None or isinstance(a, NDArray):
        return a
    raise MXNetError(f"bind: `{what}` entry {name!r} must be an NDArray, got {type(a).__name__}")


def _assign(dst: NDArray, src: np.ndarray) -> None:
    """Copy dense values into a bound array, kept in its storage type (a sparse array's
    ``_data`` holds only its stored values)."""
    if dst.stype == "default":
        dst._data[...] = src
    else:
        dst[:] = src


def _as_numpy(v: Any) -> np.ndarray:
    if isinstance(v, NDArray):
        # A sparse array's _data holds only its stored values: densify it.
        return v._data if v.stype == "default" else v.asnumpy()
    return np.asarray(v)


# ----------------------------------------------------------------------------------------
# The plan: the graph compiled into steps over numbered value slots.


class _Step:
    __slots__ = ("node", "op", "attrs", "ins", "outs", "free", "dead", "run", "name", "fused")

    def __init__(self, node: _graph.Node, ins: list[int], outs: list[int]):
        self.node = node
        self.op: Op = node.op
        self.attrs: Attrs = node.parsed
        self.ins = ins
        self.outs = outs
        self.free: tuple[int, ...] = ()  # slots whose last reader is this step
        self.dead: tuple[int, ...] = ()  # input positions that may be overwritten
        self.run: Callable | None = None  # a replacement for op.forward (folded BatchNorm)
        self.name: str = node.op.name
        self.fused: tuple | None = None  # (Convolution, BatchNorm, activation) folded here


def _creation_attrs(order: list[_graph.Node], shapes: dict) -> dict:
    """The attributes to run each creation operator (no inputs, a ``shape`` parameter:
    ``zeros``, ``ones``, the samplers) declared with unknown dims with: its inferred shape.

    MXNet allocates every output at its inferred shape and lets ``_zeros`` fill it, so
    ``mx.sym.zeros(shape=(0, 50))`` (an RNN cell's ``begin_state``) takes its batch size
    from the graph; mxlite's kernels make their outputs from the parameter.
    """
    out = {}
    for n in order:
        if (n.op is None or n.inputs or n.parsed is None
                or not _graph.unknown_dims(n.parsed.get("shape"))):
            continue
        s = shapes.get((n, 0))
        if s is not None and 0 not in s:
            out[n] = n.op.parse_attrs({**n.attrs, "shape": str(tuple(int(d) for d in s))},
                                      n.name)
    return out


class _Plan:
    """Steps in topological order; ``release`` plans (inference) drop values after last use."""

    def __init__(self, heads: list, order: list[_graph.Node], slot: dict, release: bool,
                 fold: bool, attrs: dict | None = None):
        self.n_slots = len(slot)
        self.head_slots = [slot[(e[0], e[1])] for e in heads]
        ops = [n for n in order if n.op is not None]
        folded = _find_folds(ops, heads) if fold else {}
        skip = {m for conv, bn, act in folded.values() for m in (conv, bn) if act is not None
                or m is conv}
        steps = []
        for n in ops:
            if n in skip:
                continue
            st = _Step(n, [slot[(e[0], e[1])] for e in n.inputs],
                       [slot[(n, i)] for i in range(n.num_outputs())])
            if attrs and n in attrs:
                st.attrs = attrs[n]
            fused = folded.get(n)
            if fused is not None:
                conv, bn, act = fused
                st.ins = ([slot[(e[0], e[1])] for e in conv.inputs]
                          + [slot[(e[0], e[1])] for e in bn.inputs[1:]])
                st.run = _folded_conv_bn(conv, bn, act)
                st.name = "Convolution"  # the profiler's name: the work is the convolution's
                st.fused = fused
            steps.append(st)
        steps = self.steps = _merge_pointwise(steps, self.head_slots) if fold else steps
        if release:
            keep = set(self.head_slots)
            var_slots = {slot[(n, 0)] for n in order if n.op is None}
            last: dict[int, int] = {}
            for i, st in enumerate(steps):
                for s in st.ins:
                    last[s] = i
            frees: list[list[int]] = [[] for _ in steps]
            for i, st in enumerate(steps):
                for s in st.outs:  # values nobody reads go at once
                    if s not in last and s not in keep:
                        frees[i].append(s)
            for s, i in last.items():
                if s not in keep and s not in var_slots:
                    frees[i].append(s)
            for st, fr in zip(steps, frees):
                st.free = tuple(fr)
                st.dead = tuple(p for p, s in enumerate(st.ins)
                                if s in fr and st.ins.count(s) == 1)


# Operators whose inference kernel may run in place on a fused convolution's fresh output.
_FUSED_ACTS = frozenset({"Activation", "relu", "clip"})


def _find_folds(ops: list[_graph.Node], heads: list) -> dict[_graph.Node, tuple]:
    """Last node -> (Convolution, BatchNorm, activation or None) runnable as one inference step.

    The BatchNorm must be the convolution's only reader; an activation (``Activation``,
    ``relu``, ``clip``) joins when it is the BatchNorm's only reader.
    """
    readers: dict[tuple, list] = {}
    for n in ops:
        for e in n.inputs:
            readers.setdefault((e[0], e[1]), []).append(n)
    for e in heads:
        readers.setdefault((e[0], e[1]), []).extend((None, None))
    out = {}
    for n in ops:
        if n.op.name != "BatchNorm" or n.parsed.axis != 1 or n.parsed.output_mean_var:
            continue
        if readers.get((n, 1)) or readers.get((n, 2)):
            continue
        src = n.inputs[0]
        conv = src[0]
        if conv.op is None or conv.op.name != "Convolution" or src[1] != 0:
            continue
        if (len(readers.get((conv, 0), ())) != 1
                or not (conv.parsed.layout or "NC").startswith("NC")):
            continue
        after = readers.get((n, 0), ())
        act = after[0] if len(after) == 1 and after[0] is not None else None
        if act is not None and (act.op.name not in _FUSED_ACTS or len(act.inputs) != 1
                                or act.num_outputs() != 1):
            act = None
        out[act if act is not None else n] = (conv, n, act)
    return out


def _folded_conv_bn(conv: _graph.Node, bn: _graph.Node, act: _graph.Node | None) -> Callable:
    """A step computing ``act(BatchNorm(Convolution(x, w, b)))`` in inference as one
    convolution (the BatchNorm folded into its scale and bias, ``ops.nn``); a ReLU or clip
    runs in the convolution's epilogue, another activation's own kernel overwrites the fresh
    output in place."""
    conv_attrs, bn_attrs = conv.parsed, bn.parsed
    act_fwd = act.op.forward if act is not None else None
    act_attrs = act.parsed if act is not None else None
    geometry = _nn._conv_geometry(conv_attrs)
    # Only what the attributes and the input dtype fix is kept between calls: the fold itself
    # is recomputed from the current arrays (see _nn.conv_batchnorm_inference).
    bounds_by_dtype: dict = {}

    def run(ins: list, ctx: OpContext) -> list:
        dt = ins[0].dtype
        bounds = bounds_by_dtype.get(dt, False)
        if bounds is False:
            bounds = bounds_by_dtype[dt] = None if act is None else _nn.fused_clip_bounds(
                act.op.name, act_attrs, dt)
        y = _nn.conv_batchnorm_inference(conv_attrs, bn_attrs, ins, bounds, geometry)
        if act_fwd is None or bounds is not None:
            return [y, None, None] if act_fwd is None else [y]
        ctx.inplace = (0,)
        return act_fwd(act_attrs, [y], ctx)

    return run


def _is_depthwise(conv: _graph.Node) -> bool:
    a = conv.parsed
    return a.num_group > 1 and a.num_group == a.num_filter and len(a.kernel) == 2


def _is_pointwise(conv: _graph.Node) -> bool:
    a = conv.parsed
    _, stride, pad, _ = _nn._conv_geometry(a)
    return (a.num_group == 1 and all(k == 1 for k in a.kernel)
            and all(st == 1 for st in stride) and not any(pad))


def _merge_pointwise(steps: list[_Step], head_slots: list[int]) -> list[_Step]:
    """Folded depthwise steps followed by the folded 1x1 convolution step that alone reads
    their output become one step (:func:`_nn.depthwise_pointwise_inference`)."""
    readers: dict[int, int] = {}
    for st in steps:
        for s in st.ins:
            readers[s] = readers.get(s, 0) + 1
    for s in head_slots:
        readers[s] = readers.get(s, 0) + 2
    out: list[_Step] = []
    for st in steps:
        prev = out[-1] if out else None
        if (prev is not None and prev.fused is not None and st.fused is not None
                and prev.run is not None and _is_depthwise(prev.fused[0])
                and _is_pointwise(st.fused[0]) and st.ins[0] == prev.outs[0]
                and readers.get(prev.outs[0]) == 1):
            ex = out[-2] if len(out) > 1 else None
            if (ex is not None and ex.fused is not None and ex.run is not None
                    and _is_pointwise(ex.fused[0]) and prev.ins[0] == ex.outs[0]
                    and readers.get(ex.outs[0]) == 1):
                merged = _Step(st.node, ex.ins + prev.ins[1:] + st.ins[1:], st.outs)
                merged.run = _expand_depthwise_pointwise(ex, prev, st)
                out[-2:] = [merged]
            else:
                merged = _Step(st.node, prev.ins + st.ins[1:], st.outs)
                merged.run = _depthwise_pointwise(prev, st)
                out[-1] = merged
            merged.name = "Convolution"
        elif (prev is not None and st.op.name == "elemwise_add" and prev.run is not None
              and getattr(prev.run, "block", None) is not None
              and getattr(prev.run, "residual", True) is False
              and readers.get(prev.outs[0]) == 1 and len(st.ins) == 2
              and sorted(st.ins) == sorted((prev.outs[0], prev.ins[0]))):
            # The block's shortcut: the add of its input joins the step's last epilogue.
            merged = _Step(st.node, prev.ins, st.outs)
            merged.run = _expand_depthwise_pointwise(*prev.run.block, add=st,
                                                     z_first=st.ins[0] == prev.outs[0])
            merged.name = "Convolution"
            out[-1] = merged
        else:
            out.append(st)
    return out


def _depthwise_pointwise(dw: _Step, pw: _Step) -> Callable:
    """The step running the folded steps ``dw`` then ``pw`` together where it can (every
    input float32 or float64 alike, activations that are clips), else one after the
    other."""
    (dconv, dbn, dact), (pconv, pbn, pact) = dw.fused, pw.fused
    run_dw, run_pw = dw.run, pw.run
    n_dw = len(dw.ins)
    geometry = _nn._conv_geometry(dconv.parsed)
    bounds_by_dtype: dict = {}

    def bounds(dt: np.dtype) -> tuple | None:
        b = bounds_by_dtype.get(dt)
        if b is None:
            b = bounds_by_dtype[dt] = tuple(
                None if act is None else _nn.fused_clip_bounds(act.op.name, act.parsed, dt)
                for act in (dact, pact))
        return b

    def run(ins: list, ctx: OpContext) -> list:
        dt = ins[0].dtype
        bd, bp = bounds(dt)
        same = dt in (np.float32, np.float64) and all(a.dtype == dt for a in ins)
        if not same or (dact is not None and bd is None) or (pact is not None and bp is None):
            y = run_dw(ins[:n_dw], ctx)[0]
            return run_pw([y, *ins[n_dw:]], ctx)
        z = _nn.depthwise_pointwise_inference(dconv.parsed, dbn.parsed, ins[:n_dw], bd,
                                              geometry, pconv.parsed, pbn.parsed,
                                              ins[n_dw:], bp)
        return [z] if pact is not None else [z, None, None]

    return run


def _expand_depthwise_pointwise(ex: _Step, dw: _Step, pw: _Step, add: _Step | None = None,
                                z_first: bool = True) -> Callable:
    """The step running the folded 1x1 step ``ex``, then ``dw`` and ``pw`` as
    :func:`_depthwise_pointwise`, all three together where it can (every input float32 or
    float64 alike, activations that are clips), else one after the other. ``add``: an
    ``elemwise_add`` of the result and the step's input (the block's shortcut) in the
    same step, ``z_first`` when the result is its first operand."""
    steps = (ex, dw, pw)
    acts = tuple(st.fused[2] for st in steps)
    runs = tuple(st.run for st in steps)
    n_ex, n_dw = len(ex.ins), len(dw.ins) - 1
    geometry = _nn._conv_geometry(dw.fused[0].parsed)
    bounds_by_dtype: dict = {}
    memo: dict = {}  # what shapes and dtypes decide (never parameter values)

    def bounds(dt: np.dtype) -> tuple:
        b = bounds_by_dtype.get(dt)
        if b is None:
            b = bounds_by_dtype[dt] = tuple(
                None if act is None else _nn.fused_clip_bounds(act.op.name, act.parsed, dt)
                for act in acts)
        return b

    def run(ins: list, ctx: OpContext) -> list:
        dt = ins[0].dtype
        bs = bounds(dt)
        same = dt in (np.float32, np.float64) and all(a.dtype == dt for a in ins)
        if not same or any(a is not None and b is None for a, b in zip(acts, bs)):
            e = runs[0](ins[:n_ex], ctx)[0]
            y = runs[1]([e, *ins[n_ex:n_ex + n_dw]], ctx)[0]
            outs = runs[2]([y, *ins[n_ex + n_dw:]], ctx)
            if add is None:
                return outs
            ctx.inplace = (0,) if z_first else (1,)  # the fresh result, never the input
            pair = [outs[0], ins[0]] if z_first else [ins[0], outs[0]]
            return add.op.forward(add.attrs, pair, ctx)
        (ec, eb, _), (dc, db, _), (pc, pb, _) = (st.fused for st in steps)
        z = _nn.expand_depthwise_pointwise_inference(
            ec.parsed, eb.parsed, ins[:n_ex], bs[0], dc.parsed, db.parsed,
            ins[n_ex:n_ex + n_dw], bs[1], geometry, pc.parsed, pb.parsed,
            ins[n_ex + n_dw:], bs[2], memo, add is not None)
        return [z] if acts[2] is not None or add is not None else [z, None, None]

    run.block = steps  # type: ignore[attr-defined]  # for the shortcut's merge
    run.residual = add is not None  # type: ignore[attr-defined]
    return run


def _compile(heads: list) -> tuple[list[_graph.Node], dict]:
    order = _graph.topo_order(heads)
    slot: dict[tuple, int] = {}
    for n in order:
        for i in range(n.num_outputs()):
            slot[(n, i)] = len(slot)
    return order, slot


# ----------------------------------------------------------------------------------------
# The executor.


class Executor:
    """A bound symbol: arrays for its arguments, gradients and auxiliary states, and outputs.

    Made by :meth:`Symbol.bind` / :meth:`Symbol.simple_bind`; not constructed directly.
    """

    def __init__(self, symbol: Any, ctx: Context, arg_arrays: list[NDArray],
                 grad_arrays: list[NDArray | None], grad_reqs: list[str],
                 aux_arrays: list[NDArray], group2ctx: Any = None):
        self._symbol = symbol
        self._ctx = ctx
        self._group2ctx = group2ctx
        heads = symbol._outputs
        self._heads = heads
        self._order, self._slot = _compile(heads)
        arg_nodes, aux_nodes = _graph.split_inputs(heads)
        self._arg_names = [n.name for n in arg_nodes]
        self._aux_names = [n.name for n in aux_nodes]
        self._arg_slots = [self._slot[(n, 0)] for n in arg_nodes]
        self._aux_slots = [self._slot[(n, 0)] for n in aux_nodes]
        self.arg_arrays = arg_arrays
        self.grad_arrays = grad_arrays
        self.aux_arrays = aux_arrays
        self._grad_req = [r if g is not None else "null" for r, g in zip(grad_reqs, grad_arrays)]
        # Sparse arguments and aux states (csr data, row_sparse weights) hold only their
        # stored values in ``_data``; mxlite computes densely, so forward densifies them.
        # Found once here, so a dense-only graph does no extra work per step.
        self._sparse_in = tuple(
            (s, a) for s, a in zip(self._arg_slots + self._aux_slots, arg_arrays + aux_arrays)
            if a.stype != "default")
        self._sparse_vals: dict[int, NDArray] = {}  # slot -> its sparse value (forward)
        # Gradients stored sparse (row_sparse / csr grad arrays), also found once here.
        self._sparse_grad = [g is not None and g.stype != "default" for g in grad_arrays]
        if self._sparse_in:
            self._check_sparse_storage(arg_nodes + aux_nodes)
        self._monitor_vars = True  # report variable inputs by name (GraphExecutor, not CachedOp)
        self._output_names = symbol.list_outputs()
        self._plans: dict[str, _Plan] = {}
        self._train_vals: list | None = None  # values kept by the last forward, for backward
        self._train_ctxs: list | None = None
        self._last_train = False
        self._monitor: Callable | None = None
        self._monitor_all = False
        self._shared_outputs = False  # outputs are views of another executor's (reshape)
        self._cse = os.environ.get("MXNET_ELIMINATE_COMMON_EXPR", "1").strip().lower() \
            not in ("0", "false", "")
        try:
            shapes, types = self._inferred()
        except MXNetError:
            shapes, types = {}, {}
        self.outputs = self._initial_outputs(shapes, types)
        self._creation_attrs = _creation_attrs(self._order, shapes)

    # -- construction helpers ------------------------------------------------------------

    def _check_sparse_storage(self, nodes: list) -> None:
        """What MXNet's storage-type inference refuses at bind: ``BatchNorm`` with
        ``fix_gamma`` reading a sparse input (batch_norm.cc: "fix_gamma=True is not
        supported for sparse ndarrays")."""
        sparse_slots = {s for s, _ in self._sparse_in}
        sparse = {n for n, s in zip(nodes, self._arg_slots + self._aux_slots)
                  if s in sparse_slots}
        for n in self._order:
            if n.op is not None and n.op.name == "BatchNorm" and n.parsed.fix_gamma and \
                    any(e[0] in sparse for e in n.inputs):
                raise MXNetError(f"Error in operator {n.name}: fix_gamma=True is not "
                                 "supported for sparse ndarrays. Tracked at #11647")

    def _inferred(self) -> tuple[dict, dict]:
        """Shapes and dtypes of every value in the graph, from the bound arrays."""
        arrays = self.arg_arrays + self.aux_arrays
        known = {n: a.shape for n, a in zip(self._var_nodes(), arrays)}
        tknown = {n: a._data.dtype for n, a in zip(self._var_nodes(), arrays)}
        shapes, _ = _graph.infer(self._heads, known, "shape")
        types, _ = _graph.infer(self._heads, tknown, "type")
        return shapes, types

    def _initial_outputs(self, shapes: dict, types: dict) -> list[NDArray]:
        outs = []
        for e in self._heads:
            s = shapes.get((e[0], e[1]))
            t = types.get((e[0], e[1])) or np.dtype(np.float32)
            data = np.zeros(s, t) if s is not None and 0 not in s else np.zeros((0,), t)
            outs.append(NDArray(data, self._ctx))
        return outs

    def _var_nodes(self) -> list[_graph.Node]:
        arg_nodes, aux_nodes = _graph.split_inputs(self._heads)
        return arg_nodes + aux_nodes

    def _plan(self, kind: str) -> _Plan:
        p = self._plans.get(kind)
        if p is None:
            release = kind == "infer"
            p = self._plans[kind] = _Plan(self._heads, self._order, self._slot, release,
                                          fold=release, attrs=self._creation_attrs)
            if self._sparse_in:
                self._sparse_steps(p)
        return p

    def _sparse_steps(self, plan: _Plan) -> None:
        """Give the steps of an executor bound to sparse arrays MXNet's output storage types.

        Each step runs, when a sparse value reaches it, the storage-aware kernels of mx.nd
        (``ndarray.sparse._forward``: ``elemwise_add`` of row_sparse arrays stays row_sparse,
        ``dot(csr.T, x)`` gives row_sparse...); its outputs go on dense in ``vals`` (mxlite
        computes densely, and backward reads them) and sparse in ``self._sparse_vals``. Done
        by wrapping the steps' kernels here, so dense executors' forward loop is untouched.
        """
        from .ndarray import sparse as _sp

        table = self._sparse_vals

        def wrap(st: _Step) -> Callable:
            op, attrs, in_slots, out_slots = st.op, st.attrs, st.ins, st.outs

            def run(ins: list, ctx: OpContext) -> list:
                if any(s in table for s in in_slots):
                    arrays = [table[s] if s in table else NDArray(v, self._ctx)
                              for s, v in zip(in_slots, ins)]
                    res = _sp._forward(op, attrs, arrays, ctx)
                    if res is not None:
                        outs = []
                        for s, r in zip(out_slots, res):
                            if r.stype != "default":
                                table[s] = r
                                outs.append(r.asnumpy())
                            else:
                                table.pop(s, None)
                                outs.append(r._data)
                        return outs
                for s in out_slots:
                    table.pop(s, None)
                return op.forward(attrs, ins, ctx)

            return run

        for st in plan.steps:
            if st.run is None and st.op.forward is not None:
                st.run = wrap(st)

    # -- dictionaries ------------------------------------------------------------------------

    @property
    def arg_dict(self) -> dict[str, NDArray]:
        """Argument name -> array."""
        return dict(zip(self._arg_names, self.arg_arrays))

    @property
    def grad_dict(self) -> dict[str, NDArray | None]:
        """Argument name -> gradient array (None where ``grad_req`` is ``null``)."""
        return dict(zip(self._arg_names, self.grad_arrays))

    @property
    def aux_dict(self) -> dict[str, NDArray]:
        """Auxiliary state name -> array."""
        return dict(zip(self._aux_names, self.aux_arrays))

    @property
    def output_dict(self) -> dict[str, NDArray]:
        """Output name (``list_outputs``) -> array."""
        return dict(zip(self._output_names, self.outputs))

    # -- running ---------------------------------------------------------------------------

    def forward(self, is_train: bool = False, **kwargs: Any) -> list[NDArray]:
        """Run the graph; keyword arguments are first copied into the named argument arrays.

        Returns :attr:`outputs`.
        """
        if kwargs:
            arg_dict = self.arg_dict
            for name, value in kwargs.items():
                dst = arg_dict.get(name)
                if dst is None:
                    raise _ParamError(f"Unknown argument {name}")
                src = _as_numpy(value)
                if src.shape != dst.shape:
                    raise _ParamError(f"Shape not match! Argument {name}, need: {dst.shape}, "
                                      f"received: {src.shape}")
                _assign(dst, src)
        is_train = bool(is_train)
        self._run(is_train, keep=is_train)
        return self.outputs

    def run_kept(self, is_train: bool) -> tuple:
        """Run forward on the bound arrays and return what backward needs, without keeping
        it on the executor: ``backward(..., kept=state)`` differentiates that very call even
        after later forwards (a hybridized block called twice before one backward)."""
        self._run(is_train, keep=True)
        state = (self._train_vals, self._train_ctxs)
        self._train_vals = self._train_ctxs = None
        return state

    def _run(self, is_train: bool, keep: bool) -> None:
        plan = self._plan("train" if keep or self._monitor is not None else "infer")
        vals: list = [None] * plan.n_slots
        for s, a in zip(self._arg_slots, self.arg_arrays):
            vals[s] = a._data
        for s, a in zip(self._aux_slots, self.aux_arrays):
            vals[s] = a._data
        sparse_in = self._sparse_in
        if sparse_in:
            self._sparse_vals.clear()
            for s, a in sparse_in:
                vals[s] = a.asnumpy()
                self._sparse_vals[s] = a
        rng = _random.generator()
        ctxs: list | None = [] if keep else None
        monitor = self._monitor
        refcount = sys.getrefcount
        timed = _profiler._ACTIVE["symbolic"]
        ins: list = []
        for st in plan.steps:
            ins = [vals[s] for s in st.ins]
            if monitor is not None and self._monitor_all:
                # before the kernel, as MXNet calls it: the step may free or overwrite them
                self._monitor_inputs(st, vals)
            ctx = OpContext(is_train, rng)
            if st.dead:
                for s in st.free:
                    vals[s] = None
                ok = []
                for p in st.dead:
                    a = ins[p]
                    # Only this list and ``a`` refer to it (no view, no other holder), it owns
                    # its memory, or is the one view of memory nothing else refers to (a
                    # convolution's channel-first view of its GEMM output), and may be
                    # written: the kernel may reuse it.
                    if type(a) is np.ndarray and a.flags.writeable and refcount(a) <= 3:
                        base = a.base
                        if base is None or (type(base) is np.ndarray and base.base is None
                                            and refcount(base) <= 3):
                            ok.append(p)
                        base = None
                    del a
                if ok:
                    ctx.inplace = tuple(ok)
            fwd = st.run or st.op.forward
            if fwd is None:
                raise MXNetError(f"operator {st.op.name} (node {st.node.name!r}) has no "
                                 "forward kernel in mxlite yet")
            t0 = perf_counter_ns() if timed else 0
            try:
                outs = fwd(ins, ctx) if st.run is not None else fwd(st.attrs, ins, ctx)
            except (MXNetError, ValueError, IndexError, KeyError) as e:
                raise MXNetError(f"Error in operator {st.node.name} ({st.op.name}): {e}") \
                    from None
            if timed:
                _profiler.record_op(st.name, t0)
            for s, v in zip(st.outs, outs):
                vals[s] = v
            outs = v = None  # keep reference counts exact for the next step's check
            if keep:
                ctxs.append(ctx)
            else:
                for s in st.free:
                    vals[s] = None
            if monitor is not None:
                self._monitor_step(st, vals)
        del ins
        if sparse_in:
            self._sparse_outputs(plan, vals)
        for o, s in zip(self.outputs, plan.head_slots):
            if sparse_in and o.stype != "default":
                continue  # set by _sparse_outputs
            v = vals[s]
            if (self._shared_outputs and o._data is not None and v is not None
                    and o._data.shape == np.shape(v) and o._data.flags.writeable):
                o._data[...] = v  # a reshaped executor writes into its parent's memory
            else:
                o._data = v
        if keep:
            self._train_vals, self._train_ctxs = vals, ctxs
        else:
            self._train_vals = self._train_ctxs = None
        self._last_train = is_train

    def _sparse_outputs(self, plan: _Plan, vals: list) -> None:
        """Outputs computed sparse (``_sparse_steps``) are returned in their storage type."""
        for k, s in enumerate(plan.head_slots):
            sp = self._sparse_vals.get(s)
            if sp is not None:
                self.outputs[k] = sp
            elif self.outputs[k].stype != "default":
                self.outputs[k] = NDArray(vals[s], self._ctx)

    def _monitor_step(self, st: _Step, vals: list) -> None:
        names = st.op.list_outputs(st.attrs)
        for i, s in enumerate(st.outs):
            if vals[s] is not None:
                self._monitor(f"{st.node.name}_{names[i]}", NDArray(vals[s], self._ctx))

    def _monitor_inputs(self, st: _Step, vals: list) -> None:
        # Every input as ``<node>_<input name>``, ``input<i>`` for operators MXNet registers
        # without input names, as MXNet's ExecuteMonInputCallback names them. MXNet's
        # GraphExecutor also reports a variable input under its own name first; its CachedOp,
        # which mxlite's hybridized Gluon blocks run on this executor, does not
        # (``_monitor_vars`` off, set by gluon.block).
        op = st.op
        if _mxnet_traits.named_inputs(op):
            in_names = op.list_inputs(st.attrs)
        else:
            in_names = [f"input{i}" for i in range(len(st.ins))]
        srcs = st.node.inputs
        for i, s in enumerate(st.ins):
            if i < len(in_names) and vals[s] is not None:
                if self._monitor_vars and i < len(srcs) and srcs[i][0].op is None:
                    self._monitor(srcs[i][0].name, NDArray(vals[s], self._ctx))
                self._monitor(f"{st.node.name}_{in_names[i]}", NDArray(vals[s], self._ctx))

    def _monitor_backward(self, st: _Step, igs: Sequence, ins: list) -> None:
        # MXNet names its backward node's outputs (one gradient per input) like this.
        n = len(st.ins)
        for k, (g, x) in enumerate(zip(igs, ins)):
            name = f"{st.node.name}_backward_output" + (str(k) if n > 1 else "")
            arr = g if g is not None else np.zeros_like(x)
            self._monitor(name, NDArray(np.asarray(arr), self._ctx))

    def backward(self, out_grads: Any = None, is_train: bool = True,
                 kept: tuple | None = None) -> None:
        """Gradients of the outputs with respect to the arguments, into :attr:`grad_arrays`.

        ``out_grads`` are the head gradients (an NDArray or a list, one per output); they may
        be left out only for outputs of loss layers, which ignore them. ``kept`` is a state
        from :meth:`run_kept` to differentiate instead of the last forward.
        """
        if all(r == "null" for r in self._grad_req):
            return
        if kept is None and self._train_vals is None:
            # The last forward kept nothing (inference): recompute, in the same mode, keeping
            # what backward reads.
            self._run(self._last_train, keep=True)
        vals, ctxs = kept if kept is not None else (self._train_vals, self._train_ctxs)
        plan = self._plan("train")
        heads = self._heads
        if out_grads is None:
            given: list = []
        elif isinstance(out_grads, (NDArray, np.ndarray)):
            given = [out_grads]
        elif isinstance(out_grads, Mapping):
            given = [out_grads.get(n) for n in self._output_names]
        else:
            given = list(out_grads)
        # MXNet reads one head gradient per output and ignores any beyond them
        # (its foreach tests pass a list longer than the outputs).
        given = given[:len(heads)]

        # Which values lead to an argument that wants a gradient.
        need = [False] * plan.n_slots
        for s, r in zip(self._arg_slots, self._grad_req):
            if r != "null":
                need[s] = True
        step_need = []
        for st in plan.steps:
            nd = any(need[s] for s in st.ins)
            step_need.append(nd)
            if nd:
                for s in st.outs:
                    need[s] = True

        grads: dict[int, np.ndarray] = {}
        owned: set[int] = set()

        def acc(s: int, g: np.ndarray) -> None:
            cur = grads.get(s)
            if cur is None:
                grads[s] = g
            elif s in owned:
                np.add(cur, g, out=cur)
            else:
                grads[s] = cur + g
                owned.add(s)

        used = self._used_head_grads(plan, need, step_need)
        for k, e in enumerate(heads):
            s = plan.head_slots[k]
            if not need[s]:
                continue
            g = given[k] if k < len(given) else None
            if not used[k]:
                # As in MXNet, a head gradient nothing reads is neither required nor looked
                # at; the kernels still get one of the output's shape (ones for a loss layer,
                # whose kernel ignores it, zeros otherwise).
                fill = np.ones_like if _is_loss(e[0]) else np.zeros_like
                g = fill(vals[s])
            elif g is None:
                node = e[0]
                if not _is_loss(node):
                    raise MXNetError(
                        f"backward: output {k} ({self._output_names[k]!r}) needs a head "
                        "gradient: because the last operator is not Loss function, "
                        "head_gradient is required when calling backward. If you are "
                        "attempting to minimize the output as an objective, please modify "
                        "your network and pass it through the make_loss symbol.")
                g = np.ones_like(vals[s])
            else:
                g = _as_numpy(g)
                if g.shape != np.shape(vals[s]):
                    raise MXNetError(f"backward: out_grads[{k}] has shape {g.shape}, output "
                                     f"{self._output_names[k]!r} has {np.shape(vals[s])}")
                # MXNet copies the head gradient into a buffer of the output's dtype.
                dt = getattr(vals[s], "dtype", None)
                if dt is not None and g.dtype != dt:
                    g = g.astype(dt)
            acc(s, g)

        timed = _profiler._ACTIVE["symbolic"]
        monitor = self._monitor is not None
        for i in range(len(plan.steps) - 1, -1, -1):
            if not step_need[i]:
                continue
            st = plan.steps[i]
            ogs = [grads.pop(s, None) for s in st.outs]
            if all(g is None for g in ogs):
                continue
            outs = [vals[s] for s in st.outs]
            ogs = [np.zeros_like(o) if g is None else g for g, o in zip(ogs, outs)]
            if st.op.backward is None:
                raise MXNetError(f"operator {st.op.name} (node {st.node.name!r}) has no "
                                 "backward kernel in mxlite yet")
            ins = [vals[s] for s in st.ins]
            # A monitor sees every input's gradient, as MXNet's backward nodes produce them.
            ctxs[i].need_grad = None if monitor else tuple(need[s] for s in st.ins)
            ctxs[i].is_train = is_train  # backward's own mode, as MXNet runs it
            t0 = perf_counter_ns() if timed else 0
            try:
                igs = st.op.backward(st.attrs, ogs, ins, outs, ctxs[i])
                if timed:
                    _profiler.record_op("_backward_" + st.op.name, t0)
            except MXNetError as e:
                raise MXNetError(f"Error in operator {st.node.name} ({st.op.name}) backward: "
                                 f"{e}") from None
            if monitor:
                self._monitor_backward(st, igs, ins)
            for s, g in zip(st.ins, igs):
                if g is not None and need[s]:
                    acc(s, g)
            igs = g = None  # the gradients now live in `grads` alone, so they can be handed over

        for s, r, ga, sparse in zip(self._arg_slots, self._grad_req, self.grad_arrays,
                                    self._sparse_grad):
            if r == "null":
                continue
            g = grads.pop(s, None)
            if sparse:
                self._store_sparse_grad(ga, r, g, self._grad_rows(plan, s, ga.stype, vals))
                g = None
                continue
            if r == "write":
                if g is None:
                    ga._data[...] = 0
                elif not _hand_over(ga, g):
                    ga._data[...] = g
            elif g is not None:
                ga._data += g
            g = None

    def _grad_rows(self, plan: _Plan, slot: int, stype: str, vals: list
                   ) -> np.ndarray | None:
        """The rows MXNet's sparse kernels store in the row_sparse gradient of the argument
        in ``slot``: the union of those declared by every operator reading it (as
        their ``sparse_grad_rows`` declare them, as for imperative autograd), None (the non-zero
        rows, MXNet's dense fallback) when one reader declares none."""
        if stype != "row_sparse":
            return None
        bound = dict(zip(self._arg_slots + self._aux_slots, self.arg_arrays + self.aux_arrays))
        acc: dict[int, np.ndarray | None] = {}
        for st in plan.steps:
            if slot not in st.ins:
                continue
            arrays = [bound[s] if s in bound else NDArray(vals[s], self._ctx) for s in st.ins]
            fn = (None if st.op.sparse_grad_rows is None
                  else st.op.sparse_grad_rows(st.attrs, arrays, [vals[s] for s in st.ins]))
            for i, s in enumerate(st.ins):
                if s == slot:
                    _ag._merge_rows(acc, 0, None if fn is None else fn(i, stype))
        return acc.get(0)

    @staticmethod
    def _store_sparse_grad(ga: NDArray, req: str, g: np.ndarray | None,
                           rows: np.ndarray | None) -> None:
        """Store the dense gradient ``g`` (None: zeros) in the sparse grad array ``ga`` as
        MXNet does (``autograd._stored``). MXNet 1.9.1 has no sparse ``add``: its sparse
        kernels (the operators declaring ``rows``) refuse it; its dense fallback reads
        uninitialised memory, so mxlite sums there (the non-zero rows of the sum)."""
        if req == "add":
            if rows is not None:
                raise MXNetError("backward: grad_req='add' is not supported for a "
                                 f"{ga.stype} gradient computed by a sparse kernel (MXNet's "
                                 "check req == kWriteTo); use grad_req='write'")
            if g is None:
                return
            g = ga.asnumpy() + g
        new = _ag._stored(g, rows, ga)
        ga._data, ga._aux = new._data, new._aux

    def _used_head_grads(self, plan: _Plan, need: list[bool], step_need: list[bool]
                         ) -> list[bool]:
        """Per output: whether its head gradient reaches an argument wanting a gradient
        through operators whose gradients read it (MXNet's backward graph has the head
        gradient as an input only then, and ``Executor.backward`` copies only those)."""
        carry = [0] * plan.n_slots  # bit k: the value's gradient depends on head k
        for k, s in enumerate(plan.head_slots):
            carry[s] |= 1 << k
        for i in range(len(plan.steps) - 1, -1, -1):
            st = plan.steps[i]
            if not step_need[i] or st.op.name in _BLOCKING_OPS or not _reads_head_grad(st.node):
                continue
            bits = 0
            for s in st.outs:
                bits |= carry[s]
            if bits:
                for s in st.ins:
                    if need[s]:
                        carry[s] |= bits
        bits = 0
        for s, r in zip(self._arg_slots, self._grad_req):
            if r != "null":
                bits |= carry[s]
        return [bool(bits >> k & 1) for k in range(len(plan.head_slots))]

    # -- parameters ------------------------------------------------------------------------

    def copy_params_from(self, arg_params: Mapping[str, Any],
                         aux_params: Mapping[str, Any] | None = None,
                         allow_extra_params: bool = False) -> None:
        """Copy parameter values into the bound arrays (cast to their dtypes).

        A name that is not an argument (auxiliary state) is an error unless
        ``allow_extra_params``.
        """
        for params, table, what in ((arg_params, self.arg_dict, "arguments"),
                                    (aux_params or {}, self.aux_dict, "auxiliary states")):
            for name, value in params.items():
                dst = table.get(name)
                if dst is None:
                    if allow_extra_params:
                        continue
                    raise _ParamError(f'Find name "{name}" that is not in the {what}')
                src = _as_numpy(value)
                if src.shape != dst.shape:
                    raise _ParamError(f"copy_params_from: {name!r} has shape {src.shape}, the "
                                      f"bound array has {dst.shape}")
                _assign(dst, src)

    def set_monitor_callback(self, callback: Callable, monitor_all: bool = False) -> None:
        """Call ``callback(name, array)`` for every operator output (and input if
        ``monitor_all``) during forward."""
        self._monitor = callback
        self._monitor_all = monitor_all

    def reshape(self, partial_shaping: bool = False, allow_up_sizing: bool = False,
                **kwargs: Any) -> Executor:
        """A new executor for new input shapes, sharing the arrays whose shapes stay.

        Arrays that shrink are views of the old memory, as in MXNet; growing one needs
        ``allow_up_sizing``; an argument not named whose shape would change needs
        ``partial_shaping``.
        """
        sym = self._symbol
        arg_shapes, _, aux_shapes = sym.infer_shape(**kwargs)
        if arg_shapes is None:
            raise MXNetError(f"reshape: shapes {kwargs} do not determine every argument")

        def remake(names, arrays, shapes, grads):
            new_arr, new_grad = [], []
            for i, (name, a, shape) in enumerate(zip(names, arrays, shapes)):
                g = grads[i] if grads is not None else None
                shape = tuple(shape)
                if a.shape == shape:
                    new_arr.append(a)
                    new_grad.append(g)
                    continue
                if not partial_shaping and name not in kwargs:
                    raise MXNetError(f"reshape: new shape of arg: {name} {shape} does not "
                                     f"match its original {a.shape}; pass partial_shaping=True "
                                     "to allow it")
                size = int(np.prod(shape))
                if size > a.size and not allow_up_sizing:
                    raise MXNetError(
                        f"reshape: new shape of arg: {name} {shape} is larger than original "
                        f"{a.shape}. First making a big executor and then down sizing it is "
                        "more efficient than the reverse. If you really want to up size, set "
                        "allow_up_sizing=True to enable allocation of new arrays.")
                # on the array's own context, as MXNet's reshape allocates (group2ctx)
                new_arr.append(_resized(a, shape, a.context))
                new_grad.append(None if g is None else _resized(g, shape, g.context))
            return new_arr, new_grad

        args, grads = remake(self._arg_names, self.arg_arrays, arg_shapes, self.grad_arrays)
        aux, _ = remake(self._aux_names, self.aux_arrays, aux_shapes, None)
        ex = Executor(sym, self._ctx, args, grads, self._grad_req, aux, self._group2ctx)
        ex._monitor, ex._monitor_all = self._monitor, self._monitor_all
        ex._monitor_vars = self._monitor_vars
        # As in MXNet, the new executor's outputs live in the old one's memory where they fit.
        shared = []
        for old, new in zip(self.outputs, ex.outputs):
            view = _resized(old, new.shape, self._ctx) if old._data is not None else new
            if view._data.dtype != new._data.dtype or not np.shares_memory(view._data,
                                                                            old._data):
                view = new
            shared.append(view)
        ex.outputs = shared
        ex._shared_outputs = True
        return ex

    def _grad_paths(self) -> tuple[_Plan, list[bool], list[bool]]:
        """Per value slot: whether it depends on an argument wanting a gradient, and whether
        a head's gradient reaches it (neither crosses a ``BlockGrad``)."""
        plan = self._plan("train")
        need = [False] * plan.n_slots
        for s, r in zip(self._arg_slots, self._grad_req):
            if r != "null":
                need[s] = True
        for st in plan.steps:
            if st.op.name not in _BLOCKING_OPS and any(need[s] for s in st.ins):
                for s in st.outs:
                    need[s] = True
        reach = [False] * plan.n_slots
        for s in plan.head_slots:
            reach[s] = True
        for st in reversed(plan.steps):
            if st.op.name not in _BLOCKING_OPS and any(reach[s] for s in st.outs):
                for s in st.ins:
                    reach[s] = True
        return plan, need, reach

    def _check_differentiable(self) -> None:
        """MXNet builds the backward graph at bind: an operator with no gradient on the way
        from the heads to an argument wanting one is refused then."""
        if all(r == "null" for r in self._grad_req):
            return
        plan, need, reach = self._grad_paths()
        for st in plan.steps:
            if (st.op.backward is None and any(reach[s] for s in st.outs)
                    and any(need[s] for s in st.ins)):
                raise MXNetError(f"Operator {st.op.name} (node {st.node.name!r}) is "
                                 "non-differentiable because it didn't register FGradient "
                                 "attribute.")

    def _planned_bytes(self) -> int:
        """Memory the graph's own values take (arguments excluded), as MXNet's plan counts
        it: every value plus the gradients when backward runs, else the inference peak."""
        try:
            shapes, types = self._inferred()
        except MXNetError:
            return 0
        size = {}
        for (n, i), sh in shapes.items():
            if n.op is not None and sh is not None and (n, i) in self._slot:
                t = types.get((n, i)) or np.dtype(np.float32)
                size[self._slot[(n, i)]] = int(np.prod(sh)) * np.dtype(t).itemsize
        plan, need, reach = self._grad_paths()
        grads = [s for s in size if need[s] and reach[s]]
        if any(need[s] and reach[s] for s in plan.head_slots) or grads:
            return sum(size.values()) + sum(size[s] for s in grads)
        infer = self._plan("infer")
        live = peak = 0
        for st in infer.steps:
            live += sum(size.get(s, 0) for s in st.outs)
            peak = max(peak, live)
            live -= sum(size.get(s, 0) for s in st.free)
        return peak

    def get_optimized_symbol(self) -> Any:
        """The graph as this executor plans it: a copy of the bound symbol where, as in MXNet
        with ``MXNET_ELIMINATE_COMMON_EXPR=1`` (the default) at bind time, operators repeated
        on the same inputs with the same attributes are merged (outputs that become one value
        are kept apart by ``_copy``)."""
        from .symbol.symbol import load_json

        sym = load_json(self._symbol.tojson())
        if self._cse:
            sym._outputs = _eliminate_common_expr(sym._outputs)
        return sym

    def debug_str(self) -> str:
        """The symbol's debug string and the size of the memory plan, as MXNet prints them."""
        total = self._planned_bytes()
        return (self._symbol.debug_str()
                + f"Total {(total + (1 << 20) - 1) >> 20} MB allocated\n")


def _cse_eligible(node: _graph.Node) -> bool:
    # MXNet leaves alone what draws random numbers, mutates inputs or holds graphs.
    op = node.op
    if op is None or node.subgraphs or node.aux_indices():
        return False
    name = op.name.lstrip("_")
    return not (name.startswith(("random", "sample", "npi_random", "npx_random"))
                or op.name in _RANDOM_OPS)


_RANDOM_OPS = frozenset({"Dropout", "RNN", "_shuffle", "_contrib_rand_zipfian",
                         "_sample_unique_zipfian"})


def _eliminate_common_expr(heads: list) -> list:
    """Merge operator nodes with the same operator, attributes and inputs (MXNet's
    EliminateCommonExpr pass) in the graph of ``heads``, in place; returns the new heads."""
    canon: dict[tuple, _graph.Node] = {}
    merged: dict[_graph.Node, _graph.Node] = {}
    for n in _graph.topo_order(heads):
        if n.op is None:
            continue
        n.inputs = [(merged.get(src, src), i, v) for src, i, v in n.inputs]
        if n.deps:
            n.deps = [merged.get(d, d) for d in n.deps]
        if not _cse_eligible(n):
            continue
        key = (n.op.name, tuple(sorted(n.attrs.items())),
               tuple((id(src), i) for src, i, _ in n.inputs),
               tuple(id(d) for d in n.deps or ()))
        first = canon.setdefault(key, n)
        if first is not n:
            merged[n] = first
    out, seen = [], set()
    copy = registry.get("_copy")
    for src, i, v in heads:
        src = merged.get(src, src)
        if (src, i) in seen:  # two outputs became one value: a copy keeps them apart
            node = _graph.Node(copy, f"{src.name}_copy{len(out)}", {}, [(src, i, v)],
                               parsed=copy.parse_attrs({}))
            src, i, v = node, 0, 0
        seen.add((src, i))
        out.append((src, i, v))
    return out


def _hand_over(dst: NDArray, g: np.ndarray) -> bool:
    """Make the fresh gradient ``g`` the buffer of ``dst`` when no one can tell it from a copy.

    That is when nothing but ``dst`` refers to its old buffer (no view, no other holder) and
    nothing but the caller's local refers to ``g``; it saves copying every weight gradient.
    """
    old = dst._data
    ok = (type(g) is np.ndarray and g.base is None and old.base is None
          and g.dtype == old.dtype and g.shape == old.shape and g.flags.c_contiguous
          and g.flags.writeable and sys.getrefcount(old) <= 3 and sys.getrefcount(g) <= 3)
    if ok:
        dst._data = g
    return ok


def _resized(a: NDArray, shape: tuple, ctx: Context) -> NDArray:
    size = int(np.prod(shape))
    flat = a._data.reshape(-1) if a._data.flags.c_contiguous else None
    if flat is not None and size <= flat.size:
        return NDArray(flat[:size].reshape(shape), ctx)
    return NDArray(np.zeros(shape, a._data.dtype), ctx)


# ----------------------------------------------------------------------------------------
# Binding (the Symbol methods delegate here).


def _check_bound(symbol: Any, arg_names: list[str], aux_names: list[str],
                 args: list[NDArray], aux: list[NDArray]) -> None:
    """Shapes and dtypes of the given arrays against what the graph infers from them."""
    arg_nodes, aux_nodes = _graph.split_inputs(symbol._outputs)
    nodes = arg_nodes + aux_nodes
    arrays = args + aux
    for kind, what, get in (("shape", "shape", lambda a: a.shape),
                            ("type", "dtype", lambda a: a._data.dtype)):
        known = {n: get(a) for n, a in zip(nodes, arrays)}
        try:
            _graph.infer(symbol._outputs, known, kind)
        except MXNetError as e:
            culprit = _culprit(symbol, nodes, known, kind)
            if culprit is None:
                raise MXNetError(f"bind: {e}") from None
            n, want = culprit
            role = "auxiliary state" if n in aux_nodes else "argument"
            got = known[n]
            if kind == "type":
                got, want = np.dtype(got).name, np.dtype(want).name
            raise MXNetError(f"bind: {role} {n.name!r} has {what} {got}, but the other "
                             f"arrays make it {want} ({e})") from None


def _culprit(symbol: Any, nodes: list, known: dict, kind: str) -> tuple | None:
    """The input whose given shape (dtype) the others contradict, with the value they imply.

    Each input is left out in turn; one the rest determine fully, differently, is preferred
    over one they determine partly (an unknown batch size), in graph order.
    """
    merge = _MERGE[kind]
    best = None
    for n in nodes:
        rest = {m: v for m, v in known.items() if m is not n}
        try:
            val, _ = _graph.infer(symbol._outputs, rest, kind)
        except MXNetError:
            continue
        want = val.get((n, 0))
        if want is None:
            continue
        try:
            merge(want, known[n])
            continue  # consistent: not this one
        except MXNetError:
            pass
        full = kind == "type" or 0 not in want
        if full:
            return n, want
        if best is None:
            best = (n, want)
    return best


def bind(symbol: Any, ctx: Context | None, args: Any, args_grad: Any = None,
         grad_req: Any = "write", aux_states: Any = None, group2ctx: Any = None,
         shared_exec: Any = None) -> Executor:
    """``Symbol.bind``: an executor over the given arrays (shared, not copied)."""
    ctx = ctx or current_context()
    arg_names = symbol.list_arguments()
    aux_names = symbol.list_auxiliary_states()
    arg_arrays = _named_arrays(args, arg_names, "args", True)
    grad_arrays = _named_arrays(args_grad, arg_names, "args_grad", False)
    aux_arrays = _named_arrays(aux_states, aux_names, "aux_states", True)
    reqs = _grad_reqs(grad_req, arg_names)
    for name, a, g in zip(arg_names, arg_arrays, grad_arrays):
        if g is not None and g.shape != a.shape:
            raise MXNetError(f"bind: gradient array for {name!r} has shape {g.shape}, the "
                             f"argument has {a.shape}")
    _check_bound(symbol, arg_names, aux_names, arg_arrays, aux_arrays)
    return Executor(symbol, ctx, arg_arrays, grad_arrays, reqs, aux_arrays, group2ctx)


def simple_bind(symbol: Any, ctx: Context | None, grad_req: Any = "write",
                type_dict: Mapping[str, Any] | None = None,
                stype_dict: Mapping[str, str] | None = None, group2ctx: Any = None,
                shared_arg_names: Sequence[str] | None = None, shared_exec: Any = None,
                shared_buffer: Any = None, **kwargs: Any) -> Executor:
    """``Symbol.simple_bind``: allocate every array from the given input shapes.

    Arrays start at zero. With ``shared_exec``, arguments (and their gradients) and auxiliary
    states of the same name, shape and dtype are that executor's arrays, as Module's
    bucketing expects.
    """
    ctx = ctx or current_context()
    heads = symbol._outputs
    arg_nodes, aux_nodes = _graph.split_inputs(heads)
    by_name = {n.name: n for n in arg_nodes + aux_nodes}
    known_shape = {}
    for k, v in kwargs.items():
        # MXNet reads only tuples as shapes and ignores the names that are no input: callers
        # pass whatever keyword arguments they hold (``axis=``, ``force_rebind=``).
        node = by_name.get(k)
        if node is None or not isinstance(v, tuple):
            continue
        try:
            known_shape[node] = tuple(int(d) for d in v)
        except (TypeError, ValueError):
            raise MXNetError(f"simple_bind: shape of {k!r} must be a tuple of ints, got "
                             f"{v!r}") from None
    known_type = {}
    for k, v in (type_dict or {}).items():
        node = by_name.get(k)
        if node is not None:
            known_type[node] = np.dtype(v)
    shapes, _ = _graph.infer(heads, known_shape, "shape")
    types, _ = _graph.infer(heads, known_type, "type")
    missing = [n.name for n in arg_nodes + aux_nodes
               if shapes.get((n, 0)) is None or 0 in shapes[(n, 0)]]
    if missing:
        raise MXNetError(f"simple_bind: cannot infer the shapes of {missing} from the given "
                         f"shapes {kwargs}; pass them as keyword arguments")
    arg_names = [n.name for n in arg_nodes]
    reqs = _grad_reqs(grad_req, arg_names)
    shared_args = shared_exec.arg_dict if shared_exec is not None else {}
    shared_grads = shared_exec.grad_dict if shared_exec is not None else {}
    shared_aux = shared_exec.aux_dict if shared_exec is not None else {}

    stypes = _arg_stypes(arg_nodes + aux_nodes, stype_dict)

    def alloc(node: _graph.Node, shared: Mapping, stype: str) -> NDArray:
        shape = shapes[(node, 0)]
        dt = types.get((node, 0)) or np.dtype(np.float32)
        old = shared.get(node.name)
        if old is not None and old.shape == shape and old._data.dtype == dt and \
                old.stype == stype:
            return old
        place = _placed(node, ctx, group2ctx)
        if stype != "default":
            from .ndarray import sparse as _sp

            return _sp.zeros(stype, shape, ctx=place, dtype=dt)
        return NDArray(np.zeros(shape, dt), place)

    args = [alloc(n, shared_args, stypes[n]) for n in arg_nodes]
    grad_stypes = _grad_stypes(heads, arg_nodes, stypes)
    grads = [None if r == "null" else alloc(n, shared_grads, grad_stypes[n])
             for n, r in zip(arg_nodes, reqs)]
    aux = [alloc(n, shared_aux, stypes[n]) for n in aux_nodes]
    exe = Executor(symbol, ctx, args, grads, reqs, aux, group2ctx)
    exe._check_differentiable()
    return exe


def _arg_stypes(nodes: list, stype_dict: Mapping[str, str] | None) -> dict:
    """Each input's storage type: ``stype_dict``'s, else its variable's ``stype``."""
    names = {v: k for k, v in _graph.STORAGE_TYPES.items()}
    out = {}
    for n in nodes:
        st = (stype_dict or {}).get(n.name)
        if st is None:
            st = names.get(int(n.attrs.get("__storage_type__", 0)), "default")
        if st == "undefined":
            st = "default"
        if st not in ("default", "row_sparse", "csr"):
            raise MXNetError(f"simple_bind: unknown storage type {st!r} for {n.name!r}")
        out[n] = st
    return out


def _grad_stypes(heads: list, arg_nodes: list, stypes: dict) -> dict:
    """The gradient storage types MXNet's backward storage inference gives the arguments:
    row_sparse when every reader of the argument makes it so (an ``Embedding`` with
    ``sparse_grad`` or ``_contrib_SparseEmbedding`` weight, the dense right operand of
    ``dot(csr, w)``, either operand of a row_sparse ``elemwise_add`` / ``elemwise_sub``);
    default otherwise (MXNet's dense fallback)."""
    readers: dict = {}
    for n in _graph.topo_order(heads):
        if n.op is None:
            continue
        for i, (src, _, _) in enumerate(n.inputs):
            readers.setdefault(src, []).append((n, i))

    def var_stype(e: tuple) -> str:
        return stypes.get(e[0], "default") if e[0].op is None else "default"

    def rsp(n: _graph.Node, i: int) -> bool:
        infer = n.op.sparse_grad_stypes
        return infer is not None and infer(n.parsed, [var_stype(e) for e in n.inputs])[i]

    return {n: "row_sparse" if readers.get(n) and all(rsp(r, i) for r, i in readers[n])
            else "default" for n in arg_nodes}


def _placed(node: _graph.Node, ctx: Context, group2ctx: Any) -> Context:
    """The context MXNet's simple_bind gives an input's arrays (and its gradient): the one
    ``group2ctx`` maps the variable's ``ctx_group`` attribute to, else ``ctx``."""
    if not group2ctx:
        return ctx
    group = node.attrs.get("__ctx_group__")
    return group2ctx.get(group, ctx) if group is not None else ctx


def eval_symbol(symbol: Any, ctx: Context | None = None, **kwargs: Any) -> list[NDArray]:
    """``Symbol.eval``: bind ``kwargs`` as the arguments, run forward, return the outputs."""
    return bind(symbol, ctx, kwargs, grad_req="null").forward()
