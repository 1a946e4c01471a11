"""``mx.gluon.contrib.data.IntervalSampler``, where MXNet 1.9.1 has it."""

from __future__ import annotations

from ...data import sampler

__all__ = ["IntervalSampler"]


class IntervalSampler(sampler.IntervalSampler):
    """:class:`mxlite.gluon.data.IntervalSampler` under MXNet 1.9.1's contrib name, with
    MXNet's ``len()``: ``length`` even without ``rollover``, although fewer indices come.

    Examples
    --------
    >>> s = IntervalSampler(13, interval=3, rollover=False)
    >>> list(s), len(s)
    ([0, 3, 6, 9, 12], 13)
    """

    def __len__(self) -> int:
        return self._length
