"""The `journey-metrics` command line (CONTRACT §5). Thin: parse, call, print.

Core commands live in cli/core.py; every metric command is made from the registry
(cli/metric_commands.py).
"""

from __future__ import annotations

import errno
import gc
import os
import sys

import typer

import journey_metrics

# Start-up (issue 17): importing the commands allocates many long-lived objects and frees none,
# so the cyclic garbage collector's passes over them are wasted CPU (~5% of a short command).
# It is paused while the CLI imports and registers its commands, then those objects are frozen
# out of later collections; the command itself runs with the collector on.
_COLLECTING = gc.isenabled()
gc.disable()

from journey_metrics.cli import core as _core  # noqa: E402, F401  (registers the core commands)
from journey_metrics.cli.app import app, stderr  # noqa: E402
from journey_metrics.cli.metric_commands import add_metric_commands  # noqa: E402
from journey_metrics.errors import JourneyMetricsError  # noqa: E402

if _COLLECTING:
    gc.enable()

__all__ = ["app", "main"]

# The option parser's exceptions: recent typer carries its own copy of click, older typer uses
# click itself, so they are looked up where typer's BadParameter lives.
_parser_errors = sys.modules[typer.BadParameter.__module__]
_NoArgsIsHelp = getattr(_parser_errors, "NoArgsIsHelpError", ())


def main() -> None:
    """Entry point: one-line errors with exit 2 (usage, config) or 1 (failed run)."""
    journey_metrics.command_line_process = True
    # A stream closed by the shell (`>&-`) is None in Python, whose print() then writes
    # nothing; so do we (a write to it failed as "unexpected AttributeError", decision 215)
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115
    # Start-up: pydantic (the config's models, typer's option types) looks up plugins among
    # every installed package's entry points when it first builds a model, a tenth of importing
    # the config here; a command line has no use for them. An explicit setting is kept.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "1")
    try:
        collecting = gc.isenabled()
        gc.disable()
        add_metric_commands(only=sys.argv[1] if len(sys.argv) > 1 else None)
        gc.freeze()
        if collecting:
            gc.enable()
        status = app(standalone_mode=False)
    except _NoArgsIsHelp as exc:  # bare `journey-metrics`: the help
        exc.show()
        sys.exit(exc.exit_code)
    except _parser_errors.ClickException as exc:
        # The option parser's own errors (unknown option or choice, missing option, bad value):
        # one line and exit 2 like ours, not click's usage box (CONTRACT §5).
        message = " ".join(exc.format_message().split())
        stderr.print(f"error: {message}", highlight=False, soft_wrap=True, markup=False)
        sys.exit(exc.exit_code)
    except typer.Abort:  # Ctrl-C or end of input at a prompt
        stderr.print("interrupted")
        sys.exit(130)
    except JourneyMetricsError as exc:
        # markup=False: messages quote user input (names, paths) that may contain [brackets]
        stderr.print(f"error: {exc}", highlight=False, soft_wrap=True, markup=False)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        stderr.print("interrupted")
        sys.exit(130)
    except Exception as exc:  # a bug: say so in one line, traceback only on request
        if os.environ.get("JOURNEY_METRICS_DEBUG"):
            raise
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        message = _machine_problem(exc, first) or (
            f"unexpected {type(exc).__name__}: {first} (set JOURNEY_METRICS_DEBUG=1 "
            "for a traceback)")
        stderr.print(
            f"error: {message}",
            highlight=False,
            soft_wrap=True,
            markup=False,
        )
        sys.exit(1)
    # Without standalone mode click returns instead of exiting: an explicit exit status
    # (--help gives 0) is passed on.
    if isinstance(status, int) and status:
        sys.exit(status)


# What the machine refused (a full disk, a read-only folder, no permission): a failed run to fix
# there, not a bug. DuckDB words them in its own errors ("Could not write file ...: No space left
# on device"), which name the file.
_MACHINE_REFUSALS = ("No space left on device", "Read-only file system", "Permission denied",
                     "Disk quota exceeded")
_REFUSING_ERRNOS = {errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EDQUOT}


def _machine_problem(exc: Exception, first: str) -> str | None:
    """One line naming the file and what the machine said, or None for any other error."""
    if isinstance(exc, OSError) and exc.errno in _REFUSING_ERRNOS and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    if any(refusal in first for refusal in _MACHINE_REFUSALS):
        return first
    return None

