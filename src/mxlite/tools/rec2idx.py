"""``rec2idx``: the ``.idx`` of a ``.rec`` file that lacks one, as MXNet's
``tools/rec2idx.py``: keys 0, 1, 2... in file order, each with its record's byte offset.

    mxlite rec2idx data.rec data.idx
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from .. import recordio, storage
from ..base import MXNetError

__all__ = ["create_index", "main", "add_parser", "build_parser"]


def create_index(record: str, index: str, key_type: type = int,
                 storage_options: Mapping[str, Any] | None = None) -> int:
    """Write ``index`` for the record file ``record`` (paths or fsspec URIs); the number of
    records. A damaged record file is refused (MXNetError naming the offset) and no index
    is written."""
    reader = recordio.MXRecordIO(record, "r", storage_options=storage_options)
    lines = []
    try:
        while True:
            pos = reader.tell()
            if reader.read() is None:
                break
            lines.append(f"{key_type(len(lines))}\t{pos}\n")
    finally:
        reader.close()
    storage.write_text_atomic(index, "".join(lines), storage_options)
    return len(lines)


def _run(args: argparse.Namespace) -> int:
    n = create_index(args.record, args.index)
    print(f"{args.index}: {n} records")
    return 0


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("record", help="path to .rec file.")
    parser.add_argument("index", help="path to index file.")


def build_parser(prog: str = "rec2idx") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description="Create an index file from .rec "
                                                            "file")
    _add_arguments(parser)
    return parser


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``rec2idx`` to an ``argparse`` subparsers object; ``func`` runs it."""
    p = subparsers.add_parser("rec2idx", help="create the .idx of a RecordIO .rec file",
                              description="Create an index file from .rec file")
    _add_arguments(p)
    p.set_defaults(func=_run)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``rec2idx`` with ``argv``; the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except (MXNetError, OSError) as e:
        print(f"rec2idx: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
