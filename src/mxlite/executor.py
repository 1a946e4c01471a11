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
convolution with the normalisation folded in; the fold is recomputed on every forward from the
current arrays (a pass over the weights or the output, whichever is smaller), so changing
weights or statistics in place is always seen.

Training keeps every value for backward, which walks the operators in reverse, sums the
gradients of values read by several operators, lets loss layers ignore head gradients and
honours ``grad_req`` per argument (``write``, ``add``, ``null``). As in MXNet's MKLDNN build,
BatchNorm updates its moving statistics during the training forward (the kernel does it: aux
states are passed to it as inputs and updated in place).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from time import perf_counter_ns
from typing import Any

import numpy as np

from . import profiler as _profiler
from . import random as _random
from .base import MXNetError
from .context import Context, current_context
from .ndarray.ndarray import NDArray
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
    "IdentityAttachKLSparseReg",
})

_GRAD_REQS = ("write", "add", "null")
_MERGE = {"shape": merge_shape, "type": merge_dtype}


class _ParamError(MXNetError, ValueError):
    """A parameter MXNet refuses with ValueError (unknown name, wrong shape)."""


def _req(value: Any, what: str) -> str:
    if value == "inplace":  # MXNet's kInPlace writes the gradient like kWriteTo
        return "write"
    if value not in _GRAD_REQS:
        raise MXNetError(f"grad_req for {what} is {value!r}; expected one of {_GRAD_REQS}")
    return value


def _grad_reqs(grad_req: Any, names: list[str]) -> list[str]:
    """One request per argument from a string, a list in argument order or a dict by name."""
    if isinstance(grad_req, str):
        r = _req(grad_req, "every argument")
        return [r] * len(names)
    if isinstance(grad_req, Mapping):
        unknown = [k for k in grad_req if k not in names]
        if unknown:
            raise MXNetError(f"grad_req names {unknown[0]!r}, which is not an argument; "
                             f"arguments are {names}")
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


def _as_numpy(v: Any) -> np.ndarray:
    return v._data if isinstance(v, NDArray) else np.asarray(v)


# ----------------------------------------------------------------------------------------
# The plan: the graph compiled into steps over numbered value slots.


class _Step:
    __slots__ = ("node", "op", "attrs", "ins", "outs", "free", "dead", "run")

    def __init__(self, node: _graph.Node, ins: list[int], outs: list[int]):
        self.node = node
        self.op: Op = node.op
        self.attrs: Attrs = node.parsed
        self.ins = ins
        self.outs = outs
        self.free: tuple[int, ...] = ()  # slots whose last reader is this step
        self.dead: tuple[int, ...] = ()  # input positions that may be overwritten
        self.run: Callable | None = None  # a replacement for op.forward (folded BatchNorm)


class _Plan:
    """Steps in topological order; ``release`` plans (inference) drop values after last use."""

    def __init__(self, heads: list, order: list[_graph.Node], slot: dict, release: bool,
                 fold: bool):
        self.n_slots = len(slot)
        self.head_slots = [slot[(e[0], e[1])] for e in heads]
        ops = [n for n in order if n.op is not None]
        folded: dict[_graph.Node, _graph.Node] = _find_folds(ops, heads) if fold else {}
        skip = set(folded.values())
        steps = []
        for n in ops:
            if n in skip:
                continue
            st = _Step(n, [slot[(e[0], e[1])] for e in n.inputs],
                       [slot[(n, i)] for i in range(n.num_outputs())])
            conv = folded.get(n)
            if conv is not None:
                st.ins = [slot[(e[0], e[1])] for e in conv.inputs] + st.ins[1:]
                st.run = _folded_conv_bn(conv, n)
            steps.append(st)
        self.steps = steps
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


def _find_folds(ops: list[_graph.Node], heads: list) -> dict[_graph.Node, _graph.Node]:
    """BatchNorm node -> the Convolution whose only reader it is (foldable in inference)."""
    readers: dict[tuple, int] = {}
    for n in ops:
        for e in n.inputs:
            readers[(e[0], e[1])] = readers.get((e[0], e[1]), 0) + 1
    for e in heads:
        readers[(e[0], e[1])] = readers.get((e[0], e[1]), 0) + 2
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
        if readers.get((conv, 0)) != 1 or not (conv.parsed.layout or "NC").startswith("NC"):
            continue
        out[n] = conv
    return out


def _folded_conv_bn(conv: _graph.Node, bn: _graph.Node) -> Callable:
    """A step computing ``BatchNorm(Convolution(x, w, b))`` in inference as one convolution.

    BatchNorm with moving statistics is ``y * scale + shift`` per channel. The scale goes into
    the weights when they are smaller than the output (early, wide layers), else onto the
    output; the shift (with the convolution's bias) is added to the output in place. Both are
    recomputed from the current arrays on every call, so they never go stale.
    """
    op = conv.op
    raw = {k: v for k, v in conv.attrs.items() if not (k.startswith("__") and k.endswith("__"))}
    raw["no_bias"] = "True"
    attrs_nb = op.parse_attrs(raw, conv.name)
    has_bias = not conv.parsed.no_bias
    n_conv = len(conv.inputs)
    p = bn.parsed
    eps, fix_gamma = p.eps, p.fix_gamma
    stride = conv.parsed.stride or ()

    def run(ins: list, ctx: OpContext) -> list:
        if op.forward is None:
            raise MXNetError(f"operator Convolution (node {conv.name!r}) has no forward kernel "
                             "in mxlite yet")
        x, w = ins[0], ins[1]
        gamma, beta, mean, var = ins[n_conv:n_conv + 4]
        dt = w.dtype
        scale = (1.0 / np.sqrt(var.astype(dt, copy=False) + dt.type(eps))).astype(dt, copy=False)
        if not fix_gamma:
            scale = scale * gamma
        shift = beta - mean * scale
        if has_bias:
            shift = shift + ins[2] * scale
        bshape = (1, -1) + (1,) * (x.ndim - 2)
        out_size = x.shape[0] * w.shape[0] * int(np.prod(x.shape[2:])) // max(
            1, int(np.prod(stride)))
        if w.size <= out_size:
            w = w * scale.reshape((-1,) + (1,) * (w.ndim - 1))
            y = op.forward(attrs_nb, [x, w], ctx)[0]
        else:
            y = op.forward(attrs_nb, [x, w], ctx)[0]
            y = _writable(y)
            y *= scale.reshape(bshape)
        y = _writable(y)
        y += shift.astype(y.dtype, copy=False).reshape(bshape)
        return [y, None, None]

    return run


def _writable(y: np.ndarray) -> np.ndarray:
    # A kernel's fresh output is ours to change; anything else (a view) is copied first.
    if y.base is None and y.flags.writeable:
        return y
    return np.array(y)


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
        self._output_names = symbol.list_outputs()
        self._plans: dict[str, _Plan] = {}
        self._train_vals: list | None = None  # values kept by the last forward, for backward
        self._train_ctxs: list | None = None
        self._last_train = False
        self._monitor: Callable | None = None
        self._monitor_all = False
        self.outputs = self._initial_outputs()

    # -- construction helpers ------------------------------------------------------------

    def _initial_outputs(self) -> list[NDArray]:
        known = {n: a.shape for n, a in zip(self._var_nodes(), self.arg_arrays + self.aux_arrays)}
        tknown = {n: a._data.dtype for n, a in zip(self._var_nodes(),
                                                   self.arg_arrays + self.aux_arrays)}
        try:
            shapes, _ = _graph.infer(self._heads, known, "shape")
            types, _ = _graph.infer(self._heads, tknown, "type")
        except MXNetError:
            shapes, types = {}, {}
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
                                          fold=release)
        return p

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
                dst._data[...] = src
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
        rng = _random.generator()
        ctxs: list | None = [] if keep else None
        monitor = self._monitor
        refcount = sys.getrefcount
        timed = _profiler._ACTIVE["symbolic"]
        ins: list = []
        for st in plan.steps:
            ins = [vals[s] for s in st.ins]
            ctx = OpContext(is_train, rng)
            if st.dead:
                for s in st.free:
                    vals[s] = None
                ok = []
                for p in st.dead:
                    a = ins[p]
                    # Only this list and ``a`` refer to it (no view, no other holder), it owns
                    # its memory and may be written: the kernel may reuse it.
                    if (type(a) is np.ndarray and a.base is None and a.flags.writeable
                            and refcount(a) <= 3):
                        ok.append(p)
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
                _profiler.record_op(st.op.name, t0)
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
        for o, s in zip(self.outputs, plan.head_slots):
            o._data = vals[s]
        if keep:
            self._train_vals, self._train_ctxs = vals, ctxs
        else:
            self._train_vals = self._train_ctxs = None
        self._last_train = is_train

    def _monitor_step(self, st: _Step, vals: list) -> None:
        names = st.op.list_outputs(st.attrs)
        for i, s in enumerate(st.outs):
            if vals[s] is not None:
                self._monitor(f"{st.node.name}_{names[i]}", NDArray(vals[s], self._ctx))
        if self._monitor_all:
            in_names = st.op.list_inputs(st.attrs)
            for i, s in enumerate(st.ins):
                if i < len(in_names) and vals[s] is not None:
                    self._monitor(f"{st.node.name}_{in_names[i]}", NDArray(vals[s], self._ctx))

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
        if len(given) > len(heads):
            raise MXNetError(f"backward: {len(given)} out_grads for {len(heads)} outputs")

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

        for k, e in enumerate(heads):
            s = plan.head_slots[k]
            if not need[s]:
                continue
            g = given[k] if k < len(given) else None
            if g is None:
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
            acc(s, g)

        timed = _profiler._ACTIVE["symbolic"]
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
            ctxs[i].need_grad = tuple(need[s] for s in st.ins)
            ctxs[i].is_train = is_train  # backward's own mode, as MXNet runs it
            t0 = perf_counter_ns() if timed else 0
            try:
                igs = st.op.backward(st.attrs, ogs, ins, outs, ctxs[i])
                if timed:
                    _profiler.record_op("_backward_" + st.op.name, t0)
            except MXNetError as e:
                raise MXNetError(f"Error in operator {st.node.name} ({st.op.name}) backward: "
                                 f"{e}") from None
            for s, g in zip(st.ins, igs):
                if g is not None and need[s]:
                    acc(s, g)
            igs = g = None  # the gradients now live in `grads` alone, so they can be handed over

        for s, r, ga in zip(self._arg_slots, self._grad_req, self.grad_arrays):
            if r == "null":
                continue
            g = grads.pop(s, None)
            if r == "write":
                if g is None:
                    ga._data[...] = 0
                elif not _hand_over(ga, g):
                    ga._data[...] = g
            elif g is not None:
                ga._data += g
            g = None

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
                dst._data[...] = src

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
                new_arr.append(_resized(a, shape, self._ctx))
                new_grad.append(None if g is None else _resized(g, shape, self._ctx))
            return new_arr, new_grad

        args, grads = remake(self._arg_names, self.arg_arrays, arg_shapes, self.grad_arrays)
        aux, _ = remake(self._aux_names, self.aux_arrays, aux_shapes, None)
        ex = Executor(sym, self._ctx, args, grads, self._grad_req, aux, self._group2ctx)
        ex._monitor, ex._monitor_all = self._monitor, self._monitor_all
        return ex

    def debug_str(self) -> str:
        """The symbol's debug string (MXNet adds its memory plan)."""
        return self._symbol.debug_str()


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
        node = by_name.get(k)
        if node is None:
            raise MXNetError(f"simple_bind: {k!r} is not an input of the symbol; inputs are "
                             f"{list(by_name)}")
        known_shape[node] = tuple(int(d) for d in v)
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

    def alloc(node: _graph.Node, shared: Mapping) -> NDArray:
        shape = shapes[(node, 0)]
        dt = types.get((node, 0)) or np.dtype(np.float32)
        old = shared.get(node.name)
        if old is not None and old.shape == shape and old._data.dtype == dt:
            return old
        return NDArray(np.zeros(shape, dt), ctx)

    args = [alloc(n, shared_args) for n in arg_nodes]
    grads = [None if r == "null" else alloc(n, shared_grads) for n, r in zip(arg_nodes, reqs)]
    aux = [alloc(n, shared_aux) for n in aux_nodes]
    return Executor(symbol, ctx, args, grads, reqs, aux, group2ctx)


def eval_symbol(symbol: Any, ctx: Context | None = None, **kwargs: Any) -> list[NDArray]:
    """``Symbol.eval``: bind ``kwargs`` as the arguments, run forward, return the outputs."""
    return bind(symbol, ctx, kwargs, grad_req="null").forward()
