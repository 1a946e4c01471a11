"""MXNet's reshape codes: the one place a ``Reshape`` / ``NDArray.reshape`` target is worked out.

A target shape may hold, besides positive sizes:

- ``0``  copy this dimension of the input;
- ``-1`` infer this dimension from the remaining size (at most one);
- ``-2`` copy all remaining input dimensions;
- ``-3`` merge the next two input dimensions into one;
- ``-4`` split the next input dimension into the two sizes that follow (one may be ``-1``).

With ``reverse=True`` both shapes are read right to left. This mirrors MXNet 1.9.1's
``InferReshapeShape`` (src/operator/tensor/matrix_op-inl.h), including its quirk that ``-1``
is filled at its position in the *target* list, which is not always its position in the
result once ``-2``/``-4`` have changed the count (``(2, 3, 4)`` reshaped to ``(-2, -1)`` gives
``(2, 1, 4, 1)``, whose size then mismatches and is refused by the caller).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..base import MXNetError

__all__ = ["infer_reshape"]


def infer_reshape(src_shape: Sequence[int], target: Sequence[int],
                  reverse: bool = False) -> tuple[int, ...]:
    """The shape MXNet's reshape codes in ``target`` give for an input of ``src_shape``.

    An input dimension of ``-1`` is unknown (MXNet's internal convention: callers holding
    legacy ``0``-for-unknown shapes map those to ``-1`` first); unknown dimensions propagate
    to ``-1`` in the result. The result's size is not checked against the input's: callers
    do that (``NDArray.reshape`` raises, shape inference reports a mismatch).
    """
    src = [int(d) for d in src_shape]
    codes = [int(d) for d in target]
    if reverse:
        src.reverse()
        codes.reverse()
    where = f"reshape of {tuple(src_shape)} to {tuple(target)}"
    out: list[int] = []
    src_idx = 0
    inf_idx = -1
    i = 0
    while i < len(codes):
        code = codes[i]
        if code == 0:
            if src_idx >= len(src):
                raise MXNetError(f"{where}: code 0 at position {i} has no input dimension "
                                 "left to copy")
            out.append(src[src_idx])
            src_idx += 1
        elif code == -1:
            if inf_idx >= 0:
                raise MXNetError(f"{where}: one and only one dim can be inferred (-1)")
            inf_idx = i
            out.append(1)
            src_idx += 1
        elif code == -2:
            out.extend(src[src_idx:])
            src_idx = max(src_idx, len(src))
        elif code == -3:
            if src_idx + 1 >= len(src):
                raise MXNetError(f"{where}: code -3 at position {i} needs two input "
                                 "dimensions to merge")
            d1, d2 = src[src_idx], src[src_idx + 1]
            src_idx += 2
            out.append(-1 if d1 < 0 or d2 < 0 else d1 * d2)
        elif code == -4:
            if i + 2 >= len(codes):
                raise MXNetError(f"{where}: code -4 at position {i} must be followed by two "
                                 "sizes")
            if src_idx >= len(src):
                raise MXNetError(f"{where}: code -4 at position {i} has no input dimension "
                                 "left to split")
            d0 = src[src_idx]
            src_idx += 1
            d1, d2 = codes[i + 1], codes[i + 2]
            i += 2
            if d1 == -1 and d2 == -1:
                raise MXNetError(f"{where}: split dims cannot both be -1")
            try:
                if d1 == -1 and d0 >= 0:
                    d1 = d0 // d2
                if d2 == -1 and d0 >= 0:
                    d2 = d0 // d1
            except ZeroDivisionError:
                raise MXNetError(f"{where}: cannot split dim {d0} by a zero size") from None
            if d1 * d2 != d0 and d0 != -1:
                raise MXNetError(f"{where}: split dims {d1}, {d2} do not divide original "
                                 f"dim {d0}")
            out.extend((d1, d2))
        elif code > 0:
            out.append(code)
            src_idx += 1
        else:
            raise MXNetError(f"{where}: invalid code {code} at position {i}; expected a "
                             "size > 0 or one of 0, -1, -2, -3, -4")
        i += 1
    if inf_idx >= 0:
        if inf_idx >= len(out):
            raise MXNetError(f"{where}: the inferred dim (-1) falls outside the result")
        if any(d < 0 for d in src):
            out[inf_idx] = -1
        else:
            known = 1
            for d in out:
                known *= d
            if known == 0:
                raise MXNetError(f"{where}: cannot infer a dim (-1) next to a zero size")
            total = 1
            for d in src:
                total *= d
            out[inf_idx] = total // known
    if reverse:
        out.reverse()
    return tuple(out)
