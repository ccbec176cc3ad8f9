"""Deterministic randomness: numpy streams for draws, a keyed hash for per-record choices.

The hash gives every record the same value whatever order records are drawn in, so a value keyed
on an ordinal (a person, a message) never shifts when another part of the model changes.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

Arr = npt.NDArray[Any]

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
MIN_MS = 60_000
MASK64 = (1 << 64) - 1
U64 = np.uint64


def stream(seed: int, k: int) -> np.random.Generator:
    """The k-th independent random stream of a run."""
    return np.random.default_rng(np.random.SeedSequence([seed & MASK64, k]))


def mix64(x: Arr) -> Arr:
    """splitmix64 finaliser: a bijection on uint64 (distinct inputs give distinct outputs)."""
    z = x.astype(np.uint64) + U64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> U64(30))) * U64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> U64(27))) * U64(0x94D049BB133111EB)
    return z ^ (z >> U64(31))


class Hash:
    """Keyed per-record hashing: deterministic randomness that does not depend on call order."""

    def __init__(self, seed: int) -> None:
        self._seed = seed & MASK64

    def __call__(self, key: Arr, salt: int) -> Arr:
        base = (self._seed * 1_000_003 + salt * 7_919 + 17) & MASK64
        k = mix64(np.array([base], dtype=np.uint64))
        return mix64(np.asarray(key).astype(np.uint64) ^ k)

    def unit(self, key: Arr, salt: int) -> Arr:
        return (self(key, salt) >> U64(11)).astype(np.float64) * (1.0 / (1 << 53))

    def small(self, key: Arr, salt: int, n: int) -> Arr:
        return (self(key, salt) % U64(n)).astype(np.int64)

    def const(self, salt: int) -> int:
        return int(self(np.zeros(1, dtype=np.uint64), salt)[0])

    def pick(self, key: Arr, salt: int, p: Arr) -> Arr:
        """A category index per key, with probabilities p (deterministic per key)."""
        cdf = np.cumsum(p) / np.sum(p)
        idx: Arr = np.minimum(np.searchsorted(cdf, self.unit(key, salt), side="right"), len(p) - 1)
        return idx


def choice(rng: np.random.Generator, options: Arr, p: Arr, n: int) -> Arr:
    """n draws from options with weights p (one uniform draw each)."""
    cdf = np.cumsum(p) / np.sum(p)
    idx = np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), len(options) - 1)
    return options[idx]


def weighted(
    rng: np.random.Generator, spec: tuple[tuple[int, float], ...], n: int
) -> Arr:
    """n draws from (value, weight) pairs."""
    return choice(rng, np.array([x for x, _ in spec]), np.array([w for _, w in spec]), n)


def uniform_int(rng: np.random.Generator, lo: float, hi: float, n: int) -> Arr:
    return (lo + rng.random(n) * (hi - lo)).astype(np.int64)


def lognormal_ms(rng: np.random.Generator, median_ms: float, sigma: float, n: int) -> Arr:
    return rng.lognormal(math.log(median_ms), sigma, n)


def ranks_within(counts: Arr) -> Arr:
    """0, 1, ... within each run of np.repeat(_, counts): the position of an item in its group."""
    out: Arr = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    return out
