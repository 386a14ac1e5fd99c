"""Historical-sales comparables on the real sales table: no leakage, NaN without history, masking."""

from __future__ import annotations

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
    assert describe_feature("sales__n_suffix", np.nan) == "no earlier sales with the same suffix"


def test_fit_transform_masks_a_share_of_rows_and_transform_never_does(telegram):
    fam = SalesHistoryFeatures(mask_rate=0.3, random_state=1)
    masked = fam.fit_transform(telegram)
    share = masked["sales__n_market"].isna().mean()
    assert 0.25 < share < 0.35
    assert fam.transform(telegram)["sales__n_market"].notna().all()
    again = mask_comparables(fam.transform(telegram), 0.3, 1)
    pd.testing.assert_frame_equal(masked, again)


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
    """k nearest earlier sales of the same market and length bucket: the batch path against one query at a time
    with ``fuzz.ratio`` and the same ``np.argpartition`` (the tie choice is part of the model)."""
    import warnings

    from rapidfuzz import fuzz, process

    sales = sales_table()
    history = pd.concat([sales[sales["platform"] == "telegram"].sample(1500, random_state=1),
                         sales[sales["platform"] == "domain"].sample(1500, random_state=2)], ignore_index=True)
    fam = SalesHistoryFeatures(k=15).fit(history)
    rng = np.random.default_rng(3)
    queries = history.sample(300, random_state=4).reset_index(drop=True)[["handle", "platform", "suffix"]]
    queries["handle"] = [h if rng.random() < 0.5 else h[::-1] + "x" * int(rng.integers(0, 20))
                         for h in queries["handle"]]
    times = history["sold_at"].dropna()
    queries["as_of"] = np.where(rng.random(len(queries)) < 0.3, pd.NaT,
                                times.sample(len(queries), replace=True, random_state=5).to_numpy())
    got = fam.transform(queries)[["sales__knn_median_logp", "sales__knn_max_sim", "sales__knn_mean_sim"]]
    long_buckets = 0
    for i in range(len(queries)):
        q = prepare(queries.iloc[[i]]).frame.iloc[0]
        text = q["text"][:64]
        names, sold, logp = fam.bucket_.get((q["platform"], min(len(text), 16)), ([], None, None))
        long_buckets += len(text) >= 16 and len(names) > 0
        if not len(names) or not (sold < q["cutoff"]).any():
            assert got.iloc[i].isna().all(), (i, text)
            continue
        scores = process.cdist([text], names, scorer=fuzz.ratio, dtype=np.int16)[0]
        scores = np.where(sold < q["cutoff"], scores, np.int16(-1))
        k = min(15, len(names))
        top = np.argpartition(-scores[None, :], k - 1, axis=1)[0, :k] if k < len(names) else np.arange(len(names))
        visible = scores[top] >= 0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            expected = [np.nanmedian(logp[top][visible]), scores[top][visible].max() / 100,
                        np.nanmean(scores[top][visible] / 100)]
        np.testing.assert_allclose(got.iloc[i].to_numpy(), expected, rtol=0, atol=1e-12, err_msg=text)
    assert long_buckets >= 20  # names of 16+ characters (lengths differ within the bucket) were exercised
