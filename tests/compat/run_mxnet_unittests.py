"""Run MXNet 1.9.1's own Python unit tests against mxlite and report what passes.

    python tests/compat/run_mxnet_unittests.py MXNET_SRC [test_module.py ...]
        [--report docs/compatibility.md] [--timeout 900]

``MXNET_SRC`` is a checkout (or ``git archive``) of apache/mxnet at tag 1.9.1; its
``tests/python/unittest`` files are copied to a temporary folder with a ``conftest.py``
that makes the module name ``mxnet`` resolve to mxlite (``mxlite_as_mxnet.py``), and run
by pytest, one file per process. The default files are the ones issue 14 names. The report
lists, per file, the counts and every failing test with the first line of its error,
grouped by that line. MXNet's tests are not part of mxlite and are never committed; CI
does not run this.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT = ["test_module.py", "test_kvstore.py", "test_ndarray.py", "test_symbol.py",
           "test_executor.py", "test_infer_shape.py", "test_attr.py", "test_init.py"]
CONFTEST = """import sys
sys.path.insert(0, {here!r})
import mxlite_as_mxnet
mxlite_as_mxnet.install()
"""


def prepare(src: str, work: str) -> str:
    unit = os.path.join(src, "tests", "python", "unittest")
    if not os.path.isdir(unit):
        sys.exit(f"{src}: no tests/python/unittest (expected an apache/mxnet 1.9.1 checkout)")
    dst = os.path.join(work, "tests", "python", "unittest")
    shutil.copytree(unit, dst)
    for extra in ("common", "train"):  # test_module.py imports ../train/test_bucketing.py
        folder = os.path.join(src, "tests", "python", extra)
        if os.path.isdir(folder):
            shutil.copytree(folder, os.path.join(work, "tests", "python", extra))
    with open(os.path.join(dst, "conftest.py"), "w") as f:
        f.write(CONFTEST.format(here=HERE))
    return dst


def first_line(text: str) -> str:
    for line in (text or "").splitlines():
        line = line.strip()
        if line.startswith("E "):
            return line[2:].strip()[:160]
    lines = [s.strip() for s in (text or "").splitlines() if s.strip()]
    return (lines[-1] if lines else "")[:160]


def run_file(unit: str, name: str, timeout: int) -> dict:
    xml = os.path.join(unit, name + ".xml")
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o",
           "addopts=", f"--junitxml={xml}", name]
    t0 = time.time()
    try:
        proc = subprocess.run(cmd, cwd=unit, capture_output=True, text=True, timeout=timeout)
        tail = (proc.stdout + proc.stderr)[-2000:]
    except subprocess.TimeoutExpired:
        return {"file": name, "error": f"timed out after {timeout} s", "cases": []}
    cases = []
    if os.path.exists(xml):
        for tc in ET.parse(xml).getroot().iter("testcase"):
            outcome, detail = "passed", ""
            for kind in ("failure", "error", "skipped"):
                el = tc.find(kind)
                if el is not None:
                    outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}[kind]
                    detail = first_line((el.get("message") or "") + "\n" + (el.text or ""))
                    break
            cases.append((tc.get("name"), outcome, detail))
    return {"file": name, "seconds": time.time() - t0, "cases": cases,
            "error": None if cases else tail.strip().splitlines()[-1:] or ["no output"]}


def report(results: list[dict]) -> str:
    lines = ["| file | passed | failed | errors | skipped |", "|---|---:|---:|---:|---:|"]
    totals = collections.Counter()
    for r in results:
        c = collections.Counter(o for _, o, _ in r["cases"])
        totals.update(c)
        note = f" ({r['error'][0] if isinstance(r['error'], list) else r['error']})" \
            if r["error"] else ""
        lines.append(f"| `{r['file']}`{note} | {c['passed']} | {c['failed']} | {c['error']} | "
                     f"{c['skipped']} |")
    lines.append(f"| **all** | **{totals['passed']}** | **{totals['failed']}** | "
                 f"**{totals['error']}** | **{totals['skipped']}** |")
    for r in results:
        bad = [(n, d) for n, o, d in r["cases"] if o in ("failed", "error")]
        if not bad:
            continue
        lines += ["", f"### `{r['file']}`: {len(bad)} not passing", ""]
        groups = collections.defaultdict(list)
        for n, d in bad:
            groups[re.sub(r"0x[0-9a-f]+", "0x..", d)].append(n)
        for reason, names in sorted(groups.items(), key=lambda kv: -len(kv[1])):
            lines.append(f"- {', '.join(f'`{n}`' for n in names)}: {reason or '(no message)'}")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src", help="apache/mxnet source tree at tag 1.9.1")
    ap.add_argument("files", nargs="*", default=DEFAULT)
    ap.add_argument("--report", help="write the markdown table and failure list here")
    ap.add_argument("--timeout", type=int, default=900, help="seconds per file")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="mxnet-unittests-") as work:
        unit = prepare(args.src, work)
        results = []
        for name in args.files:
            r = run_file(unit, name, args.timeout)
            c = collections.Counter(o for _, o, _ in r["cases"])
            print(f"{name}: {dict(c)}" + (f"  {r['error']}" if r["error"] else ""), flush=True)
            results.append(r)
    text = report(results)
    if args.report:
        with open(args.report, "w") as f:
            f.write(text)
    else:
        print(text)


if __name__ == "__main__":
    main()
