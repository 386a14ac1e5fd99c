"""Historical-sales comparables on the real sales table: no leakage, NaN without history, masking."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from handleval.features import SalesHistoryFeatures, mask_comparables
from handleval.features._common import prepare
from tests.code._features_shared import sales_table


@pytest.fixture(scope="module")
def telegram() -> pd.DataFrame:
    df = sales_table()
    return df[df["platform"] == "telegram"].reset_index(drop=True)


def test_changing_own_or_later_prices_leaves_a_rows_features_unchanged(telegram):
    base = SalesHistoryFeatures().fit(telegram).transform(telegram)
    rng = np.random.default_rng(0)
    for i in rng.choice(len(telegram), size=5, replace=False):
        changed = telegram.copy()
        cut = changed.loc[i, "sold_at"]
        later = changed["sold_at"] >= cut
        changed.loc[later, "price_usd"] *= rng.uniform(0.1, 50, size=later.sum())
        changed.loc[i, "price_usd"] *= 1000
        after = SalesHistoryFeatures().fit(changed).transform(changed)
        pd.testing.assert_series_equal(base.loc[i], after.loc[i])
    # ...while an EARLIER price does move the features of later rows (the test can fail):
    first = telegram["sold_at"].idxmin()
    changed = telegram.copy()
    changed.loc[first, "price_usd"] *= 1000
    after = SalesHistoryFeatures().fit(changed).transform(changed)
    assert not base.equals(after)


def test_features_are_nan_without_history_and_count_only_earlier_sales(telegram):
    fam = SalesHistoryFeatures().fit(telegram)
    out = fam.transform(telegram)
    first = telegram["sold_at"].idxmin()
    assert out.loc[first, "sales__n_market"] == 0
    assert np.isnan(out.loc[first, "sales__market_median_logp"])
    assert np.isnan(out.loc[first, "sales__knn_median_logp"])
    earlier = (telegram["sold_at"] < telegram["sold_at"]).sum()  # noqa: F841 - clarity
    n_before = telegram["sold_at"].apply(lambda t: (telegram["sold_at"] < t).sum())
    assert (out["sales__n_market"].to_numpy() == n_before.to_numpy()).all()
    empty = SalesHistoryFeatures().fit(pd.DataFrame({"handle": [], "platform": [], "price_usd": [], "sold_at": []}))
    assert empty.transform(["pizza"]).isna().all(axis=None)


def test_prediction_mode_sees_the_whole_history_and_proxies_x_to_telegram(telegram):
    fam = SalesHistoryFeatures().fit(telegram)
    name = telegram["handle"].value_counts().index[0]
    out = fam.transform(pd.DataFrame({"handle": [name, name], "platform": ["telegram", "x"]}))
    assert (out["sales__n_market"] == len(telegram)).all()
    assert out["sales__n_prev_same"].iloc[0] == (telegram["handle"] == name).sum()
    assert out["sales__proxy_market"].tolist() == [0, 1]
    past = fam.transform(pd.DataFrame({"handle": [name], "platform": ["telegram"],
                                       "as_of": [telegram["sold_at"].min()]}))
    assert past["sales__n_market"].iloc[0] == 0


def test_an_undated_sale_anchors_only_a_valuation_after_its_markets_history():
    """icon.com's $12 million DN Journal sale is undated. The features (what the model learnt from) never hold an
    undated sale; :meth:`anchor_sales` gives it to the own-sale rule of a valuation dated after its market's newest
    dated sale, where the name has no dated sale (the features hold that one): the median of its undated sales."""
    history = pd.DataFrame({"handle": ["icon", "icon", "club", "club", "pizza", "kiln"],
                            "platform": ["domain"] * 5 + ["telegram"], "suffix": ["com"] * 5 + [""],
                            "price_usd": [12e6, 9e3, 1e7, 4e6, 500.0, 50.0],
                            "sold_at": pd.to_datetime([None, "2020-01-01", None, None, "2021-06-01", "2025-03-01"])})
    fam = SalesHistoryFeatures().fit(history)

    def rows(as_of: str) -> pd.DataFrame:
        return pd.DataFrame({"handle": ["club", "icon"], "platform": "domain", "suffix": "com",
                             "as_of": pd.Timestamp(as_of)})

    own = ["sales__prev_same_logp", "sales__prev_same_age_days"]
    features = fam.transform(rows("2023-01-01"))  # after the domains' newest sale, before Telegram's
    assert features["sales__n_prev_same"].tolist() == [0, 1]
    anchors = fam.anchor_sales(rows("2023-01-01"))
    assert anchors.loc[0, own[0]] == pytest.approx(np.log(np.sqrt(1e7 * 4e6))) and np.isnan(anchors.loc[0, own[1]])
    assert anchors.loc[1].isna().all()  # its dated sale is in the features
    assert fam.anchor_sales(rows("2021-01-01")).isna().all(axis=None)  # within the domains' history
    training = fam.transform(history)["sales__n_prev_same"]  # dated rows see no undated sale; undated rows: NaN
    assert training.iloc[[1, 4, 5]].tolist() == [0, 0, 0] and training.iloc[[0, 2, 3]].isna().all()


def test_two_sales_of_a_name_at_one_time_are_its_last_sale_in_either_order():
    """samedaya sold for $100 then $10,000 on one day, samedayb the same two in the other order: the file's order
    chose the 'last sale' ($9,995 against $101 at the next day's valuation). Sales at one time count as one, at
    their median."""
    def history(prices: list[float]) -> pd.DataFrame:
        return pd.DataFrame({"handle": ["sameday", "sameday", "other"], "platform": "x", "price_usd": [*prices, 50.0],
                             "sold_at": pd.to_datetime(["2025-03-01", "2025-03-01", "2025-01-01"])})

    row = pd.DataFrame({"handle": ["sameday"], "platform": "x", "as_of": pd.Timestamp("2025-03-02")})
    one, other = (SalesHistoryFeatures().fit(history(p)).transform(row) for p in ([100.0, 10_000.0], [10_000.0, 100.0]))
    assert one["sales__prev_same_logp"].iloc[0] == pytest.approx(np.log(1000.0))
    pd.testing.assert_frame_equal(one, other)


def test_a_sale_that_is_no_comparable_is_only_its_own_names_past_sale():
    """A price a venue's minimum set (``comparable`` False: Fragment's 4-character names) tells nothing of other
    names nor of the model's: it is only its name's own past sale for the own-sale rule (:meth:`anchor_sales`), in
    its own market, never a feature, a comparable or a count of the market's sales."""
    from rapidfuzz import fuzz

    history = pd.DataFrame({"handle": ["tgai", "tgbi", "kiln", "loft"], "platform": "telegram",
                            "price_usd": [43_680.0, 16_000.0, 900.0, 1_200.0],
                            "sold_at": pd.to_datetime(["2025-03-09", "2025-03-10", "2025-03-01", "2025-03-02"]),
                            "comparable": [True, False, True, True]})
    fam = SalesHistoryFeatures(k=3).fit(history)
    rows = pd.DataFrame({"handle": ["tgbi", "tgbj", "tgbi"], "platform": ["telegram", "telegram", "x"],
                         "as_of": pd.Timestamp("2026-01-01")})
    out = fam.transform(rows)
    assert (out["sales__n_prev_same"] == 0).all() and (out["sales__n_market"] == 3).all()
    assert (out["sales__n_lenpat"] == 3).all()
    assert out.loc[1, "sales__knn_max_sim"] == pytest.approx(fuzz.ratio("tgbj", "tgai") / 100)
    assert sorted(c["name"] for c in fam.comparables(rows.iloc[[1]])[0]) == ["kiln", "loft", "tgai"]
    anchors = fam.anchor_sales(rows)
    assert anchors.loc[0, "sales__prev_same_logp"] == pytest.approx(np.log(16e3))
    age = (pd.Timestamp("2026-01-01") - pd.Timestamp("2025-03-10")).days
    assert anchors.loc[0, "sales__prev_same_age_days"] == age
    assert anchors.loc[[1, 2]].isna().all(axis=None)  # another name; X, priced by proxy, borrows none


def test_same_suffix_features_only_for_names_with_a_suffix():
    """A Telegram username has no suffix: its "same suffix" sales would be every Telegram sale (the market count
    again), which reasons then read out as "3403 earlier sales with the same suffix"."""
    from handleval.features.describe import describe_feature

    table = sales_table()
    fam = SalesHistoryFeatures().fit(table)
    out = fam.transform(pd.DataFrame({"handle": ["pizza", "pizza", "pizza"], "suffix": ["", "com", "qq.com"],
                                      "platform": ["telegram", "domain", "email"]}))
    assert out["sales__n_market"].iloc[0] > 0
    assert out[["sales__n_suffix", "sales__suffix_median_logp"]].iloc[0].isna().all()
    dotcom = ((table["platform"] == "domain") & (table["suffix"] == "com")).sum()
    assert out["sales__n_suffix"].iloc[1] == dotcom
    assert 0 < out["sales__n_suffix"].iloc[2] < out["sales__n_market"].iloc[2]
    assert describe_feature("sales__n_suffix", np.nan) == "no suffix"  # not "no earlier sales": it has none
    assert describe_feature("sales__n_suffix", out["sales__n_suffix"].iloc[1]) == f"{dotcom:,} earlier sales with " \
        "the same suffix"
    # none is said in words: "0 earlier sales of the same length and pattern (+$16)" read as money for no data
    assert [describe_feature(f, 0) for f in ("sales__n_lenpat", "sales__n_suffix", "sales__n_market")] == [
        "no earlier sale of the same length and pattern", "no earlier sale with the same suffix",
        "no earlier sale in this market"]
    assert describe_feature("sales__n_lenpat", 1) == "1 earlier sale of the same length and pattern"


def test_fit_transform_masks_a_share_of_rows_and_transform_never_does(telegram):
    fam = SalesHistoryFeatures(mask_rate=0.3, random_state=1)
    masked = fam.fit_transform(telegram)
    share = masked["sales__n_market"].isna().mean()
    assert 0.25 < share < 0.35
    assert fam.transform(telegram)["sales__n_market"].notna().all()
    again = mask_comparables(fam.transform(telegram), 0.3, 1)
    pd.testing.assert_frame_equal(masked, again)


def test_training_rows_without_their_sale_times_or_with_dollar_prices_are_refused():
    """A library user's fit_transform(X, y) without sold_at valued each sale now, its own price among its
    comparables (prev_same_logp equal to y: train R² 0.997 on pure noise); y in dollars filled the *_logp
    columns with dollars."""
    from handleval.features import HandleFeaturizer

    names = pd.DataFrame({"handle": ["alpha", "bravo", "charl", "delta"], "platform": "telegram"})
    y = np.log([100.0, 2000.0, 50.0, 700.0])
    for featurizer in (SalesHistoryFeatures(), HandleFeaturizer(families=("sales",))):
        with pytest.raises(ValueError, match="X needs a sold_at column"):
            featurizer.fit_transform(names, y)
    dated = names.assign(sold_at=pd.NaT)
    assert SalesHistoryFeatures().fit_transform(dated, y)["sales__prev_same_logp"].isna().all()
    with pytest.raises(ValueError, match="an as_of column would value them at another time"):  # a blank one: now
        SalesHistoryFeatures().fit_transform(dated.assign(as_of=pd.NaT), y)
    with pytest.raises(ValueError, match=r"y is ln\(price in USD\).*this y reaches 2,000.0"):
        SalesHistoryFeatures().fit(dated, np.exp(y))


def test_knn_scores_from_the_lcs_table_equal_rapidfuzz_ratio():
    """The k-NN reads ``fuzz.ratio`` off a table by (length sum, LCS): every cell agrees with rapidfuzz's own
    ``int16`` scores, on random pairs of every length up to MAX_CHARS (non-ASCII included)."""
    from rapidfuzz import fuzz, process
    from rapidfuzz.distance import LCSseq

    from handleval.features.sales import _negated_ratios

    rng = np.random.default_rng(8)
    alphabet = np.array([*"abcde_0", "\u0430", "é", "😀"])
    pairs = [("".join(rng.choice(alphabet[:k], size=a)), "".join(rng.choice(alphabet[:k], size=b)))
             for a, b, k in zip(rng.integers(1, 65, 3000), rng.integers(1, 65, 3000), rng.integers(2, 11, 3000),
                                strict=True)]
    pairs += [("a" * 64, "a" * 64), ("ab", "ba"), ("x", "y")]
    table = _negated_ratios()
    for a, b in pairs:
        expected = process.cdist([a], [b], scorer=fuzz.ratio, dtype=np.int16)[0, 0]
        assert -table[len(a) + len(b), LCSseq.similarity(a, b)] == expected, (a, b)


def test_knn_features_equal_a_per_query_reference():
    """k nearest earlier sales of the same market and length bucket: the batch path against one query at a time,
    straight from the history with ``fuzz.ratio`` and the rule itself: the most similar first, ties to the name
    (alphabetical), then the later sale (an undated one last)."""
    from rapidfuzz import fuzz, process

    sales = sales_table()
    history = pd.concat([sales[sales["platform"] == "telegram"].sample(1500, random_state=1),
                         sales[sales["platform"] == "domain"].sample(1500, random_state=2)], ignore_index=True)
    history.loc[history.sample(200, random_state=6).index, "sold_at"] = pd.NaT  # undated: seen only "now"
    resold = history.sample(600, random_state=7)  # names sold again: ties between sales of one name
    history = pd.concat([history, resold.assign(sold_at=resold["sold_at"] - pd.Timedelta(days=40),
                                                price_usd=resold["price_usd"] * 3)], ignore_index=True)
    fam = SalesHistoryFeatures(k=15).fit(history)
    rng = np.random.default_rng(3)
    queries = history.sample(300, random_state=4).reset_index(drop=True)[["handle", "platform", "suffix"]]
    queries["handle"] = [h if rng.random() < 0.5 else h[::-1] + "x" * int(rng.integers(0, 20))
                         for h in queries["handle"]]
    times = history["sold_at"].dropna()
    queries["as_of"] = np.where(rng.random(len(queries)) < 0.3, pd.NaT,
                                times.sample(len(queries), replace=True, random_state=5).to_numpy())
    got = fam.transform(queries)[["sales__knn_median_logp", "sales__knn_max_sim", "sales__knn_mean_sim"]]
    sold = prepare(history).frame
    sold = sold.assign(name=sold["text"].str[:64], logp=np.log(history["price_usd"].to_numpy(dtype=float)),
                       at=history["sold_at"])
    long_buckets = ties = resales = undated_seen = 0
    for i in range(len(queries)):
        q = prepare(queries.iloc[[i]]).frame.iloc[0]
        text = q["text"][:64]
        now = pd.isna(queries["as_of"].iloc[i])
        same = sold[(sold["platform"] == q["platform"]) & (sold["name"].str.len().clip(upper=16) == min(len(text), 16))]
        seen = same[same["at"].isna()] if now else same.iloc[0:0]
        seen = pd.concat([seen, same[same["at"] < queries["as_of"].iloc[i]] if not now else same[same["at"].notna()]])
        if not len(seen):
            assert got.iloc[i].isna().all(), (i, text)
            continue
        long_buckets += len(text) >= 16
        score = process.cdist([text], seen["name"].tolist(), scorer=fuzz.ratio, dtype=np.int16)[0].astype(np.int64)
        later_first = np.where(seen["at"].notna(), -seen["at"].astype("int64").to_numpy(), np.iinfo(np.int64).max)
        order = sorted(range(len(seen)), key=lambda j: (-score[j], seen["name"].iloc[j], later_first[j]))
        top = order[:15]
        ties += len(order) > 15 and score[order[14]] == score[order[15]]
        resales += len(order) > 15 and seen["name"].iloc[order[14]] == seen["name"].iloc[order[15]]
        undated_seen += bool(seen["at"].iloc[top].isna().any())
        expected = [np.median(seen["logp"].to_numpy()[top]), score[top].max() / 100, score[top].mean() / 100]
        np.testing.assert_array_equal(got.iloc[i].to_numpy(), expected, err_msg=text)
    assert long_buckets >= 20  # names of 16+ characters (lengths differ within the bucket) were exercised
    assert ties >= 100 and undated_seen >= 5  # the tie rule decided, undated sales were among the nearest
    assert resales >= 3  # ... also between two sales of one name (the later wins)



def _first_sales(history: pd.DataFrame) -> dict[tuple[str, str, int], pd.Timestamp]:
    """The first time each (name, date, price in cents) sold: a listed comparable is a sale before the cut-off
    when its key sold first strictly before it."""
    keys = zip(history["handle"], history["sold_at"].dt.date.astype(str), (history["price_usd"] * 100).round(),
               strict=True)
    first: dict[tuple[str, str, int], pd.Timestamp] = {}
    for key, at in zip(keys, history["sold_at"], strict=True):
        first[key] = min(first.get(key, at), at)
    return first


def _earlier(first: dict, comp: dict, cutoff: pd.Timestamp) -> bool:
    at = first.get((comp["name"], comp["sold_at"], round(comp["price_usd"] * 100)))
    return at is not None and at < cutoff


def test_comparables_are_the_sales_the_knn_columns_summarise(telegram):
    """At most k, most similar first, each a real sale before the row's cut-off, the same as the features."""
    fam = SalesHistoryFeatures(k=7).fit(telegram)
    rows = telegram.sample(300, random_state=7).reset_index(drop=True)[["handle", "platform", "sold_at"]]
    comps = fam.comparables(rows)  # training rows: the cut-off is each row's own sale
    features = fam.transform(rows)
    sizes = [len(c) for c in comps]
    first = _first_sales(telegram)
    assert max(sizes) == 7 and min(sizes) == 0
    for i, listed in enumerate(comps):
        if not listed:
            assert np.isnan(features.loc[i, "sales__knn_max_sim"])
            continue
        sims = [c["similarity"] for c in listed]
        assert sims == sorted(sims, reverse=True)
        assert sims[0] == features.loc[i, "sales__knn_max_sim"]
        assert np.isclose(np.mean(sims), features.loc[i, "sales__knn_mean_sim"], rtol=1e-12)
        assert np.isclose(np.median(np.log([c["price_usd"] for c in listed])),
                          features.loc[i, "sales__knn_median_logp"], atol=1e-4)  # prices shown to the cent
        length = min(len(rows.loc[i, "handle"]), 16)  # names of 16+ characters share a bucket
        assert all(c["market"] == "telegram" and min(len(c["name"]), 16) == length for c in listed)
        assert all(_earlier(first, c, rows.loc[i, "sold_at"]) for c in listed), i
    # X, priced on Telegram's sales, at the same cut-offs: the same comparables
    assert fam.comparables(rows[["handle"]].assign(platform="x", as_of=rows["sold_at"])) == comps
    # the batch path's JSON text is json.dumps of the same lists
    assert fam.comparables(rows, as_json=True) == [json.dumps(listed) for listed in comps]


def test_comparables_are_strictly_earlier_than_as_of_and_never_the_rows_own_sale(telegram):
    fam = SalesHistoryFeatures(k=15).fit(telegram)
    sale = telegram.sort_values("sold_at").iloc[len(telegram) // 2]
    at = pd.Timestamp(sale["sold_at"])
    query = pd.DataFrame({"handle": [sale["handle"]] * 3, "platform": ["telegram"] * 3,
                          "as_of": [at, at + pd.Timedelta(1, "s"), pd.NaT]})
    own = {"name": sale["handle"], "market": "telegram", "price_usd": round(float(sale["price_usd"]), 2),
           "sold_at": at.date().isoformat(), "similarity": 1.0}
    at_sale, just_after, now = fam.comparables(query)
    assert own not in at_sale and own in just_after and own in now  # a second later it is an earlier sale
    first = _first_sales(telegram)
    assert at_sale and all(_earlier(first, c, at) for c in at_sale)
