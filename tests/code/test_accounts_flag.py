"""The flag and triage contracts on the committed models/accounts bundle: rows, order, errors, guard rails."""

from __future__ import annotations

import re
import shutil
import warnings

import numpy as np
import pandas as pd
import pytest

from handleval.accounts import FLAG_COLUMNS, AccountFlagger, load_accounts
from handleval.config import MODELS_DIR
from handleval.errors import BundleError, DataFormatError
from handleval.release import triage
from tests._helpers import run_cli

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
    assert out.loc[[11, 13], "p_bot"].isna().all() and out.loc[[11, 13], "account_status"].isna().all()
    ok = out["error"].isna()
    assert out.loc[ok, "p_bot"].between(0, 1).all()
    assert set(out.loc[ok, "account_status"]) <= {"active", "activity_unknown", "dormant", "bot", "bot_and_dormant"}
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
    # active some hours after it was seen (another time zone's clock): 0 days inactive, not -0.3
    late = flagger.flag(edge.iloc[:1].assign(last_active_at=NOW + pd.Timedelta(hours=7)), now=NOW)
    assert late["days_inactive"].tolist() == [0.0] and late["error"].isna().all()


def test_p_dormant_is_labelled_an_estimate_when_activity_unknown(flagger):
    out = flagger.flag(_accounts(), now=NOW)
    est = out.loc[[12, 15, 16]]
    assert (est["dormancy_basis"] == "estimate").all()
    assert est["p_dormant"].between(0, 1).all()
    assert est["reasons"].str.contains("ESTIMATE").all()
    assert est["days_inactive"].isna().all()


def test_status_matches_flags(flagger):
    out = flagger.flag(_accounts(), now=NOW).dropna(subset=["account_status"])
    for _, r in out.iterrows():
        expected = {(True, True): "bot_and_dormant", (True, False): "bot", (False, True): "dormant",
                    (False, False): "active"}[(bool(r["bot"]), r["dormant"] is True)]
        if expected == "active" and r["dormancy_basis"] == "estimate":  # no last activity: not known to be active
            expected = "activity_unknown"
        # no last activity: dormant is unknown (a 'False' there was no finding), unless the estimate says dormant
        assert pd.isna(r["dormant"]) == (r["dormancy_basis"] == "estimate" and r["p_dormant"] < 0.5)
        assert r["account_status"] == expected
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


def test_triage_prices_screen_names_as_x_handles_with_the_real_valuer(flagger):
    """Triage's price is the committed valuer's price of the screen name on X (the stand-in above ignores the
    platform: triage pricing on Telegram passed every triage test)."""
    import handleval

    names = ["google", "okay", "pizza", "jdk_19927"]
    accounts = pd.DataFrame({"screen_name": names, "created_at": "2015-01-01", "statuses_count": 100,
                             "followers_count": 10, "friends_count": 10, "favourites_count": 1,
                             "observed_at": "2024-06-01"})
    valuer = handleval.load()
    out = triage(accounts, valuer=valuer, flagger=flagger, now=NOW).set_index("screen_name")
    want = valuer.value_many(pd.DataFrame({"handle": names, "platform": "x"}), as_of=NOW  # priced as of now too
                             ).set_index("handle")["price_usd"]
    pd.testing.assert_series_equal(out.loc[names, "price_usd"], want.loc[names], check_names=False)
    assert len(triage(_accounts(), flagger=flagger, now=NOW)) == 7  # the default valuer is the committed one


def test_missing_or_corrupt_bundle_raises_bundle_error(tmp_path):
    with pytest.raises(BundleError, match="not found"):
        load_accounts(tmp_path / "nothing")
    (tmp_path / "a-file").write_text("x\n")
    with pytest.raises(BundleError, match="is a file; a model bundle is a folder"):  # it said "not found"
        load_accounts(tmp_path / "a-file")
    copy = tmp_path / "accounts"
    shutil.copytree(MODELS_DIR / "accounts", copy)
    with open(copy / "model.txt", "a", encoding="utf-8") as fh:
        fh.write("\n")
    with pytest.raises(BundleError, match="sha256"):
        load_accounts(copy)
    (copy / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(BundleError, match="corrupt"):
        load_accounts(copy)


@pytest.mark.parametrize(("edit", "says"), [
    (lambda m: m["threshold"].update(threshold="high"), "malformed .*'high'"),
    (lambda m: m.update(threshold={}), "malformed .*'threshold'"),
    (lambda m: m["dormancy"].pop("policy_days"), "malformed .*'policy_days'"),
    (lambda m: m.update(types={}), "malformed .*'classes'"),
    (lambda m: m.update(calibration={"method": "magic"}), "malformed .*magic"),
    (lambda m: m["threshold"].update(threshold=7), "malformed.*outside"),
])
def test_an_edited_account_manifest_is_one_bundle_error(tmp_path, edit, says):
    """A threshold of 'high', a missing policy or type list gave a TypeError or KeyError at load or at the first
    batch: one BundleError at load now; edited by hand, the manifest no longer matches its ``manifest_sha256``."""
    import json

    from handleval.trees.bundle import MANIFEST_DIGEST, manifest_digest

    copy = tmp_path / "accounts"
    shutil.copytree(MODELS_DIR / "accounts", copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    edit(manifest)
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="was edited after training"):
        load_accounts(copy)
    manifest[MANIFEST_DIGEST] = manifest_digest(manifest)  # written wrong by a tool, not edited by hand
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match=says):
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


def test_a_reason_tells_p_bot_from_a_threshold_just_above_it(flagger):
    """"not bot (P(bot) 0.62, threshold 0.62)" read as a tie at 0.6174 against 0.6243: as many decimals as tell the
    two apart."""
    import copy

    rows = _accounts().head(3)
    p_bot = float(flagger.flag(rows)["p_bot"].iloc[0])
    near = copy.copy(flagger)
    near.threshold = p_bot + 0.0021
    reason = near.flag(rows)["reasons"].iloc[0]
    shown = re.search(r"P\(bot\) ([0-9.]+), threshold ([0-9.]+)", reason)
    assert shown and shown.group(1) != shown.group(2) and reason.startswith("not bot"), reason


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


# ------------------------------------------------------------------------------------ column safety and inputs
def _kaggle_like() -> pd.DataFrame:
    """The shape a new user brought: the Kaggle-2017 file's own `bot` label and `status` (last tweet) columns."""
    return _accounts().loc[[10, 12, 14]].assign(bot=[0, 1, 0], status=["{'text': 'hi'}", "", "{}"])


def test_flag_refuses_to_overwrite_input_columns_and_prefix_keeps_them(flagger):
    from handleval.accounts.flag import ColumnCollisionError, output_names

    df = _kaggle_like()
    with pytest.raises(ColumnCollisionError, match="'bot'") as caught:
        flagger.flag(df, now=NOW)
    assert caught.value.collisions == ["bot"]  # not v1.1's own `status`: the flag's is `account_status`
    assert "prefix" in str(caught.value)
    out = flagger.flag(df, now=NOW, prefix="flag_")
    pd.testing.assert_frame_equal(out[df.columns], df)  # every input column exactly as given
    assert list(out.columns) == [*df.columns, *output_names("flag_")]
    assert out["flag_p_bot"].between(0, 1).all()
    # the prefix names flag's error column too (as predict's and triage's): an input `error` stays the input's
    with_error = _accounts().assign(error="x")
    out = flagger.flag(with_error, now=NOW, prefix="flag_")
    assert (out["error"] == "x").all() and "flag_error" in out.columns and out.columns[-1] == "flag_error"
    with pytest.raises(ColumnCollisionError) as refused:
        flagger.flag(with_error, now=NOW)
    assert refused.value.collisions == ["error"]


@pytest.mark.parametrize("alias", ["probe_created_at", "crawled_at", "updated"])
def test_probe_and_crawl_times_are_the_observation_time(flagger, alias):
    """The Bot Repository's probe time and the Cresci sets' crawl time are when the profile was seen: ages and
    inactivity are measured there (a Cresci file had been measured against today, and its bots looked human)."""
    probe = "Sat Mar 10 16:25:03 +0000 2018"
    base = _accounts().loc[[10, 12, 14]].drop(columns=["last_active_at"])
    via_probe = flagger.flag(base.assign(**{alias: probe}), now=NOW)
    via_observed = flagger.flag(base.assign(observed_at=probe), now=NOW)
    assert (via_probe["measured_at"] == "2018-03-10T16:25:03Z").all()
    assert (via_probe["measured_at_basis"] == alias).all()
    np.testing.assert_allclose(via_probe["p_bot"].astype(float), via_observed["p_bot"].astype(float))
    today = flagger.flag(base, now=NOW)
    assert (today["measured_at_basis"] == "now (no observed_at given)").all()
    assert (today["measured_at"] == "2024-06-01T00:00:00Z").all()


def test_a_bot_repository_tweets_file_is_read_as_its_profiles_seen_at_their_probe(flagger, tmp_path):
    """The Bot Repository ships each set as <set>_tweets.json: a JSON list of {"created_at": the probe tweet's time,
    "user": a v1.1 user object}. flag said it lacked every required column; each is now the profile, seen at the
    probe (probe_created_at), scored as the same profile given flat."""
    import json

    from handleval.batch import read_output

    probe = "Thu May 30 16:25:03 +0000 2024"
    flat = _accounts().loc[[10, 12, 14]].drop(columns=["last_active_at"]).reset_index(drop=True)
    users = json.loads(flat.to_json(orient="records"))
    (tmp_path / "set_tweets.json").write_text(json.dumps([{"created_at": probe, "user": u} for u in users]),
                                              encoding="utf-8")
    result = run_cli("flag", str(tmp_path / "set_tweets.json"), "-o", str(tmp_path / "out.csv"), "--quiet")
    assert result.returncode == 0, result.stderr
    out = read_output(tmp_path / "out.csv")
    assert out["screen_name"].tolist() == flat["screen_name"].tolist() and out["error"].isna().all()
    assert (out["measured_at_basis"] == "probe_created_at").all()
    expected = flagger.flag(flat.assign(probe_created_at=probe), now=NOW)
    np.testing.assert_allclose(pd.to_numeric(out["p_bot"]), expected["p_bot"].astype(float))


def test_measured_at_says_which_rows_fell_back_to_now(flagger):
    df = _accounts().assign(observed_at=["2024-05-30", None, "", "2024-05-30", "2024-05-30", None, "2024-05-30"])
    out = flagger.flag(df, now=NOW)
    assert out.loc[[10, 14], "measured_at_basis"].eq("observed_at").all()
    assert out.loc[[12, 15], "measured_at_basis"].eq("now (no observed_at given)").all()
    assert out.loc[12, "measured_at"] == "2024-06-01T00:00:00Z"
    assert out.loc[10, "days_inactive"] == pytest.approx(8.0)  # 2024-05-22 -> 2024-05-30, not -> today


def _v2(df: pd.DataFrame) -> list[dict]:
    """The same accounts as X API v2 user objects."""
    return [{"username": r.screen_name, "created_at": pd.Timestamp(r.created_at, tz="UTC").strftime(
        "%Y-%m-%dT%H:%M:%S.000Z"), "verified": bool(r.verified),
        "public_metrics": {"followers_count": int(r.followers_count), "following_count": int(r.friends_count),
                           "tweet_count": int(r.statuses_count), "listed_count": 0,
                           "like_count": int(r.favourites_count)}} for r in df.itertuples()]


def test_v2_user_objects_nested_json_or_dotted_give_the_v1_scores(flagger):
    import json

    v1 = _accounts().loc[[10, 12, 14, 15, 16]].drop(columns=["last_active_at"]).reset_index(drop=True)
    v1["created_at"] = ["2010-03-21", "2019-05-05", "2015-02-01", "2011-07-07", "2014-01-01"]
    expected = flagger.flag(v1, now=NOW)["p_bot"].astype(float)
    objects = _v2(v1)
    nested = pd.DataFrame(objects)  # a public_metrics column of dicts
    as_text = nested.assign(public_metrics=[json.dumps(o["public_metrics"]) for o in objects])
    dotted = pd.json_normalize(objects)  # public_metrics.followers_count, ...
    # what DataFrame(resp["data"]).to_csv() writes (a Python dict's text), and a Parquet map as pandas reads it
    as_repr = nested.assign(public_metrics=[str(o["public_metrics"]) for o in objects])
    as_pairs = nested.assign(public_metrics=[list(o["public_metrics"].items()) for o in objects])
    odd = flagger.flag(nested.head(1).assign(public_metrics=[[(["a"], 1)]]), now=NOW)  # no key: no counts
    assert odd.loc[0, "error"].startswith("public_metrics.tweet_count missing")
    for frame in (nested, as_text, dotted, as_repr, as_pairs):
        got = flagger.flag(frame, now=NOW)
        np.testing.assert_allclose(got["p_bot"].astype(float), expected)
        assert got["error"].isna().all()
        assert "screen_name" not in got.columns  # nothing is added under the v1.1 names


def test_missing_required_column_fails_the_whole_call_with_every_missing_name(flagger):
    df = _accounts().drop(columns=["created_at", "favourites_count"])
    with pytest.raises(DataFormatError) as caught:
        flagger.flag(df, now=NOW)
    message = str(caught.value)
    assert "created_at" in message and "favourites_count" in message and "like_count" in message


@pytest.mark.parametrize("column", ["screen_name", "created_at", "statuses_count", "followers_count",
                                    "friends_count", "favourites_count"])  # written out: not the code's own list
def test_each_required_column_missing_fails_the_call(flagger, column):
    with pytest.raises(DataFormatError, match=f"lacks required column\\(s\\) {column}[ .]"):  # not the list after
        flagger.flag(_accounts().drop(columns=column), now=NOW)


def test_the_flat_x_api_v2_count_names_are_read_as_the_v1_ones(flagger):
    """`username`, `tweet_count`, `following_count`, `like_count` as top-level columns (a flattened v2 export)."""
    v1 = _accounts().loc[[10, 12, 14]].reset_index(drop=True)
    v2 = v1.rename(columns={"screen_name": "username", "statuses_count": "tweet_count",
                            "friends_count": "following_count", "favourites_count": "like_count"})
    got = flagger.flag(v2, now=NOW)
    assert got["error"].isna().all()
    np.testing.assert_allclose(got["p_bot"].astype(float), flagger.flag(v1, now=NOW)["p_bot"].astype(float))


def test_cli_flag_collision_refused_then_prefix_keeps_the_input(flagger, tmp_path):
    from handleval.accounts.flag import FLAG_COLUMNS
    from handleval.batch import read_output

    source = tmp_path / "kaggle.csv"
    _kaggle_like().to_csv(source, index=False)
    refused = run_cli("flag", str(source), "-o", str(tmp_path / "out"), "--quiet")
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "'bot'" in refused.stderr and "'status'" not in refused.stderr and "--prefix" in refused.stderr
    assert not (tmp_path / "out").exists()
    done = run_cli("flag", str(source), "-o", str(tmp_path / "out"), "--prefix", "hv_", "--quiet")
    assert done.returncode == 0, done.stderr
    out = read_output(tmp_path / "out")
    assert out["bot"].astype(str).tolist() == ["0", "1", "0"] and out["status"].fillna("").tolist()[0] == \
        "{'text': 'hi'}"
    assert {"hv_p_bot", "hv_bot", "hv_account_status", "hv_error"} <= set(out.columns) and "error" not in out.columns
    assert list(out.columns) == [*_kaggle_like().columns, *(f"hv_{c}" for c in FLAG_COLUMNS)]  # as predict's


def test_cli_flag_missing_required_column_fails_at_once(tmp_path):
    from handleval.cli import app
    from tests._helpers import cli_runner

    def run(*args: str):
        return cli_runner().invoke(app, list(args))

    source = tmp_path / "accounts.csv"
    _accounts().drop(columns=["created_at"]).to_csv(source, index=False)
    result = run("flag", str(source), "-o", str(tmp_path / "out"), "--quiet")
    text = " ".join(result.output.split())
    assert result.exit_code == 2, text
    assert "created_at" in text and "required" in text and "accounts.csv lacks" in text
    assert not (tmp_path / "out").exists()
    (tmp_path / "empty.csv").write_bytes(b"")  # no columns at all: not an empty success with predict's columns
    for command in ("flag", "triage"):
        result = run(command, str(tmp_path / "empty.csv"), "-o", str(tmp_path / "out.csv"), "--quiet")
        text = " ".join(result.output.split())
        assert result.exit_code == 2 and "empty.csv is empty (0 bytes): it has no accounts" in text, text
        assert not (tmp_path / "out.csv").exists()


def test_cli_flag_reads_ndjson_of_v1_and_v2_user_objects(flagger, tmp_path):
    import json

    from handleval.batch import read_output

    v1 = _accounts().loc[[10, 12, 14]].drop(columns=["last_active_at"]).reset_index(drop=True)
    v1["created_at"] = ["2010-03-21", "2019-05-05", "2015-02-01"]
    v1["observed_at"] = "2024-06-01T00:00:00Z"
    expected = flagger.flag(v1)["p_bot"].astype(float).to_numpy()
    v2 = [{**o, "observed_at": "2024-06-01T00:00:00Z"} for o in _v2(v1)]
    v1_lines = [json.dumps({k: (bool(v) if k == "verified" else v) for k, v in r.items()})
                for r in v1.astype(object).to_dict(orient="records")]
    (tmp_path / "v1.ndjson").write_text("\n".join(v1_lines) + "\n", encoding="utf-8")
    # a v2 API response per line ({"data": {...}}), a blank line, and a broken line that must stay a row
    v2_lines = [json.dumps({"data": v2[0]}), "", json.dumps(v2[1]), "{not json", json.dumps(v2[2])]
    (tmp_path / "v2.jsonl").write_text("\n".join(v2_lines) + "\n", encoding="utf-8")
    for name in ("v1.ndjson", "v2.jsonl"):
        out_dir = tmp_path / f"out_{name.replace('.', '_')}"  # a directory of parts (out_v1.ndjson is refused)
        result = run_cli("flag", str(tmp_path / name), "-o", str(out_dir), "--quiet")
        assert result.returncode == 0, result.stderr
        out = read_output(out_dir)
        scored = out[out["error"].isna()]
        np.testing.assert_allclose(pd.to_numeric(scored["p_bot"]).to_numpy(), expected, atol=1e-4)
        if name == "v2.jsonl":
            assert len(out) == 4 and "not valid JSON" in out.loc[2, "error"]
            assert out.loc[0, "username"] == v1.loc[0, "screen_name"]


def test_cli_triage_reads_x_api_v2_user_objects_as_flag_does(tmp_path):
    v1 = _accounts().loc[[10, 12, 14]].drop(columns=["last_active_at"]).reset_index(drop=True)
    v1["created_at"] = ["2010-03-21", "2019-05-05", "2015-02-01"]
    pd.json_normalize(_v2(v1)).to_csv(tmp_path / "v2.csv", index=False)  # username, public_metrics.tweet_count …
    result = run_cli("triage", str(tmp_path / "v2.csv"), "-o", str(tmp_path / "ranked.csv"))
    assert result.returncode == 0, result.stderr
    ranked = pd.read_csv(tmp_path / "ranked.csv")
    assert sorted(ranked["username"]) == sorted(v1["screen_name"]) and "screen_name" not in ranked.columns
    assert ranked["price_usd"].notna().all() and ranked["error"].isna().all()
    assert v1.loc[0, "screen_name"] in result.stdout  # the terminal table names each account
    # no observed_at: triage says so as flag does (it ranked on measurements against today without a word)
    assert "no observed_at (or probe_created_at, crawled_at, updated, account_age_days) column" in " ".join(
        result.stderr.split())


def test_cli_flag_reads_a_line_that_is_an_x_api_v2_response_page(tmp_path):
    import json

    from handleval.batch import read_output

    v1 = _accounts().loc[[10, 12, 14]].drop(columns=["last_active_at"]).reset_index(drop=True)
    v1["created_at"] = ["2010-03-21", "2019-05-05", "2015-02-01"]
    users = [{**o, "observed_at": "2024-06-01T00:00:00Z"} for o in _v2(v1)]
    # a page of users, a page of posts whose authors come in includes.users (the posts' dates are no account's),
    # and the empty last page of a paginated answer (its meta alone: it was a row "missing screen_name")
    post = {"id": "99", "text": "hello", "author_id": "7", "created_at": "2024-05-30T00:00:00Z"}
    mentioned = {**users[0], "id": "8", "username": "zqmentioned"}  # in includes too, but no author of these posts
    lines = [json.dumps({"data": users[:2], "meta": {"result_count": 2}}),
             json.dumps({"data": [post], "includes": {"users": [mentioned, {**users[2], "id": "7"}]}}),
             json.dumps({"meta": {"result_count": 0}})]
    (tmp_path / "pages.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run_cli("flag", str(tmp_path / "pages.jsonl"), "-o", str(tmp_path / "out"), "--quiet")
    assert result.returncode == 0, result.stderr
    out = read_output(tmp_path / "out")
    assert out["username"].tolist() == v1["screen_name"].tolist() and out["error"].isna().all()
    assert out["created_at"].tolist()[2] == users[2]["created_at"]
    # a crawler's time beside a page ({"data": [...], "observed_at": ...}) stopped the run, or the page became one
    # row "missing screen_name": it is each of the page's users' own now
    bare = [{k: v for k, v in u.items() if k != "observed_at"} for u in users[:2]]
    (tmp_path / "dated.jsonl").write_text(json.dumps({"data": bare, "observed_at": "2024-05-01T00:00:00Z"}) + "\n"
                                          + json.dumps(users[2]) + "\n", encoding="utf-8")
    result = run_cli("flag", str(tmp_path / "dated.jsonl"), "-o", str(tmp_path / "dated"), "--quiet")
    assert result.returncode == 0, result.stderr
    dated = read_output(tmp_path / "dated")
    assert dated["username"].tolist() == v1["screen_name"].tolist() and dated["error"].isna().all()
    assert dated["measured_at"].tolist() == ["2024-05-01T00:00:00Z"] * 2 + ["2024-06-01T00:00:00Z"]
    # a key of the crawler's own beside a page is not taken for an observation time: the line is one row saying so
    # (the file was "lacking required columns", the page read as one user)
    (tmp_path / "fetched.jsonl").write_text(json.dumps(users[0]) + "\n" + json.dumps(
        {"data": bare, "meta": {"result_count": 2}, "fetched_at": "2024-05-01T00:00:00Z"}) + "\n", encoding="utf-8")
    result = run_cli("flag", str(tmp_path / "fetched.jsonl"), "-o", str(tmp_path / "fetched.csv"), "--quiet")
    assert result.returncode == 0, result.stderr
    assert read_output(tmp_path / "fetched.csv")["error"].tolist()[1] == (
        "line 2 is an X API v2 response page with keys the API does not write ('fetched_at'): name the time it was "
        "fetched observed_at (it is then each user's), or remove them")
    bare = {"id": "98", "text": "hello", "edit_history_tweet_ids": ["98"]}  # the API's default fields: no author
    # a line of includes alone was a row "missing screen_name": its users are the ones a page mentions; a line whose
    # data is null is a row too (it was read as an empty page and lost)
    only_includes = json.dumps({"includes": {"users": [mentioned]}})
    (tmp_path / "posts.jsonl").write_text("\n".join([lines[0], json.dumps({"data": [bare]}), only_includes,
                                                     json.dumps({"username": "zqnull", "data": None})]) + "\n",
                                          encoding="utf-8")
    result = run_cli("flag", str(tmp_path / "posts.jsonl"), "-o", str(tmp_path / "posts"), "--quiet")
    assert result.returncode == 0, result.stderr
    assert read_output(tmp_path / "posts")["error"].tolist()[2:] == [
        "line 2 is a page of posts without their authors: ask the X API with "
        "expansions=author_id&user.fields=created_at,public_metrics (the users come in includes.users)",
        "line 3 is an X API response without data: its includes are users the page mentions, not the accounts asked "
        "for", "created_at missing or unparseable"]
    # the users a response could not return (suspended, not found: the accounts a release decision is about) were
    # dropped from a page, or a row "missing screen_name": now a row each, named, with the API's words
    gone = {"value": "zqgone", "detail": "Could not find user with usernames: [zqgone].", "parameter": "usernames"}
    suspended = {"value": "zqsusp", "title": "Forbidden", "detail": "User has been suspended: [zqsusp].",
                 "parameter": "usernames"}
    pinned = {"value": "1", "detail": "Could not find tweet with pinned_tweet_id: [1].", "parameter": "pinned_tweet_id",
              "resource_type": "tweet"}  # about an expansion of a returned user: no row of its own
    lines = [json.dumps({"data": users[:1], "errors": [gone, pinned]}), json.dumps({"errors": [suspended]}),
             json.dumps([v1.astype(object).to_dict(orient="records")[1]]),  # a v1.1 users/lookup array
             json.dumps({"errors": [{"code": 50, "message": "User not found."}]}), json.dumps({"errors": "oops"})]
    (tmp_path / "errors.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run_cli("flag", str(tmp_path / "errors.jsonl"), "-o", str(tmp_path / "out2"), "--quiet")
    assert result.returncode == 0, result.stderr
    out = read_output(tmp_path / "out2")
    assert len(out) == 6 and out["username"].tolist()[:3] == [v1.loc[0, "screen_name"], "zqgone", "zqsusp"]
    assert out["error"].tolist()[1:3] == ["line 1: X API error: Could not find user with usernames: [zqgone].",
                                          "line 2: X API error: User has been suspended: [zqsusp]."]
    assert out.loc[3, "screen_name"] == v1.loc[1, "screen_name"] and pd.isna(out.loc[3, "error"])
    assert out["error"].tolist()[4:] == ["line 4: X API error: User not found.", "line 5: X API error: oops"]
    # the users/lookup array saved as .json on one line is read as the same rows
    (tmp_path / "lookup.json").write_text(lines[2] + "\n", encoding="utf-8")
    assert run_cli("flag", str(tmp_path / "lookup.json"), "-o", str(tmp_path / "out4"), "--quiet").returncode == 0
    assert read_output(tmp_path / "out4")["screen_name"].tolist() == [v1.loc[1, "screen_name"]]
    # a page saved pretty-printed is one clear error, not "lacks required column(s)" listing every column
    (tmp_path / "pretty.ndjson").write_text(json.dumps({"data": users}, indent=2), encoding="utf-8")
    pretty = run_cli("flag", str(tmp_path / "pretty.ndjson"), "-o", str(tmp_path / "out3"))
    assert pretty.returncode == 2 and "is a JSON document over several lines" in " ".join(pretty.stderr.split())


def test_flag_help_documents_every_accepted_column():
    from handleval.accounts.features import COLUMN_ALIASES, GUARD_COLUMNS

    result = run_cli("flag", "--help")
    assert result.returncode == 0
    # each name as a whole word: 'followers' inside 'followers_count' would not say 'followers' is read
    words = set(re.findall(r"[\w.]+", result.stdout.replace(".\n", "\n")))
    for canonical, names in COLUMN_ALIASES.items():
        for name in (canonical, *names):
            assert name in words, name
    for name in (*GUARD_COLUMNS, *FLAG_COLUMNS):
        assert name in words, name


# ------------------------------------------------------------------------------------------------ bot types
def test_type_scores_add_up_to_p_bot_and_type_only_for_bots(flagger):
    from handleval.accounts.flag import BOT_TYPES

    out = flagger.flag(_accounts(), now=NOW).dropna(subset=["p_bot"])
    parts = out[[f"p_{t}" for t in BOT_TYPES]].astype(float).sum(axis=1)
    np.testing.assert_allclose(parts, out["p_bot"].astype(float), atol=5e-4)
    bots = out["bot"].astype(bool)
    assert out.loc[~bots, "bot_type"].isna().all()
    for i in out.index[bots]:
        scores = {t: out.at[i, f"p_{t}"] for t in BOT_TYPES}
        assert out.at[i, "bot_type"] == max(scores, key=scores.get)


class SelfDeclaredFlagger(AccountFlagger):
    """The real flagger, with its type output pinned to 'self-declared bot' to test triage's rule."""

    def __init__(self, real: AccountFlagger):
        self.__dict__.update(real.__dict__)

    def flag_columns(self, accounts, now=None, reasons=True):
        out = super().flag_columns(accounts, now=now, reasons=reasons)
        scored = out["p_bot"].notna()
        out.loc[scored, "p_bot"] = 0.97
        out.loc[scored, "bot"] = True
        out.loc[scored, "bot_type"] = "self_declared"
        out.loc[scored, "p_self_declared"] = 0.9
        out.loc[scored, "p_spam"] = 0.07
        out.loc[scored, ["p_fake_follower", "p_amplifier"]] = 0.0
        out.loc[scored, "p_dormant"] = 0.2
        return out


def test_triage_never_releases_a_self_declared_bot_for_being_a_bot(flagger):
    out = triage(_accounts(), valuer=PriceByLength(), flagger=SelfDeclaredFlagger(flagger), now=NOW)
    scored = out.dropna(subset=["expected_value"])
    assert len(scored) >= 4
    # P(bot) 0.97 would make every row releasable; as a self-declared bot only the dormancy part counts
    assert (scored["p_releasable"] <= 0.2 + 1e-9).all()
    # releasable only where the account is dormant, never for being a bot
    dormant = scored["dormant"].astype("boolean").fillna(False) & (scored["guard_rail"] == "")
    assert (scored["releasable"].astype(bool) == dormant).all() and (~dormant).any()
    free = scored[scored["guard_rail"] == ""]
    assert free["triage_reasons"].str.contains("counted 0: its type is self-declared, not released for being a "
                                               "bot").all()
    # on accounts the flagger does not call self-declared, no such clause (it read on humans at p 0.006), and where
    # P(self-declared bot) is taken off P(bot), the reason says so, not that the account is one (BBCNews read so)
    plain = triage(_accounts(), valuer=PriceByLength(), flagger=flagger, now=NOW).dropna(subset=["expected_value"])
    small = plain["p_self_declared"] < 0.05
    assert small.any() and not plain.loc[small, "triage_reasons"].str.contains("self-declared").any()
    part = ~small & (plain["bot_type"] != "self_declared").fillna(True) & (plain["guard_rail"] == "")
    less = plain.loc[part, "triage_reasons"].str.contains("less P(self-declared bot) 0.", regex=False)
    assert part.any() and less.all()
    assert not plain["triage_reasons"].str.contains("not released for being").any()


def test_flag_batch_scorer_keeps_the_input_columns_as_predicts_does(tmp_path):
    """Called through run_batch without declared output columns (benchmarks, the Spark recipe, `python -m
    handleval.batch --scorer handleval.accounts.flag:batch_scorer`), flag's scorer gives every input column then
    the flag columns, as predict's does; the CLI's outputs_scorer gives the flag columns only."""
    from handleval.accounts.flag import FLAG_COLUMNS
    from handleval.batch import read_output, run_batch

    source = tmp_path / "accounts.csv"
    _accounts().to_csv(source, index=False)
    run_batch(source, tmp_path / "out", scorer_factory=("handleval.accounts.flag", "batch_scorer", {}),
              required_columns=(), quiet=True)
    out = read_output(tmp_path / "out")
    assert list(out.columns) == [*_accounts().columns, *FLAG_COLUMNS]
    assert out["screen_name"].fillna("").tolist() == _accounts()["screen_name"].fillna("").tolist()


def test_flag_reads_a_pipe_once_and_scores_every_row(tmp_path):
    """`cat accounts.csv | handleval flag /dev/stdin` checked the columns on one read of the pipe and scored a
    second, empty one: 0 rows written, exit 0. A pipe is read once; NDJSON through a pipe is read as NDJSON."""
    import subprocess
    import sys

    from tests._helpers import ROOT, checkout_env

    accounts = _kaggle_like().drop(columns=["bot", "status"])
    for name, data in (("csv", accounts.to_csv(index=False)),
                       ("ndjson", accounts.to_json(orient="records", lines=True))):  # v1.1 user objects
        out = tmp_path / f"{name}.csv"
        done = subprocess.run([sys.executable, "-m", "handleval", "flag", "/dev/stdin", "-o", str(out), "--quiet"],
                              input=data, capture_output=True, text=True, cwd=ROOT, env=checkout_env(), timeout=600,
                              check=False)
        assert done.returncode == 0, (name, done.stderr)
        scored = pd.read_csv(out)
        assert scored["screen_name"].tolist() == accounts["screen_name"].tolist(), name
        assert scored["p_bot"].notna().all() and scored["error"].isna().all(), (name, scored["error"].tolist())


def test_triage_counts_a_handle_listed_twice_once_and_its_guard_rail_holds_for_all(flagger):
    """pizza (active last week), Pizza and @pizza (silent since 2019) were ranked as three accounts: two came out
    releasable and the one handle's price was counted three times."""
    rows = pd.DataFrame({"screen_name": ["pizza", "Pizza", "@pizza", "nikezz", "nikezz"],
                         "created_at": ["2015-01-01"] * 5, "statuses_count": [100, 100, 5000, 5000, 5000],
                         "followers_count": [50, 50, 2, 2, 2], "friends_count": [60, 60, 3000, 3000, 3000],
                         "favourites_count": [10, 10, 0, 0, 0],
                         "last_active_at": ["2024-12-01", "2019-01-01", "2019-01-01", "2019-01-01", "2019-01-01"],
                         "observed_at": ["2024-12-05"] * 5})
    out = triage(rows, valuer=PriceByLength(), flagger=flagger).set_index("row")
    assert not out.loc[[0, 1, 2], "releasable"].astype(bool).any()
    assert out.loc[[1, 2], "guard_rail"].str.endswith("(row 0 of the same handle)").all()
    assert out.loc[4, "guard_rail"] == "the same handle as row 3: counted once" and out.loc[4, "expected_value"] == 0
    assert out.loc[3, "expected_value"] > 0


def test_a_row_that_cannot_be_scored_speaks_for_no_other_row_of_its_handle(flagger):
    """pizza's first row had an unparseable created_at: it 'counted' for the handle, so the scorable Pizza got
    "the same handle as row 0: counted once" and an expected value of 0, and the account fell out of the ranking.
    A guard rail names the row it comes from (it named the handle's first row)."""
    rows = pd.DataFrame({"screen_name": ["pizza", "Pizza", "nikezz", "nikezz", "NIKEZZ"],
                         "created_at": ["garbage", "2015-01-01", "2015-01-01", "2015-01-01", "2015-01-01"],
                         "statuses_count": [5000] * 5, "followers_count": [2] * 5, "friends_count": [3000] * 5,
                         "favourites_count": [0] * 5, "verified": [False, False, False, True, False],
                         "observed_at": ["2024-12-05"] * 5})
    out = triage(rows, valuer=PriceByLength(), flagger=flagger).set_index("row")
    assert out.loc[1, "expected_value"] > 0 and out.loc[1, "guard_rail"] == ""
    assert pd.notna(out.loc[0, "error"]) and out.loc[0, "guard_rail"] == "the same handle as row 1: counted once"
    assert out.loc[[2, 4], "guard_rail"].str.endswith("(row 3 of the same handle)").all()
    # but a guard rail is never overridden: a verified flag on a row whose created_at cannot be read still holds for
    # the handle (the same handle was both "verified: never releasable" and releasable); a ragged row's does not
    # (its 'verified' may be another field: test_triage_safety)
    rows.loc[0, "verified"] = True
    again = triage(rows, valuer=PriceByLength(), flagger=flagger).set_index("row")
    assert again.loc[1, "expected_value"] == 0 and again.loc[1, "guard_rail"].startswith("verified account")


def test_a_count_missing_from_v2_objects_is_each_rows_error_whatever_the_chunk(flagger):
    """A required count missing from every public_metrics object of a chunk was taken as unknown: an account with
    no metrics at all was flagged as a bot (p 0.73) when alone in its chunk, and got an error beside others."""
    frame = pd.DataFrame({"username": ["ghost", "news", "real"], "created_at": ["2022-01-01T00:00:00Z"] * 3,
                          "observed_at": ["2024-01-01T00:00:00Z"] * 3,
                          "public_metrics": [None, {}, {"followers_count": 5, "following_count": 7,
                                                         "tweet_count": 9, "like_count": 1}]})
    together = flagger.flag(frame)
    alone = pd.concat([flagger.flag(frame.iloc[[i]]) for i in range(3)])
    pd.testing.assert_frame_equal(alone, together)
    assert together["p_bot"].isna().tolist() == [True, True, False]
    assert together["error"].tolist()[:2] == ["public_metrics.tweet_count missing"] * 2
    # pd.json_normalize writes the flattened columns and an all-missing object column (for a user with None)
    flat = pd.json_normalize([{**frame.iloc[2].to_dict()}, {**frame.iloc[0].to_dict(), "username": "ghost2"}])
    assert "public_metrics" in flat and "public_metrics.tweet_count" in flat
    assert flagger.flag(flat)["p_bot"].tolist()[0] == together["p_bot"].tolist()[2]


def test_a_ratio_reason_shows_the_accounts_own_counts():
    """The model reads likes per tweet smoothed, (likes + 1) / (tweets + 1): 0 likes for 0 tweets read "likes per
    tweet 1.0", 0 for 1 "0.5". A ratio reason now shows the ratio of the row's own counts, and the counts."""
    import re

    rng = np.random.default_rng(0)
    n = 400
    accounts = pd.DataFrame({"screen_name": [f"user{i}" for i in range(n)], "created_at": "2010-01-01",
                             "observed_at": "2024-01-01", "statuses_count": rng.choice([0, 1, 5, 100, 5000], n),
                             "followers_count": rng.choice([0, 3, 50, 2000], n),
                             "friends_count": rng.choice([0, 10, 300, 5000], n),
                             "favourites_count": rng.choice([0, 2, 40, 9000], n)})
    reasons = load_accounts().flag(accounts)["reasons"].tolist()
    seen = 0
    for i, text in enumerate(reasons):
        for shown, likes, tweets in re.findall(r"likes per tweet (\S+) \(([\d,]+) likes, ([\d,]+) tweets\)", text):
            seen += 1
            likes, tweets = int(likes.replace(",", "")), int(tweets.replace(",", ""))
            assert (likes, tweets) == (accounts.favourites_count[i], accounts.statuses_count[i]), text
            assert shown == ("n/a" if tweets == 0 else f"{likes / tweets:.2g}" if likes < 100 * tweets
                             else f"{likes / tweets:,.0f}"), text
    assert seen >= 50 and not any("likes per tweet 1.0" in r or "likes per tweet 0.5" in r for r in reasons)


def test_triage_takes_a_handles_newest_observation_and_knows_its_profile_address(flagger):
    """A 2019 snapshot of a dormant account was listed first and spoke for the handle over this year's snapshot of
    it (the newest observation speaks now); ``https://x.com/zqjack`` was priced as zqjack but ranked as another
    account, its value counted twice."""
    rows = pd.DataFrame({"screen_name": ["zqbusy", "zqbusy", "https://x.com/zqjack", "zqjack"],
                         "created_at": ["2012-01-01"] * 4, "statuses_count": [900, 40_000, 500, 500],
                         "followers_count": [20, 3_000, 20, 20], "friends_count": [30, 400, 30, 30],
                         "favourites_count": [10, 20_000, 10, 10],
                         "last_active_at": ["2017-01-01", "", "2017-01-01", "2017-01-01"],
                         "observed_at": ["2019-01-01", "2024-05-01", "2019-01-01", "2019-01-01"]})
    out = triage(rows, valuer=PriceByLength(), flagger=flagger).set_index("row")
    assert out.loc[0, "guard_rail"] == "the same handle as row 1: counted once", out.loc[0, "guard_rail"]
    assert out.loc[1, "guard_rail"] == "" and out.loc[1, "dormancy_basis"] == "estimate"
    assert out.loc[3, "guard_rail"] == "the same handle as row 2: counted once", out.loc[3, "guard_rail"]
    # a listing without observed_at was seen at no known time: it is measured "now", but it is not the newest
    undated = rows.iloc[[1, 0]].reset_index(drop=True)
    undated.loc[1, "observed_at"] = ""
    out = triage(undated, valuer=PriceByLength(), flagger=flagger).set_index("row")
    assert out.loc[1, "guard_rail"] == "the same handle as row 0: counted once", out.loc[1, "guard_rail"]
    # two crawls within one second: the later by its milliseconds speaks, as the guard rails read it (the order
    # once went by measured_at, written to the second, and took the earlier row listed first)
    close = rows.iloc[[0, 1]].reset_index(drop=True).assign(observed_at=["2024-05-01T10:00:00.100Z",
                                                                         "2024-05-01T10:00:00.900Z"])
    out = triage(close, valuer=PriceByLength(), flagger=flagger).set_index("row")
    assert out.loc[0, "guard_rail"] == "the same handle as row 1: counted once", out.loc[0, "guard_rail"]
    assert out.loc[1, "guard_rail"] == "", out.loc[1, "guard_rail"]
    # a handle none of whose listings can be scored is unknown (NA) on every row, not False on the repeats
    broken = rows.iloc[[0, 1]].assign(created_at="not a date").reset_index(drop=True)
    out = triage(broken, valuer=PriceByLength(), flagger=flagger)
    assert out["releasable"].isna().all(), out[["releasable", "guard_rail"]]


def test_a_v1_user_objects_latest_tweet_is_its_last_activity(flagger):
    """A Twitter v1.1 user object carries its latest tweet (``status``): flattened, ``status.created_at`` is the
    last activity, as training reads it for Kaggle-2017 (it was ignored: dormancy was estimated)."""
    rows = pd.DataFrame({"screen_name": ["zqold", "zqnone"], "created_at": ["Wed Mar 21 20:50:14 +0000 2012"] * 2,
                         "statuses_count": [120, 120], "followers_count": [30, 30], "friends_count": [40, 40],
                         "favourites_count": [5, 5], "status.created_at": ["Mon Mar 13 16:05:22 +0000 2017", None],
                         "observed_at": ["2024-06-01"] * 2})
    out = flagger.flag(rows)
    assert out["dormancy_basis"].tolist() == ["last_active_at", "estimate"]
    assert bool(out.loc[0, "dormant"]) and "last active 2636 days before measured_at" in out.loc[0, "reasons"]


def test_a_v1_status_column_holding_the_tweet_gives_the_last_activity(flagger):
    """An operator's review: Kaggle-2017's file (and any DataFrame of v1.1 objects written to CSV) holds the latest
    tweet as a ``status`` cell, JSON or a Python dict's text; it was ignored at flag (an active account came out
    releasable) while training reads it. Read as ``status.created_at``, the same as a flattened column."""
    import json

    tweet = {"created_at": "Mon Mar 13 16:05:22 +0000 2017", "text": "it's on", "retweeted_status": {
        "created_at": "Sun Jan 01 00:00:00 +0000 2017"}}  # an embedded retweet's time is not the account's
    rows = pd.DataFrame({"screen_name": ["zqa", "zqb", "zqc", "zqd"],
                         "created_at": ["Wed Mar 21 20:50:14 +0000 2012"] * 4, "statuses_count": [120] * 4,
                         "followers_count": [30] * 4, "friends_count": [40] * 4, "favourites_count": [5] * 4,
                         "status": [json.dumps(tweet), str(tweet), None, "{not a tweet"],
                         "observed_at": ["2017-03-20"] * 4})
    out = flagger.flag(rows)
    assert out["dormancy_basis"].tolist() == ["last_active_at", "last_active_at", "estimate", "estimate"]
    assert out["days_inactive"].iloc[:2].round(1).tolist() == [6.3, 6.3]
    assert out["error"].isna().all() and out["status"].tolist() == rows["status"].tolist()  # the input's own
    flat = rows.drop(columns="status").assign(**{"status.created_at": [tweet["created_at"]] * 2 + [None] * 2})
    pd.testing.assert_series_equal(flagger.flag(flat)["p_bot"], out["p_bot"])
    # text: the latest time it holds (tweepy's text gave its user's creation first); a dict: its own, in any form
    tweepy = ("Status(_json={'user': {'created_at': 'Wed Mar 21 20:50:14 +0000 2012'}, 'created_at': "
              "'Mon Mar 13 16:05:22 +0000 2017'})")
    own = {"created_at": "2017-03-13T16:05:22Z", "retweeted_status": {"created_at": "Sun Jan 01 00:00:00 +0000 2017"}}
    both = flagger.flag(rows.iloc[:2].assign(status=pd.Series([tweepy, own], index=rows.index[:2], dtype=object)))
    assert both["days_inactive"].round(1).tolist() == [6.3, 6.3], both["days_inactive"]


def test_numbers_a_spreadsheet_mangled_are_row_errors_not_other_numbers(flagger):
    """An operator's review: Excel writes a post id as ``1.88E+18`` (its time then off by days: an active account
    came out dormant and releasable) and a German one 150,000 followers as ``150.000`` (read as 150: the notable
    rail missed it); epoch seconds were "unparseable" while milliseconds were read."""
    base = dict(screen_name="zqa", created_at="2015-01-01", statuses_count=500, followers_count=30,
                friends_count=40, favourites_count=5, observed_at="2025-02-20")
    rows = pd.DataFrame([{**base, "most_recent_tweet_id": "1881234567890123456"},
                         {**base, "most_recent_tweet_id": "1.88E+18"},
                         {**base, "most_recent_tweet_id": "1.881234567890123E+18"},
                         {**base, "followers_count": "150.000"},
                         {**base, "created_at": str(int(pd.Timestamp("2015-01-01", tz="UTC").timestamp()))},
                         {**base, "created_at": str(int(pd.Timestamp("2015-01-01", tz="UTC").timestamp() * 1000))}])
    out = flagger.flag(rows)
    assert out["error"].isna().tolist() == [True, False, True, False, True, True], out["error"]
    assert "rounded as a spreadsheet writes 1.88E+18" in out.loc[1, "error"]
    assert "dot between thousands" in out.loc[3, "error"]
    assert out.loc[0, "days_inactive"] == pytest.approx(out.loc[2, "days_inactive"], abs=1e-3)
    assert out.loc[4, "p_bot"] == out.loc[5, "p_bot"] == out.loc[0, "p_bot"]  # epoch seconds, ms and ISO alike
    # a float is a float: 150.125 is no thousands ('not a whole number'); 9 digits are no epoch seconds
    floats = flagger.flag(rows.iloc[[0, 0]].assign(followers_count=[150.125, 150.0], created_at=["123456789"] * 2))
    assert floats["error"].tolist() == ["created_at missing or unparseable"] * 2
    floats = flagger.flag(rows.iloc[[0, 0]].assign(followers_count=[150.125, 150.0]))
    said = floats["error"].tolist()
    assert said[0] == "followers_count is not a whole number" and pd.isna(said[1])
    # a count column twice, in two cases: which one the notable rail reads would be a guess
    with pytest.raises(DataFormatError, match="'Followers_count', which is not 'followers_count'"):
        flagger.flag(rows.assign(Followers_count=250_000))



def test_a_lone_surrogate_in_a_text_column_is_no_traceback(flagger):
    """A library user's review: '\\ud800' (no UTF-8 holds it, nor pandas' Arrow text) in a screen name or a
    description stopped flag and triage with a pyarrow UnicodeEncodeError; it reads as '?' (a screen name of it is
    the row's error in triage, a description one more character)."""
    rows = _accounts().loc[[10, 14]].assign(
        screen_name=pd.Series(["alice", "d\ud800ve"], index=[10, 14], dtype=object),
        description=pd.Series(["\ud800", "hi"], index=[10, 14], dtype=object))
    flags = flagger.flag(rows, now=NOW)
    assert flags["error"].isna().all() and flags["p_bot"].notna().all()
    from handleval.price.predict import load

    out = triage(rows, valuer=load(), flagger=flagger, now=NOW).sort_values("row")
    assert out["error"].isna().tolist() == [True, False] and "character '?' not allowed" in out["error"].iloc[1]


def test_now_is_a_time_that_has_come_and_triage_prices_as_of_it(flagger):
    """A library user's review: ``now=2020`` was read as nanoseconds after 1970 (every row "in the future"), a ``now``
    of 2099 made an account inactive for 27,396 days and releasable, and ``triage(now="2016-06-01")`` flagged as
    of 2016 but priced as of today (a name's own sale aged to now). Without an observation time, the library warns
    as the command does."""
    from handleval.errors import HandlevalWarning
    from handleval.price.predict import load

    rows = _accounts().loc[[10, 14]].assign(screen_name=["ericdoa", "jdk_19927"])  # ericdoa sold 2025-03-10 14:42
    for wrong, says in ((2020, "is not a date or time"), (True, "is not a date or time"),
                        ("2099-01-01", "is after the current time"), ("1650-01-01", "before X existed")):
        with pytest.raises(DataFormatError, match=says):
            flagger.flag(rows.assign(observed_at="2016-01-01"), now=wrong)
    valuer = load()
    # a date alone is priced as pricing reads it, at the end of that day (with the day's own sales)
    out = triage(rows, valuer=valuer, flagger=flagger, now="2025-03-10").sort_values("row")
    names = rows["screen_name"].tolist()
    then = valuer.value_many(names, as_of="2025-03-10")["price_usd"].tolist()
    assert out["price_usd"].tolist() == then != valuer.value_many(names)["price_usd"].tolist()
    assert then != valuer.value_many(names, as_of="2025-03-10T00:00:00")["price_usd"].tolist()

    class Logged:  # a stand-in that passes its arguments on (**kwargs) gets the time too
        def value_many(self, names, **kwargs):
            return valuer.value_many(names, **kwargs)

    assert triage(rows, valuer=Logged(), flagger=flagger, now="2025-03-10").sort_values("row")[
        "price_usd"].tolist() == then
    with pytest.warns(HandlevalWarning, match="no observed_at"):  # no time given: measured now, and said so
        flagger.flag(rows)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        flagger.flag(rows, now=NOW)  # a time given is the one they are measured at
    with pytest.raises(ValueError, match="2019 is not a date or time"):  # pricing's as_of, the same rule
        valuer.value_many(names, as_of=2019)


def test_an_age_when_seen_gives_the_observation_time(flagger):
    """An operator ran the 2020 Twitter Human-Bots files as they are: each row's time of observation is its
    created_at plus account_age_days (training reads it so), but flag measured every account at today's date (bot
    recall 63% against 70% at the real time). Without observed_at, created_at + account_age_days is the time."""
    rows = _accounts().loc[[10, 14]].drop(columns="last_active_at").assign(
        created_at=["2016-01-01T00:00:00Z", "2016-01-01T00:00:00Z"], account_age_days=[1000, None])
    out = flagger.flag(rows, now=NOW)
    assert out["measured_at"].tolist() == ["2018-09-27T00:00:00Z", NOW.strftime("%Y-%m-%dT%H:%M:%SZ")]
    assert out["measured_at_basis"].tolist() == ["account_age_days", "now (no observed_at given)"]
    given = flagger.flag(rows.assign(observed_at="2020-01-01"), now=NOW)  # a time given is the time
    assert given["measured_at_basis"].tolist() == ["observed_at"] * 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        flagger.flag(rows)  # no warning: the age tells the time
    with pytest.raises(DataFormatError, match="'Account_Age_Days', which is not"):  # a twin would be a guess
        flagger.flag(rows.assign(Account_Age_Days=1))
    assert flagger.flag(rows.assign(Status="to do"))["error"].isna().all()  # a CRM's Status column is no tweet
    # an age that is none is the row's error (99999 days overflowed the whole call; '1,000' was measured now)
    odd = flagger.flag(rows.iloc[[0] * 5].assign(account_age_days=[99999, float("inf"), "1,000", -5, 365]))
    assert odd["error"].fillna("").tolist() == ["account_age_days unparseable"] * 4 + [""]
