"""The staging contract (journey_metrics/staging.py) is declared once and every staging model is
checked against it at start-up: a broken model is a configuration error (exit 2, one line naming
the model and the column), found before any input file is read."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from conftest import write_jsonl
from journey_metrics import staging
from journey_metrics.config import load_sources
from journey_metrics.sql import load_sql


def _without_email_campaign(relative_path: str) -> str:
    """The SQL files, stg_email without its campaign column (a model the check refuses)."""
    text = load_sql(relative_path)
    if relative_path == "staging/stg_email.sql":
        text = text.replace("jm_redact(jm_blank_to_null(campaign)) AS campaign,", "")
    return text


def test_shipped_models_keep_the_contract() -> None:
    staging.check_models(load_sources())


def test_a_process_checks_conforming_models_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Binding the models costs ~1 s: a long-lived process checks them once. A changed model
    is checked again, and a broken one at every load."""
    from journey_metrics.errors import UsageError

    sources = load_sources()
    staging.check_models(sources)
    opened: list[object] = []
    real_connect = staging.duckdb.connect

    def counting_connect(*args: object, **kwargs: object) -> object:
        opened.append(args)
        return real_connect(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(staging.duckdb, "connect", counting_connect)
    staging.check_models(sources)
    assert opened == []

    monkeypatch.setattr(staging, "load_sql", _without_email_campaign)
    for _ in range(2):
        with pytest.raises(UsageError, match="column campaign"):
            staging.check_models(sources)
    assert len(opened) == 2


def test_batch_table_follows_the_contract() -> None:
    ddl = staging.batch_accepted_ddl()
    for column in staging.STAGING_COLUMNS:
        if column.name != "reject_reason":
            assert f'"{column.name}" {column.type}' in ddl


BROKEN = [
    pytest.param(
        "stg_email", "jm_redact(jm_blank_to_null(campaign)) AS campaign,", "",
        "error: email: staging model stg_email (sql/staging/stg_email.sql): column campaign"
        " (VARCHAR) is missing", id="missing-column"),
    pytest.param(
        "stg_crm_deals", "NULL::VARCHAR AS user_id", "NULL::INTEGER AS user_id",
        "error: crm: staging model stg_crm_deals (sql/staging/stg_crm_deals.sql): column user_id"
        " is INTEGER, the staging contract says VARCHAR", id="wrong-type"),
    pytest.param(
        "stg_web", "    referrer_class\nFROM channel_inputs",
        "    referrer_class,\n    1 AS bonus\nFROM channel_inputs",
        "error: web: staging model stg_web (sql/staging/stg_web.sql): column bonus is not in the"
        " staging contract (journey_metrics/staging.py)", id="extra-column"),
    pytest.param(
        "stg_crm_contacts", "jm_blank_to_null(lifecyclestage)",
        "jm_blank_to_null(lifecycle_stage)",
        "error: crm: staging model stg_crm_contacts (sql/staging/stg_crm_contacts.sql) does not"
        " run: Binder Error: Referenced column \"lifecycle_stage\" not found", id="does-not-run"),
]


@pytest.mark.parametrize(("model", "old", "new", "message"), BROKEN)
def test_broken_model_exits_2_before_reading(
    input_dir: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], model: str, old: str, new: str, message: str,
) -> None:
    def broken(relative_path: str) -> str:
        text = load_sql(relative_path)
        if relative_path == f"staging/{model}.sql":
            assert old in text
            text = text.replace(old, new)
        return text

    monkeypatch.setattr(staging, "load_sql", broken)
    write_jsonl(input_dir / "web" / "a.jsonl", [{"type": "page", "messageId": "m1",
               "timestamp": "2024-03-01T10:00:00Z", "anonymousId": "a1"}])
    monkeypatch.setattr(sys, "argv", ["journey-metrics", "run", "--input", str(input_dir),
                                      "--db", str(db_path)])
    from journey_metrics.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(message), err
    assert len(err.splitlines()) == 1
    assert not db_path.exists()  # nothing read, nothing created


def test_a_warehouse_keeps_its_models_checks(
    input_dir: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A nightly `run` is a new process: the warehouse keeps the digests of the models its last
    run loaded with, and the next run checks only models (or macros, zones, traits) that
    changed since. A broken model is refused however the warehouse was loaded before."""
    from journey_metrics import pipeline
    from journey_metrics.errors import UsageError

    write_jsonl(input_dir / "web" / "a.jsonl", [{"type": "page", "messageId": "m1",
               "timestamp": "2024-03-01T10:00:00Z", "anonymousId": "a1"}])
    pipeline.run(input_dir, db_path)
    kept = staging.stored_checks(db_path)
    assert kept == set(staging.check_keys(load_sources()))
    assert len(kept) >= 5

    checked: list[str] = []
    real_problem = staging.model_problem

    def recording_problem(con: object, source: object, kind: object) -> str | None:
        checked.append(kind.model)  # type: ignore[attr-defined]
        return real_problem(con, source, kind)  # type: ignore[arg-type]

    monkeypatch.setattr(staging, "model_problem", recording_problem)
    monkeypatch.setattr(staging, "_CONFORMING", set())  # as a new process
    pipeline.plan_run(input_dir, db_path)
    assert checked == []

    monkeypatch.setattr(staging, "load_sql", _without_email_campaign)
    with pytest.raises(UsageError, match="column campaign"):
        pipeline.plan_run(input_dir, db_path)
    assert checked == ["stg_email"]

    # another version of the code (the macros written in Python, the check, the contract):
    # every model again
    monkeypatch.undo()
    monkeypatch.setattr(staging, "model_problem", recording_problem)
    monkeypatch.setattr(staging, "_CONFORMING", set())
    monkeypatch.setattr(staging, "_code_digest", lambda: "another version")
    checked.clear()
    pipeline.plan_run(input_dir, db_path)
    assert len(checked) >= 5


def test_no_kept_checks_without_a_readable_warehouse(tmp_path: Path) -> None:
    assert staging.stored_checks(tmp_path / "none.duckdb") == set()
    (tmp_path / "text.duckdb").write_text("not a database")
    assert staging.stored_checks(tmp_path / "text.duckdb") == set()
    # another database's file is not opened (DuckDB would fetch an extension to read it)
    (tmp_path / "s.sqlite").write_bytes(b"SQLite format 3\0" + bytes(4096))
    assert staging.stored_checks(tmp_path / "s.sqlite") == set()
    assert staging.stored_checks(tmp_path) == set()  # a folder


def test_a_file_a_model_failed_on_is_read_again_once_the_model_changes(
    input_dir: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A model that fails on a file's rows (a cast a new source's author got wrong) fails the
    file; later runs skip it while it and the model stay as they were (saying so), and read it
    again once the model changed (a fix is made to the model, not to the file; an audit of
    adding a source found the file skipped for good)."""
    from journey_metrics import loader, pipeline

    write_jsonl(input_dir / "web" / "a.jsonl", [{"type": "page", "messageId": "m1",
               "timestamp": "2024-03-01T10:00:00Z", "anonymousId": "a1"}])

    def failing_on_rows(relative_path: str) -> str:
        text = load_sql(relative_path)
        if relative_path == "staging/stg_web.sql":
            text = f"SELECT * FROM ({text}) WHERE error('a model bug') IS NULL"
        return text

    def web_file(summary: object) -> tuple[str, str | None, str | None]:
        result = next(r for s in summary.sources  # type: ignore[attr-defined]
                      for r in s.file_results if r.source == "web")
        return result.status, result.reason, result.earlier_failure

    with monkeypatch.context() as patch:
        patch.setattr(loader, "load_sql", failing_on_rows)
        status, reason, _ = web_file(pipeline.run(input_dir, db_path))
    assert (status, "a model bug" in (reason or "")) == ("failed", True)
    status, _, earlier = web_file(pipeline.run(input_dir, db_path))  # no model changed
    assert (status, "a model bug" in (earlier or "")) == ("skipped", True)
    monkeypatch.setattr(staging, "_code_digest", lambda: "the model changed")
    assert web_file(pipeline.run(input_dir, db_path))[0] == "loaded"
    assert pipeline.run(input_dir, db_path).as_dict()["events_total"] == 1
