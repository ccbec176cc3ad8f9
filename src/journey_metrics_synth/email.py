"""E-mail (SendGrid Event Webhook): who is sent what, what happens to each message, the events.

A welcome mail goes out on signup, newsletters and promos to opted-in signed-up persons who have
not opted out, and an order confirmation after every order. Messages are dropped, bounce, are
deferred or delivered; delivered ones are opened and clicked (a click leads to a web session with
``utm_medium=email``, see `journeys.click_sessions`), and marketing mails see unsubscribes, spam
reports and group unsubscribes (a few of those resubscribe).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl

from journey_metrics_synth.channels import UTM_FIXED
from journey_metrics_synth.journeys import Counters
from journey_metrics_synth.malformed import M_NO_EMAIL
from journey_metrics_synth.persons import Identities, People
from journey_metrics_synth.rand import (
    DAY_MS,
    HOUR_MS,
    MIN_MS,
    Arr,
    Hash,
    lognormal_ms,
    ranks_within,
    uniform_int,
)
from journey_metrics_synth.site import P_BLOG2, P_HOME, P_NEW, P_SALE, WEB_HOST, Site
from journey_metrics_synth.text import b64, kn, kv, obj

# SendGrid events
E_PROCESSED, E_DROPPED, E_DELIVERED, E_DEFERRED, E_BOUNCE, E_OPEN, E_CLICK = 0, 1, 2, 3, 4, 5, 6
E_SPAM, E_UNSUB, E_GUNSUB, E_GRESUB = 7, 8, 9, 10
EMAIL_EVENTS = (
    "processed",
    "dropped",
    "delivered",
    "deferred",
    "bounce",
    "open",
    "click",
    "spamreport",
    "unsubscribe",
    "group_unsubscribe",
    "group_resubscribe",
)
_USER_AGENTS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_2 like Mac OS X) AppleWebKit/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_7) AppleWebKit/605.1.15 Safari/605.1.15",
    "Mozilla/5.0 (Linux; Android 15) AppleWebKit/537.36 Chrome/131.0 Mobile",
    "Mozilla/5.0 via ggpht.com GoogleImageProxy",
)
_DROP_REASONS = ("Bounced Address", "Invalid", "Unsubscribed Address")
_BOUNCE_REASONS = (
    "550 5.1.1 The email account that you tried to reach does not exist.",
    "552 5.2.2 The email account that you tried to reach is over quota.",
)
_PROMO_NAMES = ("winter-sale", "spring-preview", "easter-deals", "summer-kickoff", "mid-season")
_ASM_GROUP_ID = "4521"
WELCOME, CONFIRMATION = 0, 1  # campaign indexes; the scheduled campaigns follow
_LAND_PRODUCT = -1  # a campaign landing meaning "a product page"


@dataclass
class Campaign:
    name: str
    send_ms: int
    category: str  # JSON: a string or a list of strings
    utm: int  # its row in the UTM table
    audience: float
    land: tuple[int, ...]


@dataclass
class Mail:
    """SendGrid events, one array per field."""

    ts: Arr
    person: Arr
    ev: Arr
    msg: Arr  # message ordinal
    camp: Arr
    path: Arr  # landing path of a click, else -1

    @staticmethod
    def concat(parts: list[Mail]) -> Mail:
        names = [f.name for f in fields(Mail)]
        return Mail(**{k: np.concatenate([getattr(p, k) for p in parts]) for k in names})

    def take(self, idx: Arr) -> Mail:
        return Mail(**{f.name: getattr(self, f.name)[idx] for f in fields(Mail)})

    def before(self, end_ms: int) -> Mail:
        return self.take(np.flatnonzero(self.ts < end_ms))

    def __len__(self) -> int:
        return len(self.ts)


def campaigns(start: date, days: int) -> list[Campaign]:
    """Welcome and confirmation mails, then newsletters (every other Tuesday) and three promos,
    in send order."""
    out: list[Campaign] = [
        Campaign("welcome-series", 0, '["transactional","welcome"]', 0, 1.0, (P_NEW,)),
        Campaign("order-confirmation", 0, '"order_confirmation"', 0, 1.0, (P_HOME,)),
    ]
    sends: list[tuple[datetime, str, str, float, tuple[int, ...]]] = []
    first_tue = start + timedelta(days=2 + (1 - (start + timedelta(days=2)).weekday()) % 7)
    d = first_tue
    while d < start + timedelta(days=days):
        at = datetime(d.year, d.month, d.day, 9, 0, tzinfo=UTC)
        sends.append((at, f"newsletter-{d.isoformat()}", '"newsletter"', 0.9, (P_BLOG2, P_NEW)))
        d += timedelta(days=14)
    for i, frac in enumerate((0.22, 0.5, 0.78)):
        d = start + timedelta(days=int(days * frac))
        at = datetime(d.year, d.month, d.day, 10, 30, tzinfo=UTC)
        promo = _PROMO_NAMES[i % len(_PROMO_NAMES)]
        sends.append((at, f"promo-{promo}", f'["promo","{promo}"]', 0.6, (P_SALE, _LAND_PRODUCT)))
    sends.sort()
    for at, name, category, audience, land in sends:
        out.append(Campaign(name, int(at.timestamp() * 1000), category, 0, audience, land))
    for i, c in enumerate(out):
        c.utm = len(UTM_FIXED) + i
    return out


def utm_table(camps: list[Campaign]) -> list[tuple[str, str, str]]:
    """The fixed UTM campaigns followed by one per mail campaign."""
    table = list(UTM_FIXED)
    for c in camps:
        source = "newsletter" if c.name.startswith("newsletter") else "sendgrid"
        table.append((source, "email", c.name))
    return table


# --- what happens to the messages --------------------------------------------------------------


@dataclass
class _Fate:
    """What happens to each message of one send."""

    dropped: Arr
    bounce: Arr
    deferred: Arr
    delivered: Arr
    t_fail: Arr
    t_del: Arr
    n_open: Arr
    first_open: Arr
    n_click: Arr
    unsub: Arr
    spam: Arr
    gunsub: Arr
    gresub: Arr
    t_unsub: Arr
    t_gresub: Arr


class _MailEvents:
    """Events of one send collected kind by kind: (time, event, message index, landing path)."""

    def __init__(self) -> None:
        self.ts: list[Arr] = []
        self.ev: list[Arr] = []
        self.idx: list[Arr] = []
        self.path: list[Arr] = []

    def add(self, sel: Arr, times: Arr, code: int, path: Arr | None = None) -> None:
        self.ts.append(times)
        self.ev.append(np.full(len(sel), code, dtype=np.int8))
        self.idx.append(sel)
        self.path.append(np.full(len(sel), -1, dtype=np.int32) if path is None else path)


class Mailer:
    """Sends the mails of a run and remembers who bounced or opted out."""

    def __init__(self, rng: np.random.Generator, ppl: People, site: Site, ctr: Counters,
                 camps: list[Campaign]) -> None:
        self.rng = rng
        self.ppl = ppl
        self.site = site
        self.ctr = ctr
        self.campaigns = camps
        self.bounced = np.zeros(ppl.n, dtype=bool)
        self.suppressed = np.zeros(ppl.n, dtype=bool)

    def welcome_and_campaigns(self, signup_ts: Arr, end_ms: int) -> Mail:
        """The welcome mail after each signup, then every scheduled campaign to its audience."""
        rng, n = self.rng, self.ppl.n
        signed = np.flatnonzero(signup_ts < end_ms)
        signed = signed[np.argsort(signup_ts[signed], kind="stable")]
        send_ts = signup_ts[signed] + uniform_int(rng, 5_000, 90_000, len(signed))
        mails = [self.send(signed, send_ts, WELCOME, marketing=False)]
        for ci in range(CONFIRMATION + 1, len(self.campaigns)):
            camp = self.campaigns[ci]
            elig = (
                (signup_ts < camp.send_ms)
                & self.ppl.opt_in
                & ~self.suppressed
                & (rng.random(n) < camp.audience)
            )
            rec = np.flatnonzero(elig)
            t = camp.send_ms + uniform_int(rng, 0, 20 * MIN_MS, len(rec))
            mails.append(self.send(rec, t, ci, marketing=True))
        return Mail.concat(mails).before(end_ms)

    def followed_clicks(self, mail: Mail) -> Arr:
        """The first click of each clicked message, for most of them (they open a web session)."""
        clicks = np.flatnonzero(mail.ev == E_CLICK)
        clicks = clicks[np.argsort(mail.msg[clicks], kind="stable")]
        first_click = (
            clicks[np.r_[True, mail.msg[clicks][1:] != mail.msg[clicks][:-1]]]
            if len(clicks)
            else clicks
        )
        out: Arr = first_click[self.rng.random(len(first_click)) < 0.85]
        return out

    def order_confirmations(self, person: Arr, order_ts: Arr) -> Mail:
        """A confirmation shortly after each order (in order time)."""
        conf_ts = order_ts + uniform_int(self.rng, 3_000, 60_000, len(order_ts))
        return self.send(person, conf_ts, CONFIRMATION, marketing=False)

    def send(self, persons: Arr, send_ts: Arr, camp_id: int, *, marketing: bool) -> Mail:
        """All events of one mail to `persons` sent at `send_ts`."""
        n = len(persons)
        msg = self.ctr.message + np.arange(n, dtype=np.int64)
        self.ctr.message += n
        fate = self._fate(persons, send_ts, camp_id, marketing)
        events = self._events(fate, send_ts, self.campaigns[camp_id])
        self.bounced[persons[fate.bounce]] = True
        self.suppressed[persons[fate.unsub | fate.spam | (fate.gunsub & ~fate.gresub)]] = True
        sel = np.concatenate(events.idx)
        return Mail(
            ts=np.concatenate(events.ts),
            person=persons[sel],
            ev=np.concatenate(events.ev),
            msg=msg[sel],
            camp=np.full(len(sel), camp_id, dtype=np.int16),
            path=np.concatenate(events.path),
        )

    def _fate(self, persons: Arr, proc: Arr, camp_id: int, marketing: bool) -> _Fate:
        rng, ppl, n = self.rng, self.ppl, len(persons)
        # delivery
        r = rng.random(n)
        dropped = self.bounced[persons] | (r < 0.004)
        bounce = ~dropped & (r < 0.016)
        deferred = ~dropped & ~bounce & (r < 0.036)
        delivered = ~dropped & ~bounce
        t_fail = proc + uniform_int(rng, 800, 60_000, n)
        t_del = np.where(
            deferred,
            t_fail + uniform_int(rng, 5 * MIN_MS, 4 * HOUR_MS, n),
            proc + uniform_int(rng, 800, 30_000, n),
        )
        # opens and clicks (transactional mails are opened more; confirmations have no links)
        open_mult = 1.0 if marketing else 1.6
        opened = delivered & (rng.random(n) < np.minimum(ppl.open_p[persons] * open_mult, 0.95))
        n_open = np.where(opened, np.minimum(rng.geometric(0.65, n), 5), 0)
        first_open = t_del + np.maximum(
            lognormal_ms(rng, 2 * HOUR_MS, 1.3, n), 5_000
        ).astype(np.int64)
        clicked = opened & (rng.random(n) < ppl.click_p[persons]) & (camp_id != CONFIRMATION)
        n_click = np.where(clicked, 1 + (rng.random(n) < 0.25), 0)
        # opting out of marketing mail
        u = rng.random(n)
        unsub = marketing & delivered & (u < 0.003)
        spam = marketing & delivered & (u >= 0.003) & (u < 0.0038)
        gunsub = marketing & delivered & (u >= 0.0038) & (u < 0.0058)
        gresub = gunsub & (rng.random(n) < 0.15)
        t_unsub = np.maximum(first_open, t_del) + uniform_int(rng, 10_000, 10 * MIN_MS, n)
        t_gresub = t_unsub + uniform_int(rng, HOUR_MS, 7 * DAY_MS, n)
        return _Fate(dropped, bounce, deferred, delivered, t_fail, t_del, n_open, first_open,
                     n_click, unsub, spam, gunsub, gresub, t_unsub, t_gresub)  # fmt: skip

    def _events(self, f: _Fate, proc: Arr, camp: Campaign) -> _MailEvents:
        rng = self.rng
        ar = np.arange(len(proc))
        ev = _MailEvents()
        ev.add(ar, proc, E_PROCESSED)
        ev.add(ar[f.dropped], f.t_fail[f.dropped], E_DROPPED)
        ev.add(ar[f.bounce], f.t_fail[f.bounce], E_BOUNCE)
        ev.add(ar[f.deferred], f.t_fail[f.deferred], E_DEFERRED)
        ev.add(ar[f.delivered], f.t_del[f.delivered], E_DELIVERED)
        o = np.repeat(ar, f.n_open)
        gaps = (ranks_within(f.n_open) * rng.exponential(DAY_MS * 0.7, len(o))).astype(np.int64)
        ev.add(o, f.first_open[o] + gaps, E_OPEN)
        c = np.repeat(ar, f.n_click)
        t_click = (
            f.first_open[c]
            + uniform_int(rng, 3_000, 5 * MIN_MS, len(c))
            + ranks_within(f.n_click) * uniform_int(rng, MIN_MS, 30 * MIN_MS, len(c))
        )
        ev.add(c, t_click, E_CLICK, self._click_landings(camp, len(c)))
        ev.add(ar[f.unsub], f.t_unsub[f.unsub], E_UNSUB)
        ev.add(ar[f.spam], f.t_unsub[f.spam], E_SPAM)
        ev.add(ar[f.gunsub], f.t_unsub[f.gunsub], E_GUNSUB)
        ev.add(ar[f.gresub], f.t_gresub[f.gresub], E_GRESUB)
        return ev

    def _click_landings(self, camp: Campaign, n: int) -> Arr:
        """Path codes the clicks of a campaign land on (one of its landings; -1: a product)."""
        land_opts = np.array(camp.land)
        lc = land_opts[self.rng.integers(0, len(land_opts), n)]
        out: Arr = np.where(lc < 0, self.site.product_pages(self.rng, n), lc).astype(np.int32)
        return out


# --- SendGrid event JSON -----------------------------------------------------------------------


class SendGridWriter:
    """Renders mail events as SendGrid Event Webhook objects."""

    def __init__(self, h: Hash, ids: Identities, site: Site, utm: list[tuple[str, str, str]],
                 camps: list[Campaign]) -> None:
        self.h = h
        self.ids = ids
        self.site = site
        self.utm_src = pl.Series([u[0] for u in utm])
        self.camp_name = pl.Series([c.name for c in camps])
        self.camp_cat = pl.Series([c.category for c in camps])
        self.camp_utm = np.array([c.utm for c in camps], dtype=np.int64)

    def lines(self, m: Mail, key: Arr, mal: Arr) -> pl.Series:
        """One SendGrid event object per row, in row order."""
        h = self.h
        df = pl.DataFrame(
            {
                "ev": m.ev,
                "mal": mal.astype(np.int8),
                "email": self.ids.email(m.person),
                "ts": m.ts // 1000,
                "name": pl.Series(EMAIL_EVENTS).gather(m.ev),
                "eid": b64(h(key, 41), h(key, 42)),
                "mid": b64(h(m.msg, 43), h(m.msg, 44)),
                "mid_n": h.small(m.msg, 45, 90_000) + 10_000,
                "smtp": b64(h(m.msg, 46), h(m.msg, 47)),
                "cat": self.camp_cat.gather(m.camp),
                "camp": self.camp_name.gather(m.camp),
                "ua": pl.Series(_USER_AGENTS).gather(h.small(m.person, 48, len(_USER_AGENTS))),
                "drop": pl.Series(_DROP_REASONS).gather(h.small(key, 49, 2)),
                "bounce": pl.Series(_BOUNCE_REASONS).gather(h.small(key, 50, 2)),
                "path": self.site.paths.gather(np.maximum(m.path, 0)),
                "src": self.utm_src.gather(self.camp_utm[m.camp]),
            }
        )
        line = obj(
            [
                pl.when(pl.col("mal") != M_NO_EMAIL).then(kv("email", pl.col("email"))),
                kn("timestamp", pl.col("ts").cast(pl.String)),
                kv("event", pl.col("name")),
                kv("sg_event_id", pl.col("eid")),
                *_message_ids(),
                *_delivery_fields(),
                *_engagement_fields(),
                kn("category", pl.col("cat")),
                kv("campaign", pl.col("camp")),
            ]
        )
        return df.select(line.alias("line")).to_series()


def _message_ids() -> list[pl.Expr]:
    """sg_message_id, and the smtp-id of the events of the sending itself."""
    ev, col = pl.col("ev"), pl.col
    smtp_events = ev.is_in([E_PROCESSED, E_DROPPED, E_DELIVERED, E_DEFERRED, E_BOUNCE])
    sg_mid = pl.concat_str(
        [col("mid"), pl.lit(".filterdrecv-"), col("mid_n").cast(pl.String), pl.lit("-1.0")]
    )
    smtp = pl.concat_str([pl.lit("<"), col("smtp"), pl.lit("@ismtpd0001p1lon1.sendgrid.net>")])
    return [kv("sg_message_id", sg_mid), pl.when(smtp_events).then(kv("smtp-id", smtp))]


def _delivery_fields() -> list[pl.Expr]:
    """response, attempt, reason, status and type of delivered, deferred, dropped, bounced."""
    ev, col = pl.col("ev"), pl.col
    return [
        pl.when(ev == E_DELIVERED).then(kv("response", pl.lit("250 2.0.0 OK"))),
        pl.when(ev == E_DEFERRED).then(
            kv("response", pl.lit("400 4.2.2 mailbox temporarily unavailable"))
        ),
        pl.when(ev == E_DEFERRED).then(kn("attempt", pl.lit("1"))),
        pl.when(ev == E_DROPPED).then(kv("reason", col("drop"))),
        pl.when(ev == E_BOUNCE).then(kv("reason", col("bounce"))),
        pl.when(ev == E_BOUNCE).then(kv("status", col("bounce").str.slice(4, 5))),
        pl.when(ev == E_BOUNCE).then(kv("type", pl.lit("bounce"))),
    ]


def _engagement_fields() -> list[pl.Expr]:
    """useragent of opens and clicks, the url of a click, the group of (re)subscriptions."""
    ev, col = pl.col("ev"), pl.col
    url = pl.concat_str(
        [pl.lit(WEB_HOST), col("path"), pl.lit("?utm_source="), col("src"),
         pl.lit("&utm_medium=email&utm_campaign="), col("camp")]
    )  # fmt: skip
    return [
        pl.when((ev == E_OPEN) | (ev == E_CLICK)).then(kv("useragent", col("ua"))),
        pl.when(ev == E_CLICK).then(kv("url", url)),
        pl.when((ev == E_GUNSUB) | (ev == E_GRESUB)).then(
            kn("asm_group_id", pl.lit(_ASM_GROUP_ID))
        ),
    ]
