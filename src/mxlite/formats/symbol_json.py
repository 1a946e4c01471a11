"""Symbol JSON text <-> plain graph records, as MXNet 1.9.1 reads and writes it (pure).

The layout is that of dmlc's ``JSONWriter`` (FORMATS.md section 4): 2-space indentation, every
item separator ``", "`` followed by a newline, arrays of more than ten items and the node list
spread over lines, maps of more than one key spread over lines, keys of maps sorted, no final
newline. Strings escape only ``"``, ``\\``, newline, carriage return and tab; everything else is
written raw (UTF-8), which is why reading uses ``json.loads(strict=False)``.

This module knows nothing of operators: it checks the structure of the text and hands records
to :mod:`mxlite.symbol`, which resolves operators, upgrades old files and builds the graph.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, NamedTuple

from ..base import MXNetError

__all__ = ["MXNET_VERSION", "JsonNode", "JsonGraph", "decode", "parse", "parse_doc", "read_node",
           "node_dict", "dumps"]

MXNET_VERSION = 10901  # what MXNet 1.9.1 writes; files without it are 0.8.0 (800)

_NODE_KEYS = frozenset(("op", "name", "inputs", "attrs", "attr", "param", "control_deps",
                        "subgraphs", "backward_source_id"))
_GRAPH_KEYS = frozenset(("nodes", "arg_nodes", "heads", "node_row_ptr", "attrs"))


class JsonNode(NamedTuple):
    """One node as stored: ``op`` is ``"null"`` for a variable; inputs are ``[node, output,
    version]`` lists; ``attrs`` merges ``attrs``/``attr`` and ``param`` as MXNet's loader does."""

    op: str
    name: str
    attrs: dict[str, str]
    inputs: list[list[int]]
    control_deps: list[int]


class JsonGraph(NamedTuple):
    raw_nodes: list[Any]  # as json.loads gave them; :func:`read_node` checks and reads one
    arg_nodes: list[int]
    heads: list[list[int]]
    version: int  # mxnet_version, 800 when absent
    np_shape: bool  # saved under numpy shape semantics (attrs.is_np_shape = 1)


def _fail(where: str, msg: str) -> MXNetError:
    return MXNetError(f"{where}: {msg}" if where else msg)


def _entries(value: Any, what: str, n_nodes: int, where: str) -> list[list[int]]:
    """Check ``[[node, output(, version)], ...]``; 2-item entries get version 0."""
    if type(value) is not list:
        raise _fail(where, f"{what}: expected a list of [node, output, version], got "
                           f"{type(value).__name__}")
    out = value
    for k, e in enumerate(value):
        if (type(e) is not list or not 2 <= len(e) <= 3
                or any(type(x) is not int or x < 0 for x in e)):
            raise _fail(where, f"{what}[{k}]: expected [node, output, version] of non-negative "
                               f"integers, got {e!r}")
        if e[0] >= n_nodes:
            raise _fail(where, f"{what}[{k}] refers to node {e[0]} but there are only "
                               f"{n_nodes} nodes")
        if len(e) == 2:
            if out is value:
                out = list(value)
            out[k] = [e[0], e[1], 0]
    return out


def _str_map(value: Any, what: str, where: str) -> dict[str, str]:
    if type(value) is not dict:
        raise _fail(where, f"{what}: expected an object of strings, got {type(value).__name__}")
    for k, v in value.items():
        if type(v) is not str:
            raise _fail(where, f"{what}[{k!r}]: expected a string value, got {v!r}")
    return value


# Reading keeps memory near what the graph itself costs. json hands every object to
# :func:`_read_object` as soon as it is parsed, so the document never holds a dict per node:
# a node with ``op``, ``name``, ``inputs`` and perhaps ``attrs`` becomes the tuple
# ``(op, name, attrs or EMPTY, inputs)`` (json itself makes no tuples, so a tuple in the node
# list is such a record; :func:`node_dict` gives the object back), and every empty object
# is one shared dict, :data:`EMPTY` (readers never mutate the document: the graph copies
# what it keeps).
EMPTY: dict = {}


def _read_object(d: dict) -> Any:
    if "inputs" in d:
        n = len(d)
        try:
            if n == 3:
                return (d["op"], d["name"], EMPTY, d["inputs"])
            if n == 4:
                return (d["op"], d["name"], d["attrs"], d["inputs"])
        except KeyError:
            pass
        return d
    return d if d else EMPTY


# strict=False: MXNet's writer leaves control characters in strings raw
DECODER = json.JSONDecoder(strict=False, object_hook=_read_object)


def node_dict(nd: Any) -> Any:
    """A node of :attr:`JsonGraph.raw_nodes` as the JSON object it was (records made by
    :func:`_read_object` are tuples); anything else unchanged."""
    if type(nd) is not tuple:
        return nd
    op, name, attrs, ins = nd
    if attrs is EMPTY:
        return {"op": op, "name": name, "inputs": ins}
    return {"op": op, "name": name, "attrs": attrs, "inputs": ins}


def decode(data: Any, where: str = "") -> Any:
    """The text of a file's bytes, as :func:`json.loads` decodes bytes (UTF-8, or UTF-16/32
    by their first bytes; a UTF-8 byte-order mark dropped); anything else unchanged, for
    :func:`parse` to refuse."""
    if not isinstance(data, (bytes, bytearray)):
        return data
    try:
        return data.decode(json.detect_encoding(data), "surrogatepass")
    except UnicodeDecodeError as e:
        raise _fail(where, f"not valid JSON: {e}") from None


def parse(text: str | bytes, where: str = "") -> JsonGraph:
    """Parse a symbol JSON document and check its top level (nodes: :func:`read_node`).

    ``where`` (a file name, say) prefixes every error message. Raises MXNetError for text
    that is not JSON, a missing or unknown field or a value of the wrong type.
    """
    try:
        # as json.loads reads text and bytes (one decoder, made once)
        if isinstance(text, str):
            if text.startswith("\ufeff"):
                raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)",
                                           text, 0)
        elif isinstance(text, (bytes, bytearray)):
            text = text.decode(json.detect_encoding(text), "surrogatepass")
        else:
            raise TypeError(f"the JSON object must be str, bytes or bytearray, not "
                            f"{text.__class__.__name__}")
        doc = DECODER.decode(text)
    except json.JSONDecodeError as e:
        raise _fail(where, f"not valid JSON: {e.msg} at line {e.lineno} column {e.colno} "
                           f"(char {e.pos})") from None
    except (UnicodeDecodeError, TypeError, ValueError) as e:
        raise _fail(where, f"not valid JSON: {e}") from None
    except RecursionError:
        raise _fail(where, "not a symbol graph: JSON nested deeper than Python's parser "
                           "follows (a symbol file nests 5 levels)") from None
    return parse_doc(doc, where)


def parse_doc(doc: Any, where: str = "", version: int = 800) -> JsonGraph:
    """:func:`parse` on a document already read: a whole file, or a control-flow node's
    subgraph, which carries no ``mxnet_version`` of its own (``version`` is then its
    file's)."""
    doc = node_dict(doc)
    if type(doc) is not dict:
        raise _fail(where, f"a symbol file holds a JSON object, got {type(doc).__name__}")
    for key in ("nodes", "arg_nodes", "heads"):
        if key not in doc:
            raise _fail(where, f"required field {key!r} is missing")
    if not _GRAPH_KEYS.issuperset(doc):
        extra = sorted(set(doc) - _GRAPH_KEYS)
        raise _fail(where, f"unknown field {extra[0]!r} (expected {sorted(_GRAPH_KEYS)})")
    raw_nodes = doc["nodes"]
    if type(raw_nodes) is not list:
        raise _fail(where, f"'nodes': expected a list, got {type(raw_nodes).__name__}")
    n_nodes = len(raw_nodes)
    arg_nodes = doc["arg_nodes"]
    if type(arg_nodes) is not list or (arg_nodes and not (  # ints (not bools) in range
            set(map(type, arg_nodes)) == {int} and min(arg_nodes) >= 0
            and max(arg_nodes) < n_nodes)):
        raise _fail(where, f"'arg_nodes' must list node ids below {n_nodes}, got {arg_nodes!r}")
    heads = _entries(doc["heads"], "heads", n_nodes, where)
    if not heads:
        raise _fail(where, "'heads' is empty: a symbol has at least one output")
    gattrs = doc.get("attrs", {})
    if type(gattrs) is not dict:
        raise _fail(where, f"'attrs': expected an object, got {type(gattrs).__name__}")
    if "mxnet_version" in gattrs:
        v = gattrs["mxnet_version"]
        if type(v) is not list or len(v) != 2 or v[0] != "int" or type(v[1]) is not int:
            raise _fail(where, f"'attrs.mxnet_version' must be [\"int\", <version>], got {v!r}")
        version = v[1]
    np_shape = gattrs.get("is_np_shape", ["int", 0])
    return JsonGraph(raw_nodes, arg_nodes, heads, version,
                     type(np_shape) is list and np_shape[1:] == [1])


def read_node(nd: Any, i: int, n_nodes: int, where: str) -> JsonNode:
    """Any node: every field checked, old spellings (``param``, ``attr``) merged.

    Raises MXNetError naming the node for a missing or unknown field, a value of the wrong
    type, or an input that refers to a node that does not exist.
    """
    nd = node_dict(nd)
    try:
        if type(nd) is not dict:
            raise TypeError(f"expected an object, got {type(nd).__name__}")
        op = nd["op"]
        name = nd["name"]
        inputs = nd["inputs"]
    except (KeyError, TypeError) as e:
        what = f"required field {e} is missing" if isinstance(e, KeyError) else str(e)
        raise _fail(where, f"node {i}: {what}") from None
    if type(op) is not str or type(name) is not str:
        raise _fail(where, f"node {i}: 'op' and 'name' must be strings, got {op!r}, {name!r}")
    at = f"node {i} ({name!r})"
    if not _NODE_KEYS.issuperset(nd):
        extra = sorted(set(nd) - _NODE_KEYS)
        raise _fail(where, f"{at}: unknown field {extra[0]!r}")
    inputs = _entries(inputs, f"{at} inputs", n_nodes, where)
    subgraphs = nd.get("subgraphs", [])
    if type(subgraphs) is not list or any(type(g) not in (dict, tuple) for g in subgraphs):
        raise _fail(where, f"{at}: 'subgraphs' must be a list of graph objects")
    # MXNet reads "attrs" and "attr" into one map, the later in the file replacing the other,
    # and "param" (pre-0.9) fills in the keys they do not have.
    attrs: dict[str, str] = {}
    for key in nd:
        if key in ("attrs", "attr"):
            attrs = dict(_str_map(nd[key], f"{at} {key}", where))
    if "param" in nd:
        for k, v in _str_map(nd["param"], f"{at} param", where).items():
            attrs.setdefault(k, v)
    if "backward_source_id" in nd and type(nd["backward_source_id"]) is not int:
        raise _fail(where, f"{at}: 'backward_source_id' must be an integer")
    deps = nd.get("control_deps", [])
    if type(deps) is not list or any(type(d) is not int or not 0 <= d < n_nodes for d in deps):
        raise _fail(where, f"{at}: 'control_deps' must list node ids below {n_nodes}, got "
                           f"{deps!r}")
    return JsonNode(op, name, attrs, inputs, deps)


# ----------------------------------------------------------------------------------------
# Writing.

_NEEDS_ESCAPE = re.compile(r'["\\\n\r\t]')
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _q(s: str) -> str:
    """A JSON string as dmlc writes it."""
    if _NEEDS_ESCAPE.search(s) is None:
        return f'"{s}"'
    return '"' + _NEEDS_ESCAPE.sub(lambda m: _ESCAPES[m.group()], s) + '"'


def _array(items: Sequence[Any], indent: str) -> str:
    """An array of numbers or entries: one line up to ten items, else one item per line."""
    if len(items) <= 10:
        return repr(items)
    inner = indent + "  "
    return "[\n" + inner + (", \n" + inner).join(map(repr, items)) + "\n" + indent + "]"


def _object(pairs: dict[str, str], indent: str) -> str:
    items = sorted(pairs.items())
    if len(items) == 1:
        k, v = items[0]
        return "{" + _q(k) + ": " + _q(v) + "}"
    inner = ", \n" + indent + "  "
    return ("{\n" + indent + "  " + inner.join([_q(k) + ": " + _q(v) for k, v in items])
            + "\n" + indent + "}")


def dumps(records: Sequence[tuple[str, str, dict[str, str], list[list[int]], list[int] | None,
                                  int]],
          heads: list[list[int]], graph_attrs: dict[str, tuple[str, Any]],
          subgraphs: dict[int, list[str]] | None = None) -> str:
    """The text MXNet writes for a graph.

    ``records`` are ``(op, name, attrs, inputs, control_deps, num_outputs)`` in topological
    order, ``op`` ``"null"`` for variables and inputs ``[node, output, version]`` lists (or,
    for ten entries or fewer, their one-line text ``"[[0, 0, 0], [1, 0, 0]]"``);
    ``graph_attrs`` maps a name to ``(type, value)`` (``{"mxnet_version": ("int", 10901)}``;
    empty for a subgraph, which MXNet writes without ``attrs``). ``subgraphs`` maps a record's
    index to the texts (this function's, for the subgraph alone) of its node's subgraphs.
    """
    parts = []
    append = parts.append
    arg_nodes = []
    row_ptr = [0]
    total = 0
    op_text: dict[str, str] = {}
    attrs_text: dict[tuple, str] = {}  # graphs repeat parameter sets: render each once
    # Names rarely need escaping: check them all in one pass, then quote in the templates.
    if _NEEDS_ESCAPE.search("".join([r[1] for r in records])):
        records = [(r[0], _q(r[1])[1:-1], *r[2:]) for r in records]
    var_text = '    {\n      "op": "null", \n      "name": "%s", \n      "inputs": []\n    }'
    node_text = '%s"%s"%s, \n      "inputs": %s\n    }'
    for i, (op, name, attrs, inputs, deps, n_out) in enumerate(records):
        total += n_out
        row_ptr.append(total)
        if op == "null":
            arg_nodes.append(i)
            if not attrs:
                append(var_text % name)
                continue
        qop = op_text.get(op)
        if qop is None:
            qop = op_text[op] = '    {\n      "op": ' + _q(op) + ', \n      "name": '
        if attrs:
            key = tuple(attrs.items())
            at = attrs_text.get(key)
            if at is None:
                at = attrs_text[key] = ', \n      "attrs": ' + _object(attrs, "      ")
        else:
            at = ""
        subs = subgraphs.get(i) if subgraphs else None
        if type(inputs) is str:  # already the one-line text
            if not deps and not subs:
                append(node_text % (qop, name, at, inputs))
                continue
            ins = inputs
        else:
            ins = repr(inputs) if len(inputs) <= 10 else _array(inputs, "      ")
        if deps:
            ins += ', \n      "control_deps": ' + _array(deps, "      ")
        if subs:
            # A subgraph is a graph nested four levels deep: its text, indented 8 more.
            ins += (', \n      "subgraphs": [\n        '
                    + ", \n        ".join(t.replace("\n", "\n        ") for t in subs)
                    + "\n      ]")
        append(f'{qop}"{name}"{at}, \n      "inputs": {ins}\n    }}')
    gattrs = {k: "[" + _q(t) + ", " + (_q(v) if isinstance(v, str) else repr(v)) + "]"
              for k, (t, v) in graph_attrs.items()}
    if not gattrs:
        gtext = ""
    elif len(gattrs) == 1:
        ((k, v),) = gattrs.items()
        gtext = "{" + _q(k) + ": " + v + "}"
    else:
        gtext = ("{\n    " + ", \n    ".join(_q(k) + ": " + v for k, v in sorted(
            gattrs.items())) + "\n  }")
    return ('{\n  "nodes": [\n' + ", \n".join(parts) + '\n  ], \n  "arg_nodes": '
            + _array(arg_nodes, "  ") + ', \n  "node_row_ptr": ' + _array(row_ptr, "  ")
            + ', \n  "heads": ' + _array(heads, "  ")
            + (', \n  "attrs": ' + gtext if gtext else "") + "\n}")
