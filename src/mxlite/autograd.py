"""``mx.autograd``: record imperative computation and differentiate it (MXNet's autograd).

While :func:`record` is active, every operator run on an NDArray that depends on a variable
(an array given :meth:`NDArray.attach_grad`) is put on a tape: a node holding the operator's
inputs, outputs and whatever its forward kernel saved. :func:`backward` walks that tape in
reverse, calling each operator's backward kernel from the registry, the same kernels the
executor uses, so there is one gradient per operator in mxlite, wherever it runs.

The tape is the graph itself: each recorded NDArray points (``_ag``) at the node and output
index that made it, each node at its inputs' nodes. Nothing global holds it, so a graph that
nobody can reach any more is freed by Python. After a backward without ``retain_graph`` the
nodes drop their saved arrays and a second backward through them is refused.

Higher-order gradients: :func:`grad` with ``create_graph=True`` runs the same walk on NDArrays
while recording, each operator's gradient written as operators (its registry entry's
``grad_graph``, MXNet's FGradient), so the gradients it returns are themselves on the tape and
can be differentiated again. An operator without one gives correct gradients that refuse a
further differentiation, naming ``_backward_<operator>`` as MXNet does.

Sparse gradient storage: a variable's gradient buffer may be row_sparse or csr
(``attach_grad(stype=...)``, a Gluon Parameter's ``grad_stype``). The gradients are computed
densely and stored as MXNet 1.9.1 stores them. A row_sparse gradient holds the rows the
operators that make row_sparse gradients declare (``Embedding(sparse_grad=True)``: the rows
looked up; ``dot(csr, w)``: the rows the csr's column indices name), zero-valued rows included,
their union when several such operators reach the variable; when any other operator reaches it
too, MXNet's storage fallback sums densely and keeps the non-zero rows, and so does mxlite. A
csr gradient holds the non-zero entries. ``grad_req='add'`` into sparse storage is refused, as
MXNet's kernels refuse it.
"""

from __future__ import annotations

import math
import threading
import weakref
from collections.abc import Callable, Sequence
from time import perf_counter_ns
from typing import Any

import numpy as np

from . import profiler as _profiler
from .base import MXNetError, NotSupportedError

__all__ = ["record", "pause", "train_mode", "predict_mode", "is_recording", "is_training",
           "set_recording", "set_training", "mark_variables", "backward", "grad", "Function",
           "record_custom", "get_symbol"]

_GRAD_REQS = ("write", "add", "null")


class _State(threading.local):
    # Per thread, as MXNet's Imperative state is.
    recording = False
    training = False


_STATE = _State()


def is_recording() -> bool:
    """Whether operators are being recorded for differentiation."""
    return _STATE.recording


def is_training() -> bool:
    """Whether operators run in training mode (Dropout drops, BatchNorm uses batch stats)."""
    return _STATE.training


def set_recording(is_recording: bool) -> bool:  # noqa: A002 - MXNet's name
    """Turn recording on or off; returns the previous state."""
    prev = _STATE.recording
    _STATE.recording = bool(is_recording)
    return prev


def set_training(train_mode: bool) -> bool:
    """Turn training mode on or off; returns the previous state."""
    prev = _STATE.training
    _STATE.training = bool(train_mode)
    return prev


class _RecordingStateScope:
    """Sets recording and/or training for a ``with`` block and restores them after.

    ``None`` leaves that state as it is.
    """

    def __init__(self, is_record: bool | None, train_mode: bool | None):
        self._enter_is_record = is_record
        self._enter_train_mode = train_mode
        self._prev_is_record: bool | None = None
        self._prev_train_mode: bool | None = None

    def __enter__(self) -> None:
        if self._enter_is_record is not None:
            self._prev_is_record = set_recording(self._enter_is_record)
        if self._enter_train_mode is not None:
            self._prev_train_mode = set_training(self._enter_train_mode)

    def __exit__(self, *exc: Any) -> None:
        if self._enter_is_record is not None and self._prev_is_record != self._enter_is_record:
            set_recording(self._prev_is_record)
        if (self._enter_train_mode is not None
                and self._prev_train_mode != self._enter_train_mode):
            set_training(self._prev_train_mode)


def record(train_mode: bool = True) -> _RecordingStateScope:
    """``with autograd.record():`` records the operators run inside for :func:`backward`.

    ``train_mode`` (default True) also runs them in training mode.
    """
    return _RecordingStateScope(True, train_mode)


def pause(train_mode: bool = False) -> _RecordingStateScope:
    """``with autograd.pause():`` stops recording inside a :func:`record` block."""
    return _RecordingStateScope(False, train_mode)


def train_mode() -> _RecordingStateScope:
    """Run operators in training mode, without changing recording."""
    return _RecordingStateScope(None, True)


def predict_mode() -> _RecordingStateScope:
    """Run operators in inference mode, without changing recording."""
    return _RecordingStateScope(None, False)


# ----------------------------------------------------------------------------------------
# The tape.


class _Node:
    """One recorded computation, or a variable when ``var`` is set.

    ``inputs`` holds one entry per input: ``(node, output index)`` for a recorded input,
    ``None`` for a constant. ``backward(out_grads, need)`` returns one gradient per input
    (``None`` for none); ``out_meta`` gives each output's shape and dtype so missing head
    gradients can be zeros. A freed node has ``backward`` None.
    """

    __slots__ = ("inputs", "backward", "out_meta", "_var", "is_var", "name", "op", "attrs",
                 "graph_backward", "sparse_rows", "__weakref__")

    def __init__(self, inputs: tuple, backward: Callable | None, out_meta: tuple,
                 name: str, var: Any = None, op: Any = None, attrs: Any = None):
        self.inputs = inputs
        self.backward = backward
        self.out_meta = out_meta
        self.name = name
        # The variable array marks itself with this node (``a._ag``), so a strong reference
        # back would make every marked array a reference cycle, freed only by the cyclic
        # collector: a training loop re-creating big inputs would pile them up. A variable
        # nobody holds any more takes no gradient.
        self._var = None if var is None else weakref.ref(var)
        self.is_var = var is not None
        self.op = op  # the registry entry and its parameters, for get_symbol
        self.attrs = attrs
        # ``graph_backward(node, out_grads, need)``: the gradient on NDArrays, recorded
        # (create_graph); None where the operator has no gradient written as operators.
        self.graph_backward: Callable | None = None
        # ``sparse_rows(i, stype)``: the rows the operator stores in input ``i``'s gradient
        # when that input is a variable whose gradient has storage type ``stype`` (MXNet's
        # sparse backward kernels), or None where it makes a dense gradient; None for
        # operators without sparse gradients.
        self.sparse_rows: Callable[[int, str], np.ndarray | None] | None = None

    @property
    def var(self) -> Any:
        """The variable array (None for a computation, or a variable since freed)."""
        return None if self._var is None else self._var()


def _entry(a: Any) -> tuple | None:
    return getattr(a, "_ag", None)


def _mark(a: Any, grad: Any, req: str) -> None:
    if req not in _GRAD_REQS:
        raise MXNetError(f"grad_req must be one of {_GRAD_REQS}, got {req!r}")
    a._grad = grad
    a._grad_req = req
    a._ag = (_Node((), None, ((a.shape, a._data.dtype),), "var", var=a), 0)


def mark_variables(variables: Any, gradients: Any, grad_reqs: str | Sequence[str] = "write"
                   ) -> None:
    """Mark NDArrays as variables whose gradients :func:`backward` writes into ``gradients``."""
    from .ndarray.ndarray import NDArray

    if isinstance(variables, NDArray):
        variables, gradients = [variables], [gradients]
    variables, gradients = list(variables), list(gradients)
    if len(variables) != len(gradients):
        raise MXNetError(f"mark_variables: {len(variables)} variables but {len(gradients)} "
                         "gradient arrays")
    reqs = [grad_reqs] * len(variables) if isinstance(grad_reqs, str) else list(grad_reqs)
    if len(reqs) != len(variables):
        raise MXNetError(f"mark_variables: {len(reqs)} grad_reqs for {len(variables)} "
                         "variables")
    for v, g, r in zip(variables, gradients, reqs):
        if g is not None and g.shape != v.shape:
            raise MXNetError(f"mark_variables: gradient of shape {g.shape} for a variable of "
                             f"shape {v.shape}")
        _mark(v, g, r)


def _link(outputs: Sequence[Any], node: _Node) -> None:
    for i, o in enumerate(outputs):
        if o is not None:
            o._ag = (node, i)


def _record_op(op: Any, attrs: Any, arrays: Sequence[Any], ins: list, outs: list,
               octx: Any, visible: Sequence[Any]) -> None:
    """Tape one registry operator call (``mx.nd.<op>``): the registry's backward kernel,
    with what the forward kernel saved, differentiates it."""

    def back(ogs: list, need: tuple) -> list:
        octx.need_grad = need
        # Backward runs in backward's own mode (``train_mode``), as MXNet's does: BatchNorm
        # recorded in predict mode and differentiated in train mode takes the batch formula.
        octx.is_train = _STATE.training
        if not _profiler._ACTIVE["imperative"]:
            return op.backward(attrs, ogs, ins, outs, octx)
        t0 = perf_counter_ns()
        igs = op.backward(attrs, ogs, ins, outs, octx)
        _profiler.record_op("_backward_" + op.name, t0)
        return igs

    if op.backward is None:
        back = _no_gradient(op.name)  # recorded so the error names the operator
    node = _Node(tuple(_entry(a) for a in arrays), back,
                 tuple((np.shape(o), np.asarray(o).dtype) for o in outs), op.name,
                 op=op, attrs=attrs)
    if op.grad_graph is not None:
        def graph_back(node: _Node, ogs: list, need: tuple) -> list:
            # the saved inputs and outputs, as arrays at their places on the tape, so the
            # gradient's own graph reaches the variables through them
            xs = [_on_tape(a, e) for a, e in zip(ins, node.inputs)]
            ys = [_on_tape(o, (node, i)) for i, o in enumerate(outs)]
            return op.grad_graph(_nd_math(), attrs, ogs, xs, ys, octx)

        node.graph_backward = graph_back
    if op.sparse_grad_rows is not None:
        node.sparse_rows = op.sparse_grad_rows(attrs, arrays, ins)
    _link(visible, node)


def _on_tape(data: Any, entry: tuple | None) -> Any:
    from .ndarray.ndarray import NDArray

    a = NDArray(np.asarray(data))
    a._ag = entry
    return a


_ND_MATH: Any = None


def _nd_math() -> Any:
    """The namespace derivatives are written with (``ops.elemwise.NP_MATH``), as recorded
    NDArray operators; a plain number goes to numpy (``log`` of a scalar base)."""
    global _ND_MATH
    if _ND_MATH is None:
        from types import SimpleNamespace

        from . import ndarray as nd
        from .ndarray.ndarray import NDArray
        from .ops.elemwise import NP_MATH

        def lift(op: Callable, np_fn: Callable) -> Callable:
            return lambda x, *a, **k: (op(x, *a, **k) if isinstance(x, NDArray)
                                       else np_fn(x, *a, **k))

        def no_graph(name: str) -> Callable:
            def fn(*args: Any, **kwargs: Any) -> Any:
                raise _NoGraph(name)
            return fn

        ops = {name: getattr(nd, name, None) for name in vars(NP_MATH)}
        ops["isnan"] = nd.contrib.isnan
        ops["broadcast_to"] = lambda x, shape: nd.broadcast_to(x, shape=shape)
        ops["asarray"] = lambda x: x if isinstance(x, NDArray) else NDArray(np.asarray(x))

        def record(inputs: list, values: list, backward: Callable, name: str) -> list:
            # a gradient computed by kernels, taped as one node differentiated by ``backward``
            outs = [NDArray(np.asarray(v)) for v in values]
            record_custom(inputs, outs, backward, name)
            return outs
        _ND_MATH = SimpleNamespace(dot=nd.dot, record=record, **{
            name: no_graph(name) if op is None else lift(op, getattr(NP_MATH, name))
            for name, op in ops.items()})
    return _ND_MATH


class _NoGraph(Exception):
    """A derivative uses a function with no recorded operator (digamma)."""


def _no_gradient(name: str) -> Callable:
    def back(ogs: list, need: tuple) -> list:
        raise MXNetError(f"operator {name} has no gradient: it cannot be differentiated "
                         "(wrap it in autograd.pause() or detach() its output)")

    return back


def record_custom(inputs: Sequence[Any], outputs: Sequence[Any],
                  backward: Callable[[list], list], name: str = "custom",
                  sparse_rows: Callable[[int, str], np.ndarray | None] | None = None) -> None:
    """Tape a computation of several outputs from several inputs as one node.

    ``backward(out_grads)`` receives one numpy head gradient per output (zeros where none
    flowed) and returns one numpy gradient per input (None for none). Hybridized blocks and
    :class:`Function` record themselves this way. ``sparse_rows(i, stype)`` may give the rows
    a row_sparse gradient of input ``i`` stores (see :class:`_Node`).
    """

    def back(ogs: list, need: tuple) -> list:
        return list(backward(ogs))

    node = _Node(tuple(_entry(a) for a in inputs), back,
                 tuple((o.shape, o._data.dtype) for o in outputs), name)
    node.sparse_rows = sparse_rows
    _link(outputs, node)


def in_graph(a: Any) -> bool:
    """Whether ``a`` is a marked variable or was computed from one while recording, i.e.
    whether a gradient can flow to it (mxlite's helper; MXNet keeps this internal)."""
    return getattr(a, "_ag", None) is not None


def check_assign(a: Any) -> None:
    """Refuse writing into an array of the graph being recorded, as MXNet does."""
    if _STATE.recording and getattr(a, "_ag", None) is not None:
        raise MXNetError(
            "Assigning to NDArrays that are already in a computational graph will cause "
            "undefined behavior when evaluating gradients. Please call backward first to "
            "clear the graph or do this outside of a record section. In-place operations "
            "like +=, *=, relu(x, out=x), y[idx]=x cannot be used inside a record section.")


def _tracked(arrays: Sequence[Any]) -> bool:
    """Whether a call on these arrays is recorded."""
    return _STATE.recording and any(getattr(a, "_ag", None) is not None for a in arrays)


# ----------------------------------------------------------------------------------------
# Backward.


def _topological(heads: list[_Node]) -> list[_Node]:
    """Nodes reachable from ``heads``, inputs before the nodes that read them."""
    order: list[_Node] = []
    seen: set[int] = set()
    stack: list[tuple[_Node, bool]] = [(h, False) for h in reversed(heads)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        for e in reversed(node.inputs):  # first input first, as MXNet's DFS visits them
            if e is not None and id(e[0]) not in seen:
                stack.append((e[0], False))
    return order


def _as_list(x: Any) -> list:
    from .ndarray.ndarray import NDArray

    if x is None:
        return []
    if isinstance(x, NDArray):
        return [x]
    return list(x)


def _run_backward(heads: Any, head_grads: Any, variables: list | None, retain_graph: bool,
                  train_mode: bool, create_graph: bool = False) -> dict[int, Any]:
    """Differentiate ``heads``; ``(gradient, rows)`` of variable nodes by ``id(node)``.

    With ``variables`` None every variable in the graph with ``grad_req`` other than
    ``'null'`` gets a gradient; otherwise exactly those listed. Gradients are numpy arrays,
    or with ``create_graph`` NDArrays computed while recording. ``rows`` are the rows a
    row_sparse gradient stores when every operator reaching the variable declared them
    (the operators' ``sparse_grad_rows``), else None (store the non-zero rows).
    """
    heads = _as_list(heads)
    if not heads:
        raise MXNetError("backward: no head arrays given")
    hgs = _as_list(head_grads) if head_grads is not None else [None] * len(heads)
    if len(hgs) != len(heads):
        raise MXNetError(f"backward: {len(hgs)} head gradients for {len(heads)} heads")
    entries = []
    for i, h in enumerate(heads):
        e = _entry(h)
        if e is None:
            raise MXNetError(
                f"backward: head {i} (shape {h.shape}) is not in a computational graph. Call "
                "attach_grad() on the inputs and compute the head inside autograd.record() "
                "so that it is recorded")
        entries.append(e)
    order = _topological([e[0] for e in entries])

    wanted: set[int] | None = None
    if variables is not None:
        wanted = set()
        for v in variables:
            e = _entry(v)
            if e is None or e[0].var is None:
                raise MXNetError("grad: every variable must be marked with attach_grad() or "
                                 "mark_variables() before it is used")
            wanted.add(id(e[0]))

    # Which nodes lead to a variable that takes a gradient. An interior node an earlier
    # backward freed is a constant now, as in MXNet (an array computed before is reused);
    # only a head whose own graph is gone cannot be differentiated.
    head_ids = {id(e[0]) for e in entries}
    leads: dict[int, bool] = {}
    for node in order:
        if node.var is not None:
            lead = (id(node) in wanted) if wanted is not None else (
                getattr(node.var, "_grad_req", "null") != "null")
        elif node.backward is None and id(node) not in head_ids:
            lead = False
        else:
            if node.backward is None:
                raise MXNetError(
                    f"backward: the graph through operator {node.name} was already freed by an "
                    "earlier backward. Call backward(retain_graph=True) the first time to "
                    "differentiate the same graph again")
            lead = any(e is not None and leads[id(e[0])] for e in node.inputs)
        leads[id(node)] = lead

    walk = _GraphWalk() if create_graph else _NumpyWalk()
    for h, e, hg in zip(heads, entries, hgs):
        if leads[id(e[0])]:
            walk.acc(e[0], e[1], walk.head(h, hg))

    prev = set_training(train_mode)
    prev_rec = set_recording(True) if create_graph else None
    result: dict[int, Any] = {}
    walk_rows = walk.rows
    try:
        for node in reversed(order):
            nid = id(node)
            if not leads[nid]:
                continue
            slot = walk.grads.pop(nid, None)
            if node.var is not None:
                result[nid] = (slot[0] if slot is not None else None, walk_rows.get(nid))
                continue
            if slot is None:
                continue
            ogs = [walk.zeros(s, d) if g is None else g for g, (s, d) in zip(slot, node.out_meta)]
            need = tuple(e is not None and leads[id(e[0])] for e in node.inputs)
            try:
                igs = walk.backward(node, ogs, need)
            except MXNetError as err:
                raise MXNetError(f"backward of operator {node.name}: {err}") from None
            for i, (e, g, n) in enumerate(zip(node.inputs, igs, need)):
                if n and g is not None:
                    rows = None
                    if node.sparse_rows is not None and e[0].is_var:
                        try:
                            rows = node.sparse_rows(i, _grad_stype(e[0]))
                        except MXNetError as err:
                            raise MXNetError(f"backward of operator {node.name}: {err}") from None
                    walk.acc(e[0], e[1], g, rows)
    finally:
        set_training(prev)
        if create_graph:
            set_recording(prev_rec)
        if not retain_graph:
            for node in order:
                if node.var is None:
                    node.backward = node.graph_backward = None
    return result


def _head_grad(h: Any, hg: Any) -> np.ndarray:
    """A head gradient as numpy, of the head's shape."""
    sparse = getattr(hg, "stype", "default") != "default"
    g = hg.asnumpy() if sparse else np.asarray(getattr(hg, "_data", hg))
    if g.shape != h.shape:
        # MXNet does not check a head gradient's shape: the kernels read its buffer as the
        # head's, so a larger one gives its leading elements (MXNet's foreach test passes a
        # (4, 2) gradient for a (3, 2) head). A smaller one would read past its end.
        if g.size < math.prod(h.shape):
            raise MXNetError(f"backward: head gradient of shape {g.shape} has fewer "
                             f"elements than its head of shape {h.shape}")
        g = np.ascontiguousarray(g).reshape(-1)[:math.prod(h.shape)].reshape(h.shape)
    return g


class _NumpyWalk:
    """Backward on numpy: each node's backward kernel; sums made in place where they can."""

    def __init__(self) -> None:
        self.grads: dict[int, list] = {}
        self._owned: set[tuple[int, int]] = set()
        self.rows: dict[int, np.ndarray | None] = {}

    def head(self, h: Any, hg: Any) -> np.ndarray:
        return np.ones(h.shape, h._data.dtype) if hg is None else _head_grad(h, hg)

    zeros = staticmethod(np.zeros)

    def acc(self, node: _Node, k: int, g: Any, rows: np.ndarray | None = None) -> None:
        g = np.asarray(g)
        if node.is_var:
            _merge_rows(self.rows, id(node), rows)
        slot = self.grads.get(id(node))
        if slot is None:
            slot = self.grads[id(node)] = [None] * len(node.out_meta)
        cur = slot[k]
        if cur is None:
            slot[k] = g
        elif (id(node), k) in self._owned:
            np.add(cur, g, out=cur)
        else:
            slot[k] = cur + g
            self._owned.add((id(node), k))

    @staticmethod
    def backward(node: _Node, ogs: list, need: tuple) -> list:
        return node.backward(ogs, need)


class _GraphWalk:
    """Backward on NDArrays while recording (``create_graph``): each node's gradient as
    operators, so the gradients are on the tape themselves."""

    def __init__(self) -> None:
        self.grads: dict[int, list] = {}
        self.rows: dict[int, np.ndarray | None] = {}

    def head(self, h: Any, hg: Any) -> Any:
        from .ndarray.ndarray import NDArray

        if hg is None:
            return NDArray(np.ones(h.shape, h._data.dtype), h._ctx)
        if isinstance(hg, NDArray) and hg.shape == h.shape and hg.stype == "default":
            return hg  # a recorded head gradient stays on the tape
        return NDArray(_head_grad(h, hg), h._ctx)

    @staticmethod
    def zeros(shape: tuple, dtype: Any) -> Any:
        from .ndarray.ndarray import NDArray

        return NDArray(np.zeros(shape, dtype))

    def acc(self, node: _Node, k: int, g: Any, rows: np.ndarray | None = None) -> None:
        # gradients made as a graph are dense NDArrays (``grad`` returns them as they are)
        slot = self.grads.get(id(node))
        if slot is None:
            slot = self.grads[id(node)] = [None] * len(node.out_meta)
        slot[k] = g if slot[k] is None else slot[k] + g

    @staticmethod
    def backward(node: _Node, ogs: list, need: tuple) -> list:
        if node.graph_backward is not None:
            try:
                igs = node.graph_backward(node, ogs, need)
            except _NoGraph:
                igs = None
            if igs is not None:  # None: no graph for these parameters
                return igs
        return _opaque_backward(node, ogs, need)


def _opaque_backward(node: _Node, ogs: list, need: tuple) -> list:
    """The gradients of a node whose gradient is not written as operators: right values, on
    the tape as one node (``_backward_<op>``) that refuses to be differentiated again."""
    from .ndarray.ndarray import NDArray

    with pause():
        igs = node.backward([g.asnumpy() for g in ogs], need)
    outs = [None if g is None else NDArray(np.asarray(g)) for g in igs]
    name = "_backward_" + node.name
    back = _no_gradient(name)
    made = [o for o in outs if o is not None]
    grad_node = _Node(tuple(_entry(g) for g in ogs) + node.inputs, back,
                      tuple((o.shape, o._data.dtype) for o in made), name)
    _link(made, grad_node)
    return outs


_NO_ROWS = object()


def _merge_rows(acc: dict[int, np.ndarray | None], key: int, rows: np.ndarray | None) -> None:
    """Fold one contribution's declared rows into a variable's: the union while every
    contribution declares its rows (MXNet sums row_sparse gradients over the union of their
    rows), None from the first that does not (MXNet's dense fallback sum)."""
    prev = acc.get(key, _NO_ROWS)
    if prev is _NO_ROWS:
        acc[key] = rows
    elif prev is None or rows is None:
        acc[key] = None
    else:
        acc[key] = np.union1d(prev, rows)


def _grad_stype(node: _Node) -> str:
    """The storage type of a variable node's gradient buffer ('null' when it takes none)."""
    var = node.var
    g = None if var is None else getattr(var, "_grad", None)
    return "null" if g is None or var._grad_req == "null" else g.stype


def _stored(g: np.ndarray | None, rows: np.ndarray | None, like: Any) -> Any:
    """The gradient ``g`` (dense numpy, None for zeros) in the storage type of ``like``, as
    MXNet stores it: row_sparse keeps ``rows`` (or, when None, the non-zero rows), csr the
    non-zero entries."""
    from .ndarray.sparse import RowSparseNDArray, _dense_to_csr

    dtype = like._data.dtype
    shape = like.shape
    if like.stype == "row_sparse":
        if g is None:
            rows = np.zeros(0, np.int64)
        elif rows is None:
            flat = g.reshape(g.shape[0], -1) if g.ndim else g.reshape(1, 1)
            rows = np.flatnonzero(flat.any(axis=1)).astype(np.int64)
        values = np.zeros((0,) + tuple(shape[1:]), dtype) if g is None else \
            g[rows].astype(dtype, copy=False)
        return RowSparseNDArray(values, np.asarray(rows, np.int64), shape, like._ctx)
    dense = np.zeros(shape, dtype) if g is None else g.astype(dtype, copy=False)
    return _dense_to_csr(dense, like._ctx)


def _write_grad(var: Any, g: np.ndarray | None, rows: np.ndarray | None = None) -> None:
    req = getattr(var, "_grad_req", "null")
    dst = var._grad
    if req == "null" or dst is None:
        return
    if dst.stype != "default":  # 'write': :func:`backward` refused 'add' beforehand
        new = _stored(g, rows, dst)
        dst._data, dst._aux = new._data, new._aux
        var._fresh_grad = True
        return
    if req == "write":
        if g is None:
            dst._data[...] = 0
        else:
            dst._data[...] = g
    elif g is not None:
        dst._data += g.astype(dst._data.dtype, copy=False)
    var._fresh_grad = True


def backward(heads: Any, head_grads: Any = None, retain_graph: bool = False,
             train_mode: bool = True) -> None:
    """Compute the gradients of ``heads`` with respect to the marked variables.

    Each variable's ``.grad`` is written (``grad_req='write'``) or added to (``'add'``).
    ``head_grads`` default to ones. Without ``retain_graph`` the graph is freed.
    """
    variables = list({id(n): n for n in _variables_of(heads)}.values())
    for n in variables:
        v = n.var
        if v is not None and v._grad_req == "add" and v._grad is not None and \
                v._grad.stype != "default":
            # refused before anything is written, where MXNet's sparse kernels fail
            raise MXNetError(f"backward: grad_req='add' is not supported for a "
                             f"{v._grad.stype} gradient (MXNet's sparse kernels only write); "
                             "use grad_req='write' or a dense gradient (stype='default')")
    result = _run_backward(heads, head_grads, None, retain_graph, train_mode)
    if not result:
        return
    for e in variables:
        if id(e) in result:
            _write_grad(e.var, *result[id(e)])


def _variables_of(heads: Any) -> list[_Node]:
    roots = [_entry(h)[0] for h in _as_list(heads) if _entry(h) is not None]
    return [n for n in _topological(roots) if n.var is not None]


def grad(heads: Any, variables: Any, head_grads: Any = None, retain_graph: bool | None = None,
         create_graph: bool = False, train_mode: bool = True) -> list:
    """Gradients of ``heads`` with respect to ``variables``, returned (``.grad`` untouched)."""
    from .ndarray.ndarray import NDArray

    vs = _as_list(variables)
    if retain_graph is None:
        retain_graph = create_graph
    result = _run_backward(heads, head_grads, vs, bool(retain_graph), train_mode, create_graph)
    out = []
    for v in vs:
        g, rows = result.get(id(_entry(v)[0]), (None, None))
        if create_graph and g is not None:
            g = g if g.dtype == v.dtype else g.astype(v.dtype)
        elif not create_graph and getattr(v, "_grad", None) is not None and \
                v._grad.stype != "default":
            # the storage type of the variable's gradient buffer, as MXNet returns it
            g = _stored(None if g is None else np.asarray(g), rows, v._grad)
        else:
            g = NDArray(np.zeros(v.shape, v._data.dtype) if g is None
                        else np.array(g, dtype=v._data.dtype), v._ctx)
        if create_graph and _entry(g) is None:
            # A gradient that does not depend on the variables is on the tape all the same,
            # as MXNet's are: differentiating it again gives zeros, not an error.
            _link([g], _Node((), _constant_backward, ((g.shape, g._data.dtype),), "_zeros"))
        out.append(g)
    return out


def _constant_backward(ogs: list, need: tuple) -> list:
    return []


def get_symbol(x: Any) -> Any:
    """The recorded graph that computed ``x``, as a Symbol (MXNet's ``autograd.get_symbol``).

    As in MXNet, operators are named ``node_0``, ``node_1``... in topological order and
    inputs ``var<k>`` (marked variables) or ``null<k>`` (constants), ``k`` counting both.
    A computation recorded as a whole (a hybridized block, a custom :class:`Function`) has no
    operator to name and is refused.
    """
    from .symbol import Variable
    from .symbol.register import make_function

    e = _entry(x)
    if e is None:
        raise MXNetError("get_symbol: the array was not recorded (compute it inside "
                         "autograd.record() from arrays marked with attach_grad())")
    made: dict[int, Any] = {}
    leaves = ops = 0
    for node in _topological([e[0]]):
        if node.is_var:
            made[id(node)] = Variable(f"var{leaves}")
            leaves += 1
            continue
        if node.op is None:
            raise NotSupportedError(f"get_symbol: {node.name} was recorded as a whole (a "
                                    "hybridized block or an autograd.Function) and has no "
                                    "operator graph")
        args = []
        for inp in node.inputs:
            if inp is None:
                args.append(Variable(f"null{leaves}"))
                leaves += 1
            else:
                s = made[id(inp[0])]
                args.append(s[inp[1]] if len(s.list_outputs()) > 1 else s)
        params = {k: v for k, v in node.attrs.raw.items()}
        made[id(node)] = make_function(node.op.name)(*args, name=f"node_{ops}", **params)
        ops += 1
    out = made[id(e[0])]
    return out[e[1]] if len(out.list_outputs()) > 1 else out


# ----------------------------------------------------------------------------------------
# Custom functions.


class Function:
    """A differentiable function with a hand-written gradient (MXNet's ``autograd.Function``).

    Subclasses define ``forward(*inputs)`` and ``backward(*output_grads)`` on NDArrays and
    may keep values for backward with :meth:`save_for_backward`. Each instance is called once.
    """

    def __init__(self) -> None:
        self._used = False
        self.saved_tensors: tuple = ()

    def save_for_backward(self, *args: Any) -> None:
        self.saved_tensors = args

    def forward(self, *inputs: Any) -> Any:
        raise NotImplementedError

    def backward(self, *output_grads: Any) -> Any:
        raise NotImplementedError

    def __call__(self, *inputs: Any) -> Any:
        from .ndarray.ndarray import NDArray

        if self._used:
            raise MXNetError("Each Function instance can only be called once. Please create "
                             "another instance.")
        self._used = True
        prev = set_recording(False)
        try:
            outputs = self.forward(*inputs)
        finally:
            set_recording(prev)
        single = isinstance(outputs, NDArray)
        outs = [outputs] if single else list(outputs)
        if not isinstance(outputs, (NDArray, list, tuple)) or not all(
                isinstance(o, NDArray) for o in outs):
            raise MXNetError("autograd.Function.forward must return an NDArray or a list of "
                             "NDArrays")
        if _tracked(inputs):
            def back(ogs: list) -> list:
                with pause():
                    igs = self.backward(*[NDArray(g, c) for g, c in
                                          zip(ogs, [o._ctx for o in outs])])
                igs = [igs] if isinstance(igs, NDArray) else list(igs)
                if len(igs) != len(inputs):
                    raise MXNetError(f"{type(self).__name__}.backward returned {len(igs)} "
                                     f"gradients for {len(inputs)} inputs")
                return [None if g is None else g._data for g in igs]

            # An output that is one of the inputs is re-wrapped so marking it leaves the input.
            outs = [NDArray(o._data, o._ctx) if any(o is i for i in inputs) else o
                    for o in outs]
            record_custom(list(inputs), outs, back, type(self).__name__)
        return outs[0] if single else outs
