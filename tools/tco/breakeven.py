"""Where the API and hosting curves cross, solved exactly over whole requests a day.

The API's cost is affine in the volume. Hosting's is a step function (instances are added whole) plus terms
affine in the volume (data transfer, the same for both). So the difference D(v) = API(v) - hosted(v) rises
within each step of the fleet and falls where an instance is added: it may cross zero, fall below, and cross again.
Two volumes are reported:

- `first`: the smallest v with API(v) >= hosted(v), so API(first - 1) < hosted(first - 1) (or first is the lowest
  volume searched);
- `stays`: the smallest v from which API(v) >= hosted(v) at every volume up to the search's end.

Both are found step by step: the end of the fleet's step is a bisection on the hosting model cost (non-decreasing
in v), and within a step D is non-decreasing, so the first v with D(v) >= 0 is a bisection too; a final check of
the neighbours makes the answer exact despite floating-point rounding.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from tools.tco.options import Monthly

Curve = Callable[[int], Monthly]
MAX_STEPS = 1_000_000  # a guard: each step is one change of fleet; a search this long is a mistake in the inputs


@dataclass(frozen=True)
class BreakEven:
    first: int | None  # None: API is cheaper over the whole range
    stays: int | None


def _same_model_cost(hosted: Curve, cost: float, v: int) -> bool:
    return hosted(v).breakdown.model == cost


def _last_true(low: int, high: int, holds: Callable[[int], bool]) -> int:
    """The largest v in [low, high] with holds(v), given holds(low) and that holds is true then false."""
    while low < high:
        middle = (low + high + 1) // 2
        if holds(middle):
            low = middle
        else:
            high = middle - 1
    return low


def _first_true(low: int, high: int, holds: Callable[[int], bool]) -> int:
    """The smallest v in [low, high] with holds(v), given holds(high) and that holds is false then true."""
    while low < high:
        middle = (low + high) // 2
        if holds(middle):
            high = middle
        else:
            low = middle + 1
    return low


def break_even(api: Curve, hosted: Curve, low: int, high: int) -> BreakEven:
    """The break-even volumes of ``api`` against ``hosted`` over requests a day in [low, high]."""
    if not 1 <= low <= high:
        raise ValueError(f"search range [{low}, {high}] is empty or below 1")

    def difference(v: int) -> float:
        return api(v).breakdown.total - hosted(v).breakdown.total

    first: int | None = None
    last_below: int | None = None  # the last volume where the API is cheaper
    start, steps = low, 0
    while start <= high:
        steps += 1
        if steps > MAX_STEPS:
            raise ValueError(f"more than {MAX_STEPS} fleet changes between {low} and {high} requests a day")
        end = _last_true(start, high, partial(_same_model_cost, hosted, hosted(start).breakdown.model))
        if difference(end) >= 0:
            crossing = _first_true(start, end, lambda v: difference(v) >= 0)
            while crossing > start and difference(crossing - 1) >= 0:  # rounding: step back to the true first
                crossing -= 1
            while difference(crossing) < 0:
                crossing += 1
            if first is None:
                first = crossing
            if crossing > start:
                last_below = crossing - 1
        else:
            last_below = end
        start = end + 1
    if last_below is None:
        return BreakEven(first=first, stays=low)
    return BreakEven(first=first, stays=None if last_below == high else last_below + 1)
