"""Placeholder: the mxlite command line (owned by the array-file work)."""


def main(argv=None) -> int:
    raise SystemExit("mxlite: not built yet")
