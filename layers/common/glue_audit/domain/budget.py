"""The operator's budget: the share (``QUOTA_FRACTION``) of each account quota the framework plans
against. One copy of the arithmetic and of the fraction's range, for the tick, the simulator, the
demo and every flag or variable that takes a fraction.
"""

from __future__ import annotations

import math

# 0.29 x 100 is 28.999999999999996 in binary floating point: rounded down as it stands, a 29-run
# budget would become 28. The tolerance lifts such products to the integer they stand for; it is
# far below any real fraction's step, so it never rounds a true 28.9 up.
ROUNDING_TOLERANCE = 1e-9


def check_fraction(value: float, what: str = "fraction") -> float:
    """``value`` when it is a share in (0, 1]; else ValueError naming ``what`` (NaN and infinities too)."""
    if not (math.isfinite(value) and 0 < value <= 1):
        raise ValueError(f"{what} must be in (0, 1], got {value:g}")
    return value


def count_budget(quota: float, fraction: float) -> int:
    """The share of a count quota (concurrent runs), rounded down: a budget never exceeds its quota."""
    return math.floor(quota * fraction + ROUNDING_TOLERANCE)


def amount_budget(quota: float, fraction: float) -> float:
    """The share of an amount quota (DPUs), not rounded: DPUs come in fractions (a Python shell job
    takes 0.0625)."""
    return quota * fraction


def check_positive(value: float, what: str) -> float:
    """``value`` when it is a finite number above 0; else ValueError naming ``what``."""
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{what} must be a finite number above 0, got {value:g}")
    return value
