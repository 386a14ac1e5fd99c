"""Loaders that turn every sales set under ``sales/`` into one canonical table.

Canonical columns: ``handle, platform, suffix, venue, price, currency, price_usd, sold_at, source``.
``handle`` is the bare name that is priced (username, a domain's second-level label, an e-mail local part);
``suffix`` is the TLD or mail provider; ``sold_at`` is a naive timestamp (source time zones are unknown, and a
day of error does not matter for a time split). Each row is validated with the platform's handle rules;
rows that fail are counted with a reason in the :class:`LoadReport`, never dropped silently.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from handleval.config import MarketsConfig, data_dir, load_markets
from handleval.data.report import LoadReport, SourceReport
from handleval.errors import DataFormatError, InvalidHandle
from handleval.handles import parse_handle, split_canonical

SALES_COLUMNS = ["handle", "platform", "suffix", "venue", "price", "currency", "price_usd", "sold_at", "source"]


def _read_csv(path: Path, **kwargs: object) -> pd.DataFrame:
    if not path.is_file():
        raise DataFormatError(f"sales file missing: {path}")
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, **kwargs)
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


LOADERS: dict[str, Callable[[Path], pd.DataFrame]] = {
    "fragment_telegram": _fragment,
    "namebio_domains": _namebio,
    "dash_email": _dash,
    "ens_legacy_auction": _ens,
    "web3_names_small": _web3,
}
DEFAULT_SOURCES = ("fragment_telegram", "namebio_domains", "dash_email")


def _canonicalise(raw: pd.DataFrame, source: str, markets: MarketsConfig, report: SourceReport) -> pd.DataFrame:
    """Validate names, prices and dates; count every rejection."""
    spec = markets.sources[source]
    report.rows_read = len(raw)
    price = pd.to_numeric(raw["price"].str.replace(",", "", regex=False), errors="coerce")
    sold_at = pd.to_datetime(raw["sold_at"].where(raw["sold_at"] != ""), errors="coerce", format="mixed")
    currency = raw["currency"] if "currency" in raw else pd.Series(spec.currency, index=raw.index)

    keep = np.ones(len(raw), dtype=bool)
    bad_price = ~(np.isfinite(price) & (price > 0))
    report.reject("price missing, not a number or not positive", int(bad_price.sum()))
    keep &= ~bad_price.to_numpy()
    bad_date = sold_at.isna() & (raw["sold_at"] != "")
    report.reject("sale date cannot be parsed", int((bad_date & keep).sum()))
    keep &= ~bad_date.to_numpy()
    if source == "ens_legacy_auction":
        report.notes.append("sold_at unknown: the file's date is an expiry deadline, not the auction date")

    # Names already in canonical form are only split; the rest go through the parser, which words the rejections.
    values = raw["raw"].tolist()
    canonical, names, suffixes = split_canonical(values, spec.platform)
    for i in np.flatnonzero(keep & ~canonical).tolist():
        try:
            handle = parse_handle(values[i], spec.platform)
        except InvalidHandle as exc:
            report.reject(f"invalid {spec.platform} handle: {exc.reason}")
            keep[i] = False
            continue
        names[i], suffixes[i] = handle.name, handle.suffix

    rates = currency.str.upper().map({k: v.usd_per_unit for k, v in markets.rates.items()})
    unknown = rates.isna() & keep
    report.reject("currency has no USD rate in markets config", int(unknown.sum()))
    keep &= ~unknown.to_numpy()
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
    })[keep].reset_index(drop=True)
    report.rows_loaded = len(out)
    return out


def load_sales(
    sources: list[str] | tuple[str, ...] | None = None,
    markets: MarketsConfig | None = None,
    root: Path | None = None,
) -> tuple[pd.DataFrame, LoadReport]:
    """Load sales sets (default: Fragment, NameBio, DASH) into the canonical table, sorted by time per source."""
    markets = markets or load_markets()
    root = (root or data_dir()) / "sales"
    sources = list(sources or DEFAULT_SOURCES)
    report = LoadReport()
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
    table = pd.concat(frames, ignore_index=True)
    table["sold_at"] = pd.to_datetime(table["sold_at"])
    return table[SALES_COLUMNS], report


def source_files(source: str, root: Path | None = None) -> list[Path]:
    """The data files a sales source reads (for fingerprints in manifests)."""
    folder = (root or data_dir()) / "sales" / source
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name != "SOURCE.txt")


def source_note(folder: Path) -> dict[str, str]:
    """Title and licence lines of a folder's SOURCE.txt, for ``handleval data list``."""
    path = folder / "SOURCE.txt"
    if not path.is_file():
        return {"title": "", "licence": "no SOURCE.txt"}
    text = path.read_text(encoding="utf-8", errors="replace")
    title = text.splitlines()[0].removeprefix("DATASET:").strip() if text else ""
    match = re.search(r"^(?:Licen[cs]e|LICEN[CS]E)[^:]*:\s*(.+)$", text, re.MULTILINE)
    licence = match.group(1).strip() if match else "not stated"
    short = re.split(r"(?<=[.;)])\s", licence, maxsplit=1)[0]
    return {"title": title, "licence": short if len(short) <= 90 else short[:87] + "…", "licence_full": licence}
