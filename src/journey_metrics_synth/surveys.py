"""Survey answers: the score range of each survey and how often each score is given.

The ranges are the ones the pipeline accepts (``jm_survey_low`` / ``jm_survey_high`` in
``sql/staging/macros.sql``: NPS 0-10, CSAT 1-5, CES 1-7 with 7 = very easy); the source configs
do not declare them. ``tests/test_synth.py`` checks the two agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from journey_metrics_synth.rand import Arr, choice


@dataclass(frozen=True)
class Survey:
    name: str  # the survey type as sources write it (hs_survey_type, the survey property)
    low: int
    high: int
    p: tuple[float, ...]  # probability of each score from low to high

    def __post_init__(self) -> None:
        if len(self.p) != self.high - self.low + 1:
            raise ValueError(
                f"{self.name}: one probability per score from {self.low} to {self.high}"
            )

    def draw(self, rng: np.random.Generator, n: int) -> Arr:
        """n scores."""
        return choice(rng, np.arange(self.low, self.high + 1), np.array(self.p), n)


NPS = Survey("nps", 0, 10, (0.02, 0.01, 0.02, 0.02, 0.03, 0.05, 0.07, 0.12, 0.20, 0.22, 0.24))
CSAT = Survey("csat", 1, 5, (0.04, 0.06, 0.15, 0.35, 0.40))
CES = Survey("ces", 1, 7, (0.03, 0.04, 0.08, 0.15, 0.25, 0.25, 0.20))
SURVEYS = (NPS, CSAT, CES)
