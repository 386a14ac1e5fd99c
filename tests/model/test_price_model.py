"""The price model trained end to end on real sales: metrics vs baselines, intervals, reasons, bundle."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from handleval.errors import BundleError
from handleval.features.brands import COMPOUND
from handleval.price.predict import default_as_of

pytestmark = pytest.mark.slow
MARKETS = ("fragment_telegram", "namebio_domains", "dash_email")


def test_report_has_every_market_and_both_baselines(small_price):
    for model in ("model", "baseline_market_median", "baseline_length_pattern"):
        assert set(MARKETS) | {"all"} <= set(small_price.metrics[model])
    for market in MARKETS:
        values = small_price.metrics["model"][market]
        assert values["n"] >= 30
        assert {"rmse_ln", "mae_ln", "r2", "spearman", "within_2x", "coverage_10_90"} <= set(values)
    assert "baseline_market_median" in small_price.report_markdown


def test_model_beats_market_median_where_signal_is_strong(small_price):
    """Even the small model must clearly beat 'predict the market median' on Fragment and DASH."""
    m = small_price.metrics
    for market in ("fragment_telegram", "dash_email"):
        assert m["model"][market]["rmse_ln"] < 0.9 * m["baseline_market_median"][market]["rmse_ln"], market
        assert m["model"][market]["spearman"] > 0.3


def test_test_split_is_the_newest_sales_and_disjoint_in_time(small_price):
    """No sale the run trained on is newer than its market's first test sale (the manifest's ``test_from`` is the
    test rows' own minimum, so comparing the test rows with it could not fail: a random split passed), and the run
    held out a share near its fraction."""
    split = small_price.manifest["split"]
    assert set(split["test_from"]) <= set(split["train_to"])
    for market, start in split["test_from"].items():
        assert pd.Timestamp(split["train_to"][market]) <= pd.Timestamp(start), market
    rows = small_price.manifest["training_data"]
    for market in MARKETS:
        share = rows[market]["rows_test"] / (rows[market]["rows_test"] + rows[market]["rows_train"])
        assert 0.08 < share < 0.35, (market, share)


def test_intervals_cover_roughly_their_nominal_share(small_price):
    test = small_price.test_predictions
    assert (test["low"] <= test["pred"]).all() and (test["pred"] <= test["high"]).all()
    coverage = ((test["y"] >= test["low"]) & (test["y"] <= test["high"])).mean()
    assert 0.6 <= coverage <= 0.97


def test_predictions_never_exceed_the_cap(small_price, small_valuer):
    cap = np.log(small_price.manifest["cap_usd"])
    assert small_price.test_predictions["pred"].max() <= cap + 1e-9
    out = small_valuer.value_many(["a", "x", "google", "pizza"])
    assert (out["price_high_usd"] <= small_price.manifest["cap_usd"] + 0.01).all()


def test_bundle_files_and_manifest(small_price):
    bundle = small_price.bundle_dir
    for name in ("model.txt", "quantile_low.txt", "quantile_high.txt", "manifest.json", "MODEL_CARD.md"):
        assert (bundle / name).is_file()
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["kind"] == "price"
    assert set(manifest["files"]) == {*manifest["point_models"], "quantile_low.txt", "quantile_high.txt"}
    assert len(manifest["point_models"]) == manifest["config"]["point_seeds"]
    assert all(len(f["sha256"]) == 64 for s in manifest["training_data"].values() for f in s["files"])
    assert manifest["featurizer"]["lexicons"]
    card = (bundle / "MODEL_CARD.md").read_text()
    assert "not X handles" in card and "research" in card and "rmse_ln" in card
    # each set's licence whole: its restriction is often on its second line (DASH, DN Journal)
    assert "prohibited unless prior written permission" in card and "copied without written consent" in card
    # The bundle holds no training rows: no file mentions a sold name's price table.
    assert not list(bundle.glob("*.csv")) and not list(bundle.glob("*.parquet"))


def test_same_config_and_seed_give_same_metrics(small_price, tmp_path):
    """A second training of the session model's config and seed agrees on every metric and on every tree of its
    point models."""
    from handleval.price.train import train_price
    from tests.model.conftest import small_price_config

    again = train_price(small_price_config(), tmp_path / "price", quiet=True)
    assert again.metrics == small_price.metrics and small_price.metrics
    for name in small_price.manifest["point_models"]:
        assert (again.bundle_dir / name).read_bytes() == (small_price.bundle_dir / name).read_bytes(), name


def test_each_point_model_hides_its_own_comparables(tmp_path):
    """With bagging and feature sampling off, two averaged point models differ only by which rows had their
    comparables hidden: identical without hiding, different with it; the first is the single model's."""
    import lightgbm as lgb

    from handleval.price.train import load_price_config, train_price
    from tests.model.conftest import small_price_config

    params = {**load_price_config().params, "bagging_fraction": 1.0, "bagging_freq": 0, "feature_fraction": 1.0}

    def trees(point_seeds: int, mask: float) -> list[str]:
        cfg = small_price_config(point_seeds=point_seeds, mask_comparables=mask, params=params, max_rounds=40,
                                 max_rows_per_source=400, sources=["fragment_telegram", "namebio_domains"])
        out = train_price(cfg, tmp_path / f"price-{point_seeds}-{mask}", quiet=True)
        return [lgb.Booster(model_file=str(out.bundle_dir / f)).model_to_string().split("end of trees")[0]
                for f in out.manifest["point_models"]]

    unmasked, masked, single = trees(2, 0.0), trees(2, 0.3), trees(1, 0.3)
    assert unmasked[0] == unmasked[1] and masked[0] != masked[1]
    assert masked[0] == single[0]


def test_value_one_handle_with_reasons(small_valuer):
    v = small_valuer.value("pizza", platform="x")
    assert v.error is None and v.price_usd > 0
    assert v.price_low_usd <= v.price_usd <= v.price_high_usd
    assert "proxy" in v.market_basis and "Telegram" in v.market_basis
    assert 2 <= len(v.reasons) <= 5  # at most three, the other features, the market baseline
    assert v.reasons[-1].startswith("market baseline (+$")
    assert all(("(+$" in r) or ("(−$" in r) for r in v.reasons)


def test_short_names_priced_above_random_long_ones(small_valuer):
    out = small_valuer.value_many(pd.DataFrame({"handle": ["pizza", "jdk_19927xq"], "platform": "telegram"}))
    assert out.loc[0, "price_usd"] > out.loc[1, "price_usd"]


def test_value_many_is_row_exact_with_errors(small_valuer):
    frame = pd.DataFrame({
        "handle": ["pizza", "a" * 16, None, "@Nike", "bbc.co.uk", "88@163.com", "   "],
        "platform": ["x", "x", "x", "x", "domain", "email", "x"],
        "note": list("abcdefg"),
    })
    out = small_valuer.value_many(frame)
    assert list(out.columns) == ["handle", "platform", "note", "price_usd", "price_low_usd", "price_high_usd",
                                 "market_basis", "reasons", "risk", "error"]
    assert out["note"].tolist() == list("abcdefg")
    assert out["error"].isna().tolist() == [True, False, False, True, True, True, False]
    assert "16 characters: X allows at most 15" in out.loc[1, "error"]
    assert out.loc[out["error"].notna(), "price_usd"].isna().all()
    assert out.loc[out["error"].isna(), "price_usd"].gt(0).all()


def test_a_row_without_as_of_is_valued_as_of_the_end_of_today(small_valuer):
    """A price quoted twice in a day is the same price: a row without ``as_of`` is valued as of the end of today in
    UTC (it was the current second, so a sold name's price drifted by cents between two runs)."""
    parsed, _ = small_valuer._parse(pd.DataFrame({"handle": ["pizza", "pizza.com"], "platform": ["x", "domain"]}), "x")
    tomorrow = default_as_of()
    assert tomorrow == tomorrow.normalize()
    assert parsed["as_of"].tolist() in ([tomorrow] * 2, [tomorrow + pd.Timedelta(days=1)] * 2)  # midnight passing
    rows = pd.DataFrame({"handle": ["elonmusk", "elonmusk"], "platform": "telegram", "as_of": ["", str(tomorrow)]})
    priced = small_valuer.value_many(rows, reasons=False)
    assert priced["price_usd"].iloc[0] == priced["price_usd"].iloc[1]


def test_value_many_keeps_the_callers_index_and_never_overwrites_its_columns(small_valuer):
    """A sorted frame came back renumbered 0..n-1, so `df['price'] = v.value_many(df)['price_usd']` put pizza's
    price on another handle; and an input's own price_usd, risk or error were replaced without a word."""
    from handleval.errors import ColumnCollisionError

    frame = pd.DataFrame({"handle": ["pizza", "nike", "jdk_19927"]}).sort_values("handle")  # index 2, 1, 0
    frame["price"] = small_valuer.value_many(frame)["price_usd"]
    for handle in frame["handle"]:
        assert frame.loc[frame["handle"] == handle, "price"].item() == small_valuer.value(handle).price_usd
    mine = pd.DataFrame({"handle": ["pizza"], "price_usd": [100.0], "error": ["mine"]}, index=[7])
    with pytest.raises(ColumnCollisionError, match=r"'price_usd', 'error'.*prefix='hv_'"):
        small_valuer.value_many(mine)
    with pytest.raises(TypeError, match="not NoneType"):
        small_valuer.value_many(None)
    from handleval.errors import HandlevalError

    with pytest.raises(HandlevalError, match="prefix is the text"):  # TypeError deep inside pandas before
        small_valuer.value_many(mine, prefix=3)
    with pytest.raises(HandlevalError, match="not a MultiIndex"):  # AttributeError before
        small_valuer.value_many(mine.set_axis(pd.MultiIndex.from_product([["a"], mine.columns]), axis=1))
    kept = small_valuer.value_many(mine, prefix="hv_")
    assert kept.index.tolist() == [7] and kept.loc[7, "price_usd"] == 100.0 and kept.loc[7, "error"] == "mine"
    assert kept.loc[7, "hv_price_usd"] > 0 and pd.isna(kept.loc[7, "hv_error"])


def test_missing_bundle_and_corrupt_bundle(small_price, tmp_path):
    import shutil

    from handleval.price.predict import load

    with pytest.raises(BundleError, match="not found"):
        load(tmp_path / "nowhere")
    broken = tmp_path / "broken"
    shutil.copytree(small_price.bundle_dir, broken)
    model = broken / "model.txt"
    model.write_text(model.read_text()[: len(model.read_text()) // 2])
    with pytest.raises(BundleError, match="sha256"):
        load(broken)
    (broken / "manifest.json").write_text("{not json")
    with pytest.raises(BundleError, match="corrupt"):
        load(broken)


@pytest.mark.parametrize(("edit", "says"), [
    (lambda m: m.pop("market_encoder"), r"malformed \(market_encoder: Field required"),
    (lambda m: m.update(cap_usd="lots"), r"malformed \(cap_usd: Input should be a valid number"),
    (lambda m: m.update(cap_usd=-5), r"malformed \(cap_usd: Input should be greater than 0"),
    (lambda m: m.update(features=m["features"][:-3]), "features differ from the manifest"),
    (lambda m: m.update(featurizer={"bogus": 1}), r"malformed \(featurizer.lexicons: Field required"),
    (lambda m: m.update(markets={"foo": 1}), r"malformed \(markets.rates: Field required; .*markets.foo: Extra inputs"),
])
def test_an_edited_manifest_is_one_bundle_error(small_price, tmp_path, edit, says):
    """A value edited by hand in the manifest no longer matches its ``manifest_sha256``; one written wrong with a
    matching digest (a tool's bug, a bundle from before the digest) is checked value by value: it gave a KeyError,
    TypeError or IndexError (or, cap_usd -5, prices of $nan at exit 0)."""
    import shutil

    from handleval.price.predict import load
    from handleval.trees.bundle import MANIFEST_DIGEST, manifest_digest

    edited = tmp_path / "edited"
    shutil.copytree(small_price.bundle_dir, edited)
    manifest = json.loads((edited / "manifest.json").read_text())
    edit(manifest)
    (edited / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="was edited after training"):
        load(edited)
    manifest[MANIFEST_DIGEST] = manifest_digest(manifest)
    (edited / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match=says):
        load(edited)


def test_bundle_with_other_lexicons_is_refused(small_price, tmp_path):
    import shutil

    from handleval.price.predict import load
    from handleval.trees.bundle import MANIFEST_DIGEST, manifest_digest

    other = tmp_path / "other"
    shutil.copytree(small_price.bundle_dir, other)
    manifest = json.loads((other / "manifest.json").read_text())
    lexicons = manifest["featurizer"]["lexicons"]
    first = next(iter(lexicons))
    lexicons[first] = "0" * 64 if isinstance(lexicons[first], str) else {**lexicons[first], "sha256": "0" * 64}
    manifest[MANIFEST_DIGEST] = manifest_digest(manifest)  # a bundle made on other lexicons, not a hand edit
    (other / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="lexicon"):
        load(other)


def test_homoglyph_handles_are_named_as_lookalikes(small_valuer):
    out = small_valuer.value_many(["pаypal", "gооgle", "pay!pal", "paypal"])  # Cyrillic а and о in the first two
    assert "lookalike of 'paypal'" in out.loc[0, "error"]
    assert "lookalike of 'google'" in out.loc[1, "error"]
    assert "lookalike" not in out.loc[2, "error"]
    assert pd.isna(out.loc[3, "error"]) and out.loc[3, "price_usd"] > 0


def test_domain_and_email_names_with_the_suffix_in_its_own_column(small_valuer):
    """The sales tables' shape (name, suffix) prices like the joined handle; a handle that names its suffix too
    prices so when both agree, and is a row error when they do not (``pizza.net`` with 'com' priced .net silently:
    test_a_subdomain_or_two_suffixes_for_one_domain_is_a_row_error)."""
    split = pd.DataFrame({"handle": ["freemind", "63866", "pizza.net", " waaves "],
                          "platform": ["domain", "email", "domain", "domain"],
                          "suffix": [".io", "163.com", "net", "com"]})
    joined = pd.DataFrame({"handle": ["freemind.io", "63866@163.com", "pizza.net", "waaves.com"],
                           "platform": ["domain", "email", "domain", "domain"]})
    a, b = small_valuer.value_many(split), small_valuer.value_many(joined)
    assert a["error"].isna().all(), a["error"].tolist()
    pd.testing.assert_frame_equal(a.drop(columns=["handle", "suffix"]), b.drop(columns="handle"))


def test_column_wise_parsing_equals_row_by_row(small_valuer):
    """Batch parsing sends canonical handles down a column-wise path: it must agree with parse_handle per row."""
    handles = ["pizza", "Pizza", "@pizza", " pizza", "pi__zza", "abc_", "_abc", "a" * 15, "a" * 16, "abc", "ab1",
               "1abc", "x.com/jack", "pаypal", "", None, float("nan"), 42, "pizza.com", "jo@163.com", "ok_name"]
    n = len(handles)
    frame = pd.DataFrame({
        "handle": handles * 4,
        "platform": [None] * n + ["telegram"] * n + [" X "] * n + ["domain", "email", "nope", ""] * (n // 4) + ["x"],
        "suffix": [None, "", "  ", "COM"] * n,
        "venue": [None, "", " ", "auction"] * n,
        "as_of": [None, "", "2024-05-01", "not a date"] * n,
    })
    now = default_as_of()
    parsed, errors = small_valuer._parse(frame, "x")
    for i, row in enumerate(frame.itertuples(index=False)):
        plat = "x" if pd.isna(row.platform) or str(row.platform).strip() == "" else str(row.platform).strip().lower()
        one = small_valuer._parse_one(row.handle, plat, row.suffix, row.venue, row.as_of, now)
        if isinstance(one, str):
            assert errors[i] == one, i
            continue
        assert errors[i] is None, (i, errors[i])
        got = tuple(parsed.iloc[i])
        assert got[:4] == one[:4] and got[5] == one[5], (i, got, one)
        # "now" is taken once per call: allow for midnight passing between the two calls
        assert pd.Timedelta(0) <= pd.Timestamp(got[4]) - pd.Timestamp(one[4]) <= pd.Timedelta(days=1), i


def test_a_suffix_on_a_platform_without_suffixes_is_an_error(small_valuer):
    """An X or Telegram name has no suffix: one given is a row error, not an unseen 'telegram:com' market that
    moves the price."""
    frame = pd.DataFrame({"handle": ["browsershots", "browsershots", "browsershots"],
                          "platform": ["x", "x", "domain"], "suffix": ["com", "", "com"]})
    out = small_valuer.value_many(frame)
    assert out.loc[0, "error"] == "X names have no suffix (got suffix 'com')" and np.isnan(out.loc[0, "price_usd"])
    assert out["error"][1:].isna().all() and out["handle"].tolist() == frame["handle"].tolist()


def test_a_venue_or_a_yes_no_value_on_a_handle_is_an_error(small_valuer):
    """A venue on X was ignored (the CLI refuses `--venue` there), and `True` was priced as the word "true"."""
    frame = pd.DataFrame({"handle": ["pizza", "pizza.com", "pizza", True, "true", "pizza", "jo@163.com"],
                          "platform": ["x", "domain", "telegram", "x", "x", "telegram", "email"],
                          "venue": ["reported", "reported", "", None, None, "fragment", "dash"]})  # sales' own venues
    out = small_valuer.value_many(frame)
    assert out.loc[0, "error"] == "X names have one market (got venue 'reported'): a venue applies to domains"
    assert out.loc[3, "error"] == "a yes/no value (True), not a handle"
    assert out["error"][[1, 2, 4, 5, 6]].isna().all() and out["price_usd"][[0, 3]].isna().all()
    assert small_valuer.value(np.bool_(False)).error == "a yes/no value (False), not a handle"
    for nothing in (None, float("nan"), pd.NA):  # were the handles 'None', 'nan', '<NA>', as if words
        missing = small_valuer.value(nothing)
        assert missing.handle == "" and missing.error == "empty handle", nothing
        assert missing.reasons == [] and missing.market_basis is None and missing.price_usd is None, missing
    assert json.loads(json.dumps(small_valuer.value("pizza").to_dict()))["handle"] == "pizza"
    said = out[["market_basis", "reasons", "risk"]]  # a row with an error says nothing else, as its price
    assert said.loc[out["error"].notna()].isna().all().all() and said.loc[out["error"].isna(), "reasons"].notna().all()


def test_a_domain_name_in_another_script_is_an_error_that_names_a_copy(small_valuer):
    """``пример.com`` was priced on the letters of ``xn--e1afmkfd`` ("2 hyphens", "all parts are common words"),
    and ``аpple.com`` (Cyrillic а) at $402 as a name of its own, with no risk. Now both are row errors, the second
    naming Apple, also when written in ASCII; a name in another script as its suffix only is priced."""
    out = small_valuer.value_many(pd.DataFrame({"handle": ["пример.com", "аpple.com", "xn--pple-43d.com",
                                                           "pizza.xn--p1ai", "pizza.com"], "platform": "domain"}))
    errors = out["error"].tolist()
    assert all(str(e).startswith("an internationalised domain name (written in ASCII as 'xn--") for e in errors[:3])
    assert "lookalike" not in errors[0] and all(e.endswith("lookalike of 'apple' (confusable characters)")
                                                for e in errors[1:3])
    assert errors[3:] == [None, None] and out["price_usd"].iloc[:3].isna().all()


def test_a_lookalike_in_capitals_of_another_script_is_named(small_valuer):
    """Greek ``ΝΙΚΕ`` and ``ΤESLA`` were lower-cased before being read ('νικε' reads as 'vike'): no "lookalike of"
    note, while ``NІKE`` (a Cyrillic І) had one. Capitals now read as the Latin capitals they look like. A famous X
    account's handle with no brand or person behind it is named too."""
    errors = small_valuer.value_many(["ΝΙΚΕ", "ΤESLA", "NІKE", "pаypal", "kdtrеy5", "Москва"],
                                     reasons=False)["error"].tolist()
    assert [e.rsplit("; ", 1)[-1] for e in errors[:5]] == [
        "lookalike of 'nike' (confusable characters)", "lookalike of 'tesla' (confusable characters)",
        "lookalike of 'nike' (confusable characters)", "lookalike of 'paypal' (confusable characters)",
        "lookalike of X account 'Kevin Durant (@KDTrey5)' (confusable characters)"], errors  # a Cyrillic е
    assert "lookalike" not in errors[5]
    elsewhere = small_valuer.value_many(["kdtrеy5"], platform="telegram", reasons=False)["error"].tolist()
    assert "lookalike" not in elsewhere[0], elsewhere  # X's accounts are read on X only


def test_a_suffix_that_exists_nowhere_is_an_error(small_valuer):
    """``nike.zzz`` has no suffix the Public Suffix List names and no market in the training sales: a row error, not
    a price. A real one the sales never had (``.museum``, ``mweb.co.za``: the list has ``co.za``, no bare ``za``) is
    priced, as the market's unseen suffix; so is a suffix the training sales have a market for (a ledger of your
    own ``.eth`` names), which the list does not name."""
    import copy

    handles = ["pizza.zzz", "pizza", "pizza.museum", "pizza.com", "jo@mail.zzz", "jo@163.com", "jo@mweb.co.za",
               "jo@gmail.con", "vitalik.eth", "pizza.zzz"]
    frame = pd.DataFrame({"handle": handles, "platform": ["domain"] * 4 + ["email"] * 4 + ["domain"] * 2,
                          "suffix": ["", "ZZZ", *[""] * 8], "venue": [*[None] * 9, "sedo"]})  # the last: row by row
    out = small_valuer.value_many(frame)

    def error(suffix: str, market: str) -> str:
        return f"'.{suffix}' is not a known suffix: the Public Suffix List does not name it and the training " \
               f"sales have no {market} market for it"

    assert out["error"].tolist() == [error("zzz", "domain")] * 2 + [None] * 2 + [error("mail.zzz", "e-mail"), None,
                                     None, error("gmail.con", "e-mail"), error("eth", "domain"),
                                     error("zzz", "domain")], out
    assert (out["price_usd"].isna() == out["error"].notna()).all() and out["handle"].tolist() == handles
    with_eth = copy.copy(small_valuer)  # as if trained with a ledger of .eth sales
    with_eth._sold_suffixes = frozenset({"domain:eth"})
    assert with_eth.value_many(frame.iloc[[8, 0]])["error"].tolist() == [None, error("zzz", "domain")]


def test_domain_and_email_rows_with_a_suffix_column_parse_as_row_by_row(small_valuer):
    """Domains and e-mail names with the suffix in its own column take a split-by-pattern path: same result as
    parse_handle per row, including the odd suffixes, venues and as_of values it leaves to the row-by-row path."""
    names = ["pizza", "Pizza", " pizza ", "pizza.com", "pi--zza", "-pizza", "jo", "jo.smith", "jo..smith", "a" * 70,
             "münchen", "www.pizza", "jo@163.com", "", None, 42]
    suffixes = ["com", " COM ", ".com", "co.uk", "163.com", "", None, float("nan"), 7, pd.NA]
    rows = [(name, plat, sfx, venue, as_of) for name in names for plat in ("domain", "email")
            for sfx in suffixes for venue, as_of in ((None, None), ("", " "), (pd.NA, None), (None, pd.NA),
                                                     ("sedo", None), (None, "2024-05-01"))]
    frame = pd.DataFrame(rows, columns=["handle", "platform", "suffix", "venue", "as_of"], dtype=object)
    now = default_as_of()
    parsed, errors = small_valuer._parse(frame, "x")
    assert (errors == None).sum() > 100  # noqa: E711 - many rows do parse
    for i, (handle, plat, sfx, venue, as_of) in enumerate(rows):
        one = small_valuer._parse_one(handle, plat, sfx, venue, as_of, now)
        if isinstance(one, str):
            assert errors[i] == one, i
            continue
        got = tuple(parsed.iloc[i])
        assert errors[i] is None and got[:4] == one[:4] and got[5] == one[5], (i, got, one)
        assert pd.Timedelta(0) <= pd.Timestamp(got[4]) - pd.Timestamp(one[4]) <= pd.Timedelta(days=1), i


def test_both_attributions_price_alike_and_explain(small_valuer):
    handles = ["pizza", "nike", "jdk_19927", "crypto_king", "bad name"]
    paths = small_valuer.value_many(handles)
    shap = small_valuer.value_many(handles, attribution="shap")
    pd.testing.assert_frame_equal(paths.drop(columns="reasons"), shap.drop(columns="reasons"), rtol=1e-9)
    ok = paths["error"].isna()
    assert (paths.loc[ok, "reasons"] != "").all() and (shap.loc[ok, "reasons"] != "").all()
    with pytest.raises(ValueError, match="attribution"):
        small_valuer.value_many(handles, attribution="lime")


def _money(dollars: float) -> str:
    return f"{'+' if dollars >= 0 else '−'}${abs(dollars):,.0f}"


def _reasons_of_one_row(features: list[str], handle: str, x: np.ndarray, contrib: np.ndarray, raw: float,
                        learned_ln: float, steps: list[tuple[str, float, tuple[str, ...], bool]], final_ln: float,
                        names: dict[str, str | None], run_together: dict[str, bool]) -> str:
    """One row's reason text written the plain way: the reference for the vectorised ``Valuer._reasons``.
    ``steps``: each market rule's (phrase, ln change, the features it read on this row, whether it sets the price
    where it moves it), in order; ``run_together``: per family, whether its match is a run-together token."""
    from handleval.features.describe import WORD_FEATURES, as_run_together, describe_feature, describe_word, handle_word
    from handleval.price.predict import is_market_feature

    name_features = [j for j, f in enumerate(features) if not is_market_feature(f)]
    ranked = sorted(name_features, key=lambda j: -abs(contrib[j]))
    # label -> [summed amount, feature]; insertion order = rank order; the word features are one reason, named
    # from the row's best language and frequency
    merged: dict[str, list[float]] = {}
    word = describe_word(*(x[features.index(f)] for f in ("dict__zipf_en", "dict__zipf_best", "dict__best_lang")),
                         handle_word(handle), x[features.index("len__is_all_digits")] > 0)
    for j in ranked[:6]:
        if abs(contrib[j]) < 1e-6:
            continue
        label = word if features[j] in WORD_FEATURES else describe_feature(features[j], x[j], handle)
        if label in merged:
            merged[label][0] += contrib[j]
        else:
            merged[label] = [contrib[j], j]
    total = sum(contrib[j] for j in name_features)
    baseline = np.exp(raw - total)
    share = (np.exp(learned_ln) - baseline) / total if abs(total) > 1e-9 else 0.0
    level, rules = learned_ln, []
    for phrase, delta, read, sets_price in steps:
        moved = np.exp(level + delta) - np.exp(level)
        if moved != 0 and sets_price:  # the price is the rule's: nothing before it counts
            merged = {label: [0.0, j] for label, (_, j) in merged.items()}
            rules = [(earlier, 0.0) for earlier, _ in rules]
            moved = np.exp(level + delta) - baseline
        for item in merged.values():  # a rule's reason takes in the candidates from the features the rule read
            name = features[item[1]]
            if moved != 0 and name.startswith(read):
                moved, item[0] = moved + item[0] * share, 0.0
        rules.append((phrase, moved))
        level += delta
    items = []
    for label, (amount, j) in sorted(merged.items(), key=lambda item: -abs(item[1][0]))[:3]:
        family = features[j][:5]
        if names.get(family):
            label = describe_feature(features[j], x[j], handle, names[family])
            if run_together[family]:  # in no lexicon: no famous name
                label = as_run_together(label)
        items.append((label, amount * share))
    items = sorted([i for i in items + rules if abs(i[1]) >= 0.5], key=lambda i: -abs(i[1]))[:3]
    other = np.exp(final_ln) - baseline - sum(d for _, d in items)
    parts = [f"{label} ({_money(d)})" for label, d in items]
    if abs(other) >= 0.5:
        parts.append(f"other features ({_money(other)})")
    parts.append(f"market baseline ({_money(baseline)})")
    return "; ".join(parts).replace("\x00", handle)


def _read(step, i: int) -> tuple[str, ...]:
    """The features a market rule read on row ``i`` (its ``covers`` there)."""
    return next((read for read, rows in step.covers.items() if rows[i]), ())


def test_a_word_phrase_quotes_the_word_not_its_separators():
    from handleval.features.describe import describe_feature

    assert describe_feature("dict__is_word", 1.0, "pizza_") == "dictionary word 'pizza'"
    assert describe_feature("dict__zipf_en", 4.0, "_Nike_") == "English word 'nike'"
    assert describe_feature("dict__zipf_en", 4.0, "___") == "English word '___'"


def test_vectorised_reasons_equal_the_plain_per_row_text(small_valuer):
    """Each distinct (feature, value) is described once, with the handle filled in at the end, and matched names
    come from the transform's own matching: the text must still be exactly what the per-row recipe writes."""
    from handleval.data import load_sales

    sales, _ = load_sales()
    names = sales.sample(1500, random_state=3).reset_index(drop=True)
    join = names["platform"].map({"domain": ".", "email": "@"})
    names = pd.DataFrame({"handle": names["handle"].where(join.isna(), names["handle"] + join + names["suffix"]),
                          "platform": names["platform"]})
    extra = pd.DataFrame({"handle": ["pizza", "nike", "n1ke", "spotifyy", "elonmusk", "taylorswift", "crypto",
                                     "realmadrid", "jdk_19927", "pizza_hut", "888", "xx", "pizza_", "_nike_", "00000",
                                     "12345", "_2024_"],
                          "platform": "x"})
    frame = pd.concat([names, extra], ignore_index=True)
    out = small_valuer.value_many(frame)
    parsed, errors = small_valuer._parse(frame, "x")
    small_valuer._check_suffixes(parsed, errors)  # a sale under a typo ('.con') is a row error
    ok = np.array([e is None for e in errors])
    rows = parsed[ok].reset_index(drop=True)
    x = pd.concat([small_valuer.featurizer.transform(rows), small_valuer.market.transform(rows)],
                  axis=1)[small_valuer.features]
    from handleval.price.premium import apply_rules

    scores, summed = small_valuer.forest.predict(x)
    k = len(small_valuer.points)
    contrib = summed / k
    raw = scores[:, :k].mean(axis=1)
    matches = small_valuer.featurizer.matches(rows)  # matched afresh, not the transform's kept matches
    own_sales = small_valuer._with_anchor_sales(rows, small_valuer.featurizer.transform(rows))  # undated, set aside
    ruled = apply_rules(rows, own_sales, raw, small_valuer.markets, small_valuer.cap, matches)
    x_values = x.to_numpy(dtype=float)
    expected = [_reasons_of_one_row(small_valuer.features, rows["handle"][i], x_values[i], contrib[i], raw[i],
                                    ruled.learned_ln[i],
                                    [(s.phrase[i], s.delta_ln[i], _read(s, i), s.sets_price) for s in ruled.steps],
                                    ruled.ln[i],
                                    {"brand": matches["brand_match"][i], "celeb": matches["celeb_match"][i]},
                                    {f: own_sales[f"{f}__match_kind"][i] == COMPOUND for f in ("brand", "celeb")})
                for i in range(len(rows))]
    got = out.loc[ok, "reasons"].tolist()
    assert len(got) > 1400
    assert [(got[i], expected[i]) for i in range(len(got)) if got[i] != expected[i]][:3] == []
    assert any("famous brand '" in r for r in got) and any("'pizza'" in r for r in got)  # named matches, handles
    assert any("own sale" in r for r in got)
    # one fact, one reason: what a rule read is never a model reason beside it
    rare = [r for r in got if r.startswith("X rare handle")]
    assert rare and all(r.count("famous") <= 1 and not ("common word" in r and "English word" in r)
                        and not re.search(r"X rare handle: \d+ (letter|digit)s?.*\d+ characters?", r) for r in rare)
    assert not [r for r in got if "own sale" in r and ("last sold" in r or "sold 1 time" in r)]
    # how common a word the handle is: one reason, in one language ("English word 'pizza'", "rare English word")
    assert any("English word '" in r for r in got)
    assert not [r for r in got if r.count(" word '") > 1 or "not a common word" in r or "dictionary word '" in r]


def test_reasons_agreement_with_treeshap_is_measured(small_price):
    agree = small_price.manifest["reasons_vs_treeshap"]
    assert set(agree) == {"top1_same", "top1_in_shap_top3", "top3_overlap"}
    assert 0 <= agree["top1_same"] <= agree["top1_in_shap_top3"] <= 1
    # on the committed model: 45% / 71% / 56%; path attributions must at least mostly find SHAP's top three
    assert agree["top1_in_shap_top3"] > 0.5, agree
    assert "TreeSHAP" in (small_price.bundle_dir / "MODEL_CARD.md").read_text(encoding="utf-8")


def test_committed_price_bundle_meets_the_issue_targets():
    """Guards against committing a worse bundle: the metrics it recorded on its own time split (retraining it
    takes ~45 s: ``handleval train price``). NameBio 2024's target is met at this seed only (docs/models.md,
    "NameBio 2024 and the seed")."""
    from handleval.config import MODELS_DIR

    manifest = json.loads((MODELS_DIR / "price" / "manifest.json").read_text(encoding="utf-8"))
    model, median = manifest["metrics"]["model"], manifest["metrics"]["baseline_market_median"]
    targets = {"fragment_telegram": (0.25, 0.45), "dash_email": (0.25, 0.65), "namebio_domains": (0.07, 0.20)}
    for market, (gain, rho) in targets.items():
        assert model[market]["rmse_ln"] <= (1 - gain) * median[market]["rmse_ln"], market
        assert model[market]["spearman"] >= rho, market
        assert 0.70 <= model[market]["coverage_10_90"] <= 0.90, market
    # The premium-name checks (tiers on X, the held-out high end, repeat sales), against the issue's numbers
    # written here (not the config's goals, which could be relaxed along with the model).
    checks = manifest["checks"]
    assert checks["tiers"]["spearman"] >= 0.70 and checks["tiers"]["median_A"] >= 5000
    assert checks["tiers"]["median_E"] <= 60
    assert checks["high_end"]["spearman"] >= 0.40 and 0.5 <= checks["high_end"]["median_ratio"] <= 2.0
    assert checks["repeat_sales"]["within_2x"] >= 0.60


def test_the_committed_card_states_every_goal_and_target_of_the_config():
    """Each goal and champion target of configs/price.yaml has its line in the card, met or MISSED as the manifest's
    numbers say (the value worked out here from the metrics, not by the code that wrote the card)."""
    from handleval.config import MODELS_DIR
    from handleval.price.train import load_price_config

    manifest = json.loads((MODELS_DIR / "price" / "manifest.json").read_text(encoding="utf-8"))
    card = (MODELS_DIR / "price" / "MODEL_CARD.md").read_text(encoding="utf-8").splitlines()
    model, median = manifest["metrics"]["model"], manifest["metrics"]["baseline_market_median"]
    config = load_price_config()
    assert {g.metric for g in config.goals} >= {"tiers.spearman", "fragment_telegram.rmse_vs_median"}
    assert {t.metric for t in config.targets} >= {"namebio_domains.rmse_vs_median", "dash_email.spearman"}
    for word, bounds in (("goal", config.goals), ("target", config.targets)):
        for bound in bounds:
            group, name = bound.metric.split(".")
            if group in manifest["checks"]:
                value = manifest["checks"][group][name]
            elif name == "rmse_vs_median":
                value = model[group]["rmse_ln"] / median[group]["rmse_ln"] - 1
            else:
                value = model[group][name]
            (line,) = [row for row in card if row.startswith(f"{bound.metric}: ") and f"({word} " in row]
            assert line.endswith(" met" if bound.met(value) else " MISSED"), (line, value)
            assert f"{value:,.3f}" in line, (line, value)


def test_comparables_are_earlier_sales_at_most_k_and_never_the_rows_own(small_valuer):
    """``Valuation.comparables``: at most k, most similar first, strictly before ``as_of``: a sale at the very
    ``as_of`` is not listed (the row's own sale), one second later it is (an earlier sale of the same name)."""
    from handleval.price.predict import Comparable, sales_history

    k = small_valuer.manifest["config"]["comparables_k"]
    history = sales_history(small_valuer.manifest)
    fragment = history[(history["source"] == "fragment_telegram") & (history["handle"].str.len() >= 6)]
    sale = fragment.sort_values("sold_at").iloc[len(fragment) // 2]
    at = pd.Timestamp(sale["sold_at"])
    own = Comparable(sale["handle"], "telegram", round(float(sale["price_usd"]), 2), at.date().isoformat(), 1.0)
    at_sale = small_valuer.value(sale["handle"], platform="telegram", as_of=at)
    later = small_valuer.value(sale["handle"], platform="telegram", as_of=at + pd.Timedelta(1, "s"))
    assert own not in at_sale.comparables and own in later.comparables
    for v in (at_sale, later, small_valuer.value("pizza", platform="x")):
        assert 0 < len(v.comparables) <= k
        assert all(isinstance(c, Comparable) and c.market == "telegram" for c in v.comparables)
        sims = [c.similarity for c in v.comparables]
        assert sims == sorted(sims, reverse=True) and 0 <= sims[-1] <= sims[0] <= 1
    earlier = history[(history["platform"] == "telegram") & (history["sold_at"] < at)]
    sold = set(zip(earlier["handle"], earlier["sold_at"].dt.date.astype(str), earlier["price_usd"].round(2),
                   strict=True))
    assert all((c.name, c.sold_at, c.price_usd) in sold for c in at_sale.comparables)
    assert small_valuer.value("bad handle!").comparables == []


def test_value_many_comparables_column_is_json_and_optional(small_valuer):
    frame = pd.DataFrame({"handle": ["pizza", "a" * 16, "bbc.co.uk", "88@163.com", "pizza"],
                          "platform": ["x", "x", "domain", "email", "telegram"],
                          "as_of": [None, None, None, None, "2023-01-01"]})
    out = small_valuer.value_many(frame, comparables=True)
    assert list(out.columns[-3:]) == ["risk", "comparables", "error"]
    listed = [json.loads(cell) for cell in out["comparables"]]
    assert listed[1] == []  # a row with an error
    k = small_valuer.manifest["config"]["comparables_k"]
    assert all(0 < len(listed[i]) <= k for i in (0, 2, 3, 4))
    assert {c["market"] for c in listed[2]} == {"domain"} and {c["market"] for c in listed[3]} == {"email"}
    assert all(c["sold_at"] is None or c["sold_at"] < "2023-01-01" for c in listed[4])
    assert set(listed[0][0]) == {"name", "market", "price_usd", "sold_at", "similarity"}
    plain = small_valuer.value_many(frame)
    assert "comparables" not in plain.columns
    pd.testing.assert_frame_equal(plain, out.drop(columns="comparables"))


def test_comparables_come_from_the_one_k_nn_pass_of_the_features(small_valuer, monkeypatch):
    """``value_many(comparables=True)`` and ``value`` run the k-nearest-sales step once, in the feature pass, and
    list what ``featurizer.comparables`` (a k-NN pass of its own) lists for the same rows."""
    from handleval.features.sales import SalesHistoryFeatures

    frame = pd.DataFrame({"handle": ["pizza", "crypto", "bbc", "bad handle!"],
                          "platform": ["telegram", "x", "domain", "x"], "suffix": ["", "", "com", ""],
                          "as_of": ["2024-06-01", "2025-06-01", "2022-01-01", "2024-01-01"]})
    expected = small_valuer.featurizer.comparables(frame.iloc[:3], as_json=True)
    passes = []
    nearest = SalesHistoryFeatures._nearest
    monkeypatch.setattr(SalesHistoryFeatures, "_nearest",
                        lambda self, *a, **k: passes.append(1) or nearest(self, *a, **k))
    out = small_valuer.value_many(frame, comparables=True)
    assert len(passes) == 1
    assert out["comparables"].tolist() == [*expected, "[]"] and "[]" not in expected
    one = small_valuer.value("pizza", platform="telegram", as_of="2024-06-01")
    assert len(passes) == 2
    assert [c.__dict__ for c in one.comparables] == json.loads(expected[0])


def test_value_many_prices_in_chunks_as_at_once(small_valuer, monkeypatch):
    """value_many held every row's features at once (4.3 GB for a million handles): it prices VALUE_MANY_CHUNK rows
    at a time now, at one valuation time for all, with the same rows, order and index as in one go."""
    from handleval.price import predict

    rows = pd.DataFrame({"handle": ["google", "elonmusk", "pizza", "n1ke", "jdk_19927", "okay", None, "x" * 20,
                                    "bbcnews_", "thefun", "seth7"] * 2,
                         "platform": ["x", "telegram"] * 11}, index=[f"r{i}" for i in range(22)][::-1])
    whole = small_valuer.value_many(rows, comparables=True)
    monkeypatch.setattr(predict, "VALUE_MANY_CHUNK", 5)
    pd.testing.assert_frame_equal(small_valuer.value_many(rows, comparables=True), whole)
    assert small_valuer.value_many([]).empty


def test_the_committed_bundle_never_prices_above_the_cap_and_a_famous_name_with_digits_is_its_own():
    """Without the cap on the learned price, ai.com at the reported venue was $285,205 beside its own price_high_usd
    of $50,000; without the exemption of famous names from the added-characters rule, maroon5 was 'priced as
    maroon' ($3,307 for $6,711). (blink182 is priced below blink: no check of it could fail.)"""
    import handleval

    valuer = handleval.load()
    domains = valuer.value_many(pd.DataFrame({"handle": ["ai.com", "gg.com", "fb.com"], "platform": "domain",
                                              "venue": "reported"}), reasons=False)
    assert (domains["price_usd"] <= domains["price_high_usd"]).all() and (domains["price_high_usd"] <= 50_000).all()
    band = valuer.value_many(["maroon5", "maroon"])
    assert not band.loc[0, "market_basis"].startswith("priced as"), band.loc[0, "market_basis"]
    assert band.loc[0, "price_usd"] > band.loc[1, "price_usd"], "pick a famous name with digits priced above its core"
