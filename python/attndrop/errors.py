"""The package's one exception type, and the checks of the values that cross its boundary.

Every failure of attndrop (the C library's statuses, a refused argument, a malformed file) raises
AttndropError with a one-line message. It is a ValueError too, PyTorch's convention for a bad argument
to a module, so that code catching either catches it.
"""
import math
import numbers
import operator
import struct
from typing import Optional

INT_MAX = 2**31 - 1
INT_MIN = -(2**31)
UINT32_MAX = 2**32 - 1
UINT64_MAX = 2**64 - 1
LONG_MAX = 2**63 - 1


class AttndropError(ValueError):
    """A status other than AD_OK, with the library's one-line message; or a value refused before it reached C."""


def one_line(msg: object) -> str:
    """A message on one line (newlines and other control characters as spaces)."""
    return " ".join(str(msg).split())


def check_int(name: str, v: object, lo: int = INT_MIN, hi: int = INT_MAX) -> int:
    """v as a Python int if it is an integer (int, numpy or torch integer; not a bool) in [lo, hi]."""
    if isinstance(v, bool) or type(v).__name__ == "bool_":
        raise AttndropError(f"{name} must be an integer, got a bool ({v})")
    try:
        i = operator.index(v)
    except TypeError:
        raise AttndropError(f"{name} must be an integer, got {type(v).__name__} {one_line(repr(v))[:60]}") from None
    if not lo <= i <= hi:
        raise AttndropError(f"{name} must be in [{lo}, {hi}], got {i}")
    return i


def check_float(name: str, v: object, lo: Optional[float] = None, hi: Optional[float] = None,
                hi_open: bool = False) -> float:
    """v as a Python float if it is a finite real number (not a bool) in [lo, hi] (or [lo, hi) with hi_open)."""
    scalar = hasattr(v, "dtype") and getattr(v, "shape", None) == () and (
        getattr(v.dtype, "is_floating_point", False) or getattr(v.dtype, "kind", "") in ("f", "i", "u"))
    if isinstance(v, bool) or type(v).__name__ == "bool_" or not (isinstance(v, numbers.Real) or scalar):
        raise AttndropError(f"{name} must be a real number, got {type(v).__name__} {one_line(repr(v))[:60]}")
    try:
        f = float(v)
    except (TypeError, ValueError, OverflowError) as e:
        raise AttndropError(f"{name} must be a real number: {one_line(e)}") from None
    if not math.isfinite(f):
        raise AttndropError(f"{name} must be a finite number, got {f}")
    if (lo is not None and f < lo) or (hi is not None and (f >= hi if hi_open else f > hi)):
        if hi is None:
            raise AttndropError(f"{name} must be >= {lo:g}, got {f:g}")
        if lo is None:
            raise AttndropError(f"{name} must be {'<' if hi_open else '<='} {hi:g}, got {f:g}")
        raise AttndropError(f"{name} must be in [{lo:g}, {hi:g}{')' if hi_open else ']'}, got {f:g}")
    return f


def check_p(name: str, v: object) -> float:
    """A dropout rate: a finite number in [0, 1), also once held as a C float (as the library holds it)."""
    f = check_float(name, v, 0.0, 1.0, hi_open=True)
    f32 = struct.unpack("<f", struct.pack("<f", f))[0]
    if not 0.0 <= f32 < 1.0:
        raise AttndropError(f"{name} must be in [0, 1), got {f} (1 as a float)")
    return f


def check_bool(name: str, v: object) -> bool:
    """v as a bool if it is a bool or the integer 0 or 1."""
    if isinstance(v, bool) or type(v).__name__ == "bool_":
        return bool(v)
    try:
        i = operator.index(v)
    except TypeError:
        i = None
    if i not in (0, 1):
        raise AttndropError(f"{name} must be a bool, got {type(v).__name__} {one_line(repr(v))[:60]}")
    return bool(i)
