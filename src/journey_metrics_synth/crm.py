"""CRM (HubSpot exports): contacts with their lifecycle stages, deals, and survey feedback.

Contacts exist for a share of the signed-up persons and are exported monthly (a contact changed
in a later month is exported again; the first export has a UTF-8 BOM), with the country,
industry and, as real exports have them, names and phone numbers that no trait keeps. Deals come
from sales opportunities; NPS answers from customers, CSAT answers after won deals and CES
answers after sales opportunities. Dates are written in three forms (ISO with Z, ISO without an
offset, epoch ms). Column names and stages come from the crm source config (`layout.Layout`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from journey_metrics_synth.channels import HUBSPOT_SOURCE
from journey_metrics_synth.layout import Layout
from journey_metrics_synth.persons import (
    COUNTRIES,
    INDUSTRIES,
    Identities,
    People,
    company_of,
    country_of,
    industry_of,
    is_b2b,
)
from journey_metrics_synth.rand import DAY_MS, HOUR_MS, MIN_MS, Arr, Hash, choice, uniform_int
from journey_metrics_synth.surveys import CES, CSAT, NPS, SURVEYS
from journey_metrics_synth.text import iso, money
from journey_metrics_synth.writer import write_monthly

_NONE = np.int64(-1)  # "never" for a stage or event time
N_STAGES = 7  # subscriber, lead, MQL, SQL, opportunity, customer, evangelist
_OPEN_DEAL_STAGES = (
    "appointmentscheduled",
    "qualifiedtobuy",
    "presentationscheduled",
    "decisionmakerboughtin",
    "contractsent",
)
_OPEN_DEAL_P = np.array([0.3, 0.25, 0.2, 0.15, 0.1])
_DEAL_KINDS = ("Team order", "Club kit", "Corporate gift", "Bulk order")
# columns of real contact exports that the pipeline does not read (or keeps only as traits)
_CONTACT_EXTRAS = ("firstname", "lastname", "phone", "country", "industry")
Months = list[tuple[str, int, int]]


@dataclass(frozen=True)
class CrmFacts:
    """What the web and email journeys tell the CRM about each person (by person ordinal)."""

    signup_ts: Arr  # int64 max when never
    first_order: Arr  # int64 max when never
    referrer_ok: Arr  # somebody signed up with one of their invite codes


@dataclass
class _Contacts:
    person: Arr
    create: Arr
    cid: Arr  # hs_object_id
    stages: list[Arr]  # time of entering each lifecycle stage, or -1
    source: Arr  # hs_analytics_source

    @property
    def opp(self) -> Arr:
        return self.stages[4]


@dataclass
class _Deals:
    contact: Arr  # index into the contacts
    won: Arr
    stage: Arr
    close: Arr
    amount: Arr  # cents


@dataclass
class _Nps:
    person: Arr
    time: Arr
    score: Arr


def months(start_ms: int, end_ms: int) -> Months:
    """(YYYY-MM, first ms, end ms) of each calendar month in the window."""
    out = []
    d = datetime.fromtimestamp(start_ms / 1000, tz=UTC).replace(day=1, hour=0, minute=0)
    while int(d.timestamp() * 1000) < end_ms:
        nxt = (d + timedelta(days=32)).replace(day=1)
        lo = max(int(d.timestamp() * 1000), start_ms)
        hi = min(int(nxt.timestamp() * 1000), end_ms)
        out.append((d.strftime("%Y-%m"), lo, hi))
        d = nxt
    return out


def _crm_date(ms: pl.Expr, form: pl.Expr) -> pl.Expr:
    """HubSpot-ish date cell: ISO with Z (55%), ISO without offset (25%), epoch ms (20%)."""
    return (
        pl.when(ms.is_null())
        .then(pl.lit(None, pl.String))
        .when(form < 55)
        .then(iso(ms))
        .when(form < 80)
        .then(iso(ms, millis=False, suffix=""))
        .otherwise(ms.cast(pl.String))
    )


# --- the model ---------------------------------------------------------------------------------


def _new_contacts(
    rng: np.random.Generator, ppl: People, signup_ts: Arr, end_ms: int
) -> tuple[Arr, Arr, Arr]:
    """(person, create time, hs_object_id) of the contacts, in create order."""
    cps = np.flatnonzero((signup_ts < end_ms) & ppl.crm)
    create = signup_ts[cps] + uniform_int(rng, MIN_MS, 3 * HOUR_MS, len(cps))
    keep = create < end_ms
    cps, create = cps[keep], create[keep]
    order = np.argsort(create, kind="stable")
    cps, create = cps[order], create[order]
    cid = 10_000_000 + np.cumsum(rng.integers(1, 7, len(cps)))
    return cps, create, cid


def _stages_before_deals(
    rng: np.random.Generator, create: Arr, first_order: Arr, end_ms: int
) -> tuple[list[Arr], Arr]:
    """Subscriber, lead, MQL, SQL, opportunity times, and when a web order made a customer."""
    n_c = len(create)

    def after(base: Arr, ok: Arr, median_ms: float) -> Arr:
        t = base + np.maximum(rng.exponential(median_ms, len(base)), MIN_MS).astype(np.int64)
        return np.where(ok & (base >= 0), t, _NONE)

    sub = np.where(rng.random(n_c) < 0.55, create, _NONE)
    lead_ok = (rng.random(n_c) < 0.92) | (sub < 0)  # every contact has a stage
    lead = np.where(lead_ok, create + uniform_int(rng, 0, 10 * MIN_MS, n_c), _NONE)
    mql = after(lead, rng.random(n_c) < 0.35, 4 * DAY_MS)
    sql = after(mql, rng.random(n_c) < 0.45, 3 * DAY_MS)
    opp = after(sql, rng.random(n_c) < 0.55, 3 * DAY_MS)
    cust_web = np.where(
        first_order < end_ms,
        np.maximum(first_order, create) + uniform_int(rng, MIN_MS, 2 * HOUR_MS, n_c),
        _NONE,
    )
    for arr in (mql, sql, opp):  # HubSpot stages only move forward
        arr[(cust_web >= 0) & (arr > cust_web)] = _NONE
        arr[arr >= end_ms] = _NONE
    return [sub, lead, mql, sql, opp], cust_web


def _deals(
    rng: np.random.Generator, opp: Arr, cust_web: Arr, end_ms: int
) -> tuple[_Deals, Arr]:
    """Deals of most opportunities, and the customer times once won deals count."""
    has_deal = (opp >= 0) & (rng.random(len(opp)) < 0.9)
    dc = np.flatnonzero(has_deal)
    n_d = len(dc)
    r = rng.random(n_d)
    won, lost = r < 0.35, (r >= 0.35) & (r < 0.65)
    open_stage = np.array(_OPEN_DEAL_STAGES)[choice(rng, np.arange(5), _OPEN_DEAL_P, n_d)]
    stage = np.where(won, "closedwon", np.where(lost, "closedlost", open_stage))
    close = np.where(
        won | lost,
        opp[dc] + DAY_MS + rng.exponential(8 * DAY_MS, n_d).astype(np.int64),
        opp[dc] + uniform_int(rng, 7 * DAY_MS, 40 * DAY_MS, n_d),
    )
    late = close >= end_ms
    close = np.where(
        late,
        opp[dc] + ((end_ms - 1 - opp[dc]) * rng.uniform(0.1, 0.99, n_d)).astype(np.int64),
        close,
    )
    amount = (np.round(rng.lognormal(math.log(2500), 0.8, n_d) / 50) * 5000).astype(np.int64)
    amount = np.maximum(amount, 5000)
    cust = cust_web.copy()
    won_c = dc[won]
    t_won = close[won] + uniform_int(rng, MIN_MS, HOUR_MS, int(won.sum()))
    cur = cust[won_c]
    cust[won_c] = np.where((cur < 0) | (t_won < cur), t_won, cur)
    cust[cust >= end_ms] = _NONE
    return _Deals(dc, won, stage, close, amount), cust


def _nps_answers(rng: np.random.Generator, ppl: People, first_order: Arr, end_ms: int) -> _Nps:
    """NPS answers from a third of the customers (web orders), days after their first order."""
    resp = np.flatnonzero((first_order < end_ms) & (rng.random(ppl.n) < 0.35))
    t_sub = first_order[resp] + uniform_int(rng, 2 * DAY_MS, 12 * DAY_MS, len(resp))
    keep = t_sub < end_ms
    resp, t_sub = resp[keep], t_sub[keep]
    return _Nps(resp, t_sub, NPS.draw(rng, len(resp)))


def _evangelists(
    rng: np.random.Generator, n_people: int, cps: Arr, cust: Arr, nps: _Nps, referrer_ok: Arr
) -> Arr:
    """Customers who promote (NPS 9-10) or referred somebody often become evangelists."""
    promoter = np.zeros(n_people, dtype=bool)
    promoter[nps.person[nps.score >= 9]] = True
    nps_time = np.full(n_people, -1, dtype=np.int64)
    nps_time[nps.person] = nps.time
    n_c = len(cps)
    ev_ok = (cust >= 0) & (
        ((promoter[cps] | referrer_ok[cps]) & (rng.random(n_c) < 0.5)) | (rng.random(n_c) < 0.02)
    )
    out: Arr = np.where(
        ev_ok,
        np.maximum(cust, nps_time[cps]) + uniform_int(rng, HOUR_MS, 5 * DAY_MS, n_c),
        _NONE,
    )
    return out


def _simulate(
    rng: np.random.Generator, ppl: People, facts: CrmFacts, end_ms: int
) -> tuple[_Contacts, _Deals, _Nps]:
    cps, create, cid = _new_contacts(rng, ppl, facts.signup_ts, end_ms)
    early, cust_web = _stages_before_deals(rng, create, facts.first_order[cps], end_ms)
    deals, cust = _deals(rng, early[4], cust_web, end_ms)
    nps = _nps_answers(rng, ppl, facts.first_order, end_ms)
    evang = _evangelists(rng, ppl.n, cps, cust, nps, facts.referrer_ok)
    stages = [*early, cust, evang]
    for arr in stages:
        arr[arr >= end_ms] = _NONE
    source = HUBSPOT_SOURCE[ppl.group[cps]]
    source = np.where(rng.random(len(cps)) < 0.04, "OFFLINE", source)
    return _Contacts(cps, create, cid, stages, source), deals, nps


# --- the files ---------------------------------------------------------------------------------


class CrmWriter:
    """Writes the contacts, deals and feedback exports of a run."""

    def __init__(self, h: Hash, ids: Identities, ppl: People, layout: Layout, out_dir: Path,
                 months: Months) -> None:
        self.h = h
        self.ids = ids
        self.ppl = ppl
        self.layout = layout
        self.out_dir = out_dir
        self.months = months
        self.stages = layout.lifecycle_stages()
        if len(self.stages) != N_STAGES:
            raise ValueError(
                f"the generator simulates {N_STAGES} lifecycle stages, the crm source's contact "
                f"columns name {len(self.stages)} (hs_lifecyclestage_<stage>_date)"
            )

    def write(
        self, rng: np.random.Generator, later: np.random.Generator, facts: CrmFacts, end_ms: int
    ) -> tuple[int, int, int]:
        """Write all CRM exports. Returns (files, rows, malformed rows).

        `later` draws what came later (CSAT and CES answers), so the rest does not depend on it.
        """
        contacts, deals, nps = _simulate(rng, self.ppl, facts, end_ms)
        files, rows = self._write_contacts(contacts)
        deal_frame = self._deals_frame(rng, contacts, deals)
        files += write_monthly(deal_frame, self.months, self.out_dir, self.layout.deals)
        rows += deal_frame.height
        feedback, n_bad = self._feedback_frame(rng, later, contacts, deals, nps, end_ms)
        files += write_monthly(feedback, self.months, self.out_dir, self.layout.feedback)
        rows += feedback.height
        return files, rows, n_bad

    # contacts --------------------------------------------------------------------------------

    def _contact_extras(self, c: _Contacts) -> dict[str, pl.Series]:
        """Columns that real exports carry: names and phone (never kept as traits), country and,
        for B2B contacts, their company's industry (kept: CONTRACT §6)."""
        h, cps = self.h, c.person
        industry = np.where(is_b2b(h, cps), industry_of(company_of(h, cps)), len(INDUSTRIES))
        return {
            "firstname": self.ids.first_names(cps),
            "lastname": self.ids.last_names(cps),
            "phone": pl.Series(
                [f"+49 30 555{n:05d}" for n in h.small(cps, 90, 100_000)], dtype=pl.String
            ),
            "country": pl.Series(COUNTRIES).gather(country_of(h, cps)),
            "industry": pl.Series([*INDUSTRIES, ""]).gather(industry),
        }

    def _write_contacts(self, c: _Contacts) -> tuple[int, int]:
        """One export per month of the contacts created or changed in it."""
        emails = self.ids.email(c.person)
        extras = self._contact_extras(c)
        files = rows = 0
        for mi, (label, lo, hi) in enumerate(self.months):
            touched = (c.create >= lo) & (c.create < hi)
            for arr in c.stages:
                touched |= (arr >= lo) & (arr < hi)
            sel = np.flatnonzero(touched & (c.create < hi))
            if len(sel) == 0 and mi > 0:
                continue
            df = self._contacts_frame(c, sel, emails, extras, mi, hi)
            df.write_csv(self.layout.contacts.path(self.out_dir, label), include_bom=(mi == 0))
            files += 1
            rows += df.height
        return files, rows

    def _contacts_frame(self, c: _Contacts, sel: Arr, emails: pl.Series,
                        extras: dict[str, pl.Series], mi: int, hi: int) -> pl.DataFrame:
        """The export of month `mi` (ending at `hi`) of the contacts `sel`, as of its end."""
        stage_now = np.full(len(sel), -1, dtype=np.int64)
        for k, arr in enumerate(c.stages):
            stage_now = np.where((arr[sel] >= 0) & (arr[sel] < hi), k, stage_now)
        frame: dict[str, pl.Series | Arr] = {
            "hs_object_id": c.cid[sel],
            "email": emails.gather(sel),
            "createdate": c.create[sel],
            "lifecyclestage": pl.Series([*self.stages, ""]).gather(
                np.where(stage_now < 0, N_STAGES, stage_now)
            ),
            "hs_analytics_source": c.source[sel],
        }
        cells = {name: pl.col(name) for name in frame}
        cells["createdate"] = _crm_date(pl.col("createdate"), pl.col("c_0")).alias("createdate")
        for k, (stage, arr) in enumerate(zip(self.stages, c.stages, strict=True)):
            name = f"hs_lifecyclestage_{stage}_date"
            frame[name] = _reached_by(arr[sel], hi, name)
            cells[name] = _crm_date(pl.col(name), pl.col(f"c_{k + 1}")).alias(name)
        for name, series in extras.items():
            frame[name] = series.gather(sel)
            cells[name] = pl.col(name)
        for k in range(N_STAGES + 1):  # the date form of each date cell
            frame[f"c_{k}"] = self.h.small(c.cid[sel] * 16 + k, 60 + mi, 100)
        columns = [*self.layout.contacts.columns, *_CONTACT_EXTRAS]
        return pl.DataFrame(frame).select([_cell(cells, name, "contacts") for name in columns])

    # deals -----------------------------------------------------------------------------------

    def _deals_frame(self, rng: np.random.Generator, c: _Contacts, d: _Deals) -> pl.DataFrame:
        """All deals, with `_t` (the close time) to split them by month."""
        n_d = len(d.contact)
        deal_id = 20_000_000 + np.cumsum(rng.integers(1, 5, n_d))
        person = c.person[d.contact]
        name = (
            pl.concat_str(
                [
                    self.ids.first_names(person),
                    pl.lit(" "),
                    self.ids.last_names(person),
                    pl.lit(" - "),
                    pl.Series(_DEAL_KINDS).gather(self.h.small(deal_id, 70, len(_DEAL_KINDS))),
                ]
            )
            if n_d
            else pl.lit("")
        )
        deals = pl.DataFrame(
            {
                "hs_object_id": deal_id,
                "stage": d.stage.astype(str),
                "amount": d.amount,
                "close": d.close,
                "contact": c.cid[d.contact],
                "c": self.h.small(deal_id, 71, 100),
            }
        ).with_columns(dealname=name if n_d else pl.lit("", pl.String))
        cells = {
            "hs_object_id": pl.col("hs_object_id"),
            "dealname": pl.col("dealname"),
            "dealstage": pl.col("stage").alias("dealstage"),
            "amount": money(pl.col("amount")).alias("amount"),
            "closedate": _crm_date(pl.col("close"), pl.col("c")).alias("closedate"),
            "associated_contact_id": pl.col("contact").alias("associated_contact_id"),
        }
        columns = self.layout.deals.columns
        return deals.select(
            *[_cell(cells, name, "deals") for name in columns], pl.col("close").alias("_t")
        )

    # feedback --------------------------------------------------------------------------------

    def _feedback_frame(self, rng: np.random.Generator, later: np.random.Generator,
                        c: _Contacts, d: _Deals, nps: _Nps,
                        end_ms: int) -> tuple[pl.DataFrame, int]:
        """NPS answers (a few with an out-of-range score), CSAT after some won deals and CES after
        some opportunities, in submission order with `_t`; and the count of bad answers."""
        n_f = len(nps.person)
        n_bad = max(1, n_f // 500) if n_f else 0
        bad = rng.choice(n_f, n_bad, replace=False) if n_bad else np.zeros(0, dtype=np.int64)
        won_p = c.person[d.contact[d.won]]
        csat_ok = later.random(len(won_p)) < 0.45
        t_csat = d.close[d.won][csat_ok] + uniform_int(later, HOUR_MS, 5 * DAY_MS,
                                                       int(csat_ok.sum()))  # fmt: skip
        csat = CSAT.draw(later, len(t_csat))
        opp_c = np.flatnonzero(c.opp >= 0)
        ces_ok = later.random(len(opp_c)) < 0.30
        t_ces = c.opp[opp_c][ces_ok] + uniform_int(later, HOUR_MS, 3 * DAY_MS, int(ces_ok.sum()))
        ces = CES.draw(later, len(t_ces))
        person = np.concatenate(
            [nps.person, nps.person[bad], won_p[csat_ok], c.person[opp_c][ces_ok]]
        )
        time = np.concatenate(
            [nps.time, np.minimum(nps.time[bad] + HOUR_MS, end_ms - 1), t_csat, t_ces]
        )
        score = np.concatenate([nps.score, np.full(n_bad, NPS.high + 1), csat, ces])
        survey = np.concatenate(
            [np.zeros(n_f + n_bad, dtype=np.int64), np.full(len(t_csat), 1), np.full(len(t_ces), 2)]
        )
        keep = time < end_ms
        person, time, score, survey = person[keep], time[keep], score[keep], survey[keep]
        order = np.argsort(time, kind="stable")
        person, time, score, survey = person[order], time[order], score[order], survey[order]
        return self._feedback_cells(rng, c, person, time, score, survey), n_bad

    def _feedback_cells(self, rng: np.random.Generator, c: _Contacts, person: Arr, time: Arr,
                        score: Arr, survey: Arr) -> pl.DataFrame:
        """Answers name their contact by id, by e-mail address (spelt as typed) or both."""
        fid = 30_000_000 + np.cumsum(rng.integers(1, 4, len(person)))
        contact_of = np.full(self.ppl.n, -1, dtype=np.int64)
        contact_of[c.person] = np.arange(len(c.person))
        f_contact = contact_of[person]
        r = rng.random(len(person))
        with_id = (f_contact >= 0) & (r < 0.8)
        with_mail = (f_contact < 0) | (r < 0.4) | (r >= 0.8)
        var_r = self.h.small(fid, 72, 100)
        variant = np.select([var_r < 10, var_r < 13], [1, 2], default=0)
        n_c = len(c.person)
        feedback = pl.DataFrame(
            {
                "hs_object_id": fid,
                "hs_survey_type": pl.Series([s.name.upper() for s in SURVEYS]).gather(survey),
                "hs_response_value": score,
                "_t": time,
                "c": self.h.small(fid, 73, 100),
                "mail": self.ids.email(person, variant),
                "with_mail": with_mail,
                "contact": c.cid[np.maximum(f_contact, 0)] if n_c else np.zeros(len(fid), np.int64),
                "with_id": with_id,
            }
        )
        cells = {
            "hs_object_id": pl.col("hs_object_id"),
            "hs_survey_type": pl.col("hs_survey_type"),
            "hs_response_value": pl.col("hs_response_value"),
            "hs_submission_timestamp": _crm_date(pl.col("_t"), pl.col("c")).alias(
                "hs_submission_timestamp"
            ),
            "contact_email": pl.when(pl.col("with_mail")).then(pl.col("mail")).alias(
                "contact_email"
            ),
            "associated_contact_id": pl.when(pl.col("with_id")).then(pl.col("contact")).alias(
                "associated_contact_id"
            ),
        }
        columns = self.layout.feedback.columns
        return feedback.select(*[_cell(cells, name, "feedback") for name in columns], "_t")


def _reached_by(times: Arr, hi: int, name: str) -> pl.Series:
    """Stage times reached before `hi`, null otherwise."""
    if not len(times):
        return pl.Series(name, [], dtype=pl.Int64)
    not_yet = (times < 0) | (times >= hi)
    return pl.Series(np.where(~not_yet, times, 0)).set(pl.Series(not_yet), None)


def _cell(cells: dict[str, pl.Expr], name: str, export: str) -> pl.Expr:
    if name not in cells:
        raise ValueError(
            f"the crm source lists a {export} column {name!r} the generator cannot fill"
        )
    return cells[name]
