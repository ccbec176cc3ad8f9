"""The command line: output formats, exit statuses and one-line errors (CONTRACT §5)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest

from conftest import query, write_jsonl

PAGE = {"type": "page", "messageId": "m1", "timestamp": "2024-03-01T10:00:00Z",
        "anonymousId": "a1"}


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "journey_metrics", *args],
        capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=120,
    )


def test_run_json_summary_then_idempotent(input_dir: Path, db_path: Path) -> None:
    write_jsonl(input_dir / "web" / "a.jsonl", [PAGE, PAGE, "nope"])
    first = cli("run", "--input", str(input_dir), "--db", str(db_path), "--format", "json")
    assert first.returncode == 0, first.stderr
    out = json.loads(first.stdout)
    assert out["sources"][0] == {
        "source": "web", "files": 1, "records": 3, "events": 1, "duplicates": 1,
        "quarantined": 1, "identity_records": 0, "failed_files": 0, "skipped_files": 0,
    }
    assert [s["source"] for s in out["sources"]] == ["web", "email", "crm"]
    assert (out["events_total"], out["persons"]) == (1, 1)
    second = json.loads(
        cli("run", "--input", str(input_dir), "--db", str(db_path), "--format", "json").stdout
    )
    assert sum(s["events"] for s in second["sources"]) == 0
    assert second["events_total"] == 1


def test_the_log_names_the_files_with_quarantined_records(input_dir: Path, db_path: Path) -> None:
    """The note gave counts and a query only: a nightly log did not say which file to open
    (an operations audit). The files with the most quarantined records follow, each with its
    count and most common reason, on stderr; a failed file's line is never wrapped."""
    bad = {**PAGE, "timestamp": "05/01/2026 10:00"}
    write_jsonl(input_dir / "web" / "a.jsonl", [PAGE, {**bad, "messageId": "m2"},
                                                {**bad, "messageId": "m3"}, "nope"])
    write_jsonl(input_dir / "web" / "b.jsonl", ["nope"])
    (input_dir / "web" / "c-with-a-long-name-to-wrap-on-a-narrow-terminal.jsonl.gz"
     ).write_bytes(b"not gzip at all")
    result = cli("run", "--input", str(input_dir), "--db", str(db_path),
                 env={"COLUMNS": "40"})
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    start = next(i for i, line in enumerate(lines) if "records read were quarantined" in line)
    assert lines[start + 1:start + 3] == [
        "  web/a.jsonl: 3 quarantined, most often: unparseable timestamp 05/01/2026 10:00",
        "  web/b.jsonl: 1 quarantined, most often: not valid JSON"]
    failed = [line for line in result.stdout.splitlines() if line.startswith("failed ")]
    assert len(failed) == 1
    assert failed[0].endswith("Not a gzipped file (b'no')")
    # rewritten: the next run's reason is its own, not the most common one of all runs
    write_jsonl(input_dir / "web" / "b.jsonl", [{**PAGE, "type": "zzz"}])
    again = cli("run", "--input", str(input_dir), "--db", str(db_path))
    assert "  web/b.jsonl: 1 quarantined, most often: unknown" in again.stderr


def test_run_table_output(input_dir: Path, db_path: Path) -> None:
    write_jsonl(input_dir / "web" / "a.jsonl", [PAGE])
    result = cli("run", "--input", str(input_dir), "--db", str(db_path))
    assert result.returncode == 0
    assert "web" in result.stdout
    assert f"warehouse {db_path}: 1 events, 1 persons" in result.stdout.replace("\n", "")


@pytest.mark.parametrize(
    ("setup", "expected_code", "message"),
    [
        ("missing", 2, "does not exist or is not a folder"),
        ("unknown_folder", 2, "unknown source folder"),
        ("bad_memory", 2, "JOURNEY_METRICS_MEMORY_LIMIT: invalid value 'lots'"),
        ("short_key", 2, "JOURNEY_METRICS_HASH_KEY is too short"),
        ("no_source_folder", 2, "no web/, email/ or crm/ folder in "),
    ],
)
def test_errors_are_one_line(
    tmp_path: Path, input_dir: Path, db_path: Path, setup: str, expected_code: int, message: str
) -> None:
    env = {}
    folder = input_dir
    if setup != "no_source_folder":
        (input_dir / "web").mkdir()  # empty: a quiet night
    if setup == "missing":
        folder = tmp_path / "nowhere"
    elif setup == "unknown_folder":
        (input_dir / "mobile").mkdir()
    elif setup == "bad_memory":
        env["JOURNEY_METRICS_MEMORY_LIMIT"] = "lots"
    elif setup == "short_key":
        env["JOURNEY_METRICS_HASH_KEY"] = "short"
    result = cli("run", "--input", str(folder), "--db", str(db_path), env=env)
    assert result.returncode == expected_code
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_run_needs_a_source_folder(input_dir: Path, db_path: Path) -> None:
    """An --input holding none of the source folders is a wrong folder (the user pointed at
    DIR/web): exit 2 naming it and the folders looked for; it ran with zeros and made an empty
    warehouse (decision 231). A source folder that is there but empty is a quiet night."""
    write_jsonl(input_dir / "web" / "a.jsonl", [PAGE])
    wrong = cli("run", "--input", str(input_dir / "web"), "--db", str(db_path))
    assert (wrong.returncode, wrong.stderr) == (
        2, f"error: no web/, email/ or crm/ folder in {input_dir / 'web'}: give the folder that"
        " holds the source folders\n")
    assert not db_path.exists()
    quiet = input_dir.parent / "quiet"
    (quiet / "email").mkdir(parents=True)
    night = cli("run", "--input", str(quiet), "--db", str(db_path), "--format", "json")
    assert night.returncode == 0, night.stderr
    assert json.loads(night.stdout)["events_total"] == 0


def test_serve_checks_the_input_folder_as_run_does(input_dir: Path, tmp_path: Path) -> None:
    """`serve` refused only a missing --input at start; an unknown source folder failed at the
    first scheduled run, hours later (decision 237). A folder without source folders yet may be
    waiting for its first exports: a note (here the bad --cron then stops the serve)."""
    env = {"PREFECT_HOME": str(tmp_path / "prefect"), "PREFECT_API_URL": "http://127.0.0.1:9/api"}
    base = ("serve", "--report", str(tmp_path / "r"), "--db", str(tmp_path / "w.duckdb"))
    (input_dir / "webb").mkdir()
    wrong = cli(*base, "--input", str(input_dir), env=env)
    assert wrong.returncode == 2
    assert wrong.stderr.startswith("error: unknown source folder"), wrong.stderr
    (input_dir / "webb").rmdir()
    waiting = cli(*base, "--input", str(input_dir), "--cron", "bad cron", env=env)
    assert waiting.returncode == 2
    first, last = waiting.stderr.strip().splitlines()
    assert first.startswith("note: no web/, email/ or crm/ folder in"), waiting.stderr
    assert "the scheduled runs fail until one is there" in first
    assert last.startswith("error: --cron 'bad cron'"), waiting.stderr


def test_bad_usage_exits_2(db_path: Path) -> None:
    result = cli("run", "--db", str(db_path))  # --input missing
    assert result.returncode == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["funnel", "--format", "xml"], "error: Invalid value for '--format': 'xml' is not one"),
        (["funnel", "--bogus"], "error: No such option: --bogus"),
        (["export"], "error: Missing option '--out'."),
        (["nosuch"], "error: No such command 'nosuch'."),
        (["run", "--input", "x", "--wait", "-1"], "error: Invalid value for '--wait'"),
    ],
)
def test_parser_errors_are_one_line_with_exit_2(args: list[str], message: str) -> None:
    """The option parser's own errors follow CONTRACT §5 like ours: one line, exit 2 (they
    printed click's usage box)."""
    result = cli(*args)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith(message)
    assert result.stdout == ""


def test_bad_paths_and_values_are_usage_errors(
    input_dir: Path, db_path: Path, tmp_path: Path
) -> None:
    """Each of these exited 1 as an 'unexpected' error; bad usage is exit 2 and one line."""
    write_jsonl(input_dir / "web" / "a.jsonl", [PAGE])
    assert cli("run", "--input", str(input_dir), "--db", str(db_path)).returncode == 0
    a_file = tmp_path / "notes.txt"
    a_file.write_text("keep me\n")
    not_utf8 = tmp_path / "framework.yaml"
    not_utf8.write_bytes(b"name: x\n\xff\xfe: y\n")
    broken = tmp_path / "broken.yaml"  # an unclosed list: the parser gives up on line 3
    broken.write_text("name: x\nstages: [awareness, appeal\nevents: {}\n")
    rules = tmp_path / "channels.yaml"
    rules.write_text("rules:\n  - {channel: Partners, medium: [partner]}\n\t- {channel: X}\n")
    db = ["--db", str(db_path)]
    empty = tmp_path / "empty.duckdb"  # created, never written
    empty.write_bytes(b"")
    own = tmp_path / "own.duckdb"  # a user's own DuckDB database
    with duckdb.connect(str(own)) as theirs:
        theirs.execute("CREATE TABLE sales AS SELECT 1 AS amount")
    cases = [
        # these exited 1 with DuckDB's message, or offered to "upgrade" the user's database,
        # and `run` added the warehouse's tables to it (a CLI sweep, decision 215)
        (["nps", "--db", str(empty)], f"--db {empty} is an empty file, not a warehouse yet"),
        (["nps", "--db", str(own)], f"--db {own} is a DuckDB database of other tables"),
        (["run", "--input", str(input_dir), "--db", str(own)], "not a journey-metrics warehouse"),
        # a framework paths does not use was not even read (decision 215)
        (["paths", *db, "--framework", "nosuch"], "error: framework 'nosuch' is neither"),
        (["funnel", *db, "--framework", str(broken)],
         f"{broken}, line 3, column 7: cannot read YAML: did not find expected ',' or ']' "
         "(while parsing a flow sequence)"),
        (["run", "--input", str(input_dir), *db, "--channels", str(rules)],
         f"{rules}, line 3, column 1: cannot read YAML: found character that cannot start any "
         "token (while scanning for the next token)"),
        (["export", *db, "--out", str(a_file)], f"{a_file} is a file, not a folder"),
        (["report", *db, "--out", str(a_file)], f"{a_file} is a file, not a folder"),
        (["run", "--input", str(input_dir), *db, "--report", str(a_file)], "not a folder"),
        (["generate", "--persons", "2", "--out", str(a_file)], "not a folder"),
        # a path below a file: these exited 1 as unexpected errors (a contract audit)
        (["export", *db, "--out", str(a_file / "sub")], f"{a_file} is a file, not a folder"),
        (["report", *db, "--out", str(a_file / "sub")], f"{a_file} is a file, not a folder"),
        (["generate", "--persons", "2", "--out", str(a_file / "sub")], "not a folder"),
        (["run", "--input", str(input_dir), "--db", str(a_file / "w.duckdb")],
         f"{a_file} is a file, not a folder"),
        (["nps", "--db", str(a_file / "w.duckdb")], f"{a_file} is a file, not a folder"),
        (["funnel", *db, "--framework", "aarrr", "--window", "99999999999d"], "is too long"),
        (["funnel", *db, "--framework", str(not_utf8)], "cannot read YAML: 'utf-8' codec"),
        (["funnel", "--db", str(tmp_path), "--framework", "aarrr"], "is a directory"),
        (["funnel", "--db", str(a_file), "--framework", "aarrr"], "is not a DuckDB warehouse"),
        (["paths", *db, "--from", "2024-05-01", "--to", "2024-01-01"],
         "error: --from 2024-05-01 is not before --to 2024-01-01"),
        (["funnel", *db, "--framework", "aarrr", "--tz", "Asia/Tokyo", "--from", "0001-01-01"],
         "error: --from: '0001-01-01' is out of range"),
        (["nps", *db, "--tz", "mars/olympus"], "error: --tz: unknown time zone 'mars/olympus'"),
        # an empty zone was UTC, and a second --by silently won (third-round audit, decision 194)
        (["nps", *db, "--tz", ""], "error: --tz is empty: give a value, or leave --tz out"),
        # files of the zone database Python loads and DuckDB does not know: exit 1 with
        # DuckDB's error, or ignored (a CLI sweep, decision 215)
        (["nps", *db, "--tz", "localtime"], "error: --tz: unknown time zone 'localtime'"),
        (["paths", *db, "--tz", "posix/Europe/Berlin"], "unknown time zone 'posix/Europe/Berlin'"),
        (["report", *db, "--tz", "right/UTC", "--out", str(tmp_path / "r")],
         "unknown time zone 'right/UTC'"),
        (["nps", *db, "--by", "channel", "--by", "campaign"],
         "error: --by splits by one thing; got channel, campaign (give one --by)"),
        # attribution's own --by too; a window DuckDB could not add to a time exited 1 (an
        # audit, decision 200)
        (["attribution", *db, "--conversion", "order_completed", "--by", "channel", "--by",
          "campaign"], "error: --by splits by one thing; got channel, campaign (give one --by)"),
        (["attribution", *db, "--conversion", "order_completed", "--lookback", "110000000d"],
         "error: --lookback: window '110000000d' is too long (at most 1000 years: 365250d)"),
        (["funnel", *db, "--framework", "aarrr", "--window", "8766001h"], "is too long"),
    ]
    for args, message in cases:
        result = cli(*args)
        assert result.returncode == 2, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert message in result.stderr, result.stderr
    assert a_file.read_text() == "keep me\n"
    with duckdb.connect(str(own), read_only=True) as theirs:  # untouched
        assert theirs.execute("SELECT count(*) FROM information_schema.tables").fetchall() == [
            (1,)]
    missing = cli("export", "--db", str(tmp_path / "nope.duckdb"), "--out", str(tmp_path / "new"))
    assert missing.returncode == 2
    assert not (tmp_path / "new").exists()  # refused before anything is made (decision 148)
    lake = tmp_path / "lake"
    lake.mkdir()
    (lake / "events.parquet").write_text("not parquet")
    (lake / "persons.parquet").write_text("not parquet")
    result = cli("funnel", "--events", str(lake), "--framework", "aarrr")
    assert result.returncode == 1  # unreadable input: a failed run, named in one line
    assert result.stderr.strip().splitlines() == [
        f"error: --events: cannot read {lake / 'events.parquet'}: Invalid Input Error: File "
        f"'{lake / 'events.parquet'}' too small to be a Parquet file"]


def test_time_zone_names_in_any_case(input_dir: Path, db_path: Path) -> None:
    """`--tz utc` or `--tz asia/tokyo` name the zones the database spells UTC and Asia/Tokyo:
    the same rows (they were refused as unknown zones; decision 187)."""
    write_jsonl(input_dir / "web" / "a.jsonl", [PAGE])
    assert cli("run", "--input", str(input_dir), "--db", str(db_path)).returncode == 0
    for typed, spelled in (("utc", "UTC"), ("asia/tokyo", "Asia/Tokyo")):
        rows = [cli("funnel", "--framework", "aarrr", "--trend", "week", "--tz", tz,
                    "--db", str(db_path), "--format", "json") for tz in (typed, spelled)]
        assert [r.returncode for r in rows] == [0, 0], rows[0].stderr
        assert rows[0].stdout == rows[1].stdout
    report = cli("report", "--db", str(db_path), "--out", str(db_path.parent / "rep"),
                 "--tz", "utc")
    assert report.returncode == 0, report.stderr


def test_run_never_replaces_a_file_that_is_not_a_warehouse(
    input_dir: Path, tmp_path: Path
) -> None:
    """A mistyped --db naming a small CSV was taken for a warehouse file killed before its
    header and replaced (exit 0): now any file that is not DuckDB's is refused, untouched."""
    write_jsonl(input_dir / "web" / "a.jsonl", [PAGE])
    precious = tmp_path / "important.csv"
    precious.write_text("id,name\n1,precious data\n")
    result = cli("run", "--input", str(input_dir), "--db", str(precious))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: --db {precious} is not a DuckDB warehouse; name a new file or a warehouse"]
    assert precious.read_text() == "id,name\n1,precious data\n"
    result = cli("run", "--input", str(input_dir), "--db", str(tmp_path))
    assert result.returncode == 2
    assert "is a directory" in result.stderr
    empty = tmp_path / "empty.duckdb"  # created, never written: still taken as a new warehouse
    empty.write_bytes(b"")
    assert cli("run", "--input", str(input_dir), "--db", str(empty)).returncode == 0


@contextmanager
def holding_the_lock(db: Path, seconds: float) -> Iterator[subprocess.Popen[str]]:
    """Another process that opens the warehouse (taking DuckDB's lock) for `seconds`."""
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('ready', flush=True);"
         " time.sleep(float(sys.argv[2])); c.close()", str(db), str(seconds)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "ready"
        yield holder
    finally:
        holder.kill()
        holder.wait()


def test_locked_warehouse_names_the_other_process(input_dir: Path, db_path: Path) -> None:
    write_jsonl(input_dir / "web" / "a.jsonl", [PAGE])
    assert cli("run", "--input", str(input_dir), "--db", str(db_path)).returncode == 0
    with holding_the_lock(db_path, seconds=60) as holder:
        started = time.monotonic()
        result = cli("run", "--input", str(input_dir), "--db", str(db_path))
        assert time.monotonic() - started < 30
        assert result.returncode == 1
        assert f"warehouse {db_path} is locked by process {holder.pid}" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


def test_first_run_without_key_creates_one_and_says_where(
    tmp_path: Path, input_dir: Path, db_path: Path
) -> None:
    write_jsonl(input_dir / "web" / "a.jsonl", [PAGE])
    env = {k: v for k, v in os.environ.items() if k != "JOURNEY_METRICS_HASH_KEY"}
    key_file = tmp_path / "keys" / "hash.key"
    env["JOURNEY_METRICS_KEY_FILE"] = str(key_file)
    result = subprocess.run(
        [sys.executable, "-m", "journey_metrics", "run", "--input", str(input_dir),
         "--db", str(db_path)], capture_output=True, text=True, env=env, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert key_file.exists()
    assert str(key_file) in result.stderr.replace("\n", "")
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    key = key_file.read_text().strip()
    assert key.encode() not in db_path.read_bytes()
    # a different key on the same warehouse is refused
    env["JOURNEY_METRICS_HASH_KEY"] = "another-key-0123456789"
    again = subprocess.run(
        [sys.executable, "-m", "journey_metrics", "run", "--input", str(input_dir),
         "--db", str(db_path)], capture_output=True, text=True, env=env, timeout=120,
    )
    assert again.returncode == 2
    assert "different email hashing key" in again.stderr
    # no key at all for a warehouse built with one: refused, and no new key file left behind
    del env["JOURNEY_METRICS_HASH_KEY"]
    env["JOURNEY_METRICS_KEY_FILE"] = str(tmp_path / "elsewhere" / "hash.key")
    lost = subprocess.run(
        [sys.executable, "-m", "journey_metrics", "run", "--input", str(input_dir),
         "--db", str(db_path)], capture_output=True, text=True, env=env, timeout=120,
    )
    assert lost.returncode == 2
    assert "no email hashing key: warehouse" in lost.stderr
    assert not (tmp_path / "elsewhere").exists()


def test_export_writes_two_parquet_files(input_dir: Path, db_path: Path, tmp_path: Path) -> None:
    import polars as pl

    write_jsonl(input_dir / "web" / "a.jsonl", [
        PAGE,
        {"type": "track", "event": "Order Completed", "messageId": "m2",
         "timestamp": "2024-03-01T11:00:00Z", "anonymousId": "a1",
         "properties": {"revenue": 9.5}},
    ])
    assert cli("run", "--input", str(input_dir), "--db", str(db_path)).returncode == 0
    out = tmp_path / "export"
    result = cli("export", "--db", str(db_path), "--out", str(out))
    assert result.returncode == 0, result.stderr
    events = pl.read_parquet(out / "events.parquet")
    persons = pl.read_parquet(out / "persons.parquet")
    # CONTRACT §5's columns first, in order; the lake's (§12) after them
    assert events.columns[:8] == ["event_id", "source", "event_name", "occurred_at", "person_id",
                                  "channel", "revenue", "properties"]
    assert events["event_id"].to_list() == ["m1", "m2"]
    assert events["revenue"].to_list() == [None, 9.5]
    assert events["properties"].to_list() == ["{}", '{"revenue":9.5}']
    assert persons.columns[:3] == ["person_id", "channel", "first_seen_at"]
    assert persons.height == 1
    assert persons["person_id"][0] == events["person_id"][0]
    assert str(persons["first_seen_at"][0]) == "2024-03-01 10:00:00+00:00"
    assert query(db_path, "SELECT count(*) FROM persons") == [(1,)]


def test_a_missing_warehouse_is_bad_usage(tmp_path: Path) -> None:
    """A --db naming no file is exit 2, as one naming a folder or an --input that does not
    exist (decision 148); nothing is created."""
    missing = tmp_path / "none.duckdb"
    for args in (["export", "--out", str(tmp_path / "o")], ["nps"],
                 ["funnel", "--framework", "aarrr"], ["report", "--out", str(tmp_path / "r")]):
        result = cli(args[0], "--db", str(missing), *args[1:])
        assert result.returncode == 2, (args, result.stderr)
        assert result.stderr.strip() == (
            f"error: warehouse {missing} does not exist (run `journey-metrics run` first)")
    assert not missing.exists()


def test_second_run_waits_for_the_lock_with_wait(input_dir: Path, db_path: Path) -> None:
    write_jsonl(input_dir / "web" / "a.jsonl", [PAGE])
    with holding_the_lock(db_path, seconds=3):
        result = cli("run", "--input", str(input_dir), "--db", str(db_path), "--wait", "60",
                     "--format", "json")
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["events_total"] == 1


def test_an_unknown_conversion_event_gets_a_note(input_dir: Path, db_path: Path) -> None:
    """`--conversion` naming no event prints no rows (exit 0, the nightly job goes on) and a
    note naming the closest event names; a known one with no rows gets none."""
    order = {**PAGE, "type": "track", "event": "Order Completed", "messageId": "m2"}
    write_jsonl(input_dir / "web" / "a.jsonl", [PAGE, order])
    assert cli("run", "--input", str(input_dir), "--db", str(db_path)).returncode == 0
    typo = cli("attribution", "--conversion", "order_complete", "--db", str(db_path),
               "--format", "json")
    assert (typo.returncode, json.loads(typo.stdout)) == (0, [])
    # one line of 87 characters: stderr is not wrapped at 80 columns (a nightly job's log)
    assert typo.stderr == (
        "note: --conversion: no event is named 'order_complete'; did you mean order_completed?\n")
    known = cli("attribution", "--conversion", "page_view", "--db", str(db_path),
                "--as-of", "2024-01-01", "--format", "json")
    assert (known.returncode, json.loads(known.stdout), known.stderr) == (0, [], "")


def test_a_where_no_person_matches_gets_a_note(input_dir: Path, db_path: Path) -> None:
    """`--where` naming a trait or a value no person ever had leaves every count at zero: the
    rows stay, and a note lists the traits or the values there are. A `--by` trait no person
    has (everybody in `(none)`) gets the same note."""
    identify = {**PAGE, "type": "identify", "messageId": "m3", "userId": "u1",
                "traits": {"plan": "pro"}}
    write_jsonl(input_dir / "web" / "a.jsonl", [PAGE, identify])
    assert cli("run", "--input", str(input_dir), "--db", str(db_path)).returncode == 0
    notes = {}
    for where in ("trait:plan=Pro", "trait:plann=pro", "trait:plan=pro"):
        result = cli("funnel", "--framework", "aarrr", "--where", where, "--db", str(db_path),
                     "--format", "json")
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)
        notes[where] = " ".join(result.stderr.split())
    assert notes == {
        "trait:plan=Pro": "note: --where trait:plan=Pro: no person has plan 'Pro' (values: pro)",
        "trait:plann=pro": "note: --where trait:plann=pro: no person has a trait 'plann'"
                           " (traits: plan)",
        "trait:plan=pro": ""}
    by = cli("nps", "--by", "trait:plann", "--db", str(db_path), "--format", "json")
    assert (by.returncode, " ".join(by.stderr.split())) == (
        0, "note: --by trait:plann: no person has a trait 'plann' (traits: plan)")
    assert cli("nps", "--by", "trait:plan", "--db", str(db_path)).stderr == ""


def test_paths_anchors_that_match_nothing(input_dir: Path, db_path: Path) -> None:
    """paths: a stage the framework lacks is a usage error; an event no event has prints no
    rows and a note with the closest names."""
    write_jsonl(input_dir / "web" / "a.jsonl", [PAGE])
    assert cli("run", "--input", str(input_dir), "--db", str(db_path)).returncode == 0
    stage = cli("paths", "--item", "stage", "--framework", "aarrr", "--start", "acqusition",
                "--db", str(db_path))
    assert stage.returncode == 2
    assert stage.stderr.strip() == ("error: --start: 'acqusition' is not a stage of aarrr"
                                    " (acquisition, activation, retention, revenue, referral)")
    event = cli("paths", "--start", "page_veiw", "--db", str(db_path), "--format", "json")
    assert (event.returncode, json.loads(event.stdout)) == (0, [])
    assert " ".join(event.stderr.split()) == (
        "note: --start: no event is named 'page_veiw'; did you mean page_view?")


def test_csv_writes_flags_as_the_json_rows_do() -> None:
    """`funnel --trend` rows carry `complete`: CSV wrote Python's `True`, JSON `true`."""
    from journey_metrics.output import rows_to_csv

    rows = [{"period": "2024-01-01", "complete": True, "rate": None},
            {"period": "2024-01-08", "complete": False, "rate": 0.5}]
    assert rows_to_csv(rows, ["period", "complete", "rate"]).splitlines() == [
        "period,complete,rate", "2024-01-01,true,", "2024-01-08,false,0.5"]


def test_what_the_machine_refuses_is_one_plain_line(tmp_path: Path) -> None:
    """A full disk or a read-only folder is a failed run to fix on the machine (exit 1), said
    with the file, not an "unexpected" error; and a COMMIT that failed (DuckDB has ended the
    transaction) is not hidden behind the ROLLBACK's own "no transaction is active"."""
    import duckdb

    from journey_metrics.cli import _machine_problem
    from journey_metrics.db import rollback

    full = OSError(28, "No space left on device", "rep/index.html")
    assert _machine_problem(full, str(full)) == "No space left on device: rep/index.html"
    wal = ('TransactionContext Error: Failed to commit: Could not write file "w.duckdb.wal":'
           " No space left on device")
    assert _machine_problem(duckdb.TransactionException(wal), wal) == wal
    assert _machine_problem(ValueError("a bug"), "a bug") is None
    assert _machine_problem(FileNotFoundError(2, "No such file", "x"), "x") is None  # a bug
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("BEGIN TRANSACTION")
    con.execute("COMMIT")
    rollback(con)  # no transaction is open (as after a COMMIT that failed): nothing raised
    con.close()

    class FailingCommit:
        """A connection whose COMMIT fails as on a full disk, which ends the transaction."""
        def execute(self, sql: str) -> None:
            if sql == "COMMIT":
                raise duckdb.TransactionException(wal)
            if sql == "ROLLBACK":
                raise duckdb.TransactionException("cannot rollback - no transaction is active")

    def commit(connection: FailingCommit) -> None:  # as loader._commit_batch does
        try:
            connection.execute("COMMIT")
        except BaseException:
            rollback(connection)  # type: ignore[arg-type]
            raise

    with pytest.raises(duckdb.TransactionException, match="No space left on device"):
        commit(FailingCommit())


def test_a_run_stopped_before_stitching_is_said_by_every_reader(
    input_dir: Path, db_path: Path, tmp_path: Path
) -> None:
    """A run killed after committing events and before stitching leaves nodes pending: metric
    commands, export and report still read the warehouse, and say on stderr that its numbers
    mix new events with the earlier persons until the next run (nightly audit, decision 194)."""
    write_jsonl(input_dir / "web" / "a.jsonl", [PAGE])
    assert cli("run", "--input", str(input_dir), "--db", str(db_path)).returncode == 0
    con = duckdb.connect(str(db_path))
    con.execute("INSERT INTO _jm_pending_nodes VALUES ('a:a1')")  # as a killed run leaves it
    con.close()
    for args in (["nps"], ["export", "--out", str(tmp_path / "out")],
                 ["report", "--out", str(tmp_path / "report")]):
        result = cli(*args, "--db", str(db_path))
        assert result.returncode == 0, result.stderr
        assert "note: the last run stopped before it had stitched" in result.stderr, args
    assert cli("run", "--input", str(input_dir), "--db", str(db_path)).returncode == 0
    assert "stopped" not in cli("nps", "--db", str(db_path)).stderr


def test_invite_codes_holding_an_address_stay_distinct(input_dir: Path, db_path: Path) -> None:
    """An invite code that is (or holds) an address is keyed-hashed as an id is, not redacted:
    redacted, every such code read `<redacted-email>`, and a signup with a code nobody sent
    matched alice's invite (decision 214). Codes match as exact text, an address as one."""
    def track(i: int, user: str, event: str, code: str) -> dict[str, object]:
        return {"type": "track", "messageId": f"r{i}", "userId": user, "event": event,
                "timestamp": f"2024-03-0{i}T10:00:00Z", "properties": {"invite_code": code}}
    write_jsonl(input_dir / "web" / "a.jsonl", [
        track(1, "alice", "Invite Sent", "alice@x.io"),
        track(2, "bob", "Signed Up", "carol@y.io"),  # nobody sent it
        track(3, "dave", "Signed Up", "ref-alice@x.io"),  # nobody sent it either
        track(4, "erin", "Signed Up", "Alice@X.io"),  # alice's code: an address, as one
        # a code sent at the top level is merged into properties (a review)
        {"type": "track", "messageId": "r5", "userId": "frank", "event": "Signed Up",
         "timestamp": "2024-03-05T10:00:00Z", "invite_code": "top@y.io", "properties": {}},
    ])
    assert cli("run", "--input", str(input_dir), "--db", str(db_path)).returncode == 0
    codes = query(db_path, "SELECT event_id, properties->>'$.invite_code' FROM events"
                           " ORDER BY 1")
    assert all(code.startswith("h:") and "@" not in code for _, code in codes)
    assert len({code for _, code in codes}) == 4
    done = cli("referral", "--db", str(db_path), "--format", "json", "--as-of", "2024-03-31")
    assert done.returncode == 0, done.stderr
    [month] = json.loads(done.stdout)
    assert (month["invites_sent"], month["signups"], month["referred_signups"]) == (1, 4, 1)


def test_a_closed_standard_output_is_no_error(input_dir: Path, db_path: Path) -> None:
    """`journey-metrics nps ... >&-`: Python has no stdout then, and a command failed with
    "unexpected AttributeError" (exit 1); it writes nothing, as Python's print does."""
    write_jsonl(input_dir / "web" / "a.jsonl", [PAGE])
    assert cli("run", "--input", str(input_dir), "--db", str(db_path)).returncode == 0
    done = subprocess.run(
        [sys.executable, "-m", "journey_metrics", "nps", "--db", str(db_path)],
        capture_output=False, stdout=None, stderr=subprocess.PIPE, text=True, timeout=120,
        close_fds=True, preexec_fn=lambda: os.close(1))
    assert done.returncode == 0, done.stderr
    assert "AttributeError" not in done.stderr


def test_bad_usage_is_its_line_alone_notes_wait_for_a_command_that_runs(
        input_dir: Path, db_path: Path, tmp_path: Path) -> None:
    """A framework naming events no source declares gets a note per event; with a bad option
    beside it, the error is the only line (CONTRACT §5, decision 218), and once the option is
    fixed the notes come back."""
    write_jsonl(input_dir / "web" / "a.jsonl", [PAGE])
    assert cli("run", "--input", str(input_dir), "--db", str(db_path)).returncode == 0
    framework = tmp_path / "fw.yaml"
    framework.write_text("name: t\nwindow: 1d\nstages:\n  - {name: a, match: [{event: a}]}\n"
                         "  - {name: b, match: [{event: b}]}\n")
    bad = cli("funnel", "--db", str(db_path), "--framework", str(framework), "--window", "5x")
    assert bad.returncode == 2
    assert bad.stderr.splitlines() == ["error: --window: window '5x' must look like"
                                       " <int>(m|h|d), e.g. 30d"]
    good = cli("funnel", "--db", str(db_path), "--framework", str(framework), "--format", "json")
    assert good.returncode == 0
    assert [line.split(".event: ", 1)[-1] for line in good.stderr.splitlines()] == [
        "no source declares event 'a' (web or crm may still produce it: their events are open)",
        "no source declares event 'b' (web or crm may still produce it: their events are open)"]


def _options_taking_a_value() -> list[tuple[str, str, bool]]:
    """(command, flag, required) for every option of every command that takes a value."""
    import typer

    from journey_metrics.cli import app
    from journey_metrics.cli.metric_commands import add_metric_commands

    add_metric_commands()
    group = typer.main.get_command(app)
    found = []
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        for param in command.params:
            if param.param_type_name == "option" and not param.is_flag and param.opts:
                found.append((name, max(param.opts, key=len), bool(param.required)))
    return found


def test_every_option_given_an_empty_value_is_bad_usage() -> None:
    """`--from "$START"` with START unset: an empty or blank value is refused, for every option
    of every command, in one line (decision 231). Some options took it for "not given" (a
    silent all-time result, the default currency, window or half-life), others refused it each
    in its own words."""
    from typer.testing import CliRunner

    from journey_metrics.cli import app
    from journey_metrics.errors import UsageError

    options = _options_taking_a_value()
    flags = {(command, flag) for command, flag, _ in options}
    # the options the audit found taken for "not given", and the core commands' own
    assert {("funnel", "--from"), ("funnel", "--to"), ("funnel", "--as-of"),
            ("funnel", "--window"), ("attribution", "--lookback"),
            ("attribution", "--half-life"), ("attribution", "--spend"),
            ("revenue", "--currency"), ("retention", "--return"), ("report", "--out"),
            ("report", "--spend"), ("run", "--input"), ("run", "--report"),
            ("export", "--out"), ("generate", "--out")} <= flags
    for command, flag, required in options:
        for value in ("", "  "):
            result = CliRunner().invoke(app, [command, flag, value])
            assert isinstance(result.exception, UsageError), (command, flag, result.output)
            assert str(result.exception) == f"{flag} is empty: give a value" + (
                "" if required else f", or leave {flag} out")


@pytest.mark.parametrize("args", [
    ["funnel", "--framework", "aarrr", "--from", ""],
    ["funnel", "--framework", "aarrr", "--where", "trait:plan=free", "--where", " "],
    ["export", "--out="],
])
def test_an_empty_value_exits_2_with_one_line(args: list[str], db_path: Path) -> None:
    result = cli(*args, "--db", str(db_path))
    flag = next(a for a in reversed(args) if a.startswith("--")).rstrip("=")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.splitlines() == [f"error: {flag} is empty: give a value" + (
        "" if flag == "--out" else f", or leave {flag} out")]


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
@pytest.mark.parametrize("args", [
    ["export", "--db", "{db}", "--out", "/proc/nope"],
    ["report", "--db", "{db}", "--out", "/proc/nope/deeper"],
    ["generate", "--persons", "1", "--out", "/proc/nope"],
    ["run", "--input", "{input}", "--db", "{db}", "--report", "/proc/nope"],
])
def test_an_output_folder_that_cannot_be_made_is_bad_usage(
        args: list[str], input_dir: Path, db_path: Path, tmp_path: Path) -> None:
    """It was exit 1, "unexpected FileNotFoundError"; now exit 2 with one line, before any work
    (no warehouse is made), and a folder that can be made is left to the command (the check
    leaves nothing behind)."""
    write_jsonl(input_dir / "web" / "a.jsonl", [PAGE])
    shown = [a.format(db=db_path, input=input_dir) for a in args]
    result = cli(*shown)
    assert result.returncode == 2, result.stderr
    flag = shown[-2]
    assert result.stderr.splitlines() == [
        f"error: Invalid value for '{flag}': cannot create folder {shown[-1]}: No such file or "
        "directory"]
    assert not db_path.exists()
    made = tmp_path / "new" / "deeper"
    refused = cli("export", "--db", str(tmp_path / "none.duckdb"), "--out", str(made))
    assert refused.returncode == 2  # no warehouse: refused, and nothing made
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-03-25T24:00:00Z", "2026-03-26T00:00:00+00:00"),
    ("2026-03-25T24:00Z", "2026-03-26T00:00:00+00:00"),
    ("2026-12-31 24:00", "2026-12-31T15:00:00+00:00"),  # naive: midnight in --tz (Tokyo)
    ("2026-03-25T24:00:00.000+07:00", "2026-03-25T17:00:00+00:00"),
    # the forms the same times are read in at 10:00 (a review): t, a decimal comma, a space
    ("2026-03-25t24:00Z", "2026-03-26T00:00:00+00:00"),
    ("2026-03-25T24:00:00,000Z", "2026-03-26T00:00:00+00:00"),
    ("2026-03-25T24:00 +07:00", "2026-03-25T17:00:00+00:00"),
    ("2026-03-25T24:00:01Z", None), ("2026-03-25T24:30Z", None), ("2026-02-30T24:00Z", None),
])
def test_24_00_is_the_next_midnight_as_in_events(text: str, expected: str | None) -> None:
    """`--as-of 2026-03-25T24:00Z` was refused while an event time of 24:00 reads as the next
    midnight (decision 193); any other time after 24:00 is no time (decision 239)."""
    from journey_metrics.errors import UsageError
    from journey_metrics.metrics.common import parse_instant
    from journey_metrics.zones import zone

    tokyo = zone("Asia/Tokyo")
    if expected is None:
        with pytest.raises(UsageError, match="is not a date"):
            parse_instant(text, tokyo, "--as-of")
    else:
        assert parse_instant(text, tokyo, "--as-of").isoformat() == expected
