"""The ``handleval`` command line: a thin typer layer over the library.

Every ``HandlevalError`` becomes one red line and exit code 2; nothing a user can cause prints a traceback.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from handleval import __version__
from handleval.errors import HandlevalError

app = typer.Typer(help="Price social-media handles and flag bot-controlled or dormant accounts.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
data_app = typer.Typer(help="Inspect and validate the data directory.", no_args_is_help=True)
train_app = typer.Typer(help="Train models.", no_args_is_help=True)
app.add_typer(data_app, name="data")
app.add_typer(train_app, name="train")

console = Console()
err_console = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])


def friendly_errors(func: F) -> F:
    """Turn expected failures into one clear message and a non-zero exit."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except HandlevalError as exc:
            err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            err_console.print("[yellow]interrupted[/]")
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


def _version(value: bool) -> None:
    if value:
        console.print(f"handleval {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """handleval: value handles, flag bots and dormant accounts."""


@data_app.command("list")
@friendly_errors
def data_list() -> None:
    """Each dataset: rows, date range, currency and the licence note from its SOURCE.txt."""
    from handleval.data.catalog import catalog

    table = Table(title="handleval datasets", show_lines=False)
    for col in ("dataset", "kind", "rows", "dates", "currency", "licence (SOURCE.txt)"):
        table.add_column(col, overflow="fold")
    for entry in catalog():
        table.add_row(entry.name, entry.kind, f"{entry.rows:,}", entry.dates, entry.currency, entry.licence)
    console.print(table)


@data_app.command("check")
@friendly_errors
def data_check() -> None:
    """Validate every set; exit 1 with the load report when a set is malformed."""
    from handleval.data.catalog import check_all

    report = check_all()
    table = Table(title="load report")
    for col in ("source", "read", "loaded", "rejected", "reason"):
        table.add_column(col, overflow="fold")
    for row in report.to_rows():
        table.add_row(*(str(row[c]) for c in ("source", "read", "loaded", "rejected", "reason")))
    console.print(table)
    bad = [s.source for s in report.sources.values() if not s.ok]
    if bad:
        err_console.print(f"[bold red]malformed:[/] {', '.join(bad)}")
        raise typer.Exit(1)
    console.print(f"[green]all {len(report.sources)} sets valid[/]")


def run() -> None:  # pragma: no cover - console entry point alias
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())

