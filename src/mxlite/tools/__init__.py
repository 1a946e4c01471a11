"""Command-line tools of MXNet's ``tools/`` folder: ``im2rec``, ``rec2idx``, ``launch``."""
