"""The ``mxlite`` command line: ``mxlite inspect FILE``, ``mxlite verify PATH...``,
``mxlite demo``.

Each subcommand is a ``_cmd_*`` function registered in :func:`build_parser`. Files may be local
paths or fsspec URIs; ``-o KEY=VALUE`` passes storage options (``-o endpoint_url=http://...``).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence

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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mxlite", description="MXNet files and API on numpy")
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except MXNetError as e:
        print(f"mxlite {args.command}: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
