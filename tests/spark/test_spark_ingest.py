"""Ingest on Spark (issue 16 points 2 and 3): `run --engine spark --lake` writes the lake `export`
writes, with the same rows.

data/sample/ is loaded by each engine (DuckDB: `run` then `export`; Spark: `run --engine spark
--lake`), and every table (events, persons, traits, identity, quarantine, files) and every metric
command's rows (read through `--events LAKE --engine duckdb`, which is fast) are compared. Then:
a re-run loads nothing; two halves loaded by two runs, the second killed once after its commit
mid-swap, give the same lake as one run. One Spark session (local[2]) serves the module.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from engine_cases import SAMPLE, as_json, invocations, invoke
from engine_compare import NEEDS_SPARK
from journey_metrics.sources.readers import NOT_UTF8_FILE
from sample_outputs import KEY

pytestmark = [pytest.mark.spark, pytest.mark.slow, NEEDS_SPARK]

MASTER = "local[2]"
TABLES = ("events", "persons", "traits", "identity", "quarantine", "files")
# what differs by construction between two loads of the same files: when and by which run
IGNORED = {"quarantine": ("run_id",), "files": ("run_id", "loaded_at")}


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JOURNEY_METRICS_HASH_KEY", KEY)
        patch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("home")))
        yield


@pytest.fixture(scope="module")
def lakes(env: None, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from journey_metrics.engines.spark import spark_session
    from journey_metrics.export import export

    base = tmp_path_factory.mktemp("ingest")
    db, duck_lake, spark_lake = base / "w.duckdb", base / "duck_lake", base / "spark_lake"
    duck_run = json.loads(invoke(["run", "--input", str(SAMPLE), "--db", str(db),
                                  "--format", "json"]))
    export(db, duck_lake)
    spark_session(MASTER)
    spark_run = json.loads(invoke(["run", "--engine", "spark", "--input", str(SAMPLE),
                                   "--lake", str(spark_lake), "--spark-master", MASTER,
                                   "--format", "json"]))
    return {"duck": duck_lake, "spark": spark_lake, "duck_run": duck_run,
            "spark_run": spark_run, "base": base}


def _files(location: Path, table: str) -> str:
    path = location / f"{table}.parquet"
    return str(path / "*.parquet") if path.is_dir() else str(path)


def rows(lake: Path, table: str) -> list[tuple[Any, ...]]:
    """A dataset's rows, sorted, without the columns that name the run."""
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        ignored = IGNORED.get(table, ())
        exclude = f" EXCLUDE ({', '.join(ignored)})" if ignored else ""
        found = con.sql(f"SELECT *{exclude} FROM read_parquet('{_files(lake, table)}')").fetchall()
    finally:
        con.close()
    if table == "events":  # JSON objects are unordered: Spark writes properties' keys sorted
        at = columns(lake, table).index("properties")
        found = [(*r[:at], _canonical_json(r[at]), *r[at + 1:]) for r in found]
    return sorted((tuple(r) for r in found), key=repr)


def _canonical_json(text: str | None) -> str | None:
    return None if text is None else json.dumps(json.loads(text), sort_keys=True)


def columns(lake: Path, table: str) -> list[str]:
    con = duckdb.connect()
    try:
        return list(con.sql(f"SELECT * FROM read_parquet('{_files(lake, table)}')").columns)
    finally:
        con.close()


def test_run_summary_is_duckdbs(lakes: dict[str, Any]) -> None:
    duck, spark = dict(lakes["duck_run"]), dict(lakes["spark_run"])
    assert spark.pop("warehouse") == str(lakes["spark"])
    duck.pop("warehouse")
    assert spark == duck
    assert spark["events_total"] > 30_000


@pytest.mark.parametrize("table", TABLES)
def test_every_table_has_duckdbs_rows(lakes: dict[str, Any], table: str) -> None:
    assert columns(lakes["spark"], table) == columns(lakes["duck"], table)
    spark_rows, duck_rows = rows(lakes["spark"], table), rows(lakes["duck"], table)
    assert len(spark_rows) == len(duck_rows)
    assert spark_rows == duck_rows


def test_every_metric_has_the_same_rows(lakes: dict[str, Any]) -> None:
    different = []
    for name, args in sorted(invocations().items()):
        command = as_json(args)
        on_spark_lake = invoke([*command, "--events", str(lakes["spark"])])
        on_duck_lake = invoke([*command, "--events", str(lakes["duck"])])
        if on_spark_lake != on_duck_lake:
            different.append(name)
    assert different == []


def test_a_rerun_loads_nothing(lakes: dict[str, Any]) -> None:
    before = {t: rows(lakes["spark"], t) for t in TABLES}
    again = json.loads(invoke(["run", "--engine", "spark", "--input", str(SAMPLE),
                               "--lake", str(lakes["spark"]), "--spark-master", MASTER,
                               "--format", "json"]))
    assert all(s["files"] == 0 and s["events"] == 0 for s in again["sources"])
    assert sum(s["skipped_files"] for s in again["sources"]) == 192
    assert again["events_total"] == lakes["spark_run"]["events_total"]
    assert {t: rows(lakes["spark"], t) for t in TABLES} == before


# the shipped example, and a rule whose values need quoting in SQL (a quote, a backslash)
EXTRA_RULE = """- {channel: Odd Names, source: "^o'?dd\\\\.|\\\\d{3}$", campaign: "\\\\w"}\n"""


def test_custom_channel_rules_give_duckdbs_channels(lakes: dict[str, Any], tmp_path: Path
                                                    ) -> None:
    """`run --channels` on a loaded lake with nothing new derives every channel again, as on
    DuckDB; the lake keeps the rules, so a later run without --channels keeps the channels."""
    from journey_metrics.export import export

    rules = tmp_path / "channels.yaml"
    example = (Path(__file__).parents[2] / "config" / "channels.example.yaml").read_text()
    rules.write_text(EXTRA_RULE + example)
    db, duck_lake, spark_lake = tmp_path / "w.duckdb", tmp_path / "duck", tmp_path / "spark"
    shutil.copy(lakes["base"] / "w.duckdb", db)
    shutil.copytree(lakes["spark"], spark_lake)
    invoke(["run", "--input", str(SAMPLE), "--db", str(db), "--channels", str(rules)])
    export(db, duck_lake)
    spark_args = ["run", "--engine", "spark", "--input", str(SAMPLE), "--lake", str(spark_lake),
                  "--spark-master", MASTER, "--format", "json"]
    again = json.loads(invoke([*spark_args, "--channels", str(rules)]))
    assert all(s["files"] == 0 and s["events"] == 0 for s in again["sources"])
    for table in ("events", "persons"):
        assert rows(spark_lake, table) == rows(duck_lake, table)
    at = columns(spark_lake, "persons").index("channel")
    channels = {r[at] for r in rows(spark_lake, "persons")}
    assert {"Newsletter", "Direct"} <= channels, channels
    json.loads(invoke(spark_args))  # no --channels: the lake's kept rules
    assert rows(spark_lake, "events") == rows(duck_lake, "events")
    assert rows(lakes["spark"], "persons") != rows(duck_lake, "persons")
    # the kept file is edited: the next plain run of each engine follows it (decision 150)
    rules.write_text("- {channel: Typed, referrer: none}\n")
    invoke(["run", "--input", str(SAMPLE), "--db", str(db)])
    export(db, tmp_path / "duck-edited")
    json.loads(invoke(spark_args))
    for table in ("events", "persons"):
        assert rows(spark_lake, table) == rows(tmp_path / "duck-edited", table)
    assert "Typed" in {r[at] for r in rows(spark_lake, "persons")}


def test_a_broken_data_test_fails_the_run(env: None) -> None:
    """The data tests of sql/tests/ run on the lake's views: a repeated event and an event
    without a person fail by name (the run stops before writing)."""
    from journey_metrics.engines.spark import spark_session
    from journey_metrics.engines.spark_ingest import _drop_views, _view, check_data
    from journey_metrics.errors import RunError

    session = spark_session(MASTER)
    views = {
        "jm_all_events": "SELECT * FROM VALUES ('web', 'e1', 'a:1'), ('web', 'e1', 'a:1'),"
                         " ('web', 'e2', 'a:ghost') AS t(source, event_id, person_key)",
        "jm_person_map": "SELECT * FROM VALUES ('a:1', 'p_1') AS t(node, person_id)",
        "jm_out_persons": "SELECT * FROM VALUES ('p_1', 1L) AS t(person_id, person_no)",
        "jm_out_events": "SELECT * FROM VALUES ('p_1') AS t(person_id)",
    }
    try:
        for name, sql in views.items():
            _view(session.sql(sql), name)
        with pytest.raises(RunError, match="test_events_have_a_person \\(1 rows\\), "
                                           "test_events_unique \\(1 rows\\)"):
            check_data(session)
    finally:
        _drop_views(session)


class Killed(Exception):
    pass


def test_two_halves_and_a_killed_run_give_the_one_run_lake(lakes: dict[str, Any]) -> None:
    from journey_metrics.engines.duckdb import open_lake
    from journey_metrics.engines.spark_ingest import CHECKPOINTS, PENDING, run_spark

    base: Path = lakes["base"]
    half, lake = base / "half_input", base / "half_lake"
    second: list[Path] = []
    for folder in sorted(p for p in SAMPLE.iterdir() if p.is_dir()):
        names = sorted(folder.iterdir())
        (half / folder.name).mkdir(parents=True)
        for path in names[: len(names) // 2]:
            shutil.copy2(path, half / folder.name / path.name)
        second.extend(names[len(names) // 2:])
    first = run_spark(str(half), str(lake), master=MASTER)
    assert 0 < first.events_total < lakes["spark_run"]["events_total"]
    for path in second:
        shutil.copy2(path, half / path.parent.name / path.name)
    # two files that fail as a whole (recorded in the manifest, never quarantined)
    (half / "web" / "notes.txt").write_text("not events")
    (half / "web" / "events-2026-09-09.jsonl.gz").write_bytes(b"not gzip at all")

    used: list[Path] = []

    def kill(step: str) -> None:
        if step == "commit":  # the run's lineage cuts are Parquet copies in its own folder
            used.extend((lake / PENDING).glob(f"*/{CHECKPOINTS}/*-jm_labels_*"))
        if step == "swap:events.parquet":  # committed; the state swapped, the rest not yet
            raise Killed(step)

    with pytest.raises(Killed):
        run_spark(str(half), str(lake), master=MASTER, fail_after=kill)
    assert used, "no stitching round was checkpointed into the run's folder"
    assert (lake / PENDING).is_dir()
    assert not list((lake / PENDING).glob(f"*/{CHECKPOINTS}"))  # removed on failure too
    con = open_lake(lake)  # still readable
    try:
        assert con.execute("SELECT count(*) FROM events").fetchall()[0][0] > 0
    finally:
        con.close()
    converged = run_spark(str(half), str(lake), master=MASTER)  # finishes the swaps
    assert not (lake / PENDING).exists()
    assert converged.events_total == lakes["spark_run"]["events_total"]
    failed = {r[1]: r[6] for r in rows(lake, "files") if r[5] == "failed"}
    assert set(failed) == {"web/notes.txt", "web/events-2026-09-09.jsonl.gz"}
    assert failed["web/notes.txt"] == "file name matches none of *.jsonl[.gz], *.ndjson[.gz]"
    for table in TABLES:
        found = [r for r in rows(lake, table) if table != "files" or r[5] != "failed"]
        assert found == rows(lakes["spark"], table), table


def test_recover_drops_an_uncommitted_run_and_finishes_a_committed_one(tmp_path: Path) -> None:
    from journey_metrics.engines.spark_ingest import COMMITTED, PENDING, LakeFS, recover

    lake = tmp_path / "lake"
    (lake / "events.parquet").mkdir(parents=True)
    (lake / "events.parquet" / "part-0.parquet").write_text("old")
    (lake / PENDING / "r1" / "new" / "events.parquet").mkdir(parents=True)
    (lake / PENDING / "r1" / "new" / "events.parquet" / "part-0.parquet").write_text("never")
    fs = LakeFS(None, str(lake))
    recover(fs)  # no commit file: rolled back
    assert (lake / "events.parquet" / "part-0.parquet").read_text() == "old"
    assert not (lake / PENDING).exists()
    for name in ("events.parquet", "persons.parquet"):
        (lake / PENDING / "r2" / "new" / name).mkdir(parents=True)
        (lake / PENDING / "r2" / "new" / name / "part-0.parquet").write_text("new")
    (lake / PENDING / "r2" / COMMITTED).write_text(
        json.dumps({"run_id": "r2", "datasets": ["events.parquet", "persons.parquet"]}))
    # killed after the first swap: persons.parquet still waits
    (lake / "events.parquet").rename(lake / "gone")
    os.replace(lake / PENDING / "r2" / "new" / "events.parquet", lake / "events.parquet")
    recover(fs)
    assert (lake / "events.parquet" / "part-0.parquet").read_text() == "new"
    assert (lake / "persons.parquet" / "part-0.parquet").read_text() == "new"
    assert not (lake / PENDING).exists()


def test_another_key_is_refused(lakes: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from journey_metrics.cli import app
    from journey_metrics.errors import UsageError

    monkeypatch.setenv("JOURNEY_METRICS_HASH_KEY", "another-key-0123456789")
    result = CliRunner().invoke(app, ["run", "--engine", "spark", "--input", str(SAMPLE),
                                      "--lake", str(lakes["spark"]), "--spark-master", MASTER])
    assert isinstance(result.exception, UsageError)  # main() prints it in one line, exit 2
    assert "different email hashing key" in str(result.exception)


@pytest.mark.parametrize(("args", "message"), [
    (["--engine", "spark"], "needs --lake"),
    (["--lake", "x"], "--lake needs --engine spark"),
    (["--spark-master", "local[1]"], "need --engine spark"),
])
def test_usage_errors(args: list[str], message: str, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from journey_metrics.cli import app
    from journey_metrics.errors import UsageError

    result = CliRunner().invoke(app, ["run", "--input", str(SAMPLE), "--db",
                                      str(tmp_path / "w.duckdb"), *args])
    assert isinstance(result.exception, UsageError)
    assert message in str(result.exception)


def test_a_url_input_is_listed_by_the_cluster_file_system(env: None) -> None:
    """A URL (here file://) is listed through Hadoop's FileSystem: the same files and kinds as
    the folder, with sizes and modification times (the manifest's change test for URLs)."""
    from journey_metrics.config import load_sources
    from journey_metrics.engines.spark import spark_session
    from journey_metrics.engines.spark_ingest import RemoteFile, _discover

    sources = load_sources()
    session = spark_session(MASTER)
    listed = _discover(f"file://{SAMPLE.resolve()}", sources, session)
    local = _discover(str(SAMPLE), sources)
    assert listed is not None
    assert local is not None
    for source in sources:
        remote = listed[source.name]
        assert all(isinstance(f, RemoteFile) for f in remote)
        assert [(f.relative, f.kind) for f in remote] == [
            (f.relative, f.kind) for f in local[source.name]]
        assert [f.size for f in remote] == [f.path.stat().st_size for f in local[source.name]]


def _track(message_id: str, at: str, plan: str) -> str:
    return json.dumps({"type": "track", "messageId": message_id, "timestamp": at,
                       "anonymousId": "anon-1", "event": "Plan Chosen",
                       "properties": {"plan": plan}})


def test_duplicates_and_conflicts_are_duckdbs(env: None, tmp_path: Path) -> None:
    """In one batch and against what the lake holds: a true duplicate is counted and dropped, a
    re-sent id with other content is a conflict recorded once against the kept content."""
    first = [_track("m1", "2026-01-05T10:00:00Z", "basic"),
             _track("m1", "2026-01-05T10:00:00Z", "basic"),  # duplicate
             _track("m2", "2026-01-05T11:00:00Z", "basic"),
             _track("m2", "2026-01-05T11:00:00Z", "pro"),  # conflict in the batch
             _track("m2", "2026-01-05T11:00:00Z", "pro")]  # and once more
    second = [_track("m2", "2026-01-05T11:00:00Z", "team"),  # conflict with the lake
              _track("m1", "2026-01-05T10:00:00Z", "basic"),  # duplicate of the lake
              _track("m3", "2026-01-06T09:00:00Z", "basic")]
    source = tmp_path / "input" / "web"
    source.mkdir(parents=True)
    db, lake = tmp_path / "w.duckdb", tmp_path / "lake"
    summaries: dict[str, list[Any]] = {"duckdb": [], "spark": []}
    for name, lines in (("events-2026-01-05.jsonl", first), ("events-2026-01-06.jsonl", second)):
        (source / name).write_text("\n".join(lines) + "\n")
        for engine, target in (("duckdb", ["--db", str(db)]),
                               ("spark", ["--engine", "spark", "--lake", str(lake),
                                          "--spark-master", MASTER])):
            out = json.loads(invoke(["run", "--input", str(tmp_path / "input"), *target,
                                     "--format", "json"]))
            summaries[engine].append([(s["events"], s["duplicates"]) for s in out["sources"]
                                      if s["source"] == "web"])
    assert summaries["spark"] == summaries["duckdb"] == [[(2, 3)], [(1, 2)]]
    con = duckdb.connect(str(db), read_only=True)
    try:
        duck = con.sql("SELECT c.event_id, c.file_path, c.record_no, c.kept_hash = e.content_hash"
                       " FROM _jm_conflicts AS c JOIN events AS e USING (source, event_id)"
                       " ORDER BY ALL").fetchall()
    finally:
        con.close()
    state = lake / "_jm_state"
    spark = duckdb.sql(
        f"SELECT c.event_id, c.file_path, c.record_no, c.kept_hash = e.content_hash"
        f" FROM read_parquet('{_files(state, 'conflicts')}') AS c"
        f" JOIN read_parquet('{_files(state, 'events')}') AS e USING (source, event_id)"
        f" ORDER BY ALL").fetchall()
    assert len(duck) == 3
    assert all(kept for *_, kept in duck)
    assert spark == duck


def test_a_line_cut_by_an_earlier_read_is_duckdbs(env: None, tmp_path: Path) -> None:
    """A file read while it was being written (its last line half there), then grown: both
    engines name the cut line and load the whole line."""
    whole = _track("m2", "2026-01-05T11:00:00Z", "basic")
    path = tmp_path / "input" / "web" / "events.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text(_track("m1", "2026-01-05T10:00:00Z", "basic") + "\n" + whole[:30])
    db, lake = tmp_path / "w.duckdb", tmp_path / "lake"
    targets = {"duckdb": ["--db", str(db)],
               "spark": ["--engine", "spark", "--lake", str(lake), "--spark-master", MASTER]}
    said: dict[str, list[Any]] = {"duckdb": [], "spark": []}
    for night in (1, 2):
        if night == 2:
            with path.open("a") as handle:
                handle.write(whole[30:] + "\n")
        for engine, target in targets.items():
            out = json.loads(invoke(["run", "--input", str(tmp_path / "input"), *target,
                                     "--format", "json"]))
            web = next(s for s in out["sources"] if s["source"] == "web")
            said[engine].append((out["cut_lines"], web["events"], web["quarantined"]))
    assert said["spark"] == said["duckdb"] == [
        ([], 1, 1), ([{"source": "web", "file": "web/events.jsonl", "line": 2}], 1, 0)]
    assert [r[:4] for r in rows(lake, "quarantine")] == [
        ("web", "web/events.jsonl", 2, "not valid JSON")]


def test_utf16_unnamed_gzip_and_subfolders_fail_as_on_duckdb(env: None, tmp_path: Path) -> None:
    """A UTF-16 export fails with DuckDB's reason (Spark's text reader would read its bytes as
    UTF-8: a garbled header, lines of NULs quarantined one by one); a folder inside a source's
    folder fails (its files are not read), listed alike from a URL; `_name` is skipped."""
    from journey_metrics.config import load_sources
    from journey_metrics.engines.spark import spark_session
    from journey_metrics.engines.spark_ingest import _discover

    root = tmp_path / "input"
    (root / "web" / "2024").mkdir(parents=True)
    (root / "web" / "_archive").mkdir()
    (root / "crm").mkdir()
    line = _track("m1", "2026-01-05T10:00:00Z", "basic") + "\n"
    (root / "web" / "a.jsonl").write_bytes(line.encode("utf-16"))
    (root / "web" / "b.jsonl").write_text(line)
    (root / "web" / "c.jsonl").write_bytes(gzip.compress(line.encode()))  # without .gz
    (root / "web" / "2024" / "c.jsonl").write_text(line)
    (root / "web" / "_archive" / "d.jsonl").write_text(line)
    (root / "crm" / "contacts.csv").write_bytes("hs_object_id,email\n1,a@b.io\n".encode("utf-16"))
    # lines in Latin-1: one among others is quarantined, most of a file fail it (decision 152)
    latin = [_track(f"m{i}", "2026-01-05T10:00:00Z", "crème").replace("\\u00e8", "è")
             .encode("latin-1") for i in (3, 4)]
    (root / "web" / "e.jsonl").write_bytes(b"\n".join([b"", line.encode(), *latin]))
    (root / "web" / "f.jsonl").write_bytes(b"\n".join(
        [_track("m2", "2026-01-05T10:00:00Z", "basic").encode(), latin[0]]))
    outs = {}
    for engine, target in (("duckdb", ["--db", str(tmp_path / "w.duckdb")]),
                           ("spark", ["--engine", "spark", "--lake", str(tmp_path / "lake"),
                                      "--spark-master", MASTER])):
        out = json.loads(invoke(["run", "--input", str(root), *target, "--format", "json"]))
        quarantined = {row["source"]: row["quarantined"] for row in out["sources"]}
        outs[engine] = (out["failed_files"], out["events_total"], quarantined["web"])
    utf16 = "UTF-16 text: save the file as UTF-8"
    assert outs["spark"] == outs["duckdb"] == ([
        {"source": "web", "file": "web/2024/",
         "reason": "a folder: only the files directly in web/ are read"},
        {"source": "web", "file": "web/a.jsonl", "reason": utf16},
        {"source": "web", "file": "web/c.jsonl",
         "reason": "gzip data without the .gz suffix: name it c.jsonl.gz"},
        {"source": "web", "file": "web/e.jsonl", "reason": NOT_UTF8_FILE},
        {"source": "crm", "file": "crm/contacts.csv", "reason": utf16}], 2, 1)
    sources = load_sources()
    listed = _discover(f"file://{root}", sources, spark_session(MASTER))
    local = _discover(str(root), sources)
    assert listed is not None
    assert local is not None
    for source in sources:
        assert [(f.relative, f.kind, f.problem) for f in listed[source.name]] == [
            (f.relative, f.kind, f.problem) for f in local[source.name]]
