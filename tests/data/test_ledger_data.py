"""A sales ledger of your own (CSV or Parquet) as a sales source: canonical rows, defaults, the load report, clear
errors for bad files, no de-duplication against the public sets, and comparables that never see a sale's own price.
Every ledger here is made up in the test."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from handleval.config import ExtraSource, load_markets
from handleval.data import SALES_COLUMNS, load_sales
from handleval.data.report import SourceReport
from handleval.data.sales import load_ledger, rejected_lines
from handleval.errors import ConfigError, DataFormatError
from tests._helpers import NO_WRAP

# Made up: one row per platform, a handle in canonical and in raw form, a name and suffix in two columns, a time
# zone offset, a comma in a price, a blank venue.
LEDGER = pd.DataFrame({
    "handle": ["@Pizza", "burger", "pizza", "li.wei", "coffee"],
    "price": ["12,000", "1500.5", "900", "40", "55"],
    "currency": ["USD", "usd", "USD", "CNY", "TON"],
    "sold_at": ["2024-03-01", "2024-03-05T10:00:00+02:00", "2024-04-01", "2024-04-02 08:30", "2024-05-01"],
    "platform": ["x", "x", "domain", "email", "telegram"],
    "suffix": ["", "", "com", "163.com", ""],
    "venue": ["", "broker", "sedo", "", ""],
})


def _load(path, **given) -> tuple[pd.DataFrame, SourceReport]:
    report = SourceReport("mine")
    return load_ledger(ExtraSource(path=str(path), **given), load_markets(), report), report


def _write(tmp_path, frame: pd.DataFrame, name: str = "ledger.csv"):
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def test_csv_and_parquet_ledgers_load_the_same_canonical_rows(tmp_path):
    csv, report = _load(_write(tmp_path, LEDGER))
    typed = LEDGER.assign(price=[12000.0, 1500.5, 900.0, 40.0, 55.0],
                          sold_at=pd.to_datetime(LEDGER["sold_at"], format="mixed", utc=True))
    typed.to_parquet(tmp_path / "ledger.parquet")
    parquet, _ = _load(tmp_path / "ledger.parquet")

    assert list(csv.columns) == SALES_COLUMNS
    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (5, 5, 0)
    by_handle = csv.set_index(["platform", "handle"])
    assert by_handle.loc[("x", "pizza"), "price_usd"] == 12000
    assert by_handle.loc[("x", "burger"), "sold_at"] == pd.Timestamp("2024-03-05 08:00")  # UTC, naive
    assert by_handle.loc[("domain", "pizza"), "suffix"] == "com"
    assert by_handle.loc[("email", "li.wei"), "suffix"] == "163.com"
    markets = load_markets()
    for currency, rows in csv.groupby("currency"):
        np.testing.assert_allclose(rows["price_usd"], rows["price"] * markets.usd_rate(currency))
    assert set(csv["source"]) == {"ledger"}  # the file's stem
    key = ["platform", "handle"]
    pd.testing.assert_frame_equal(csv.sort_values(key).reset_index(drop=True),
                                  parquet.sort_values(key).reset_index(drop=True), check_dtype=False)


def test_defaults_fill_an_absent_column_or_a_blank_cell(tmp_path):
    frame = LEDGER[["handle", "price", "sold_at"]].iloc[:2].assign(currency=["", "TON"])
    table, _ = _load(_write(tmp_path, frame), platform="x", currency="USD")
    assert table["platform"].tolist() == ["x", "x"]
    assert table["currency"].tolist() == ["USD", "TON"]


def test_ledger_in_the_price_config_and_on_the_command_line(tmp_path):
    from handleval.price.train import load_price_config, with_ledgers

    path = tmp_path / "price.yaml"
    path.write_text("extra_sources: [{path: ledger.csv, platform: x, currency: USD}]\nmarkets_config: m1.yaml\n",
                    encoding="utf-8")
    cfg = load_price_config(path)
    # a relative path is the config file's neighbour, wherever the command runs (it was the working directory's;
    # markets_config's stayed so: 'config file not found: m1.yaml')
    assert cfg.extra_sources == [ExtraSource(path=str(tmp_path.resolve() / "ledger.csv"), platform="x",
                                             currency="USD")]
    assert cfg.markets_config == str(tmp_path.resolve() / "m1.yaml")
    path.write_text("markets_config: ~/m1.yaml\n", encoding="utf-8")
    assert load_price_config(path).markets_config == str(Path.home() / "m1.yaml")  # the home folder's
    assert cfg.extra_sources[0].label == "ledger"
    both = with_ledgers(cfg, [tmp_path / "My Sales 2025.parquet"], platform="telegram")  # train price --sales
    assert [(e.platform, e.currency, e.label) for e in both.extra_sources] == [
        ("x", "USD", "ledger"), ("telegram", None, "my_sales_2025")]
    path.write_text("extra_sources: [{path: ledger.csv, platfrom: x}]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="platfrom"):
        load_price_config(path)


def test_ledger_rows_are_never_deduplicated(tmp_path):
    """Your own sales stand as they are: a sale a public set also lists, or the same sale twice, is loaded."""
    public, _ = load_sales(["fragment_telegram"])
    sale = public.iloc[0]
    frame = pd.DataFrame({"handle": [sale["handle"]] * 2, "price": [str(sale["price"])] * 2, "currency": "TON",
                          "sold_at": [str(sale["sold_at"]), "2025-06-01"], "platform": "telegram"})
    table, report = load_sales(["fragment_telegram"], extra=[ExtraSource(path=str(_write(tmp_path, frame)))])
    assert list(report.sources) == ["fragment_telegram", "ledger"]
    assert report.sources["ledger"].rows_loaded == 2 and not report.sources["ledger"].rejected
    assert len(table) == len(public) + 2
    assert report.ok


def test_a_few_bad_rows_are_counted_with_reasons_and_lines(tmp_path):
    """At most the share `data check` tolerates (5%) may be rejected; each reason is counted with its first lines."""
    good = pd.DataFrame({"handle": [f"name{i}" for i in range(40)], "price": "100", "currency": "USD",
                         "sold_at": "2024-01-01"})
    bad = pd.DataFrame({"handle": ["oops", "free"], "price": ["100", "0"], "currency": "USD",
                        "sold_at": ["31/31/2024", "2024-01-02"]})
    table, report = _load(_write(tmp_path, pd.concat([good, bad], ignore_index=True)), platform="x")
    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (42, 40, 2)
    assert report.rejected == {"sale date cannot be parsed": 1, "price missing, not a number or not positive": 1}
    assert sorted(rejected_lines(report, "ledger.csv")) == [
        "1 × price missing, not a number or not positive (line 43)", "1 × sale date cannot be parsed (line 42)"]
    assert "oops" not in set(table["handle"])


BAD_FILES = {
    "missing column": ("handle,price,currency\npizza,100,USD\n", {"platform": "x"}, r"lacks column\(s\) \['sold_at'\]"),
    "no currency column or default": ("handle,price,sold_at\npizza,100,2024-01-01\n", {"platform": "x"},
                                      "--sales-currency"),
    "bad date": ("handle,price,currency,sold_at\npizza,100,USD,yesterday\nburger,100,USD,2024-13-45\n",
                 {"platform": "x"}, r"2 × sale date cannot be parsed \(line 2, 3\)"),
    "bad currency": ("handle,price,currency,sold_at\npizza,100,DOGE,2024-01-01\nburger,100,USD,2024-01-01\n",
                     {"platform": "x"}, r"currency has no USD rate in markets config \(line 2\)"),
    "unknown default currency": ("handle,price,sold_at\npizza,100,2024-01-01\n", {"platform": "x", "currency": "DOGE"},
                                 "currency 'DOGE' has no USD rate"),
    "zero and negative prices": ("handle,price,currency,sold_at\npizza,0,USD,2024-01-01\nburger,-5,USD,2024-01-01\n",
                                 {"platform": "x"}, r"2 × price missing, not a number or not positive"),
    "unparseable price": ("handle,price,currency,sold_at\npizza,$lots,USD,2024-01-01\n", {"platform": "x"},
                          "price missing, not a number"),
    "unknown platform": ("handle,price,currency,sold_at,platform\npizza,100,USD,2024-01-01,myspace\n", {},
                         "unknown platform 'myspace'"),
    "empty file": ("", {"platform": "x"}, "is empty"),
    "dates day-first and month-first": ("handle,price,currency,sold_at\npizza,100,USD,13/02/2024\n"
                                        "burger,90,USD,02/13/2024\n", {"platform": "x"},
                                        r"day-first \(line 2: '13/02/2024'\) and month-first \(line 3"),
    # a spreadsheet's export with a comma at the end of each row (pandas made the first column an index: traceback)
    "trailing commas": ("handle,price,currency,sold_at\npizza,100,USD,2024-01-01,\nburger,90,USD,2024-01-02,\n",
                        {"platform": "x"}, "line 2 has more fields than the header"),
    "header only": ("handle,price,currency,sold_at\n", {"platform": "x"}, "has no sales rows"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_bad_ledger_is_one_clear_error(tmp_path, case):
    text, given, message = BAD_FILES[case]
    path = tmp_path / "ledger.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataFormatError, match=message):
        _load(path, **given)


def test_missing_unreadable_or_foreign_files_are_clear_errors(tmp_path):
    with pytest.raises(DataFormatError, match="sales file missing"):
        _load(tmp_path / "nowhere.csv", platform="x")
    with pytest.raises(DataFormatError, match="sales file missing"):
        _load(tmp_path / "nowhere.parquet", platform="x")
    (tmp_path / "ledger.parquet").write_text("not parquet", encoding="utf-8")
    with pytest.raises(DataFormatError, match="cannot be read as Parquet"):
        _load(tmp_path / "ledger.parquet", platform="x")
    (tmp_path / "ledger.xlsx").write_text("x", encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"\.csv or \.parquet"):
        _load(tmp_path / "ledger.xlsx", platform="x")


def test_two_sources_of_one_name_are_an_error(tmp_path):
    """A ledger named like a public set, or `all.csv` (its metrics were overwritten by the row of every market)."""
    path = _write(tmp_path, LEDGER, "fragment_telegram.csv")
    with pytest.raises(DataFormatError, match="used twice"):
        load_sales(["fragment_telegram"], extra=[ExtraSource(path=str(path))])
    with pytest.raises(DataFormatError, match=r"\['all'\] taken"):
        load_sales(["fragment_telegram"], extra=[ExtraSource(path=str(_write(tmp_path, LEDGER, "all.csv")))])


def test_cli_reports_a_bad_ledger_in_one_line_without_traceback(tmp_path):
    path = tmp_path / "ledger.csv"
    path.write_text("handle,price\npizza,100\n", encoding="utf-8")
    for ledger in (tmp_path / "missing.csv", path):
        result = subprocess.run(
            [sys.executable, "-m", "handleval", "train", "price", "--sales", str(ledger), "--sales-platform", "x",
             "--no-track", "--output", str(tmp_path / "bundle")],
            capture_output=True, text=True, env={**os.environ, **NO_WRAP}, timeout=300)
        assert result.returncode == 2, result.stdout + result.stderr
        assert "Traceback" not in result.stderr and result.stderr.startswith("error:")
        assert str(ledger.name) in result.stderr
        assert not (tmp_path / "bundle").exists(), "a run that fails on its data leaves no empty bundle folder"


def test_a_ledger_sale_never_feeds_its_own_comparables(tmp_path):
    """The k-NN and the own-sale features of a ledger's training rows see only strictly earlier sales: a name's
    first sale has no previous sale and no identical neighbour; its resale sees the first sale's price."""
    from handleval.features.sales import SalesHistoryFeatures

    rng = np.random.default_rng(0)
    names = [f"{w}{i}" for i, w in enumerate(rng.choice(["star", "moon", "sun", "sky"], 60))]
    frame = pd.DataFrame({"handle": [*names, names[0]], "price": [*rng.integers(100, 900, 60).astype(str), "5000"],
                          "currency": "USD",
                          "sold_at": [*pd.date_range("2024-01-01", periods=60).strftime("%Y-%m-%d"), "2024-12-01"]})
    table, _ = _load(_write(tmp_path, frame), platform="x")
    features = SalesHistoryFeatures(k=5).fit_transform(table)
    first = table.duplicated("handle", keep="last").to_numpy() | ~table.duplicated("handle", keep=False).to_numpy()
    assert (features.loc[first, "sales__n_prev_same"] == 0).all()
    assert (features.loc[first, "sales__knn_max_sim"].fillna(0) < 1.0).all()  # a share of 1: never itself
    resale = np.flatnonzero(~first)[0]
    assert features.loc[resale, "sales__n_prev_same"] == 1
    assert math.isclose(features.loc[resale, "sales__prev_same_logp"],
                        math.log(table.loc[first & (table["handle"] == names[0]).to_numpy(), "price_usd"].iloc[0]))


def test_a_ledger_of_twitter_sales_is_an_x_ledger(tmp_path):
    """'Twitter' in the platform column, or as the whole file's platform, is x (X's former name)."""
    rows = LEDGER.iloc[:2].assign(platform=["Twitter", "twitter"])
    loaded, report = _load(_write(tmp_path, rows))
    assert report.rows_rejected == 0 and (loaded["platform"] == "x").all()
    whole, report = _load(_write(tmp_path, LEDGER.iloc[:2].drop(columns="platform"), "plain.csv"), platform="Twitter")
    assert report.rows_rejected == 0 and (whole["platform"] == "x").all()


def test_a_decimal_comma_is_no_price_a_hundred_times_too_high(tmp_path):
    """The loader dropped every comma: '183,00' became 18,300 and '4.198,00' 4.198, with no row rejected."""
    frame = pd.DataFrame({"handle": ["pizza", "coffee", "burger", "tacos"], "price": ["183,00", "4.198,00",
                                                                                     "1,234.50", "12,000"],
                          "currency": "USD", "sold_at": "2024-03-01"})
    with pytest.raises(DataFormatError, match=r"2 × price missing, not a number or not positive \(line 2, 3\)"):
        _load(_write(tmp_path, frame), platform="x")
    loaded, _ = _load(_write(tmp_path, frame.iloc[2:]), platform="x")  # grouped thousands are prices
    assert sorted(loaded["price"].tolist()) == [1234.5, 12000.0]


@pytest.mark.parametrize(("change", "message"), [
    ({"sources": []}, "nothing to train on"),
    ({"source_weights": {"fragment_telegram": -1}}, "must be positive"),
    ({"source_weights": {"fragmnet_telegram": 5}}, "not among the sources"),
    ({"search": []}, "at least one parameter set"),
    ({"interval": [0.0, 1.0]}, "0 < low < high < 1"),
    ({"params": {"objective": "binary"}}, "may not set the objective"),
    ({"search": [{"objective": "binary"}]}, r"search\[0\] may not set the objective"),
    ({"quantile_params": {"learning_rate": -1}}, "learning_rate -1 must be a number from 0.001 to 1"),
    ({"quantile_params": {"learning_rate": 1e-6}}, "learning_rate 1e-06 must be"),
    ({"params": {"application": "binary"}}, "may not set the objective"),
    ({"search": [{"eta": 1e-6}]}, r"write the learning rate as learning_rate \(not \['eta'\]\)"),
    ({"params": {"learning_rate": True}}, "learning_rate True must be"),
    ({"source_weights": {"fragment_telegram": float("inf")}}, "must be positive numbers"),
    ({"sources": ["fragment_telegram", "fragment_telegram"]}, "twice"),
    ({"seed": -1}, "seed: Input should be greater than or equal to 0"),
    ({"cap_usd": 1}, "cap_usd"),
    # LightGBM dropped an unknown name silently (31-leaf trees for 'num_leavs: 3'), and refused a value of the
    # wrong type with a traceback once the data had loaded
    ({"params": {"num_leavs": 3}}, r"params: 'num_leavs' is no LightGBM parameter \(did you mean 'num_leaves'\?\)"),
    ({"quantile_params": {"min_data_in_lef": 5}}, "quantile_params: 'min_data_in_lef' is no LightGBM parameter"),
    ({"search": [{"num_leaves": "abc"}]}, r'search\[0\]: Parameter num_leaves should be of type int, got "abc"'),
])
def test_a_config_that_validates_field_by_field_but_cannot_train_is_refused(tmp_path, change, message):
    """Each passed validation and then trained on every public set (sources: []), on nothing (a weight of -1:
    RMSE nan, a bundle pricing pizza at $1, exit 0), on one source (an infinite weight), on every sale twice,
    with the wrong objective (a search's: every tier at the cap), silently ignored a misspelt source, never ended
    (a learning rate of 1e-6), or failed with a traceback (AssertionError, LightGBMError, a seed out of range,
    ZeroDivisionError for a cap below every price)."""
    import yaml

    from handleval.price.train import load_price_config

    path = tmp_path / "price.yaml"
    path.write_text(yaml.safe_dump(change))
    with pytest.raises(ConfigError, match=message):
        load_price_config(path)


def test_a_markets_config_whose_names_disagree_is_refused(tmp_path):
    """A rate keyed `ton` (rates are looked up in capitals), a source in a currency with no rate or on an unknown
    platform loaded no sale from that source: a market silently missing from the bundle, exit 0."""
    import yaml

    from handleval.config import CONFIGS_DIR, load_markets

    base = yaml.safe_load((CONFIGS_DIR / "markets.yaml").read_text())
    for change, message in ((lambda m: m["rates"].update(ton=m["rates"].pop("TON")), "capitals"),
                            (lambda m: m["sources"]["dash_email"].update(currency="GBP"), "no rate for its currency"),
                            (lambda m: m["sources"]["dash_email"].update(platform="telegramm"), "'telegramm' is not"),
                            (lambda m: m["rates"]["TON"].update(usd_per_unit=float("inf")), "usd_per_unit")):
        edited = yaml.safe_load(yaml.safe_dump(base))
        change(edited)
        path = tmp_path / "markets.yaml"
        path.write_text(yaml.safe_dump(edited))
        with pytest.raises(ConfigError, match=message):
            load_markets(path)


def test_a_ledger_alone_loads_and_a_source_that_holds_out_nothing_is_refused(tmp_path):
    """`sources: []` with a ledger was documented and crashed (pd.concat of nothing); `sources:
    [ens_legacy_auction]`, whose sales hold out none, ended in a LightGBM traceback."""
    ledger = tmp_path / "mine.csv"
    pd.DataFrame({"handle": [f"name{i}" for i in range(40)], "price": 100.0, "currency": "USD",
                  "sold_at": "2024-03-01"}).to_csv(ledger, index=False)
    sales, report = load_sales([], extra=[ExtraSource(path=str(ledger), platform="x")])
    assert len(sales) == 40 and report.sources["mine"].rows_loaded == 40
    # typed as when public sets are loaded too (an untyped empty frame made prices objects: np.log failed)
    both, _ = load_sales(["dash_email"], extra=[ExtraSource(path=str(ledger), platform="x")])
    assert sales.dtypes.to_dict() == both.dtypes.to_dict()
    (tmp_path / "ens.yaml").write_text("sources: [ens_legacy_auction]\n")  # its sales hold out none
    result = subprocess.run([sys.executable, "-m", "handleval", "train", "price", "--no-track", "--config",
                             str(tmp_path / "ens.yaml"), "-o", str(tmp_path / "out")], capture_output=True, text=True,
                            env={**os.environ, **NO_WRAP}, timeout=300)
    assert result.returncode == 2 and "0 held out: too few to train and measure" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "out").exists()


def test_a_key_given_twice_and_a_word_range_upside_down_are_refused(tmp_path):
    """`seed: 1` then `seed: 2` trained with seed 2 without a word; `word_zipf: [3, 3]` divided by zero and doubled
    the price of every common word on X."""
    import yaml

    from handleval.config import CONFIGS_DIR
    from handleval.price.train import load_price_config

    twice = tmp_path / "price.yaml"
    twice.write_text("seed: 1\ncap_usd: 50000\nseed: 2\n")
    with pytest.raises(ConfigError, match="the key 'seed' is given twice"):
        load_price_config(twice)
    shared = tmp_path / "shared.yaml"  # a merge key `<<:` shares keys that are then given again: no duplicate
    shared.write_text("search:\n  - &small {num_leaves: 15, min_child_samples: 20}\n  - <<: *small\n"
                      "    num_leaves: 31\n")
    assert load_price_config(shared).search == [{"num_leaves": 15, "min_child_samples": 20},
                                                {"num_leaves": 31, "min_child_samples": 20}]
    (tmp_path / "odd.yaml").write_text("? [a, b]\n: 1\n")
    with pytest.raises(ConfigError, match="unhashable key"):
        load_price_config(tmp_path / "odd.yaml")
    markets = yaml.safe_load((CONFIGS_DIR / "markets.yaml").read_text())
    for flat in ([3, 3], [6, 3]):
        markets["rare_handles"]["x"]["word_zipf"] = flat
        (tmp_path / "markets.yaml").write_text(yaml.safe_dump(markets))
        with pytest.raises(ConfigError, match="word_zipf"):
            load_markets(tmp_path / "markets.yaml")


def test_a_ledger_whose_sales_share_one_date_is_not_held_out_whole():
    """All 400 sales of a one-day ledger sat at the cutoff date and were all held out: nothing learnt from them."""
    from handleval.price.train import time_split

    one_day = pd.DataFrame({"source": "mine", "sold_at": pd.Timestamp("2025-03-31")}, index=range(400))
    spread = pd.DataFrame({"source": "theirs", "sold_at": pd.date_range("2024-01-01", periods=100)})
    split = time_split(pd.concat([one_day, spread], ignore_index=True), 0.15)
    assert not split[:400].any() and split[400:].sum() == 15


def test_a_ledgers_numeric_dates_are_read_as_the_file_writes_them(tmp_path):
    """``03/12/2024`` was read month-first beside ``13/02/2024`` (day-first) in the same file: 166 of 400 sales of a
    day-first ledger got the wrong date. A file with a day above 12 is read day-first (an ISO date stays ISO); one
    that does not tell is read month-first with a note; a sale dated after today is rejected (a typo such as 2031
    had made every valuation 'before the newest sale')."""
    rows = ["03/12/2024", "13/02/2024", "2024-12-03", "1/2/2024"] + ["2024-05-05"] * 20 + ["2031-01-01"]
    frame = pd.DataFrame({"handle": [f"name{i}" for i in range(len(rows))], "price": 100, "currency": "USD",
                          "sold_at": rows})
    table, report = _load(_write(tmp_path, frame), platform="x")
    got = dict(zip(table["handle"], table["sold_at"].dt.strftime("%Y-%m-%d"), strict=True))
    assert [got[f"name{i}"] for i in range(4)] == ["2024-12-03", "2024-02-13", "2024-12-03", "2024-02-01"]
    assert report.rejected == {"sale dated after today": 1} and "name24" not in got
    unsure = frame.iloc[[0, 2]].assign(sold_at=["03/12/2024", "2024-12-03"])
    table, report = _load(_write(tmp_path, pd.concat([unsure] * 15, ignore_index=True)), platform="x")
    assert table["sold_at"].dt.strftime("%Y-%m-%d").iloc[0] == "2024-03-12"
    assert any("read month-first" in note for note in report.notes), report.notes
