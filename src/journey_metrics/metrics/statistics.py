"""Small exact statistics over aggregated counts (funnel --correlate, CONTRACT §7).

These run on a handful of 2x2 tables (one per item), never per event.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

# Tables whose probability is within this relative distance of the observed one count as "as
# extreme" (the usual guard against floating-point ties, as in R's fisher.test).
_RELATIVE_TOLERANCE = 1e-7


def odds_ratio(s: int, f: int, converters: int, rest: int) -> float:
    """PostHog's smoothed odds ratio ((s+1)(F-f+1)) / ((S-s+1)(f+1))."""
    return ((s + 1) * (rest - f + 1)) / ((converters - s + 1) * (f + 1))


def _log_comb(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def fisher_exact(a: int, b: int, c: int, d: int) -> float:
    """Two-sided Fisher exact p-value of the table [[a, b], [c, d]]: the probability, given the
    margins, of all tables at most as probable as the observed one."""
    row1, row2, col1 = a + b, c + d, a + c
    n = row1 + row2
    low, high = max(0, col1 - row2), min(row1, col1)
    if low == high:
        return 1.0

    def log_p(x: int) -> float:
        return _log_comb(row1, x) + _log_comb(row2, col1 - x) - _log_comb(n, col1)

    observed = log_p(a) + math.log1p(_RELATIVE_TOLERANCE)
    total = math.fsum(math.exp(lp) for lp in map(log_p, range(low, high + 1)) if lp <= observed)
    return min(1.0, total)


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values (q-values), in the order given."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    q = [0.0] * m
    running = 1.0
    for rank in range(m, 0, -1):
        i = order[rank - 1]
        running = min(running, p_values[i] * m / rank)
        q[i] = running
    return q
