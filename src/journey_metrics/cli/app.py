"""The Typer app, its consoles and the options every command shares."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer

if TYPE_CHECKING:
    from rich.console import Console

app = typer.Typer(
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


def folder_or_new(value: Path | None) -> Path | None:
    """An output folder option: an existing file there (or above it) is bad usage (exit 2, one
    line) before any work starts, not a crash at the first write."""
    if value is not None and value.exists() and not value.is_dir():
        raise typer.BadParameter(f"{value} is a file, not a folder")
    blocking = _under_a_file(value) if value is not None else None
    if blocking is not None:
        raise typer.BadParameter(f"{value}: {blocking} is a file, not a folder")
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
