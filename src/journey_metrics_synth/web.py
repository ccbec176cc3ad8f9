"""Segment messages (page, screen, track, identify, alias, group): one JSON line per web event.

Rows are rendered per event kind (each kind has its own properties) in lazy frames collected in
parallel, then put back in row order. A message's randomness (its timestamp form, its messageId)
is keyed on the row's message key, so a duplicate repeats its source line exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from journey_metrics_synth.journeys import (
    K_ADDED,
    K_ALIAS,
    K_CHECKOUT,
    K_GROUP,
    K_IDENTIFY,
    K_INVITE,
    K_ORDER,
    K_PAGE,
    K_SCREEN,
    K_SIGNED_IN,
    K_SIGNED_UP,
    K_SURVEY,
    K_VIEWED,
    WebEvents,
)
from journey_metrics_synth.malformed import M_BAD_TS, M_BAD_TYPE, M_NO_IDS, M_NO_MID, M_NOT_JSON
from journey_metrics_synth.persons import (
    COUNTRIES,
    GROUP_PLANS,
    INDUSTRIES,
    PLANS,
    ROLES,
    Identities,
    company_of,
    company_plan_of,
    country_of,
    industry_of,
    is_b2b,
    plan_of,
    role_of,
)
from journey_metrics_synth.rand import MIN_MS, Arr, Hash
from journey_metrics_synth.site import WEB_HOST, Site
from journey_metrics_synth.surveys import CES, CSAT
from journey_metrics_synth.text import iso, kn, kv, money, obj, uuid

SCREENS = ("Home", "Product List", "Product Detail", "Search", "Cart", "Checkout", "Account",
           "Orders", "Settings")  # fmt: skip
_APP_CONTEXTS = (
    '{"app":{"name":"Shop","version":"4.2.1","build":"421"},"device":{"type":"ios",'
    '"model":"iPhone15,3"},"os":{"name":"iOS","version":"18.2"},'
    '"library":{"name":"analytics-ios","version":"4.1.8"}}',
    '{"app":{"name":"Shop","version":"4.2.0","build":"420"},"device":{"type":"android",'
    '"model":"Pixel 8"},"os":{"name":"Android","version":"15"},'
    '"library":{"name":"analytics-android","version":"4.11.3"}}',
)
# timestamps: 90% ISO with ms and Z, 3% without ms, the rest in local time with one of these offsets
_TS_OFFSETS_MIN = (60, 120, -300, -240, 330, 540, -480)
_BAD_TIMESTAMPS = ("2026-13-40T25:61:00Z", "yesterday", "17676074251234xyz", "")
_SIGNUP_METHODS = ("email", "email", "google", "apple")
_SHARE_VIA = ("email", "link", "whatsapp")
_SMALL_ORDER_CENTS, _SHIPPING_CENTS = 5_000, 495  # orders below 50.00 pay shipping

col = pl.col
Column = Callable[[Arr], pl.Series]  # rows of one kind -> that column's values


def _gather(series: pl.Series, idx: Arr) -> Column:
    return lambda rows: series.gather(idx[rows])


def _values(values: Arr) -> Column:
    return lambda rows: pl.Series(values[rows])


def _track(name: str, props: list[pl.Expr]) -> list[pl.Expr]:
    return [kv("event", pl.lit(name)), kn("properties", obj(props))]


@dataclass
class _Kind:
    """How one event kind is written: its columns (beyond the shared ones) and its fields."""

    kind: int
    type_name: str  # Segment message type
    body: list[pl.Expr]
    columns: dict[str, Column] = field(default_factory=dict)


class SegmentWriter:
    """Renders web events as Segment message lines."""

    def __init__(self, h: Hash, ids: Identities, site: Site,
                 utm: list[tuple[str, str, str]]) -> None:
        self.h = h
        self.ids = ids
        self.site = site
        self.utm_src = pl.Series([u[0] for u in utm])
        self.utm_med = pl.Series([u[1] for u in utm])
        self.utm_name = pl.Series([u[2] for u in utm])
        self.offsets = pl.Series([f"{m // 60:+03d}:{abs(m) % 60:02d}" for m in _TS_OFFSETS_MIN])

    def lines(self, w: WebEvents, key: Arr, mal: Arr) -> pl.Series:
        """One Segment message per row, in row order."""
        prepared = self._shared_columns(w, key, mal)
        frames = [
            _render(prepared, spec, rows)
            for spec in self._kinds(w, key)
            if len(rows := np.flatnonzero(w.kind == spec.kind))
        ]
        if not frames:
            return pl.Series("line", [], dtype=pl.String)
        lines = pl.concat(pl.collect_all(frames)).sort("i").get_column("line")
        lines = _cut_in_half(lines, mal == M_NOT_JSON)
        assert len(lines) == len(w)
        return lines.alias("line")

    # --- what every message has -----------------------------------------------------------------

    def _shared_columns(self, w: WebEvents, key: Arr, mal: Arr) -> pl.LazyFrame:
        """Identifiers, timestamp, page and campaign context of every row."""
        h, site = self.h, self.site
        person_dev = w.person.astype(np.int64) * 2 + w.device
        off_i = h.small(key, 22, len(_TS_OFFSETS_MIN))
        utm = np.maximum(w.utm, 0)
        base = pl.DataFrame(
            {
                "i": np.arange(len(w), dtype=np.int64),
                "kind": w.kind,
                "mal": mal.astype(np.int8),
                "user": w.user,
                "ts": w.ts,
                "tsk": h.small(key, 21, 1000),
                "off": np.array(_TS_OFFSETS_MIN, dtype=np.int64)[off_i],
                "offs": self.offsets.gather(off_i),
                "mid": uuid(h(key, 25), h(key, 26)),
                "anon": uuid(h(person_dev, 27), h(person_dev, 28)),
                "uid": self.ids.user_id(w.person),
                "path": site.paths.gather(w.path),
                "ref": site.refs.gather(w.ref),
                "has_utm": w.utm >= 0,
                "src": self.utm_src.gather(utm),
                "med": self.utm_med.gather(utm),
                "camp": self.utm_name.gather(utm),
            }
        )
        if (mal == M_BAD_TS).any():
            bad = pl.Series(_BAD_TIMESTAMPS).gather(h.small(key, 24, len(_BAD_TIMESTAMPS)))
            base = base.with_columns(bad=bad)
        else:
            base = base.with_columns(bad=pl.lit("", pl.String))
        return (
            base.lazy()
            .with_columns(tss=_timestamp(), pg=_page_object())
            .with_columns(ctx=_context())
        )

    # --- what each kind adds ------------------------------------------------------------------

    def _kinds(self, w: WebEvents, key: Arr) -> list[_Kind]:
        return [
            _Kind(K_PAGE, "page", [kn("properties", col("pg"))]),
            self._identify(w, key),
            *self._sign_in_and_up(w),
            *self._shopping(w),
            self._invite(w, key),
            *self._app(w),
            self._company(w),
            _Kind(
                K_SURVEY, "track",
                _track("Survey Answered", [kv("survey", col("survey")),
                                           kn("score", col("score").cast(pl.String))]),
                {"survey": _gather(pl.Series([CSAT.name, CES.name]), w.qty.astype(np.int64)),
                 "score": _values(w.aux)},
            ),  # web surveys: qty 0 CSAT (after an order), 1 CES (after signing up)
        ]  # fmt: skip

    def _identify(self, w: WebEvents, key: Arr) -> _Kind:
        h, ids, p = self.h, self.ids, w.person
        traits = obj(
            [
                kv("email", col("email")),
                kv("first_name", col("fn")),
                kv("last_name", col("ln")),
                kv("plan", col("plan")),
                kv("country", col("country")),
                pl.when(col("b2b")).then(kv("company", col("company"))),
                pl.when(col("b2b")).then(kv("role", col("role"))),
            ]
        )
        columns = {
            "email": lambda rows: ids.email(p[rows], self._address_variant(key[rows])),
            "fn": _gather(ids.first_cap, ids.ppl.first[p]),
            "ln": _gather(ids.last_cap, ids.ppl.last[p]),
            "plan": _gather(pl.Series(PLANS), plan_of(h, p)),
            "country": _gather(pl.Series(COUNTRIES), country_of(h, p)),
            "b2b": _values(is_b2b(h, p)),
            "company": _gather(ids.company_names, company_of(h, p)),
            "role": _gather(pl.Series(ROLES), role_of(h, p)),
        }
        return _Kind(K_IDENTIFY, "identify", [kn("traits", traits)], columns)

    def _address_variant(self, key: Arr) -> Arr:
        """How an identify call spells the address: as is, capitalised, padded, upper-case."""
        r = self.h.small(key, 23, 100)
        out: Arr = np.select([r < 8, r < 12, r < 14], [1, 2, 3], default=0)
        return out

    def _invite_code_columns(self, w: WebEvents) -> dict[str, Column]:
        return {
            "code": lambda rows: self.ids.invite_code(w.aux[rows]),
            "aux": _values(w.aux),
        }

    def _sign_in_and_up(self, w: WebEvents) -> list[_Kind]:
        method = {"method": _gather(pl.Series(_SIGNUP_METHODS), self.h.small(w.person, 29, 4))}
        code = pl.when(col("aux") >= 0).then(kv("invite_code", col("code")))
        return [
            _Kind(K_SIGNED_UP, "track",
                  _track("Signed Up", [kv("method", col("method")), code]),
                  {**self._invite_code_columns(w), **method}),
            _Kind(K_SIGNED_IN, "track", _track("Signed In", [kv("method", col("method"))]),
                  method),
        ]  # fmt: skip

    def _shopping(self, w: WebEvents) -> list[_Kind]:
        """Product Viewed, Product Added, Checkout Started, Order Completed."""
        site = self.site
        product = np.maximum(w.product, 0)
        value = site.price_cents[product] * w.qty
        currency = self.ids.currency(w.person)
        cur: Column = lambda rows: currency.gather(rows)  # noqa: E731
        prod_cols = {
            "pid": _gather(site.pid, product),
            "pname": _gather(site.name, product),
            "pcat": _gather(site.category, product),
            "price": _gather(site.price, product),
            "cur": cur,
        }
        prod_props = [
            kv("product_id", col("pid")),
            kv("name", col("pname")),
            kv("category", col("pcat")),
            kn("price", col("price")),
        ]
        products = pl.concat_str(
            [pl.lit('[{"product_id":"'), col("pid"), pl.lit('","quantity":'),
             col("qty").cast(pl.String), pl.lit(',"price":'), col("price"), pl.lit("}]")]
        )  # fmt: skip
        order_no = pl.concat_str([pl.lit("ORD-"), (col("aux") + 100_001).cast(pl.String)])
        revenue = value + np.where(value < _SMALL_ORDER_CENTS, _SHIPPING_CENTS, 0)
        return [
            _Kind(K_VIEWED, "track",
                  _track("Product Viewed", [*prod_props, kv("currency", col("cur"))]),
                  prod_cols),
            _Kind(K_ADDED, "track",
                  _track("Product Added", [*prod_props,
                                           kn("quantity", col("qty").cast(pl.String)),
                                           kv("currency", col("cur"))]),
                  {**prod_cols, "qty": _values(w.qty)}),
            _Kind(K_CHECKOUT, "track",
                  _track("Checkout Started", [kn("value", money(col("value"))),
                                              kv("currency", col("cur"))]),
                  {"value": _values(value), "cur": cur}),
            _Kind(K_ORDER, "track",
                  _track("Order Completed", [kv("order_id", order_no),
                                             kn("revenue", money(col("revenue"))),
                                             kv("currency", col("cur")),
                                             kn("products", products)]),
                  {**prod_cols, "qty": _values(w.qty), "aux": _values(w.aux),
                   "revenue": _values(revenue)}),
        ]  # fmt: skip

    def _invite(self, w: WebEvents, key: Arr) -> _Kind:
        via = _gather(pl.Series(_SHARE_VIA), self.h.small(key, 30, 3))
        return _Kind(
            K_INVITE, "track",
            _track("Invite Sent", [kv("invite_code", col("code")), kv("share_via", col("via"))]),
            {**self._invite_code_columns(w), "via": via},
        )  # fmt: skip

    def _app(self, w: WebEvents) -> list[_Kind]:
        """Screens and the alias at login, from the app's own anonymousId."""
        h = self.h
        app_anon = uuid(h(w.person, 80), h(w.person, 81))
        app_cols: dict[str, Column] = {
            "anon": lambda rows: app_anon.gather(rows),
            "ctx": _gather(pl.Series(list(_APP_CONTEXTS)), h.small(w.person, 89, 2)),
        }
        screen = _gather(pl.Series(SCREENS), np.maximum(w.aux, 0))
        return [
            _Kind(K_SCREEN, "screen",
                  [kv("name", col("screen")), kn("properties", pl.lit("{}"))],
                  {**app_cols, "screen": screen}),
            _Kind(K_ALIAS, "alias", [kv("previousId", col("anon"))], app_cols),
        ]  # fmt: skip

    def _company(self, w: WebEvents) -> _Kind:
        """Segment group calls; qty 1 marks the call after the company's upgrade."""
        h = self.h
        company = company_of(h, w.person)
        traits = obj(
            [
                kv("name", col("gname")),
                kv("industry", col("gind")),
                kv("plan", col("gplan")),
                kn("employees", col("staff").cast(pl.String)),
            ]
        )
        columns = {
            "gid": _gather(self.ids.company_ids, company),
            "gname": _gather(self.ids.company_names, company),
            "gind": _gather(pl.Series(INDUSTRIES), industry_of(company)),
            "gplan": _gather(pl.Series(GROUP_PLANS), company_plan_of(h, company, w.qty)),
            "staff": _values(5 + h.small(company, 84, 400)),
        }
        return _Kind(K_GROUP, "group", [kv("groupId", col("gid")), kn("traits", traits)], columns)


# --- expressions over the shared columns -------------------------------------------------------


def _timestamp() -> pl.Expr:
    """Mostly ISO with ms and Z, some without ms, some local time with an offset; or bad."""
    local = col("ts") + col("off") * MIN_MS
    return (
        pl.when(col("mal") == M_BAD_TS)
        .then(col("bad"))
        .when(col("tsk") < 900)
        .then(iso(col("ts")))
        .when(col("tsk") < 930)
        .then(iso(col("ts"), millis=False))
        .otherwise(pl.concat_str([iso(local, suffix=""), col("offs")]))
    )


def _page_object() -> pl.Expr:
    query = pl.concat_str(
        [pl.lit("?utm_source="), col("src"), pl.lit("&utm_medium="), col("med"),
         pl.lit("&utm_campaign="), col("camp")]
    )  # fmt: skip
    url = pl.concat_str(
        [pl.lit(WEB_HOST), col("path"), pl.when(col("has_utm")).then(query).otherwise(pl.lit(""))]
    )
    return obj([kv("path", col("path")), kv("referrer", col("ref")), kv("url", url)])


def _context() -> pl.Expr:
    campaign = obj([kv("source", col("src")), kv("medium", col("med")), kv("name", col("camp"))])
    return obj([pl.when(col("has_utm")).then(kn("campaign", campaign)), kn("page", col("pg"))])


def _render(prepared: pl.LazyFrame, spec: _Kind, rows: Arr) -> pl.LazyFrame:
    """The lines of the rows of one kind, with their row number `i`."""
    lf = prepared.filter(col("kind") == spec.kind)
    if spec.columns:
        lf = lf.with_columns(**{name: column(rows) for name, column in spec.columns.items()})
    return lf.select("i", _line(spec.type_name, spec.body).alias("line"))


def _head(type_name: str) -> pl.Expr:
    """type, messageId, timestamp, anonymousId, userId (each may be left out when malformed)."""
    mal = col("mal")
    ids_ok = mal != M_NO_IDS
    type_str = pl.when(mal == M_BAD_TYPE).then(pl.lit("pageview")).otherwise(pl.lit(type_name))
    return pl.concat_str(
        [
            kv("type", type_str),
            pl.when(mal != M_NO_MID).then(kv("messageId", col("mid"))),
            kv("timestamp", col("tss")),
            pl.when(ids_ok).then(kv("anonymousId", col("anon"))),
            pl.when(ids_ok & col("user")).then(kv("userId", col("uid"))),
        ],
        separator=",",
        ignore_nulls=True,
    )


def _line(type_name: str, body: list[pl.Expr]) -> pl.Expr:
    return pl.concat_str(
        [pl.lit("{"), _head(type_name), *(pl.concat_str([pl.lit(","), b]) for b in body),
         pl.lit(',"context":'), col("ctx"), pl.lit("}")]
    )  # fmt: skip


def _cut_in_half(lines: pl.Series, broken: Arr) -> pl.Series:
    """The lines marked `broken` cut after half their length (not JSON any more)."""
    if not broken.any():
        return lines
    return pl.select(
        pl.when(pl.Series(broken))
        .then(lines.str.slice(0, lines.str.len_chars() // 2))
        .otherwise(lines)
    ).to_series()
