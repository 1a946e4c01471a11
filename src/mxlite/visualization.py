"""``mx.viz``: a layer table of a Symbol (``print_summary``) and a Graphviz drawing of it
(``plot_network``), with MXNet 1.9.1's layout, numbers and colours.

MXNet's own table has known quirks that scripts and notebooks have printed for years, and
``print_summary`` keeps them so its output reads the same: a layer's parameter count is
worked out from the channel count (dim 1) of its inputs only, so a FullyConnected after a
4-D input counts ``C`` inputs, not ``C*H*W``; only the first variable (usually ``data``) is
listed; a multi-output layer shows no shape. :func:`summary_rows` gives the exact figures
(every parameter array, every output) for ``mxlite summary``.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .base import MXNetError
from .symbol.symbol import Symbol

__all__ = ["print_summary", "plot_network", "summary_rows"]

_COLORS = ("#8dd3c7", "#fb8072", "#ffffb3", "#bebada", "#80b1d3", "#fdb462", "#b3de69",
           "#fccde5")
_WEIGHT_SUFFIXES = ("_weight", "_bias", "_beta", "_gamma", "_moving_var", "_moving_mean",
                    "_running_var", "_running_mean")


def _digits(text: str) -> list[str]:
    return re.findall(r"\d+", text)


def _internal_shapes(symbol: Symbol, shape: Mapping[str, Sequence[int]]) -> dict[str, tuple]:
    internals = symbol.get_internals()
    _, out_shapes, _ = internals.infer_shape(**shape)
    if out_shapes is None:
        raise MXNetError(f"Input shape is incomplete: {dict(shape)} does not determine every "
                         "output")
    return dict(zip(internals.list_outputs(), out_shapes))


def _output_key(node: dict) -> str:
    """The ``list_outputs`` name MXNet's drawing looks up for a node's output (the last one
    of a multi-output node)."""
    if node["op"] == "null":
        return node["name"]
    key = node["name"] + "_output"
    n = node.get("attrs", {}).get("num_outputs")
    return key + str(int(n) - 1) if n is not None else key


def _row(fields: Sequence[Any], positions: Sequence[int]) -> str:
    line = ""
    for field, stop in zip(fields, positions):
        line = (line + str(field))[:stop]
        line += " " * (stop - len(line))
    return line


def print_summary(symbol: Symbol, shape: Mapping[str, Sequence[int]] | None = None,
                  line_length: int = 120,
                  positions: Sequence[float] = (.44, .64, .74, 1.)) -> None:
    """Print a table of the layers of ``symbol``: name (op), output shape without the batch
    axis, parameter count and the layers feeding it, then the total, as MXNet does.

    Parameters
    ----------
    symbol : Symbol
        The network.
    shape : dict of str to tuple, optional
        Input shapes; without them no shapes or BatchNorm parameters are shown.
    line_length : int
        Width of the table.
    positions : list of float or int
        Where each of the four columns ends, as fractions of ``line_length`` (all <= 1) or
        as character positions.
    """
    if not isinstance(symbol, Symbol):
        raise TypeError("symbol must be Symbol")
    shapes = _internal_shapes(symbol, shape) if shape is not None else None
    conf = json.loads(symbol.tojson())
    nodes = conf["nodes"]
    # MXNet tests membership in the first head entry, [node, index, version], as a set.
    heads = set(conf["heads"][0])
    stops = [int(line_length * p) for p in positions] if positions[-1] <= 1 else \
        [int(p) for p in positions]

    def out_shape(node: dict) -> list:
        key = node["name"] if node["op"] == "null" else node["name"] + "_output"
        return list(shapes[key][1:]) if shapes is not None and key in shapes else []

    def layer(node: dict) -> int:
        op, attrs = node["op"], node.get("attrs", {})
        previous, channels = [], 0
        if op != "null":
            for item in node["inputs"]:
                src = nodes[item[0]]
                if src["op"] != "null" or item[0] in heads:
                    previous.append(src["name"])
                    prev_shape = out_shape(src)
                    if prev_shape:
                        channels += int(prev_shape[0])
        params = 0
        if op == "Convolution":
            params = channels * int(attrs["num_filter"]) // int(attrs.get("num_group", "1"))
            for k in _digits(attrs["kernel"]):
                params *= int(k)
            if attrs.get("no_bias") != "True":
                params += int(attrs["num_filter"])
        elif op == "FullyConnected":
            bias = 0 if attrs.get("no_bias") == "True" else 1
            params = (channels + bias) * int(attrs["num_hidden"])
        elif op == "BatchNorm" and shapes is not None:
            params = int(shapes[node["name"] + "_output"][1]) * 2
        elif op == "Embedding":
            params = int(attrs["input_dim"]) * int(attrs["output_dim"])
        print(_row([f"{node['name']}({op})", "x".join(map(str, out_shape(node))), params,
                    previous[0] if previous else ""], stops))
        for name in previous[1:]:
            print(_row(["", "", "", name], stops))
        return params

    print("_" * line_length)
    print(_row(["Layer (type)", "Output Shape", "Param #", "Previous Layer"], stops))
    print("=" * line_length)
    total = 0
    for i, node in enumerate(nodes):
        if node["op"] == "null" and i > 0:
            continue
        total += layer(node)
        print(("=" if i == len(nodes) - 1 else "_") * line_length)
    print(f"Total params: {total}")
    print("_" * line_length)


def plot_network(symbol: Symbol, title: str = "plot", save_format: str = "pdf",
                 shape: Mapping[str, Sequence[int]] | None = None,
                 dtype: Mapping[str, Any] | None = None,
                 node_attrs: Mapping[str, str] | None = None, hide_weights: bool = True):
    """Draw ``symbol`` as a ``graphviz.Digraph`` (MXNet's node shapes, colours and labels).

    ``shape`` / ``dtype`` (input name to shape / type) label each edge with the tensor's
    shape / type. ``hide_weights`` leaves out the ``*_weight``, ``*_bias``, ... inputs.
    Rendering the result (``.render()``, ``.view()``) needs the Graphviz programs (``dot``)
    besides the ``graphviz`` Python package (``pip install 'mxlite[viz]'``).
    """
    try:
        from graphviz import Digraph
    except ImportError as e:
        raise ImportError("plot_network needs the graphviz package: "
                          "pip install 'mxlite[viz]'") from e
    if not isinstance(symbol, Symbol):
        raise TypeError("symbol must be a Symbol")
    shapes = _internal_shapes(symbol, shape) if shape is not None else None
    types = None
    if dtype is not None:
        internals = symbol.get_internals()
        _, out_types, _ = internals.infer_type(**dtype)
        if out_types is None:
            raise MXNetError(f"Input type is incomplete: {dict(dtype)}")
        types = dict(zip(internals.list_outputs(), out_types))
    nodes = json.loads(symbol.tojson())["nodes"]
    names = [n["name"] for n in nodes]
    if len(names) != len(set(names)):
        repeated = sorted({n for n in names if names.count(n) > 1})
        warnings.warn("There are multiple variables with the same name in your graph, this "
                      "may result in cyclic graph. Repeated names: " + ",".join(repeated),
                      RuntimeWarning, stacklevel=2)
    base = {"shape": "box", "fixedsize": "true", "width": "1.3", "height": "0.8034",
            "style": "filled", **(node_attrs or {})}
    dot = Digraph(name=title, format=save_format)
    hidden = set()
    for node in nodes:
        op, name, attrs = node["op"], node["name"], node.get("attrs", {})
        if op == "null" and name.endswith(_WEIGHT_SUFFIXES):
            if hide_weights:
                hidden.add(name)
            continue  # not drawn; shown as a bare oval by its edge when not hidden
        label, color, style = _node_look(op, name, attrs)
        dot.node(name=name, label=label, **{**base, **style, "fillcolor": color})
    for node in nodes:
        if node["op"] == "null":
            continue
        inputs = node["inputs"][:1] if node["op"] == "_contrib_BilinearResize2D" \
            else node["inputs"]
        for item in inputs:
            src = nodes[item[0]]
            if src["name"] in hidden:
                continue
            label = ""
            if shapes is not None:
                label = "x".join(map(str, shapes[_output_key(src)][1:]))
            if types is not None:
                label += f"({np.dtype(types[_output_key(src)]).name})"
            dot.edge(tail_name=node["name"], head_name=src["name"], label=label, dir="back",
                     arrowtail="open")
    return dot


def _node_look(op: str, name: str, attrs: Mapping[str, str]) -> tuple[str, str, dict]:
    """Label, fill colour and extra attributes of a node, by operator, as MXNet draws it."""
    def xs(key: str, default: str) -> str:
        return "x".join(_digits(attrs[key])) if key in attrs else default

    if op == "null":
        return name, _COLORS[0], {"shape": "oval"}
    if op == "Convolution":
        return (f"Convolution\n{xs('kernel', '')}/{xs('stride', '1')}, {attrs['num_filter']}",
                _COLORS[1], {})
    if op == "FullyConnected":
        return f"FullyConnected\n{attrs['num_hidden']}", _COLORS[1], {}
    if op == "BatchNorm":
        return name, _COLORS[3], {}
    if op == "Activation":
        return f"Activation\n{attrs['act_type']}", _COLORS[2], {}
    if op == "LeakyReLU":
        return f"LeakyReLU\n{attrs.get('act_type', 'Leaky')}", _COLORS[2], {}
    if op == "Pooling":
        return (f"Pooling\n{attrs['pool_type']}, {xs('kernel', '[]')}/{xs('stride', '1')}",
                _COLORS[4], {})
    if op in ("Concat", "Flatten", "Reshape"):
        return name, _COLORS[5], {}
    if op == "Softmax":
        return name, _COLORS[6], {}
    return (attrs["op_type"] if op == "Custom" else name), _COLORS[7], {}


def summary_rows(symbol: Symbol, shape: Mapping[str, Sequence[int]]) -> list[dict]:
    """One row per operator node: ``name``, ``op``, ``outputs`` (full shapes, batch axis
    included), ``params`` (elements of its parameter and auxiliary inputs, every variable
    but the given inputs) and ``flops``: 2 x multiply-adds for Convolution, Deconvolution and
    FullyConnected, one per output element for every other operator.
    """
    internals = symbol.get_internals()
    arg_shapes, out_shapes, aux_shapes = internals.infer_shape(**shape)
    if out_shapes is None:
        raise MXNetError(f"Input shape is incomplete: {dict(shape)}")
    shape_of = dict(zip(internals.list_arguments(), arg_shapes))
    shape_of.update(zip(internals.list_auxiliary_states(), aux_shapes))
    shape_of.update(zip(internals.list_outputs(), out_shapes))
    nodes = json.loads(symbol.tojson())["nodes"]
    outputs_of: dict[str, list] = {}
    for name, s in zip(internals.list_outputs(), out_shapes):
        owner = re.sub(r"_output\d*$", "", name)
        outputs_of.setdefault(owner, []).append(s)
    rows = []
    for node in nodes:
        if node["op"] == "null":
            continue
        srcs = [nodes[item[0]] for item in node["inputs"]]
        weights = [shape_of[n["name"]] for n in srcs[1:]
                   if n["op"] == "null" and n["name"] not in shape]
        outs = outputs_of.get(node["name"], [])
        out_elems = sum(int(np.prod(s)) for s in outs)
        op = node["op"]
        if op in ("Convolution", "FullyConnected") and weights:
            flops = 2 * out_elems * int(np.prod(weights[0][1:]))
        elif op == "Deconvolution" and weights:
            data = srcs[0]
            key = data["name"] if data["op"] == "null" else _output_key(data)
            flops = 2 * int(np.prod(shape_of[key])) * int(np.prod(weights[0][1:]))
        else:
            flops = out_elems
        rows.append({"name": node["name"], "op": op, "outputs": outs,
                     "params": sum(int(np.prod(s)) for s in weights), "flops": flops})
    return rows
