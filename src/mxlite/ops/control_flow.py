"""Control flow with subgraphs: ``_foreach``, ``_while_loop``, ``_cond``.

Each node carries its graphs (``Node.subgraphs``, in JSON the node's ``"subgraphs"`` list) and
its kernels find them as ``attrs.subgraphs``. A subgraph's inputs are its variables in MXNet's
order (``list_inputs``); the ``*_locs`` parameters say which node input feeds which:

- ``_foreach``: node inputs are ``[data..., states..., remaining...]``; ``in_data_locs``,
  ``in_state_locs`` and ``remain_locs`` place them among the body's inputs. The body runs on
  each slice ``data[i]``; its first ``num_out_data`` outputs are stacked, the rest are the new
  states.
- ``_while_loop``: ``cond_input_locs`` / ``func_input_locs`` pick the node inputs of the
  condition and body graphs, ``func_var_locs`` the body inputs that are loop variables. Step
  outputs are stacked into ``max_iterations`` rows (rows after the last step are zeros).
- ``_cond``: ``cond_input_locs`` / ``then_input_locs`` / ``else_input_locs``.

A subgraph runs node by node through the registry's kernels; forward keeps each step's values
and op contexts so backward walks the steps in reverse (the condition graphs get no gradient,
as in MXNet).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import random as _random
from ..base import MXNetError
from ._util import INT, SHAPE, P, declare
from .registry import Attrs, OpContext, merge_dtype, merge_shape

NO_BACKWARD: set[str] = set()

Entry = tuple


def _outputs(attrs: Attrs) -> list[str]:
    n = attrs.num_outputs
    return ["output"] if n == 1 else [f"output{i}" for i in range(n)]


def _subgraphs(attrs: Attrs, count: int) -> list:
    subs = attrs.get("subgraphs")
    if subs is None:
        raise MXNetError(f"operator {attrs.op.name}: the node has no subgraphs (build it with "
                         f"mx.sym.contrib.{attrs.op.name.lstrip('_')} or load it from JSON)")
    if len(subs) != count:
        raise MXNetError(f"operator {attrs.op.name}: expected {count} subgraph(s), the node "
                         f"has {len(subs)}")
    _check_params(attrs, subs)
    return subs


def _locs(attrs: Attrs, key: str, n: int, distinct: bool = False) -> None:
    locs = getattr(attrs, key)
    if any(not 0 <= loc < n for loc in locs) or (distinct and len(set(locs)) != len(locs)):
        raise MXNetError(f"operator {attrs.op.name}: {key}={list(locs)} must list "
                         f"{'distinct ' if distinct else ''}positions below {n}")


def _heads(attrs: Attrs, sub: list, want: int, what: str) -> None:
    if len(sub) != want:
        raise MXNetError(f"operator {attrs.op.name}: the {what} graph has {len(sub)} outputs, "
                         f"expected {want}")


def _check_params(attrs: Attrs, subs: list) -> None:
    """The ``*_locs`` and counts against each other and the subgraphs (a file may lie)."""
    name = attrs.op.name
    n_in = attrs.num_args - len(subs)
    if attrs.num_outputs < 0 or n_in < 0:
        raise MXNetError(f"operator {name}: num_args and num_outputs must not be negative")
    if name == "_foreach":
        if not 0 <= attrs.num_out_data <= attrs.num_outputs:
            raise MXNetError(f"operator {name}: num_out_data={attrs.num_out_data} must lie in "
                             f"[0, num_outputs={attrs.num_outputs}]")
        parts = (len(attrs.in_data_locs) + len(attrs.in_state_locs) + len(attrs.remain_locs))
        if parts != n_in or len(attrs.in_state_locs) != attrs.num_outputs - attrs.num_out_data:
            raise MXNetError(f"operator {name}: in_data_locs, in_state_locs and remain_locs "
                             f"must place the {n_in} inputs, one state per output state")
        for key in ("in_data_locs", "in_state_locs", "remain_locs"):
            _locs(attrs, key, n_in)
        if len({*attrs.in_data_locs, *attrs.in_state_locs, *attrs.remain_locs}) != n_in:
            raise MXNetError(f"operator {name}: in_data_locs, in_state_locs and remain_locs "
                             "overlap")
        _heads(attrs, subs[0], attrs.num_outputs, "loop body")
    elif name == "_while_loop":
        if attrs.max_iterations < 0:
            raise MXNetError(f"operator {name}: max_iterations={attrs.max_iterations} must not "
                             "be negative")
        if not 0 <= attrs.num_out_data <= attrs.num_outputs:
            raise MXNetError(f"operator {name}: num_out_data={attrs.num_out_data} must lie in "
                             f"[0, num_outputs={attrs.num_outputs}]")
        _locs(attrs, "cond_input_locs", n_in)
        _locs(attrs, "func_input_locs", n_in)
        _locs(attrs, "func_var_locs", len(attrs.func_input_locs), distinct=True)
        if len(attrs.func_var_locs) != attrs.num_outputs - attrs.num_out_data:
            raise MXNetError(f"operator {name}: func_var_locs has {len(attrs.func_var_locs)} "
                             f"loop variables, the outputs have "
                             f"{attrs.num_outputs - attrs.num_out_data}")
        _heads(attrs, subs[0], 1, "condition")
        _heads(attrs, subs[1], attrs.num_outputs, "loop body")
    else:
        for key in ("cond_input_locs", "then_input_locs", "else_input_locs"):
            _locs(attrs, key, n_in)
        _heads(attrs, subs[0], 1, "condition")
        _heads(attrs, subs[1], attrs.num_outputs, "then")
        _heads(attrs, subs[2], attrs.num_outputs, "else")


class _Sub:
    """A subgraph compiled for running: its variables (inputs) and operators in order."""

    __slots__ = ("heads", "vars", "ops")

    def __init__(self, heads: list[Entry]):
        from ..symbol import _graph

        order = _graph.topo_order(heads)
        self.heads = heads
        self.vars = [n for n in order if n.op is None]
        self.ops = [n for n in order if n.op is not None]

    def check_inputs(self, attrs: Attrs, n: int, what: str) -> None:
        if len(self.vars) != n:
            raise MXNetError(f"operator {attrs.op.name}: the {what} graph has "
                             f"{len(self.vars)} inputs ({[v.name for v in self.vars]}) but the "
                             f"node gives it {n}")

    def run(self, values: list, is_train: bool) -> tuple[list, list]:
        """The head values for these input values, and the tape backward needs."""
        env: dict[tuple, Any] = {(v, 0): a for v, a in zip(self.vars, values)}
        tape = []
        for n in self.ops:
            ins = [env[(e[0], e[1])] for e in n.inputs]
            c = OpContext(is_train, _random.generator())
            if n.op.forward is None:
                raise MXNetError(f"operator {n.op.name} (node {n.name!r}) has no forward kernel")
            try:
                outs = n.op.forward(n.parsed, ins, c)
            except MXNetError as e:
                raise MXNetError(f"Error in operator {n.name} ({n.op.name}): {e}") from None
            for k, o in enumerate(outs):
                env[(n, k)] = o
            tape.append((n, ins, outs, c))
        return [np.asarray(env[(e[0], e[1])]) for e in self.heads], tape

    def backward(self, tape: list, head_grads: list) -> list:
        """Gradients of the inputs (None where none flows) for the heads' gradients."""
        grads: dict[tuple, np.ndarray] = {}

        def acc(key: tuple, g: np.ndarray) -> None:
            cur = grads.get(key)
            grads[key] = g if cur is None else cur + g

        for e, g in zip(self.heads, head_grads):
            if g is not None:
                acc((e[0], e[1]), g)
        for n, ins, outs, c in reversed(tape):
            ogs = [grads.pop((n, k), None) for k in range(len(outs))]
            if all(g is None for g in ogs):
                continue
            ogs = [np.zeros_like(o) if g is None and o is not None else g
                   for g, o in zip(ogs, outs)]
            if n.op.backward is None:
                raise MXNetError(f"operator {n.op.name} (node {n.name!r}) has no backward "
                                 "kernel")
            igs = n.op.backward(n.parsed, ogs, ins, outs, c)
            for e, g in zip(n.inputs, igs):
                if g is not None:
                    acc((e[0], e[1]), np.asarray(g))
        return [grads.get((v, 0)) for v in self.vars]

    def infer(self, values: list, kind: str) -> tuple[list, list]:
        """(input values, head values) of shape (``kind='shape'``) or dtype inference."""
        from ..symbol import _graph

        known = {v: s for v, s in zip(self.vars, values) if s is not None}
        val, _ = _graph.infer(self.heads, known, kind)
        return [val.get((v, 0)) for v in self.vars], [val.get((e[0], e[1])) for e in self.heads]


def _merge(kind: str) -> Any:
    return merge_shape if kind == "shape" else merge_dtype


def _as_bool(attrs: Attrs, value: np.ndarray) -> bool:
    v = np.asarray(value)
    if v.size != 1:
        raise MXNetError(f"operator {attrs.op.name}: the condition must be a scalar, got shape "
                         f"{v.shape}")
    return bool(v.reshape(-1)[0])


def _add(acc: list, i: int, g: Any) -> None:
    if g is not None:
        acc[i] = g if acc[i] is None else acc[i] + g


# ----------------------------------------------------------------------------------------
# _foreach


def _foreach_parts(attrs: Attrs) -> tuple[int, int]:
    return len(attrs.in_data_locs), len(attrs.in_state_locs)


def _slice_shape(s: tuple | None) -> tuple | None:
    if s is None:
        return None
    return tuple(s[1:]) if len(s) > 1 else (1,)


def _foreach_infer(attrs: Attrs, ins: list, outs: list, kind: str):
    sub = _Sub(_subgraphs(attrs, 1)[0])
    sub.check_inputs(attrs, len(ins), "loop body")
    nd, ns = _foreach_parts(attrs)
    merge = _merge(kind)
    shape = kind == "shape"
    n_out = attrs.num_out_data
    sub_in: list = [None] * len(ins)
    for j, loc in enumerate(attrs.in_data_locs):
        sub_in[loc] = _slice_shape(ins[j]) if shape else ins[j]
    for j, loc in enumerate(attrs.in_state_locs):
        sub_in[loc] = ins[nd + j]
    for j, loc in enumerate(attrs.remain_locs):
        sub_in[loc] = ins[nd + ns + j]
    for j in range(ns):  # a final state is shaped like its initial state
        if outs[n_out + j] is not None:
            loc = attrs.in_state_locs[j]
            sub_in[loc] = merge(sub_in[loc], outs[n_out + j])
    v_in, v_out = sub.infer(sub_in, kind)
    ins, outs = list(ins), list(outs)
    length = ins[0][0] if shape and ins and ins[0] is not None and ins[0][0] else None
    for k in range(n_out):
        h = v_out[k]
        if h is None:
            continue
        if shape:  # an unknown number of steps leaves the leading dim unknown (0), as MXNet
            h = (length or 0, *h)
        outs[k] = merge(outs[k], h)
    for j in range(ns):
        outs[n_out + j] = merge(outs[n_out + j], v_out[n_out + j])
        ins[nd + j] = merge(ins[nd + j], v_in[attrs.in_state_locs[j]])
    for j, loc in enumerate(attrs.in_data_locs):
        s = v_in[loc]
        if s is None:
            continue
        if shape:
            if length is None:
                continue
            s = (length,) if ins[j] is not None and len(ins[j]) == 1 else (length, *s)
        ins[j] = merge(ins[j], s)
    for j, loc in enumerate(attrs.remain_locs):
        ins[nd + ns + j] = merge(ins[nd + ns + j], v_in[loc])
    return ins, outs


def _foreach_forward(attrs: Attrs, inputs: list, ctx: OpContext) -> list:
    sub = _Sub(_subgraphs(attrs, 1)[0])
    sub.check_inputs(attrs, len(inputs), "loop body")
    nd, ns = _foreach_parts(attrs)
    n_out = attrs.num_out_data
    data, states = inputs[:nd], list(inputs[nd:nd + ns])
    if not data:
        raise MXNetError("operator _foreach: in_data_locs is empty: there is nothing to "
                         "iterate over")
    length = data[0].shape[0] if data[0].ndim else 0
    for j, d in enumerate(data):
        if d.ndim == 0 or d.shape[0] != length:
            raise MXNetError(f"operator _foreach: data {j} has shape {d.shape}; every data "
                             f"array must have {length} rows")
    if length == 0:
        raise MXNetError("operator _foreach: the data arrays have no rows to iterate over")
    vals: list = [None] * len(inputs)
    for j, loc in enumerate(attrs.remain_locs):
        vals[loc] = inputs[nd + ns + j]
    steps, tapes = [], []
    for i in range(length):
        for j, loc in enumerate(attrs.in_data_locs):
            vals[loc] = data[j][i] if data[j].ndim > 1 else data[j][i:i + 1]
        for j, loc in enumerate(attrs.in_state_locs):
            vals[loc] = states[j]
        res, tape = sub.run(vals, ctx.is_train)
        steps.append(res[:n_out])
        states = res[n_out:]
        tapes.append(tape)
    ctx.saved["tapes"] = tapes
    stacked = [np.stack([s[k] for s in steps]) for k in range(n_out)]
    return stacked + [np.array(s, copy=True) for s in states]


def _foreach_backward(attrs: Attrs, out_grads: list, inputs: list, outputs: list,
                      ctx: OpContext) -> list:
    sub = _Sub(_subgraphs(attrs, 1)[0])
    nd, ns = _foreach_parts(attrs)
    n_out = attrs.num_out_data
    tapes = ctx.saved["tapes"]
    data = inputs[:nd]
    grads: list = [None] * len(inputs)
    d_data = [np.zeros_like(d) for d in data]
    g_state = list(out_grads[n_out:])
    for i in range(len(tapes) - 1, -1, -1):
        heads = [np.asarray(out_grads[k])[i] for k in range(n_out)] + g_state
        vg = sub.backward(tapes[i], heads)
        for j, loc in enumerate(attrs.in_data_locs):
            if vg[loc] is not None:
                d_data[j][i] += np.reshape(vg[loc], d_data[j][i].shape)
        for j, loc in enumerate(attrs.remain_locs):
            _add(grads, nd + ns + j, vg[loc])
        g_state = [vg[loc] if vg[loc] is not None else np.zeros_like(inputs[nd + j])
                   for j, loc in enumerate(attrs.in_state_locs)]
    grads[:nd] = d_data
    grads[nd:nd + ns] = g_state
    return grads


declare(
    "_foreach",
    params={
        "num_args": P(INT, doc="Number of inputs, the subgraph counted."),
        "num_outputs": P(INT, doc="The number of outputs of the subgraph."),
        "num_out_data": P(INT, doc="The number of output data of the subgraph."),
        "in_state_locs": P(SHAPE, doc="The locations of loop states among the inputs."),
        "in_data_locs": P(SHAPE, doc="The locations of input data among the inputs."),
        "remain_locs": P(SHAPE, doc="The locations of remaining data among the inputs."),
    },
    inputs=lambda a: [f"data{i}" for i in range(a.num_args - 1)],
    outputs=_outputs,
    infer_shape=lambda a, i, o: _foreach_infer(a, i, o, "shape"),
    infer_type=lambda a, i, o: _foreach_infer(a, i, o, "type"),
    forward=_foreach_forward,
    backward=_foreach_backward,
    doc="Run a for loop over the first dimension of NDArrays with a subgraph as its body "
        "(mx.sym.contrib.foreach builds it).",
)


# ----------------------------------------------------------------------------------------
# _while_loop


def _var_positions(attrs: Attrs) -> list[int]:
    """Node input position of each loop variable."""
    return [attrs.func_input_locs[v] for v in attrs.func_var_locs]


def _while_infer(attrs: Attrs, ins: list, outs: list, kind: str):
    cond_g, func_g = (_Sub(h) for h in _subgraphs(attrs, 2))
    cond_g.check_inputs(attrs, len(attrs.cond_input_locs), "condition")
    func_g.check_inputs(attrs, len(attrs.func_input_locs), "loop body")
    merge = _merge(kind)
    n_out = attrs.num_out_data
    ins, outs = list(ins), list(outs)
    var_pos = _var_positions(attrs)
    for j, p in enumerate(var_pos):  # a loop variable keeps its shape and dtype
        ins[p] = outs[n_out + j] = merge(ins[p], outs[n_out + j])
    c_in, _ = cond_g.infer([ins[loc] for loc in attrs.cond_input_locs], kind)
    for k, loc in enumerate(attrs.cond_input_locs):
        ins[loc] = merge(ins[loc], c_in[k])
    f_in, f_out = func_g.infer([ins[loc] for loc in attrs.func_input_locs], kind)
    for k, loc in enumerate(attrs.func_input_locs):
        ins[loc] = merge(ins[loc], f_in[k])
    for k in range(n_out):
        h = f_out[k]
        if h is not None:
            outs[k] = merge(outs[k], (attrs.max_iterations, *h) if kind == "shape" else h)
    for j, p in enumerate(var_pos):
        ins[p] = outs[n_out + j] = merge(merge(ins[p], outs[n_out + j]), f_out[n_out + j])
    return ins, outs


def _while_forward(attrs: Attrs, inputs: list, ctx: OpContext) -> list:
    cond_g, func_g = (_Sub(h) for h in _subgraphs(attrs, 2))
    cond_g.check_inputs(attrs, len(attrs.cond_input_locs), "condition")
    func_g.check_inputs(attrs, len(attrs.func_input_locs), "loop body")
    n_out = attrs.num_out_data
    var_pos = _var_positions(attrs)
    cur = list(inputs)
    steps, tapes = [], []
    for _ in range(attrs.max_iterations):
        (pred,), _ = cond_g.run([cur[loc] for loc in attrs.cond_input_locs], False)
        if not _as_bool(attrs, pred):
            break
        res, tape = func_g.run([cur[loc] for loc in attrs.func_input_locs], ctx.is_train)
        steps.append(res[:n_out])
        tapes.append(tape)
        for j, p in enumerate(var_pos):
            if res[n_out + j].shape != np.shape(cur[p]):
                raise MXNetError(f"operator _while_loop: loop variable {j} changes shape from "
                                 f"{np.shape(cur[p])} to {res[n_out + j].shape}")
            cur[p] = res[n_out + j]
    ctx.saved["tapes"] = tapes
    if steps:
        step_shapes = [(s.shape, s.dtype) for s in steps[0]]
    else:  # no step ran: the body's output shapes come from inference
        shapes = func_g.infer([np.shape(inputs[loc]) for loc in attrs.func_input_locs],
                              "shape")[1]
        types = func_g.infer([np.asarray(inputs[loc]).dtype for loc in attrs.func_input_locs],
                             "type")[1]
        step_shapes = list(zip(shapes[:n_out], types[:n_out]))
        if any(s is None or t is None for s, t in step_shapes):
            raise MXNetError("operator _while_loop: the condition is false at once and the "
                             "shapes of the step outputs cannot be inferred")
    stacked = []
    for k, (shape, dtype) in enumerate(step_shapes):
        out = np.zeros((attrs.max_iterations, *shape), dtype)
        if steps:
            out[:len(steps)] = np.stack([s[k] for s in steps])
        stacked.append(out)
    return stacked + [np.array(cur[p], copy=True) for p in var_pos]


def _while_backward(attrs: Attrs, out_grads: list, inputs: list, outputs: list,
                    ctx: OpContext) -> list:
    _, func_g = (_Sub(h) for h in _subgraphs(attrs, 2))
    n_out = attrs.num_out_data
    tapes = ctx.saved["tapes"]
    var_pos = _var_positions(attrs)
    var_locs = set(attrs.func_var_locs)
    grads: list = [None] * len(inputs)
    g_state = list(out_grads[n_out:])
    for step in range(len(tapes) - 1, -1, -1):
        heads = [np.asarray(out_grads[k])[step] for k in range(n_out)] + g_state
        vg = func_g.backward(tapes[step], heads)
        for p, loc in enumerate(attrs.func_input_locs):
            if p not in var_locs:
                _add(grads, loc, vg[p])
        g_state = [vg[v] if vg[v] is not None else np.zeros_like(inputs[var_pos[j]])
                   for j, v in enumerate(attrs.func_var_locs)]
    for j, p in enumerate(var_pos):
        _add(grads, p, g_state[j])
    return grads


declare(
    "_while_loop",
    params={
        "num_args": P(INT, doc="Number of input arguments, the two subgraphs counted."),
        "num_outputs": P(INT, doc="The number of outputs of the subgraph."),
        "num_out_data": P(INT, doc="The number of outputs from the function body."),
        "max_iterations": P(INT, doc="Maximum number of iterations."),
        "cond_input_locs": P(SHAPE, doc="The locations of cond's inputs in the given inputs."),
        "func_input_locs": P(SHAPE, doc="The locations of func's inputs in the given inputs."),
        "func_var_locs": P(SHAPE, doc="The locations of loop_vars among func's inputs."),
    },
    inputs=lambda a: [f"data{i}" for i in range(a.num_args - 2)],
    outputs=_outputs,
    infer_shape=lambda a, i, o: _while_infer(a, i, o, "shape"),
    infer_type=lambda a, i, o: _while_infer(a, i, o, "type"),
    forward=_while_forward,
    backward=_while_backward,
    doc="Run a while loop with a condition subgraph and a body subgraph "
        "(mx.sym.contrib.while_loop builds it).",
)


# ----------------------------------------------------------------------------------------
# _cond


def _cond_infer(attrs: Attrs, ins: list, outs: list, kind: str):
    cond_g, then_g, else_g = (_Sub(h) for h in _subgraphs(attrs, 3))
    merge = _merge(kind)
    ins, outs = list(ins), list(outs)
    for g, locs in ((cond_g, attrs.cond_input_locs), (then_g, attrs.then_input_locs),
                    (else_g, attrs.else_input_locs)):
        g.check_inputs(attrs, len(locs), "branch")
        g_in, g_out = g.infer([ins[loc] for loc in locs], kind)
        for k, loc in enumerate(locs):
            ins[loc] = merge(ins[loc], g_in[k])
        if g is not cond_g:
            for k, h in enumerate(g_out):
                outs[k] = merge(outs[k], h)
    return ins, outs


def _cond_forward(attrs: Attrs, inputs: list, ctx: OpContext) -> list:
    cond_g, then_g, else_g = (_Sub(h) for h in _subgraphs(attrs, 3))
    cond_g.check_inputs(attrs, len(attrs.cond_input_locs), "condition")
    (pred,), _ = cond_g.run([inputs[loc] for loc in attrs.cond_input_locs], False)
    branch = _as_bool(attrs, pred)
    g, locs = (then_g, attrs.then_input_locs) if branch else (else_g, attrs.else_input_locs)
    g.check_inputs(attrs, len(locs), "then" if branch else "else")
    res, tape = g.run([inputs[loc] for loc in locs], ctx.is_train)
    ctx.saved["branch"] = branch
    ctx.saved["tape"] = tape
    return [np.array(r, copy=True) for r in res]


def _cond_backward(attrs: Attrs, out_grads: list, inputs: list, outputs: list,
                   ctx: OpContext) -> list:
    _, then_g, else_g = (_Sub(h) for h in _subgraphs(attrs, 3))
    branch = ctx.saved["branch"]
    g, locs = (then_g, attrs.then_input_locs) if branch else (else_g, attrs.else_input_locs)
    vg = g.backward(ctx.saved["tape"], list(out_grads))
    grads: list = [None] * len(inputs)
    for p, loc in enumerate(locs):
        _add(grads, loc, vg[p])
    return grads


declare(
    "_cond",
    params={
        "num_args": P(INT, doc="Number of input arguments, the three subgraphs counted."),
        "num_outputs": P(INT, doc="The number of outputs of the subgraph."),
        "cond_input_locs": P(SHAPE, doc="The locations of cond's inputs in the given inputs."),
        "then_input_locs": P(SHAPE, doc="The locations of then's inputs in the given inputs."),
        "else_input_locs": P(SHAPE, doc="The locations of else's inputs in the given inputs."),
    },
    inputs=lambda a: [f"data{i}" for i in range(a.num_args - 3)],
    outputs=_outputs,
    infer_shape=lambda a, i, o: _cond_infer(a, i, o, "shape"),
    infer_type=lambda a, i, o: _cond_infer(a, i, o, "type"),
    forward=_cond_forward,
    backward=_cond_backward,
    doc="Run one of two subgraphs as a condition subgraph decides (mx.sym.contrib.cond "
        "builds it).",
)
