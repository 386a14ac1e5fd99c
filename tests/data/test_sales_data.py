"""The sales loaders against the real files: counts, USD conversion, dates, the load report."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from handleval.config import load_markets
from handleval.data import SALES_COLUMNS, load_sales
from handleval.data.sales import LOADERS


def _csv_rows(path) -> int:
    return len(pd.read_csv(path, dtype=str))


def test_default_table_has_canonical_columns_and_markets(sales_table):
    table, report = sales_table
    assert list(table.columns) == SALES_COLUMNS
    assert set(table["source"]) == {"fragment_telegram", "namebio_domains", "dash_email", "namebio_2015_2020",
                                    "dnjournal_domains"}
    assert set(table["platform"]) == {"telegram", "domain", "email"}
    assert report.ok


def test_every_row_read_is_loaded_or_rejected_with_reason(sales_table, data_root):
    _, report = sales_table
    expected = {
        "fragment_telegram": _csv_rows(data_root / "sales/fragment_telegram/fragment_sold_merged.csv"),
        "namebio_domains": _csv_rows(data_root / "sales/namebio_domains/namebio_sales.csv"),
        "dash_email": _csv_rows(data_root / "sales/dash_email/dash_ea_flat.csv"),
    }
    for source, rows in expected.items():
        s = report.sources[source]
        assert s.rows_read == rows
        assert s.rows_loaded + s.rows_rejected == rows
        assert all(reason and count > 0 for reason, count in s.rejected.items())
    # SOURCE.txt counts: 3,403 Fragment, 8,225 NameBio, 17,713 DASH; few rejections in scraped data.
    assert report.sources["fragment_telegram"].rows_loaded == 3403
    assert report.sources["namebio_domains"].rows_rejected <= 5
    assert report.sources["dash_email"].rows_rejected < 0.01 * 17713


def test_usd_conversion_uses_markets_config(sales_table):
    table, _ = sales_table
    markets = load_markets()
    for currency, group in table.groupby("currency"):
        np.testing.assert_allclose(group["price_usd"], group["price"] * markets.usd_rate(currency))
    namebio = table[table["source"] == "namebio_domains"]
    assert (namebio["price"] == namebio["price_usd"]).all()
    assert namebio["price_usd"].min() >= 100  # NameBio's floor
    dash = table[table["source"] == "dash_email"]
    assert 8 <= dash["price"].median() <= 14  # SOURCE.txt: median 11 CNY


def test_dates_parsed_and_within_documented_windows(sales_table):
    table, _ = sales_table
    undated = table["sold_at"].isna()
    assert set(table.loc[undated, "source"]) == {"dnjournal_domains"}  # DN Journal's bi-weekly reports only
    ranges = table.groupby("source")["sold_at"].agg(["min", "max"])
    assert ranges.loc["fragment_telegram", "min"] >= pd.Timestamp("2022-11-27")
    assert ranges.loc["fragment_telegram", "max"] < pd.Timestamp("2025-03-14")  # sealed from 03-14 on
    assert ranges.loc["namebio_domains", "max"] <= pd.Timestamp("2024-10-07")
    assert ranges.loc["dash_email", "min"] == pd.Timestamp("2011-01-23")
    assert ranges.loc["dash_email", "max"] <= pd.Timestamp("2021-06-30")


def test_handles_are_bare_names_with_suffix(sales_table):
    table, _ = sales_table
    row = table[(table["source"] == "namebio_domains") & (table["handle"] == "quran")].iloc[0]
    assert (row["suffix"], row["venue"], row["price_usd"]) == ("ai", "dynadot", 37001)
    email = table[table["source"] == "dash_email"]
    assert (email["suffix"] == "163.com").sum() > 9000
    assert not table["handle"].str.contains("@").any()


def test_optional_markets_load_with_notes():
    table, report = load_sales(["ens_legacy_auction", "web3_names_small"])
    assert report.sources["ens_legacy_auction"].rows_loaded == 23924
    assert table.loc[table["source"] == "ens_legacy_auction", "sold_at"].isna().all()
    assert any("expiry" in n for n in report.sources["ens_legacy_auction"].notes)
    web3 = table[table["source"] == "web3_names_small"]
    assert set(web3["currency"]) <= {"ETH", "WETH"} and web3["sold_at"].notna().all()


def test_malformed_source_is_rejected_with_counts(tmp_path):
    sales = tmp_path / "sales" / "namebio_domains"
    sales.mkdir(parents=True)
    (sales / "namebio_sales.csv").write_text(
        "Domain,Price,Date,Venue\npizza.com,5000,2024-10-01,Sedo\n-bad-.com,100,2024-10-01,Sedo\n"
        "ok.net,abc,2024-10-01,Sedo\nfine.org,300,not-a-date,Sedo\n"
    )
    table, report = load_sales(["namebio_domains"], root=tmp_path)
    s = report.sources["namebio_domains"]
    assert (s.rows_read, s.rows_loaded, s.rows_rejected) == (4, 1, 3)
    assert table["handle"].tolist() == ["pizza"]
    assert {"price missing, not a number or not positive", "sale date cannot be parsed"} <= set(s.rejected)


def test_missing_column_is_one_clear_error(tmp_path):
    from handleval.errors import DataFormatError

    sales = tmp_path / "sales" / "namebio_domains"
    sales.mkdir(parents=True)
    (sales / "namebio_sales.csv").write_text("Name,Price\npizza.com,5000\n")
    with pytest.raises(DataFormatError, match="lacks column"):
        load_sales(["namebio_domains"], root=tmp_path)


def test_every_loader_has_a_market_entry():
    assert set(LOADERS) <= set(load_markets().sources)


def test_canonical_fast_path_loads_what_the_parser_loads(monkeypatch):
    """Sales names already canonical skip parse_handle; every table and report must equal the row-by-row load."""
    import handleval.data.sales as sales

    sources = list(LOADERS)
    fast = [load_sales([s]) for s in sources]
    monkeypatch.setattr(sales, "split_canonical",
                        lambda values, platform: (np.zeros(len(values), dtype=bool), [""] * len(values),
                                                  [""] * len(values)))
    for source, (table, report) in zip(sources, fast, strict=True):
        slow_table, slow_report = load_sales([source])
        pd.testing.assert_frame_equal(table, slow_table, check_exact=True)
        assert report == slow_report
        assert list(report.sources[source].rejected.items()) == list(slow_report.sources[source].rejected.items())


def test_high_end_sets_load_with_venue_weights_and_one_row_per_sale(sales_table, data_root):
    table, report = sales_table
    raw = pd.read_csv(data_root / "sales/namebio_2015_2020/namebio_2015_2020.csv")
    tail = (raw["sample"] == "all_at_least_5000").sum()
    random_top = ((raw["sample"] == "random_15000") & (raw["price"] >= 5000)).sum()
    nb = table[table["source"] == "namebio_2015_2020"]
    rep = report.sources["namebio_2015_2020"]
    assert rep.rows_read == len(raw) and rep.rows_loaded + rep.rows_rejected == len(raw)
    assert rep.rejected["random-sample sale of $5,000+: already in the complete tail"] == random_top
    np.testing.assert_allclose(nb.loc[nb["price_usd"] >= 5000, "weight"], random_top / tail)
    assert (nb.loc[nb["price_usd"] < 5000, "weight"] == 1).all()
    dn = table[table["source"] == "dnjournal_domains"]
    assert (dn["venue"] == "reported").all() and (dn["weight"] == 1).all()
    assert dn["sold_at"].isna().sum() > 10_000  # bi-weekly reports: undated
    dated = dn["sold_at"].dropna()
    assert dated.dt.month.eq(12).all() and dated.dt.day.eq(31).all()  # year-end charts, the 2015 list
    # A sale listed by two sources is loaded once (and counted where it was left out).
    domains = table[table["platform"] == "domain"].assign(usd=lambda d: d["price_usd"].round(0))
    same = domains[domains.duplicated(["handle", "suffix", "usd"], keep=False)]
    assert same.groupby(["handle", "suffix", "usd"])["source"].nunique().max() == 1
    again = sum(count for r in report.sources.values() for reason, count in r.rejected.items()
                if reason.startswith("same sale already loaded"))
    assert again > 0
    assert report.ok
