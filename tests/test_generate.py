"""Synthetic input generator: determinism, layout and formats, journeys that stitch, bad records."""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
import subprocess
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from journey_metrics.errors import UsageError
from journey_metrics_synth import GenerateSummary, generate, gzip_outputs
from journey_metrics_synth.manifest import MANIFEST

START = date(2026, 1, 5)
DAYS = 90
T0 = datetime(2026, 1, 5, tzinfo=UTC)
T1 = T0 + timedelta(days=DAYS)
CRM_DATE_COLUMNS = (
    "createdate",
    *(
        f"hs_lifecyclestage_{s}_date"
        for s in (
            "subscriber",
            "lead",
            "marketingqualifiedlead",
            "salesqualifiedlead",
            "opportunity",
            "customer",
            "evangelist",
        )
    ),
)
CONTACT_HEADER = ["hs_object_id", "email", "createdate", "lifecyclestage", "hs_analytics_source"]
TRACK_EVENTS = {
    "Signed Up",
    "Signed In",
    "Product Viewed",
    "Product Added",
    "Checkout Started",
    "Order Completed",
    "Invite Sent",
    "Survey Answered",
}


@dataclass
class Web:
    """The web files of one generated folder, parsed."""

    messages: list[dict[str, Any]] = field(default_factory=list)  # valid ones, with "_file"
    bad: Counter[str] = field(default_factory=Counter)
    lines: int = 0
    line_files: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    line_counts: Counter[str] = field(default_factory=Counter)


def parse_ts(value: str) -> datetime | None:
    try:
        ts = datetime.fromisoformat(value)
    except ValueError:
        return None
    return ts if ts.tzinfo is not None else None


def crm_instant(value: str) -> datetime:
    if value.isdigit():
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    ts = datetime.fromisoformat(value)
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def read_web(folder: Path) -> Web:
    web = Web()
    for path in sorted((folder / "web").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            web.lines += 1
            web.line_files[line].add(path.name)
            web.line_counts[line] += 1
            try:
                msg = json.loads(line)
            except json.JSONDecodeError:
                web.bad["not_json"] += 1
                continue
            if "messageId" not in msg:
                web.bad["no_message_id"] += 1
            elif msg.get("type") not in ("page", "screen", "track", "identify", "alias", "group"):
                web.bad["unknown_type"] += 1
            elif not msg.get("anonymousId") and not msg.get("userId"):
                web.bad["no_identifier"] += 1
            elif parse_ts(msg.get("timestamp", "")) is None:
                web.bad["bad_timestamp"] += 1
            else:
                msg["_file"] = path.name
                msg["_ts"] = parse_ts(msg["timestamp"])
                web.messages.append(msg)
    return web


def read_email(folder: Path) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for path in sorted((folder / "email").iterdir()):
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".json":
            events.extend(json.loads(text))
        else:
            events.extend(json.loads(line) for line in text.splitlines())
    return events


def read_csvs(folder: Path, pattern: str) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for path in sorted((folder / "crm").glob(pattern)):
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows.extend(csv.DictReader(handle))
    return rows


def digest(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerateSummary]:
    out = tmp_path_factory.mktemp("gen") / "input"
    calls: list[tuple[str, float]] = []
    summary = generate(out, 200, seed=7, progress=lambda label, f: calls.append((label, f)))
    assert calls
    assert all(0.0 <= f <= 1.0 for _, f in calls)
    assert calls[-1][1] == 1.0
    return out, summary


@pytest.fixture(scope="module")
def web(generated: tuple[Path, GenerateSummary]) -> Web:
    return read_web(generated[0])


@pytest.fixture(scope="module")
def identify_emails(web: Web) -> dict[str, str]:
    """Normalised e-mail -> userId, from identify calls."""
    return {
        m["traits"]["email"].strip().lower(): m["userId"]
        for m in web.messages
        if m["type"] == "identify"
    }


def test_same_seed_is_byte_identical_and_another_seed_differs(tmp_path: Path) -> None:
    a = generate(tmp_path / "a", 60, seed=3, days=14)
    generate(tmp_path / "b", 60, seed=3, days=14)
    generate(tmp_path / "c", 60, seed=4, days=14)
    first = digest(tmp_path / "a")
    assert len(first) == a.files + 1  # and the manifest, the same too
    assert first == digest(tmp_path / "b")
    other = digest(tmp_path / "c")
    assert first != other
    assert any(first[name] != other.get(name) for name in first if name.startswith("web/"))


def test_layout_and_summary(generated: tuple[Path, GenerateSummary], web: Web) -> None:
    out, summary = generated
    assert summary.out_dir == out
    assert summary.persons == 200
    web_files = sorted(p.name for p in (out / "web").iterdir())
    assert web_files == [f"events-{START + timedelta(days=d)}.jsonl" for d in range(DAYS)]
    email_files = sorted((out / "email").iterdir())
    assert len(email_files) == DAYS
    assert {p.suffix for p in email_files} == {".json", ".jsonl"}
    for p in email_files:
        assert p.name.startswith("sendgrid-")
    crm = sorted(p.name for p in (out / "crm").iterdir())
    assert any(n.startswith("contacts-") for n in crm)
    assert any(n.startswith("deals-") for n in crm)
    assert any(n.startswith("feedback-") for n in crm)
    assert all(n.endswith(".csv") for n in crm)
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*/*") if p.is_file())
    assert summary.files == len(written)
    assert (out / MANIFEST).read_text(encoding="utf-8").splitlines() == written
    assert summary.records["web"] == web.lines
    assert summary.records["email"] == len(read_email(out))
    crm_rows = sum(len(read_csvs(out, f"{k}*.csv")) for k in ("contacts", "deals", "feedback"))
    assert summary.records["crm"] == crm_rows


def test_web_messages_follow_the_segment_spec(web: Web) -> None:
    assert len(web.messages) > 1000
    types = Counter(m["type"] for m in web.messages)
    assert set(types) == {"page", "screen", "track", "identify", "alias", "group"}
    assert types["page"] > types["track"] > types["screen"] > types["identify"] > 0
    assert types["identify"] > types["alias"] > 0
    assert types["identify"] > types["group"] > 0
    assert {m["event"] for m in web.messages if m["type"] == "track"} == TRACK_EVENTS
    for m in web.messages:
        assert isinstance(m["messageId"], str)
        assert isinstance(m["anonymousId"], str)
        assert T0 <= m["_ts"] < T1, m
        if m["type"] in ("screen", "alias"):  # the mobile app: an app context, no page
            assert "page" not in m["context"]
            assert m["context"]["app"]["name"] == "Shop"
            continue
        page = m["context"]["page"]
        assert page["url"].startswith("https://shop.example.com/")
        assert page["url"].split("?")[0] == "https://shop.example.com" + page["path"]
        assert isinstance(page["referrer"], str)
        if m["type"] == "page":
            assert {"url", "path", "referrer"} <= set(m["properties"])
            assert m["properties"]["url"] == page["url"]
        elif m["type"] == "identify":
            assert m["userId"]
            assert m["traits"]["email"]
        elif m["type"] == "group":
            assert m["userId"]
            assert m["groupId"]
        else:
            assert isinstance(m["properties"], dict)
        if m.get("event") == "Order Completed":
            assert isinstance(m["properties"]["revenue"], float)
            assert m["properties"]["currency"] in ("EUR", "USD")
            assert m["userId"]
        if "campaign" in m["context"]:
            assert set(m["context"]["campaign"]) == {"source", "medium", "name"}
    ids = Counter(m["messageId"] for m in web.messages)
    duplicated = {k for k, v in ids.items() if v > 1}
    assert duplicated, "some exact duplicates are expected"
    by_id: dict[str, set[str]] = defaultdict(set)
    for m in web.messages:
        if m["messageId"] in duplicated:
            body = {k: v for k, v in m.items() if not k.startswith("_")}
            by_id[m["messageId"]].add(json.dumps(body, sort_keys=True))
    assert all(len(v) == 1 for v in by_id.values()), "a repeated messageId is an exact copy"


def test_timestamps_use_several_offsets_for_the_same_instants(web: Web) -> None:
    suffixes = Counter(
        "Z" if m["timestamp"].endswith("Z") else m["timestamp"][-6:] for m in web.messages
    )
    assert suffixes["Z"] > 0.8 * len(web.messages)
    assert len(suffixes) >= 4
    # messages are sorted by arrival within a file; offsets do not change the instant order much
    assert all(m["_ts"].utcoffset() is not None for m in web.messages)


def test_channels_referrers_and_utm(web: Web) -> None:
    pages = [m for m in web.messages if m["type"] == "page"]
    mediums = Counter(m["context"].get("campaign", {}).get("medium") for m in pages)
    assert {"cpc", "email", "social", "display", "referral", "affiliate"} <= set(mediums)
    hosts = Counter(
        p.split("/")[2] if p else "" for p in (m["properties"]["referrer"] for m in pages)
    )
    assert {"", "shop.example.com", "www.google.com"} <= set(hosts)
    assert len(hosts) >= 6


def test_sessions_and_second_devices(web: Web) -> None:
    by_anon: dict[str, list[datetime]] = defaultdict(list)
    anons_of_user: dict[str, set[str]] = defaultdict(set)
    for m in web.messages:
        by_anon[m["anonymousId"]].append(m["_ts"])
        if m.get("userId"):
            anons_of_user[m["userId"]].add(m["anonymousId"])
    multi_session = 0
    for times in by_anon.values():
        times.sort()
        gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
        multi_session += any(g > 1800 for g in gaps)
    assert multi_session > 0.2 * len(by_anon)
    assert any(len(a) >= 2 for a in anons_of_user.values()), "some users have two devices"
    # an anonymousId never belongs to two users
    users_of_anon: dict[str, set[str]] = defaultdict(set)
    for user, anons in anons_of_user.items():
        for anon in anons:
            users_of_anon[anon].add(user)
    assert all(len(u) == 1 for u in users_of_anon.values())


def test_funnel_drops_off_stage_by_stage(web: Web) -> None:
    persons: dict[str, set[str]] = defaultdict(set)
    for m in web.messages:
        name = m.get("event", m["type"])
        persons[name].add(m.get("userId") or m["anonymousId"])
    visitors = len({m["anonymousId"] for m in web.messages})
    viewed = len(persons["Product Viewed"])
    signed_up = len(persons["Signed Up"])
    added = len(persons["Product Added"])
    checkout = len(persons["Checkout Started"])
    ordered = len(persons["Order Completed"])
    assert visitors > viewed > signed_up > checkout > ordered > 0
    assert viewed > added > checkout
    assert 0.05 < signed_up / visitors < 0.5
    orders = Counter(m["userId"] for m in web.messages if m.get("event") == "Order Completed")
    assert len(orders) >= 1


def test_referred_signups_carry_a_code_sent_earlier_by_someone_else(web: Web) -> None:
    sent: dict[str, tuple[str, datetime]] = {}
    for m in web.messages:
        if m.get("event") == "Invite Sent":
            code = m["properties"]["invite_code"]
            assert code not in sent or sent[code][0] == m["userId"]
            sent[code] = (m["userId"], m["_ts"])
    referred = [
        m
        for m in web.messages
        if m.get("event") == "Signed Up" and "invite_code" in m["properties"]
    ]
    assert referred
    for m in referred:
        inviter, at = sent[m["properties"]["invite_code"]]
        assert inviter != m["userId"]
        assert at <= m["_ts"]


def test_identity_stitches_across_sources(
    generated: tuple[Path, GenerateSummary], web: Web, identify_emails: dict[str, str]
) -> None:
    out, _ = generated
    raw = [m["traits"]["email"] for m in web.messages if m["type"] == "identify"]
    assert any(e != e.strip().lower() for e in raw), "some need trimming / lower-casing"
    for e in identify_emails:
        local, domain = e.split("@")
        assert domain in ("example.com", "example.org", "example.net")
        assert "." in local
    contacts = read_csvs(out, "contacts*.csv")
    assert contacts
    assert {c["email"].strip().lower() for c in contacts} <= set(identify_emails)
    contact_ids = {c["hs_object_id"] for c in contacts}
    deals = read_csvs(out, "deals*.csv")
    assert {d["associated_contact_id"] for d in deals} <= contact_ids
    feedback = read_csvs(out, "feedback*.csv")
    assert feedback
    for f in feedback:
        assert f["contact_email"] or f["associated_contact_id"]
        if f["contact_email"]:
            assert f["contact_email"].strip().lower() in identify_emails
        if f["associated_contact_id"]:
            assert f["associated_contact_id"] in contact_ids
    mails = [e for e in read_email(out) if "email" in e]
    assert mails
    assert {e["email"] for e in mails} <= set(identify_emails)


def test_email_events_look_like_sendgrid(generated: tuple[Path, GenerateSummary]) -> None:
    out, summary = generated
    events = read_email(out)
    kinds = Counter(e["event"] for e in events)
    assert kinds["processed"] >= kinds["delivered"] > kinds["open"] > kinds["click"] > 0
    for e in events:
        assert isinstance(e["timestamp"], int)
        assert T0 <= datetime.fromtimestamp(e["timestamp"], tz=UTC) < T1
        assert e["sg_event_id"]
        assert e["sg_message_id"]
        assert e["campaign"]
        assert isinstance(e["category"], str | list)
        if e["event"] == "click":
            assert e["url"].startswith("https://shop.example.com/")
    assert any(isinstance(e["category"], list) for e in events)
    assert any(isinstance(e["category"], str) for e in events)
    ids = Counter(json.dumps(e, sort_keys=True) for e in events)
    assert sum(v - 1 for v in ids.values()) == summary.duplicates["email"]
    assert sum(1 for e in events if "email" not in e) == summary.malformed["email"]


def test_duckdb_reads_every_format(generated: tuple[Path, GenerateSummary]) -> None:
    out, summary = generated
    con = duckdb.connect()
    json_files = [str(p) for p in sorted((out / "email").glob("*.json")) if p.stat().st_size > 3]
    n_array = con.execute(f"select count(*) from read_json_auto({json_files!r}, format='array')")
    total = n_array.fetchall()[0][0]
    jsonl = [str(p) for p in sorted((out / "email").glob("*.jsonl")) if p.stat().st_size]
    n_lines = con.execute(
        f"select count(*) from read_json_auto({jsonl!r}, format='newline_delimited')"
    )
    total += n_lines.fetchall()[0][0]
    assert total == summary.records["email"]
    web_glob = str(out / "web" / "*.jsonl")
    n_web = con.execute(
        f"select count(*) from read_json_auto('{web_glob}', format='newline_delimited', "
        "ignore_errors=true)"
    ).fetchall()[0][0]
    assert n_web > 0.99 * summary.records["web"]
    contacts = sorted((out / "crm").glob("contacts*.csv"))
    assert contacts[0].read_bytes().startswith(b"\xef\xbb\xbf")
    assert not contacts[-1].read_bytes().startswith(b"\xef\xbb\xbf") or len(contacts) == 1
    rel = con.sql(f"select * from read_csv('{contacts[0]}', header=true, all_varchar=true)")
    assert rel.columns[: len(CONTACT_HEADER)] == CONTACT_HEADER
    # 7 stage dates, then columns real exports carry (names and phone are never kept as traits)
    assert rel.columns[len(CONTACT_HEADER) + 7:] == ["firstname", "lastname", "phone", "country",
                                                     "industry"]


def test_crm_dates_mix_formats_and_stay_in_the_window(
    generated: tuple[Path, GenerateSummary],
) -> None:
    out, _ = generated
    contacts = read_csvs(out, "contacts*.csv")
    kinds: Counter[str] = Counter()
    for row in contacts:
        for col in CRM_DATE_COLUMNS:
            value = row[col]
            if not value:
                continue
            kinds["epoch" if value.isdigit() else "z" if value.endswith("Z") else "naive"] += 1
            assert T0 <= crm_instant(value) < T1
        assert row["lifecyclestage"]
    assert set(kinds) == {"epoch", "z", "naive"}
    # a contact changed in a later month is exported again with the same id and dates
    ids = Counter(row["hs_object_id"] for row in contacts)
    assert max(ids.values()) >= 2
    for row in read_csvs(out, "deals*.csv"):
        assert T0 <= crm_instant(row["closedate"]) < T1
        assert row["dealstage"]
        float(row["amount"])
    feedback = read_csvs(out, "feedback*.csv")
    by_type: dict[str, list[int]] = defaultdict(list)
    for r in feedback:
        by_type[r["hs_survey_type"]].append(int(r["hs_response_value"]))
    assert set(by_type) <= {"NPS", "CSAT", "CES"}
    assert 11 in by_type["NPS"]  # the malformed answer
    assert all(0 <= s <= 11 for s in by_type["NPS"])
    assert all(1 <= s <= 5 for s in by_type["CSAT"])
    assert all(1 <= s <= 7 for s in by_type["CES"])


def test_malformed_records_are_rare_but_present(
    generated: tuple[Path, GenerateSummary], web: Web
) -> None:
    _, summary = generated
    assert set(web.bad) == {
        "not_json",
        "no_message_id",
        "unknown_type",
        "no_identifier",
        "bad_timestamp",
    }
    n_bad = sum(web.bad.values())
    assert n_bad == summary.malformed["web"]
    assert 0 < n_bad / web.lines < 0.01
    assert summary.malformed["email"] > 0
    assert summary.malformed["crm"] > 0
    # exact duplicate lines, within one file and across files
    repeated = {line: n for line, n in web.line_counts.items() if n > 1}
    assert sum(n - 1 for n in repeated.values()) == summary.duplicates["web"]
    assert any(len(web.line_files[line]) == 1 for line in repeated)
    assert any(len(web.line_files[line]) == 2 for line in repeated)


def test_rejects_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="persons"):
        generate(tmp_path, 0)
    with pytest.raises(ValueError, match="days"):
        generate(tmp_path, 10, days=0)


def test_tiny_runs_still_write_the_whole_layout(tmp_path: Path) -> None:
    summary = generate(tmp_path, 1, seed=1, days=3)
    assert summary.files >= 3 + 3 + 3
    assert len(list((tmp_path / "web").iterdir())) == 3
    assert (tmp_path / "crm").is_dir()


def listed(folder: Path) -> list[str]:
    return (folder / MANIFEST).read_text(encoding="utf-8").splitlines()


def test_a_new_run_replaces_the_files_of_an_earlier_one(tmp_path: Path) -> None:
    out = tmp_path / "out"
    generate(out, 30, seed=1, days=6)
    (out / "web" / "keep-me.txt").write_text("not ours")  # `run` would not read it
    summary = generate(out, 30, seed=1, days=3)
    assert len(list((out / "web").glob("events-*.jsonl"))) == 3
    assert (out / "web" / "keep-me.txt").read_text() == "not ours"
    assert summary.files == len(listed(out))
    # the same files as a run into a new folder, and the user's
    fresh = digest(generate(tmp_path / "fresh", 30, seed=1, days=3).out_dir)
    assert digest(out) == fresh | {"web/keep-me.txt": hashlib.sha256(b"not ours").hexdigest()}


def test_a_users_files_stop_the_run_and_are_left_as_they_were(tmp_path: Path) -> None:
    """A folder of real exports was emptied of its `contacts*.csv`, `*.jsonl`, ... and filled
    with synthetic ones (decision 230)."""
    (tmp_path / "crm").mkdir()
    (tmp_path / "web").mkdir()
    (tmp_path / "crm" / "contacts-mine.csv").write_text("hs_object_id,email\n")
    (tmp_path / "web" / "my-export.jsonl").write_text("{}\n")
    before = digest(tmp_path)
    with pytest.raises(UsageError, match=r"holds files generate did not write \(web/my-export"
                                         r"\.jsonl\): choose an empty or new folder"):
        generate(tmp_path, 3, days=1)
    assert digest(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crm", "web"]
    # the command: exit 2, one line naming the folder and the file, nothing touched
    (tmp_path / "web" / "my-export.jsonl").unlink()
    del before["web/my-export.jsonl"]
    result = subprocess.run(
        [sys.executable, "-m", "journey_metrics", "generate", "--persons", "3", "--days", "1",
          "--out", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        f"error: {tmp_path} holds files generate did not write (crm/contacts-mine.csv): choose"
        " an empty or new folder"]
    assert digest(tmp_path) == before
    # a user's file dropped into a generated folder stops the next run as well
    generate(tmp_path / "gen", 3, days=1)
    ours = digest(tmp_path / "gen")
    (tmp_path / "gen" / "email" / "sendgrid-2026-01-06.json.gz").write_bytes(b"theirs")
    with pytest.raises(UsageError, match=r"\(email/sendgrid-2026-01-06\.json\.gz\)"):
        generate(tmp_path / "gen", 3, days=2)
    assert digest(tmp_path / "gen") == {**ours, "email/sendgrid-2026-01-06.json.gz":
                                        hashlib.sha256(b"theirs").hexdigest()}


def test_gzip_compresses_only_what_the_run_wrote(tmp_path: Path) -> None:
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "notes.txt").write_text("mine")  # in a source folder, never read
    (tmp_path / "web" / ".draft.jsonl").write_text("mine")  # skipped by `run` as a dot file
    summary = generate(tmp_path, 20, seed=2, days=4)
    plain = listed(tmp_path)
    gzip_outputs(tmp_path)
    assert listed(tmp_path) == [f"{r}.gz" for r in plain]
    assert len(plain) == summary.files
    assert (tmp_path / "web" / "notes.txt").read_text() == "mine"
    assert (tmp_path / "web" / ".draft.jsonl").read_text() == "mine"
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*/*")) == sorted(
        [*listed(tmp_path), "web/.draft.jsonl", "web/notes.txt"])
    # generating again into the folder replaces the compressed files, the user's stay
    generate(tmp_path, 20, seed=2, days=2)
    assert not list(tmp_path.rglob("*.gz"))
    assert (tmp_path / "web" / "notes.txt").read_text() == "mine"


def test_a_run_stopped_half_way_is_replaced_by_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its files are listed before they are written: the next run does not take them for a
    user's."""
    import journey_metrics_synth.run as synth_run

    def stop(*_: object) -> int:
        raise KeyboardInterrupt

    with monkeypatch.context() as patched:
        patched.setattr(synth_run, "_write_email", stop)
        with pytest.raises(KeyboardInterrupt):
            generate(tmp_path, 10, seed=1, days=3)
    assert len(list((tmp_path / "web").iterdir())) == 3
    summary = generate(tmp_path, 10, seed=1, days=2)
    assert listed(tmp_path) == sorted(digest(tmp_path).keys() - {MANIFEST})
    assert len(listed(tmp_path)) == summary.files


def test_app_screens_aliases_groups_surveys_and_traits(web: Web) -> None:
    by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for m in web.messages:
        by_type[m["type"]].append(m)
    screens, aliases, groups = by_type["screen"], by_type["alias"], by_type["group"]
    assert all(isinstance(m["name"], str) and m["name"] for m in screens)
    assert all(m["context"]["app"]["name"] == "Shop" for m in screens)
    # an app's anonymousId is linked to the user by its alias, and is not a web device's
    aliased = {m["previousId"]: m["userId"] for m in aliases}
    assert all(m["userId"] for m in aliases)
    web_anons = {m["anonymousId"] for m in web.messages if m["type"] in ("page", "track")}
    assert {m["anonymousId"] for m in screens} <= set(aliased)
    assert not set(aliased) & web_anons
    # screens before the login are anonymous, the ones after carry the userId
    assert any("userId" not in m for m in screens)
    assert any("userId" in m for m in screens)
    for m in groups:
        assert m["groupId"].startswith("grp_")
        assert set(m["traits"]) == {"name", "industry", "plan", "employees"}
    # some companies upgrade: the same person's group calls name two plans
    plans: dict[str, set[str]] = defaultdict(set)
    for m in groups:
        plans[m["userId"]].add(m["traits"]["plan"])
    assert any(len(v) == 2 for v in plans.values())
    surveys = [m for m in web.messages if m.get("event") == "Survey Answered"]
    kinds = Counter(m["properties"]["survey"] for m in surveys)
    assert set(kinds) == {"csat", "ces"}
    for m in surveys:
        high = 5 if m["properties"]["survey"] == "csat" else 7
        assert 1 <= m["properties"]["score"] <= high
    # identify traits: plan and country always, company and role for B2B persons
    traits = [m["traits"] for m in by_type["identify"]]
    assert all({"plan", "country"} <= set(t) for t in traits)
    assert any("company" in t and "role" in t for t in traits)
    assert any("company" not in t for t in traits)
