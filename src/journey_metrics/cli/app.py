"""The Typer app, its consoles and the options every command shares."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

app = typer.Typer(
    add_completion=False,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    help="Turn raw web, email and CRM events into customer-journey metrics.",
)
# Piped output (a file, `less`) gets a wide fixed width so tables are not squeezed to 80 columns.
stdout = Console(width=None if sys.stdout.isatty() else 200)
stderr = Console(stderr=True)

DbOption = Annotated[Path, typer.Option("--db", help="DuckDB warehouse file.")]
TzOption = Annotated[str, typer.Option("--tz", help="Time zone for dates and calendar periods.")]


def announce(message: str) -> None:
    stderr.print(Text.assemble(("note: ", "yellow"), message), highlight=False)
