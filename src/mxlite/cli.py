"""The ``mxlite`` command line: ``mxlite inspect FILE``, ``mxlite demo``.

Each subcommand is a ``_cmd_*`` function registered in :func:`build_parser`; later commands
(``verify``) add themselves there.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence

from .base import MXNetError

__all__ = ["main", "build_parser", "inspect_lines"]


def _ctx_str(ctx: tuple[int, int]) -> str:
    from .formats.arrays import DEV_TYPES

    return f"{DEV_TYPES.get(ctx[0], ctx[0])}({ctx[1]})"


def inspect_lines(path: str) -> list[str]:
    """One line per array in an NDArray file (name or index, shape, dtype, storage, context,
    bytes) and a total line."""
    from .formats.arrays import read_list
    from .ndarray.utils import open_file

    with open_file(path, "rb") as f:
        records, names = read_list(f, path)
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


def _cmd_inspect(args: argparse.Namespace) -> int:
    for line in inspect_lines(args.file):
        print(line)
    return 0


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
    p.set_defaults(func=_cmd_inspect)
    p = sub.add_parser("demo", help="run the seed program's NDArray steps and say what they did")
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
