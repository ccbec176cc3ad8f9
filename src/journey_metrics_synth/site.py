"""The shop's web site: its pages, its product catalogue, and the URLs visitors come from.

Paths and referrers are addressed by integer codes: a path code indexes `Site.paths` (the static
pages, then one page per product), a referrer code indexes `Site.refs` (the external referrers,
then the shop's own host followed by every path, so `OWN_REF_BASE + path` is "came from that
page of the shop").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl

from journey_metrics_synth.rand import Arr, choice

WEB_HOST = "https://shop.example.com"

STATIC_PATHS = (
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
N_STATIC = len(STATIC_PATHS)  # path code N_STATIC + i is product i's page
BROWSE_PATHS = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], dtype=np.int32)
BROWSE_P = np.array([0.22, 0.18, 0.16, 0.05, 0.07, 0.06, 0.06, 0.04, 0.12, 0.04])
LAND_PRODUCT = -1  # landing choice meaning "a product page"

REFERRERS = (
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
OWN_REF_BASE = len(REFERRERS)  # ref code OWN_REF_BASE + path code = own host + that path

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


def _shop_price_cents(i: int, category: str) -> int:
    """Deterministic, seed-independent shop prices ending in .99 / .95."""
    median, sigma = _CAT_PRICE[category]
    wobble = math.exp(sigma * math.sin(i * 2.399963))
    euros = max(5, round(median * wobble / 100))
    return euros * 100 - (1 if i % 3 else 5)


@dataclass
class Site:
    n: int  # products
    pid: pl.Series
    name: pl.Series
    category: pl.Series
    price_cents: Arr
    price: pl.Series
    pop: Arr
    paths: pl.Series  # static paths, then one per product
    refs: pl.Series  # external referrers, then own host + every path

    @staticmethod
    def build() -> Site:
        names, cats, slugs, prices = [], [], [], []
        for i, (adj, noun) in enumerate((a, n) for a in _ADJ for n in _NOUN):
            cat = _NOUN_CAT[noun]
            names.append(f"{adj.title()} {noun.title()}")
            cats.append(cat)
            slugs.append(f"{adj}-{noun}-{1001 + i}")
            prices.append(_shop_price_cents(i, cat))
        n = len(names)
        rank = (np.arange(n) * 37) % n
        pop = 1.0 / (1.0 + rank) ** 0.9
        paths = list(STATIC_PATHS) + [f"/products/{s}" for s in slugs]
        return Site(
            n=n,
            pid=pl.Series([f"P{1001 + i}" for i in range(n)]),
            name=pl.Series(names),
            category=pl.Series(cats),
            price_cents=np.array(prices, dtype=np.int64),
            price=pl.Series([f"{p // 100}.{p % 100:02d}" for p in prices]),
            pop=pop / pop.sum(),
            paths=pl.Series(paths),
            refs=pl.Series(list(REFERRERS) + [WEB_HOST + p for p in paths]),
        )

    def sample(self, rng: np.random.Generator, n: int) -> Arr:
        """n products, popular ones more often."""
        return choice(rng, np.arange(self.n, dtype=np.int32), self.pop, n)

    def product_pages(self, rng: np.random.Generator, n: int) -> Arr:
        """Path codes of n product pages."""
        return N_STATIC + self.sample(rng, n)
