"""``mxlite launch``: MXNet's ``tools/launch.py`` for mxlite's MPI-backed distributed stores.

    mxlite launch -n 2 python train.py --kv-store dist_sync
    mxlite launch -n 4 --launcher mpi -H hosts python train.py --kv-store dist_sync

There are no parameter servers or scheduler in mxlite: the workers are the processes of one
MPI job (see :mod:`mxlite.kvstore.dist`), so launching is ``mpiexec -n N command``.

- ``--launcher local`` (the default without a host file): N processes on this machine, started
  by the ``mpiexec`` beside the running Python (the one ``pip install 'mxlite[dist]'`` brings
  with the ``mpich`` wheel) or else on ``PATH``;
- ``--launcher mpi`` / ``ssh``: the same ``mpiexec`` with the host file given by ``-H``
  (``-machinefile``), reaching the hosts as the MPI installation does (ssh for hydra).

Every worker gets ``DMLC_ROLE=worker``, ``DMLC_NUM_WORKER=N`` and ``DMLC_NUM_SERVER=0`` (and
``DMLC_WORKER_ID`` = its rank when ``mxlite`` is imported), plus each ``--env NAME:VALUE``.
``-s/--num-servers`` is accepted for MXNet's command lines and ignored. The exit status is
``mpiexec``'s: a worker that fails stops the job.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..base import MXNetError

__all__ = ["add_parser", "main", "build_command", "run"]

_DESCRIPTION = ("Launch a distributed training job: N worker processes of one MPI job, as "
                "MXNet's tools/launch.py (no servers: mxlite's dist kvstores reduce over MPI).")


def _add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-n", "--num-workers", required=True, type=int,
                   help="number of worker processes")
    p.add_argument("-s", "--num-servers", type=int,
                   help="accepted for MXNet's command lines; mxlite has no servers")
    p.add_argument("-H", "--hostfile", help="file of host names, one per line (mpi / ssh)")
    p.add_argument("--launcher", choices=["local", "mpi", "ssh"],
                   help="local: this machine (default without -H); mpi / ssh: the hosts of -H")
    p.add_argument("--mpiexec", help="the mpiexec to run (default: beside this Python, else "
                                     "on PATH)")
    p.add_argument("--env", action="append", default=[], metavar="NAME:VALUE",
                   help="environment variable for every worker (repeatable; NAME=VALUE too)")
    p.add_argument("--dry-run", action="store_true", help="print the command, do not run it")
    # Not ``command``: that is the dest of ``mxlite``'s own sub-command.
    p.add_argument("worker_command", nargs=argparse.REMAINDER, metavar="command",
                   help="the worker command")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``launch`` to an ``argparse`` subparsers object (``mxlite launch``); the parsed
    namespace's ``func`` runs it."""
    p = subparsers.add_parser("launch", help="start N workers of a distributed (dist_sync) "
                                             "training job, as MXNet's tools/launch.py",
                              description=_DESCRIPTION)
    _add_arguments(p)
    p.set_defaults(func=run)
    return p


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mxlite launch", description=_DESCRIPTION)
    _add_arguments(p)
    return p


def _find_mpiexec(explicit: str | None) -> str:
    if explicit:
        found = shutil.which(explicit)
        if found is None:
            raise MXNetError(f"--mpiexec {explicit!r}: not an executable")
        return found
    beside = Path(sys.executable).parent / "mpiexec"
    if beside.exists():
        return str(beside)
    found = shutil.which("mpiexec")
    if found is None:
        raise MXNetError("no mpiexec found beside this Python or on PATH: pip install "
                         "'mxlite[dist]' (it brings mpi4py and the mpich wheel's mpiexec)")
    return found


def _is_open_mpi(mpiexec: str) -> bool:
    try:
        out = subprocess.run([mpiexec, "--version"], capture_output=True, text=True,
                             timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "open mpi" in (out.stdout + out.stderr).lower()


def _parse_env(pairs: Sequence[str]) -> dict[str, str]:
    env = {}
    for pair in pairs:
        sep = min((i for i in (pair.find(":"), pair.find("=")) if i > 0), default=-1)
        if sep <= 0:
            raise MXNetError(f"--env {pair!r}: expected NAME:VALUE or NAME=VALUE")
        env[pair[:sep]] = pair[sep + 1:]
    return env


def build_command(args: argparse.Namespace, open_mpi: bool | None = None
                  ) -> tuple[list[str], dict[str, str]]:
    """The ``mpiexec`` command line and the environment variables it adds for the workers."""
    command = list(args.worker_command)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        raise MXNetError("no worker command given (e.g. mxlite launch -n 2 python "
                         "train.py)")
    if args.num_workers < 1:
        raise MXNetError(f"-n/--num-workers must be at least 1, got {args.num_workers}")
    launcher = args.launcher or ("mpi" if args.hostfile else "local")
    if launcher != "local" and not args.hostfile:
        raise MXNetError(f"--launcher {launcher} needs a host file (-H)")
    if args.hostfile and not Path(args.hostfile).is_file():
        raise MXNetError(f"host file {args.hostfile!r} does not exist")
    mpiexec = _find_mpiexec(args.mpiexec)
    if open_mpi is None:
        open_mpi = _is_open_mpi(mpiexec)
    env = {"DMLC_ROLE": "worker", "DMLC_NUM_WORKER": str(args.num_workers),
           "DMLC_NUM_SERVER": "0"}
    env.update(_parse_env(args.env))
    cmd = [mpiexec, "-n", str(args.num_workers)]
    if launcher == "local":
        if not open_mpi:
            cmd += ["-launcher", "fork"]  # hydra: start local processes without ssh
    else:
        cmd += ["-machinefile", args.hostfile]
        if launcher == "ssh" and not open_mpi:
            cmd += ["-launcher", "ssh"]
    if open_mpi:
        for name in env:
            cmd += ["-x", name]  # Open MPI passes only the variables it is told to
    return cmd + command, env


def run(args: argparse.Namespace) -> int:
    """Run the job described by parsed ``args``; ``mpiexec``'s exit status."""
    cmd, env = build_command(args)
    if args.dry_run:
        prefix = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        print(f"{prefix} {shlex.join(cmd)}")
        return 0
    try:
        inherited = {k: v for k, v in os.environ.items() if k != "DMLC_WORKER_ID"}
        return subprocess.run(cmd, env=dict(inherited, **env)).returncode
    except KeyboardInterrupt:
        return 130


def main(argv: Sequence[str] | None = None) -> int:
    """``mxlite launch`` with ``argv`` (default ``sys.argv[1:]``); the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except MXNetError as e:
        print(f"mxlite launch: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
