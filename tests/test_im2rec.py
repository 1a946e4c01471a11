"""mxlite's im2rec against MXNet 1.9.1's tools/im2rec.py (tests/fixtures/gen_recordio.py)."""

from __future__ import annotations

import argparse
import json
import pathlib
import shutil

import numpy as np
import pytest

from mxlite import recordio
from mxlite.tools import im2rec

DATA = pathlib.Path(__file__).parent / "data" / "recordio"
IMAGES = DATA / "images"
EXPECTED = json.loads((DATA / "expected.json").read_text())


@pytest.mark.parametrize("case", sorted(EXPECTED["lists"]))
def test_lists_equal_mxnets(tmp_path, case, capsys):
    exp = EXPECTED["lists"][case]
    assert im2rec.main([str(tmp_path / "data"), str(IMAGES), *exp["argv"]]) == 0
    got = {p.name: p.read_text() for p in sorted(tmp_path.iterdir())}
    assert got == exp["files"]
    assert capsys.readouterr().out == exp["stdout"]


@pytest.mark.parametrize("name,opts", [("im2rec", []), ("multi", ["--pack-label"])])
@pytest.mark.parametrize("threads", [1, 3])
def test_pass_through_records_are_mxnets_bytes(tmp_path, name, opts, threads):
    shutil.copy(DATA / f"{name}.lst", tmp_path / f"{name}.lst")
    argv = [str(tmp_path / name), str(IMAGES), "--pass-through", "--num-thread", str(threads),
            *opts]
    assert im2rec.main(argv) == 0
    assert (tmp_path / f"{name}.rec").read_bytes() == (DATA / f"{name}.rec").read_bytes()
    assert (tmp_path / f"{name}.idx").read_text() == (DATA / f"{name}.idx").read_text()


def test_prefix_picks_every_matching_list(tmp_path):
    lst = (DATA / "im2rec.lst").read_text().splitlines(keepends=True)
    (tmp_path / "d_train.lst").write_text("".join(lst[:5]))
    (tmp_path / "d_val.lst").write_text("".join(lst[5:]))
    (tmp_path / "other.lst").write_text("".join(lst))
    assert im2rec.main([str(tmp_path / "d"), str(IMAGES), "--pass-through"]) == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["d_train.idx", "d_train.lst", "d_train.rec", "d_val.idx", "d_val.lst",
                     "d_val.rec", "other.lst"]
    r = recordio.MXIndexedRecordIO(tmp_path / "d_val.idx", tmp_path / "d_val.rec", "r")
    assert r.keys == [int(line.split("\t")[0]) for line in lst[5:]]


def test_encoding_resize_and_crop(tmp_path):
    cv2 = pytest.importorskip("cv2")
    shutil.copy(DATA / "im2rec.lst", tmp_path / "e.lst")
    argv = [str(tmp_path / "e"), str(IMAGES), "--resize", "10", "--encoding", ".png",
            "--quality", "1", "--num-thread", "2"]
    assert im2rec.main(argv) == 0
    r = recordio.MXIndexedRecordIO(tmp_path / "e.idx", tmp_path / "e.rec", "r")
    lst = {int(line.split("\t")[0]): line.split("\t") for line in
           (DATA / "im2rec.lst").read_text().splitlines()}
    assert r.keys == list(lst)
    for k in r.keys:
        header, img = recordio.unpack_img(r.read_idx(k))
        assert (header.flag, header.id, header.label) == (0, k, float(lst[k][1]))
        src = cv2.imread(str(IMAGES / lst[k][2]), 1)
        h, w = src.shape[:2]
        size = (10, h * 10 // w) if h > w else (w * 10 // h, 10)
        np.testing.assert_array_equal(img, cv2.resize(src, size))  # PNG: lossless
    argv = [str(tmp_path / "e"), str(IMAGES), "--center-crop", "--color", "0",
            "--quality", "80"]
    assert im2rec.main(argv) == 0
    r = recordio.MXIndexedRecordIO(tmp_path / "e.idx", tmp_path / "e.rec", "r")
    for k in r.keys:
        header, img = recordio.unpack_img(r.read_idx(k))
        src = cv2.imread(str(IMAGES / lst[k][2]), 0)
        side = min(src.shape)
        assert img.shape == (side, side)


def test_unreadable_images_are_left_out(tmp_path, capsys):
    pytest.importorskip("cv2")
    lines = (DATA / "im2rec.lst").read_text().splitlines(keepends=True)
    bad = ["90\t1.000000\tb/notes.txt\n", "91\t1.000000\tb/missing.png\n", "broken line\n"]
    (tmp_path / "x.lst").write_text("".join(lines[:2] + bad + lines[2:]))
    assert im2rec.main([str(tmp_path / "x"), str(IMAGES)]) == 0
    err = capsys.readouterr().err
    assert "2 image(s) could not be read or encoded" in err
    assert "three parts" in err
    r = recordio.MXIndexedRecordIO(tmp_path / "x.idx", tmp_path / "x.rec", "r")
    assert len(r.keys) == len(lines)
    assert 90 not in r.keys and 91 not in r.keys
    # pass-through of a missing file
    (tmp_path / "y.lst").write_text(bad[1])
    assert im2rec.main([str(tmp_path / "y"), str(IMAGES), "--pass-through"]) == 0
    assert "missing.png" in capsys.readouterr().err


def test_no_list_found_and_bad_root(tmp_path, capsys):
    assert im2rec.main([str(tmp_path / "none"), str(IMAGES)]) == 1
    assert "Did not find and list file" in capsys.readouterr().out
    assert im2rec.main([str(tmp_path / "l"), str(tmp_path / "nowhere"), "--list"]) == 1
    assert "is not a folder" in capsys.readouterr().err


def test_add_parser_wires_a_subcommand(tmp_path):
    parser = argparse.ArgumentParser(prog="mxlite")
    sub = parser.add_subparsers(dest="command")
    im2rec.add_parser(sub)
    args = parser.parse_args(["im2rec", str(tmp_path / "data"), str(IMAGES), "--list",
                              "--recursive", "--no-shuffle"])
    assert args.func(args) == 0
    assert (tmp_path / "data.lst").read_text() == \
        EXPECTED["lists"]["noshuffle"]["files"]["data.lst"]


def test_rec2idx_rebuilds_mxnets_index(tmp_path, capsys):
    from mxlite.tools import rec2idx

    assert rec2idx.main([str(DATA / "split.rec"), str(tmp_path / "s.idx")]) == 0
    assert (tmp_path / "s.idx").read_text() == (DATA / "split.idx").read_text()
    assert "17 records" in capsys.readouterr().out
    # im2rec's keys are the list's indices; rec2idx numbers records in file order
    assert rec2idx.create_index(str(DATA / "im2rec.rec"), str(tmp_path / "i.idx")) == 8
    offsets = [line.split("\t")[1] for line in (DATA / "im2rec.idx").read_text().splitlines()]
    assert (tmp_path / "i.idx").read_text() == "".join(
        f"{i}\t{o}\n" for i, o in enumerate(offsets))
    bad = tmp_path / "bad.rec"
    bad.write_bytes((DATA / "split.rec").read_bytes()[:-3])
    assert rec2idx.main([str(bad), str(tmp_path / "bad.idx")]) == 1
    assert "truncated record" in capsys.readouterr().err
    assert not (tmp_path / "bad.idx").exists()
