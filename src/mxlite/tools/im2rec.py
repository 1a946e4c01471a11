"""``im2rec``: image lists (``.lst``) and RecordIO databases (``.rec`` + ``.idx``) from a
folder of images, with the options and the output of MXNet's ``tools/im2rec.py``.

    mxlite im2rec PREFIX ROOT --list [--recursive] [--train-ratio R] ...   # PREFIX.lst
    mxlite im2rec PREFIX ROOT [--resize N] [--quality Q] [--pass-through] ... # PREFIX.rec

A list line is ``index \\t label[\\t label...] \\t relative/path`` (labels as ``%f``). Making
the database reads every ``.lst`` in PREFIX's folder whose path starts with PREFIX and writes
the ``.rec`` and ``.idx`` beside it, in list order (also with ``--num-thread`` > 1, where
MXNet's order may vary). Images are read and encoded with OpenCV (``--pass-through`` copies
the files' bytes and needs no OpenCV). An image that cannot be read is reported and left out,
as MXNet's tool does; the exit status is 0 unless nothing could be written.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
import traceback
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .. import recordio
from ..base import MXNetError

__all__ = ["main", "add_parser", "build_parser", "list_image", "write_list", "make_list",
           "read_list", "image_encode", "make_record"]


def list_image(root: str, recursive: bool, exts: Sequence[str]
               ) -> Iterator[tuple[int, str, int]]:
    """``(index, path relative to root, label)`` of every image under ``root``: one label per
    folder (numbered in walk order) when ``recursive``, else the files of ``root`` with 0."""
    i = 0
    if recursive:
        cat: dict[str, int] = {}
        for path, dirs, files in os.walk(root, followlinks=True):
            dirs.sort()
            files.sort()
            for fname in files:
                fpath = os.path.join(path, fname)
                suffix = os.path.splitext(fname)[1].lower()
                if os.path.isfile(fpath) and suffix in exts:
                    if path not in cat:
                        cat[path] = len(cat)
                    yield (i, os.path.relpath(fpath, root), cat[path])
                    i += 1
        for k, v in sorted(cat.items(), key=lambda x: x[1]):
            print(os.path.relpath(k, root), v)
    else:
        for fname in sorted(os.listdir(root)):
            fpath = os.path.join(root, fname)
            suffix = os.path.splitext(fname)[1].lower()
            if os.path.isfile(fpath) and suffix in exts:
                yield (i, os.path.relpath(fpath, root), 0)
                i += 1


def write_list(path_out: str, image_list: Sequence[Sequence[Any]]) -> None:
    """Write ``[(index, path, label, ...)]`` as ``index\\tlabel...\\tpath`` lines."""
    lines = []
    for item in image_list:
        line = f"{int(item[0])}\t" + "".join(f"{float(j):f}\t" for j in item[2:])
        lines.append(f"{line}{item[1]}\n")
    with open(path_out, "w") as f:
        f.write("".join(lines))


def make_list(args: argparse.Namespace) -> list[str]:
    """Write the ``.lst`` file(s) for ``args`` (chunks, train/val/test splits); their paths."""
    image_list = list(list_image(args.root, args.recursive, args.exts))
    if args.shuffle is True:
        # MXNet seeds the global generator: the same order here
        random.Random(100).shuffle(image_list)
    n = len(image_list)
    chunk_size = (n + args.chunks - 1) // args.chunks
    written = []

    def out(path: str, items: list) -> None:
        write_list(path, items)
        written.append(path)

    for i in range(args.chunks):
        chunk = image_list[i * chunk_size:(i + 1) * chunk_size]
        str_chunk = f"_{i}" if args.chunks > 1 else ""
        sep = int(chunk_size * args.train_ratio)
        sep_test = int(chunk_size * args.test_ratio)
        if args.train_ratio == 1.0:
            out(args.prefix + str_chunk + ".lst", chunk)
        else:
            if args.test_ratio:
                out(args.prefix + str_chunk + "_test.lst", chunk[:sep_test])
            if args.train_ratio + args.test_ratio < 1.0:
                out(args.prefix + str_chunk + "_val.lst", chunk[sep_test + sep:])
            out(args.prefix + str_chunk + "_train.lst", chunk[sep_test:sep_test + sep])
    return written


def read_list(path_in: str) -> Iterator[list[Any]]:
    """``[index, path, label, ...]`` per line of a ``.lst`` file; bad lines are reported and
    skipped, as MXNet's tool does."""
    with open(path_in) as fin:
        for n, raw in enumerate(fin, 1):
            line = [i.strip() for i in raw.strip().split("\t")]
            if len(line) < 3:
                print(f"{path_in}: line {n}: lst should have at least has three parts, but "
                      f"only has {len(line)} parts for {line}", file=sys.stderr)
                continue
            try:
                item = [int(line[0]), line[-1]] + [float(i) for i in line[1:-1]]
            except ValueError as e:
                print(f"{path_in}: line {n}: Parsing lst met error for {line}, detail: {e}",
                      file=sys.stderr)
                continue
            yield item


def _cv2() -> Any:
    try:
        import cv2
    except ImportError:
        raise MXNetError("im2rec needs OpenCV to read and encode images: pip install "
                         "opencv-python-headless (or 'mxlite[image]'), or use "
                         "--pass-through") from None
    return cv2


def image_encode(args: argparse.Namespace, item: Sequence[Any]) -> bytes | None:
    """The packed record of one list item, or None (reported) when the image cannot be
    read or encoded."""
    fullpath = os.path.join(args.root, item[1])
    if len(item) > 3 and args.pack_label:
        header = recordio.IRHeader(0, item[2:], item[0], 0)
    else:
        header = recordio.IRHeader(0, item[2], item[0], 0)
    if args.pass_through:
        try:
            with open(fullpath, "rb") as fin:
                return recordio.pack(header, fin.read())
        except (OSError, MXNetError) as e:
            print(f"pack_img error: {item[1]}: {e}", file=sys.stderr)
            return None
    cv2 = _cv2()
    try:
        img = cv2.imread(fullpath, args.color)
    except cv2.error as e:
        print(f"imread error trying to load file: {fullpath}: {e}", file=sys.stderr)
        return None
    if img is None:
        print(f"imread read blank (None) image for file: {fullpath}", file=sys.stderr)
        return None
    if args.center_crop:
        if img.shape[0] > img.shape[1]:
            margin = (img.shape[0] - img.shape[1]) // 2
            img = img[margin:margin + img.shape[1], :]
        else:
            margin = (img.shape[1] - img.shape[0]) // 2
            img = img[:, margin:margin + img.shape[0]]
    if args.resize:
        if img.shape[0] > img.shape[1]:
            newsize = (args.resize, img.shape[0] * args.resize // img.shape[1])
        else:
            newsize = (img.shape[1] * args.resize // img.shape[0], args.resize)
        img = cv2.resize(img, newsize)
    try:
        return recordio.pack_img(header, img, quality=args.quality, img_fmt=args.encoding)
    except MXNetError as e:
        print(f"pack_img error on file: {fullpath}: {e}", file=sys.stderr)
        return None


def _progress(total: int, desc: str) -> Any:
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    # tqdm shows nothing when stderr is not a terminal (disable=None)
    return tqdm(total=total, desc=desc, unit="img", disable=None)


def make_record(args: argparse.Namespace, lst: str, working_dir: str) -> tuple[int, int]:
    """Pack the images of the list file ``lst`` into ``<lst name>.rec`` / ``.idx`` in
    ``working_dir``; ``(written, failed)`` counts."""
    items = list(read_list(lst))
    base = os.path.splitext(os.path.basename(lst))[0]
    fname_rec = os.path.join(working_dir, base + ".rec")
    fname_idx = os.path.join(working_dir, base + ".idx")
    bar = _progress(len(items), base)
    counts = [0, 0, time.time()]  # written, failed, time of the last progress line
    threads = max(1, int(args.num_thread))
    with recordio.MXIndexedRecordIO(fname_idx, fname_rec, "w") as record, \
            ThreadPoolExecutor(threads) as pool:
        # OpenCV lets go of the GIL while it decodes and encodes: threads run in parallel.
        # A bounded window of work keeps memory flat and the output in list order.
        window: deque = deque()
        for item in items:
            window.append((item, pool.submit(image_encode, args, item)))
            if len(window) >= 4 * threads:
                _put(record, *window.popleft(), counts, bar)
        while window:
            _put(record, *window.popleft(), counts, bar)
    if bar is not None:
        bar.close()
    return counts[0], counts[1]


def _put(record: recordio.MXIndexedRecordIO, item: Sequence[Any], fut: Any,
         counts: list, bar: Any) -> None:
    try:
        s = fut.result()
    except MXNetError:
        raise
    except Exception:  # what MXNet's worker reports and survives
        traceback.print_exc()
        s = None
    if s is None:
        counts[1] += 1
    else:
        record.write_idx(item[0], s)
        counts[0] += 1
    if bar is not None:
        bar.update(1)
    elif (counts[0] + counts[1]) % 1000 == 0:
        now = time.time()
        print("time:", now - counts[2], " count:", counts[0] + counts[1])
        counts[2] = now


def run(args: argparse.Namespace) -> int:
    """Carry out parsed arguments: make lists (``--list``) or databases."""
    args.prefix = os.path.abspath(args.prefix)
    args.root = os.path.abspath(args.root)
    if args.list:
        if not os.path.isdir(args.root):
            raise MXNetError(f"im2rec: root {args.root} is not a folder")
        make_list(args)
        return 0
    working_dir = args.prefix if os.path.isdir(args.prefix) else os.path.dirname(args.prefix)
    files = sorted(os.path.join(working_dir, f) for f in os.listdir(working_dir)
                   if os.path.isfile(os.path.join(working_dir, f)))
    count = 0
    failed_total = 0
    for fname in files:
        if fname.startswith(args.prefix) and fname.endswith(".lst"):
            print("Creating .rec file from", fname, "in", working_dir)
            count += 1
            written, failed = make_record(args, fname, working_dir)
            failed_total += failed
            if failed:
                print(f"{fname}: {failed} image(s) could not be read or encoded and were "
                      f"left out; {written} written", file=sys.stderr)
    if not count:
        print(f"Did not find and list file with prefix {args.prefix}")
        return 1
    return 0


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("prefix", help="prefix of input/output lst and rec files.")
    parser.add_argument("root", help="path to folder containing images.")
    cgroup = parser.add_argument_group("Options for creating image lists")
    cgroup.add_argument("--list", action="store_true",
                        help="If this is set im2rec will create image list(s) by traversing "
                             "root folder and output to <prefix>.lst. Otherwise im2rec will "
                             "read <prefix>.lst and create a database at <prefix>.rec")
    cgroup.add_argument("--exts", nargs="+", default=[".jpeg", ".jpg", ".png"],
                        help="list of acceptable image extensions.")
    cgroup.add_argument("--chunks", type=int, default=1, help="number of chunks.")
    cgroup.add_argument("--train-ratio", type=float, default=1.0,
                        help="Ratio of images to use for training.")
    cgroup.add_argument("--test-ratio", type=float, default=0,
                        help="Ratio of images to use for testing.")
    cgroup.add_argument("--recursive", action="store_true",
                        help="If true recursively walk through subdirs and assign an unique "
                             "label to images in each folder. Otherwise only include images "
                             "in the root folder and give them label 0.")
    cgroup.add_argument("--no-shuffle", dest="shuffle", action="store_false",
                        help="If this is passed, im2rec will not randomize the image order "
                             "in <prefix>.lst")
    rgroup = parser.add_argument_group("Options for creating database")
    rgroup.add_argument("--pass-through", action="store_true",
                        help="whether to skip transformation and save image as is")
    rgroup.add_argument("--resize", type=int, default=0,
                        help="resize the shorter edge of image to the newsize, original "
                             "images will be packed by default.")
    rgroup.add_argument("--center-crop", action="store_true",
                        help="specify whether to crop the center image to make it "
                             "rectangular.")
    rgroup.add_argument("--quality", type=int, default=95,
                        help="JPEG quality for encoding, 1-100; or PNG compression for "
                             "encoding, 1-9")
    rgroup.add_argument("--num-thread", type=int, default=1,
                        help="number of threads to use for encoding (the output keeps the "
                             "list's order).")
    rgroup.add_argument("--color", type=int, default=1, choices=[-1, 0, 1],
                        help="specify the color mode of the loaded image. 1: Loads a color "
                             "image. Any transparency of image will be neglected. It is the "
                             "default flag. 0: Loads image in grayscale mode. -1:Loads image "
                             "as such including alpha channel.")
    rgroup.add_argument("--encoding", type=str, default=".jpg", choices=[".jpg", ".png"],
                        help="specify the encoding of the images.")
    rgroup.add_argument("--pack-label", action="store_true",
                        help="Whether to also pack multi dimensional label in the record "
                             "file")


_DESCRIPTION = ("Create an image list or make a record database by reading from an image "
                "list")


def build_parser(prog: str = "im2rec") -> argparse.ArgumentParser:
    """The stand-alone parser (MXNet's ``tools/im2rec.py`` arguments)."""
    parser = argparse.ArgumentParser(prog=prog, description=_DESCRIPTION,
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    _add_arguments(parser)
    return parser


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``im2rec`` to an ``argparse`` subparsers object (``mxlite im2rec``); the parsed
    namespace's ``func`` runs it."""
    p = subparsers.add_parser("im2rec", help="make image lists (.lst) and RecordIO databases "
                                             "(.rec, .idx) as MXNet's tools/im2rec.py",
                              description=_DESCRIPTION,
                              formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    _add_arguments(p)
    p.set_defaults(func=run)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``im2rec`` with ``argv`` (default ``sys.argv[1:]``); the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except (MXNetError, OSError) as e:
        print(f"im2rec: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
