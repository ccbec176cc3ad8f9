"""Synthetic input in the contract layout (CONTRACT.md §1): web, email and CRM files.

The generator simulates customer journeys with vectorised numpy (no per-event Python loop) and
renders JSON/CSV with polars string expressions, one output file at a time.

Model, in order:

1. Persons arrive over the window through an acquisition channel (UTM and/or referrer).
2. Each person has one or more web sessions (gaps of at least 45 minutes, so sessions are clearly
   separated under a 30-minute rule). Sessions hold page views, product views, and for some
   persons signup (identify + ``Signed Up``), cart, checkout and orders, invites.
   Some signed-up persons use a second device: a second anonymousId, first anonymous, then linked
   by ``Signed In`` + identify carrying the same userId.
3. Invitees are new persons who arrive after an ``Invite Sent`` of another person and sign up with
   that ``invite_code``.
4. Email (SendGrid): a welcome mail on signup, newsletters and promos to opted-in signed-up
   persons, order confirmations. Clicks lead to web sessions with ``utm_medium=email``.
5. CRM (HubSpot): contacts for a share of signed-up persons (monthly exports; a contact changed in
   a later month is exported again; with country, industry and, as real exports have them,
   names and phone numbers that no trait keeps), deals for opportunities, NPS answers from
   customers, CSAT answers after won deals and CES answers after sales calls.
6. The whole experience: a quarter of the signed-up persons also use the mobile app (``screen``
   calls from an app anonymousId, linked by an ``alias`` at the first login); B2B persons belong
   to a company (``group`` calls with plan and industry, some companies upgrade later); identify
   calls carry plan and country (and company and role for B2B persons); some orders are followed
   by a CSAT answer and some signups by a CES answer (track ``Survey Answered``).
7. A few malformed records (~0.1%) and exact duplicates are mixed in (see ``MALFORMED_*``).

Identifiers are derived from a keyed bijective hash of an ordinal, so messageIds, sg_event_ids,
userIds, invite codes and e-mail addresses are unique by construction, and the same
(persons, seed, start, days) gives byte-identical files.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

__all__ = ["GenerateSummary", "generate"]

Arr = npt.NDArray[Any]
ProgressFn = Callable[[str, float], None]

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
MIN_MS = 60_000
WEB_HOST = "https://shop.example.com"

# Malformed web record kinds (extra lines, each with its own fresh messageId where it has one).
MALFORMED_WEB = ("not_json", "no_message_id", "bad_timestamp", "no_identifier", "unknown_type")
_M_OK, _M_NOT_JSON, _M_NO_MID, _M_BAD_TS, _M_NO_IDS, _M_BAD_TYPE = 0, 1, 2, 3, 4, 5
_M_NO_EMAIL = 6


@dataclass(frozen=True)
class GenerateSummary:
    """What :func:`generate` wrote.

    ``records`` counts records written per source (web lines, SendGrid events, CRM rows), including
    the deliberately ``malformed`` records and exact ``duplicates`` (both also counted separately).
    """

    persons: int
    files: int
    records: dict[str, int]
    out_dir: Path
    malformed: dict[str, int] = field(default_factory=dict)
    duplicates: dict[str, int] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# Static vocabulary
# --------------------------------------------------------------------------------------------

_FIRST = [
    "anna",
    "ben",
    "carla",
    "david",
    "elena",
    "felix",
    "greta",
    "hugo",
    "ines",
    "jonas",
    "klara",
    "leon",
    "maria",
    "noah",
    "olivia",
    "paul",
    "quinn",
    "rosa",
    "sam",
    "tara",
    "umar",
    "vera",
    "will",
    "xenia",
    "yusuf",
    "zoe",
    "liam",
    "emma",
    "lucas",
    "mia",
    "omar",
    "sofia",
    "ivan",
    "nina",
    "luca",
    "hana",
    "ravi",
    "aisha",
    "kenji",
    "lea",
]
_LAST = [
    "schmidt",
    "muller",
    "garcia",
    "rossi",
    "martin",
    "smith",
    "jones",
    "kowalski",
    "novak",
    "jansen",
    "dubois",
    "silva",
    "costa",
    "nielsen",
    "larsen",
    "weber",
    "fischer",
    "meyer",
    "wagner",
    "becker",
    "hoffmann",
    "lopez",
    "moreau",
    "bianchi",
    "romano",
    "kim",
    "tanaka",
    "singh",
    "patel",
    "nguyen",
    "brown",
    "taylor",
    "wilson",
    "evans",
    "walker",
    "young",
    "king",
    "wright",
    "scott",
    "green",
]
_DOMAINS = ("example.com", "example.org", "example.net")
_DOMAIN_P = (0.7, 0.2, 0.1)

_STATIC_PATHS = (
    "/",
    "/collections/new",
    "/collections/sale",
    "/about",
    "/blog/how-to-choose-running-shoes",
    "/blog/spring-lookbook",
    "/help/shipping",
    "/help/returns",
    "/cart",
    "/account",
    "/signup",
    "/login",
    "/checkout",
    "/checkout/complete",
    "/invite",
)
P_HOME, P_NEW, P_SALE, P_ABOUT, P_BLOG1, P_BLOG2 = 0, 1, 2, 3, 4, 5
P_SIGNUP, P_LOGIN, P_CHECKOUT, P_INVITE = 10, 11, 12, 14
_BROWSE_PATHS = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], dtype=np.int32)
_BROWSE_P = np.array([0.22, 0.18, 0.16, 0.05, 0.07, 0.06, 0.06, 0.04, 0.12, 0.04])
_LAND_PRODUCT = -1  # landing choice meaning "a product page"

_ADJ = ["trail", "city", "road", "ultra", "aero", "storm", "summit", "tempo", "glide", "peak"]
_NOUN = [
    "runner",
    "sneaker",
    "jacket",
    "tee",
    "shorts",
    "socks",
    "cap",
    "vest",
    "tights",
    "backpack",
    "bottle",
    "hoodie",
]
_NOUN_CAT = {
    "runner": "shoes",
    "sneaker": "shoes",
    "jacket": "apparel",
    "tee": "apparel",
    "shorts": "apparel",
    "tights": "apparel",
    "hoodie": "apparel",
    "vest": "apparel",
    "socks": "accessories",
    "cap": "accessories",
    "backpack": "accessories",
    "bottle": "accessories",
}
_CAT_PRICE = {"shoes": (12_999, 0.25), "apparel": (4_999, 0.35), "accessories": (1_999, 0.35)}

_REFERRERS = (
    "https://www.google.com/",
    "https://www.bing.com/",
    "https://duckduckgo.com/",
    "https://search.yahoo.com/",
    "https://www.facebook.com/",
    "https://t.co/x",
    "https://www.instagram.com/",
    "https://www.linkedin.com/",
    "https://www.reddit.com/r/running/",
    "https://blog.partner.com/post",
    "https://news.example.org/best-running-shops",
    "https://forum.example.net/t/shoe-advice/42",
    "https://shop.example.com/",
    "",
)
R_GOOGLE, R_BING, R_FB, R_TCO, R_INSTA, R_LINKEDIN, R_BLOG, R_NEWS = 0, 1, 4, 5, 6, 7, 9, 10
R_OWN, R_NONE = 12, 13
_OWN_REF_BASE = len(_REFERRERS)  # ref code _OWN_REF_BASE + path code = own host + that path

# (source, medium, name); email campaigns are appended per run.
_UTM_FIXED = (
    ("google", "cpc", "brand-search"),
    ("google", "cpc", "generic-running-shoes"),
    ("bing", "cpc", "brand-search"),
    ("google", "ppc", "retargeting-search"),
    ("google", "paidsearch", "shopping-feed"),
    ("facebook", "social", "spring-launch"),
    ("instagram", "paid_social", "influencer-q1"),
    ("linkedin", "social-media", "team-orders"),
    ("tiktok", "social", "ugc-video"),
    ("gdn", "display", "prospecting"),
    ("criteo", "banner", "retargeting"),
    ("taboola", "cpm", "native-q1"),
    ("partner-newsletter", "email", "partner-feature"),
    ("partner-blog", "referral", "partner-post"),
    ("awin", "affiliate", "affiliate-q1"),
    ("flyer", "qr", "store-opening"),
    ("runcast", "podcast", "episode-12"),
    ("sms", "sms", "flash-sale"),
    ("magazine", "print", "spring-issue"),
    ("invite", "referral", "invite-a-friend"),
)
U_INVITE = 19
_UTM_REF = np.array(
    [R_GOOGLE, R_GOOGLE, R_BING, R_GOOGLE, R_GOOGLE, R_FB, R_INSTA, R_LINKEDIN, R_NONE, R_NONE,
     R_NONE, R_NONE, R_NONE, R_BLOG, R_NEWS, R_NONE, R_NONE, R_NONE, R_NONE, R_NONE],
    dtype=np.int32,
)  # fmt: skip


@dataclass(frozen=True)
class _Group:
    name: str
    acq_w: float  # share of first visits
    ret_w: float  # share of later visits
    signup_p: float
    hubspot: str  # hs_analytics_source
    utm: tuple[tuple[int, float], ...] = ()
    ref: tuple[tuple[int, float], ...] = ()
    land: tuple[tuple[int, float], ...] = ((P_HOME, 1.0),)


_GROUPS = (
    _Group("direct", 0.24, 0.55, 0.24, "DIRECT_TRAFFIC", ref=((R_NONE, 0.85), (R_OWN, 0.15))),
    _Group(
        "organic_search", 0.26, 0.18, 0.20, "ORGANIC_SEARCH",
        ref=((R_GOOGLE, 0.72), (R_BING, 0.10), (2, 0.12), (3, 0.06)),
        land=((P_BLOG1, 0.3), (_LAND_PRODUCT, 0.35), (P_HOME, 0.35)),
    ),
    _Group(
        "social", 0.07, 0.05, 0.14, "SOCIAL_MEDIA",
        ref=((R_FB, 0.35), (R_TCO, 0.25), (R_INSTA, 0.15), (R_LINKEDIN, 0.1), (8, 0.15)),
        land=((P_NEW, 0.6), (P_BLOG2, 0.4)),
    ),
    _Group(
        "referral", 0.05, 0.03, 0.22, "REFERRALS",
        ref=((R_BLOG, 0.5), (R_NEWS, 0.3), (11, 0.2)),
        land=((P_BLOG1, 0.4), (_LAND_PRODUCT, 0.6)),
    ),
    _Group(
        "paid_search", 0.13, 0.08, 0.22, "PAID_SEARCH",
        utm=((0, 0.35), (1, 0.3), (2, 0.15), (3, 0.1), (4, 0.1)),
        land=((_LAND_PRODUCT, 0.6), (P_HOME, 0.4)),
    ),
    _Group(
        "paid_social", 0.08, 0.04, 0.14, "PAID_SOCIAL",
        utm=((5, 0.4), (6, 0.3), (7, 0.1), (8, 0.2)), land=((P_NEW, 1.0),),
    ),
    _Group(
        "display", 0.06, 0.03, 0.10, "OTHER_CAMPAIGNS",
        utm=((9, 0.5), (10, 0.3), (11, 0.2)), land=((P_SALE, 1.0),),
    ),
    _Group(
        "partner_email", 0.02, 0.01, 0.25, "EMAIL_MARKETING", utm=((12, 1.0),),
        land=((P_NEW, 1.0),),
    ),
    _Group(
        "affiliate", 0.05, 0.02, 0.22, "REFERRALS", utm=((13, 0.5), (14, 0.5)),
        land=((_LAND_PRODUCT, 1.0),),
    ),
    _Group(
        "odd", 0.04, 0.01, 0.15, "OTHER_CAMPAIGNS",
        utm=((15, 0.3), (16, 0.3), (17, 0.2), (18, 0.2)),
    ),
)  # fmt: skip
_ACQ_W = np.array([g.acq_w for g in _GROUPS])
_RET_W = np.array([g.ret_w for g in _GROUPS])
_SIGNUP_P = np.array([g.signup_p for g in _GROUPS])

# Web event kinds
K_PAGE, K_IDENTIFY, K_SIGNED_UP, K_SIGNED_IN, K_VIEWED, K_ADDED = 0, 1, 2, 3, 4, 5
K_CHECKOUT, K_ORDER, K_INVITE = 6, 7, 8
K_SCREEN, K_ALIAS, K_GROUP, K_SURVEY = 9, 10, 11, 12  # app screens, alias, group, web surveys
_TRACK_NAMES = (
    "",
    "",
    "Signed Up",
    "Signed In",
    "Product Viewed",
    "Product Added",
    "Checkout Started",
    "Order Completed",
    "Invite Sent",
    "",
    "",
    "",
    "Survey Answered",
)
_SCREENS = ("Home", "Product List", "Product Detail", "Search", "Cart", "Checkout", "Account",
            "Orders", "Settings")
_SCREEN_P = np.array([0.0, 0.22, 0.30, 0.12, 0.10, 0.04, 0.08, 0.09, 0.05])
_APP_CONTEXTS = (
    '{"app":{"name":"Shop","version":"4.2.1","build":"421"},"device":{"type":"ios",'
    '"model":"iPhone15,3"},"os":{"name":"iOS","version":"18.2"},'
    '"library":{"name":"analytics-ios","version":"4.1.8"}}',
    '{"app":{"name":"Shop","version":"4.2.0","build":"420"},"device":{"type":"android",'
    '"model":"Pixel 8"},"os":{"name":"Android","version":"15"},'
    '"library":{"name":"analytics-android","version":"4.11.3"}}',
)
# persons' and companies' traits (CONTRACT §6)
_PLANS = ("free", "plus", "pro")
_PLAN_P = np.array([0.68, 0.24, 0.08])
_COUNTRIES = ("DE", "FR", "NL", "ES", "IT", "AT", "BE")
_COUNTRY_P = np.array([0.30, 0.22, 0.14, 0.12, 0.10, 0.07, 0.05])
_ROLES = ("buyer", "team lead", "coach", "office manager", "founder")
_INDUSTRIES = ("sports clubs", "retail", "education", "healthcare", "logistics", "software")
_COMPANY_WORDS = ("Alpine", "Harbor", "Northwind", "Summit", "Riverside", "Bluebird", "Granite",
                  "Meadow", "Falcon", "Cedar", "Lumen", "Orbit")
_COMPANY_KINDS = ("Running Club", "Outfitters", "Academy", "Clinic", "Logistics", "Labs")
_GROUP_PLANS = ("team", "business", "enterprise")
_GROUP_PLAN_P = np.array([0.6, 0.3, 0.1])
# survey score distributions: CSAT 1-5, CES 1-7 (7 = very easy)
_CSAT_P = np.array([0.04, 0.06, 0.15, 0.35, 0.40])
_CES_P = np.array([0.03, 0.04, 0.08, 0.15, 0.25, 0.25, 0.20])

_TS_OFFSETS_MIN = (60, 120, -300, -240, 330, 540, -480)
_BAD_TIMESTAMPS = ("2026-13-40T25:61:00Z", "yesterday", "17676074251234xyz", "")

# SendGrid events
E_PROCESSED, E_DROPPED, E_DELIVERED, E_DEFERRED, E_BOUNCE, E_OPEN, E_CLICK = 0, 1, 2, 3, 4, 5, 6
E_SPAM, E_UNSUB, E_GUNSUB, E_GRESUB = 7, 8, 9, 10
_EMAIL_EVENTS = (
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

_STAGES = (
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
    "evangelist",
)
_OPEN_DEAL_STAGES = (
    "appointmentscheduled",
    "qualifiedtobuy",
    "presentationscheduled",
    "decisionmakerboughtin",
    "contractsent",
)
_DEAL_KINDS = ("Team order", "Club kit", "Corporate gift", "Bulk order")
_NPS_P = np.array([0.02, 0.01, 0.02, 0.02, 0.03, 0.05, 0.07, 0.12, 0.20, 0.22, 0.24])

_B32 = np.frombuffer(b"0123456789abcdefghjkmnpqrstvwxyz", dtype=np.uint8)
_B32U = np.frombuffer(b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ", dtype=np.uint8)
_B64 = np.frombuffer(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", dtype=np.uint8
)
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_U = np.uint64
_MASK64 = (1 << 64) - 1


# --------------------------------------------------------------------------------------------
# Small vectorised helpers
# --------------------------------------------------------------------------------------------


def _mix64(x: Arr) -> Arr:
    """splitmix64 finaliser: a bijection on uint64 (distinct inputs give distinct outputs)."""
    z = x.astype(np.uint64) + _U(0x9E3779B97F4A7C15)
    z = (z ^ (z >> _U(30))) * _U(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> _U(27))) * _U(0x94D049BB133111EB)
    return z ^ (z >> _U(31))


class _Hash:
    """Keyed per-record hashing: deterministic randomness that does not depend on call order."""

    def __init__(self, seed: int) -> None:
        self._seed = seed & _MASK64

    def __call__(self, key: Arr, salt: int) -> Arr:
        base = (self._seed * 1_000_003 + salt * 7_919 + 17) & _MASK64
        k = _mix64(np.array([base], dtype=np.uint64))
        return _mix64(np.asarray(key).astype(np.uint64) ^ k)

    def unit(self, key: Arr, salt: int) -> Arr:
        return (self(key, salt) >> _U(11)).astype(np.float64) * (1.0 / (1 << 53))

    def small(self, key: Arr, salt: int, n: int) -> Arr:
        return (self(key, salt) % _U(n)).astype(np.int64)

    def const(self, salt: int) -> int:
        return int(self(np.zeros(1, dtype=np.uint64), salt)[0])


def _digits(x: Arr, alphabet: Arr, n: int, bits: int) -> Arr:
    """(len, n) ASCII codes of the low n*bits bits of x, most significant digit first."""
    shifts = np.arange(n - 1, -1, -1, dtype=np.uint64) * _U(bits)
    idx = (x.astype(np.uint64)[:, None] >> shifts) & _U((1 << bits) - 1)
    out: Arr = alphabet[idx.astype(np.intp)]
    return out


def _strings(chars: Arr) -> pl.Series:
    chars = np.ascontiguousarray(chars, dtype=np.uint8)
    width = chars.shape[1]
    raw = chars.view(f"S{width}").ravel()
    return pl.Series(raw, dtype=pl.Binary).cast(pl.String)


def _uuid(hi: Arr, lo: Arr) -> pl.Series:
    a = _digits(hi, _HEX, 16, 4)
    b = _digits(lo, _HEX, 16, 4)
    out = np.full((len(hi), 36), ord("-"), dtype=np.uint8)
    out[:, 0:8] = a[:, 0:8]
    out[:, 9:13] = a[:, 8:12]
    out[:, 14] = ord("4")
    out[:, 15:18] = a[:, 13:16]
    out[:, 19] = _HEX[8 + (lo >> _U(62)).astype(np.intp)]
    out[:, 20:23] = b[:, 1:4]
    out[:, 24:36] = b[:, 4:16]
    return _strings(out)


def _b64(x: Arr, y: Arr) -> pl.Series:
    return _strings(np.concatenate([_digits(x, _B64, 11, 6), _digits(y, _B64, 11, 6)], axis=1))


def _scramble40(x: Arr, c: int) -> Arr:
    """Bijection on [0, 2**40): distinct ordinals give distinct codes."""
    mask = _U((1 << 40) - 1)
    return ((x.astype(np.uint64) * _U(0x5DEECE66D)) + _U(c & 0xFF_FFFF_FFFF)) & mask


def _choice(rng: np.random.Generator, options: Arr, p: Arr, n: int) -> Arr:
    cdf = np.cumsum(p) / np.sum(p)
    idx = np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), len(options) - 1)
    return options[idx]


def _uniform_int(rng: np.random.Generator, lo: float, hi: float, n: int) -> Arr:
    return (lo + rng.random(n) * (hi - lo)).astype(np.int64)


def _lognormal_ms(rng: np.random.Generator, median_ms: float, sigma: float, n: int) -> Arr:
    return rng.lognormal(math.log(median_ms), sigma, n)


# polars JSON fragments: values never need escaping (all generated text is plain ASCII).
def _kv(key: str, value: pl.Expr) -> pl.Expr:
    return pl.concat_str([pl.lit(f'"{key}":"'), value, pl.lit('"')])


def _kn(key: str, raw: pl.Expr) -> pl.Expr:
    return pl.concat_str([pl.lit(f'"{key}":'), raw])


def _obj(parts: list[pl.Expr]) -> pl.Expr:
    inner = pl.concat_str(parts, separator=",", ignore_nulls=True)
    return pl.concat_str([pl.lit("{"), inner, pl.lit("}")])


def _money(cents: pl.Expr) -> pl.Expr:
    return pl.concat_str(
        [(cents // 100).cast(pl.String), pl.lit("."), (cents % 100).cast(pl.String).str.zfill(2)]
    )


def _iso(ms: pl.Expr, millis: bool = True, suffix: str = "Z") -> pl.Expr:
    fmt = "%Y-%m-%dT%H:%M:%S%.3f" if millis else "%Y-%m-%dT%H:%M:%S"
    return pl.from_epoch(ms, time_unit="ms").dt.strftime(fmt + suffix)


# --------------------------------------------------------------------------------------------
# Catalogue and persons
# --------------------------------------------------------------------------------------------


@dataclass
class _Catalog:
    n: int
    pid: pl.Series
    name: pl.Series
    category: pl.Series
    price_cents: Arr
    price: pl.Series
    pop: Arr
    paths: pl.Series  # static paths, then one per product
    refs: pl.Series  # external referrers, then own host + every path

    @staticmethod
    def build() -> _Catalog:
        names, cats, slugs, prices = [], [], [], []
        for i, (adj, noun) in enumerate((a, n) for a in _ADJ for n in _NOUN):
            cat = _NOUN_CAT[noun]
            names.append(f"{adj.title()} {noun.title()}")
            cats.append(cat)
            slugs.append(f"{adj}-{noun}-{1001 + i}")
            median, sigma = _CAT_PRICE[cat]
            # deterministic, seed-independent shop prices ending in .99 / .95
            wobble = math.exp(sigma * math.sin(i * 2.399963))
            euros = max(5, round(median * wobble / 100))
            prices.append(euros * 100 - (1 if i % 3 else 5))
        n = len(names)
        rank = (np.arange(n) * 37) % n
        pop = 1.0 / (1.0 + rank) ** 0.9
        paths = list(_STATIC_PATHS) + [f"/products/{s}" for s in slugs]
        refs = list(_REFERRERS) + [WEB_HOST + p for p in paths]
        price_cents = np.array(prices, dtype=np.int64)
        return _Catalog(
            n=n,
            pid=pl.Series([f"P{1001 + i}" for i in range(n)]),
            name=pl.Series(names),
            category=pl.Series(cats),
            price_cents=price_cents,
            price=pl.Series([f"{p // 100}.{p % 100:02d}" for p in prices]),
            pop=pop / pop.sum(),
            paths=pl.Series(paths),
            refs=pl.Series(refs),
        )

    def sample(self, rng: np.random.Generator, n: int) -> Arr:
        return _choice(rng, np.arange(self.n, dtype=np.int32), self.pop, n)


@dataclass
class _People:
    n: int
    first: Arr
    last: Arr
    domain: Arr
    number: Arr  # unique e-mail number
    currency: Arr  # 0 EUR, 1 USD
    group: Arr
    shopper: Arr
    opt_in: Arr
    open_p: Arr
    click_p: Arr
    crm: Arr
    invitee: Arr
    arrival: Arr

    @staticmethod
    def build(rng: np.random.Generator, n: int, h: _Hash, start_ms: int, days: int) -> _People:
        digits = max(5, len(str(n)) + 1)
        modulus = 10**digits
        number = (np.arange(n, dtype=np.int64) * 7919 + h.const(1) % modulus) % modulus
        day_idx = np.arange(days)
        weekday = (day_idx + date(1970, 1, 1).weekday() + start_ms // DAY_MS) % 7
        w = (1.0 + 0.6 * day_idx / max(days - 1, 1)) * np.where(weekday >= 5, 0.8, 1.0)
        day = _choice(rng, day_idx, w, n)
        tod = np.where(rng.random(n) < 0.7, rng.normal(14.0, 3.5, n), rng.random(n) * 24.0) % 24.0
        arrival = start_ms + day * DAY_MS + (tod * HOUR_MS).astype(np.int64)
        return _People(
            n=n,
            first=rng.integers(0, len(_FIRST), n),
            last=rng.integers(0, len(_LAST), n),
            domain=_choice(rng, np.arange(3), np.array(_DOMAIN_P), n),
            number=number,
            currency=(rng.random(n) < 0.3).astype(np.int8),
            group=_choice(rng, np.arange(len(_GROUPS)), _ACQ_W, n),
            shopper=rng.random(n) < 0.7,
            opt_in=rng.random(n) < 0.8,
            open_p=rng.beta(2.0, 5.0, n),
            click_p=rng.beta(1.2, 9.0, n),
            crm=rng.random(n) < 0.45,
            invitee=rng.random(n) < 0.04,
            arrival=arrival,
        )


# --------------------------------------------------------------------------------------------
# Web journeys
# --------------------------------------------------------------------------------------------


@dataclass
class _Sess:
    person: Arr
    device: Arr
    known: Arr  # userId known on this device when the session starts
    signup: Arr
    login: Arr  # first session on the second device: Signed In + identify
    utm: Arr
    ref: Arr
    land: Arr
    invite_used: Arr


@dataclass
class _Web:
    person: Arr
    ts: Arr
    kind: Arr
    device: Arr
    user: Arr
    path: Arr
    ref: Arr
    utm: Arr
    product: Arr
    qty: Arr
    aux: Arr

    @staticmethod
    def concat(parts: list[_Web]) -> _Web:
        names = list(_Web.__dataclass_fields__)
        return _Web(**{k: np.concatenate([getattr(p, k) for p in parts]) for k in names})

    def take(self, idx: Arr) -> _Web:
        names = list(_Web.__dataclass_fields__)
        return _Web(**{k: getattr(self, k)[idx] for k in names})

    def __len__(self) -> int:
        return len(self.ts)


class _Counters:
    def __init__(self) -> None:
        self.order = 0
        self.invite = 0
        self.message = 0


def _channel(rng: np.random.Generator, group: Arr, cat: _Catalog) -> tuple[Arr, Arr, Arr]:
    n = len(group)
    utm = np.full(n, -1, dtype=np.int16)
    ref = np.full(n, R_NONE, dtype=np.int32)
    land = np.full(n, P_HOME, dtype=np.int32)
    for g, spec in enumerate(_GROUPS):
        idx = np.flatnonzero(group == g)
        m = len(idx)
        if m == 0:
            continue
        if spec.utm:
            u = _choice(
                rng, np.array([x for x, _ in spec.utm]), np.array([w for _, w in spec.utm]), m
            )
            utm[idx] = u
            ref[idx] = _UTM_REF[u]
        if spec.ref:
            opts, ws = np.array([x for x, _ in spec.ref]), np.array([w for _, w in spec.ref])
            ref[idx] = _choice(rng, opts, ws, m)
        opts, ws = np.array([x for x, _ in spec.land]), np.array([w for _, w in spec.land])
        lc = _choice(rng, opts, ws, m)
        prod = len(_STATIC_PATHS) + cat.sample(rng, m)
        land[idx] = np.where(lc == _LAND_PRODUCT, prod, lc)
    return utm, ref, land


def _expand(
    rng: np.random.Generator, s: _Sess, shopper: Arr, cat: _Catalog, ctr: _Counters
) -> tuple[_Web, Arr, Arr]:
    """Events of sessions, with times relative to the session start.

    Returns (events, session index of each event, duration of each session in ms).
    """
    n_s = len(s.person)
    ar = np.arange(n_s, dtype=np.int64)
    can_buy = s.signup | s.known | s.login
    n_browse = rng.poisson(1.1, n_s)
    n_prod = np.where(shopper, rng.poisson(1.0, n_s), 0)
    cart = shopper & (rng.random(n_s) < np.where(can_buy, 0.30, 0.05))
    checkout = cart & can_buy & (rng.random(n_s) < 0.55)
    order = checkout & (rng.random(n_s) < 0.75)
    n_inv = np.where(can_buy & (rng.random(n_s) < 0.04), 1 + rng.binomial(2, 0.3, n_s), 0)
    signin = s.known & (rng.random(n_s) < 0.15)
    cart_product = cat.sample(rng, n_s)
    cart_qty = (1 + (rng.random(n_s) < 0.2) + (rng.random(n_s) < 0.05)).astype(np.int8)
    n_static = len(_STATIC_PATHS)

    sid: list[Arr] = []
    kind: list[Arr] = []
    phase: list[Arr] = []
    sub: list[Arr] = []
    tb: list[Arr] = []
    path: list[Arr] = []
    prod: list[Arr] = []

    def add(sessions: Arr, k: int, ph: int, pth: Arr | int = -1, pr: Arr | int = -1,
            sb: Arr | int = 0, tie: Arr | None = None) -> None:  # fmt: skip
        m = len(sessions)
        sid.append(sessions)
        kind.append(np.full(m, k, dtype=np.int8))
        phase.append(np.full(m, ph, dtype=np.int8))
        sub.append(np.broadcast_to(np.asarray(sb, dtype=np.int16), (m,)))
        tb.append(np.zeros(m, dtype=np.float32) if tie is None else tie)
        path.append(np.broadcast_to(np.asarray(pth, dtype=np.int32), (m,)))
        prod.append(np.broadcast_to(np.asarray(pr, dtype=np.int32), (m,)))

    add(ar, K_PAGE, 0, s.land)
    add(ar[signin], K_SIGNED_IN, 5)
    b = np.repeat(ar, n_browse)
    add(b, K_PAGE, 10, _choice(rng, _BROWSE_PATHS, _BROWSE_P, len(b)),
        tie=rng.random(len(b)).astype(np.float32))  # fmt: skip
    v = np.repeat(ar, n_prod)
    vp = cat.sample(rng, len(v))
    vt = rng.random(len(v)).astype(np.float32)
    add(v, K_PAGE, 10, n_static + vp, vp, 0, vt)
    add(v, K_VIEWED, 10, -1, vp, 1, vt)
    for sessions, page, k_final in ((ar[s.signup], P_SIGNUP, K_SIGNED_UP),
                                    (ar[s.login], P_LOGIN, K_SIGNED_IN)):  # fmt: skip
        add(sessions, K_PAGE, 20, page)
        add(sessions, K_IDENTIFY, 21)
        add(sessions, k_final, 22)
    c = ar[cart]
    add(c, K_PAGE, 40, n_static + cart_product[c], cart_product[c])
    add(c, K_VIEWED, 40, -1, cart_product[c], 1)
    add(c, K_ADDED, 41, -1, cart_product[c])
    c = ar[checkout]
    add(c, K_PAGE, 50, P_CHECKOUT)
    add(c, K_CHECKOUT, 51, -1, cart_product[c])
    add(ar[order], K_ORDER, 60, -1, cart_product[order])
    add(ar[n_inv > 0], K_PAGE, 70, P_INVITE)
    inv = np.repeat(ar, n_inv)
    add(inv, K_INVITE, 71, sb=np.arange(len(inv)) - np.repeat(np.cumsum(n_inv) - n_inv, n_inv))

    e_sid = np.concatenate(sid)
    e_kind = np.concatenate(kind)
    e_phase = np.concatenate(phase)
    e_sub = np.concatenate(sub)
    order_idx = np.lexsort((e_sub, np.concatenate(tb), e_phase, e_sid))
    e_sid = e_sid[order_idx]
    e_kind = e_kind[order_idx]
    e_phase = e_phase[order_idx]
    e_path = np.concatenate(path)[order_idx]
    e_prod = np.concatenate(prod)[order_idx]
    n_e = len(e_sid)

    # times within the session
    counts = np.bincount(e_sid, minlength=n_s)
    first = np.cumsum(counts) - counts
    is_page = e_kind == K_PAGE
    gap = np.where(
        is_page,
        np.clip(_lognormal_ms(rng, 35_000, 1.0, n_e), 2_000, 20 * MIN_MS),
        rng.uniform(150, 2_500, n_e),
    )
    slow = (e_kind == K_IDENTIFY) | (e_kind == K_ORDER)
    gap = np.where(slow, rng.uniform(20_000, 150_000, n_e), gap).astype(np.int64)
    gap[first] = 0
    cs = np.cumsum(gap)
    offset = cs - np.repeat(cs[first], counts)
    duration = offset[first + counts - 1]

    # current page of every event (every session starts with its landing page)
    pos = np.arange(n_e)
    last_page = np.maximum.accumulate(np.where(is_page, pos, 0))
    is_first = np.zeros(n_e, dtype=bool)
    is_first[first] = True
    prev_page = np.where(is_first, 0, last_page[np.maximum(pos - 1, 0)])
    page_ref = np.where(is_first, s.ref[e_sid], _OWN_REF_BASE + e_path[prev_page])
    on_landing = is_first[last_page]
    aux = np.full(n_e, -1, dtype=np.int64)
    m = e_kind == K_ORDER
    aux[m] = ctr.order + np.arange(int(m.sum()))
    ctr.order += int(m.sum())
    m = e_kind == K_INVITE
    aux[m] = ctr.invite + np.arange(int(m.sum()))
    ctr.invite += int(m.sum())
    m = e_kind == K_SIGNED_UP
    aux[m] = s.invite_used[e_sid[m]]
    qty = np.where((e_kind >= K_ADDED) & (e_kind <= K_ORDER), cart_qty[e_sid], 1).astype(np.int8)
    events = _Web(
        person=s.person[e_sid],
        ts=offset,
        kind=e_kind,
        device=s.device[e_sid],
        user=s.known[e_sid] | ((s.signup | s.login)[e_sid] & (e_phase >= 21)),
        path=e_path[last_page].astype(np.int32),
        ref=page_ref[last_page].astype(np.int32),
        utm=np.where(on_landing, s.utm[e_sid], -1).astype(np.int16),
        product=e_prod,
        qty=qty,
        aux=aux,
    )
    return events, e_sid, duration


def _journeys(
    rng: np.random.Generator,
    ppl: _People,
    cat: _Catalog,
    ctr: _Counters,
    pids: Arr,
    arrival: Arr,
    invite_used: Arr,
    force_signup: Arr,
) -> _Web:
    n = len(pids)
    invited = invite_used >= 0
    p_sign = np.where(invited, 0.62, _SIGNUP_P[ppl.group[pids]])
    signed = (rng.random(n) < p_sign) | force_signup
    n_sess = np.minimum(rng.geometric(0.45, n), 10) + np.where(signed, rng.poisson(1.3, n), 0)
    later = 1 + (rng.random(n) * (n_sess - 1)).astype(np.int64)
    signup_sess = np.where((n_sess == 1) | (rng.random(n) < 0.5) | invited, 0, later)
    has2 = signed & (signup_sess < n_sess - 1) & (rng.random(n) < 0.3)
    d2 = signup_sess + 1 + (rng.random(n) * (n_sess - 1 - signup_sess)).astype(np.int64)
    d2 = np.where(has2, d2, -1)

    n_s = int(n_sess.sum())
    sp = np.repeat(np.arange(n), n_sess)
    firsts = np.cumsum(n_sess) - n_sess
    sidx = np.arange(n_s) - np.repeat(firsts, n_sess)
    signed_s = signed[sp]
    su = signup_sess[sp]
    d2s = d2[sp]
    signup = signed_s & (sidx == su)
    login = (d2s >= 0) & (sidx == d2s)
    device = ((d2s >= 0) & (sidx >= d2s) & (login | (rng.random(n_s) < 0.55))).astype(np.int8)
    known = signed_s & (sidx > su) & ~login
    group = np.where(
        sidx == 0, ppl.group[pids][sp], _choice(rng, np.arange(len(_GROUPS)), _RET_W, n_s)
    )
    utm, ref, land = _channel(rng, group, cat)
    inv_first = invited[sp] & (sidx == 0)
    utm[inv_first] = U_INVITE
    ref[inv_first] = R_NONE
    land[inv_first] = P_SIGNUP
    sess = _Sess(
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
    ev, e_sid, duration = _expand(rng, sess, ppl.shopper[pids][sp], cat, ctr)
    between = np.clip(_lognormal_ms(rng, 1.5 * DAY_MS, 1.1, n_s), 45 * MIN_MS, 20 * DAY_MS)
    inc = np.where(sidx == 0, 0, np.roll(duration, 1) + between.astype(np.int64))
    cs = np.cumsum(inc)
    start = arrival[sp] + cs - np.repeat(cs[firsts], n_sess)
    ev.ts = ev.ts + start[e_sid]
    return ev


def _click_sessions(
    rng: np.random.Generator,
    ppl: _People,
    cat: _Catalog,
    ctr: _Counters,
    person: Arr,
    ts: Arr,
    utm: Arr,
    land: Arr,
) -> _Web:
    n = len(person)
    sess = _Sess(
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
    ev, e_sid, _ = _expand(rng, sess, ppl.shopper[person], cat, ctr)
    ev.ts = ev.ts + ts[e_sid] + _uniform_int(rng, 1_000, 4_000, n)[e_sid]
    return ev


def _web_rows(person: Arr, ts: Arr, kind: int | Arr, device: int | Arr, user: bool | Arr,
              qty: int | Arr = 1, aux: int | Arr = -1) -> _Web:
    """Rows of the kinds that are not part of a browsing session (no page, UTM or product)."""
    n = len(person)
    return _Web(
        person=person.astype(np.int64),
        ts=ts.astype(np.int64),
        kind=np.broadcast_to(np.asarray(kind, dtype=np.int8), (n,)).copy(),
        device=np.broadcast_to(np.asarray(device, dtype=np.int8), (n,)).copy(),
        user=np.broadcast_to(np.asarray(user, dtype=bool), (n,)).copy(),
        path=np.full(n, P_HOME, dtype=np.int32),
        ref=np.full(n, R_NONE, dtype=np.int32),
        utm=np.full(n, -1, dtype=np.int16),
        product=np.full(n, -1, dtype=np.int32),
        qty=np.broadcast_to(np.asarray(qty, dtype=np.int8), (n,)).copy(),
        aux=np.broadcast_to(np.asarray(aux, dtype=np.int64), (n,)).copy(),
    )


def _is_b2b(h: _Hash, person: Arr) -> Arr:
    """About one signed-up person in six buys for a company (a club, a school, a clinic)."""
    out: Arr = h.small(person, 64, 100) < 17
    return out


def _pick(h: _Hash, key: Arr, salt: int, p: Arr) -> Arr:
    """A category index per key, with probabilities p (deterministic per key)."""
    idx: Arr = np.minimum(np.searchsorted(np.cumsum(p) / np.sum(p), h.unit(key, salt),
                                          side="right"), len(p) - 1)
    return idx


def _company(h: _Hash, person: Arr) -> Arr:
    """The company a B2B person buys for (several persons share one)."""
    return h.small(person, 82, len(_COMPANY_WORDS) * len(_COMPANY_KINDS))


def _experience(
    rng: np.random.Generator, h: _Hash, web: _Web, signup_ts: Arr, end_ms: int
) -> _Web:
    """App screens with their alias, company (group) calls and web survey answers."""
    parts: list[_Web] = []
    signed = np.flatnonzero(signup_ts < end_ms)
    # the mobile app: a quarter of the signed-up persons, 1-6 app sessions starting a few days
    # after signup; the first session logs in after its first screen (alias app id -> userId)
    app = signed[rng.random(len(signed)) < 0.25]
    n_sess = np.minimum(1 + rng.poisson(1.5, len(app)), 6)
    sp = np.repeat(np.arange(len(app)), n_sess)
    firsts = np.cumsum(n_sess) - n_sess
    sidx = np.arange(len(sp)) - np.repeat(firsts, n_sess)
    gap = np.clip(_lognormal_ms(rng, 3 * DAY_MS, 0.9, len(sp)), HOUR_MS, 20 * DAY_MS)
    gap[sidx == 0] = np.clip(_lognormal_ms(rng, 2 * DAY_MS, 1.0, int((sidx == 0).sum())),
                             10 * MIN_MS, 15 * DAY_MS)
    cs = np.cumsum(gap.astype(np.int64))
    start = signup_ts[app][sp] + cs - np.repeat(cs[firsts] - gap[firsts].astype(np.int64), n_sess)
    n_scr = 2 + rng.poisson(3.0, len(sp))
    ep = np.repeat(np.arange(len(sp)), n_scr)
    efirst = np.cumsum(n_scr) - n_scr
    pos = np.arange(len(ep)) - np.repeat(efirst, n_scr)
    step = _uniform_int(rng, 5_000, 90_000, len(ep))
    step[pos == 0] = 0
    e_cs = np.cumsum(step)
    e_ts = start[ep] + e_cs - np.repeat(e_cs[efirst], n_scr)
    screen = _choice(rng, np.arange(len(_SCREENS)), _SCREEN_P, len(ep))
    screen[pos == 0] = 0  # every app session opens on Home
    first_sess = sidx[ep] == 0
    parts.append(_web_rows(app[sp][ep], e_ts, K_SCREEN, 2, ~first_sess | (pos >= 1),
                           aux=screen))
    alias_at = e_ts[(pos == 0) & first_sess] + _uniform_int(rng, 1_000, 4_000, len(app))
    parts.append(_web_rows(app, alias_at, K_ALIAS, 2, True))

    # companies: B2B persons' group call shortly after signup; a fifth of them later again,
    # after their company upgraded its plan
    b2b = signed[_is_b2b(h, signed)]
    t_group = signup_ts[b2b] + _uniform_int(rng, MIN_MS, 30 * MIN_MS, len(b2b))
    parts.append(_web_rows(b2b, t_group, K_GROUP, 0, True, qty=0))
    up = rng.random(len(b2b)) < 0.2
    t_up = t_group[up] + _uniform_int(rng, 10 * DAY_MS, 45 * DAY_MS, int(up.sum()))
    parts.append(_web_rows(b2b[up], t_up, K_GROUP, 0, True, qty=1))

    # web surveys: CSAT a while after some orders, CES right after some signups
    orders = np.flatnonzero(web.kind == K_ORDER)
    orders = orders[rng.random(len(orders)) < 0.18]
    t_csat = web.ts[orders] + _uniform_int(rng, 10 * MIN_MS, 2 * DAY_MS, len(orders))
    csat = _choice(rng, np.arange(1, 6), _CSAT_P, len(orders))
    parts.append(_web_rows(web.person[orders], t_csat, K_SURVEY, web.device[orders], True,
                           qty=0, aux=csat))
    ups = np.flatnonzero(web.kind == K_SIGNED_UP)
    ups = ups[rng.random(len(ups)) < 0.10]
    t_ces = web.ts[ups] + _uniform_int(rng, 30_000, 10 * MIN_MS, len(ups))
    ces = _choice(rng, np.arange(1, 8), _CES_P, len(ups))
    parts.append(_web_rows(web.person[ups], t_ces, K_SURVEY, web.device[ups], True,
                           qty=1, aux=ces))
    out = _Web.concat(parts)
    return out.take(np.flatnonzero(out.ts < end_ms))


# --------------------------------------------------------------------------------------------
# Email (SendGrid)
# --------------------------------------------------------------------------------------------


@dataclass
class _Campaign:
    name: str
    send_ms: int
    category: str  # JSON: a string or a list of strings
    utm: int
    audience: float
    land: tuple[int, ...]


@dataclass
class _Mail:
    ts: Arr
    person: Arr
    ev: Arr
    msg: Arr
    camp: Arr
    path: Arr

    @staticmethod
    def concat(parts: list[_Mail]) -> _Mail:
        names = list(_Mail.__dataclass_fields__)
        return _Mail(**{k: np.concatenate([getattr(p, k) for p in parts]) for k in names})

    def take(self, idx: Arr) -> _Mail:
        names = list(_Mail.__dataclass_fields__)
        return _Mail(**{k: getattr(self, k)[idx] for k in names})

    def __len__(self) -> int:
        return len(self.ts)


def _campaigns(start: date, days: int) -> list[_Campaign]:
    out: list[_Campaign] = [
        _Campaign("welcome-series", 0, '["transactional","welcome"]', 0, 1.0, (P_NEW,)),
        _Campaign("order-confirmation", 0, '"order_confirmation"', 0, 1.0, (P_HOME,)),
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
        sends.append((at, f"promo-{promo}", f'["promo","{promo}"]', 0.6, (P_SALE, -1)))
    sends.sort()
    for at, name, category, audience, land in sends:
        out.append(_Campaign(name, int(at.timestamp() * 1000), category, 0, audience, land))
    for i, c in enumerate(out):
        c.utm = len(_UTM_FIXED) + i
    return out


def _utm_table(campaigns: list[_Campaign]) -> list[tuple[str, str, str]]:
    table = list(_UTM_FIXED)
    for c in campaigns:
        source = "newsletter" if c.name.startswith("newsletter") else "sendgrid"
        table.append((source, "email", c.name))
    return table


class _MailState:
    def __init__(self, n: int) -> None:
        self.bounced = np.zeros(n, dtype=bool)
        self.suppressed = np.zeros(n, dtype=bool)


def _send(
    rng: np.random.Generator,
    ppl: _People,
    cat: _Catalog,
    ctr: _Counters,
    state: _MailState,
    persons: Arr,
    send_ts: Arr,
    camp_id: int,
    camp: _Campaign,
    marketing: bool,
) -> _Mail:
    n = len(persons)
    msg = ctr.message + np.arange(n, dtype=np.int64)
    ctr.message += n
    proc = send_ts
    r = rng.random(n)
    dropped = state.bounced[persons] | (r < 0.004)
    bounce = ~dropped & (r < 0.016)
    deferred = ~dropped & ~bounce & (r < 0.036)
    delivered = ~dropped & ~bounce
    t_fail = proc + _uniform_int(rng, 800, 60_000, n)
    t_del = np.where(
        deferred,
        t_fail + _uniform_int(rng, 5 * MIN_MS, 4 * HOUR_MS, n),
        proc + _uniform_int(rng, 800, 30_000, n),
    )
    open_mult = 1.0 if marketing else 1.6
    opened = delivered & (rng.random(n) < np.minimum(ppl.open_p[persons] * open_mult, 0.95))
    n_open = np.where(opened, np.minimum(rng.geometric(0.65, n), 5), 0)
    first_open = t_del + np.maximum(_lognormal_ms(rng, 2 * HOUR_MS, 1.3, n), 5_000).astype(np.int64)
    clicked = opened & (rng.random(n) < ppl.click_p[persons]) & (camp_id != 1)
    n_click = np.where(clicked, 1 + (rng.random(n) < 0.25), 0)
    u = rng.random(n)
    unsub = marketing & delivered & (u < 0.003)
    spam = marketing & delivered & (u >= 0.003) & (u < 0.0038)
    gunsub = marketing & delivered & (u >= 0.0038) & (u < 0.0058)
    gresub = gunsub & (rng.random(n) < 0.15)
    t_unsub = np.maximum(first_open, t_del) + _uniform_int(rng, 10_000, 10 * MIN_MS, n)
    t_gresub = t_unsub + _uniform_int(rng, HOUR_MS, 7 * DAY_MS, n)

    ts: list[Arr] = []
    ev: list[Arr] = []
    idx: list[Arr] = []
    path: list[Arr] = []

    def add(sel: Arr, times: Arr, code: int, pth: Arr | None = None) -> None:
        ts.append(times)
        ev.append(np.full(len(sel), code, dtype=np.int8))
        idx.append(sel)
        path.append(np.full(len(sel), -1, dtype=np.int32) if pth is None else pth)

    ar = np.arange(n)
    add(ar, proc, E_PROCESSED)
    add(ar[dropped], t_fail[dropped], E_DROPPED)
    add(ar[bounce], t_fail[bounce], E_BOUNCE)
    add(ar[deferred], t_fail[deferred], E_DEFERRED)
    add(ar[delivered], t_del[delivered], E_DELIVERED)
    o = np.repeat(ar, n_open)
    k = np.arange(len(o)) - np.repeat(np.cumsum(n_open) - n_open, n_open)
    gaps = (k * rng.exponential(DAY_MS * 0.7, len(o))).astype(np.int64)
    add(o, first_open[o] + gaps, E_OPEN)
    c = np.repeat(ar, n_click)
    k = np.arange(len(c)) - np.repeat(np.cumsum(n_click) - n_click, n_click)
    t_click = (
        first_open[c]
        + _uniform_int(rng, 3_000, 5 * MIN_MS, len(c))
        + k * _uniform_int(rng, MIN_MS, 30 * MIN_MS, len(c))
    )
    land_opts = np.array(camp.land)
    lc = land_opts[rng.integers(0, len(land_opts), len(c))]
    land = np.where(lc < 0, len(_STATIC_PATHS) + cat.sample(rng, len(c)), lc).astype(np.int32)
    add(c, t_click, E_CLICK, land)
    add(ar[unsub], t_unsub[unsub], E_UNSUB)
    add(ar[spam], t_unsub[spam], E_SPAM)
    add(ar[gunsub], t_unsub[gunsub], E_GUNSUB)
    add(ar[gresub], t_gresub[gresub], E_GRESUB)

    state.bounced[persons[bounce]] = True
    state.suppressed[persons[unsub | spam | (gunsub & ~gresub)]] = True
    sel = np.concatenate(idx)
    return _Mail(
        ts=np.concatenate(ts),
        person=persons[sel],
        ev=np.concatenate(ev),
        msg=msg[sel],
        camp=np.full(len(sel), camp_id, dtype=np.int16),
        path=np.concatenate(path),
    )


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------


class _Renderer:
    def __init__(
        self,
        h: _Hash,
        ppl: _People,
        cat: _Catalog,
        utm: list[tuple[str, str, str]],
        campaigns: list[_Campaign],
    ) -> None:
        self.h = h
        self.ppl = ppl
        self.cat = cat
        self.utm_src = pl.Series([u[0] for u in utm])
        self.utm_med = pl.Series([u[1] for u in utm])
        self.utm_name = pl.Series([u[2] for u in utm])
        self.camp_name = pl.Series([c.name for c in campaigns])
        self.camp_cat = pl.Series([c.category for c in campaigns])
        self.camp_utm = np.array([c.utm for c in campaigns], dtype=np.int64)
        self.first = pl.Series(_FIRST)
        self.last = pl.Series(_LAST)
        self.first_cap = pl.Series([x.title() for x in _FIRST])
        self.last_cap = pl.Series([x.title() for x in _LAST])
        self.domain = pl.Series(_DOMAINS)
        self.c_user = h.const(11)
        self.offsets = pl.Series([f"{m // 60:+03d}:{abs(m) % 60:02d}" for m in _TS_OFFSETS_MIN])
        self.currencies = pl.Series(["EUR", "USD"])
        self.methods = pl.Series(["email", "email", "google", "apple"])
        self.share_via = pl.Series(["email", "link", "whatsapp"])
        self.c_invite = h.const(12)
        n_companies = len(_COMPANY_WORDS) * len(_COMPANY_KINDS)
        self.company_names = pl.Series(
            [f"{_COMPANY_WORDS[c % len(_COMPANY_WORDS)]} "
             f"{_COMPANY_KINDS[c // len(_COMPANY_WORDS)]}" for c in range(n_companies)]
        )
        self.company_ids = pl.Series([f"grp_{10_001 + 37 * c}" for c in range(n_companies)])

    # identity strings -------------------------------------------------------------------
    def email(self, person: Arr, variant: Arr | None = None) -> pl.Series:
        """Lower-case address, or (variant 1-3) capitalised, padded with spaces, upper-case."""
        p = self.ppl
        number = pl.Series(p.number[person]).cast(pl.String)
        dom = self.domain.gather(p.domain[person])
        if variant is None:
            variant = np.zeros(len(person), dtype=np.int64)
        df = pl.DataFrame(
            {
                "f": self.first.gather(p.first[person]),
                "l": self.last.gather(p.last[person]),
                "F": self.first_cap.gather(p.first[person]),
                "L": self.last_cap.gather(p.last[person]),
                "n": number,
                "d": dom,
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
        code = _digits(_scramble40(person, self.c_user), _B32, 8, 5)
        prefix = np.frombuffer(b"usr_", dtype=np.uint8)
        return _strings(np.concatenate([np.tile(prefix, (len(person), 1)), code], axis=1))

    def invite_code(self, ordinal: Arr) -> pl.Series:
        code = _digits(_scramble40(np.maximum(ordinal, 0), self.c_invite), _B32U, 8, 5)
        prefix = np.frombuffer(b"INV-", dtype=np.uint8)
        return _strings(np.concatenate([np.tile(prefix, (len(ordinal), 1)), code], axis=1))

    # web ----------------------------------------------------------------------------------
    def web_lines(self, w: _Web, key: Arr, mal: Arr) -> pl.Series:
        """One Segment message per row, in row order.

        Rows are rendered per event kind (each kind has its own properties) in parallel lazy
        frames, then put back in order.
        """
        h, cat = self.h, self.cat
        n = len(w)
        person_dev = w.person.astype(np.int64) * 2 + w.device
        off_i = h.small(key, 22, len(_TS_OFFSETS_MIN))
        utm = np.maximum(w.utm, 0)
        base = pl.DataFrame(
            {
                "i": np.arange(n, dtype=np.int64),
                "kind": w.kind,
                "mal": mal.astype(np.int8),
                "user": w.user,
                "ts": w.ts,
                "tsk": h.small(key, 21, 1000),
                "off": np.array(_TS_OFFSETS_MIN, dtype=np.int64)[off_i],
                "offs": self.offsets.gather(off_i),
                "mid": _uuid(h(key, 25), h(key, 26)),
                "anon": _uuid(h(person_dev, 27), h(person_dev, 28)),
                "uid": self.user_id(w.person),
                "path": cat.paths.gather(w.path),
                "ref": cat.refs.gather(w.ref),
                "has_utm": w.utm >= 0,
                "src": self.utm_src.gather(utm),
                "med": self.utm_med.gather(utm),
                "camp": self.utm_name.gather(utm),
            }
        )
        bad_rows = mal == _M_BAD_TS
        if bad_rows.any():
            bad = pl.Series(_BAD_TIMESTAMPS).gather(h.small(key, 24, len(_BAD_TIMESTAMPS)))
            base = base.with_columns(bad=bad)
        else:
            base = base.with_columns(bad=pl.lit("", pl.String))
        col = pl.col
        mal_c = col("mal")
        query = pl.concat_str(
            [pl.lit("?utm_source="), col("src"), pl.lit("&utm_medium="), col("med"),
             pl.lit("&utm_campaign="), col("camp")]
        )  # fmt: skip
        url = pl.concat_str(
            [
                pl.lit(WEB_HOST),
                col("path"),
                pl.when(col("has_utm")).then(query).otherwise(pl.lit("")),
            ]
        )
        local = col("ts") + col("off") * MIN_MS
        ts_str = (
            pl.when(mal_c == _M_BAD_TS)
            .then(col("bad"))
            .when(col("tsk") < 900)
            .then(_iso(col("ts")))
            .when(col("tsk") < 930)
            .then(_iso(col("ts"), millis=False))
            .otherwise(pl.concat_str([_iso(local, suffix=""), col("offs")]))
        )
        page_obj = _obj([_kv("path", col("path")), _kv("referrer", col("ref")), _kv("url", url)])
        campaign = _obj(
            [_kv("source", col("src")), _kv("medium", col("med")), _kv("name", col("camp"))]
        )
        context = _obj(
            [pl.when(col("has_utm")).then(_kn("campaign", campaign)), _kn("page", col("pg"))]
        )
        ids_ok = mal_c != _M_NO_IDS

        def head(type_name: str) -> pl.Expr:
            type_str = pl.when(mal_c == _M_BAD_TYPE).then(pl.lit("pageview"))
            return pl.concat_str(
                [
                    _kv("type", type_str.otherwise(pl.lit(type_name))),
                    pl.when(mal_c != _M_NO_MID).then(_kv("messageId", col("mid"))),
                    _kv("timestamp", col("tss")),
                    pl.when(ids_ok).then(_kv("anonymousId", col("anon"))),
                    pl.when(ids_ok & col("user")).then(_kv("userId", col("uid"))),
                ],
                separator=",",
                ignore_nulls=True,
            )

        def line(type_name: str, body: list[pl.Expr]) -> pl.Expr:
            return pl.concat_str(
                [pl.lit("{"), head(type_name), *(pl.concat_str([pl.lit(","), b]) for b in body),
                 pl.lit(',"context":'), col("ctx"), pl.lit("}")]
            )  # fmt: skip

        prepared = base.lazy().with_columns(tss=ts_str, pg=page_obj).with_columns(ctx=context)
        frames: list[pl.LazyFrame] = []
        kinds = w.kind

        def part(k: int, extra: dict[str, Any], body: list[pl.Expr], type_name: str) -> None:
            rows = np.flatnonzero(kinds == k)
            if len(rows) == 0:
                return
            lf = prepared.filter(col("kind") == k)
            if extra:
                lf = lf.with_columns(**{name: v(rows) for name, v in extra.items()})
            frames.append(lf.select("i", line(type_name, body).alias("line")))

        def track(name: str, props: list[pl.Expr]) -> list[pl.Expr]:
            return [_kv("event", pl.lit(name)), _kn("properties", _obj(props))]

        product = np.maximum(w.product, 0)
        value = cat.price_cents[product] * w.qty
        currency = self.currencies.gather(self.ppl.currency[w.person])

        def g(series: pl.Series, idx: Arr) -> Callable[[Arr], pl.Series]:
            return lambda rows: series.gather(idx[rows])

        def arr(values: Arr) -> Callable[[Arr], pl.Series]:
            return lambda rows: pl.Series(values[rows])

        prod_cols = {
            "pid": g(cat.pid, product),
            "pname": g(cat.name, product),
            "pcat": g(cat.category, product),
            "price": g(cat.price, product),
            "cur": lambda rows: currency.gather(rows),
        }
        prod_props = [
            _kv("product_id", col("pid")),
            _kv("name", col("pname")),
            _kv("category", col("pcat")),
            _kn("price", col("price")),
        ]
        part(K_PAGE, {}, [_kn("properties", col("pg"))], "page")
        part(
            K_IDENTIFY,
            {
                "email": lambda rows: self.email(w.person[rows], self._variant(key[rows])),
                "fn": g(self.first_cap, self.ppl.first[w.person]),
                "ln": g(self.last_cap, self.ppl.last[w.person]),
                "plan": g(pl.Series(_PLANS), _pick(h, w.person, 85, _PLAN_P)),
                "country": g(pl.Series(_COUNTRIES), _pick(h, w.person, 86, _COUNTRY_P)),
                "b2b": arr(_is_b2b(h, w.person)),
                "company": g(self.company_names, _company(h, w.person)),
                "role": g(pl.Series(_ROLES), h.small(w.person, 87, len(_ROLES))),
            },
            [
                _kn(
                    "traits",
                    _obj(
                        [
                            _kv("email", col("email")),
                            _kv("first_name", col("fn")),
                            _kv("last_name", col("ln")),
                            _kv("plan", col("plan")),
                            _kv("country", col("country")),
                            pl.when(col("b2b")).then(_kv("company", col("company"))),
                            pl.when(col("b2b")).then(_kv("role", col("role"))),
                        ]
                    ),
                )
            ],
            "identify",
        )
        method = h.small(w.person, 29, 4)
        code_cols = {
            "code": lambda rows: self.invite_code(w.aux[rows]),
            "aux": arr(w.aux),
            "method": g(self.methods, method),
        }
        code = pl.when(col("aux") >= 0).then(_kv("invite_code", col("code")))
        part(
            K_SIGNED_UP,
            code_cols,
            track("Signed Up", [_kv("method", col("method")), code]),
            "track",
        )
        part(
            K_SIGNED_IN,
            {"method": g(self.methods, method)},
            track("Signed In", [_kv("method", col("method"))]),
            "track",
        )
        part(
            K_VIEWED,
            prod_cols,
            track("Product Viewed", [*prod_props, _kv("currency", col("cur"))]),
            "track",
        )
        part(
            K_ADDED,
            {**prod_cols, "qty": arr(w.qty)},
            track(
                "Product Added",
                [
                    *prod_props,
                    _kn("quantity", col("qty").cast(pl.String)),
                    _kv("currency", col("cur")),
                ],
            ),
            "track",
        )
        part(
            K_CHECKOUT,
            {"value": arr(value), "cur": prod_cols["cur"]},
            track(
                "Checkout Started",
                [_kn("value", _money(col("value"))), _kv("currency", col("cur"))],
            ),
            "track",
        )
        products = pl.concat_str(
            [pl.lit('[{"product_id":"'), col("pid"), pl.lit('","quantity":'),
             col("qty").cast(pl.String), pl.lit(',"price":'), col("price"), pl.lit("}]")]
        )  # fmt: skip
        order_no = pl.concat_str([pl.lit("ORD-"), (col("aux") + 100_001).cast(pl.String)])
        part(
            K_ORDER,
            {
                **prod_cols,
                "qty": arr(w.qty),
                "aux": arr(w.aux),
                "revenue": arr(value + np.where(value < 5_000, 495, 0)),
            },
            track(
                "Order Completed",
                [
                    _kv("order_id", order_no),
                    _kn("revenue", _money(col("revenue"))),
                    _kv("currency", col("cur")),
                    _kn("products", products),
                ],
            ),
            "track",
        )
        part(
            K_INVITE,
            {**code_cols, "via": g(self.share_via, h.small(key, 30, 3))},
            track(
                "Invite Sent",
                [_kv("invite_code", col("code")), _kv("share_via", col("via"))],
            ),
            "track",
        )
        # the mobile app: screens and the alias at login, from the app's own anonymousId
        app_anon = _uuid(h(w.person, 80), h(w.person, 81))
        app_cols = {
            "anon": lambda rows: app_anon.gather(rows),
            "ctx": g(pl.Series(list(_APP_CONTEXTS)), h.small(w.person, 89, 2)),
        }
        part(
            K_SCREEN,
            {**app_cols, "screen": g(pl.Series(_SCREENS), np.maximum(w.aux, 0))},
            [_kv("name", col("screen")), _kn("properties", pl.lit("{}"))],
            "screen",
        )
        part(K_ALIAS, app_cols, [_kv("previousId", col("anon"))], "alias")
        # companies (Segment group): qty 1 marks the call after the company's upgrade
        company = _company(h, w.person)
        plan_i = np.minimum(_pick(h, company, 83, _GROUP_PLAN_P) + w.qty, len(_GROUP_PLANS) - 1)
        part(
            K_GROUP,
            {
                "gid": g(self.company_ids, company),
                "gname": g(self.company_names, company),
                "gind": g(pl.Series(_INDUSTRIES), company // len(_COMPANY_WORDS)),
                "gplan": g(pl.Series(_GROUP_PLANS), plan_i),
                "staff": arr(5 + h.small(company, 84, 400)),
            },
            [
                _kv("groupId", col("gid")),
                _kn(
                    "traits",
                    _obj(
                        [
                            _kv("name", col("gname")),
                            _kv("industry", col("gind")),
                            _kv("plan", col("gplan")),
                            _kn("employees", col("staff").cast(pl.String)),
                        ]
                    ),
                ),
            ],
            "group",
        )
        # web surveys: qty 0 CSAT (after an order), 1 CES (after signing up)
        part(
            K_SURVEY,
            {
                "survey": g(pl.Series(["csat", "ces"]), w.qty.astype(np.int64)),
                "score": arr(w.aux),
            },
            track("Survey Answered", [_kv("survey", col("survey")),
                                      _kn("score", col("score").cast(pl.String))]),
            "track",
        )
        if not frames:
            return pl.Series("line", [], dtype=pl.String)
        out = pl.concat(pl.collect_all(frames)).sort("i")
        lines = out.get_column("line")
        if (mal == _M_NOT_JSON).any():
            broken = pl.Series(mal == _M_NOT_JSON)
            lines = pl.select(
                pl.when(broken)
                .then(lines.str.slice(0, lines.str.len_chars() // 2))
                .otherwise(lines)
            ).to_series()
        assert len(lines) == n
        return lines.alias("line")

    def _variant(self, key: Arr) -> Arr:
        """How an identify call spells the address: as is, capitalised, padded, upper-case."""
        r = self.h.small(key, 23, 100)
        out: Arr = np.select([r < 8, r < 12, r < 14], [1, 2, 3], default=0)
        return out

    # email --------------------------------------------------------------------------------
    def mail_lines(self, m: _Mail, key: Arr, mal: Arr) -> pl.Series:
        h, cat = self.h, self.cat
        utm = self.camp_utm[m.camp]
        path = np.maximum(m.path, 0)
        df = pl.DataFrame(
            {
                "ev": m.ev,
                "mal": mal.astype(np.int8),
                "email": self.email(m.person),
                "ts": m.ts // 1000,
                "name": pl.Series(_EMAIL_EVENTS).gather(m.ev),
                "eid": _b64(h(key, 41), h(key, 42)),
                "mid": _b64(h(m.msg, 43), h(m.msg, 44)),
                "mid_n": h.small(m.msg, 45, 90_000) + 10_000,
                "smtp": _b64(h(m.msg, 46), h(m.msg, 47)),
                "cat": self.camp_cat.gather(m.camp),
                "camp": self.camp_name.gather(m.camp),
                "ua": pl.Series(_USER_AGENTS).gather(h.small(m.person, 48, len(_USER_AGENTS))),
                "drop": pl.Series(_DROP_REASONS).gather(h.small(key, 49, 2)),
                "bounce": pl.Series(_BOUNCE_REASONS).gather(h.small(key, 50, 2)),
                "path": cat.paths.gather(path),
                "src": self.utm_src.gather(utm),
            }
        )
        col = pl.col
        ev = col("ev")
        smtp_events = ev.is_in([E_PROCESSED, E_DROPPED, E_DELIVERED, E_DEFERRED, E_BOUNCE])
        sg_mid = pl.concat_str(
            [col("mid"), pl.lit(".filterdrecv-"), col("mid_n").cast(pl.String), pl.lit("-1.0")]
        )
        smtp = pl.concat_str([pl.lit("<"), col("smtp"), pl.lit("@ismtpd0001p1lon1.sendgrid.net>")])
        url = pl.concat_str(
            [pl.lit(WEB_HOST), col("path"), pl.lit("?utm_source="), col("src"),
             pl.lit("&utm_medium=email&utm_campaign="), col("camp")]
        )  # fmt: skip
        line = _obj(
            [
                pl.when(col("mal") != _M_NO_EMAIL).then(_kv("email", col("email"))),
                _kn("timestamp", col("ts").cast(pl.String)),
                _kv("event", col("name")),
                _kv("sg_event_id", col("eid")),
                _kv("sg_message_id", sg_mid),
                pl.when(smtp_events).then(_kv("smtp-id", smtp)),
                pl.when(ev == E_DELIVERED).then(_kv("response", pl.lit("250 2.0.0 OK"))),
                pl.when(ev == E_DEFERRED).then(
                    _kv("response", pl.lit("400 4.2.2 mailbox temporarily unavailable"))
                ),
                pl.when(ev == E_DEFERRED).then(_kn("attempt", pl.lit("1"))),
                pl.when(ev == E_DROPPED).then(_kv("reason", col("drop"))),
                pl.when(ev == E_BOUNCE).then(_kv("reason", col("bounce"))),
                pl.when(ev == E_BOUNCE).then(_kv("status", col("bounce").str.slice(4, 5))),
                pl.when(ev == E_BOUNCE).then(_kv("type", pl.lit("bounce"))),
                pl.when((ev == E_OPEN) | (ev == E_CLICK)).then(_kv("useragent", col("ua"))),
                pl.when(ev == E_CLICK).then(_kv("url", url)),
                pl.when((ev == E_GUNSUB) | (ev == E_GRESUB)).then(
                    _kn("asm_group_id", pl.lit("4521"))
                ),
                _kn("category", col("cat")),
                _kv("campaign", col("camp")),
            ]
        )
        return df.select(line.alias("line")).to_series()


def _with_extras(
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


def _file_rows(
    rng: np.random.Generator,
    lo: int,
    hi: int,
    x_src: Arr,
    x_kind: Arr,
    x_day: Arr,
    x_key: Arr,
    day: int,
) -> tuple[Arr, Arr, Arr]:
    """Rows of one file (event index, malformed kind, message key) in file order."""
    sel = np.flatnonzero(x_day == day)
    base = np.arange(lo, hi, dtype=np.int64)
    # malformed copies right after their source, duplicates a little later (retries),
    # duplicates from the previous day's file near the start
    src = x_src[sel]
    same = (src >= lo) & (src < hi)
    pos_x = np.where(
        same,
        (src - lo) + np.where(x_kind[sel] > 0, 0.5, rng.uniform(1.0, 40.0, len(sel))),
        rng.uniform(0.0, 20.0, len(sel)),
    )
    rows = np.concatenate([base, src])
    kinds = np.concatenate([np.zeros(len(base), dtype=np.int64), x_kind[sel]])
    keys = np.concatenate([base, x_key[sel]])
    pos = np.concatenate([np.arange(hi - lo, dtype=np.float64), pos_x])
    order = np.argsort(pos, kind="stable")
    return rows[order], kinds[order], keys[order]


def _write_lines(path: Path, lines: pl.Series) -> None:
    if len(lines) == 0:
        path.write_bytes(b"")
        return
    pl.DataFrame({"l": lines}).write_csv(path, include_header=False, quote_style="never")


# --------------------------------------------------------------------------------------------
# CRM
# --------------------------------------------------------------------------------------------


def _crm_date(ms: pl.Expr, choice: pl.Expr) -> pl.Expr:
    """HubSpot-ish date cell: ISO with Z (55%), ISO without offset (25%), epoch ms (20%)."""
    return (
        pl.when(ms.is_null())
        .then(pl.lit(None, pl.String))
        .when(choice < 55)
        .then(_iso(ms))
        .when(choice < 80)
        .then(_iso(ms, millis=False, suffix=""))
        .otherwise(ms.cast(pl.String))
    )


def _months(start_ms: int, end_ms: int) -> list[tuple[str, int, int]]:
    out = []
    d = datetime.fromtimestamp(start_ms / 1000, tz=UTC).replace(day=1, hour=0, minute=0)
    while int(d.timestamp() * 1000) < end_ms:
        nxt = (d + timedelta(days=32)).replace(day=1)
        lo = max(int(d.timestamp() * 1000), start_ms)
        hi = min(int(nxt.timestamp() * 1000), end_ms)
        out.append((d.strftime("%Y-%m"), lo, hi))
        d = nxt
    return out


def _write_crm(
    rng: np.random.Generator,
    h: _Hash,
    rnd: _Renderer,
    ppl: _People,
    out: Path,
    start_ms: int,
    end_ms: int,
    signup_ts: Arr,
    first_order: Arr,
    referrer_ok: Arr,
    rng2: np.random.Generator,
) -> tuple[int, int, int]:
    """Write contacts, deals and feedback exports. Returns (files, rows, malformed rows).

    `rng2` draws what came later (CSAT and CES answers), so the rest does not depend on it.
    """
    none = np.int64(-1)
    months = _months(start_ms, end_ms)

    # contacts
    cps = np.flatnonzero((signup_ts < end_ms) & ppl.crm)
    create = signup_ts[cps] + _uniform_int(rng, MIN_MS, 3 * HOUR_MS, len(cps))
    keep = create < end_ms
    cps, create = cps[keep], create[keep]
    order = np.argsort(create, kind="stable")
    cps, create = cps[order], create[order]
    n_c = len(cps)
    cid = 10_000_000 + np.cumsum(rng.integers(1, 7, n_c))
    contact_of = np.full(ppl.n, -1, dtype=np.int64)
    contact_of[cps] = np.arange(n_c)

    def after(base: Arr, ok: Arr, median_ms: float) -> Arr:
        t = base + np.maximum(rng.exponential(median_ms, len(base)), MIN_MS).astype(np.int64)
        return np.where(ok & (base >= 0), t, none)

    sub = np.where(rng.random(n_c) < 0.55, create, none)
    lead_ok = (rng.random(n_c) < 0.92) | (sub < 0)  # every contact has a stage
    lead = np.where(lead_ok, create + _uniform_int(rng, 0, 10 * MIN_MS, n_c), none)
    mql = after(lead, rng.random(n_c) < 0.35, 4 * DAY_MS)
    sql = after(mql, rng.random(n_c) < 0.45, 3 * DAY_MS)
    opp = after(sql, rng.random(n_c) < 0.55, 3 * DAY_MS)
    fo = first_order[cps]
    cust_web = np.where(
        fo < end_ms, np.maximum(fo, create) + _uniform_int(rng, MIN_MS, 2 * HOUR_MS, n_c), none
    )
    for arr in (mql, sql, opp):  # HubSpot stages only move forward
        arr[(cust_web >= 0) & (arr > cust_web)] = none
        arr[arr >= end_ms] = none

    # deals
    has_deal = (opp >= 0) & (rng.random(n_c) < 0.9)
    dc = np.flatnonzero(has_deal)
    n_d = len(dc)
    r = rng.random(n_d)
    won, lost = r < 0.35, (r >= 0.35) & (r < 0.65)
    open_stage = np.array(_OPEN_DEAL_STAGES)[
        _choice(rng, np.arange(5), np.array([0.3, 0.25, 0.2, 0.15, 0.1]), n_d)
    ]
    stage = np.where(won, "closedwon", np.where(lost, "closedlost", open_stage))
    close = np.where(
        won | lost,
        opp[dc] + DAY_MS + rng.exponential(8 * DAY_MS, n_d).astype(np.int64),
        opp[dc] + _uniform_int(rng, 7 * DAY_MS, 40 * DAY_MS, n_d),
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
    t_won = close[won] + _uniform_int(rng, MIN_MS, HOUR_MS, int(won.sum()))
    cur = cust[won_c]
    cust[won_c] = np.where((cur < 0) | (t_won < cur), t_won, cur)
    cust[cust >= end_ms] = none

    # NPS answers from customers (web orders)
    resp = np.flatnonzero((first_order < end_ms) & (rng.random(ppl.n) < 0.35))
    t_sub = first_order[resp] + _uniform_int(rng, 2 * DAY_MS, 12 * DAY_MS, len(resp))
    keep = t_sub < end_ms
    resp, t_sub = resp[keep], t_sub[keep]
    score = _choice(rng, np.arange(11), _NPS_P, len(resp))
    promoter = np.zeros(ppl.n, dtype=bool)
    promoter[resp[score >= 9]] = True
    nps_time = np.full(ppl.n, -1, dtype=np.int64)
    nps_time[resp] = t_sub

    ev_ok = (cust >= 0) & (
        ((promoter[cps] | referrer_ok[cps]) & (rng.random(n_c) < 0.5)) | (rng.random(n_c) < 0.02)
    )
    evang = np.where(
        ev_ok,
        np.maximum(cust, nps_time[cps]) + _uniform_int(rng, HOUR_MS, 5 * DAY_MS, n_c),
        none,
    )
    evang[evang >= end_ms] = none
    stages = [sub, lead, mql, sql, opp, cust, evang]
    for arr in stages:
        arr[arr >= end_ms] = none

    files = 0
    rows = 0
    crm = out / "crm"
    hs_source = np.array([g.hubspot for g in _GROUPS])[ppl.group[cps]]
    hs_source = np.where(rng.random(n_c) < 0.04, "OFFLINE", hs_source)
    emails = rnd.email(cps)
    # contact columns real exports carry: names and phone (never kept as traits), country and,
    # for B2B contacts, their company's industry (kept: CONTRACT §6)
    phone = pl.Series(
        [f"+49 30 555{n:05d}" for n in h.small(cps, 90, 100_000)], dtype=pl.String
    )
    country = pl.Series(_COUNTRIES).gather(_pick(h, cps, 86, _COUNTRY_P))
    industry = pl.Series([*_INDUSTRIES, ""]).gather(
        np.where(_is_b2b(h, cps), _company(h, cps) // len(_COMPANY_WORDS), len(_INDUSTRIES))
    )
    date_cols = [f"hs_lifecyclestage_{s}_date" for s in _STAGES]
    for mi, (label, lo, hi) in enumerate(months):
        touched = (create >= lo) & (create < hi)
        for arr in stages:
            touched |= (arr >= lo) & (arr < hi)
        sel = np.flatnonzero(touched & (create < hi))
        if len(sel) == 0 and mi > 0:
            continue
        st_idx = np.full(len(sel), -1, dtype=np.int64)
        for k, arr in enumerate(stages):
            st_idx = np.where((arr[sel] >= 0) & (arr[sel] < hi), k, st_idx)
        frame: dict[str, Any] = {
            "hs_object_id": cid[sel],
            "email": emails.gather(sel),
            "createdate": create[sel],
            "lifecyclestage": pl.Series([*_STAGES, ""]).gather(np.where(st_idx < 0, 7, st_idx)),
            "hs_analytics_source": hs_source[sel],
            "firstname": rnd.first_cap.gather(ppl.first[cps[sel]]),
            "lastname": rnd.last_cap.gather(ppl.last[cps[sel]]),
            "phone": phone.gather(sel),
            "country": country.gather(sel),
            "industry": industry.gather(sel),
        }
        exprs: list[pl.Expr] = [
            pl.col("hs_object_id"),
            pl.col("email"),
            _crm_date(pl.col("createdate"), pl.col("c_0")).alias("createdate"),
            pl.col("lifecyclestage"),
            pl.col("hs_analytics_source"),
        ]
        for k, (name, arr) in enumerate(zip(date_cols, stages, strict=True)):
            v = arr[sel]
            frame[name] = (
                pl.Series(np.where((v >= 0) & (v < hi), v, 0)).set(
                    pl.Series((v < 0) | (v >= hi)), None
                )
                if len(sel)
                else pl.Series(name, [], dtype=pl.Int64)
            )
            exprs.append(_crm_date(pl.col(name), pl.col(f"c_{k + 1}")).alias(name))
        exprs += [pl.col(c) for c in ("firstname", "lastname", "phone", "country", "industry")]
        for k in range(len(stages) + 1):
            frame[f"c_{k}"] = h.small(cid[sel] * 16 + k, 60 + mi, 100)
        df = pl.DataFrame(frame).select(exprs)
        df.write_csv(crm / f"contacts-{label}.csv", include_bom=(mi == 0))
        files += 1
        rows += df.height

    # deals files by close month
    deal_id = 20_000_000 + np.cumsum(rng.integers(1, 5, n_d))
    person_d = cps[dc]
    dname = (
        pl.concat_str(
            [
                rnd.first_cap.gather(ppl.first[person_d]),
                pl.lit(" "),
                rnd.last_cap.gather(ppl.last[person_d]),
                pl.lit(" - "),
                pl.Series(_DEAL_KINDS).gather(h.small(deal_id, 70, len(_DEAL_KINDS))),
            ]
        )
        if n_d
        else pl.lit("")
    )
    deals = pl.DataFrame(
        {
            "hs_object_id": deal_id,
            "stage": stage.astype(str),
            "amount": amount,
            "close": close,
            "contact": cid[dc],
            "c": h.small(deal_id, 71, 100),
        }
    ).with_columns(dealname=dname if n_d else pl.lit("", pl.String))
    deals = deals.select(
        "hs_object_id",
        "dealname",
        pl.col("stage").alias("dealstage"),
        _money(pl.col("amount")).alias("amount"),
        _crm_date(pl.col("close"), pl.col("c")).alias("closedate"),
        pl.col("contact").alias("associated_contact_id"),
        pl.col("close").alias("_t"),
    )
    files += _write_monthly(deals, months, crm, "deals")
    rows += deals.height

    # feedback
    n_f = len(resp)
    n_bad = max(1, n_f // 500) if n_f else 0
    bad = rng.choice(n_f, n_bad, replace=False) if n_bad else np.zeros(0, dtype=np.int64)
    # CSAT after some won deals, CES (how easy was it?) after some sales opportunities
    won_p = cps[dc[won]]
    csat_ok = rng2.random(len(won_p)) < 0.45
    t_csat = close[won][csat_ok] + _uniform_int(rng2, HOUR_MS, 5 * DAY_MS, int(csat_ok.sum()))
    csat = _choice(rng2, np.arange(1, 6), _CSAT_P, len(t_csat))
    opp_c = np.flatnonzero(opp >= 0)
    ces_ok = rng2.random(len(opp_c)) < 0.30
    t_ces = opp[opp_c][ces_ok] + _uniform_int(rng2, HOUR_MS, 3 * DAY_MS, int(ces_ok.sum()))
    ces = _choice(rng2, np.arange(1, 8), _CES_P, len(t_ces))
    f_person = np.concatenate([resp, resp[bad], won_p[csat_ok], cps[opp_c][ces_ok]])
    f_time = np.concatenate(
        [t_sub, np.minimum(t_sub[bad] + HOUR_MS, end_ms - 1), t_csat, t_ces]
    )
    f_score = np.concatenate([score, np.full(n_bad, 11), csat, ces])
    f_type = np.concatenate(
        [np.zeros(len(resp) + n_bad, dtype=np.int64), np.full(len(t_csat), 1),
         np.full(len(t_ces), 2)]
    )
    keep = f_time < end_ms
    f_person, f_time, f_score, f_type = f_person[keep], f_time[keep], f_score[keep], f_type[keep]
    order = np.argsort(f_time, kind="stable")
    f_person, f_time, f_score = f_person[order], f_time[order], f_score[order]
    f_type = f_type[order]
    fid = 30_000_000 + np.cumsum(rng.integers(1, 4, len(f_person)))
    f_contact = contact_of[f_person]
    r = rng.random(len(f_person))
    with_id = (f_contact >= 0) & (r < 0.8)
    with_mail = (f_contact < 0) | (r < 0.4) | (r >= 0.8)
    var_r = h.small(fid, 72, 100)
    variant = np.select([var_r < 10, var_r < 13], [1, 2], default=0)
    feedback = pl.DataFrame(
        {
            "hs_object_id": fid,
            "hs_survey_type": pl.Series(["NPS", "CSAT", "CES"]).gather(f_type),
            "hs_response_value": f_score,
            "_t": f_time,
            "c": h.small(fid, 73, 100),
            "mail": rnd.email(f_person, variant),
            "with_mail": with_mail,
            "contact": cid[np.maximum(f_contact, 0)] if n_c else np.zeros(len(fid), np.int64),
            "with_id": with_id,
        }
    ).select(
        "hs_object_id",
        "hs_survey_type",
        "hs_response_value",
        _crm_date(pl.col("_t"), pl.col("c")).alias("hs_submission_timestamp"),
        pl.when(pl.col("with_mail")).then(pl.col("mail")).alias("contact_email"),
        pl.when(pl.col("with_id")).then(pl.col("contact")).alias("associated_contact_id"),
        "_t",
    )
    files += _write_monthly(feedback, months, crm, "feedback")
    rows += feedback.height
    return files, rows, n_bad


def _write_monthly(
    df: pl.DataFrame, months: list[tuple[str, int, int]], crm: Path, stem: str
) -> int:
    files = 0
    for label, lo, hi in months:
        part = df.filter((pl.col("_t") >= lo) & (pl.col("_t") < hi)).drop("_t")
        if part.height == 0 and not (files == 0 and hi == months[-1][2]):
            continue
        part.write_csv(crm / f"{stem}-{label}.csv")
        files += 1
    return files


# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------


_OUTPUT_PATTERNS = (
    ("web", "events-*.jsonl"),
    ("email", "sendgrid-*.json"),
    ("email", "sendgrid-*.jsonl"),
    ("crm", "contacts-*.csv"),
    ("crm", "deals-*.csv"),
    ("crm", "feedback-*.csv"),
)


def generate(
    out_dir: Path,
    persons: int,
    seed: int = 42,
    *,
    start: date = date(2026, 1, 5),
    days: int = 90,
    progress: ProgressFn | None = None,
) -> GenerateSummary:
    """Write synthetic web, email and CRM input for ``persons`` persons under ``out_dir``.

    All events fall in [start, start + days) UTC. Files: ``web/events-YYYY-MM-DD.jsonl`` and
    ``email/sendgrid-YYYY-MM-DD.json`` (JSON array) or ``.jsonl`` (one event per line), one per
    day; monthly ``crm/contacts-YYYY-MM.csv`` (the first with a UTF-8 BOM; a contact changed in
    a later month is exported again), ``crm/deals-YYYY-MM.csv`` and ``crm/feedback-YYYY-MM.csv``.
    Files of these names left by an earlier run in ``out_dir`` are removed first. The same
    arguments give byte-identical files. ``progress(label, fraction)`` is called per file.
    """
    if persons < 1:
        raise ValueError("persons must be at least 1")
    if days < 1:
        raise ValueError("days must be at least 1")

    def report(label: str, fraction: float) -> None:
        if progress is not None:
            progress(label, fraction)

    out_dir = Path(out_dir)
    for sub in ("web", "email", "crm"):
        (out_dir / sub).mkdir(parents=True, exist_ok=True)
    # files of an earlier generate() into the same folder would mix with this run's
    for sub, pattern in _OUTPUT_PATTERNS:
        for stale in (out_dir / sub).glob(pattern):
            stale.unlink()
    h = _Hash(seed)

    def stream(k: int) -> np.random.Generator:
        return np.random.default_rng(np.random.SeedSequence([seed & _MASK64, k]))

    start_ms = int(datetime(start.year, start.month, start.day, tzinfo=UTC).timestamp() * 1000)
    end_ms = start_ms + days * DAY_MS
    cat = _Catalog.build()
    ppl = _People.build(stream(1), persons, h, start_ms, days)
    ctr = _Counters()
    report("journeys", 0.0)

    # pass 1: everybody except the invitee candidates
    pids = np.flatnonzero(~ppl.invitee)
    no_inv = np.full(len(pids), -1, dtype=np.int64)
    w1 = _journeys(stream(2), ppl, cat, ctr, pids, ppl.arrival[pids], no_inv, no_inv >= 0)
    w1 = w1.take(np.flatnonzero(w1.ts < end_ms))

    # invitees: new persons arriving after somebody's Invite Sent
    rng = stream(3)
    inv = np.flatnonzero(w1.kind == K_INVITE)
    inv = inv[np.argsort(w1.ts[inv], kind="stable")]
    accepted = inv[rng.random(len(inv)) < 0.4]
    if len(accepted) == 0 and len(inv):
        accepted = inv[:1]
    accepted = rng.permutation(accepted)
    cand = np.flatnonzero(ppl.invitee)
    k = min(len(cand), len(accepted))
    arrival2 = ppl.arrival[cand].copy()
    used = np.full(len(cand), -1, dtype=np.int64)
    delay = np.maximum(_lognormal_ms(rng, 6 * HOUR_MS, 1.2, k), 5 * MIN_MS).astype(np.int64)
    arrival2[:k] = w1.ts[accepted[:k]] + delay
    used[:k] = w1.aux[accepted[:k]]
    force = np.zeros(len(cand), dtype=bool)
    if k:
        force[int(np.argmin(arrival2[:k]))] = True  # at least one referred signup when possible
    w2 = _journeys(stream(4), ppl, cat, ctr, cand, arrival2, used, force)
    w2 = w2.take(np.flatnonzero(w2.ts < end_ms))
    web = _Web.concat([w1, w2])
    report("journeys", 0.4)

    # email: welcome, campaigns (with click-through sessions), then order confirmations
    campaigns = _campaigns(start, days)
    signup_ts = np.full(persons, np.iinfo(np.int64).max, dtype=np.int64)
    m = web.kind == K_SIGNED_UP
    signup_ts[web.person[m]] = web.ts[m]
    rng = stream(5)
    state = _MailState(persons)
    mails: list[_Mail] = []
    signed = np.flatnonzero(signup_ts < end_ms)
    signed = signed[np.argsort(signup_ts[signed], kind="stable")]
    send_ts = signup_ts[signed] + _uniform_int(rng, 5_000, 90_000, len(signed))
    mails.append(_send(rng, ppl, cat, ctr, state, signed, send_ts, 0, campaigns[0], False))
    for ci, camp in enumerate(campaigns[2:], start=2):
        elig = (
            (signup_ts < camp.send_ms)
            & ppl.opt_in
            & ~state.suppressed
            & (rng.random(persons) < camp.audience)
        )
        rec = np.flatnonzero(elig)
        t = camp.send_ms + _uniform_int(rng, 0, 20 * MIN_MS, len(rec))
        mails.append(_send(rng, ppl, cat, ctr, state, rec, t, ci, camp, True))
    mail = _Mail.concat(mails)
    mail = mail.take(np.flatnonzero(mail.ts < end_ms))

    clicks = np.flatnonzero(mail.ev == E_CLICK)
    clicks = clicks[np.argsort(mail.msg[clicks], kind="stable")]
    first_click = (
        clicks[np.r_[True, mail.msg[clicks][1:] != mail.msg[clicks][:-1]]]
        if len(clicks)
        else clicks
    )
    first_click = first_click[rng.random(len(first_click)) < 0.85]
    camp_utm = np.array([c.utm for c in campaigns], dtype=np.int64)
    w3 = _click_sessions(
        stream(6),
        ppl,
        cat,
        ctr,
        mail.person[first_click],
        mail.ts[first_click],
        camp_utm[mail.camp[first_click]],
        mail.path[first_click],
    )
    web = _Web.concat([web, w3.take(np.flatnonzero(w3.ts < end_ms))])

    orders = np.flatnonzero(web.kind == K_ORDER)
    orders = orders[np.argsort(web.ts[orders], kind="stable")]
    conf_ts = web.ts[orders] + _uniform_int(rng, 3_000, 60_000, len(orders))
    conf = _send(rng, ppl, cat, ctr, state, web.person[orders], conf_ts, 1, campaigns[1], False)
    mail = _Mail.concat([mail, conf])
    mail = mail.take(np.flatnonzero(mail.ts < end_ms))
    report("journeys", 0.6)

    # person facts for the CRM
    first_order = np.full(persons, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first_order, web.person[orders], web.ts[orders])
    referrer_ok = np.zeros(persons, dtype=bool)
    su = np.flatnonzero((web.kind == K_SIGNED_UP) & (web.aux >= 0))
    code_owner = np.full(max(ctr.invite, 1), -1, dtype=np.int64)
    iv = np.flatnonzero(web.kind == K_INVITE)
    code_owner[web.aux[iv]] = web.person[iv]
    owners = code_owner[web.aux[su]]
    referrer_ok[owners[owners >= 0]] = True

    # the whole experience: app screens and aliases, companies, web surveys (its own stream, so
    # the journeys above do not depend on it)
    web = _Web.concat([web, _experience(stream(10), h, web, signup_ts, end_ms)])

    # ---- web files: by day received (a few events arrive late, in the next day's file)
    rng = stream(7)
    n_web = len(web)
    late = rng.random(n_web) < 0.002
    recv = web.ts + np.where(
        late, _lognormal_ms(rng, 2 * HOUR_MS, 1.0, n_web), rng.uniform(50, 2_000, n_web)
    ).astype(np.int64)
    order = np.argsort(recv, kind="stable")
    web = web.take(order)
    recv = recv[order]
    file_day = np.minimum((recv - start_ms) // DAY_MS, days - 1)
    bounds = np.searchsorted(file_day, np.arange(days + 1), side="left")
    mal_web = (_M_NOT_JSON, _M_NO_MID, _M_BAD_TS, _M_NO_IDS, _M_BAD_TYPE)
    x_src, x_kind, x_day = _with_extras(rng, n_web, days, file_day, mal_web)
    x_key = np.where(x_kind > 0, n_web + np.arange(len(x_src)), x_src)
    malformed = {"web": int((x_kind > 0).sum())}
    duplicates = {"web": int((x_kind == 0).sum())}
    rnd = _Renderer(h, ppl, cat, _utm_table(campaigns), campaigns)
    files = 0
    web_records = 0
    for d in range(days):
        rows, kinds, keys = _file_rows(
            rng, int(bounds[d]), int(bounds[d + 1]), x_src, x_kind, x_day, x_key, d
        )
        lines = rnd.web_lines(web.take(rows), keys, kinds)
        day_label = (start + timedelta(days=d)).isoformat()
        _write_lines(out_dir / "web" / f"events-{day_label}.jsonl", lines)
        files += 1
        web_records += len(lines)
        report("web", (d + 1) / days)
    del web

    # ---- email files: JSON array or JSON lines, alternating by day
    rng = stream(8)
    order = np.argsort(mail.ts, kind="stable")
    mail = mail.take(order)
    n_mail = len(mail)
    mday = np.minimum((mail.ts - start_ms) // DAY_MS, days - 1)
    bounds = np.searchsorted(mday, np.arange(days + 1), side="left")
    x_src, x_kind, x_day = _with_extras(rng, n_mail, days, mday, (_M_NO_EMAIL,))
    x_key = np.where(x_kind > 0, n_mail + np.arange(len(x_src)), x_src)
    malformed["email"] = int((x_kind > 0).sum())
    duplicates["email"] = int((x_kind == 0).sum())
    as_array = rng.random(days) < 0.5
    as_array[0] = True
    if days > 1:
        as_array[1] = False
    mail_records = 0
    for d in range(days):
        rows, kinds, keys = _file_rows(
            rng, int(bounds[d]), int(bounds[d + 1]), x_src, x_kind, x_day, x_key, d
        )
        lines = rnd.mail_lines(mail.take(rows), keys, kinds)
        day_label = (start + timedelta(days=d)).isoformat()
        if as_array[d]:
            body = lines.str.join(",\n").item() if len(lines) else ""
            text = "[\n" + body + "\n]\n" if len(lines) else "[]\n"
            (out_dir / "email" / f"sendgrid-{day_label}.json").write_bytes(text.encode())
        else:
            _write_lines(out_dir / "email" / f"sendgrid-{day_label}.jsonl", lines)
        files += 1
        mail_records += len(lines)
        report("email", (d + 1) / days)

    # ---- CRM
    crm_files, crm_rows, crm_bad = _write_crm(
        stream(9), h, rnd, ppl, out_dir, start_ms, end_ms, signup_ts, first_order, referrer_ok,
        stream(11),
    )
    files += crm_files
    report("crm", 1.0)
    malformed["crm"] = crm_bad
    duplicates["crm"] = 0
    return GenerateSummary(
        persons=persons,
        files=files,
        records={"web": web_records, "email": mail_records, "crm": crm_rows},
        out_dir=out_dir,
        malformed=malformed,
        duplicates=duplicates,
    )
