"""Web journeys: each person's sessions on the shop and in the app, as arrays of events.

1. Persons arrive over the window through an acquisition channel (UTM and/or referrer).
2. Each person has one or more web sessions (gaps of at least 45 minutes, so sessions are clearly
   separated under a 30-minute rule). Sessions hold page views, product views, and for some
   persons signup (identify + ``Signed Up``), cart, checkout and orders, invites.
   Some signed-up persons use a second device: a second anonymousId, first anonymous, then linked
   by ``Signed In`` + identify carrying the same userId.
3. Invitees are new persons who arrive after an ``Invite Sent`` of another person and sign up with
   that ``invite_code``.
4. The whole experience: a quarter of the signed-up persons also use the mobile app (``screen``
   calls from an app anonymousId, linked by an ``alias`` at the first login); B2B persons belong
   to a company (``group`` calls, some companies upgrade later); some orders are followed by a
   CSAT answer and some signups by a CES answer (track ``Survey Answered``).

Events are rows of `WebEvents` (one array per field); `web.py` renders them as Segment messages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields

import numpy as np

from journey_metrics_synth.channels import GROUPS, RET_W, SIGNUP_P, U_INVITE, pick_channels
from journey_metrics_synth.persons import People, is_b2b
from journey_metrics_synth.rand import (
    DAY_MS,
    HOUR_MS,
    MIN_MS,
    Arr,
    Hash,
    choice,
    lognormal_ms,
    ranks_within,
    uniform_int,
)
from journey_metrics_synth.site import (
    BROWSE_P,
    BROWSE_PATHS,
    N_STATIC,
    OWN_REF_BASE,
    P_CHECKOUT,
    P_HOME,
    P_INVITE,
    P_LOGIN,
    P_SIGNUP,
    R_NONE,
    Site,
)
from journey_metrics_synth.surveys import CES, CSAT

# Web event kinds
K_PAGE, K_IDENTIFY, K_SIGNED_UP, K_SIGNED_IN, K_VIEWED, K_ADDED = 0, 1, 2, 3, 4, 5
K_CHECKOUT, K_ORDER, K_INVITE = 6, 7, 8
K_SCREEN, K_ALIAS, K_GROUP, K_SURVEY = 9, 10, 11, 12  # app screens, alias, group, web surveys
DEVICE_APP = 2  # device 0 and 1 are browsers, 2 the app
N_SCREENS = 9  # app screens (web.SCREENS); 0 is Home
_SCREEN_P = np.array([0.0, 0.22, 0.30, 0.12, 0.10, 0.04, 0.08, 0.09, 0.05])


@dataclass
class WebEvents:
    """Web events, one array per field. Meaning of `qty` and `aux` depends on the kind:
    orders and invites number themselves in `aux`, a signup carries its invite ordinal (or -1),
    screens their screen, surveys their score (`qty` 0 CSAT, 1 CES); a group call's `qty` 1 marks
    the call after the company's upgrade."""

    person: Arr
    ts: Arr
    kind: Arr
    device: Arr
    user: Arr  # the userId is known on this device
    path: Arr
    ref: Arr
    utm: Arr
    product: Arr
    qty: Arr
    aux: Arr

    @staticmethod
    def concat(parts: list[WebEvents]) -> WebEvents:
        names = [f.name for f in fields(WebEvents)]
        return WebEvents(**{k: np.concatenate([getattr(p, k) for p in parts]) for k in names})

    def take(self, idx: Arr) -> WebEvents:
        return WebEvents(**{f.name: getattr(self, f.name)[idx] for f in fields(WebEvents)})

    def before(self, end_ms: int) -> WebEvents:
        return self.take(np.flatnonzero(self.ts < end_ms))

    def __len__(self) -> int:
        return len(self.ts)


class Counters:
    """Running ordinals of orders, invites and e-mail messages across the whole run."""

    def __init__(self) -> None:
        self.order = 0
        self.invite = 0
        self.message = 0


@dataclass
class _Sessions:
    person: Arr
    device: Arr
    known: Arr  # userId known on this device when the session starts
    signup: Arr
    login: Arr  # first session on the second device: Signed In + identify
    utm: Arr
    ref: Arr
    land: Arr
    invite_used: Arr


# --- the events inside sessions ----------------------------------------------------------------


@dataclass
class _Outcomes:
    """What each session does beyond its landing page."""

    n_browse: Arr
    n_prod: Arr
    cart: Arr
    checkout: Arr
    order: Arr
    n_inv: Arr
    signin: Arr
    cart_product: Arr
    cart_qty: Arr


def _draw_outcomes(rng: np.random.Generator, s: _Sessions, shopper: Arr, site: Site) -> _Outcomes:
    n_s = len(s.person)
    can_buy = s.signup | s.known | s.login
    n_browse = rng.poisson(1.1, n_s)
    n_prod = np.where(shopper, rng.poisson(1.0, n_s), 0)
    cart = shopper & (rng.random(n_s) < np.where(can_buy, 0.30, 0.05))
    checkout = cart & can_buy & (rng.random(n_s) < 0.55)
    order = checkout & (rng.random(n_s) < 0.75)
    n_inv = np.where(can_buy & (rng.random(n_s) < 0.04), 1 + rng.binomial(2, 0.3, n_s), 0)
    signin = s.known & (rng.random(n_s) < 0.15)
    cart_product = site.sample(rng, n_s)
    cart_qty = (1 + (rng.random(n_s) < 0.2) + (rng.random(n_s) < 0.05)).astype(np.int8)
    return _Outcomes(n_browse, n_prod, cart, checkout, order, n_inv, signin, cart_product,
                     cart_qty)  # fmt: skip


class _EventList:
    """Events collected group by group, then put in session order.

    Within a session events sort by phase (landing 0, sign-in 5, browsing 10, signup 20-22,
    cart 40-41, checkout 50-51, order 60, invites 70-71), then a random tie-break, then `sub`.
    """

    def __init__(self) -> None:
        self.sid: list[Arr] = []
        self.kind: list[Arr] = []
        self.phase: list[Arr] = []
        self.sub: list[Arr] = []
        self.tie: list[Arr] = []
        self.path: list[Arr] = []
        self.prod: list[Arr] = []

    def add(
        self,
        sessions: Arr,
        kind: int,
        phase: int,
        path: Arr | int = -1,
        product: Arr | int = -1,
        sub: Arr | int = 0,
        tie: Arr | None = None,
    ) -> None:
        m = len(sessions)
        self.sid.append(sessions)
        self.kind.append(np.full(m, kind, dtype=np.int8))
        self.phase.append(np.full(m, phase, dtype=np.int8))
        self.sub.append(np.broadcast_to(np.asarray(sub, dtype=np.int16), (m,)))
        self.tie.append(np.zeros(m, dtype=np.float32) if tie is None else tie)
        self.path.append(np.broadcast_to(np.asarray(path, dtype=np.int32), (m,)))
        self.prod.append(np.broadcast_to(np.asarray(product, dtype=np.int32), (m,)))

    def in_order(self) -> tuple[Arr, Arr, Arr, Arr, Arr]:
        """(session, kind, phase, path, product) of every event, in session order."""
        sid = np.concatenate(self.sid)
        phase = np.concatenate(self.phase)
        order = np.lexsort((np.concatenate(self.sub), np.concatenate(self.tie), phase, sid))
        return (sid[order], np.concatenate(self.kind)[order], phase[order],
                np.concatenate(self.path)[order], np.concatenate(self.prod)[order])  # fmt: skip


def _list_events(rng: np.random.Generator, s: _Sessions, o: _Outcomes, site: Site) -> _EventList:
    ar = np.arange(len(s.person), dtype=np.int64)
    ev = _EventList()
    ev.add(ar, K_PAGE, 0, s.land)
    ev.add(ar[o.signin], K_SIGNED_IN, 5)
    b = np.repeat(ar, o.n_browse)
    ev.add(b, K_PAGE, 10, choice(rng, BROWSE_PATHS, BROWSE_P, len(b)),
           tie=rng.random(len(b)).astype(np.float32))  # fmt: skip
    v = np.repeat(ar, o.n_prod)
    vp = site.sample(rng, len(v))
    vt = rng.random(len(v)).astype(np.float32)
    ev.add(v, K_PAGE, 10, N_STATIC + vp, vp, 0, vt)
    ev.add(v, K_VIEWED, 10, -1, vp, 1, vt)
    for sessions, page, k_final in ((ar[s.signup], P_SIGNUP, K_SIGNED_UP),
                                    (ar[s.login], P_LOGIN, K_SIGNED_IN)):  # fmt: skip
        ev.add(sessions, K_PAGE, 20, page)
        ev.add(sessions, K_IDENTIFY, 21)
        ev.add(sessions, k_final, 22)
    c = ar[o.cart]
    ev.add(c, K_PAGE, 40, N_STATIC + o.cart_product[c], o.cart_product[c])
    ev.add(c, K_VIEWED, 40, -1, o.cart_product[c], 1)
    ev.add(c, K_ADDED, 41, -1, o.cart_product[c])
    c = ar[o.checkout]
    ev.add(c, K_PAGE, 50, P_CHECKOUT)
    ev.add(c, K_CHECKOUT, 51, -1, o.cart_product[c])
    ev.add(ar[o.order], K_ORDER, 60, -1, o.cart_product[o.order])
    ev.add(ar[o.n_inv > 0], K_PAGE, 70, P_INVITE)
    ev.add(np.repeat(ar, o.n_inv), K_INVITE, 71, sub=ranks_within(o.n_inv))
    return ev


def _offsets_in_session(
    rng: np.random.Generator, e_sid: Arr, e_kind: Arr, n_s: int
) -> tuple[Arr, Arr, Arr]:
    """(ms since the session start of every event, first event of each session, durations)."""
    n_e = len(e_sid)
    counts = np.bincount(e_sid, minlength=n_s)
    first = np.cumsum(counts) - counts
    gap = np.where(
        e_kind == K_PAGE,
        np.clip(lognormal_ms(rng, 35_000, 1.0, n_e), 2_000, 20 * MIN_MS),
        rng.uniform(150, 2_500, n_e),
    )
    slow = (e_kind == K_IDENTIFY) | (e_kind == K_ORDER)
    gap = np.where(slow, rng.uniform(20_000, 150_000, n_e), gap).astype(np.int64)
    gap[first] = 0
    cs = np.cumsum(gap)
    offset = cs - np.repeat(cs[first], counts)
    duration = offset[first + counts - 1]
    return offset, first, duration


def _number_orders_and_invites(
    e_kind: Arr, e_sid: Arr, s: _Sessions, ctr: Counters
) -> Arr:
    """`aux` of session events: order and invite ordinals, the invite a signup used."""
    aux = np.full(len(e_kind), -1, dtype=np.int64)
    m = e_kind == K_ORDER
    aux[m] = ctr.order + np.arange(int(m.sum()))
    ctr.order += int(m.sum())
    m = e_kind == K_INVITE
    aux[m] = ctr.invite + np.arange(int(m.sum()))
    ctr.invite += int(m.sum())
    m = e_kind == K_SIGNED_UP
    aux[m] = s.invite_used[e_sid[m]]
    return aux


def _expand(
    rng: np.random.Generator, s: _Sessions, shopper: Arr, site: Site, ctr: Counters
) -> tuple[WebEvents, Arr, Arr]:
    """Events of sessions, with times relative to the session start.

    Returns (events, session index of each event, duration of each session in ms).
    """
    n_s = len(s.person)
    o = _draw_outcomes(rng, s, shopper, site)
    e_sid, e_kind, e_phase, e_path, e_prod = _list_events(rng, s, o, site).in_order()
    offset, first, duration = _offsets_in_session(rng, e_sid, e_kind, n_s)

    # current page of every event (every session starts with its landing page)
    n_e = len(e_sid)
    pos = np.arange(n_e)
    last_page = np.maximum.accumulate(np.where(e_kind == K_PAGE, pos, 0))
    is_first = np.zeros(n_e, dtype=bool)
    is_first[first] = True
    prev_page = np.where(is_first, 0, last_page[np.maximum(pos - 1, 0)])
    page_ref = np.where(is_first, s.ref[e_sid], OWN_REF_BASE + e_path[prev_page])
    on_landing = is_first[last_page]
    bought = (e_kind >= K_ADDED) & (e_kind <= K_ORDER)
    events = WebEvents(
        person=s.person[e_sid],
        ts=offset,
        kind=e_kind,
        device=s.device[e_sid],
        user=s.known[e_sid] | ((s.signup | s.login)[e_sid] & (e_phase >= 21)),
        path=e_path[last_page].astype(np.int32),
        ref=page_ref[last_page].astype(np.int32),
        utm=np.where(on_landing, s.utm[e_sid], -1).astype(np.int16),
        product=e_prod,
        qty=np.where(bought, o.cart_qty[e_sid], 1).astype(np.int8),
        aux=_number_orders_and_invites(e_kind, e_sid, s, ctr),
    )
    return events, e_sid, duration


# --- persons' sessions -------------------------------------------------------------------------


def _plan_sessions(
    rng: np.random.Generator,
    ppl: People,
    site: Site,
    pids: Arr,
    invite_used: Arr,
    force_signup: Arr,
) -> tuple[_Sessions, Arr, Arr, Arr]:
    """Each person's sessions: which one signs up, which use the second device, the channel.

    Returns (sessions, person index of each session, session number within its person,
    sessions per person).
    """
    n = len(pids)
    invited = invite_used >= 0
    p_sign = np.where(invited, 0.62, SIGNUP_P[ppl.group[pids]])
    signed = (rng.random(n) < p_sign) | force_signup
    n_sess = np.minimum(rng.geometric(0.45, n), 10) + np.where(signed, rng.poisson(1.3, n), 0)
    later = 1 + (rng.random(n) * (n_sess - 1)).astype(np.int64)
    signup_sess = np.where((n_sess == 1) | (rng.random(n) < 0.5) | invited, 0, later)
    has2 = signed & (signup_sess < n_sess - 1) & (rng.random(n) < 0.3)
    d2 = signup_sess + 1 + (rng.random(n) * (n_sess - 1 - signup_sess)).astype(np.int64)
    d2 = np.where(has2, d2, -1)

    n_s = int(n_sess.sum())
    sp = np.repeat(np.arange(n), n_sess)
    sidx = ranks_within(n_sess)
    signed_s = signed[sp]
    su = signup_sess[sp]
    d2s = d2[sp]
    signup = signed_s & (sidx == su)
    login = (d2s >= 0) & (sidx == d2s)
    device = ((d2s >= 0) & (sidx >= d2s) & (login | (rng.random(n_s) < 0.55))).astype(np.int8)
    known = signed_s & (sidx > su) & ~login
    group = np.where(
        sidx == 0, ppl.group[pids][sp], choice(rng, np.arange(len(GROUPS)), RET_W, n_s)
    )
    utm, ref, land = pick_channels(rng, group, site)
    inv_first = invited[sp] & (sidx == 0)
    utm[inv_first] = U_INVITE
    ref[inv_first] = R_NONE
    land[inv_first] = P_SIGNUP
    sessions = _Sessions(
        person=pids[sp],
        device=device,
        known=known,
        signup=signup,
        login=login,
        utm=utm,
        ref=ref,
        land=land,
        invite_used=np.where(signup & invited[sp], invite_used[sp], -1),
    )
    return sessions, sp, sidx, n_sess


def _journeys(
    rng: np.random.Generator,
    ppl: People,
    site: Site,
    ctr: Counters,
    pids: Arr,
    arrival: Arr,
    invite_used: Arr,
    force_signup: Arr,
) -> WebEvents:
    """All web sessions of the persons `pids`, the first at their arrival."""
    sess, sp, sidx, n_sess = _plan_sessions(rng, ppl, site, pids, invite_used, force_signup)
    ev, e_sid, duration = _expand(rng, sess, ppl.shopper[pids][sp], site, ctr)
    n_s = len(sp)
    firsts = np.cumsum(n_sess) - n_sess
    between = np.clip(lognormal_ms(rng, 1.5 * DAY_MS, 1.1, n_s), 45 * MIN_MS, 20 * DAY_MS)
    inc = np.where(sidx == 0, 0, np.roll(duration, 1) + between.astype(np.int64))
    cs = np.cumsum(inc)
    start = arrival[sp] + cs - np.repeat(cs[firsts], n_sess)
    ev.ts = ev.ts + start[e_sid]
    return ev


def _invitee_arrivals(
    rng: np.random.Generator, ppl: People, first_pass: WebEvents
) -> tuple[Arr, Arr, Arr, Arr]:
    """Invitees arrive after somebody's ``Invite Sent`` and use its code.

    Returns (candidate persons, their arrival, invite used or -1, forced signup).
    """
    inv = np.flatnonzero(first_pass.kind == K_INVITE)
    inv = inv[np.argsort(first_pass.ts[inv], kind="stable")]
    accepted = inv[rng.random(len(inv)) < 0.4]
    if len(accepted) == 0 and len(inv):
        accepted = inv[:1]
    accepted = rng.permutation(accepted)
    cand = np.flatnonzero(ppl.invitee)
    k = min(len(cand), len(accepted))
    arrival = ppl.arrival[cand].copy()
    used = np.full(len(cand), -1, dtype=np.int64)
    delay = np.maximum(lognormal_ms(rng, 6 * HOUR_MS, 1.2, k), 5 * MIN_MS).astype(np.int64)
    arrival[:k] = first_pass.ts[accepted[:k]] + delay
    used[:k] = first_pass.aux[accepted[:k]]
    force = np.zeros(len(cand), dtype=bool)
    if k:
        force[int(np.argmin(arrival[:k]))] = True  # at least one referred signup when possible
    return cand, arrival, used, force


def web_journeys(
    stream: Callable[[int], np.random.Generator],
    ppl: People,
    site: Site,
    ctr: Counters,
    end_ms: int,
) -> WebEvents:
    """Everybody's web sessions: first the persons who were not invited, then the invitees."""
    pids = np.flatnonzero(~ppl.invitee)
    no_inv = np.full(len(pids), -1, dtype=np.int64)
    first = _journeys(stream(2), ppl, site, ctr, pids, ppl.arrival[pids], no_inv, no_inv >= 0)
    first = first.before(end_ms)
    cand, arrival, used, force = _invitee_arrivals(stream(3), ppl, first)
    invited = _journeys(stream(4), ppl, site, ctr, cand, arrival, used, force).before(end_ms)
    return WebEvents.concat([first, invited])


def click_sessions(
    rng: np.random.Generator,
    ppl: People,
    site: Site,
    ctr: Counters,
    person: Arr,
    ts: Arr,
    utm: Arr,
    land: Arr,
) -> WebEvents:
    """Sessions of known persons who clicked a mail link (landing at `land`, a few s later)."""
    n = len(person)
    sess = _Sessions(
        person=person,
        device=np.zeros(n, dtype=np.int8),
        known=np.ones(n, dtype=bool),
        signup=np.zeros(n, dtype=bool),
        login=np.zeros(n, dtype=bool),
        utm=utm.astype(np.int16),
        ref=np.full(n, R_NONE, dtype=np.int32),
        land=land.astype(np.int32),
        invite_used=np.full(n, -1, dtype=np.int64),
    )
    ev, e_sid, _ = _expand(rng, sess, ppl.shopper[person], site, ctr)
    ev.ts = ev.ts + ts[e_sid] + uniform_int(rng, 1_000, 4_000, n)[e_sid]
    return ev


# --- the whole experience: app, companies, web surveys -----------------------------------------


def _rows(person: Arr, ts: Arr, kind: int, device: int | Arr, user: bool | Arr,
          qty: int | Arr = 1, aux: int | Arr = -1) -> WebEvents:
    """Rows of the kinds that are not part of a browsing session (no page, UTM or product)."""
    n = len(person)
    return WebEvents(
        person=person.astype(np.int64),
        ts=ts.astype(np.int64),
        kind=np.full(n, kind, dtype=np.int8),
        device=np.broadcast_to(np.asarray(device, dtype=np.int8), (n,)).copy(),
        user=np.broadcast_to(np.asarray(user, dtype=bool), (n,)).copy(),
        path=np.full(n, P_HOME, dtype=np.int32),
        ref=np.full(n, R_NONE, dtype=np.int32),
        utm=np.full(n, -1, dtype=np.int16),
        product=np.full(n, -1, dtype=np.int32),
        qty=np.broadcast_to(np.asarray(qty, dtype=np.int8), (n,)).copy(),
        aux=np.broadcast_to(np.asarray(aux, dtype=np.int64), (n,)).copy(),
    )


def _app_usage(rng: np.random.Generator, signed: Arr, signup_ts: Arr) -> list[WebEvents]:
    """A quarter of the signed-up persons use the app: 1-6 sessions starting a few days after
    signup; the first session logs in after its first screen (alias app id -> userId)."""
    app = signed[rng.random(len(signed)) < 0.25]
    n_sess = np.minimum(1 + rng.poisson(1.5, len(app)), 6)
    sp = np.repeat(np.arange(len(app)), n_sess)
    firsts = np.cumsum(n_sess) - n_sess
    sidx = ranks_within(n_sess)
    gap = np.clip(lognormal_ms(rng, 3 * DAY_MS, 0.9, len(sp)), HOUR_MS, 20 * DAY_MS)
    gap[sidx == 0] = np.clip(lognormal_ms(rng, 2 * DAY_MS, 1.0, int((sidx == 0).sum())),
                             10 * MIN_MS, 15 * DAY_MS)  # fmt: skip
    cs = np.cumsum(gap.astype(np.int64))
    start = signup_ts[app][sp] + cs - np.repeat(cs[firsts] - gap[firsts].astype(np.int64), n_sess)
    n_scr = 2 + rng.poisson(3.0, len(sp))
    ep = np.repeat(np.arange(len(sp)), n_scr)
    efirst = np.cumsum(n_scr) - n_scr
    pos = ranks_within(n_scr)
    step = uniform_int(rng, 5_000, 90_000, len(ep))
    step[pos == 0] = 0
    e_cs = np.cumsum(step)
    e_ts = start[ep] + e_cs - np.repeat(e_cs[efirst], n_scr)
    screen = choice(rng, np.arange(N_SCREENS), _SCREEN_P, len(ep))
    screen[pos == 0] = 0  # every app session opens on Home
    first_sess = sidx[ep] == 0
    screens = _rows(app[sp][ep], e_ts, K_SCREEN, DEVICE_APP, ~first_sess | (pos >= 1), aux=screen)
    alias_at = e_ts[(pos == 0) & first_sess] + uniform_int(rng, 1_000, 4_000, len(app))
    return [screens, _rows(app, alias_at, K_ALIAS, DEVICE_APP, True)]


def _company_calls(
    rng: np.random.Generator, h: Hash, signed: Arr, signup_ts: Arr
) -> list[WebEvents]:
    """B2B persons' group call shortly after signup; a fifth of them later again, after their
    company upgraded its plan."""
    b2b = signed[is_b2b(h, signed)]
    t_group = signup_ts[b2b] + uniform_int(rng, MIN_MS, 30 * MIN_MS, len(b2b))
    up = rng.random(len(b2b)) < 0.2
    t_up = t_group[up] + uniform_int(rng, 10 * DAY_MS, 45 * DAY_MS, int(up.sum()))
    return [_rows(b2b, t_group, K_GROUP, 0, True, qty=0),
            _rows(b2b[up], t_up, K_GROUP, 0, True, qty=1)]  # fmt: skip


def _web_surveys(rng: np.random.Generator, web: WebEvents) -> list[WebEvents]:
    """CSAT a while after some orders, CES right after some signups."""
    orders = np.flatnonzero(web.kind == K_ORDER)
    orders = orders[rng.random(len(orders)) < 0.18]
    t_csat = web.ts[orders] + uniform_int(rng, 10 * MIN_MS, 2 * DAY_MS, len(orders))
    csat = CSAT.draw(rng, len(orders))
    ups = np.flatnonzero(web.kind == K_SIGNED_UP)
    ups = ups[rng.random(len(ups)) < 0.10]
    t_ces = web.ts[ups] + uniform_int(rng, 30_000, 10 * MIN_MS, len(ups))
    ces = CES.draw(rng, len(ups))
    return [
        _rows(web.person[orders], t_csat, K_SURVEY, web.device[orders], True, qty=0, aux=csat),
        _rows(web.person[ups], t_ces, K_SURVEY, web.device[ups], True, qty=1, aux=ces),
    ]


def experience(
    rng: np.random.Generator, h: Hash, web: WebEvents, signup_ts: Arr, end_ms: int
) -> WebEvents:
    """App screens with their alias, company (group) calls and web survey answers."""
    signed = np.flatnonzero(signup_ts < end_ms)
    parts = [
        *_app_usage(rng, signed, signup_ts),
        *_company_calls(rng, h, signed, signup_ts),
        *_web_surveys(rng, web),
    ]
    return WebEvents.concat(parts).before(end_ms)
