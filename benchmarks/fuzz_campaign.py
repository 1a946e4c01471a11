"""A mutation campaign against every public loader: inputs tried and outcomes per entry point.

    python benchmarks/fuzz_campaign.py [--budget 1800] [--seed 0] [--random 6000]
                                       [--hypothesis 500] [--json out.json]

Seed corpus: the golden files in ``tests/data`` (NDArray files, symbol JSON, ``.states`` and
NDArray pickles). Inputs, per kind of file:

- structured mutations (:mod:`mxlite.formats._fuzz`): truncation at every offset, header
  fields set to 0 / 2**31-1 / 2**32-1 / 2**63-1 / -1 at every header offset, JSON structure
  mutations (deleted keys, wrong types, cycles, huge counts and attributes), pickle opcode
  mutations, hand-made hostile files (deep nesting, huge counts, evil pickles);
- ``--random`` seeded stacked mutations per kind: 1-8 of byte flips, chunk deletions,
  duplications and insertions, splices of two seeds, extreme integers written anywhere;
- ``--hypothesis`` examples per kind drawn by hypothesis (derandomized) as sequences of the
  same edits, so the campaign also explores what hypothesis' generator prefers (boundaries).

Every input goes to every entry point of its kind (``_fuzz.ENTRIES``). Each call is timed
without tracing, then repeated under ``tracemalloc`` for its peak traced memory (numpy's
allocations included). The process runs under an address-space limit (4 GiB) and each call
under a 20 s alarm, so a runaway input is recorded, not a hung machine. An *escape* is any
exception other than MXNetError, a timeout, or ``mx.model.verify`` raising or calling a file
sound that its loader refuses.

Each kind of file and source of inputs gets an equal share of ``--budget`` seconds (what one
leaves unused passes on); the run stops drawing inputs when its share is spent. The figures in
``docs/robustness.md`` come from ``python benchmarks/fuzz_campaign.py`` (the defaults: every
input drawn, about five minutes on one core).
"""

from __future__ import annotations

import argparse
import json
import logging
import pathlib
import platform
import random
import resource
import signal
import sys
import time
from collections.abc import Callable, Iterator

from mxlite.formats import _fuzz as F

DATA = pathlib.Path(__file__).resolve().parents[1] / "tests" / "data"
SEEDS = {
    "arrays": ["ndarray/dict_two.params", "ndarray/list_two.params", "ndarray/sparse.params",
               "ndarray/np_semantics.params", "ndarray/dtypes.params",
               "ndarray/names.params", "module/mx_mlp-0003.params"],
    "symbol": ["symbol/multi_output-symbol.json", "symbol/mlp-symbol.json",
               "symbol/arith-symbol.json", "symbol/attention_like-symbol.json",
               "module/cnn-symbol.json"],
    "pickle": ["optimizer/sgd_dump_optimizer.states", "module/mx_mlp-0003.states",
               "pickle/single_p2.pkl", "pickle/dict_p4.pkl", "pickle/single_p4.pkl"],
    "recordio": ["recordio/split.rec", "recordio/multi.rec", "recordio/im2rec.rec"],
    "recordidx": ["recordio/multi.idx", "recordio/im2rec.idx"],
}
# The indexed RecordIO entries read a damaged .rec through this sound index (and a damaged
# .idx against this sound .rec).
REC_PAIR = ("recordio/multi.rec", "recordio/multi.idx")
EXTREMES = (0, 1, 2**31 - 1, 2**32 - 1, 2**63 - 1, 2**64 - 1)
CALL_LIMIT = 20  # seconds before a call is recorded as a timeout
MEMORY_LIMIT = 4 << 30


class Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise Timeout(f"call took more than {CALL_LIMIT} s")


def record_seeds() -> list[bytes]:
    import numpy as np

    import mxlite as mx
    from mxlite.ndarray import sparse

    arrays = [mx.nd.array(np.arange(6, dtype=np.float32).reshape(2, 3)),
              sparse.csr_matrix(np.eye(3, dtype=np.float32)),
              sparse.row_sparse_array(np.eye(4, dtype=np.float16))]
    seeds = [F.record_of(a) for a in arrays]
    with mx.util.np_shape(True):  # V3 records: 0-d and zero-size arrays
        seeds += [F.record_of(mx.nd.array(np.array(3.5, np.float64))),
                  F.record_of(mx.nd.array(np.zeros((0, 3), np.int64)))]
    return seeds


# ----------------------------------------------------------------------------- mutations


def edit(data: bytes, rng: random.Random, others: list[bytes]) -> tuple[str, bytes]:
    """One random edit of ``data``."""
    n = len(data)
    kind = rng.randrange(7)
    i = rng.randrange(n + 1)
    if kind == 0 and n:
        i = min(i, n - 1)
        v = rng.choice((0, 0xFF, 0x7F, 0x80, rng.randrange(256), data[i] ^ 1 << rng.randrange(8)))
        return f"set@{i}={v}", data[:i] + bytes([v]) + data[i + 1:]
    if kind == 1:
        j = min(n, i + rng.choice((1, 2, 4, 8, rng.randrange(1, 64))))
        return f"del@{i}:{j}", data[:i] + data[j:]
    if kind == 2:
        j = min(n, i + rng.randrange(1, 64))
        return f"dup@{i}:{j}", data[:j] + data[i:j] + data[j:]
    if kind == 3:
        chunk = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 16)))
        return f"ins@{i}+{len(chunk)}", data[:i] + chunk + data[i:]
    if kind == 4 and others:
        other = rng.choice(others)
        j = rng.randrange(len(other) + 1)
        return f"splice@{i}/{j}", data[:i] + other[j:]
    if kind == 5:
        w = rng.choice((4, 8))
        v = rng.choice(EXTREMES) % (1 << 8 * w)
        i = min(i, max(0, n - w))
        return f"int{8 * w}@{i}={v}", data[:i] + v.to_bytes(w, "little") + data[i + w:]
    return f"truncate@{i}", data[:i]


def stacked(seeds: list[bytes], rng: random.Random, count: int) -> Iterator[F.Mutation]:
    for _ in range(count):
        data = rng.choice(seeds)
        labels = []
        for _ in range(rng.randint(1, 8)):
            label, data = edit(data, rng, seeds)
            labels.append(label)
        yield "random " + ",".join(labels), data


def hypothesis_inputs(seeds: list[bytes], count: int) -> list[F.Mutation]:
    """``count`` inputs drawn by hypothesis: a seed and a list of edits it chooses."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    out: list[F.Mutation] = []
    edits = st.tuples(st.integers(0, 6), st.integers(0, 1 << 20), st.integers(0, 255),
                      st.sampled_from(EXTREMES), st.integers(1, 64))

    @settings(max_examples=count, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(st.integers(0, len(seeds) - 1), st.lists(edits, min_size=1, max_size=6))
    def draw(seed, steps):
        data = seeds[seed]
        for kind, at, byte, extreme, length in steps:
            n = len(data)
            i = at % (n + 1)
            if kind == 0 and n:
                i = min(i, n - 1)
                data = data[:i] + bytes([byte]) + data[i + 1:]
            elif kind == 1:
                data = data[:i] + data[i + length:]
            elif kind == 2:
                data = data[:i + length] + data[i:i + length] + data[i + length:]
            elif kind == 3:
                data = data[:i] + bytes([byte]) * length + data[i:]
            elif kind == 4:
                other = seeds[byte % len(seeds)]
                data = data[:i] + other[at % (len(other) + 1):]
            elif kind == 5:
                w = 8 if length % 2 else 4
                data = data[:i] + (extreme % (1 << 8 * w)).to_bytes(w, "little") + \
                    data[i + w:]
            else:
                data = data[:i]
        out.append((f"hypothesis #{len(out)}", data))

    draw()
    return out


def structured(kind: str, seeds: list[bytes]) -> Iterator[F.Mutation]:
    rng = random.Random(1)
    if kind == "arrays":
        for data in seeds:
            yield from F.truncations(data)
            yield from F.field_mutations(data, F.array_header_offsets(data))
            yield from F.byte_flips(data, rng, 300)
    elif kind == "symbol":
        for data in seeds:
            yield from F.json_mutations(data)
        yield from F.evil_json()
    elif kind == "pickle":
        for data in seeds:
            yield from F.pickle_mutations(data, rng)
            yield from F.truncations(data)
            yield from F.byte_flips(data, rng, 300)
        yield from F.evil_pickles()
    else:
        for data in seeds:
            yield from F.truncations(data)
            yield from F.field_mutations(data)
            yield from F.byte_flips(data, rng, 300)


# ----------------------------------------------------------------------------- running


class Tally:
    """Outcomes of one entry point."""

    def __init__(self) -> None:
        self.counts = {"ok": 0, "refused": 0, "escape": 0}
        self.max_seconds = (0.0, "")
        self.max_over = (0, "")     # peak traced bytes beyond the input's size
        self.max_ratio = (0.0, "")  # peak / size, for inputs of at least 64 KiB
        self.over_second = 0        # calls on inputs under 1 MiB that took more than 1 s
        self.escapes: list[tuple[str, str]] = []

    def add(self, label: str, size: int, out: F.Outcome, seconds: float, peak: int) -> None:
        self.counts[out.kind] += 1
        if out.kind == "escape" and len(self.escapes) < 20:
            self.escapes.append((label, out.detail))
        if seconds > self.max_seconds[0]:
            self.max_seconds = (seconds, label)
        if size < 1 << 20 and seconds > 1.0:
            self.over_second += 1
        if peak - size > self.max_over[0]:
            self.max_over = (peak - size, label)
        if size >= 1 << 16 and peak / size > self.max_ratio[0]:
            self.max_ratio = (peak / size, label)

    def as_dict(self) -> dict:
        return {"inputs": sum(self.counts.values()), **self.counts,
                "max_seconds": round(self.max_seconds[0], 4),
                "max_seconds_input": self.max_seconds[1][:100],
                "calls_over_1s_under_1MiB": self.over_second,
                "max_peak_over_size_bytes": self.max_over[0],
                "max_peak_over_size_input": self.max_over[1][:100],
                "max_peak_ratio_64KiB_plus": round(self.max_ratio[0], 2),
                "max_peak_ratio_input": self.max_ratio[1][:100],
                "escapes": self.escapes}


KINDS = ("arrays", "symbol", "pickle", "record", "recordio", "recordidx")


def run_one(fast: F.Harness, traced: F.Harness, entry: str, label: str, data: bytes,
            tally: Tally) -> None:
    # Timeout is an Exception: the harness records it as an escape like any other
    signal.alarm(CALL_LIMIT)
    try:
        out = fast.run(entry, data)
    finally:
        signal.alarm(0)
    peak = 0
    if not out.detail.startswith("Timeout"):
        signal.alarm(CALL_LIMIT)
        try:
            peak = traced.run(entry, data).peak
        finally:
            signal.alarm(0)
    tally.add(label, len(data), out, out.seconds, peak)


def campaign(args: argparse.Namespace) -> dict:
    fast = F.Harness()
    traced = F.Harness(trace_memory=True)
    fast.rec_pair = traced.rec_pair = tuple((DATA / p).read_bytes() for p in REC_PAIR)
    seeds = {k: [(DATA / p).read_bytes() for p in v] for k, v in SEEDS.items()}
    seeds["record"] = record_seeds()
    start = time.monotonic()
    rng = random.Random(args.seed)
    tallies: dict[str, Tally] = {}
    inputs: dict[str, int] = {}

    def sources(kind: str) -> list[Callable[[], Iterator[F.Mutation]]]:
        return [lambda: structured(kind, seeds[kind]),
                lambda: iter(hypothesis_inputs(seeds[kind], args.hypothesis)),
                lambda: stacked(seeds[kind], rng, args.random)]

    kinds = tuple(args.kinds)
    shares = [(kind, source) for kind in kinds for source in sources(kind)]
    for n, (kind, source) in enumerate(shares, 1):
        # each (kind, source) gets an equal share; time one leaves unused passes on
        deadline = start + args.budget * n / len(shares)
        entries = [e for e, k in F.ENTRIES.items() if k == kind]
        for label, data in source():
            if time.monotonic() > deadline:
                break
            inputs[kind] = inputs.get(kind, 0) + 1
            for entry in entries:
                run_one(fast, traced, entry, label, data, tallies.setdefault(entry, Tally()))
    return {"python": platform.python_version(), "seed": args.seed, "budget": args.budget,
            "inputs_per_kind": inputs,
            "entries": {e: t.as_dict() for e, t in tallies.items()}}


def report(result: dict) -> str:
    lines = [f"inputs per kind: {result['inputs_per_kind']}", "",
             "| entry point | inputs | ok | refused | escapes | max time (s) | calls > 1 s "
             "(< 1 MiB) | max peak - size (KiB) | max peak / size (>= 64 KiB) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for entry, t in result["entries"].items():
        lines.append(f"| `{entry}` | {t['inputs']} | {t['ok']} | {t['refused']} | "
                     f"{t['escape']} | {t['max_seconds']:.3f} | "
                     f"{t['calls_over_1s_under_1MiB']} | "
                     f"{t['max_peak_over_size_bytes'] / 1024:.0f} | "
                     f"{t['max_peak_ratio_64KiB_plus']:.1f} |")
    total = sum(t["inputs"] for t in result["entries"].values())
    escapes = sum(t["escape"] for t in result["entries"].values())
    lines += ["", f"total calls: {total}; escapes: {escapes}"]
    for entry, t in result["entries"].items():
        for label, detail in t["escapes"]:
            lines.append(f"ESCAPE {entry} on {label}: {detail}")
        lines.append(f"slowest {entry}: {t['max_seconds_input']}; most memory: "
                     f"{t['max_peak_over_size_input']}")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=float, default=1800,
                    help="seconds to spend at most (default 1800)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--random", type=int, default=6000,
                    help="seeded stacked mutations per kind of file")
    ap.add_argument("--hypothesis", type=int, default=500,
                    help="hypothesis-drawn inputs per kind of file")
    ap.add_argument("--json", help="also write the figures to this file")
    ap.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS),
                    help="kinds of file to fuzz (default: all); e.g. --kinds symbol pickle "
                         "reruns the symbol and pickle rows alone")
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = MEMORY_LIMIT if hard == resource.RLIM_INFINITY else min(MEMORY_LIMIT, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    signal.signal(signal.SIGALRM, _alarm)
    logging.disable(logging.WARNING)  # "params file is empty", once per such input
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 1000))
    t = time.monotonic()
    result = campaign(args)
    result["seconds"] = round(time.monotonic() - t, 1)
    print(report(result))
    print(f"wall time: {result['seconds']} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
