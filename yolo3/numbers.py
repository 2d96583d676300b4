"""What counts as a number in the JSON files and answers this project reads."""

from __future__ import annotations

import math


def finite_number(value) -> bool:
    """Whether ``value`` (as json.loads gives it) is a finite int or float: not a bool,
    not NaN or infinity, and not an integer too large for any float (``math.isfinite``
    raises OverflowError on those: a 400-digit number in a file would be a traceback)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def whole_number(value) -> bool:
    """Whether ``value`` is an int and not a bool (json.loads gives ``true`` as True,
    which ``isinstance(value, int)`` would accept)."""
    return isinstance(value, int) and not isinstance(value, bool)
