"""The Typer app, its consoles and the options every command shares."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer
from typer.core import TyperCommand
from typer.models import CommandFunctionType

from journey_metrics.errors import UsageError

if TYPE_CHECKING:
    from rich.console import Console

class _CheckedCommand(TyperCommand):
    """Every command's option parsing: an option given an empty or blank value (`--from ''`,
    `--from "$START"` with START unset) is bad usage, exit 2 with one line, for every option of
    every command. Left to each option it was taken as "not given" by some (a silent all-time
    result, the default currency) and refused in their own words by others (decision 231)."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and not ctx.resilient_parsing:
            # the parser's raw strings, before any type turns '' into something (Path('') is
            # the working folder); a malformed command line fails here as it would below
            given, _, _ = self.make_parser(ctx).parse_args(args=list(args))
            for param in self.get_params(ctx):
                raw = given.get(param.name) if param.name else None
                values = raw if isinstance(raw, list | tuple) else [raw]
                if any(isinstance(v, str) and not v.strip() for v in values):
                    flag = max(param.opts, key=len) if param.opts else str(param.name)
                    raise UsageError(f"{flag} is empty: give a value" + (
                        "" if param.required else f", or leave {flag} out"))
        return super().parse_args(ctx, args)


class _Typer(typer.Typer):
    """The app: each command it registers parses its options as _CheckedCommand does."""

    def command(
        self, *args: Any, **kwargs: Any
    ) -> Callable[[CommandFunctionType], CommandFunctionType]:
        kwargs.setdefault("cls", _CheckedCommand)
        return super().command(*args, **kwargs)


app = _Typer(
    add_completion=False,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    help="Turn raw web, email and CRM events into customer-journey metrics.",
)


class _LazyConsole:
    """A rich Console made on first use. Importing rich is about a tenth of a short command's
    start-up (issue 17), and a command that prints JSON or CSV (written to `file`) or nothing
    never needs it."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._console: Console | None = None

    @property
    def file(self) -> Any:
        # what an unconfigured Console writes to, looked up now (tests swap sys.stdout)
        return sys.stderr if self._options.get("stderr") else sys.stdout

    def real(self) -> Console:
        if self._console is None:
            from rich.console import Console

            options = {**self._options}
            if callable(options.get("width")):
                options["width"] = options["width"]()
            self._console = Console(**options)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real(), name)


def real_console(console: Console) -> Console:
    """The Console itself, for rich objects that take one (a progress bar sets its state)."""
    return console.real() if isinstance(console, _LazyConsole) else console


def _stdout_width() -> int | None:
    # Piped output (a file, `less`) gets a wide fixed width so tables are not squeezed to 80
    # columns.
    return None if sys.stdout.isatty() else 200


stdout = cast("Console", _LazyConsole(width=_stdout_width))
# Messages on stderr are never wrapped: a nightly job's log keeps each note on one line (rich
# wraps at 80 columns when stderr is not a terminal).
stderr = cast("Console", _LazyConsole(stderr=True, soft_wrap=True))

def _under_a_file(value: Path) -> Path | None:
    """The existing file among `value`'s parents, if any: nothing can be made below it."""
    for parent in value.absolute().parents:
        try:
            if parent.exists():
                return None if parent.is_dir() else parent
        except OSError:  # a folder we may not look into: the write will say what is wrong
            return None
    return None


def _creation_problem(value: Path) -> str | None:
    """Why the missing folder `value` cannot be made (what the machine said), or None. Probed
    by making the missing folders and removing them again: nothing is left before the command
    has run (a refused warehouse makes nothing), and the answer is the machine's own (a
    read-only or virtual file system, no permission; as root the permission bits tell nothing)."""
    missing: list[Path] = []
    folder = value.absolute()
    try:
        while not folder.exists() and folder != folder.parent:
            missing.append(folder)
            folder = folder.parent
    except OSError as exc:  # a parent we may not look into
        return exc.strerror or str(exc)
    if not missing:
        return None
    try:
        value.mkdir(parents=True)
    except FileExistsError:  # made meanwhile
        return None
    except OSError as exc:
        return exc.strerror or str(exc)
    finally:
        for made in missing:  # the deepest first; those that could not be made are absent
            with contextlib.suppress(OSError):
                made.rmdir()
    return None


def folder_or_new(value: Path | None) -> Path | None:
    """An output folder option: an existing file there (or above it), or a folder that cannot
    be made, is bad usage (exit 2, one line) before any work starts, not a crash at the first
    write."""
    if value is None:
        return value
    if value.exists() and not value.is_dir():
        raise typer.BadParameter(f"{value} is a file, not a folder")
    blocking = _under_a_file(value)
    if blocking is not None:
        raise typer.BadParameter(f"{value}: {blocking} is a file, not a folder")
    problem = _creation_problem(value)
    if problem is not None:
        raise typer.BadParameter(f"cannot create folder {value}: {problem}")
    return value


def warehouse_file(value: Path) -> Path:
    """--db: a folder there, or a file among its parents, is bad usage (exit 2, one line)."""
    if value.is_dir():
        raise typer.BadParameter(f"{value} is a directory, not a warehouse file")
    blocking = _under_a_file(value)
    if blocking is not None:
        raise typer.BadParameter(f"{value}: {blocking} is a file, not a folder")
    return value


DbOption = Annotated[Path, typer.Option("--db", help="DuckDB warehouse file.",
                                        callback=warehouse_file)]
TzOption = Annotated[str, typer.Option("--tz", help="Time zone for dates and calendar periods.")]


def announce(message: str) -> None:
    from rich.text import Text

    stderr.print(Text.assemble(("note: ", "yellow"), message), highlight=False)
