"""``mx.gluon.contrib.data``: MXNet 1.9.1's contributed data utilities. ``IntervalSampler``
is provided; the ``text`` datasets (WikiText-2/103) download their data, which mxlite does
not do."""

from .sampler import *  # noqa: F403
from .sampler import __all__ as _sampler_all

__all__ = [*_sampler_all]
