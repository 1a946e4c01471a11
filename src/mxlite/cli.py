"""The ``mxlite`` command line: ``inspect``, ``verify``, ``demo``, ``summary``, ``diff``,
``graph``, ``convert`` and ``--version``.

Each subcommand is a ``_cmd_*`` function registered in :func:`build_parser`. Files may be local
paths or fsspec URIs; ``-o KEY=VALUE`` passes storage options (``-o endpoint_url=http://...``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Sequence

import numpy as np

from .base import MXNetError

__all__ = ["main", "build_parser", "inspect_lines"]


def _ctx_str(ctx: tuple[int, int]) -> str:
    from .formats.arrays import DEV_TYPES

    return f"{DEV_TYPES.get(ctx[0], ctx[0])}({ctx[1]})"


def inspect_lines(path: str, storage_options: dict | None = None) -> list[str]:
    """One line per array in an NDArray file (name or index, shape, dtype, storage, context,
    bytes) and a total line. Only the headers are read (ranged reads on remote storage)."""
    from . import storage
    from .formats.arrays import scan_list

    with storage.open_ranged(path, storage_options) as f:
        index = scan_list(f, path)
    records, names = index.records, index.names
    labels = names if names else [str(i) for i in range(len(records))]
    width = max((len(s) for s in labels), default=0)
    lines = []
    for label, rec in zip(labels, records):
        shape = "none" if rec.shape is None else str(rec.shape)
        lines.append(f"{label:<{width}}  shape={shape}  dtype={rec.dtype.name}  "
                     f"stype={rec.stype}  ctx={_ctx_str(rec.ctx)}  bytes={rec.nbytes}")
    total = sum(r.nbytes for r in records)
    kind = "dict" if names else "list"
    lines.append(f"total: {len(records)} arrays ({kind}), {total} bytes of array data")
    return lines


def _storage_options(pairs: list[str] | None) -> dict | None:
    """``KEY=VALUE`` pairs as a dict; a VALUE that parses as JSON (numbers, true, {...}) is
    taken as that, anything else as a string."""
    if not pairs:
        return None
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise MXNetError(f"storage option {pair!r}: expected KEY=VALUE")
        try:
            out[key] = json.loads(value)
        except ValueError:
            out[key] = value
    return out


def _cmd_inspect(args: argparse.Namespace) -> int:
    for line in inspect_lines(args.file, _storage_options(args.storage_option)):
        print(line)
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    from .model import verify

    options = _storage_options(args.storage_option)
    bad = 0
    for path in args.paths:
        problems = verify(path, options)
        if problems:
            bad += 1
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            first = problems[0]
            # problems already name the file; don't print it twice
            line = first if first.startswith(path) else f"{path}: {first}"
            print(f"BAD {line}{more}")
        elif not args.quiet:
            print(f"ok  {path}")
        for tmp in _stale(path, options):
            # left by a save that died; not a flaw of PATH itself, so the exit code stays
            print(f"TMP {tmp}: stale temporary file of an interrupted save of {path} (the next "
                  "save removes it)")
    return 1 if bad else 0


def _stale(path: str, options: dict | None) -> list[str]:
    from .storage import stale_temp_files

    try:
        return stale_temp_files(path, options)
    except MXNetError:
        return []


def _cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    if args.dir:
        run_demo(args.dir)
    else:
        with tempfile.TemporaryDirectory(prefix="mxlite-demo-") as d:
            print(f"working in {d}")
            run_demo(d)
    return 0


def _shapes(pairs: list[str] | None) -> dict[str, tuple[int, ...]]:
    """``NAME=D0,D1,...`` pairs as input shapes."""
    out = {}
    for pair in pairs or ():
        name, sep, dims = pair.partition("=")
        try:
            shape = tuple(int(d) for d in dims.replace("x", ",").split(",") if d.strip())
        except ValueError:
            shape = ()
        if not sep or not name or not shape or min(shape) < 0:
            raise MXNetError(f"--shape {pair!r}: expected NAME=D0,D1,... with non-negative "
                             "integer dims (data=1,3,224,224)")
        out[name] = shape
    return out


def _load_symbol(path: str):
    from . import symbol

    return symbol.load(path)


def _human(n: float) -> str:
    for unit in ("", "K", "M", "G", "T"):
        if abs(n) < 1000 or unit == "T":
            return f"{n:.0f}" if unit == "" else f"{n:.2f}{unit}"
        n /= 1000
    return str(n)


def _cmd_summary(args: argparse.Namespace) -> int:
    from . import visualization

    sym = _load_symbol(args.model)
    shapes = _shapes(args.shape)
    if args.mxnet:
        visualization.print_summary(sym, shape=shapes or None, line_length=args.width)
        return 0
    if not shapes:
        raise MXNetError("summary needs the input shapes: --shape data=1,3,224,224")
    rows = visualization.summary_rows(sym, shapes)
    w = args.width
    stops = [int(w * p) for p in (.40, .62, .74, .86, 1.0)]
    fmt = visualization._row
    print("_" * w)
    print(fmt(["Layer (type)", "Output Shape", "Param #", "FLOPs", "Inputs"], stops))
    print("=" * w)
    nodes = json.loads(sym.tojson())["nodes"]
    by_name = {n["name"]: n for n in nodes}
    for r in rows:
        shape = " ".join("x".join(map(str, s)) for s in r["outputs"])
        ins = [nodes[i[0]]["name"] for i in by_name[r["name"]]["inputs"]
               if nodes[i[0]]["op"] != "null" or nodes[i[0]]["name"] in shapes]
        print(fmt([f"{r['name']}({r['op']})", shape, r["params"], _human(r["flops"]),
                   ins[0] if ins else ""], stops))
        for extra in ins[1:]:
            print(fmt(["", "", "", "", extra], stops))
    params = sum(r["params"] for r in rows)
    flops = sum(r["flops"] for r in rows)
    print("=" * w)
    print(f"Layers: {len(rows)}   Params: {params:,} ({_human(params)}, "
          f"{params * 4 / 2**20:.2f} MiB as float32)   FLOPs: {_human(flops)} "
          f"for {', '.join(f'{k}={v}' for k, v in shapes.items())}")
    return 0


def _array_file(path: str) -> bool:
    from .convert import format_of

    try:
        return format_of(path) not in ("symbol", "onnx")
    except MXNetError:
        return False


def _diff_arrays(a: str, b: str, rtol: float, atol: float) -> list[str]:
    from .convert import load_arrays

    sa, sb = load_arrays(a), load_arrays(b)

    def named(s):
        labels = s.names if s.names is not None else [str(i) for i in range(len(s.records))]
        return dict(zip(labels, s.records))

    ra, rb = named(sa), named(sb)
    out = [f"only in {a}: {k}" for k in ra if k not in rb]
    out += [f"only in {b}: {k}" for k in rb if k not in ra]
    for k in (k for k in ra if k in rb):
        x, y = ra[k], rb[k]
        if (x.stype, x.shape, x.dtype) != (y.stype, y.shape, y.dtype):
            out.append(f"{k}: {x.stype} {x.shape} {x.dtype} vs {y.stype} {y.shape} {y.dtype}")
            continue
        if x.shape is None:
            continue
        if x.stype != "default":
            same = np.array_equal(x.data, y.data) and all(
                np.array_equal(p, q) for p, q in zip(x.aux, y.aux))
            if not same:
                out.append(f"{k}: {x.stype} contents differ")
            continue
        if np.array_equal(x.data, y.data, equal_nan=x.dtype.kind == "f"):
            continue
        xd, yd = x.data.astype(np.float64), y.data.astype(np.float64)
        diff = np.abs(xd - yd)
        rel = diff / np.maximum(np.abs(yd), np.finfo(np.float64).tiny)
        if np.all(diff <= atol + rtol * np.abs(yd)):
            continue
        worst = tuple(int(i) for i in np.unravel_index(int(np.nanargmax(diff)), diff.shape))
        out.append(f"{k}: values differ in {int(np.count_nonzero(diff > atol + rtol * np.abs(yd)))}"
                   f" of {diff.size}; max abs {np.nanmax(diff):.6g} at {worst}, max rel "
                   f"{np.nanmax(rel):.6g}")
    return out


def _diff_graphs(a: str, b: str) -> list[str]:
    na = json.loads(_load_symbol(a).tojson())["nodes"]
    nb = json.loads(_load_symbol(b).tojson())["nodes"]
    ia = {n["name"]: n for n in na}
    ib = {n["name"]: n for n in nb}
    out = [f"only in {a}: node {k} ({ia[k]['op']})" for k in ia if k not in ib]
    out += [f"only in {b}: node {k} ({ib[k]['op']})" for k in ib if k not in ia]

    def inputs(nodes, n):
        return [nodes[i[0]]["name"] + (f"[{i[1]}]" if i[1] else "") for i in n["inputs"]]

    for k in (k for k in ia if k in ib):
        x, y = ia[k], ib[k]
        if x["op"] != y["op"]:
            out.append(f"node {k}: op {x['op']} vs {y['op']}")
            continue
        ax, ay = x.get("attrs", {}), y.get("attrs", {})
        for key in sorted(set(ax) | set(ay)):
            if ax.get(key) != ay.get(key):
                out.append(f"node {k}: attr {key} = {ax.get(key)!r} vs {ay.get(key)!r}")
        if inputs(na, x) != inputs(nb, y):
            out.append(f"node {k}: inputs {inputs(na, x)} vs {inputs(nb, y)}")
    return out


def _cmd_diff(args: argparse.Namespace) -> int:
    if _array_file(args.a) and _array_file(args.b):
        lines = _diff_arrays(args.a, args.b, args.rtol, args.atol)
    elif not _array_file(args.a) and not _array_file(args.b):
        lines = _diff_graphs(args.a, args.b)
    else:
        raise MXNetError(f"cannot compare an array file with a graph: {args.a}, {args.b}")
    for line in lines:
        print(line)
    if not lines and not args.quiet:
        print("same")
    return 1 if lines else 0


def _cmd_graph(args: argparse.Namespace) -> int:
    from . import visualization

    sym = _load_symbol(args.model)
    shapes = _shapes(args.shape)
    out = args.output
    stem, ext = os.path.splitext(out)
    fmt = ext.lstrip(".").lower() or "svg"
    dot = visualization.plot_network(sym, title=args.title or os.path.basename(stem),
                                     save_format=fmt, shape=shapes or None,
                                     hide_weights=not args.show_weights)
    if fmt in ("dot", "gv"):
        from . import storage

        storage.write_text_atomic(out, dot.source)
        return 0
    import graphviz

    try:
        dot.render(filename=stem, format=fmt, cleanup=True)
    except graphviz.ExecutableNotFound:
        raise MXNetError("rendering needs the Graphviz programs (dot), which are not "
                         "installed: apt-get install graphviz / brew install graphviz; or "
                         "write the DOT source with -o NAME.dot") from None
    except (graphviz.CalledProcessError, ValueError) as e:
        raise MXNetError(f"Graphviz could not render {out}: {e}") from None
    return 0


def _cmd_convert(args: argparse.Namespace) -> int:
    from .convert import convert

    convert(args.src, args.dst, src_format=args.src_format, dst_format=args.dst_format,
            params=args.params, shapes=_shapes(args.shape) or None,
            opset_version=args.opset, storage_options=_storage_options(args.storage_option))
    return 0


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(prog="mxlite", description="MXNet files and API on numpy")
    parser.add_argument("--version", action="version", version=f"mxlite {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("inspect", help="list the arrays in an NDArray file (.params, .ndarray)")
    p.add_argument("file")
    p.add_argument("-o", "--storage-option", action="append", metavar="KEY=VALUE",
                   help="fsspec storage option for URIs (repeatable)")
    p.set_defaults(func=_cmd_inspect)
    p = sub.add_parser("verify", help="check the structure of array files, symbol JSON and "
                       "states pickles, and list temporary files interrupted saves left "
                       "beside them; exit 1 if any is bad")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("-q", "--quiet", action="store_true", help="print only the bad files")
    p.add_argument("-o", "--storage-option", action="append", metavar="KEY=VALUE",
                   help="fsspec storage option for URIs (repeatable)")
    p.set_defaults(func=_cmd_verify)
    p = sub.add_parser("demo", help="run the seed workflow (symbols, arrays, pickles, fit, "
                                    "checkpoints) and say what it did")
    p.add_argument("--dir", help="folder to write in (default: a temporary folder)")
    p.set_defaults(func=_cmd_demo)
    p = sub.add_parser("summary", help="layers, output shapes, parameter counts and FLOPs of "
                                       "a symbol JSON file, with totals")
    p.add_argument("model", metavar="MODEL-symbol.json")
    p.add_argument("--shape", action="append", metavar="NAME=D0,D1,...",
                   help="input shape (repeatable), e.g. data=1,3,224,224")
    p.add_argument("--mxnet", action="store_true",
                   help="print MXNet's own print_summary table instead")
    p.add_argument("--width", type=int, default=120, help="line length (default 120)")
    p.set_defaults(func=_cmd_summary)
    p = sub.add_parser("diff", help="compare two array files (names, shapes, dtypes, values) "
                                    "or two symbol files (nodes, ops, attributes, inputs); "
                                    "exit 1 if they differ")
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--rtol", type=float, default=0.0, help="relative tolerance for values")
    p.add_argument("--atol", type=float, default=0.0, help="absolute tolerance for values")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing when the same")
    p.set_defaults(func=_cmd_diff)
    p = sub.add_parser("graph", help="draw a symbol JSON file with Graphviz (svg, png, pdf; "
                                     ".dot writes the source and needs no Graphviz programs)")
    p.add_argument("model", metavar="MODEL-symbol.json")
    p.add_argument("-o", "--output", required=True, help="output file; its suffix picks the "
                                                         "format")
    p.add_argument("--shape", action="append", metavar="NAME=D0,D1,...",
                   help="input shape (repeatable): label edges with tensor shapes")
    p.add_argument("--title", help="graph title (default: the output name)")
    p.add_argument("--show-weights", action="store_true", help="draw weight/bias inputs too")
    p.set_defaults(func=_cmd_graph)
    p = sub.add_parser("convert", help="convert between .params, .safetensors, .npz and "
                                       "PyTorch state_dict files losslessly, or a symbol "
                                       "JSON file and its parameters to .onnx")
    p.add_argument("src")
    p.add_argument("dst")
    p.add_argument("--from", dest="src_format", help="source format (default: by suffix)")
    p.add_argument("--to", dest="dst_format", help="destination format (default: by suffix)")
    p.add_argument("--params", help="parameter file of a symbol (for .onnx)")
    p.add_argument("--shape", action="append", metavar="NAME=D0,D1,...",
                   help="input shape for ONNX export (repeatable)")
    p.add_argument("--opset", type=int, help="ONNX opset version (default: the newest)")
    p.add_argument("-o", "--storage-option", action="append", metavar="KEY=VALUE",
                   help="fsspec storage option for URIs (repeatable)")
    p.set_defaults(func=_cmd_convert)
    from .tools import im2rec, launch, rec2idx

    im2rec.add_parser(sub)
    rec2idx.add_parser(sub)
    launch.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except MXNetError as e:
        print(f"mxlite {args.command}: error: {e}", file=sys.stderr)
        return 2 if args.command in ("diff",) else 1
    except (OSError, ValueError, ImportError) as e:
        # one line, never a traceback: a missing file, an unreadable input, a missing extra
        print(f"mxlite {args.command}: error: {type(e).__name__}: {e}", file=sys.stderr)
        return 2 if args.command in ("diff",) else 1


if __name__ == "__main__":
    sys.exit(main())
