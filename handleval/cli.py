"""The ``handleval`` command line: a thin typer layer over the library.

Every ``HandlevalError`` becomes one red line and exit code 2; nothing a user can cause prints a traceback.
"""

from __future__ import annotations

import functools
import re
import sys
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.table import Table
from typer.core import TyperCommand, TyperGroup

from handleval import __version__
from handleval._console import Console
from handleval._signals import RESUME_HINT, how_stopped, sigterm_as_interrupt
from handleval.errors import DataFormatError, HandlevalError, HandlevalWarning
from handleval.handles import _INVISIBLE_CHARS, PLATFORM_ALIASES, PLATFORMS

#: The platforms ``-p`` takes, as its help says them: ``x, telegram, … (twitter = x)``.
PLATFORM_HELP = ", ".join(PLATFORMS) + "".join(f" ({alias} = {name})" for alias, name in PLATFORM_ALIASES.items())
#: Control characters (C0, DEL, C1): a name or a reason printed with them could move the cursor, recolour the
#: terminal or retitle its window; and the invisible marks handles drop, direction marks among them (a right-to-left
#: override reversed the line).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c" + "".join(sorted(_INVISIBLE_CHARS)) + "]")


def shown(text: object) -> str:
    """Untrusted text (a handle, a screen name, a reason quoting them) as the terminal may print it: control
    characters and direction marks as '?', Rich markup escaped."""
    from rich.markup import escape

    return escape(_CONTROL.sub("?", str(text)))

#: How --help names a value: click's plain words instead of typer's Python types (``<str>``, ``<list[str]>``).
_VALUE_NAMES = {"<str>": "TEXT", "<int>": "INTEGER", "<float>": "NUMBER", "<path>": "PATH", "<list[Path]>": "PATH"}


def _value_name(param: Any, ctx: Any) -> str | None:
    """What --help shows after an option: nothing for flags and arguments (their name says it), else a word."""
    if getattr(param, "is_flag", False) or param.param_type_name == "argument":
        return None
    shown = type(param).display_type_rich(param, ctx)
    return _VALUE_NAMES.get(shown, shown.strip("<>")) if shown else shown


class _ReadableHelp:
    """Mixed into every command and group: readable value names in --help (:func:`_value_name`)."""

    def get_params(self, ctx: Any) -> list[Any]:
        params = super().get_params(ctx)  # type: ignore[misc]
        for param in params:
            param.display_type_rich = functools.partial(_value_name, param)
        return params


class ReadableCommand(_ReadableHelp, TyperCommand):
    pass


class ReadableGroup(_ReadableHelp, TyperGroup):
    pass


#: -h as well as --help, on every command (a newcomer's first guess).
_HELP = {"help_option_names": ["-h", "--help"]}
app = typer.Typer(help="Price social-media handles and flag bot-controlled or dormant accounts.",
                  no_args_is_help=True, pretty_exceptions_enable=False, cls=ReadableGroup, context_settings=_HELP)
data_app = typer.Typer(help="Inspect and validate the data directory.", no_args_is_help=True, cls=ReadableGroup,
                       context_settings=_HELP)
train_app = typer.Typer(help="Train models.", no_args_is_help=True, cls=ReadableGroup, context_settings=_HELP)
app.add_typer(data_app, name="data")
app.add_typer(train_app, name="train")

console = Console()
err_console = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])


def _plain_warning(python_shows: Callable[..., None], message: Warning | str, category: type[Warning],
                   *where: Any) -> None:
    """handleval's own warnings as one plain line (others as Python shows them)."""
    if issubclass(category, HandlevalWarning):
        err_console.print(f"[yellow]warning:[/] {shown(str(message))}", highlight=False)
    else:
        python_shows(message, category, *where)


def friendly_errors(func: F) -> F:
    """Turn expected failures into one clear message and a non-zero exit."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            with warnings.catch_warnings(), sigterm_as_interrupt():
                warnings.showwarning = functools.partial(_plain_warning, warnings.showwarning)
                return func(*args, **kwargs)
        except HandlevalError as exc:
            err_console.print(f"[bold red]error:[/] {shown(exc)}", highlight=False)
            raise typer.Exit(2) from None
        except OSError as exc:  # a read-only or full filesystem not caught closer to the write
            err_console.print(f"[bold red]error:[/] {shown(exc.filename or '')}: {shown(exc.strerror or exc)}",
                              highlight=False)
            raise typer.Exit(2) from None
        except KeyboardInterrupt as exc:
            stopped, code = how_stopped(exc)
            hint = RESUME_HINT if "resume" in kwargs else ""
            err_console.print(f"\n[yellow]{stopped}[/]{hint}", highlight=False, soft_wrap=True)  # a line of its own
            raise typer.Exit(code) from None

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
def data_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array (one object per dataset) instead.")]
    = False,
) -> None:
    """Each dataset: rows, date range, currency and the licence note from its SOURCE.txt. One line per dataset,
    never wrapped or cut: a table on a terminal wide enough for it, else aligned plain columns (pipes, grep).
    A set that cannot be read is listed as such (exit 1; `data check` says more)."""
    from handleval.data.catalog import catalog

    entries = catalog()
    _list_datasets(entries, as_json)
    unreadable = [e.name for e in entries if e.dates.startswith("unreadable")]
    if unreadable:
        err_console.print(f"[bold red]error:[/] {len(unreadable)} set(s) cannot be read: "
                          f"{shown(', '.join(unreadable))}", highlight=False)
        raise typer.Exit(1)


def _list_datasets(entries: list[Any], as_json: bool) -> None:
    if as_json:
        import dataclasses
        import json

        sys.stdout.write(json.dumps([dataclasses.asdict(e) for e in entries], indent=1, ensure_ascii=False) + "\n")
        return
    header = ("dataset", "kind", "rows", "dates", "currency", "licence (SOURCE.txt)")
    rows = [(e.name, e.kind, f"{e.rows:,}", e.dates, e.currency, e.licence) for e in entries]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    if console.is_terminal and sum(widths) + 3 * len(widths) + 1 <= console.width:
        table = Table(title="handleval datasets")
        for col in header:
            table.add_column(col, no_wrap=True)
        for row in rows:
            table.add_row(*row)
        console.print(table)
        return
    for row in [header, *rows]:  # plain text: no markup, no width limit
        sys.stdout.write("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() + "\n")


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
    bad = [f"{s.source} ({s.malformed or 'nothing loaded'})" for s in report.sources.values() if not s.ok]
    if bad:
        err_console.print(f"[bold red]malformed:[/] {', '.join(bad)}")
        raise typer.Exit(1)
    sets = {str(name).split("/")[0] for name in report.sources}  # a set of several files reports each
    console.print(f"[green]all {len(sets)} sets valid ({len(report.sources)} files or parts)[/]")


TrackOpt = Annotated[bool, typer.Option(help="Log the run to MLflow and register the model.")]
TrainQuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors, not the report.")]


@train_app.command("price")
@friendly_errors
def train_price_command(
    config: Annotated[Path | None, typer.Option(
        help="YAML config: each top-level key it sets replaces that of configs/price.yaml; the keys it leaves out are "
             "that file's (default: that file as it is).")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Bundle directory (default models/price).")]
    = None,
    track: TrackOpt = True,
    quiet: TrainQuietOpt = False,
    sales: Annotated[list[Path] | None, typer.Option(
        help="A sales ledger of your own (CSV or Parquet: handle, price, currency, sold_at; optional platform, "
             "suffix, venue), added to the config's sources; repeatable. A platform with sales of its own is priced "
             "as its own market, not by proxy.")] = None,
    sales_platform: Annotated[str | None, typer.Option(
        help=f"Platform of the --sales rows that have no platform column or a blank cell: {PLATFORM_HELP}.")] = None,
    sales_currency: Annotated[str | None, typer.Option(
        help="Currency of the --sales rows that have no currency column or a blank cell (USD, TON, …).")] = None,
) -> None:
    """Train the price model on the sales data, evaluate it on the newest sales and write the bundle."""
    from handleval.price.train import load_price_config, train_price, with_ledgers

    if (sales_platform or sales_currency) and not sales:
        raise typer.BadParameter("--sales-platform and --sales-currency describe --sales files: give one")
    cfg = with_ledgers(load_price_config(config), sales, sales_platform, sales_currency) if sales else config
    _check_store_if(track)
    result = train_price(cfg, output, quiet=quiet)
    if not quiet:
        console.print(f"bundle written to {result.bundle_dir} in {result.seconds:.1f} s")
    if track:
        from handleval.tracking import track_price_run

        track_price_run(result)


def _check_store_if(track: bool) -> None:
    """A tracked training run checks its MLflow store before its minutes of training, not after."""
    if track:
        from handleval.tracking import check_store

        check_store()


@train_app.command("accounts")
@friendly_errors
def train_accounts_command(
    config: Annotated[Path | None, typer.Option(
        help="YAML config: each top-level key it sets replaces that of configs/accounts.yaml; the keys it leaves out "
             "are that file's (default: that file as it is).")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Bundle directory (default models/accounts).")]
    = None,
    track: TrackOpt = True,
    quiet: TrainQuietOpt = False,
) -> None:
    """Train the bot and dormancy models, evaluate leave-one-dataset-out and write the bundle."""
    from handleval.accounts.train import train_accounts

    _check_store_if(track)
    with console.status("training the account models (leave-one-dataset-out evaluation included)"):
        result = train_accounts(config, output)
    if not quiet:
        console.print(result.report_markdown)
        console.print(f"bundle written to {result.bundle_dir} in {result.seconds:.1f} s")
    if track:
        from handleval.tracking import track_accounts_run

        track_accounts_run(result, quiet=quiet)


#: The one rule of -o, said in the --help of predict, flag and triage.
OUTPUT_RULE = ("A name ending .csv, .tsv or .parquet (.pq) is one file of that format; another table's suffix (.json, "
               ".ndjson, .txt, .xlsx, .gz ...) is refused; any other name a directory of Parquet parts.")
# Batch options shared by predict and flag.
BatchOutputOpt = Annotated[Path, typer.Option("--output", "-o", help=OUTPUT_RULE + " Either way the rows are "
                                              "scored in parts (a file is joined from them at the end), so "
                                              "--resume finishes an interrupted run. In CSV output a text cell "
                                              "starting with = + - @ or a tab gets a leading ' so that a "
                                              "spreadsheet cannot run it (CSV input is all text: -3.5 comes back "
                                              "'-3.5); Parquet keeps every value as read. Exit code 1 when no row "
                                              "could be scored (each row's error says why).")]


class EngineChoice(StrEnum):
    local = "local"
    dask = "dask"


EngineOpt = Annotated[EngineChoice, typer.Option(help="local (streams any size on one machine) or dask.")]
SchedulerOpt = Annotated[str | None, typer.Option(help="Address of an existing Dask scheduler (tcp://host:8786).")]
WorkersOpt = Annotated[int | None, typer.Option(min=1, help="Workers of the local Dask cluster (default: cores).")]
ResumeOpt = Annotated[bool, typer.Option(help="Finish an interrupted run: keep finished parts, redo the rest. "
                                              "Refused when the input, the model or an option differs.")]
OverwriteOpt = Annotated[bool, typer.Option(help="Replace an existing output of a previous run.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or summary.")]


class AttributionChoice(StrEnum):
    paths = "paths"
    shap = "shap"


AttributionOpt = Annotated[AttributionChoice, typer.Option(
    help="How reasons are ranked: path attributions (one pass, the default) or exact TreeSHAP (~1 ms/row).")]
ChunkOpt = Annotated[int | None, typer.Option(
    help="Rows per chunk and output part (bounds memory; default 100,000, or with --resume the interrupted run's). "
    "The local engine's: with --engine dask each Parquet row group is a part.",
    show_default=False)]
CompsOpt = Annotated[bool, typer.Option(
    "--comps", help="Also show the comparable sales each price rests on: the sold names most similar to the "
                    "handle in its market (at most the model's comparables_k), sold strictly before its as_of: "
                    "name, market, price_usd, sold_at, similarity, most similar first.")]
PrefixOpt = Annotated[str, typer.Option(help="Prefix for the output column names, e.g. hv_ (needed when the input "
                                             "already has a column of an output's name: input columns are never "
                                             "overwritten).")]


def _known_platform(text: str) -> str:
    """``-p`` as :data:`~handleval.handles.PLATFORMS` names it (``twitter`` is x), or exit 2 saying which exist."""
    from handleval.handles import platform_name, unknown_platform

    platform = platform_name(text)
    why = unknown_platform(platform)
    if why:
        raise HandlevalError(why)
    return platform


def _run_batch(input_path: Path, output: Path, factory: tuple[str, str, dict[str, Any]], required: tuple[str, ...],
               engine: str, scheduler: str | None, workers: int | None, resume: bool, overwrite: bool,
               quiet: bool, chunk_rows: int | None, output_columns: list[str] | None = None, prefix: str = "",
               scoring: dict[str, Any] | None = None) -> None:
    """Score into a directory of parts, or into one file (:func:`handleval.batch.run_batch_to_file`), and say
    how it went."""
    from handleval.batch import run_batch, run_batch_to_file
    from handleval.io import output_file_format

    fmt = output_file_format(output)
    if str(engine) == "dask" and chunk_rows is not None:
        err_console.print("[yellow]warning:[/] --chunk-rows is the local engine's: with --engine dask each Parquet row "
                          "group is one part (write the file with smaller row groups to bound a worker's memory)",
                          highlight=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        summary = (run_batch_to_file if fmt else run_batch)(
            input_path, output, scorer_factory=factory, required_columns=required, engine=str(engine),
            scheduler=scheduler, n_workers=workers, resume=resume, overwrite=overwrite, quiet=quiet,
            chunk_rows=chunk_rows, output_format=fmt or "parquet", output_columns=output_columns, prefix=prefix,
            scoring=scoring)
    if summary is None:
        if not quiet:
            console.print(f"{output} is already complete: nothing to resume")
        return
    for message in summary.warnings:
        err_console.print(f"[yellow]warning:[/] {shown(message)}", highlight=False)
    where = output if fmt else summary.output_path
    if summary.already_complete and not fmt:
        if not quiet:
            console.print(f"{where} is already complete ({summary.rows_out:,} rows, {summary.parts} parts): "
                          "nothing to resume")
    elif not quiet:
        from handleval.features.describe import plural

        layout = "one file" if fmt else plural(summary.parts, "part")
        console.print(f"{plural(summary.rows_out, 'row')} → {where} ({layout}, {plural(summary.errors, 'row')} with "
                      f"error, {summary.seconds:.1f} s, {summary.rows_per_second:,.0f} rows/s)")
    _exit_if_none_scored(bool(summary.rows_out) and summary.errors == summary.rows_out, "row", where)


def _load_scorer(factory: tuple[str, str, dict[str, Any]], output: Path, resume: bool, overwrite: bool) -> None:
    """Build the batch's scorer before the run starts, so that a missing or corrupt bundle fails before any output
    is made (the local engine reuses this one); options that exclude each other and a locked output are refused
    first, without waiting for the load."""
    from handleval.batch import cached_scorer, check_resume_or_overwrite, refuse_if_locked

    check_resume_or_overwrite(resume, overwrite)
    refuse_if_locked(output)
    cached_scorer(factory)


def _refuse_an_empty_file(input_path: Path) -> None:
    """flag and triage need the profile columns: a file of 0 bytes has none, and says so (predict writes an empty
    output of a file without handles)."""
    if input_path.is_file() and input_path.stat().st_size == 0:
        raise DataFormatError(f"{input_path} is empty (0 bytes): it has no accounts and none of the columns "
                              "`handleval flag --help` lists")


def _exit_if_none_scored(none_scored: bool, what: str, where: Path) -> None:
    """Exit 1 when not one ``what`` could be scored (the output is written all the same: its errors say why)."""
    if none_scored:
        err_console.print(f"[bold red]error:[/] no {what} could be scored; each row's error column in {where} says "
                          "why", highlight=False)
        raise typer.Exit(1)


@app.command("predict")
@friendly_errors
def predict_command(
    input_path: Annotated[Path, typer.Argument(metavar="INPUT", help="CSV, Parquet (file or directory), NDJSON or "
                                               "text (one handle per line).")],
    output: BatchOutputOpt,
    model: Annotated[Path | None, typer.Option(help="Price bundle directory (default models/price).")] = None,
    platform: Annotated[str, typer.Option("--platform", "-p",
                                          help=f"Platform for rows without one: {PLATFORM_HELP}")] = "x",
    reasons: Annotated[bool, typer.Option(help="Explain each price (its three largest attributions, in dollars).")]
    = True,
    attribution: AttributionOpt = AttributionChoice.paths,
    engine: EngineOpt = EngineChoice.local,
    scheduler: SchedulerOpt = None,
    workers: WorkersOpt = None,
    resume: ResumeOpt = False,
    overwrite: OverwriteOpt = False,
    quiet: QuietOpt = False,
    chunk_rows: ChunkOpt = None,
    prefix: PrefixOpt = "",
    comps: CompsOpt = False,
) -> None:
    """Price every handle of a file: every input column unchanged, then price_usd, price_low_usd, price_high_usd,
    market_basis, reasons, risk, (with --comps) comparables, error (each with --prefix) - same rows, same order. A
    row with an error has no price, market_basis, reasons or risk (empty).

    \b
    Columns read (any other passes through untouched):
      handle    required: the name (pizza, @pizza, pizza.com)
      platform  per row, else --platform
      suffix    a domain's TLD or e-mail provider, when handle has none
      venue     where a domain would sell: auction (wholesale, the default), reported
                or a venue's name (godaddy, sedo); a column of yours by this name is
                read too, so rename it if it means something else
      as_of     the time to value at (ISO date or time), else now"""
    from handleval.batch import recorded_scorer_options
    from handleval.price.predict import default_as_of, output_names

    platform = _known_platform(platform)  # every row without a platform column would fail the same way
    # rows without as_of are valued at one time for the whole run, the interrupted run's on --resume (a run begun
    # before runs recorded it resumes as it began)
    recorded = recorded_scorer_options(output) if resume else {}
    as_of = recorded.get("as_of") if recorded else default_as_of().isoformat()
    factory, scoring = predict_scoring(model, platform, reasons, attribution.value, comps, as_of)
    _load_scorer(factory, output, resume, overwrite)
    _run_batch(input_path, output, factory, ("handle",), engine, scheduler, workers, resume, overwrite, quiet,
               chunk_rows, output_names(comps), prefix, scoring)


def predict_scoring(model: Path | None, platform: str = "x", reasons: bool = True, attribution: str = "paths",
                    comps: bool = False, as_of: str | None = None
                    ) -> tuple[tuple[str, str, dict[str, Any]], dict[str, Any]]:
    """``predict``'s scorer factory and what else identifies its scoring (the bundle's digest, and that of the
    sales its comparables come from): a run's manifest records both, and ``--resume`` refuses any other."""
    from handleval.price.predict import scoring_facts

    kwargs = {"bundle_dir": str(model) if model else None, "platform": platform, "reasons": reasons,
              "attribution": attribution, **({"comparables": True} if comps else {}),
              **({"as_of": as_of} if as_of else {})}
    return ("handleval.price.predict", "outputs_scorer", kwargs), scoring_facts(model)


@app.command("flag")
@friendly_errors
def flag_command(
    input_path: Annotated[Path, typer.Argument(metavar="ACCOUNTS", help="CSV, Parquet or NDJSON (.ndjson/.jsonl) of "
                                               "account profiles (Twitter v1.1 or X API v2 user objects).")],
    output: BatchOutputOpt,
    model: Annotated[Path | None, typer.Option(help="Account bundle directory (default models/accounts).")] = None,
    reasons: Annotated[bool, typer.Option(help="Explain each bot score (its three largest path attributions).")]
    = True,
    prefix: PrefixOpt = "",
    engine: EngineOpt = EngineChoice.local,
    scheduler: SchedulerOpt = None,
    workers: WorkersOpt = None,
    resume: ResumeOpt = False,
    overwrite: OverwriteOpt = False,
    quiet: QuietOpt = False,
    chunk_rows: ChunkOpt = None,
) -> None:
    """Flag accounts as bot-controlled or dormant: every input row back, in order, with new columns.

    \b
    Required columns (a file without one fails at once):
      screen_name       or username (X API v2)
      created_at        Twitter date, ISO 8601 or epoch (ms or seconds)
      statuses_count    or public_metrics.tweet_count, tweet_count
      followers_count   or public_metrics.followers_count
      friends_count     or public_metrics.following_count, following_count
      favourites_count  or favorites_count, public_metrics.like_count,
                        like_count
    Optional (missing = unknown):
      observed_at       when the profile was seen; or probe_created_at
                        (Bot Repository), crawled_at or updated (Cresci,
                        its fake followers have only updated), or
                        created_at + account_age_days (the 2020 Twitter
                        Human-Bots set: the age when seen). Default:
                        the run's start (one time, kept by --resume) -
                        give it: measured against today, an old
                        snapshot looks human (rates per day of age fall)
      last_active_at    latest activity: dormancy from dates, not estimated;
                        or status.created_at (a v1.1 object's last tweet),
                        or the time in most_recent_tweet_id (X API v2; the
                        later of the two; a value that is no post id is a
                        row error where no last_active_at is given)
      listed_count      or public_metrics.listed_count, listedcount
      description, location, url, name, verified, protected, geo_enabled,
      default_profile, default_profile_image (v2: from profile_image_url);
      triage also reads verified_type (v2: any but none is verified),
      is_blue_verified (X's own JSON) and protected; a column the guard rails read
      written in another case ('Verified') stops the run
    v2 objects may be nested (NDJSON lines; a public_metrics column holding
    the object as JSON, a Python dict's text or a Parquet map; a v1.1 status
    column the latest tweet) or flattened with dots
    (public_metrics.tweet_count); counts are whole numbers without
    separators (150.000 is refused); ids rounded by a spreadsheet (8.41E+17)
    are no ids;
    an NDJSON line that is a v2 response page ({"data": [...]}) gives a row
    per user (a page of posts: per author; a crawler's observed_at beside
    "data" is each user's); the Bot Repository's
    SET_tweets.json ({"created_at", "user"} records) a row per profile,
    seen at its probe time.

    \b
    Output columns (an input column is never overwritten: a clash stops
    the run before scoring; --prefix renames the outputs):
      p_bot, bot, bot_type, p_fake_follower, p_spam, p_amplifier,
      p_self_declared, days_inactive, p_dormant, dormant, dormancy_basis,
      measured_at, measured_at_basis, account_status, reasons, error
    account_status: bot, dormant, bot_and_dormant, active (a last activity
    within the window), or activity_unknown (neither flag, no last activity
    given: dormancy was only estimated). dormant is empty (unknown) where no
    last activity was given, unless the estimate reaches 0.5 or the account
    is younger than the window (then false).
    measured_at: the time each account was measured at; measured_at_basis:
    observed_at, probe_created_at, crawled_at, updated, account_age_days, or
    "now (no observed_at given)".
    """
    from handleval.accounts.flag import FLAG_COLUMNS, check_columns, scoring_facts, warn_without_observed_at
    from handleval.batch import recorded_scorer_options
    from handleval.io import open_input

    source = open_input(input_path, ())
    _refuse_an_empty_file(input_path)
    check_columns(source.columns, prefix, str(input_path))  # a missing column or a clash fails at once
    warn_without_observed_at(source.columns)
    # one time for the whole run, the interrupted run's on --resume: no part is measured at another "now" (a run
    # begun before runs recorded their time resumes as it began)
    kwargs: dict[str, Any] = {"bundle_dir": str(model) if model else None, "reasons": reasons}
    recorded = recorded_scorer_options(output) if resume else {}
    if not recorded or "now" in recorded:
        kwargs["now"] = recorded.get("now") or datetime.now(UTC).isoformat(timespec="seconds")
    factory = ("handleval.accounts.flag", "outputs_scorer", kwargs)
    _load_scorer(factory, output, resume, overwrite)
    _run_batch(input_path, output, factory, (), engine, scheduler, workers, resume, overwrite,
               quiet, chunk_rows, FLAG_COLUMNS, prefix, scoring_facts(model))


@app.command("triage")
@friendly_errors
def triage_command(
    input_path: Annotated[Path, typer.Argument(metavar="ACCOUNTS", help="CSV, Parquet or NDJSON of account profiles "
                                               "(the columns `flag --help` lists).")],
    output: Annotated[Path, typer.Option("--output", "-o", help=OUTPUT_RULE + " Except here: triage ranks every "
                                         "row at once, so it writes one file, and a directory name is refused.")],
    model: Annotated[Path | None, typer.Option("--price-model", "--model", help="Price bundle directory (default "
                                               "models/price; --model as in predict and value).")] = None,
    accounts_model: Annotated[Path | None, typer.Option(help="Account bundle directory (default models/accounts; "
                                                        "flag's --model).")] = None,
    overwrite: OverwriteOpt = False,
    prefix: PrefixOpt = "",
    top: Annotated[int, typer.Option(min=0, help="Rows to show at the terminal (0: none).")] = 10,
    quiet: QuietOpt = False,
) -> None:
    """Rank accounts by the expected value of their handle: price × probability it becomes releasable. Every
    row comes back, ranked: row (its place in the input) first, then every input column unchanged, the flag
    columns, price_usd, risk, p_releasable, releasable, expected_value, guard_rail, triage_reasons, error.

    \b
    Guard rails (never releasable, the reason in guard_rail): a verified
    account; a protected one with no last activity given at its newest
    observation; one created or active within the policy window (a bot
    too; judged at its handle's newest observation, with the latest
    activity any of its rows gives); one with 100,000 followers or more (a
    person decides on a notable account); a row of an account (id) listed
    under another handle observed later, at the same time, or itself
    observed at no known time; an older row of a handle whose newest
    observation could not be scored."""
    from handleval.accounts import load_accounts
    from handleval.accounts.features import resolve_columns
    from handleval.accounts.flag import check_required
    from handleval.batch import check_output_folder, refuse_output_over_input
    from handleval.io import open_input, output_file_format
    from handleval.price.predict import load
    from handleval.release import check_triage_columns, triage

    if output.is_dir() or output_file_format(output) is None:
        raise HandlevalError(f"{output} is a directory or not a .csv/.tsv/.parquet name; triage writes one file "
                             "(.csv, .tsv or .parquet): give a file name")
    refuse_output_over_input(input_path, output)
    check_output_folder(output)  # before scoring, as predict and flag say it
    if output.exists() and not overwrite:
        raise HandlevalError(f"{output} exists; pass --overwrite to replace it")
    import pandas as pd
    import pyarrow as pa

    source = open_input(input_path, ())
    _refuse_an_empty_file(input_path)
    check_required(source.columns, str(input_path))  # as flag: v1.1 or X API v2 names
    check_triage_columns(source.columns, prefix)
    frames, errors, tables = [], [], []
    for chunk in source.chunks(1_000_000):
        frames.append(chunk.frame)
        errors += chunk.input_errors or [None] * len(chunk.frame)
        tables.append(chunk.table)
    frame = pd.concat(frames, ignore_index=True)
    ranked = triage(frame, valuer=load(model), flagger=load_accounts(accounts_model), prefix=prefix,
                    input_errors=errors if any(e is not None for e in errors) else None)
    # the input's own columns as read (a map stays a map), in the ranked order (its first column, each row's
    # position in the input)
    read = None if None in tables else pa.concat_tables(tables).take(pa.array(ranked[prefix + "row"].to_numpy()))
    _write_atomically(ranked, output, read, start=1)
    for message in source.warnings:
        err_console.print(f"[yellow]warning:[/] {shown(message)}", highlight=False)
    if top and not quiet:
        table = Table(title=f"top {top} by expected value")
        listed = ("screen_name", "price_usd", "p_releasable", "releasable", "expected_value", "account_status",
                  "triage_reasons")
        for col in listed:
            table.add_column(col, overflow="fold")
        name = resolve_columns(ranked.columns).get("screen_name", "screen_name")  # v1.1 screen_name or v2 username
        for _, row in ranked.head(top).iterrows():
            screen, price, p_rel, free, value, status, why = (row[name if c == "screen_name" else prefix + c]
                                                              for c in listed)
            table.add_row(shown(screen), f"${price:,.0f}" if price == price else "",
                          f"{p_rel:.2f}" if p_rel == p_rel else "", "" if pd.isna(free) else str(bool(free)).lower(),
                          f"${value:,.0f}" if value == value else "", shown(status), shown(why))
        console.print(table)
    if not quiet:
        console.print(f"{len(ranked):,} accounts ranked → {output}")
    _exit_if_none_scored(bool(len(ranked)) and bool(ranked[prefix + "error"].notna().all()), "account", output)


def _write_atomically(frame: Any, output: Path, read: Any = None, start: int = 0) -> None:
    """Write ``frame`` to ``output`` (CSV with formulas neutralised, else Parquet) through a temp file renamed
    into place: a full disk or a kill leaves the old file (or none), never half a file. ``read``: the input's rows
    as read (an Arrow table, in ``frame``'s order), whose columns (from column ``start`` on) are written as a batch
    part writes them."""
    from handleval.io import atomic_write, encode_part, frame_to_table, output_file_format, with_input_columns

    fmt = output_file_format(output) or "parquet"
    table = frame_to_table(frame)
    if read is not None:
        table = with_input_columns(table, read, nested_only=fmt != "parquet", start=start)
    data = encode_part(table, fmt)
    try:
        atomic_write(output, data)
    except OSError as exc:
        raise _write_error(exc, output) from exc


def _write_error(exc: OSError, output: Path) -> HandlevalError:
    import errno

    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return HandlevalError(f"no space left writing {output} ({exc.strerror}); nothing was written")
    return HandlevalError(f"cannot write {output}: {exc.strerror or exc}")


@app.command("value")
@friendly_errors
def value_command(
    handles: Annotated[list[str], typer.Argument(help="One or more handles, e.g. pizza @nike x.com/jack")],
    platform: Annotated[str, typer.Option("--platform", "-p",
                                          help=PLATFORM_HELP)] = "x",
    model: Annotated[Path | None, typer.Option(help="Price bundle directory (default models/price).")] = None,
    attribution: AttributionOpt = AttributionChoice.paths,
    comps: CompsOpt = False,
    venue: Annotated[str, typer.Option(help="Where it would sell. Domains: auction (wholesale, the default) or "
                                            "reported (end-user level of reported sales); also retail, private, "
                                            "other, or a venue's name (godaddy, sedo …).")] = "",
    as_of: Annotated[str, typer.Option("--as-of", help="Value as of this date or time (ISO 8601, UTC; a date alone "
                                                      "is the end of that day), up to today: sales after it are not "
                                                      "seen, own sales age to it. Default: the end of today (UTC), "
                                                      "so a price quoted twice in a day is one price.")]
    = "",
) -> None:
    """Price handles at the terminal: per handle one line (price, 10-90% interval, market basis, risk), its reasons
    on the next (with --comps the comparable sales on a third). Lines are never wrapped, so they grep whole. Exit
    code 1 when no handle could be priced (each line says why), 2 for an unknown platform."""
    from handleval.handles import PLATFORM_NAMES
    from handleval.price.market import unknown_venue
    from handleval.price.predict import load

    platform = _known_platform(platform)  # before the model loads: every row would fail the same way
    venue = venue.strip().lower()
    if venue and platform != "domain":  # the other platforms each sell in one place
        raise HandlevalError(f"--venue applies to domains (-p domain); {PLATFORM_NAMES[platform]} names have one "
                             "market")
    why = unknown_venue(venue)
    if why:  # a typo would price another level
        raise HandlevalError(why)
    when = _as_of_option(as_of)
    with console.status("loading the price model"):
        valuer = load(model)
    result = valuer.value_many(pd_frame(handles, platform, venue, when), attribution=attribution.value,
                               comparables=comps)
    width = max(len(str(h)) for h in result["handle"])
    lines = []
    for row in result.itertuples(index=False):
        name = shown(row.handle) + " " * (width - len(str(row.handle)))  # padded as printed
        if isinstance(row.error, str) and row.error:
            lines.append(f"{name}  [red]invalid: {shown(row.error)}[/]")
            continue
        risk = f"  [yellow]risk: {shown(row.risk)}[/]" if isinstance(row.risk, str) and row.risk else ""
        lines.append(f"[bold]{name}[/]  ${row.price_usd:>7,.0f}  (${row.price_low_usd:,.0f} – "
                     f"${row.price_high_usd:,.0f})  {shown(row.market_basis)}{risk}")
        lines.append(f"    {shown(row.reasons)}")
        if comps:
            lines.append(f"    [dim]comparables[/] {_comps_text(row.comparables)}")
    console.print(f"handle values ({platform})", highlight=False)
    for line in lines:
        console.print(line, soft_wrap=True, highlight=False)
    if result["error"].notna().all():
        err_console.print("[bold red]error:[/] no handle could be priced (see above for why)", highlight=False)
        raise typer.Exit(1)


@app.command("ui")
@friendly_errors
def ui_command(
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 5000,
    host: Annotated[str, typer.Option(help="Bind address; keep 127.0.0.1 unless behind a proxy.")] = "127.0.0.1",
) -> None:
    """Start the MLflow UI on the project's tracking store (sqlite:///mlflow.db unless MLFLOW_TRACKING_URI)."""
    import os
    import socket

    from handleval.tracking import artifact_root, check_store, mark_experiments, sqlite_path, tracking_uri, ui_path

    uri = tracking_uri()
    if uri.split(":", 1)[0].lower() in ("http", "https", "databricks"):  # a server of its own already is the UI
        raise HandlevalError(f"MLFLOW_TRACKING_URI is a tracking server ({uri}): its UI is already there, open it in "
                             "a browser; `handleval ui` serves a store on this machine (unset MLFLOW_TRACKING_URI, or "
                             "give it a sqlite:/// or folder store)")
    store = sqlite_path(uri)
    new_store = store is not None and not store.exists()
    check_store()
    try:  # the server would say so only in its log, and exit 0
        with socket.create_server((host, port)):
            pass
    except (OSError, OverflowError) as exc:
        raise HandlevalError(f"cannot serve the UI at {host}:{port}: {exc}") from None
    console.print(f"MLflow UI for {uri} at http://{host}:{port} (Ctrl+C to stop)")
    if new_store:  # MLflow makes an empty store: say so, or the empty UI looks like lost runs
        err_console.print(f"[yellow]warning:[/] no MLflow store was at {shown(str(store))}: the UI starts empty; "
                          "runs appear after `handleval train …` in this folder (or set MLFLOW_TRACKING_URI to "
                          "the store they went to)", highlight=False)
    if store is not None and store.is_file():
        # tag older experiments as model-training ones too, and link each in that view
        for name, experiment_id in mark_experiments().items():
            console.print(f"  {name}: http://{host}:{port}/{ui_path(experiment_id)}", soft_wrap=True)
    cmd = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", uri, "--host", host,
           "--port", str(port), "--workers", "1"]
    if not os.environ.get("MLFLOW_TRACKING_URI"):
        cmd += ["--default-artifact-root", artifact_root()]
    sys.stdout.flush()
    # Become the MLflow server (no wrapper process): Ctrl+C and SIGTERM reach it directly, and stopping
    # `handleval ui` never leaves an orphaned server with its workers behind.
    os.execv(sys.executable, cmd)


def _comps_text(listed: str) -> str:
    """The comparable sales of one row on one line (``value --comps``), from the JSON array of ``value_many``."""
    import json

    listed = [f"{shown(c['name'])} ${c['price_usd']:,.0f}, {c['similarity']:.0%} similar, "
              f"{c['sold_at'] or 'undated'}" for c in json.loads(listed)]
    return " · ".join(listed) or "no earlier sales of similar names"


def _as_of_option(text: str) -> str:
    """``--as-of`` as the valuation time (:func:`handleval.price.predict.valuation_time`), '' for the default;
    what is no date or is after today is refused before the model loads."""
    from handleval.price.predict import valuation_time

    text = text.strip()
    if not text:
        return ""
    try:
        return valuation_time(text).isoformat()
    except ValueError as exc:
        raise HandlevalError(f"--as-of {exc}") from None


def pd_frame(handles: list[str], platform: str, venue: str = "", as_of: str = "") -> Any:
    """The value command's input table (pandas is imported lazily to keep the CLI start fast)."""
    import pandas as pd

    return pd.DataFrame({"handle": pd.Series(handles, dtype=object), "platform": platform, "venue": venue,
                         "as_of": as_of})  # object: an argument of bytes no UTF-8 reads ('\udcff') is a row error


for _typer in (app, data_app, train_app):  # every command, also those added above by others: readable --help
    for _info in _typer.registered_commands:
        if _info.cls in (None, TyperCommand):
            _info.cls = ReadableCommand


def run() -> None:  # pragma: no cover - console entry point alias
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())

