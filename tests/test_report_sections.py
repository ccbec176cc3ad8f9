"""Hand-computed goldens of the dashboard's own rules: journey-map cells and pain points, the
before/during/after phases and the pain-point sentences."""

from __future__ import annotations

from typing import Any

from journey_metrics.charts.experience import phase_rows
from journey_metrics.charts.journey_map import pain_sentences
from journey_metrics.metrics.journey_map import map_touchpoints, score_pain_points


def _row(step: int, touchpoint: str | None, persons: int, converted: int | None,
         hours: float | None) -> dict[str, Any]:
    return {"group": "all", "step": step, "touchpoint": touchpoint, "persons": persons,
            "converted": converted, "median_hours_to_next": hours}


def test_cells_top_other_and_pain_points() -> None:
    rows = [
        _row(1, None, 200, 100, 10.0),  # stage: 50% drop-off, median 10 h
        _row(1, "web · direct · /checkout", 100, 30, 12.0),  # 70% leave: 1.4x -> pain
        _row(1, "web · paid · sale", 60, 50, 40.0),  # 17% leave; 40 h = 4x -> pain (time)
        _row(1, "email · email · news", 29, 0, None),  # 100% leave but < 30 persons: never
        _row(1, "web · direct · /", 11, 20, 1.0),  # goes to (other) with top=3
        _row(2, None, 100, None, None),  # last stage: no conversion
        _row(2, "web · direct · order", 100, None, None),
    ]
    cells = map_touchpoints(rows, ["awareness", "purchase"], top=3)
    assert [(c["step"], c["rank"], c["touchpoint"], c["persons"]) for c in cells] == [
        (1, 1, "web · direct · /checkout", 100), (1, 2, "web · paid · sale", 60),
        (1, 3, "email · email · news", 29), (1, 4, "(other)", 11),
        (2, 1, "web · direct · order", 100)]
    first = cells[0]
    assert (first["conversion"], first["stage_drop_off_rate"]) == (0.3, 0.5)
    assert abs(first["drop_ratio"] - 1.4) < 1e-12
    assert first["time_ratio"] == 1.2
    feelings = [{"step": 1, "nps": -20.0, "nps_respondents": 15}, {"step": 2, "nps": None}]
    score_pain_points(cells, feelings)
    assert [c["pain_point"] for c in cells] == [True, True, False, False, False]
    assert cells[0]["pain_reasons"] == [
        {"kind": "drop", "rate": 0.7, "ratio": first["drop_ratio"]},
        {"kind": "nps", "nps": -20.0, "respondents": 15}]
    assert [r["kind"] for r in cells[1]["pain_reasons"]] == ["time", "nps"]
    assert cells[1]["pain_score"] == 4.0
    assert pain_sentences(cells) == [
        "Awareness: the next stage takes 40 h (median), 4.0\u00d7 the stage median; NPS at this "
        "stage -20 (15 answers) (60 persons reached the stage here).",
        "Awareness: 70% leave after web · direct · /checkout, 1.4\u00d7 the stage average; NPS at "
        "this stage -20 (15 answers) (100 persons reached the stage here).",
    ]
    # a stage whose median is seconds: the ratio is against an hour, so no ratio is claimed
    quick = [dict(cells[1], pain_reasons=[{**cells[1]["pain_reasons"][0], "stage_hours": 0.0004}])]
    assert pain_sentences(quick) == [
        "Awareness: the next stage takes 40 h (median), where the stage's median is under an hour"
        " (60 persons reached the stage here)."]


def test_phases_add_the_stages_counts() -> None:
    def feeling(step: int, stage: str, nps: tuple[int, int, int], csat: tuple[int, int],
                ces: tuple[int, int]) -> dict[str, Any]:
        return {"step": step, "stage": stage, "nps_respondents": nps[0],
                "nps_promoters": nps[1], "nps_detractors": nps[2], "csat_respondents": csat[0],
                "csat_satisfied": csat[1], "ces_respondents": ces[0], "ces_total": ces[1]}

    feelings = [feeling(1, "awareness", (2, 1, 1), (0, 0), (1, 6)),
                feeling(2, "consideration", (2, 2, 0), (4, 3), (1, 2)),
                feeling(3, "purchase", (0, 0, 0), (0, 0), (0, 0)),
                feeling(4, "retention", (4, 1, 2), (2, 2), (0, 0))]
    funnel = [{"group": "all", "step": k, "persons": p} for k, p in
              ((1, 100), (2, 50), (3, 10), (4, 4))]
    rows = phase_rows(feelings, funnel, "purchase")
    assert [(r["phase"], r["persons"], r["stages"]) for r in rows] == [
        ("before purchase", 100, "awareness, consideration"),
        ("during purchase", 10, "purchase"), ("after purchase", 4, "retention")]
    before, during, after = rows
    scores = ("nps", "csat", "ces")
    assert [before[k] for k in scores] == [50.0, 75.0, 4.0]
    assert [during[k] for k in scores] == [None, None, None]
    assert [after[k] for k in scores] == [-25.0, 100.0, None]


def test_summary_sentences_from_hand_made_rows() -> None:
    from journey_metrics.charts.common import biggest_drop
    from journey_metrics.report.i18n import use
    from journey_metrics.report.summary import sentences

    def step(k: int, stage: str, persons: int, previous: int | None) -> dict[str, Any]:
        drop = None if previous is None else previous - persons
        return {"group": "all", "step": k, "stage": stage, "persons": persons,
                "drop_off": drop, "drop_off_rate": None if previous is None else drop / previous}

    rows = [step(1, "awareness", 400, None), step(2, "consideration", 233, 400),
            step(3, "purchase", 8, 233), step(4, "retention", 3, 8), step(5, "advocacy", 0, 3)]
    # retention loses 62.5% and advocacy 100%, of fewer than 30 persons: not the pain point
    assert biggest_drop(rows)["stage"] == "purchase"  # type: ignore[index]
    page = {
        "settings": {"journey_framework": "j"},
        "funnels": [{"name": "j", "rows": rows}],
        "journey": {"exits": [{"step": 2, "touchpoint": "web · direct · /cart", "persons": 150,
                               "share_of_drop_off": 150 / 225}]},
        "attribution": {"stage": "purchase", "spend": True, "rows": [
            {"model": "linear", "group": "email", "conversions": 5.5, "share": 0.55},
            {"model": "linear", "group": "direct", "conversions": 4.5, "share": 0.45},
            {"model": "last", "group": "email", "conversions": 3.0, "cpa": 10.0, "cost": 30.0},
            {"model": "last", "group": "direct", "conversions": 7.0, "cpa": None,
             "cost": 0.0}]},
        "satisfaction": [
            {"group": "all", "period": "2026-01-01", "nps": 20.0, "nps_respondents": 10,
             "csat": 80.0},
            {"group": "all", "period": "2026-02-01", "nps": -10.0, "nps_respondents": 1234,
             "csat": 62.5}],
    }
    with use("en", page):
        en = [s.text for s in sentences(page)]
    assert en == [
        "The biggest drop-off is before Purchase: 96.6% of the 233 persons who reached "
        "Consideration did not go on (225 persons).",
        "Most of them stopped after web · direct · /cart: 150 persons, 66.7% of those who stopped "
        "at Consideration.",
        "email earns the most conversions (Purchase): 5.5 of 10.0 with linear credit (55.0%); "
        "last touch gives it 3.0.",
        "email costs the most per conversion: 10.00 (30.00 for 3.0 last-touch conversions).",
        "NPS in the month of 2026-02 is -10 (1,234 answers).",
        "CSAT fell from 80 in the month of 2026-01 to 62 in the month of 2026-02.",
    ]
    with use("vi", page):
        vi = [s.text for s in sentences(page)]
    assert vi[0] == ("Điểm rơi lớn nhất là trước Purchase: 96,6% trong số 233 người đã đến "
                     "Consideration không đi tiếp (225 người).")
    assert vi[4] == "NPS trong tháng 02/2026 là -10 (1.234 câu trả lời)."
    # a CSAT sentence counts its months' answers, as the NPS sentence does
    page["satisfaction"][0]["csat_respondents"] = 5  # type: ignore[index]
    page["satisfaction"][1]["csat_respondents"] = 1  # type: ignore[index]
    with use("en", page):
        assert sentences(page)[5].text == ("CSAT fell from 80 in the month of 2026-01 to 62 in "
                                           "the month of 2026-02 (5 answers, 1 answer).")
    # persons whose window is still open are in the drop-off (§4), but have not left: said so
    rows[2]["in_progress"] = 200
    with use("en", page):
        drop = sentences(page)[0]
    assert drop.text == (
        "The biggest drop-off is before Purchase: 96.6% of the 233 persons who reached "
        "Consideration did not go on (225 persons); 200 of them still may, their window is open.")
    assert drop.values["open"] == 200


def test_one_person_is_singular_and_an_unfinished_month_says_so() -> None:
    """"1 persons" read wrong, and a month's score read as final while the month was still
    running at as_of (a dashboard audit): counts of one are singular, and a month that has
    not ended at as_of, in the page's zone, is marked "(so far)"."""
    from journey_metrics.report.i18n import use
    from journey_metrics.report.summary import sentences

    rows = [{"group": "all", "step": 1, "stage": "awareness", "persons": 40, "drop_off": None,
             "drop_off_rate": None},
            {"group": "all", "step": 2, "stage": "purchase", "persons": 39, "drop_off": 1,
             "drop_off_rate": 1 / 40}]
    satisfaction = [{"group": "all", "period": "2026-01-01", "nps": 20.0, "nps_respondents": 1,
                     "csat": 80.0},
                    {"group": "all", "period": "2026-02-01", "nps": 50.0, "nps_respondents": 2,
                     "csat": 90.0}]

    def page(as_of: str, tz: str) -> dict[str, Any]:
        return {"as_of": as_of, "settings": {"journey_framework": "j", "tz": tz},
                "funnels": [{"name": "j", "rows": rows}],
                "journey": {"exits": [{"step": 1, "touchpoint": "web · direct · /", "persons": 1,
                                       "share_of_drop_off": 1.0}]},
                "satisfaction": satisfaction}

    running = page("2026-02-14T10:00:00Z", "UTC")
    with use("en", running):
        assert [s.text for s in sentences(running)] == [
            "The biggest drop-off is before Purchase: 2.5% of the 40 persons who reached "
            "Awareness did not go on (1 person).",
            "Most of them stopped after web · direct · /: 1 person, 100.0% of those who stopped at "
            "Awareness.",
            "NPS in the month of 2026-02 (so far) is 50 (2 answers).",
            "CSAT rose from 80 in the month of 2026-01 to 90 in the month of 2026-02 (so far).",
        ]
    with use("vi", running):
        assert sentences(running)[2].text == (
            "NPS trong tháng 02/2026 (tính đến nay) là 50 (2 câu trả lời).")
    # the last instant of February in UTC is already March 1st in Ho Chi Minh City (UTC+7)
    ended = page("2026-02-28T23:30:00Z", "Asia/Ho_Chi_Minh")
    with use("en", ended):
        assert sentences(ended)[2].text == "NPS in the month of 2026-02 is 50 (2 answers)."
    still = page("2026-02-28T23:30:00Z", "UTC")
    with use("en", still):
        assert sentences(still)[2].text == "NPS in the month of 2026-02 (so far) is 50 (2 answers)."
    # exactly at the month's end (local midnight) the month is over
    boundary = page("2026-02-28T17:00:00Z", "Asia/Ho_Chi_Minh")
    with use("en", boundary):
        assert sentences(boundary)[2].text == "NPS in the month of 2026-02 is 50 (2 answers)."


def test_the_funnels_conversion_points_sit_on_their_stage_rows() -> None:
    """The conversion panel beside the bars had no first-stage row, so its four points were
    spread over the five bars' height, each beside the wrong stage (a dashboard audit)."""
    from journey_metrics.charts.funnel import channel_chart, funnel_chart
    from journey_metrics.report.i18n import use

    def row(group: str, k: int, stage: str, persons: int, previous: int | None) -> dict[str, Any]:
        return {"group": group, "step": k, "stage": stage, "persons": persons,
                "drop_off": None if previous is None else previous - persons,
                "drop_off_rate": None if previous is None else 1 - persons / previous,
                "in_progress": None if previous is None else 0,
                "conversion_from_previous": None if previous is None else persons / previous,
                "conversion_from_start": persons / 100, "ci_low": None, "ci_high": None}

    rows = [row(g, 1, "visit", 100, None) for g in ("all", "email")] + [
        row(g, 2, "buy", 40, 100) for g in ("all", "email")]
    funnel = {"name": "shop", "title": "Shop", "window": "7d", "rows": rows}
    with use("vi", {}):
        spec = funnel_chart(funnel).to_dict()
        bars, points = spec["hconcat"]
        domain = points["layer"][0]["encoding"]["y"]["scale"]["domain"]
        assert domain == bars["encoding"]["y"]["sort"] == ["1. Visit", "2. Buy"]
        heat = channel_chart(funnel).to_dict()
        assert heat["layer"][0]["encoding"]["y"]["sort"] == ["tất cả", "email"]


def test_a_channel_that_spent_without_converting_is_the_costliest() -> None:
    """Its cost per conversion is null (no conversion): the sentence named the costliest of
    the channels that converted, and the chart's empty bar read as the cheapest (a dashboard
    audit). The sentence names the one that spent the most for nothing; the chart says it."""
    from journey_metrics.charts.attribution import draw_cost
    from journey_metrics.report.i18n import use
    from journey_metrics.report.summary import sentences

    rows = [{"model": "last", "group": "email", "conversions": 3.0, "cpa": 10.0, "cost": 30.0,
             "revenue": 90.0, "roas": 3.0},
            {"model": "last", "group": "tiktok_ads", "conversions": 0.0, "cpa": None,
             "cost": 300.0, "revenue": 0.0, "roas": 0.0}]
    page = {"settings": {"journey_framework": "j"}, "funnels": [],
            "attribution": {"stage": "purchase", "spend": True, "rows": rows}}
    with use("en", page):
        texts = [s.text for s in sentences(page)]
        chart = draw_cost(rows).to_dict()
    assert "tiktok_ads spent 300.00 without a last-touch conversion." in texts
    assert not [text for text in texts if "costs the most per conversion" in text]
    layers = chart["hconcat"][0]["layer"]
    assert layers[1]["encoding"]["text"] == {"value": "no conversions"}


def test_pain_point_times_are_compared_in_whole_hours() -> None:
    """A stage whose median is minutes does not make a slower touchpoint 'thousands of times'
    slower: both sides are floored at one hour, and a touchpoint under an hour is no time pain."""
    from journey_metrics.metrics.journey_map import _time_ratio

    assert _time_ratio(47.0, 0.0004) == 47.0
    assert _time_ratio(3.0, 2.0) == 1.5
    assert _time_ratio(0.5, 0.01) is None
    assert _time_ratio(None, 2.0) is None


def test_the_numbers_behind_nps_satisfaction_and_referral_are_all_their_rows() -> None:
    """Their text alternatives showed the largest of the chart's data sets only: NPS's
    per-channel cells without the overall line (the headline's number), satisfaction without
    the months a channel answered one survey only, referral without its invites."""
    from journey_metrics.charts.experience import satisfaction_blocks
    from journey_metrics.charts.nps import nps_blocks
    from journey_metrics.charts.referral import referral_blocks

    nps = [{"group": "all", "period": "2026-03-01", "respondents": 5, "promoters": 2,
            "passives": 2, "detractors": 1, "nps": 20.0},
           {"group": "direct", "period": "2026-03-01", "respondents": 1, "promoters": 1,
            "passives": 0, "detractors": 0, "nps": 100.0}]
    assert nps_blocks(nps, {})[0].table == tuple(nps)
    satisfaction = [{"group": g, "period": "2026-03-01", "nps_respondents": 1, "nps": 100.0,
                     "csat_respondents": 0, "csat": None, "ces_respondents": 0, "ces": None}
                    for g in ("all", "direct")]
    assert all(b.table == tuple(satisfaction) for b in satisfaction_blocks(satisfaction, {})
               if b.id.startswith("satisfaction"))
    referral = [{"period": "2026-03-01", "active_persons": 10, "referrers": 2, "invites_sent": 3,
                 "signups": 4, "referred_signups": 1, "referral_rate": 0.2,
                 "invite_conversion_rate": 1 / 3, "k_factor": 0.1, "referred_share": 0.25}]
    assert referral_blocks(referral, {})[0].table == tuple(referral)


def test_a_chart_of_nothing_says_so_and_drivers_need_a_converter() -> None:
    """An empty chart drew bare axes (a dashboard audit: no NPS answers, no orders); and with
    nobody converted, §7's smoothed odds ratios called items 'raises' that only were rare among
    the others. Both now say so in words."""
    from journey_metrics.charts.funnel import driver_blocks
    from journey_metrics.charts.nps import nps_blocks
    from journey_metrics.report.i18n import use
    from journey_metrics.report.page import _block_html

    item = {"item": "csat_response", "converters": 0, "non_converters": 40, "odds_ratio": 9.1,
            "p_value": 1.0, "q_value": 1.0, "direction": "raises"}
    with use("en", {}) as lang:
        drivers = driver_blocks({"framework": "aarrr", "rows": [item]}, {})[0]
        empty = nps_blocks([], {})[0]
        full = nps_blocks([{"group": "all", "period": "2026-03-01", "respondents": 1,
                            "promoters": 1, "passives": 0, "detractors": 0, "nps": 100.0}], {})[0]
        pages = {b.id: _block_html(b, b.chart.to_dict(), lang) for b in (drivers, empty)}
        assert "No data for this chart yet." not in _block_html(full, full.chart.to_dict(), lang)
    assert drivers.notes == ("Nobody converted yet: there is nothing to compare.",)
    assert "csat_response" not in pages["drivers"]
    assert "No data for this chart yet." in pages[empty.id]
    with use("en", {}):
        converted = driver_blocks({"framework": "aarrr", "rows": [{**item, "converters": 3}]},
                                  {})[0]
    assert converted.notes == ()


def test_the_numbers_behind_the_trend_name_each_stage() -> None:
    """The trend's table showed week, rate, reached, entered: four rows a week with no stage
    (a dashboard audit). It now holds the command's rows with their stage and state."""
    from journey_metrics.charts.funnel import trend_blocks
    from journey_metrics.report.i18n import use

    trend = [{"group": "all", "period": "2026-03-02", "step": k, "stage": stage, "persons": n,
              "conversion_from_start": None if k == 1 else n / 10, "complete": False}
             for k, stage, n in ((1, "awareness", 10), (2, "purchase", 4))]
    page = {"funnels": [], "settings": {"journey_framework": "j"}}
    with use("en", page):
        table = trend_blocks(trend, page)[0].table
    assert table is not None
    assert [(r["stage"], r["persons"], r["status"]) for r in table] == [
        ("awareness", 10, "still maturing"), ("purchase", 4, "still maturing")]


def test_touchpoints_keep_what_tells_them_apart() -> None:
    """Cut at their end, five journey-map cells read "email · email · newsletter-20…"."""
    from journey_metrics.charts.journey_map import _short

    assert _short("email · email · newsletter-2026-03-weekly") == "email · newsletter-…-03-weekly"
    assert _short("web · direct · /") == "web · direct · /"
    assert _short("web · Paid Social - Meta Facebook Ads · spring-sale-2026") == (
        "web · Paid Soci…ring-sale-2026")
    assert all(len(_short("web · direct · /" + "x" * n)) <= 30 for n in range(60))


def test_attribution_without_any_touch_says_why() -> None:
    """A CRM-only warehouse credited every model's conversions to (none): seven identical bars
    with no word of why (a dashboard audit)."""
    from journey_metrics.charts.attribution import attribution_blocks
    from journey_metrics.report.i18n import use

    def rows(group: str) -> list[dict[str, Any]]:
        return [{"model": m, "group": group, "conversions": 2.0, "revenue": 0.0, "share": 1.0}
                for m in ("first", "last")]

    with use("en", {}):
        untouched = attribution_blocks({"stage": "purchase", "rows": rows("(none)")}, {})[0]
        touched = attribution_blocks({"stage": "purchase", "rows": rows("email")}, {})[0]
    assert untouched.notes == ("No web session or email click came before these conversions: "
                               "every model credits (none).",)
    assert touched.notes == ()


def test_tables_read_as_the_charts_and_empty_charts_hide() -> None:
    """A dashboard audit (2026-12-07): the tables showed rates as 0.04 (a k-factor of 0.0068 as
    0.01, minutes between steps as 0.00 hours), stage names instead of their titles; an empty
    drivers chart (nobody had 25 items) drew its reference rule with no word, and an empty
    heatmap drew its axes above "No data"; the churn note said "1 lost deals"."""
    from journey_metrics.charts.experience import churn_blocks
    from journey_metrics.charts.funnel import driver_blocks
    from journey_metrics.charts.nps import nps_blocks
    from journey_metrics.report.i18n import use
    from journey_metrics.report.page import _block_html, _cell

    page = {"frameworks": [{"name": "j", "stages": [
        {"name": "awareness", "titles": {"en": "Awareness", "vi": "Nhận thức"}}]}]}
    with use("vi", page) as lang:
        cells = [_cell(0.0375, lang, "referral_rate"), _cell(0.0068, lang, "k_factor"),
                 _cell(0.027, lang, "p_value"), _cell(0.0049, lang, "median_hours"),
                 _cell(12.345, lang, "median_hours"), _cell(1.0, lang, "conversion"),
                 _cell("awareness", lang, "stage"), _cell("direct", lang, "group")]
    assert cells == ["3,8%", "0,0068", "0,027", "0,0049", "12,35", "100,0%", "Nhận thức",
                     "direct"]
    with use("en", {}) as lang:
        drivers = driver_blocks({"framework": "aarrr", "rows": []}, {})[0]
        html = _block_html(drivers, drivers.chart.to_dict(), lang)
        empty = nps_blocks([], {})[0]
        full = nps_blocks([{"group": "all", "period": "2026-03-01", "respondents": 1,
                            "promoters": 1, "passives": 0, "detractors": 0, "nps": 100.0}], {})[0]
        hidden = [' class="chart empty"' in _block_html(b, b.chart.to_dict(), lang)
                  for b in (drivers, empty, full)]
        churn = [{"group": "all", "period": "2026-03-01", "active_before": 3, "churned": 1,
                  "churn_rate": 1 / 3, "unsubscribed": 0, "deals_lost": 1}]
        note = churn_blocks(churn, {})[0].notes
    assert "No event or trait was had by 25 or more" in html
    assert hidden == [True, True, False]
    assert note == ("Over the whole period: 0 unsubscribes, 1 lost deal.",)


def test_the_revenue_month_holding_as_of_is_grey() -> None:
    from journey_metrics.charts.money import revenue_blocks
    from journey_metrics.report.i18n import use

    rows = [{"group": "all", "period": p, "orders": 1, "revenue": 10.0, "buyers": 1,
             "active_persons": 2, "arpu": 5.0, "arppu": 10.0, "repeat_buyers": 0,
             "repeat_purchase_rate": 0.0, "excluded_orders": 0, "currency": "EUR"}
            for p in ("2026-03-01", "2026-04-01")]
    for as_of, grey in (("2026-04-04T17:33:04Z", "2026-04-01"), ("2026-05-01T00:00:00Z", "")):
        page = {"as_of": as_of, "settings": {"tz": "UTC"}}
        with use("en", page):
            spec = revenue_blocks(rows, page)[0].chart.to_dict()
        bars = spec["layer"][0]["encoding"]["color"]
        assert bars["condition"]["test"] == f"(datum.period === '{grey}')"
