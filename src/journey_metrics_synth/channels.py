"""Acquisition channels: how a visit arrives (UTM campaign, referrer) and where it lands."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from journey_metrics_synth.rand import Arr, weighted
from journey_metrics_synth.site import (
    LAND_PRODUCT,
    P_BLOG1,
    P_BLOG2,
    P_HOME,
    P_NEW,
    P_SALE,
    R_BING,
    R_BLOG,
    R_FB,
    R_GOOGLE,
    R_INSTA,
    R_LINKEDIN,
    R_NEWS,
    R_NONE,
    R_OWN,
    R_TCO,
    Site,
)

# (source, medium, name); email campaigns are appended per run (see email.utm_table).
UTM_FIXED = (
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
# the referrer that comes with each fixed UTM campaign
_UTM_REF = np.array(
    [R_GOOGLE, R_GOOGLE, R_BING, R_GOOGLE, R_GOOGLE, R_FB, R_INSTA, R_LINKEDIN, R_NONE, R_NONE,
     R_NONE, R_NONE, R_NONE, R_BLOG, R_NEWS, R_NONE, R_NONE, R_NONE, R_NONE, R_NONE],
    dtype=np.int32,
)  # fmt: skip


@dataclass(frozen=True)
class Group:
    name: str
    acq_w: float  # share of first visits
    ret_w: float  # share of later visits
    signup_p: float
    hubspot: str  # hs_analytics_source
    utm: tuple[tuple[int, float], ...] = ()
    ref: tuple[tuple[int, float], ...] = ()
    land: tuple[tuple[int, float], ...] = ((P_HOME, 1.0),)


GROUPS = (
    Group("direct", 0.24, 0.55, 0.24, "DIRECT_TRAFFIC", ref=((R_NONE, 0.85), (R_OWN, 0.15))),
    Group(
        "organic_search", 0.26, 0.18, 0.20, "ORGANIC_SEARCH",
        ref=((R_GOOGLE, 0.72), (R_BING, 0.10), (2, 0.12), (3, 0.06)),
        land=((P_BLOG1, 0.3), (LAND_PRODUCT, 0.35), (P_HOME, 0.35)),
    ),
    Group(
        "social", 0.07, 0.05, 0.14, "SOCIAL_MEDIA",
        ref=((R_FB, 0.35), (R_TCO, 0.25), (R_INSTA, 0.15), (R_LINKEDIN, 0.1), (8, 0.15)),
        land=((P_NEW, 0.6), (P_BLOG2, 0.4)),
    ),
    Group(
        "referral", 0.05, 0.03, 0.22, "REFERRALS",
        ref=((R_BLOG, 0.5), (R_NEWS, 0.3), (11, 0.2)),
        land=((P_BLOG1, 0.4), (LAND_PRODUCT, 0.6)),
    ),
    Group(
        "paid_search", 0.13, 0.08, 0.22, "PAID_SEARCH",
        utm=((0, 0.35), (1, 0.3), (2, 0.15), (3, 0.1), (4, 0.1)),
        land=((LAND_PRODUCT, 0.6), (P_HOME, 0.4)),
    ),
    Group(
        "paid_social", 0.08, 0.04, 0.14, "PAID_SOCIAL",
        utm=((5, 0.4), (6, 0.3), (7, 0.1), (8, 0.2)), land=((P_NEW, 1.0),),
    ),
    Group(
        "display", 0.06, 0.03, 0.10, "OTHER_CAMPAIGNS",
        utm=((9, 0.5), (10, 0.3), (11, 0.2)), land=((P_SALE, 1.0),),
    ),
    Group(
        "partner_email", 0.02, 0.01, 0.25, "EMAIL_MARKETING", utm=((12, 1.0),),
        land=((P_NEW, 1.0),),
    ),
    Group(
        "affiliate", 0.05, 0.02, 0.22, "REFERRALS", utm=((13, 0.5), (14, 0.5)),
        land=((LAND_PRODUCT, 1.0),),
    ),
    Group(
        "odd", 0.04, 0.01, 0.15, "OTHER_CAMPAIGNS",
        utm=((15, 0.3), (16, 0.3), (17, 0.2), (18, 0.2)),
    ),
)  # fmt: skip
ACQ_W = np.array([g.acq_w for g in GROUPS])
RET_W = np.array([g.ret_w for g in GROUPS])
SIGNUP_P = np.array([g.signup_p for g in GROUPS])
HUBSPOT_SOURCE = np.array([g.hubspot for g in GROUPS])


def pick_channels(rng: np.random.Generator, group: Arr, site: Site) -> tuple[Arr, Arr, Arr]:
    """(UTM code or -1, referrer code, landing path code) of visits from the given groups."""
    n = len(group)
    utm = np.full(n, -1, dtype=np.int16)
    ref = np.full(n, R_NONE, dtype=np.int32)
    land = np.full(n, P_HOME, dtype=np.int32)
    for g, spec in enumerate(GROUPS):
        idx = np.flatnonzero(group == g)
        m = len(idx)
        if m == 0:
            continue
        if spec.utm:
            u = weighted(rng, spec.utm, m)
            utm[idx] = u
            ref[idx] = _UTM_REF[u]
        if spec.ref:
            ref[idx] = weighted(rng, spec.ref, m)
        landing = weighted(rng, spec.land, m)
        product_page = site.product_pages(rng, m)
        land[idx] = np.where(landing == LAND_PRODUCT, product_page, landing)
    return utm, ref, land
