"""The flag and triage contracts on the committed models/accounts bundle: rows, order, errors, guard rails."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from handleval.accounts import FLAG_COLUMNS, AccountFlagger, load_accounts, triage
from handleval.config import MODELS_DIR
from handleval.errors import BundleError, DataFormatError

NOW = pd.Timestamp("2024-06-01", tz="UTC")


@pytest.fixture(scope="module")
def flagger() -> AccountFlagger:
    return load_accounts()


def _accounts() -> pd.DataFrame:
    return pd.DataFrame({
        "screen_name": ["alice", None, "zx81923bot", "@Carol_", "dave", "erin", "frank"],
        "created_at": ["Tue Mar 21 20:50:14 +0000 2010", "2012-01-01", "2019-05-05", "13/13/2013",
                       "2015-02-01", "2011-07-07", "2014-01-01"],
        "statuses_count": [5000, 10, 20000, 7, 300, 12000, 0],
        "followers_count": [800, 1, 3, 10, 45, 250000, 0],
        "friends_count": [400, 2, 4000, 50, 60, 300, 1900],
        "favourites_count": [3000, 0, 0, 0, 40, 900, 0],
        "verified": [False, False, False, False, False, True, False],
        # hand-made activity: alice 10 days ago (active), dave 200 days (dormant), others unknown
        "last_active_at": ["2024-05-22", None, None, None, "2023-11-14", None, None],
    }, index=[10, 11, 12, 13, 14, 15, 16])


def test_flag_returns_every_row_in_order_with_errors(flagger):
    df = _accounts()
    out = flagger.flag(df, now=NOW)
    assert len(out) == len(df) and list(out.index) == list(df.index)
    assert out["screen_name"].tolist()[2:] == df["screen_name"].tolist()[2:]
    assert all(c in out for c in FLAG_COLUMNS)
    assert out.loc[11, "error"] == "missing screen_name"
    assert out.loc[13, "error"] == "created_at missing or unparseable"
    assert out.loc[[11, 13], "p_bot"].isna().all() and out.loc[[11, 13], "status"].isna().all()
    ok = out["error"].isna()
    assert out.loc[ok, "p_bot"].between(0, 1).all()
    assert set(out.loc[ok, "status"]) <= {"active", "dormant", "bot", "bot_and_dormant"}
    assert (out.loc[ok, "reasons"].str.len() > 0).all()


def test_dormancy_rules_on_hand_made_dates(flagger):
    out = flagger.flag(_accounts(), now=NOW)
    assert out.loc[10, "days_inactive"] == pytest.approx(10.0)
    assert out.loc[10, "dormant"] == False and out.loc[10, "p_dormant"] == 0.0  # noqa: E712
    assert out.loc[14, "days_inactive"] == pytest.approx(200.0)
    assert out.loc[14, "dormant"] == True and out.loc[14, "p_dormant"] == 1.0  # noqa: E712
    assert set(out.loc[[10, 14], "dormancy_basis"]) == {"last_active_at"}
    # the policy boundary: exactly 30 days is not dormant, 31 is
    edge = _accounts().loc[[10]].copy()
    edge = pd.concat([edge.assign(last_active_at="2024-05-02"), edge.assign(last_active_at="2024-05-01")])
    e = flagger.flag(edge.reset_index(drop=True), now=NOW)
    assert e["dormant"].tolist() == [False, True]


def test_p_dormant_is_labelled_an_estimate_when_activity_unknown(flagger):
    out = flagger.flag(_accounts(), now=NOW)
    est = out.loc[[12, 15, 16]]
    assert (est["dormancy_basis"] == "estimate").all()
    assert est["p_dormant"].between(0, 1).all()
    assert est["reasons"].str.contains("ESTIMATE").all()
    assert est["days_inactive"].isna().all()


def test_status_matches_flags(flagger):
    out = flagger.flag(_accounts(), now=NOW).dropna(subset=["status"])
    for _, r in out.iterrows():
        expected = {(True, True): "bot_and_dormant", (True, False): "bot", (False, True): "dormant",
                    (False, False): "active"}[(bool(r["bot"]), bool(r["dormant"]))]
        assert r["status"] == expected
        assert bool(r["bot"]) == (r["p_bot"] >= flagger.threshold - 1e-4)


def test_bad_input_raises_clear_error(flagger):
    with pytest.raises(DataFormatError, match="screen_name"):
        flagger.flag(pd.DataFrame({"handle": ["a"]}))
    with pytest.raises(DataFormatError, match="DataFrame"):
        flagger.flag(["alice"])  # type: ignore[arg-type]


class PriceByLength:
    """A stand-in valuer with the Valuer.value_many contract (the price bundle may not be trained yet)."""

    def value_many(self, names, platform="x"):
        return pd.DataFrame({"price_usd": [1000.0 / max(len(n), 1) for n in names],
                             "error": [None if n else "empty handle" for n in names]})


def test_triage_guard_rails_sorting_and_rows(flagger):
    df = _accounts()
    # make the verified and the recently-active accounts look as bot-like and dormant as possible
    df.loc[15, ["statuses_count", "followers_count", "friends_count", "favourites_count"]] = [90000, 0, 5000, 0]
    out = triage(df, valuer=PriceByLength(), flagger=flagger, now=NOW)
    assert len(out) == len(df) and sorted(out["row"]) == list(range(len(df)))
    by_row = out.set_index("row")
    for row in (0, 5):  # alice active 10 days ago; erin verified
        assert by_row.loc[row, "p_releasable"] == 0.0
        assert by_row.loc[row, "releasable"] == False  # noqa: E712
        assert by_row.loc[row, "expected_value"] == 0.0
        assert "never releasable" in by_row.loc[row, "guard_rail"]
    ev = out["expected_value"].to_numpy(dtype=float)
    finite = ev[~np.isnan(ev)]
    assert (np.diff(finite) <= 1e-9).all()
    assert np.isnan(ev[len(finite):]).all()  # unscorable rows last, with their error
    assert set(out.loc[out["expected_value"].isna(), "row"]) == {1, 3}
    ok = out.dropna(subset=["expected_value"])
    assert np.allclose(ok["expected_value"], (ok["price_usd"] * ok["p_releasable"]).round(2), atol=0.01)


def test_triage_with_the_real_price_model_if_present(flagger):
    if not (MODELS_DIR / "price" / "manifest.json").is_file():
        pytest.skip("models/price not trained yet: triage is tested with a stand-in valuer above")
    out = triage(_accounts(), flagger=flagger, now=NOW)
    assert len(out) == 7 and out["price_usd"].notna().sum() >= 4


def test_missing_or_corrupt_bundle_raises_bundle_error(tmp_path):
    with pytest.raises(BundleError, match="not found"):
        load_accounts(tmp_path / "nothing")
    copy = tmp_path / "accounts"
    shutil.copytree(MODELS_DIR / "accounts", copy)
    with open(copy / "model.txt", "a", encoding="utf-8") as fh:
        fh.write("\n")
    with pytest.raises(BundleError, match="sha256"):
        load_accounts(copy)
    (copy / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(BundleError, match="corrupt"):
        load_accounts(copy)


def _readable(feature: str, value: float) -> str:
    """Per-value reference for the reason text (what the flagger computed before it worked on arrays)."""
    from handleval.accounts.flag import _REASON_TEXT

    words, how = _REASON_TEXT.get(feature, (feature, "raw"))
    if np.isnan(value):
        return f"{words} unknown"
    if how == "bool":
        return words if value >= 0.5 else f"not: {words}"
    number = np.expm1(value) if how == "expm1" else np.exp(value) if how == "exp" else value
    text = f"{number:,.0f}" if abs(number) >= 100 else f"{number:.2g}" if abs(number) < 1 else f"{number:.1f}"
    return f"{words} {text}"


def test_vectorised_reason_text_matches_the_per_value_text():
    """_readable_many (arrays) must give the per-value text for every feature kind, NaN, 0/1, huge and tiny."""
    from handleval.accounts.flag import _REASON_TEXT, _readable_many

    features = [*_REASON_TEXT, "some_unknown_feature"]
    grid = np.array([np.nan, 0.0, -0.0, 0.4999, 0.5, 1.0, -1.0, 4.605, 4.6052, 6.9, 0.0099, -3.2, 12.5, 800.0,
                     1e-12, 710.0])
    idx = np.repeat(np.arange(len(features)), len(grid))
    values = np.tile(grid, len(features))
    with np.errstate(over="ignore"):
        expected = [_readable(features[j], v) for j, v in zip(idx, values, strict=True)]
    assert _readable_many(features, idx, values) == expected


def test_flag_without_reasons_changes_nothing_else(flagger):
    full = flagger.flag(_accounts(), now=NOW)
    bare = flagger.flag(_accounts(), now=NOW, reasons=False)
    pd.testing.assert_frame_equal(full.drop(columns="reasons"), bare.drop(columns="reasons"))
    assert (bare["reasons"] == "").all() and (full.loc[full["error"].isna(), "reasons"] != "").all()


def test_cli_flag_no_reasons(flagger, tmp_path):
    import subprocess
    import sys

    from handleval.batch import read_output

    source = tmp_path / "accounts.csv"
    accounts = _accounts().assign(observed_at=NOW.isoformat())  # the same "now" for the CLI and the library
    accounts.to_csv(source, index=False)
    subprocess.run([sys.executable, "-m", "handleval", "flag", str(source), "-o", str(tmp_path / "out"),
                    "--no-reasons", "--quiet"], check=True, timeout=300)
    via_cli = read_output(tmp_path / "out")
    assert len(via_cli) == len(accounts) and via_cli["reasons"].fillna("").eq("").all()
    library = flagger.flag(accounts)
    np.testing.assert_allclose(pd.to_numeric(via_cli["p_bot"]), library["p_bot"].astype(float), equal_nan=True)
