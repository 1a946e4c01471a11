"""The node graph behind a Symbol: nodes, traversal, composition, loading, inference.

A node is an operator application (``op`` a registry entry, ``parsed`` its typed parameters)
or a variable (``op`` None). ``attrs`` holds the strings exactly as given, hidden keys
(``__shape__``, ``__ctx_group__``...) included; ``inputs`` are ``(node, output, version)``
entries. A variable's ``version`` counts the operators that mutate it (BatchNorm's moving
statistics), which is how MXNet tells auxiliary states from arguments.

Every walk over a graph is MXNet's post-order depth-first search from the heads (inputs in
order, then control dependencies); node ids in JSON, ``list_arguments`` and
``get_internals`` all follow it. Walks are iterative so that deep graphs do not hit Python's
recursion limit.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from itertools import chain
from operator import itemgetter
from typing import Any

import numpy as np

from ..base import MXNetError
from ..formats import symbol_json
from ..ops import registry
from ..ops.registry import Attrs, Op
from ..util import is_np_shape

Entry = tuple  # (Node, output index, version)

# Attributes MXNet stores as ``__key__`` when given bare to an operator, a variable or a scope.
HIDDEN_KEYS = ("ctx_group", "lr_mult", "wd_mult", "force_mirroring", "mirror_stage")
HIDDEN_STORED = {f"__{k}__": k for k in HIDDEN_KEYS}

# MXNet's type flags, as Variable(dtype=...) stores them in ``__dtype__``.
DTYPE_FLAGS = {np.dtype(n): i for i, n in enumerate(
    ("float32", "float64", "float16", "uint8", "int32", "int8", "int64", "bool", "int16",
     "uint16", "uint32", "uint64"))}
FLAG_DTYPES = {i: d for d, i in DTYPE_FLAGS.items()}
STORAGE_TYPES = {"undefined": -1, "default": 0, "row_sparse": 1, "csr": 2}


class Node:
    __slots__ = ("op", "name", "attrs", "inputs", "parsed", "version", "deps", "subgraphs")

    def __init__(self, op: Op | None, name: str, attrs: dict[str, str],
                 inputs: list[Entry] | None = None, parsed: Attrs | None = None):
        self.op = op
        self.name = name
        self.attrs = attrs
        self.inputs: list[Entry] = inputs if inputs is not None else []
        self.parsed = parsed
        self.version = 0
        self.deps: list[Node] | None = None
        # A control-flow operator's graphs (each a list of head entries), in MXNet's order.
        self.subgraphs: list[list[Entry]] | None = None

    def num_outputs(self) -> int:
        return 1 if self.op is None else self.op.num_outputs(self.parsed)

    def input_names(self) -> list[str]:
        return [] if self.op is None else self.op.list_inputs(self.parsed)

    def aux_indices(self) -> list[int]:
        """Positions of the inputs this node's operator mutates (its auxiliary states)."""
        if self.op is None or not self.op.aux:
            return []
        aux = self.op.list_aux(self.parsed)
        if not aux:
            return []
        names = self.op.list_inputs(self.parsed)
        return [i for i, n in enumerate(names) if n in aux]

    def __repr__(self) -> str:
        return f"<Node {self.op.name if self.op else 'null'} {self.name!r}>"


# ----------------------------------------------------------------------------------------
# Traversal.

_first = itemgetter(0)


def _children(n: Node) -> Iterator[Node]:
    if n.deps:
        return chain(map(_first, n.inputs), n.deps)
    return map(_first, n.inputs)


def _kids(n: Node) -> list:
    """Input entries, then control dependencies as 1-tuples (child node first in each)."""
    return n.inputs + [(d,) for d in n.deps] if n.deps else n.inputs


def topo_order(heads: list[Entry]) -> list[Node]:
    """Nodes reachable from ``heads`` in MXNet's post-order DFS."""
    order: list[Node] = []
    push = order.append
    seen: set[Node] = set()
    add = seen.add
    for head in heads:
        root = head[0]
        if root in seen:
            continue
        add(root)
        stack = [(root, _kids(root))]
        pos = [0]
        while stack:
            node, kids = stack[-1]
            i = pos[-1]
            n = len(kids)
            while i < n:
                child = kids[i][0]
                i += 1
                if child not in seen:
                    add(child)
                    if not child.inputs and not child.deps:
                        push(child)  # a leaf: no need to stack it
                        continue
                    pos[-1] = i
                    stack.append((child, _kids(child)))
                    pos.append(0)
                    break
            else:
                push(node)
                stack.pop()
                pos.pop()
    return order


def find_cycle(nodes: list[Node]) -> Node | None:
    """A node that lies on a cycle, or None (graphs from JSON may have forward references)."""
    state: dict[Node, int] = {}  # 1 on the stack, 2 finished
    for root in nodes:
        if root in state:
            continue
        state[root] = 1
        stack = [(root, _children(root))]
        while stack:
            node, it = stack[-1]
            for child in it:
                s = state.get(child)
                if s == 1:
                    return child
                if s is None:
                    state[child] = 1
                    stack.append((child, _children(child)))
                    break
            else:
                state[node] = 2
                stack.pop()
    return None


def variables(heads: list[Entry]) -> list[Node]:
    return [n for n in topo_order(heads) if n.op is None]


def split_inputs(heads: list[Entry]) -> tuple[list[Node], list[Node]]:
    """(arguments, auxiliary states): variables that no operator / some operator mutates."""
    order = topo_order(heads)
    mutated: set[Node] = set()
    for n in order:
        if n.op is not None and n.op.aux:
            for i in n.aux_indices():
                mutated.add(n.inputs[i][0])
    args = [n for n in order if n.op is None and n not in mutated]
    aux = [n for n in order if n.op is None and n in mutated]
    return args, aux


def copy_graph(heads: list[Entry]) -> list[Entry]:
    """A deep copy of the graph (new nodes, same structure, attributes and versions)."""
    new: dict[Node, Node] = {}
    for n in topo_order(heads):
        c = Node(n.op, n.name, dict(n.attrs), [(new[e[0]], e[1], e[2]) for e in n.inputs],
                 n.parsed)
        c.version = n.version
        if n.deps:
            c.deps = [new[d] for d in n.deps]
        c.subgraphs = n.subgraphs
        new[n] = c
    return [(new[e[0]], e[1], e[2]) for e in heads]


def unknown_dims(shape: Any) -> bool:
    """Whether a creation operator's ``shape`` parameter leaves dims to inference."""
    if not isinstance(shape, tuple):
        return False
    if not shape:  # legacy semantics: shape () is "unknown" (``randn(data=...)`` says so)
        return not is_np_shape()
    return any(d < 0 or (d == 0 and not is_np_shape()) for d in shape)


# ----------------------------------------------------------------------------------------
# Parameters.

_PARSED: dict[tuple, tuple[Attrs, int, int]] = {}


def parse_params(op: Op, attrs: dict[str, str], where: str) -> tuple[Attrs, int, int]:
    """(parsed parameters, number of inputs, number of outputs), memoised.

    Graphs repeat the same parameter sets many times over (every 3x3 convolution of a ResNet),
    so loading parses each distinct set once.
    """
    key = (op.name, tuple(attrs.items()))
    hit = _PARSED.get(key)
    if hit is not None:
        return hit
    parsed = op.parse_attrs(attrs, where)
    try:
        hit = (parsed, len(op.list_inputs(parsed)), op.num_outputs(parsed))
    except MXNetError:
        raise
    except Exception as e:  # an input/output list that cannot be formed from these values
        raise MXNetError(f"operator {op.name} (node {where!r}): {e}") from None
    if len(_PARSED) > 8192:
        _PARSED.clear()
    _PARSED[key] = hit
    return hit


def attach_subgraphs(node: Node, subgraphs: list[list[Entry]]) -> None:
    """Give a control-flow node its subgraphs; its kernels find them as
    ``attrs.subgraphs`` (parsed parameters are shared between equal nodes, so the node gets
    its own copy)."""
    node.subgraphs = subgraphs
    p = node.parsed
    if p is not None:  # else parsed later (an older file's upgrade), and attached again then
        node.parsed = Attrs(p.op, {**p.as_dict(), "subgraphs": subgraphs}, p.raw)


def reparse(node: Node) -> None:
    """Parse a node's attributes again (after they changed), keeping its subgraphs."""
    node.parsed = parse_params(node.op, node.attrs, node.name)[0]
    if node.subgraphs is not None:
        attach_subgraphs(node, node.subgraphs)


def hidden_key(key: str, value: str) -> str:
    """How MXNet stores an attribute given to an operator: ``ctx_group`` -> ``__ctx_group__``.

    A key merely ending in a hidden one (``weight_lr_mult``) was the pre-0.9 way to reach an
    input variable; MXNet refuses it and says what to write instead.
    """
    for k in HIDDEN_KEYS:
        pos = key.rfind(k)
        if pos == 0:
            return f"__{key}__"
        if pos > 0 and pos == len(key) - len(k):
            raise MXNetError(
                f"setting variable attributes with {key} is deprecated. please instead use\n"
                f"w = Variable({k}={value})\nsym = YourSymbolName({key[:pos - 1]}=w)")
    return key


def set_attr_key(key: str, value: str) -> str:
    """How ``Symbol._set_attr`` (MXSymbolSetAttr) stores ``key``."""
    for k in HIDDEN_KEYS:
        pos = key.rfind(k)
        if pos == 0 and len(k) == len(key):
            return f"__{key}__"
        if pos != -1 and pos + len(k) == len(key):
            raise MXNetError(
                f"setting variable attributes with {key} is deprecated. please instead use\n"
                f"w = Variable({k}={value})\nsym = YourSymbolName({key[:pos - 1]}=w)")
    return key


# ----------------------------------------------------------------------------------------
# Composition (nnvm's Symbol::Compose).


def _single(sym_outputs: list[Entry], what: str) -> Entry:
    if len(sym_outputs) != 1:
        raise MXNetError(f"{what} is a group of {len(sym_outputs)} outputs, single value is "
                         "required")
    return sym_outputs[0]


def _keyword_mismatch(user: list[str], candidates: list[str]) -> MXNetError:
    missing = [k for k in user if k not in candidates]
    lines = "".join(f"\t[{i}]{c}\n" for i, c in enumerate(candidates))
    return MXNetError(f"Symbol.Compose: keyword argument name {missing[0] if missing else '?'} "
                      f"not found.\nCandidate arguments:\n{lines}")


def update_versions(node: Node) -> None:
    """Record each variable input's version; bump those this operator mutates."""
    ins = node.inputs
    for i, e in enumerate(ins):
        v = e[0]
        if v.op is None and e[2] != v.version:
            ins[i] = (v, e[1], v.version)
    for i in node.aux_indices():
        v = ins[i][0]
        if v.op is not None:
            raise MXNetError(f"operator {node.op.name} (node {node.name!r}) mutates its input "
                             f"{i}, which must be a Variable, not the output of {v.name!r}")
        v.version += 1
        ins[i] = (v, ins[i][1], v.version)


def set_input_var_attrs(node: Node, names: list[str]) -> None:
    """The operator's defaults for its variable inputs (BatchNorm's ``__init__``), where unset."""
    extra = node.op.input_var_attrs
    if not extra:
        return
    for i, e in enumerate(node.inputs):
        v = e[0]
        if v.op is None and i < len(names) and names[i] in extra:
            for k, val in extra[names[i]].items():
                v.attrs.setdefault(k, val)


def compose_atomic(node: Node, args: list[list[Entry]], kwargs: dict[str, list[Entry]]) -> None:
    """Give a fresh operator node its inputs; the missing ones become variables.

    Auto-created variables are called ``<node>_<input>`` and get a copy of the node's
    attributes, scope attributes included, as MXNet does.
    """
    names = node.op.list_inputs(node.parsed)
    n_req = len(names)
    ins = [_single(a, f"Argument {i}") for i, a in enumerate(args)]
    for k, v in kwargs.items():
        _single(v, f"Keyword argument {k}")
    if len(ins) > n_req:
        raise MXNetError(f"operator {node.op.name} (node {node.name!r}): incorrect number of "
                         f"arguments, requires {n_req} ({', '.join(names)}), provided {len(ins)}")
    matched = 0
    for i in range(len(ins), n_req):
        given = kwargs.get(names[i])
        if given is not None:
            ins.append(given[0])
            matched += 1
        else:
            vname = f"{node.name}_{names[i]}" if node.name else names[i]
            ins.append((Node(None, vname, dict(node.attrs)), 0, 0))
    # nnvm matches keywords only when positional arguments leave inputs unfilled, so an
    # operator without inputs ignores Symbol keywords (``mx.sym.random.randn(data=x)``).
    if len(args) < n_req and matched != len(kwargs):
        raise _keyword_mismatch(list(kwargs), names[len(args):])
    node.inputs = ins
    update_versions(node)
    set_input_var_attrs(node, names)


def compose(heads: list[Entry], args: list[list[Entry]], kwargs: dict[str, list[Entry]],
            name: str | None) -> None:
    """nnvm's Symbol::Compose on the graph of ``heads`` (in place)."""
    head = heads[0][0]
    if head.op is None and (args or not kwargs):
        raise MXNetError("Variable cannot be composed")
    for i, a in enumerate(args):
        _single(a, f"Argument {i}")
    for k, v in kwargs.items():
        _single(v, f"Keyword argument {k}")
    if name:
        head.name = name
    if head.op is not None and not head.inputs and not head.deps:
        compose_atomic(head, args, kwargs)
        return
    if args:
        raise MXNetError("General composition only support kwargs for now")
    order = topo_order(heads)
    replace: dict[Node, Entry] = {}
    matched = 0
    for n in order:
        if n.op is None and n.name in kwargs:
            replace[n] = kwargs[n.name][0]
            matched += 1
    if matched != len(kwargs):
        raise _keyword_mismatch(list(kwargs), [n.name for n in order if n.op is None])
    for n in order:
        if any(e[0] in replace for e in n.inputs):
            n.inputs = [replace[e[0]] if e[0] in replace else e for e in n.inputs]
            update_versions(n)
    if len(heads) > 1:
        # A group's outputs that are themselves replaced variables (``get_internals()``
        # lists the inputs) become the replacements, as nnvm's general composition does; a
        # lone variable is left as it is.
        heads[:] = [replace.get(e[0], e) for e in heads]


# ----------------------------------------------------------------------------------------
# JSON.


def _legacy_op(op_name: str) -> registry.Op | None:
    """The NNVM-era dunder names (``__add_scalar__``...) that pre-1.0 graphs and TVM's
    frontend use for the scalar operators."""
    from ..ops.contrib import LEGACY_ALIASES

    target = LEGACY_ALIASES.get(op_name)
    return registry.find(target) if target else None


def _unknown_op(op_name: str, name: str, where: str) -> MXNetError:
    at = f"{where}: " if where else ""
    return MXNetError(f"{at}node {name!r}: unknown operator {op_name!r} "
                      f"({registry.unknown_reason(op_name)})")


def from_json(text: str | bytes, where: str = "") -> list[Entry]:
    """The heads of the graph a symbol JSON document describes (upgraded if old).

    Bytes are decoded here, and this call's reference to them dropped before parsing:
    ``from_json(read_bytes(path))`` holds the only one, so the file costs its size once
    (as text) while the graph is built, not twice.
    """
    gc_was = gc.isenabled()
    gc.disable()  # a graph is one big acyclic allocation burst: collecting midway is waste
    try:
        limit = count_limit(text)
        if not isinstance(text, str):
            text = symbol_json.decode(text, where)
        return _from_graph(symbol_json.parse(text, where), limit, where)
    finally:
        if gc_was:
            gc.enable()


def _from_graph(g: symbol_json.JsonGraph, limit: int, where: str) -> list[Entry]:
    at = f"{where}: " if where else ""
    legacy = g.version < symbol_json.MXNET_VERSION
    raw = g.raw_nodes
    n_nodes = len(raw)
    nodes: list[Node] = []
    push = nodes.append
    n_outs: list[int] = []
    n_out_push = n_outs.append
    forward = False
    deps_at: list[tuple[int, list[int]]] = []
    find = registry.find
    ops: dict[str, Op | None] = {}
    parsed_cache = _PARSED
    # One pass reads, checks and links each node. The usual node, {op, name, (attrs,) inputs}
    # with [node, output, version] entries of earlier nodes, is checked inline; anything else
    # goes through symbol_json.read_node, which reads old spellings and says what is wrong.
    # Each record is dropped from the document as its node is made, so the document and the
    # graph never both hold every node.
    empty = symbol_json.EMPTY
    index_of: dict[Node, int] | None = None
    join = "".join
    for i, nd in enumerate(raw):
        raw[i] = None
        deps = subs = None
        if type(nd) is tuple:  # op, name, attrs, inputs: symbol_json's record of a node
            op_name, name, attrs, jins = nd
            if attrs is empty:
                attrs = {}
            elif type(attrs) is not dict:
                attrs = None
            if (attrs is None or type(op_name) is not str or type(name) is not str
                    or type(jins) is not list):
                op_name, name, attrs, jins, deps = symbol_json.read_node(nd, i, n_nodes, where)
        else:
            try:
                op_name = nd["op"]
                name = nd["name"]
                jins = nd["inputs"]
                n_keys = len(nd)
                if n_keys == 3:
                    attrs = {}
                elif n_keys == 4:
                    attrs = nd["attrs"]
                    if type(attrs) is not dict:
                        raise KeyError
                    if attrs is empty:
                        attrs = {}
                else:
                    raise KeyError
                if (type(op_name) is not str or type(name) is not str
                        or type(jins) is not list):
                    raise KeyError
            except (KeyError, TypeError):
                op_name, name, attrs, jins, deps = symbol_json.read_node(nd, i, n_nodes, where)
                subs = nd.get("subgraphs") if type(nd) is dict else None
        n_ins = len(jins)
        if op_name == "null":
            if n_ins:
                raise MXNetError(f"{at}node {i} ({name!r}) is a variable but has inputs")
            if attrs:
                try:  # values must all be strings (_check_strings, inline: most nodes)
                    join(attrs.values())
                except TypeError:
                    _check_strings(attrs, nd, i, n_nodes, where)
            push(Node(None, name, attrs, jins))  # json's empty list: the node's own
            n_out_push(1)
            if deps:
                deps_at.append((i, deps))
            continue
        op = ops.get(op_name)
        if op is None:
            op = ops[op_name] = find(op_name) or _legacy_op(op_name)
            if op is None:
                raise _unknown_op(op_name, name, where)
        node = Node(op, name, attrs, jins)
        if legacy:
            _check_strings(attrs, nd, i, n_nodes, where)
            n_out_push(0)
        else:
            try:
                hit = parsed_cache.get((op.name, tuple(attrs.items())))
            except TypeError:  # an unhashable value: not a string
                hit = None
            if hit is None:
                # Only a new parameter set needs its values checked: a cache hit is equal to
                # one checked before, and strings equal only strings.
                _check_strings(attrs, nd, i, n_nodes, where)
                hit = _parse_in_file(node, at, n_ins, limit)
            node.parsed, n_in, n_out = hit
            n_out_push(n_out)
            if n_ins != n_in:
                symbol_json.read_node(nd, i, n_nodes, where)  # a bad entry is the first error
                raise MXNetError(
                    f"{at}node {i} ({name!r}): operator {op.name} takes {n_in} inputs "
                    f"({', '.join(op.list_inputs(node.parsed))}), the file gives {n_ins}")
        if subs:
            attach_subgraphs(node, [
                _from_graph(symbol_json.parse_doc(sg, f"{at}node {name!r} subgraphs[{k}]",
                                                  g.version), limit,
                            f"{at}node {name!r} subgraphs[{k}]")
                for k, sg in enumerate(subs)])
        if n_ins:
            # json's list of entries becomes the node's list of inputs, entry by entry
            k = 0
            for e in jins:
                try:
                    nid, idx, ver = e
                    if not (type(nid) is type(idx) is type(ver) is int and 0 <= nid < i
                            and 0 <= idx and ver >= 0 and (legacy or idx < n_outs[nid])):
                        raise ValueError
                except (ValueError, TypeError):
                    break
                jins[k] = (nodes[nid], idx, ver)
                k += 1
            else:
                if deps:
                    deps_at.append((i, deps))
                push(node)
                continue
            # Not the usual entries: a later node (linked below, once every node exists), a
            # two-item entry, or an error that read_node and _bad_output explain. The
            # entries already linked are put back as the file had them.
            if k:
                if index_of is None:
                    index_of = {n: j for j, n in enumerate(nodes)}
                jins[:k] = [[index_of[t[0]], t[1], t[2]] for t in jins[:k]]
            jins = symbol_json.read_node(nd, i, n_nodes, where)[3]
            for nid, idx, _ in jins:
                if nid < i and not legacy and idx >= n_outs[nid]:
                    raise _bad_output(at, i, name, nid, idx, n_outs[nid], nodes)
            if all(nid < i for nid, _, _ in jins):
                node.inputs = [(nodes[nid], idx, ver) for nid, idx, ver in jins]
            else:
                forward = True
                node.inputs = jins  # connected below, once every node exists
        if deps:
            deps_at.append((i, deps))
        push(node)
    if forward:
        for i, node in enumerate(nodes):
            if node.inputs and type(node.inputs[0]) is list:
                jins = node.inputs
                node.inputs = [(nodes[nid], idx, ver) for nid, idx, ver in jins]
                for nid, idx, _ in jins:
                    if not legacy and idx >= n_outs[nid]:
                        raise _bad_output(at, i, node.name, nid, idx, n_outs[nid], nodes)
    for i, deps in deps_at:
        forward = forward or max(deps) >= i
        nodes[i].deps = [nodes[d] for d in deps]
    if forward:
        bad = find_cycle(nodes)
        if bad is not None:
            raise MXNetError(f"{at}the graph has a cycle through node {bad.name!r}")
    for a in g.arg_nodes:
        if nodes[a].op is not None:
            raise MXNetError(f"{at}arg_nodes lists node {a} ({nodes[a].name!r}), which is an "
                             f"operator ({nodes[a].op.name}), not a variable")
    heads = [(nodes[nid], idx, ver) for nid, idx, ver in g.heads]
    if legacy:
        _upgrade(heads, g.version, at, limit)
        for n in nodes:
            if n.subgraphs is not None:
                attach_subgraphs(n, n.subgraphs)
    if legacy:
        index = {n: i for i, n in enumerate(nodes)}
        for n in topo_order(heads):
            for src, idx, _ in n.inputs:
                if idx >= src.num_outputs():
                    nid = index.get(src, -1)
                    raise _bad_output(at, index.get(n, -1), n.name, nid, idx,
                                      src.num_outputs(), nodes)
    for k, (node, idx, _) in enumerate(heads):
        if idx >= node.num_outputs():
            raise MXNetError(f"{at}heads[{k}] asks for output {idx} of node {node.name!r}, "
                             f"which has {node.num_outputs()}")
    if not g.np_shape and is_np_shape():
        _shapes_to_numpy(nodes)
    return heads


def _shapes_to_numpy(nodes: list[Node]) -> None:
    """MXNet's ConvertShapeAttrToNumPyCompatible: a legacy graph loaded under numpy shape
    semantics gets its variables' ``__shape__`` rewritten (unknown dims ``0`` -> ``-1``, an
    unknown shape ``()`` -> ``None``), printed as MXNet prints a TShape."""
    for n in nodes:
        s = n.attrs.get("__shape__") if n.op is None else None
        if s is None:
            continue
        shape = _var_shape(n)
        if not shape:
            n.attrs["__shape__"] = "None"
        else:
            n.attrs["__shape__"] = "[" + ",".join(str(d if d else -1) for d in shape) + "]"


def _check_strings(attrs: dict, nd: Any, i: int, n_nodes: int, where: str) -> None:
    """Attribute values must all be strings; read_node says which one is not."""
    try:
        "".join(attrs.values())
    except TypeError:
        symbol_json.read_node(nd, i, n_nodes, where)
        raise  # read_node found nothing wrong: cannot happen, but never pass silently


# Parameters that size a node's output list (and amp_multicast's inputs). A file cannot use
# more outputs than it has entries ("[n, i, v]", at least 8 bytes each), so counts are held
# to that, plus room for unused outputs, before a list of names is built; a variadic input
# count (num_args) is held to the inputs the node lists (or a small floor, so that a plain
# mismatch is still reported as one).
_OUTPUT_COUNTS = ("num_outputs", "sections")
_MIN_COUNT_LIMIT = 4096
_MIN_ARGS_LIMIT = 1024


def count_limit(text: str | bytes) -> int:
    """The largest output count a symbol file of this text can mean."""
    return _MIN_COUNT_LIMIT + len(text) // 8


def _check_counts(node: Node, n_inputs: int, limit: int, at: str) -> None:
    op = node.op
    for key in (op.key_var_num_args, *_OUTPUT_COUNTS):
        raw = node.attrs.get(key) if key in op.params else None
        if raw is None:
            continue
        try:
            n = registry.Int().parse(raw)
        except (ValueError, TypeError):
            continue  # parse_params says what is wrong with it
        if key == op.key_var_num_args:
            if n > max(n_inputs, _MIN_ARGS_LIMIT):
                raise MXNetError(f"{at}node {node.name!r}: operator {op.name} has {key}={n} "
                                 f"but the file gives it {n_inputs} inputs")
        elif n > limit:
            raise MXNetError(f"{at}node {node.name!r}: operator {op.name} has {key}={n}, more "
                             f"outputs than the file can use (at most {limit})")


def _parse_in_file(node: Node, at: str, n_inputs: int, limit: int) -> tuple[Attrs, int, int]:
    _check_counts(node, n_inputs, limit, at)
    try:
        return parse_params(node.op, node.attrs, node.name)
    except MXNetError as e:
        raise MXNetError(f"{at}{e}") from None


def _bad_output(at: str, i: int, name: str, nid: int, idx: int, n_out: int,
                nodes: list[Node]) -> MXNetError:
    src = nodes[nid].name if 0 <= nid < len(nodes) else None
    return MXNetError(f"{at}node {i} ({name!r}) takes output {idx} of node {nid} "
                      f"({src!r}), which has {n_out} output(s)")


def _upgrade(heads: list[Entry], version: int, at: str, limit: int) -> None:
    """MXNet's legacy_json_util.cc: bring a graph saved by an older MXNet up to date."""
    order = topo_order(heads)
    # Hidden keys written bare (``lr_mult``) or aimed at an input (``weight_lr_mult``).
    for n in order:
        hidden = []
        for key in list(n.attrs):
            for k in HIDDEN_KEYS:
                pos = key.rfind(k)
                if pos == 0 or (pos > 0 and pos == len(key) - len(k)):
                    hidden.append((key, n.attrs.pop(key)))
                    break
        if n.op is not None:
            n.parsed = _parse_in_file(n, at, len(n.inputs), limit)[0]
        for key, value in hidden:
            placed = False
            for k in HIDDEN_KEYS:
                pos = key.rfind(k)
                if pos == 0 and len(k) == len(key):
                    n.attrs[f"__{k}__"] = value
                    placed = True
                    break
                if pos > 1 and pos == len(key) - len(k):
                    if n.op is not None:
                        names = n.input_names()
                        target = key[:pos - 1]
                        if target in names:
                            idx = names.index(target)
                            if idx < len(n.inputs) and n.inputs[idx][0].op is None:
                                n.inputs[idx][0].attrs[f"__{k}__"] = value
                                placed = True
                    break
            if not placed:
                n.attrs[key] = value
    for n in order:
        if n.op is not None:
            n.parsed = _parse_in_file(n, at, len(n.inputs), limit)[0]
    if version < 900:
        # Auxiliary states were not saved before 0.9: create them as MXNet did.
        for n in order:
            if n.op is None:
                continue
            names = n.input_names()
            for i in range(len(n.inputs), len(names)):
                vname = f"{n.name}_{names[i]}" if n.name else names[i]
                n.inputs.append((Node(None, vname, dict(n.attrs)), 0, 0))
    if version < 904:
        for n in order:
            if n.op is not None:
                set_input_var_attrs(n, n.input_names())
    if version < 905:
        for n in order:
            if n.op is not None and n.op.name in ("argmax", "argmin") \
                    and n.attrs.get("axis") == "-1":
                del n.attrs["axis"]
                n.parsed = _parse_in_file(n, at, len(n.inputs), limit)[0]
    for n in order:
        if n.op is None:
            continue
        want = len(n.input_names())
        if len(n.inputs) != want:
            raise MXNetError(f"{at}node {n.name!r}: operator {n.op.name} takes {want} inputs "
                             f"({', '.join(n.input_names())}), the file gives {len(n.inputs)}")


def to_json(heads: list[Entry], np_shape: bool = False, remove_amp_cast: bool = True,
            subgraph: bool = False) -> str:
    """MXNet's JSON text for the graph (``amp_cast`` nodes bypassed unless asked not to);
    ``subgraph``: a control-flow node's graph, written without graph attributes."""
    gc_was = gc.isenabled()
    gc.disable()
    try:
        order = topo_order(heads)
        index = {n: i for i, n in enumerate(order)}
        recs = _records(order, index, remove_amp_cast)
        if recs is None:
            heads = _without_amp_cast(heads)
            order = topo_order(heads)
            index = {n: i for i, n in enumerate(order)}
            recs = _records(order, index, False)
        gattrs: dict[str, tuple[str, Any]] = {
            "mxnet_version": ("int", symbol_json.MXNET_VERSION)}
        if np_shape:
            gattrs["is_np_shape"] = ("int", 1)
        if subgraph:
            gattrs = {}
        subs = {i: [to_json(sg, remove_amp_cast=remove_amp_cast, subgraph=True)
                    for sg in n.subgraphs]
                for i, n in enumerate(order) if n.subgraphs}
        return symbol_json.dumps(recs, [[index[e[0]], e[1], e[2]] for e in heads], gattrs,
                                 subs or None)
    finally:
        if gc_was:
            gc.enable()


def _records(order: list[Node], index: dict[Node, int], stop_at_amp: bool) -> list | None:
    """What :func:`symbol_json.dumps` needs per node; None if an amp_cast node is met."""
    recs = []
    append = recs.append
    n_out: dict[int, int] = {}  # by id of the (shared, memoised) parsed parameters
    for n in order:
        op = n.op
        if op is None:
            append(("null", n.name, n.attrs, "[]", None, 1))
            continue
        if stop_at_amp and op.name in AMP_CAST_OPS:
            return None
        k = n_out.get(id(n.parsed))
        if k is None:
            k = n_out[id(n.parsed)] = op.num_outputs(n.parsed)
        ins = n.inputs
        if len(ins) <= 10:  # the usual case, rendered here in one pass
            ins = "[" + ", ".join([f"[{index[a]}, {b}, {c}]" for a, b, c in ins]) + "]"
        else:
            ins = [[index[a], b, c] for a, b, c in ins]
        append((op.name, n.name, n.attrs, ins,
                [index[d] for d in n.deps] if n.deps else None, k))
    return recs


AMP_CAST_OPS = ("amp_cast", "amp_multicast")


def _without_amp_cast(heads: list[Entry]) -> list[Entry]:
    """A copy of the graph without ``amp_cast``/``amp_multicast`` nodes (MXNet's
    RemoveAmpCast, applied before saving by default)."""
    heads = copy_graph(heads)

    def skip(e: Entry) -> Entry:
        while e[0].op is not None and e[0].op.name in AMP_CAST_OPS:
            e = e[0].inputs[e[1]]
        return e

    for n in topo_order(heads):
        n.inputs = [skip(e) for e in n.inputs]
    return heads


# ----------------------------------------------------------------------------------------
# Shape and type inference (MXNet's InferShape / InferType passes).


def _wrap(node: Node, e: Exception) -> MXNetError:
    return MXNetError(f"Error in operator {node.name} ({node.op.name}): {e}")


def infer(heads: list[Entry], known: dict[Node, Any], kind: str
          ) -> tuple[dict[tuple[Node, int], Any], bool]:
    """Fill in shapes (``kind='shape'``) or dtypes (``'type'``) of every entry.

    ``known`` gives values for some variables; variables otherwise start from their
    ``__shape__`` / ``__dtype__`` attribute. Sweeps forward and backward through the graph
    until nothing changes. Returns the values by ``(node, output)`` and whether all are known.
    """
    order = topo_order(heads)
    is_shape = kind == "shape"
    if is_shape:
        merge, complete = registry.merge_shape, _shape_known
    else:
        merge, complete = registry.merge_dtype, _type_known
    val: dict[tuple[Node, int], Any] = {}
    ops: list[Node] = []
    n_out: dict[Node, int] = {}
    parsed: dict[Node, Any] = {}  # the attributes each operator infers with
    for n in order:
        if n.op is None:
            v = known.get(n)
            if v is None:
                v = _var_shape(n) if is_shape else _var_type(n)
            val[(n, 0)] = v
        else:
            ops.append(n)
            n_out[n] = n.num_outputs()
            for i in range(n_out[n]):
                val[(n, i)] = None
            parsed[n] = _inference_attrs(n) if is_shape else n.parsed
    pending = set(ops)
    seq = ops
    while pending:
        changed = False
        for n in seq:
            if n not in pending:
                continue
            ins = [val[(e[0], e[1])] for e in n.inputs]
            outs = [val[(n, i)] for i in range(n_out[n])]
            try:
                if is_shape:
                    new_ins, new_outs = n.op.shapes(parsed[n], ins, outs)
                else:
                    new_ins, new_outs = n.op.types(parsed[n], ins, outs)
            except MXNetError as e:
                raise _wrap(n, e) from None
            except (ValueError, TypeError, IndexError, KeyError, ZeroDivisionError,
                    AttributeError) as e:
                raise _wrap(n, e) from None
            # Entries this node reads, then those it writes; ``is None`` first below: numpy
            # compares a dtype equal to None (None means float64).
            keys = [(e[0], e[1]) for e in n.inputs] + [(n, i) for i in range(len(outs))]
            n_in = len(ins)
            for j, (key, old, new) in enumerate(zip(keys, ins + outs, [*new_ins, *new_outs])):
                if is_shape and new is not None and any(d < 0 for d in new):
                    # A creation operator's ``shape=(-1, -1)`` (or an operator passing one
                    # on) leaves those dims unknown, as MXNet's TShape does: inference fills
                    # them from the rest of the graph.
                    new = tuple(0 if d < 0 else d for d in new)
                if new is None or (old is not None and new == old):
                    continue
                try:
                    m = merge(old, new)
                except MXNetError:
                    what = f"input {key[0].name!r}" if j < n_in else f"output {j - n_in}"
                    raise _wrap(n, MXNetError(f"{kind} inconsistent for {what}: provided "
                                              f"{old}, inferred {new}")) from None
                if old is None or m != old:
                    val[key] = m
                    changed = True
                    if j < n_in and key[0].op is not None:
                        pending.add(key[0])
            if all(complete(val[k]) for k in keys):
                pending.discard(n)
        if not changed:
            break
        seq = seq[::-1]
    return val, all(complete(v) for v in val.values())


def _inference_attrs(n: Node) -> Any:
    """The attributes shape inference runs ``n`` with: a creation operator's (no inputs, a
    ``shape`` parameter) ``-1`` dims become mxlite's unknown dim ``0``, so that, as with
    MXNet's partial TShape, ``mx.sym.ones(shape=(-1, -1))`` takes them from its readers."""
    shape = n.parsed.get("shape") if n.parsed is not None and not n.inputs else None
    if not isinstance(shape, tuple) or not any(isinstance(d, int) and d < 0 for d in shape):
        return n.parsed
    fixed = tuple(0 if d < 0 else d for d in shape)
    return n.op.parse_attrs({**n.attrs, "shape": str(fixed)}, n.name)


def _shape_known(s: tuple | None) -> bool:
    return s is not None and 0 not in s


def _type_known(t: np.dtype | None) -> bool:
    return t is not None


def _var_shape(n: Node) -> tuple | None:
    s = n.attrs.get("__shape__")
    if s is None:
        return None
    try:
        shape = registry.Shape().parse(s)
    except (ValueError, TypeError) as e:
        raise MXNetError(f"variable {n.name!r}: cannot read __shape__ {s!r}: {e}") from None
    if shape is not None and any(d < 0 for d in shape):
        shape = tuple(0 if d < 0 else d for d in shape)  # numpy-semantics unknown dims
    return shape


def _var_type(n: Node) -> np.dtype | None:
    t = n.attrs.get("__dtype__")
    if t is None:
        return None
    try:
        flag = int(t)
    except ValueError:
        raise MXNetError(f"variable {n.name!r}: __dtype__ {t!r} is not a type flag") from None
    if flag == -1:
        return None
    if flag == 12:
        from ..formats.arrays import bfloat16_dtype

        return bfloat16_dtype()
    if flag not in FLAG_DTYPES:
        raise MXNetError(f"variable {n.name!r}: unknown type flag {flag} in __dtype__")
    return FLAG_DTYPES[flag]
