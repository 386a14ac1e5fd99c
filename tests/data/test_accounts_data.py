"""The canonical account table against the real files under accounts/ (read at run time, never copied)."""

from __future__ import annotations

import pandas as pd
import pytest

from handleval.data.accounts import (
    ACCOUNT_COLUMNS,
    BOT_TYPES,
    SOURCE_PRIORITY,
    bot_type_of,
    deduplicate,
    load_account_table,
)
from handleval.data.report import LoadReport


@pytest.fixture(scope="module")
def loaded() -> tuple[pd.DataFrame, LoadReport]:
    return load_account_table()


def test_rows_read_match_source_txt(loaded):
    _, report = loaded
    read = {name: s.rows_read for name, s in report.sources.items()}
    # Row counts stated in each set's SOURCE.txt (the 2020 subset: 3,744 each minus the withheld rtbust ids).
    expected = {
        "cresci2017/genuine_accounts": 3474, "cresci2017/social_spambots_1": 991,
        "cresci2017/social_spambots_2": 3457, "cresci2017/social_spambots_3": 464,
        "cresci2017/traditional_spambots_1": 1000, "cresci2017/traditional_spambots_2": 100,
        "cresci2017/traditional_spambots_3": 403, "cresci2017/traditional_spambots_4": 1128,
        "cresci2017/fake_followers": 3351, "cresci2015_bas": 3900, "botrepo_verified2019": 1987,
        "botrepo_botwiki2019": 698, "botrepo_vendor2019": 1088, "botrepo_pronbots2019": 17882,
        "botrepo_political2019": 62, "kaggle_bots_2017/bots_data.csv": 1056,
        "kaggle_bots_2017/nonbots_data.csv": 1176, "kaggle_bots_2017/test.csv": 100,
    }
    for name, n in expected.items():
        assert read[name] == n, name
    thb = read["twitter_human_bots_2020_subset/val_10pct.csv"] + read["twitter_human_bots_2020_subset/test_10pct.csv"]
    assert 7488 - 115 - 10 <= thb <= 7488 - 115 + 5  # 115 rtbust ids withheld; a few broken records


def test_report_adds_up_and_every_rejection_has_a_reason(loaded):
    table, report = loaded
    for s in report.sources.values():
        assert s.rows_read == s.rows_loaded + s.rows_rejected, s.source
        assert all(reason.strip() for reason in s.rejected)
    assert report.ok
    assert sum(s.rows_loaded for s in report.sources.values()) == len(table)


def test_no_duplicated_ids_and_documented_dedup_rule(loaded):
    table, report = loaded
    assert not table["id"].duplicated().any()
    # All 1,950 Cresci-2015 fakes are re-crawls of Cresci-2017 fake_followers: kept in Cresci-2015 by the rule.
    ff = report.sources["cresci2017/fake_followers"]
    assert ff.rejected["duplicate id (same label): kept the row from cresci2015_bas"] == 1950
    assert ff.rows_loaded == 3351 - 1950
    assert set(table.loc[table["source_set"] == "cresci2015_bas", "label"]) == {"bot", "human"}
    assert any(r.startswith("label conflict") for s in report.sources.values() for r in s.rejected)


def test_columns_types_and_dates(loaded):
    table, _ = loaded
    assert list(table.columns) == ACCOUNT_COLUMNS
    for col in ("created_at", "observed_at", "last_active_at"):
        assert str(table[col].dt.tz) == "UTC"
    assert table["created_at"].notna().all() and table["observed_at"].notna().all()
    assert (table["created_at"] <= table["observed_at"] + pd.Timedelta(days=1)).all()
    assert table["created_at"].min() >= pd.Timestamp("2006-03-01", tz="UTC")
    assert set(table["label"]) == {"bot", "human"}
    assert set(table["source_set"]) == set(SOURCE_PRIORITY)
    # Epoch-millisecond dates of the 2010 crawl parsed to 2007-2010.
    ts1 = table[table["source"] == "cresci2017/traditional_spambots_1"]
    assert ts1["created_at"].between(pd.Timestamp("2007-01-01", tz="UTC"), pd.Timestamp("2010-12-31", tz="UTC")).all()


def test_last_activity_only_where_a_set_records_it(loaded):
    table, _ = loaded
    has = table.groupby("source_set")["last_active_at"].apply(lambda s: s.notna().mean())
    assert has[["botrepo_verified2019", "botrepo_botwiki2019", "botrepo_vendor2019", "botrepo_pronbots2019",
                "botrepo_political2019"]].min() == 1.0
    assert 0.7 < has["kaggle_bots_2017"] < 1.0
    assert has[["cresci2017", "cresci2015_bas", "twitter_human_bots_2020_subset"]].max() == 0.0
    known = table.dropna(subset=["last_active_at"])
    assert (known["last_active_at"] <= known["observed_at"]).all()
    # 30 Kaggle statuses predate their account: unknown, not a dormancy label of years (the report says so)
    assert (known["last_active_at"] >= known["created_at"] - pd.Timedelta(days=1)).all()
    assert set(known["last_active_kind"]) == {"latest_status", "probe_tweet_assumed_latest"}


def test_cresci_booleans_normalised(loaded):
    table, _ = loaded
    cresci = table[table["source_set"] == "cresci2017"]
    # Blank = API false in the Cresci dump; no set may keep a boolean column entirely unknown.
    assert cresci["verified"].notna().all() and not cresci.loc[cresci["label"] == "bot", "verified"].any()
    ts1 = table[table["source"] == "cresci2017/traditional_spambots_1"]
    assert ts1["default_profile"].notna().mean() > 0.9  # NULL in the 2010 crawl, derived from the theme URL
    thb = table[table["source_set"] == "twitter_human_bots_2020_subset"]
    assert not (thb["location"].str.lower() == "unknown").any()


def test_gilani_excluded_with_reason(loaded):
    table, _ = loaded
    assert "gilani2017_processed" in table.attrs["excluded_sets"]
    assert "gilani2017_processed" not in set(table["source_set"])


def test_dedup_rule_on_hand_made_rows():
    report = LoadReport()
    for name in ("a", "b"):
        report.source(name).rows_read = 3
        report.source(name).rows_loaded = 3
    rows = pd.DataFrame({
        "id": [1, 2, 3, 1, 2, 4],
        "label": ["bot", "bot", "human", "bot", "human", "human"],
        "source_set": ["cresci2017", "cresci2017", "cresci2017", "botrepo_vendor2019", "botrepo_vendor2019",
                       "cresci2017"],
        "_report": ["a", "a", "a", "b", "b", "b"],
    })
    kept = deduplicate(rows, report, label_lists={4: {"celebrity-2019": "bot"}})
    # id 1: same label twice -> the higher-priority set (botrepo) wins; id 2: conflict -> both rejected;
    # id 4: contradicts a label list -> rejected; id 3 untouched.
    assert sorted(kept["id"]) == [1, 3]
    assert kept.loc[kept["id"] == 1, "source_set"].item() == "botrepo_vendor2019"
    for name in ("a", "b"):  # every row read is loaded or rejected, in each source
        source = report.sources[name]
        assert source.rows_read == source.rows_loaded + source.rows_rejected, name
    assert report.sources["a"].rejected["label conflict: the same id is bot in one set and human in another"] == 1
    assert report.sources["b"].rejected["label conflict with a Bot Repository label list"] == 1


def test_new_bot_sets_are_loaded_bots_only_and_deduplicated_by_id(loaded):
    """pronbots-2019 and political-2019 (bots only) are in the table; their ids also occur in the 2020
    re-hydration (pronbots-2019 is one of its lists): each id is kept once, in the Bot Repository set."""
    table, report = loaded
    for name, n in (("botrepo_pronbots2019", 17882), ("botrepo_political2019", 62)):
        rows = table[table["source_set"] == name]
        assert len(rows) == n and set(rows["label"]) == {"bot"}, name
        assert rows["observed_at"].nunique() == 1  # the collection date, not each probe
    assert not table["id"].duplicated().any()
    thb = [s for n, s in report.sources.items() if n.startswith("twitter_human_bots_2020_subset")]
    moved = sum(s.rejected.get("duplicate id (same label): kept the row from botrepo_pronbots2019", 0) for s in thb)
    assert moved > 300  # ~2% of the 2020 subset came from the pronbots list
    assert not (table["source"] == "twitter_human_bots_2020_subset/pronbots-2019").sum() > 50


def test_bot_types_from_group_labels(loaded):
    table, _ = loaded
    assert set(table["bot_type"].dropna()) == set(BOT_TYPES)
    assert table.loc[table["label"] == "human", "bot_type"].isna().all()
    typed = table.dropna(subset=["bot_type"])
    by_set = {s: set(g) for s, g in typed.groupby("source_set")["bot_type"]}
    assert by_set["botrepo_botwiki2019"] == {"self_declared"}
    assert by_set["botrepo_vendor2019"] == {"fake_follower"}
    assert by_set["botrepo_pronbots2019"] == {"spam"}
    assert by_set["botrepo_political2019"] == {"amplifier"}
    assert by_set["cresci2017"] == {"amplifier", "spam", "fake_follower"}
    assert table.loc[table["source_set"] == "kaggle_bots_2017", "bot_type"].isna().all()  # kind unknown
    assert bot_type_of("cresci2017/traditional_spambots_3", "bot") == "spam"
    assert bot_type_of("cresci2017/traditional_spambots_3", "human") is None
    assert bot_type_of("twitter_human_bots_2020_subset/gilani-2017", "bot") is None
