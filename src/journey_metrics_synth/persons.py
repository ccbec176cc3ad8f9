"""Who the persons are: names and addresses, when they arrive, how they behave, their traits.

`People` holds per-person draws (arrays indexed by person ordinal); `Identities` turns ordinals
into the strings the sources carry (e-mail addresses, userIds, invite codes, company names).
Traits that several sources must agree on (plan, country, company) are keyed hashes of the
person, so every source derives the same value independently.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from journey_metrics_synth.channels import ACQ_W, GROUPS
from journey_metrics_synth.rand import DAY_MS, HOUR_MS, Arr, Hash, choice
from journey_metrics_synth.text import B32, B32_UPPER, digits, prefixed, scramble40

FIRST_NAMES = (
    "anna", "ben", "carla", "david", "elena", "felix", "greta", "hugo", "ines", "jonas", "klara",
    "leon", "maria", "noah", "olivia", "paul", "quinn", "rosa", "sam", "tara", "umar", "vera",
    "will", "xenia", "yusuf", "zoe", "liam", "emma", "lucas", "mia", "omar", "sofia", "ivan",
    "nina", "luca", "hana", "ravi", "aisha", "kenji", "lea",
)  # fmt: skip
LAST_NAMES = (
    "schmidt", "muller", "garcia", "rossi", "martin", "smith", "jones", "kowalski", "novak",
    "jansen", "dubois", "silva", "costa", "nielsen", "larsen", "weber", "fischer", "meyer",
    "wagner", "becker", "hoffmann", "lopez", "moreau", "bianchi", "romano", "kim", "tanaka",
    "singh", "patel", "nguyen", "brown", "taylor", "wilson", "evans", "walker", "young", "king",
    "wright", "scott", "green",
)  # fmt: skip
_DOMAINS = ("example.com", "example.org", "example.net")
_DOMAIN_P = (0.7, 0.2, 0.1)

# persons' and companies' traits (CONTRACT §6)
PLANS = ("free", "plus", "pro")
PLAN_P = np.array([0.68, 0.24, 0.08])
COUNTRIES = ("DE", "FR", "NL", "ES", "IT", "AT", "BE")
COUNTRY_P = np.array([0.30, 0.22, 0.14, 0.12, 0.10, 0.07, 0.05])
ROLES = ("buyer", "team lead", "coach", "office manager", "founder")
INDUSTRIES = ("sports clubs", "retail", "education", "healthcare", "logistics", "software")
COMPANY_WORDS = ("Alpine", "Harbor", "Northwind", "Summit", "Riverside", "Bluebird", "Granite",
                 "Meadow", "Falcon", "Cedar", "Lumen", "Orbit")  # fmt: skip
COMPANY_KINDS = ("Running Club", "Outfitters", "Academy", "Clinic", "Logistics", "Labs")
N_COMPANIES = len(COMPANY_WORDS) * len(COMPANY_KINDS)
GROUP_PLANS = ("team", "business", "enterprise")
GROUP_PLAN_P = np.array([0.6, 0.3, 0.1])


@dataclass
class People:
    n: int
    first: Arr
    last: Arr
    domain: Arr
    number: Arr  # unique e-mail number
    currency: Arr  # 0 EUR, 1 USD
    group: Arr  # acquisition channel group (channels.GROUPS)
    shopper: Arr
    opt_in: Arr
    open_p: Arr
    click_p: Arr
    crm: Arr
    invitee: Arr
    arrival: Arr

    @staticmethod
    def build(rng: np.random.Generator, n: int, h: Hash, start_ms: int, days: int) -> People:
        number = _email_numbers(n, h)
        arrival = _arrivals(rng, n, start_ms, days)
        return People(
            n=n,
            first=rng.integers(0, len(FIRST_NAMES), n),
            last=rng.integers(0, len(LAST_NAMES), n),
            domain=choice(rng, np.arange(3), np.array(_DOMAIN_P), n),
            number=number,
            currency=(rng.random(n) < 0.3).astype(np.int8),
            group=choice(rng, np.arange(len(GROUPS)), ACQ_W, n),
            shopper=rng.random(n) < 0.7,
            opt_in=rng.random(n) < 0.8,
            open_p=rng.beta(2.0, 5.0, n),
            click_p=rng.beta(1.2, 9.0, n),
            crm=rng.random(n) < 0.45,
            invitee=rng.random(n) < 0.04,
            arrival=arrival,
        )


def _email_numbers(n: int, h: Hash) -> Arr:
    """A distinct number per person for the e-mail address (a permutation of a range)."""
    digit_count = max(5, len(str(n)) + 1)
    modulus = 10**digit_count
    out: Arr = (np.arange(n, dtype=np.int64) * 7919 + h.const(1) % modulus) % modulus
    return out


def _arrivals(rng: np.random.Generator, n: int, start_ms: int, days: int) -> Arr:
    """First-visit times: growing over the window, quieter at weekends, mostly afternoons."""
    day_idx = np.arange(days)
    weekday = (day_idx + date(1970, 1, 1).weekday() + start_ms // DAY_MS) % 7
    w = (1.0 + 0.6 * day_idx / max(days - 1, 1)) * np.where(weekday >= 5, 0.8, 1.0)
    day = choice(rng, day_idx, w, n)
    tod = np.where(rng.random(n) < 0.7, rng.normal(14.0, 3.5, n), rng.random(n) * 24.0) % 24.0
    out: Arr = start_ms + day * DAY_MS + (tod * HOUR_MS).astype(np.int64)
    return out


# --- traits: keyed on the person, so every source agrees ---------------------------------------


def is_b2b(h: Hash, person: Arr) -> Arr:
    """About one signed-up person in six buys for a company (a club, a school, a clinic)."""
    out: Arr = h.small(person, 64, 100) < 17
    return out


def company_of(h: Hash, person: Arr) -> Arr:
    """The company a B2B person buys for (several persons share one)."""
    return h.small(person, 82, N_COMPANIES)


def industry_of(company: Arr) -> Arr:
    """Index into INDUSTRIES of a company."""
    out: Arr = company // len(COMPANY_WORDS)
    return out


def plan_of(h: Hash, person: Arr) -> Arr:
    return h.pick(person, 85, PLAN_P)


def country_of(h: Hash, person: Arr) -> Arr:
    return h.pick(person, 86, COUNTRY_P)


def role_of(h: Hash, person: Arr) -> Arr:
    return h.small(person, 87, len(ROLES))


def company_plan_of(h: Hash, company: Arr, upgrades: Arr) -> Arr:
    """A company's plan, one step up per upgrade (capped at the top plan)."""
    out: Arr = np.minimum(h.pick(company, 83, GROUP_PLAN_P) + upgrades, len(GROUP_PLANS) - 1)
    return out


# --- the strings the sources carry -------------------------------------------------------------


class Identities:
    """E-mail addresses, names, userIds, invite codes and company names of a run."""

    def __init__(self, h: Hash, ppl: People) -> None:
        self.h = h
        self.ppl = ppl
        self.first = pl.Series(FIRST_NAMES)
        self.last = pl.Series(LAST_NAMES)
        self.first_cap = pl.Series([x.title() for x in FIRST_NAMES])
        self.last_cap = pl.Series([x.title() for x in LAST_NAMES])
        self.domain = pl.Series(_DOMAINS)
        self.currencies = pl.Series(["EUR", "USD"])
        self._c_user = h.const(11)
        self._c_invite = h.const(12)
        self.company_names = pl.Series(
            [f"{COMPANY_WORDS[c % len(COMPANY_WORDS)]} "
             f"{COMPANY_KINDS[c // len(COMPANY_WORDS)]}" for c in range(N_COMPANIES)]
        )  # fmt: skip
        self.company_ids = pl.Series([f"grp_{10_001 + 37 * c}" for c in range(N_COMPANIES)])

    def first_names(self, person: Arr) -> pl.Series:
        """Capitalised first names."""
        return self.first_cap.gather(self.ppl.first[person])

    def last_names(self, person: Arr) -> pl.Series:
        """Capitalised last names."""
        return self.last_cap.gather(self.ppl.last[person])

    def currency(self, person: Arr) -> pl.Series:
        return self.currencies.gather(self.ppl.currency[person])

    def email(self, person: Arr, variant: Arr | None = None) -> pl.Series:
        """Lower-case address, or (variant 1-3) capitalised, padded with spaces, upper-case."""
        p = self.ppl
        if variant is None:
            variant = np.zeros(len(person), dtype=np.int64)
        df = pl.DataFrame(
            {
                "f": self.first.gather(p.first[person]),
                "l": self.last.gather(p.last[person]),
                "F": self.first_cap.gather(p.first[person]),
                "L": self.last_cap.gather(p.last[person]),
                "n": pl.Series(p.number[person]).cast(pl.String),
                "d": self.domain.gather(p.domain[person]),
                "v": variant,
            }
        )
        lower = pl.concat_str(["f", pl.lit("."), "l", "n", pl.lit("@"), "d"])
        cap = pl.concat_str(
            ["F", pl.lit("."), "L", "n", pl.lit("@"), pl.col("d").str.to_titlecase()]
        )
        expr = (
            pl.when(pl.col("v") == 1)
            .then(cap)
            .when(pl.col("v") == 2)
            .then(pl.concat_str([pl.lit("  "), lower, pl.lit(" ")]))
            .when(pl.col("v") == 3)
            .then(lower.str.to_uppercase())
            .otherwise(lower)
        )
        return df.select(expr.alias("email")).to_series()

    def user_id(self, person: Arr) -> pl.Series:
        """usr_ + 8 base-32 digits, distinct per person."""
        return prefixed(b"usr_", digits(scramble40(person, self._c_user), B32, 8, 5))

    def invite_code(self, ordinal: Arr) -> pl.Series:
        """INV- + 8 digits, distinct per invite ordinal."""
        code = digits(scramble40(np.maximum(ordinal, 0), self._c_invite), B32_UPPER, 8, 5)
        return prefixed(b"INV-", code)
