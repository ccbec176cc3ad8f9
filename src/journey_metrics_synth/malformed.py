"""Deliberately bad records and exact duplicates, and where they go in the daily files.

About 0.1% of the records get a malformed copy (each kind at least once) and about 0.05% are sent
twice (every other duplicate lands in the next day's file, as a retry after midnight would).
"""

from __future__ import annotations

import numpy as np

from journey_metrics_synth.rand import Arr

# Malformed record kinds (0 = a good record or an exact duplicate).
M_OK, M_NOT_JSON, M_NO_MID, M_BAD_TS, M_NO_IDS, M_BAD_TYPE = 0, 1, 2, 3, 4, 5
M_NO_EMAIL = 6
MALFORMED_WEB = (M_NOT_JSON, M_NO_MID, M_BAD_TS, M_NO_IDS, M_BAD_TYPE)
MALFORMED_EMAIL = (M_NO_EMAIL,)


def with_extras(
    rng: np.random.Generator, n: int, n_days: int, file_day: Arr, mal_types: tuple[int, ...]
) -> tuple[Arr, Arr, Arr]:
    """Pick malformed copies and duplicates: (source index, malformed type or 0, target day)."""
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    n_mal = min(n, max(len(mal_types), round(n * 0.001)))
    n_dup = min(n, max(4, round(n * 0.0005)))
    mal_src = np.sort(rng.choice(n, n_mal, replace=False))
    mal_kind = np.array(mal_types, dtype=np.int64)[np.arange(n_mal) % len(mal_types)]
    mal_kind = rng.permutation(mal_kind)
    dup_src = np.sort(rng.choice(n, n_dup, replace=False))
    cross = np.arange(n_dup) % 2 == 1  # every other duplicate goes to the next day's file
    dup_day = np.minimum(file_day[dup_src] + cross, n_days - 1)
    src = np.concatenate([mal_src, dup_src])
    kind = np.concatenate([mal_kind, np.zeros(n_dup, dtype=np.int64)])
    day = np.concatenate([file_day[mal_src], dup_day])
    return src, kind, day


class Extras:
    """The extra records of one source: (source index, kind, day) plus the message key of each
    (a duplicate repeats its source's key; a malformed copy gets a fresh one)."""

    def __init__(
        self, rng: np.random.Generator, n: int, n_days: int, file_day: Arr,
        mal_types: tuple[int, ...],
    ) -> None:
        self.src, self.kind, self.day = with_extras(rng, n, n_days, file_day, mal_types)
        self.key = np.where(self.kind > 0, n + np.arange(len(self.src)), self.src)

    @property
    def malformed(self) -> int:
        return int((self.kind > 0).sum())

    @property
    def duplicates(self) -> int:
        return int((self.kind == 0).sum())

    def file_rows(
        self, rng: np.random.Generator, lo: int, hi: int, day: int
    ) -> tuple[Arr, Arr, Arr]:
        """Rows of the file of `day` holding records [lo, hi): (record index, malformed kind,
        message key) in file order.

        Malformed copies come right after their source, duplicates a little later (retries),
        duplicates from the previous day's file near the start.
        """
        sel = np.flatnonzero(self.day == day)
        base = np.arange(lo, hi, dtype=np.int64)
        src = self.src[sel]
        same = (src >= lo) & (src < hi)
        pos_x = np.where(
            same,
            (src - lo) + np.where(self.kind[sel] > 0, 0.5, rng.uniform(1.0, 40.0, len(sel))),
            rng.uniform(0.0, 20.0, len(sel)),
        )
        rows = np.concatenate([base, src])
        kinds = np.concatenate([np.zeros(len(base), dtype=np.int64), self.kind[sel]])
        keys = np.concatenate([base, self.key[sel]])
        pos = np.concatenate([np.arange(hi - lo, dtype=np.float64), pos_x])
        order = np.argsort(pos, kind="stable")
        return rows[order], kinds[order], keys[order]
