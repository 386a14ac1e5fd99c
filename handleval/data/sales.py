"""Loaders that turn every sales set under ``sales/`` into one canonical table.

Canonical columns: ``handle, platform, suffix, venue, price, currency, price_usd, sold_at, source``.
``handle`` is the bare name that is priced (username, a domain's second-level label, an e-mail local part);
``suffix`` is the TLD or mail provider; ``weight`` is the row's sampling weight (1 except in sets that
over-sample the top, see :func:`_namebio_2015_2020`); ``sold_at`` is a naive timestamp (source time zones are
unknown, and a day of error does not matter for a time split). Each row is validated with the platform's handle rules;
rows that fail are counted with a reason in the :class:`LoadReport`, never dropped silently.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from handleval._dates import NUMERIC_DATE, numeric_date_orders
from handleval.config import ExtraSource, MarketsConfig, MarketSource, data_dir, load_markets
from handleval.data.report import LoadReport, SourceReport
from handleval.errors import DataFormatError, InvalidHandle, repeated
from handleval.handles import (
    PLATFORMS,
    SUFFIX_SEPARATOR,
    parse_handle,
    platform_name,
    split_canonical,
    unknown_platform,
)

SALES_COLUMNS = ["handle", "platform", "suffix", "venue", "price", "currency", "price_usd", "sold_at", "source",
                 "weight"]


def _read_csv(path: Path, **kwargs: object) -> pd.DataFrame:
    if not path.is_file():
        raise DataFormatError(f"sales file missing: {path}")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, **kwargs)
        if not isinstance(frame.index, pd.RangeIndex):  # pandas made the first column an index: one field too many
            raise DataFormatError(f"{path}: line 2 has more fields than the header (a comma at the end of each row?); "
                                  "remove the extra fields or name them in the header")
        return frame
    except pd.errors.EmptyDataError as exc:
        raise DataFormatError(f"{path} is empty: no header, no rows") from exc
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataFormatError(f"{path} cannot be read as CSV: {exc}") from exc


def _require(df: pd.DataFrame, path: Path, columns: list[str]) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DataFormatError(f"{path} lacks column(s) {missing}; found {list(df.columns)}")


def _fragment(folder: Path) -> pd.DataFrame:
    """Fragment usernames. Undated rows carry a window from their file name; the window's end is taken."""
    path = folder / "fragment_sold_merged.csv"
    df = _read_csv(path)
    _require(df, path, ["username", "price_ton", "sale_datetime_utc_or_local", "date_precision"])
    when = df["sale_datetime_utc_or_local"].where(df["sale_datetime_utc_or_local"] != "")
    window_end = df["date_precision"].str.extract(r"window \d{4}-\d{2}-\d{2}\.\.(\d{4}-\d{2}-\d{2})")[0]
    return pd.DataFrame({"raw": df["username"], "price": df["price_ton"], "sold_at": when.fillna(window_end)})


def _namebio(folder: Path) -> pd.DataFrame:
    path = folder / "namebio_sales.csv"
    df = _read_csv(path)
    _require(df, path, ["Domain", "Price", "Date", "Venue"])
    return pd.DataFrame({"raw": df["Domain"], "price": df["Price"], "sold_at": df["Date"], "venue": df["Venue"]})


def _dash(folder: Path) -> pd.DataFrame:
    path = folder / "dash_ea_flat.csv"
    df = _read_csv(path)
    _require(df, path, ["asset", "price_cny", "date"])
    return pd.DataFrame({"raw": df["asset"], "price": df["price_cny"], "sold_at": df["date"]})


def _ens(folder: Path) -> pd.DataFrame:
    """ENS legacy auction deposits: the file's date is an expiry deadline, not the auction date, so
    ``sold_at`` is unknown (NaT) and such rows can only ever be training rows."""
    path = folder / "raw" / "expiringnames.csv"
    df = _read_csv(path, header=None, names=["label", "expiry_date", "locked_value_eth"])
    return pd.DataFrame({"raw": df["label"] + ".eth", "price": df["locked_value_eth"], "sold_at": ""})


def _web3(folder: Path) -> pd.DataFrame:
    path = folder / "web3_name_sales_flat.csv"
    df = _read_csv(path)
    _require(df, path, ["name", "token_amount", "token_symbol", "event_timestamp_utc"])
    return pd.DataFrame({"raw": df["name"], "price": df["token_amount"], "sold_at": df["event_timestamp_utc"],
                         "currency": df["token_symbol"]})


def _dnjournal(folder: Path) -> pd.DataFrame:
    """DN Journal's reported sales (the high end). Year-end charts and the 2015 list are dated by year only: the
    year's last day is taken, as for Fragment's windows; the bi-weekly reports are undated (training only)."""
    path = folder / "dnjournal_sales.csv"
    df = _read_csv(path)
    _require(df, path, ["domain", "price", "date", "list"])
    year = df["date"].str.extract(r"^(\d{4})(?:\.0)?$")[0]  # "2015" or "2015.0": the year only
    sold_at = df["date"].where(year.isna(), year + "-12-31")
    return pd.DataFrame({"raw": df["domain"], "price": df["price"], "sold_at": sold_at, "venue": "reported"})


#: namebio_2015_2020 stacks the complete tail of sales at or above this price on a uniform random sample.
NAMEBIO_TAIL_USD = 5000.0


#: A price whose commas group thousands (``1,234.50``); a comma elsewhere (``183,00``, ``4.198,00``) is no number.
_GROUPED = re.compile(r"\s*[-+]?\d{1,3}(,\d{3})+(\.\d*)?\s*")


def parse_prices(text: pd.Series) -> pd.Series:
    """Prices as numbers (NaN where a cell is no number): commas that group thousands are dropped, and a cell with
    any other comma is no number rather than a price 100 times too high (a decimal comma)."""
    text = text.astype("string")
    commas = text.str.contains(",", regex=False).fillna(False)
    grouped = text.str.fullmatch(_GROUPED).fillna(False)
    cleaned = text.where(~commas | grouped).str.replace(",", "", regex=False)
    numbers = pd.to_numeric(cleaned, errors="coerce")
    return pd.Series(numbers.to_numpy(dtype="float64", na_value=np.nan), index=text.index)


def _namebio_2015_2020(folder: Path) -> pd.DataFrame:
    """Domain sales 2015-2020: the complete tail of $5,000+ sales stacked on a uniform random sample.

    Weighted like the market they came from: a random-sample row stands for itself (weight 1); the tail is
    complete, so its rows get the sampling rate the random sample has in that range (random rows of $5,000+ over
    tail rows, ~0.05), and random rows of $5,000+ are already in the tail (rejected as such in the load report)."""
    path = folder / "namebio_2015_2020.csv"
    df = _read_csv(path)
    _require(df, path, ["date", "domain", "price", "venue", "sample"])
    price = parse_prices(df["price"])
    tail = df["sample"] == "all_at_least_5000"
    random_top = (df["sample"] == "random_15000") & (price >= NAMEBIO_TAIL_USD)
    weight = np.where(tail, random_top.sum() / max(int(tail.sum()), 1), 1.0)
    out = pd.DataFrame({"raw": df["domain"], "price": df["price"], "sold_at": df["date"], "venue": df["venue"],
                        "weight": weight})
    out["reject"] = np.where(random_top, "random-sample sale of $5,000+: already in the complete tail", None)
    return out


LOADERS: dict[str, Callable[[Path], pd.DataFrame]] = {
    "fragment_telegram": _fragment,
    "namebio_domains": _namebio,
    "dash_email": _dash,
    "ens_legacy_auction": _ens,
    "web3_names_small": _web3,
    "dnjournal_domains": _dnjournal,
    "namebio_2015_2020": _namebio_2015_2020,
}
DEFAULT_SOURCES = ("fragment_telegram", "namebio_domains", "dash_email", "namebio_2015_2020", "dnjournal_domains")


def _canonicalise(raw: pd.DataFrame, source: str, markets: MarketsConfig, report: SourceReport,
                  spec: MarketSource | None = None) -> pd.DataFrame:
    """Validate names, prices and dates; count every rejection (with the first rows' positions: ``raw``'s index).
    ``spec`` (platform, currency, venue) defaults to the source's entry in the markets config."""
    spec = spec or markets.sources[source]
    report.rows_read = len(raw)
    price = parse_prices(raw["price"])
    sold_at = pd.to_datetime(raw["sold_at"].where(raw["sold_at"] != ""), errors="coerce", format="mixed")
    currency = raw["currency"] if "currency" in raw else pd.Series(spec.currency, index=raw.index)

    keep = np.ones(len(raw), dtype=bool)
    if "reject" in raw:  # rows the loader itself set aside, with its reason
        for reason, count in raw["reject"].dropna().value_counts().items():
            report.reject(str(reason), int(count), raw.index[(raw["reject"] == reason).to_numpy(dtype=bool)])
        keep &= raw["reject"].isna().to_numpy()
    bad_price = ~(np.isfinite(price) & (price > 0)).to_numpy(dtype=bool)
    report.reject("price missing, not a number or not positive", int(bad_price.sum()), raw.index[bad_price])
    keep &= ~bad_price
    bad_date = (sold_at.isna() & (raw["sold_at"] != "")).to_numpy(dtype=bool) & keep
    report.reject("sale date cannot be parsed", int(bad_date.sum()), raw.index[bad_date])
    keep &= ~bad_date
    if source == "ens_legacy_auction":
        report.notes.append("sold_at unknown: the file's date is an expiry deadline, not the auction date")

    # Names already in canonical form are only split; the rest go through the parser, which words the rejections.
    values = raw["raw"].tolist()
    canonical, names, suffixes = split_canonical(values, spec.platform)
    for i in np.flatnonzero(keep & ~canonical).tolist():
        try:
            handle = parse_handle(values[i], spec.platform)
        except InvalidHandle as exc:
            report.reject(f"invalid {spec.platform} handle: {exc.reason}", rows=raw.index[[i]])
            keep[i] = False
            continue
        names[i], suffixes[i] = handle.name, handle.suffix

    rates = currency.str.upper().map({k: v.usd_per_unit for k, v in markets.rates.items()})
    unknown = rates.isna().to_numpy(dtype=bool) & keep
    report.reject("currency has no USD rate in markets config", int(unknown.sum()), raw.index[unknown])
    keep &= ~unknown
    venue = raw["venue"].str.strip().str.lower() if "venue" in raw else pd.Series(spec.venue or "", index=raw.index)
    out = pd.DataFrame({
        "handle": names,
        "platform": spec.platform,
        "suffix": suffixes,
        "venue": venue.replace("", spec.venue or "unknown"),
        "price": price,
        "currency": currency.str.upper(),
        "price_usd": price * rates,
        "sold_at": sold_at,
        "source": source,
        "weight": pd.to_numeric(raw["weight"]) if "weight" in raw else 1.0,
    })[keep].reset_index(drop=True)
    report.rows_loaded = len(out)
    return out


def load_sales(
    sources: list[str] | tuple[str, ...] | None = None,
    markets: MarketsConfig | None = None,
    root: Path | None = None,
    extra: list[ExtraSource] | tuple[ExtraSource, ...] = (),
) -> tuple[pd.DataFrame, LoadReport]:
    """Load sales sets (default: Fragment, NameBio, DASH) into the canonical table, sorted by time per source;
    ``extra``: sales ledgers of your own (:func:`load_ledger`), after them."""
    markets = markets or load_markets()
    root = (root or data_dir()) / "sales"
    sources = list(DEFAULT_SOURCES if sources is None else sources)  # [] is none (a config of ledgers alone)
    report = LoadReport()
    labels = [e.label for e in extra]
    taken = {*sources, *LOADERS, *markets.sources, "all"}  # 'all': the metrics' row of every market together
    clash = sorted({*repeated(labels), *(x for x in labels if x in taken)})
    if clash:
        raise DataFormatError(f"sales source name(s) {clash} taken (used twice, a public set's, or 'all', the "
                              "metrics' row of every market): give each ledger its own `name` (extra_sources in the "
                              "price config)")
    # Ledgers first: a mistake in a file of your own is found before the data directory is read.
    ledgers = [load_ledger(e, markets, report.source(e.label)) for e in extra]
    frames = []
    for source in sources:
        if source not in LOADERS:
            raise DataFormatError(f"unknown sales source {source!r}; known: {', '.join(LOADERS)}")
        if source not in markets.sources:
            raise DataFormatError(f"sales source {source!r} has no entry under 'sources' in the markets config")
        folder = root / source
        if not folder.is_dir():
            raise DataFormatError(f"sales folder missing: {folder}")
        frames.append(_canonicalise(LOADERS[source](folder), source, markets, report.source(source)))
    public = []
    if frames:
        table = pd.concat(frames, ignore_index=True)
        table["sold_at"] = pd.to_datetime(table["sold_at"])
        public.append(_one_row_per_sale(table, report))
    if not public and not ledgers:
        raise DataFormatError("no sales source and no sales ledger given: nothing to load")
    # A ledger's rows are the user's own sales: never de-duplicated against the public sets (nor among themselves:
    # the same name at the same price twice is a resale).
    table = pd.concat([*public, *ledgers], ignore_index=True)
    table["sold_at"] = pd.to_datetime(table["sold_at"])
    report.sources = {name: report.sources[name] for name in [*sources, *labels]}  # in the order listed
    return table[SALES_COLUMNS], report


def _one_row_per_sale(table: pd.DataFrame, report: LoadReport) -> pd.DataFrame:
    """A sale that several sources list (same platform, name, suffix and USD price) is loaded once, from the first
    source listed: the reported-sales set repeats venue sales, and a repeat would pose as a resale."""
    key = table[["platform", "handle", "suffix"]].assign(usd=table["price_usd"].round(0))
    first_source = table.groupby([*key.columns.drop("usd"), key["usd"]], sort=False)["source"].transform("first")
    again = (table["source"] != first_source).to_numpy()
    for (source, first), count in table[again].groupby(["source", first_source[again]]).size().items():
        report.sources[source].reject(f"same sale already loaded from {first}", int(count))
        report.sources[source].rows_loaded -= int(count)
    return table[~again].reset_index(drop=True)


#: Columns a sales ledger must have; ``platform`` and ``currency`` may instead be given for the whole file.
LEDGER_COLUMNS = ("handle", "price", "currency", "sold_at")


def _cell_text(value: object) -> str:
    """A Parquet cell as the CSV reader would give it: missing is ""."""
    missing = value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and value != value)
    return "" if missing else str(value)


def _read_table(path: Path) -> pd.DataFrame:
    """A ``.csv`` or ``.parquet`` file as text columns ("" where a cell is missing), as the loaders read CSV."""
    kind = path.suffix.lower()
    if kind not in (".csv", ".parquet", ".pq"):
        raise DataFormatError(f"{path}: a sales ledger is a .csv or .parquet file")
    if kind == ".csv":
        return _read_csv(path)
    if not path.is_file():
        raise DataFormatError(f"sales file missing: {path}")
    try:
        frame = pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise DataFormatError(f"{path} cannot be read as Parquet: {exc}") from exc
    text = {}
    for name, col in frame.items():
        if isinstance(col.dtype, pd.DatetimeTZDtype):
            col = col.dt.tz_convert(None)
        if pd.api.types.is_datetime64_any_dtype(col):
            text[str(name)] = col.dt.strftime("%Y-%m-%dT%H:%M:%S").fillna("")
        else:
            text[str(name)] = col.map(_cell_text).astype(str)
    return pd.DataFrame(text, index=frame.index)


def _ledger_dates(when: pd.Series, path: Path, report: SourceReport) -> pd.Series:
    """``sold_at`` text as naive UTC times. A date written with day and month as numbers (``03/12/2024``) is read
    day-first where a date of the file has a first number above 12 (``13/02/2024``), else month-first (with a note
    when no date of the file tells); a file whose dates are written both ways (``13/02/2024`` and ``02/13/2024``)
    is refused."""
    day_first, month_first, ambiguous = numeric_date_orders(when)
    if day_first.any() and month_first.any():
        line = lambda mask: int(mask.to_numpy().argmax()) + 2  # noqa: E731 - the header is line 1
        raise DataFormatError(f"{path}: sold_at is written day-first (line {line(day_first)}: "
                              f"{when[day_first].iloc[0]!r}) and month-first (line {line(month_first)}: "
                              f"{when[month_first].iloc[0]!r}); write the dates as YYYY-MM-DD")
    if ambiguous.any() and not day_first.any() and not month_first.any():
        report.notes.append(f"{int(ambiguous.sum())} sold_at dates like {when[ambiguous].iloc[0]!r} read month-first "
                            "(no date of the file has a day or a month above 12): write YYYY-MM-DD to be sure")
    parsed = pd.to_datetime(when.where(when != ""), errors="coerce", format="mixed", utc=True)
    if day_first.any():  # only those dates: dayfirst would read an ISO 2024-12-03 as 12 March
        rows = when.str.match(NUMERIC_DATE.pattern).fillna(False).astype(bool)
        parsed[rows] = pd.to_datetime(when[rows], errors="coerce", format="mixed", utc=True, dayfirst=True)
    return parsed.dt.tz_convert(None)


def load_ledger(extra: ExtraSource, markets: MarketsConfig, report: SourceReport) -> pd.DataFrame:
    """A sales ledger of your own (CSV or Parquet) as canonical rows, validated like every source.

    Columns ``handle, price, currency, sold_at`` and optional ``platform, suffix, venue``; ``extra.platform``,
    ``extra.currency`` and ``extra.venue`` fill a column that is absent or a blank cell. A file that cannot be read
    or lacks a column is an error; so is one whose rows are mostly unusable (more than the share ``data check``
    tolerates) or none usable. Otherwise an unusable row (bad price, date, currency, platform or handle) is
    rejected and counted in ``report`` with its reason and first line numbers, never dropped silently.
    Blank dates are allowed: such sales train, but are never test rows or comparables of dated sales."""
    from handleval.data.catalog import MAX_REJECTED_SHARE

    path = Path(extra.path)
    frame = _read_table(path)
    defaults = {"platform": extra.platform, "currency": extra.currency, "venue": extra.venue}
    missing = [c for c in (*LEDGER_COLUMNS, "platform") if c not in frame.columns and not defaults.get(c)]
    if missing:
        hint = " (or give it for the whole file: --sales-platform / --sales-currency, or platform: / currency: in " \
               "extra_sources)" if set(missing) & {"platform", "currency"} else ""
        raise DataFormatError(f"{path} lacks column(s) {missing}{hint}; found {list(frame.columns)}")
    if frame.empty:
        raise DataFormatError(f"{path} has no sales rows")
    why = unknown_platform(platform_name(extra.platform)) if extra.platform else None
    if why:
        raise DataFormatError(f"{path}: {why}")
    if extra.currency and extra.currency.strip().upper() not in markets.rates:
        raise DataFormatError(f"{path}: currency {extra.currency!r} has no USD rate in the markets config; known: "
                              f"{', '.join(markets.rates)}")

    def column(name: str) -> pd.Series:
        given = frame[name].str.strip() if name in frame.columns else pd.Series("", index=frame.index, dtype=str)
        return given.where(given != "", (defaults.get(name) or "").strip())

    platform = column("platform").map(lambda p: platform_name(p, ""))  # 'Twitter' is x
    when = column("sold_at")
    parsed = _ledger_dates(when, path, report)
    raw = pd.DataFrame({
        "raw": frame["handle"],
        "price": column("price"),
        "currency": column("currency").str.upper(),
        # Offsets become UTC, naive like every sold_at; an unparseable date stays as written to be rejected.
        "sold_at": parsed.dt.strftime("%Y-%m-%dT%H:%M:%S").where(parsed.notna(), when),
        "venue": column("venue"),
        # a sale cannot be later than the run: a typo (2031) would make every valuation "before the newest sale"
        "reject": pd.Series(np.where(parsed > pd.Timestamp.now("UTC").tz_localize(None) + pd.Timedelta(days=1),
                                     "sale dated after today", None), index=frame.index, dtype=object),
    })
    suffix = column("suffix").str.lstrip(".@").str.lower()
    report.rows_read = len(raw)
    frames = []
    for plat, rows in raw.groupby(platform, sort=True).groups.items():
        if plat not in PLATFORMS:
            why = "platform missing" if plat == "" else f"unknown platform {plat!r}"
            report.reject(f"{why} (one of {', '.join(PLATFORMS)})", len(rows), rows)
            continue
        part = raw.loc[rows]
        separator = SUFFIX_SEPARATOR.get(str(plat))
        if separator:  # a name and its suffix in two columns, as in predict's input
            joined = ~part["raw"].str.contains(separator, regex=False) & (suffix.loc[rows] != "")
            part = part.assign(raw=part["raw"].where(~joined, part["raw"] + separator + suffix.loc[rows]))
        sub = SourceReport(extra.label)
        spec = MarketSource(platform=str(plat), currency=extra.currency or "USD", venue=extra.venue)
        frames.append(_canonicalise(part, extra.label, markets, sub, spec))
        for reason, count in sub.rejected.items():
            report.reject(reason, count, sub.examples.get(reason, []))
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=SALES_COLUMNS)
    report.rows_loaded = len(table)
    undated = int(table["sold_at"].isna().sum())
    if undated:
        report.notes.append(f"{undated:,} undated sales: training rows only")
    if not len(table) or report.rows_rejected > MAX_REJECTED_SHARE * report.rows_read:
        raise DataFormatError(f"{path}: {report.rows_rejected:,} of {report.rows_read:,} rows cannot be used "
                              f"(more than {MAX_REJECTED_SHARE:.0%}): {'; '.join(rejected_lines(report, path))}")
    return table[SALES_COLUMNS]


def rejected_lines(report: SourceReport, path: str | Path) -> list[str]:
    """Each rejection reason of a ledger with its count and first line (CSV) or row (Parquet) numbers."""
    line, first = ("line", 2) if Path(path).suffix.lower() == ".csv" else ("row", 1)
    return [f"{count:,} × {reason} ({line} {', '.join(str(r + first) for r in report.examples.get(reason, []))}"
            f"{', …' if count > 3 else ''})" for reason, count in report.rejected.most_common()]


def source_files(source: str, root: Path | None = None) -> list[Path]:
    """The data files a sales source reads (for fingerprints in manifests)."""
    folder = (root or data_dir()) / "sales" / source
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name != "SOURCE.txt")


def source_note(folder: Path) -> dict[str, str]:
    """Title and licence of a folder's SOURCE.txt: ``licence`` whole, with its continuation lines (``handleval
    data list`` and the model card quote it)."""
    path = folder / "SOURCE.txt"
    if not path.is_file():
        return {"title": "", "licence": "no SOURCE.txt"}
    text = path.read_text(encoding="utf-8", errors="replace")
    title = text.splitlines()[0].removeprefix("DATASET:").strip() if text else ""
    match = re.search(r"^(?:Licen[cs]e|LICEN[CS]E)[^:]*:\s*(.+)((?:\n[ \t]+\S.*)*)", text, re.MULTILINE)
    licence = match.group(1).strip() if match else "not stated"
    whole = " ".join([licence, *(line.strip() for line in match.group(2).splitlines() if line.strip())]) \
        if match else licence  # its indented continuation lines too: the restriction is often the last words
    return {"title": title, "licence": whole}
