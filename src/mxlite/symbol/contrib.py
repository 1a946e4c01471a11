"""``mx.sym.contrib``: the ``_contrib_*`` operators under their short names (made on first use),
and the control-flow builders :func:`foreach`, :func:`while_loop` and :func:`cond`.

The builders trace the Python functions they are given on fresh variables inside an
``AttrScope(__subgraph_name__=...)``, cut the traced graph where it reads symbols from outside
(each such entry becomes a variable named after the output it stands for, and an input of the
control-flow node), and make one ``_foreach`` / ``_while_loop`` / ``_cond`` node holding the
graph(s), with MXNet's names, attributes and input order, so ``tojson()`` writes what MXNet
writes.
"""

from __future__ import annotations

import math
from typing import Any

from .. import attribute
from .. import name as _name
from ..base import MXNetError
from ..ops import registry
from ..util import flatten_nested, regroup_nested
from . import _graph
from ._graph import Entry
from .register import namespace_getattr as _namespace_getattr


class ControlFlowAssertionError(MXNetError, AssertionError):
    """A loop body that does not fit the loop (an unused state, clashing input names): MXNet's
    ``foreach`` / ``while_loop`` fail an ``assert`` there, so this is also an
    AssertionError."""

__all__: list[str] = ["rand_zipfian", "foreach", "while_loop", "cond"]
_getattr, __dir__ = _namespace_getattr(globals(), "_contrib_")
__getattr__ = _getattr


def _sym() -> Any:
    from . import symbol

    return symbol


def _flatten(args: Any, what: str) -> tuple[list, Any]:
    """Symbols of a nested list, and its format for :func:`_regroup` (MXNet's)."""
    Symbol = _sym().Symbol  # noqa: N806

    def leaf(a: Any) -> int | None:
        if not isinstance(a, Symbol):
            return None
        n = len(a.list_outputs())
        return n if n > 1 else 0

    return flatten_nested(args, leaf, what, "Symbol")


_regroup = regroup_nested


def _uniq_name(s: Any) -> str:
    """``name-<output index>``: a traced input's variable name (MXNet's)."""
    return f"{s.name}-{', '.join(str(e[1]) for e in s._outputs)}"


def _subgraph_name(hint: str) -> str:
    scope = attribute._current()._attr
    outer = scope.get("__subgraph_name__", "")
    if outer:
        hint = f"{outer}${hint}"
    counts = attribute.AttrScope._subgraph_names
    counts[hint] += 1
    return f"{hint}{counts[hint] - 1}"


def _in_graph(s: Any, name: str) -> bool:
    return s.list_attr().get("__subgraph_name__", "") == name


def _identity(s: Any) -> Any:
    from .register import make_function

    return make_function("identity")(s)


def _cut(g: Any) -> list:
    """MXNet's CutSubgraph: entries read from outside the graph become variables; returns
    the outside symbols in the order they were met."""
    Symbol = _sym().Symbol  # noqa: N806
    head = g._outputs[0][0]
    name = head.attrs.get("__subgraph_name__")
    if name is None:
        return []
    found: list[tuple[_graph.Node, int]] = []
    for n in _graph.topo_order(g._outputs):
        if n.attrs.get("__subgraph_name__") != name:
            continue
        for k, e in enumerate(n.inputs):
            if e[0].attrs.get("__subgraph_name__") != name:
                found.append((n, k))
    cut = []
    made: dict[tuple, Entry] = {}  # one variable per outside entry, however often it is read
    for n, k in found:
        e = n.inputs[k]
        key = (e[0], e[1])
        if key not in made:
            s = Symbol([e])
            cut.append(s)
            made[key] = (_graph.Node(None, s.list_outputs()[0], {}), 0, 0)
        n.inputs[k] = made[key]
    return cut


def _inputs(g: Any) -> dict[str, Any]:
    Symbol = _sym().Symbol  # noqa: N806
    return {n.name: Symbol([(n, 0, 0)]) for n in _graph.variables(g._outputs)}


def _copy_var(s: Any) -> Any:
    node = s._outputs[0][0]
    return _sym().Symbol([(_graph.Node(None, node.name, dict(node.attrs)), 0, 0)])


def _node(op_name: str, graphs: list, inputs: list, params: dict[str, Any]) -> Any:
    """The control-flow node over ``inputs`` holding ``graphs``."""
    from .register import param_str

    op = registry.get(op_name)
    attrs = {k: param_str(v) for k, v in params.items()}
    for k, v in attribute._current().get(None).items():
        attrs.setdefault(k, v)
    name = _name._current().get(None, op_name.lower())
    parsed = _graph.parse_params(op, attrs, name)[0]
    node = _graph.Node(op, name, attrs, parsed=parsed)
    node.inputs = [s._outputs[0] for s in inputs]
    _graph.update_versions(node)
    _graph.attach_subgraphs(node, [g._outputs for g in graphs])
    return _sym().Symbol([(node, i, 0) for i in range(op.num_outputs(parsed))])


def _wrap_outputs(outputs: list, name: str) -> list:
    """Outputs that are inputs or were made outside the graph go through ``identity``."""
    Group = _sym().Group  # noqa: N806
    names = Group(outputs).list_inputs() if outputs else []
    return [_identity(o) if o.name in names or not _in_graph(o, name) else o for o in outputs]


def rand_zipfian(true_classes: Any, num_sampled: int, range_max: int
                 ) -> tuple[Any, Any, Any]:
    """Symbolic :func:`mxlite.ndarray.contrib.rand_zipfian`: ``(samples,
    expected_count_true, expected_count_sample)`` for the 1-D Symbol ``true_classes``, drawn
    when the graph runs."""
    from . import random

    sym = _sym()
    if not isinstance(true_classes, sym.Symbol):
        raise MXNetError(f"rand_zipfian: true_classes must be a Symbol, got "
                         f"{type(true_classes).__name__}")
    log_range = math.log(range_max + 1)
    rand = random.uniform(0, log_range, shape=(num_sampled,), dtype="float64")
    sampled_classes = (rand.exp() - 1).astype("int64") % range_max
    true_classes = true_classes.astype("float64")
    expected_count_true = (((true_classes + 2.0) / (true_classes + 1.0)).log() / log_range
                           * num_sampled)
    sampled_cls_fp64 = sampled_classes.astype("float64")
    expected_prob_sampled = ((sampled_cls_fp64 + 2.0) / (sampled_cls_fp64 + 1.0)).log() / log_range
    return sampled_classes, expected_count_true, expected_prob_sampled * num_sampled


def foreach(body: Any, data: Any, init_states: Any, name: str = "foreach") -> tuple[Any, Any]:
    """Run ``body`` over the first dimension of ``data`` as one ``_foreach`` node.

    ``out, states = body(data_slice, states)``; the outputs of every iteration are stacked,
    the states of the last one returned. ``data`` and ``init_states`` are Symbols or nested
    lists of Symbols.
    """
    sym = _sym()
    flat_data, data_fmt = _flatten(data, "foreach input")
    flat_states, state_fmt = _flatten(init_states, "foreach states")
    name = _subgraph_name(name)
    with attribute.AttrScope(__subgraph_name__=name):
        in_eles = [sym.var(_uniq_name(s)) for s in flat_data]
        in_eles, _ = _regroup(in_eles, data_fmt)
        states = [sym.var(_uniq_name(s)) for s in flat_states]
        states, _ = _regroup(states, state_fmt)
        sym_out, sym_states = body(in_eles, states)
        sym_out, out_fmt = _flatten(sym_out, "foreach output")
        sym_states, new_state_fmt = _flatten(sym_states, "foreach loop_vars")
        if new_state_fmt != state_fmt:
            raise ControlFlowAssertionError(
                "foreach: the input and output loop_vars have different format")
        num_out_data = len(sym_out)
        num_states = len(sym_states)
        all_names = sym.Group(sym_out + sym_states).list_inputs()
        out_names = {o.name for o in sym_out}
        flat_out = [_identity(o) if o.name in all_names or not _in_graph(o, name) else o
                    for o in sym_out]
        flat_out += [_identity(s) if s.name in all_names or s.name in out_names
                     or not _in_graph(s, name) else s for s in sym_states]
        g = sym.Group(flat_out)
    cut = {s.list_outputs()[0]: s for s in _cut(g)}
    gin = _inputs(g)
    sub_names = g.list_inputs()
    if len(set(sub_names)) != len(sub_names):
        raise ControlFlowAssertionError(
            f"foreach: the inputs of the subgraph don't have unique names: {sub_names}")
    data_names = [_uniq_name(s) for s in flat_data]
    state_names = [_uniq_name(s) for s in flat_states]
    ordered = list(flat_data) + list(flat_states)
    in_data_locs, in_state_locs, remain_locs = [], [], []
    for dn in data_names:
        if dn not in sub_names:
            raise ControlFlowAssertionError(
                "foreach: the data arrays have to be used in the loop body")
        in_data_locs.append(sub_names.index(dn))
    for sn in state_names:
        if sn not in sub_names:
            raise ControlFlowAssertionError(
                "foreach: the state arrays have to be used in the loop body")
        in_state_locs.append(sub_names.index(sn))
    for i, n in enumerate(sub_names):
        if n in cut:
            ordered.append(cut[n])
            remain_locs.append(i)
        elif n not in data_names and n not in state_names:
            ordered.append(_copy_var(gin[n]))
            remain_locs.append(i)
    ret = _node("_foreach", [g], ordered, {
        "num_outputs": num_out_data + num_states, "num_out_data": num_out_data,
        "in_state_locs": in_state_locs, "in_data_locs": in_data_locs,
        "remain_locs": remain_locs, "num_args": len(ordered) + 1})
    outs, _ = _regroup([ret[i] for i in range(num_out_data)], out_fmt)
    states_out, _ = _regroup([ret[num_out_data + i] for i in range(num_states)],
                             new_state_fmt)
    return outs, states_out


def _scalar(value: Any, type_: type, what: str) -> Any:
    if hasattr(value, "asscalar"):
        value = value.asscalar()
    try:
        return type_(value)
    except (TypeError, ValueError):
        raise ValueError(f"Cannot convert {what} to python {type_.__name__}") from None


def while_loop(cond: Any, func: Any, loop_vars: Any, max_iterations: Any = None,
               name: str = "while_loop") -> tuple[Any, Any]:
    """A while loop as one ``_while_loop`` node: ``cond(*loop_vars)`` decides,
    ``func(*loop_vars) -> (step_output, new_loop_vars)`` steps. Step outputs are stacked
    into ``max_iterations`` rows; the final loop variables are returned too."""
    sym = _sym()

    def cond_wrapper(lv: list) -> tuple:
        result = cond(*lv)
        if not isinstance(result, sym.Symbol):
            raise ValueError("Return of cond must be a Symbol")
        return [], [result], [], []

    def func_wrapper(lv: list) -> tuple:
        step_output, new_loop_vars = func(*lv)
        step_output = [] if step_output is None else step_output
        new_loop_vars = [] if new_loop_vars is None else new_loop_vars
        if isinstance(step_output, tuple):
            step_output = list(step_output)
        if isinstance(new_loop_vars, tuple):
            new_loop_vars = list(new_loop_vars)
        step_output, out_fmt = _flatten(step_output, "while output")
        new_loop_vars, var_fmt = _flatten(new_loop_vars, "while loop_vars")
        if len(lv) != len(new_loop_vars):
            raise ValueError("The number of loop_vars should be consistent during the loop")
        return step_output, new_loop_vars, out_fmt, var_fmt

    def create(graph_vars: Any, graph_func: Any, hint: str) -> tuple:
        sub = _subgraph_name(hint)
        with attribute.AttrScope(__subgraph_name__=sub):
            graph_vars, var_fmt = _flatten(graph_vars, "while loop_vars")
            new_vars = [sym.var(_uniq_name(s)) for s in graph_vars]
            new_vars, _ = _regroup(new_vars, var_fmt)
            outputs, final_state, out_fmt, var_fmt = graph_func(new_vars)
            graph = sym.Group(_wrap_outputs(outputs + final_state, sub))
        return graph, len(outputs), len(outputs) + len(final_state), out_fmt, var_fmt

    flat_vars, init_fmt = _flatten(loop_vars, "while loop_vars")

    def union(*graphs: Any) -> tuple[list, list]:
        inputs: list = []
        locs = []
        seen: dict[int, int] = {}
        for graph in graphs:
            by_name = {_uniq_name(s): s for s in flat_vars}
            cut = {s.list_outputs()[0]: s for s in _cut(graph)}
            gin = _inputs(graph)
            var_at = {_uniq_name(s): i for i, s in enumerate(flat_vars)}
            input_locs, var_locs = [], [-1] * len(flat_vars)
            names = graph.list_inputs()
            if len(set(names)) != len(names):
                raise ControlFlowAssertionError(
                    f"while_loop: the inputs of the subgraph don't have unique names: {names}")
            for n in names:
                if n in by_name:
                    s = by_name[n]
                elif n in cut:
                    s = cut[n]
                else:
                    s = _copy_var(gin[n])
                if id(s) not in seen:
                    seen[id(s)] = len(seen)
                    inputs.append(s)
                input_locs.append(seen[id(s)])
                if n in var_at:
                    var_locs[var_at[n]] = len(input_locs) - 1
            locs.append((input_locs, var_locs))
        return inputs, locs

    if max_iterations is None:
        raise ValueError("max_iterations should be specified")
    max_iterations = _scalar(max_iterations, int, "max_iteration")
    if len(flat_vars) == 0:
        raise ValueError("loop_vars should contain at least one element")
    cond_g, n_data, n_outs, _, _ = create(loop_vars, cond_wrapper, name + "_cond")
    if n_data != 0 or n_outs != 1:
        raise ValueError("cond must return a single Symbol")
    func_g, n_data, n_outs, out_fmt, _ = create(loop_vars, func_wrapper, name + "_func")
    ins, ((cond_locs, _), (func_locs, func_var_locs)) = union(cond_g, func_g)
    for i, loc in enumerate(func_var_locs, 1):
        if loc == -1:
            raise ValueError(f"The {i}-th loop_var doesn't involve into the computation")
    ret = _node("_while_loop", [cond_g, func_g], ins, {
        "max_iterations": max_iterations, "cond_input_locs": cond_locs,
        "func_input_locs": func_locs, "func_var_locs": func_var_locs,
        "num_out_data": n_data, "num_outputs": n_outs, "num_args": len(ins) + 2})
    outputs, _ = _regroup([ret[i] for i in range(n_data)], out_fmt)
    final, _ = _regroup([ret[i] for i in range(n_data, n_outs)], init_fmt)
    return outputs, final


def cond(pred: Any, then_func: Any, else_func: Any, name: str = "cond") -> Any:
    """If-then-else as one ``_cond`` node: ``then_func()`` when the scalar ``pred`` is
    nonzero, else ``else_func()``; both return Symbols (or nested lists) alike."""
    sym = _sym()

    def create(graph_func: Any, hint: str) -> tuple:
        sub = _subgraph_name(hint)
        with attribute.AttrScope(__subgraph_name__=sub):
            outputs, out_fmt = _flatten(graph_func(), "cond outputs")
            graph = sym.Group(_wrap_outputs(outputs, sub))
        return graph, len(outputs), out_fmt

    def union(*graphs: Any) -> tuple[list, list]:
        inputs: list = []
        locs = []
        seen: dict[int, int] = {}
        for graph in graphs:
            known = {s.name: s for s in inputs}
            cut = {s.list_outputs()[0]: s for s in _cut(graph)}
            gin = _inputs(graph)
            input_locs = []
            for n in graph.list_inputs():
                if n in known:
                    s = known[n]
                elif n in cut:
                    s = cut[n]
                else:
                    s = _copy_var(gin[n])
                if id(s) not in seen:
                    seen[id(s)] = len(seen)
                    inputs.append(s)
                input_locs.append(seen[id(s)])
            locs.append(input_locs)
        return inputs, locs

    cond_g, n_cond, _ = create(lambda: pred, name + "_pred")
    if n_cond != 1:
        raise ValueError("pred should always be a single output")
    then_g, n_then, then_fmt = create(then_func, name + "_then")
    else_g, n_else, _ = create(else_func, name + "_else")
    if n_then != n_else:
        raise ValueError("Number of outputs differs between then-branch and else-branch")
    ins, (cond_locs, then_locs, else_locs) = union(cond_g, then_g, else_g)
    ret = _node("_cond", [cond_g, then_g, else_g], ins, {
        "cond_input_locs": cond_locs, "then_input_locs": then_locs,
        "else_input_locs": else_locs, "num_outputs": n_then, "num_args": len(ins) + 3})
    outputs, _ = _regroup([ret[i] for i in range(n_then)], then_fmt)
    return outputs


# AdamW, as MXNet's ``symbol/contrib.py`` wraps ``_adamw_update`` / ``_mp_adamw_update``: a
# number ``rescale_grad`` becomes a ``full((1,), value)`` node.


def adamw_update(weight: Any, grad: Any, mean: Any, var: Any, rescale_grad: Any, lr: float,
                 eta: float, beta1: float = 0.9, beta2: float = 0.999, epsilon: float = 1e-8,
                 wd: float = 0, clip_gradient: float = -1, out: Any = None, name: Any = None,
                 **kwargs: Any) -> Any:
    """Symbolic :func:`mxlite.ndarray.contrib.adamw_update`."""
    from . import _internal

    sym = _sym()
    if not isinstance(rescale_grad, sym.Symbol):
        rescale_grad = sym.full(shape=(1,), val=rescale_grad)
    return _internal._adamw_update(weight=weight, grad=grad, mean=mean, var=var,
                                       rescale_grad=rescale_grad, lr=lr, eta=eta, beta1=beta1,
                                       beta2=beta2, epsilon=epsilon, wd=wd,
                                       clip_gradient=clip_gradient, out=out, name=name,
                                       **kwargs)


def mp_adamw_update(weight: Any, grad: Any, mean: Any, var: Any, weight32: Any,
                    rescale_grad: Any, lr: float, eta: float, beta1: float = 0.9,
                    beta2: float = 0.999, epsilon: float = 1e-8, wd: float = 0,
                    clip_gradient: float = -1, out: Any = None, name: Any = None,
                    **kwargs: Any) -> Any:
    """Symbolic :func:`mxlite.ndarray.contrib.mp_adamw_update`."""
    from . import _internal

    sym = _sym()
    if not isinstance(rescale_grad, sym.Symbol):
        rescale_grad = sym.full(shape=(1,), val=rescale_grad)
    return _internal._mp_adamw_update(weight=weight, grad=grad, mean=mean, var=var,
                                          weight32=weight32, rescale_grad=rescale_grad, lr=lr,
                                          eta=eta, beta1=beta1, beta2=beta2, epsilon=epsilon,
                                          wd=wd, clip_gradient=clip_gradient, out=out,
                                          name=name, **kwargs)
