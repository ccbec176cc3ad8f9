"""Run several `journey-metrics` commands in one fresh Python process (a test helper).

Starting a process per command costs about a second of imports (DuckDB, Polars, Altair); the
reliability suites run dozens of commands, so each chain of commands runs in one child process
instead: `python cli_driver.py SPEC.json` calls the real entry point `journey_metrics.cli.main`
once per command (same parsing, same one-line errors, same exit statuses) and writes each
command's exit status, stdout and stderr to the result file named in the spec.

The child's environment (TZ, the hashing key) is set by the caller, so a chain really runs in the
process time zone it is given. With `"stub_rendering": true`, the two slow renderings of the
dashboard (PNGs, and bundling the page's JavaScript: several seconds, and not what these tests
compare) return fixed bytes; everything else of `report` runs, data.json included. Charts whose
title contains one of `real_png_titles` are still rendered for real.

`call_cli(*argv)` runs one command through the same entry point in the calling process (for
quick commands, and for tests that monkeypatch the configuration).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

DRIVER = Path(__file__).resolve()


def run_commands(
    commands: dict[str, list[str]],
    work: Path,
    *,
    env: dict[str, str] | None = None,
    stub_rendering: bool = True,
    real_png_titles: tuple[str, ...] = (),
    check: bool = True,
    timeout: float = 600,
) -> dict[str, dict[str, Any]]:
    """Run `commands` (name -> argv after `journey-metrics`) in order in one child process;
    return name -> {"code", "stdout", "stderr"}. With `check`, every command must exit 0 (the
    child stops at the first that does not); without, all run and the caller checks."""
    work.mkdir(parents=True, exist_ok=True)
    spec = work / "driver-spec.json"
    result_file = work / "driver-result.json"
    spec.write_text(json.dumps({"commands": commands, "result": str(result_file),
                                "stub_rendering": stub_rendering,
                                "real_png_titles": list(real_png_titles),
                                "check": check}))
    child = subprocess.run(
        [sys.executable, str(DRIVER), str(spec)], capture_output=True, text=True,
        env={**os.environ, **(env or {})}, timeout=timeout,
    )
    assert child.returncode == 0, child.stderr
    results: dict[str, dict[str, Any]] = json.loads(result_file.read_text())
    if check:
        for name, result in results.items():
            assert result["code"] == 0, (name, commands[name], result["stderr"])
    assert list(results) == list(commands)
    return results


def call_cli(*argv: str) -> tuple[int, str, str]:
    """Run one command through the real entry point in this process; (status, stdout, stderr).

    For tests that need to run many quick commands (or to monkeypatch configuration)."""
    from journey_metrics import cli

    out, err = io.StringIO(), io.StringIO()
    code: Any = 0
    saved = sys.argv
    sys.argv = ["journey-metrics", *argv]
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                cli.main()
            except SystemExit as exc:
                code = exc.code if exc.code is not None else 0
    finally:
        sys.argv = saved
    return int(code), out.getvalue(), err.getvalue()


def _main(spec_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    if spec["stub_rendering"]:
        import vl_convert

        render = vl_convert.vegalite_to_png
        real = spec["real_png_titles"]

        def png(chart: dict[str, Any], *args: Any, **kwargs: Any) -> bytes:
            title = json.dumps(chart.get("title"), ensure_ascii=False)
            if any(text in title for text in real):
                return render(chart, *args, **kwargs)  # type: ignore[no-any-return]
            return b"\x89PNG stub"

        vl_convert.vegalite_to_png = png
        vl_convert.javascript_bundle = lambda *args, **kwargs: "/* bundle stub */"
    results: dict[str, dict[str, Any]] = {}
    for name, argv in spec["commands"].items():
        code, out, err = call_cli(*argv)
        results[name] = {"code": code, "stdout": out, "stderr": err}
        if code != 0 and spec["check"]:
            break
    Path(spec["result"]).write_text(json.dumps(results))


if __name__ == "__main__":
    _main(sys.argv[1])
