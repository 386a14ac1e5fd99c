"""The compiled k-NN selection replays ``np.argpartition`` for int16 exactly, and its summary equals numpy's."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from handleval.features._knn_kernel import introselect, knn_summary


def _numpy_falls_back(values: np.ndarray, kth: int) -> bool:
    """Whether numpy's introselect reaches its median-of-medians pivot on ``values`` (a Python copy of its
    median-of-3 loop, up to that point), so the tests know that path is exercised."""
    v, low, high = list(values), 0, len(values) - 1
    depth = 2 * (len(values).bit_length() - 1)
    while kth >= 3 and low + 1 < high:
        ll, hh = low + 1, high
        if depth <= 0 and hh - ll >= 5:
            return True
        mid = low + (high - low) // 2
        if v[high] < v[mid]:
            v[high], v[mid] = v[mid], v[high]
        if v[high] < v[low]:
            v[high], v[low] = v[low], v[high]
        if v[low] < v[mid]:
            v[low], v[mid] = v[mid], v[low]
        v[mid], v[low + 1] = v[low + 1], v[mid]
        depth -= 1
        while True:
            ll += 1
            while v[ll] < v[low]:
                ll += 1
            hh -= 1
            while v[low] < v[hh]:
                hh -= 1
            if hh < ll:
                break
            v[ll], v[hh] = v[hh], v[ll]
        v[low], v[hh] = v[hh], v[low]
        high = hh - 1 if hh >= kth else high
        low = ll if hh <= kth else low
    return False


def _select(values: np.ndarray, kth: int) -> np.ndarray:
    vals = values.astype(np.int16)
    idx = np.arange(len(values), dtype=np.int64)
    introselect(vals, idx, len(values), kth, np.empty(len(values), np.int64), np.empty(len(values), np.int64))
    assert (vals == values[idx]).all()  # the values travelled with their indices
    return idx


def _expected(values: np.ndarray, kth: int) -> np.ndarray:
    return np.argpartition(values.astype(np.int16)[None, :], kth, axis=1)[0]


def test_selection_is_argpartitions_on_random_tied_scores():
    rng = np.random.default_rng(0)
    for _ in range(3000):
        n = int(rng.choice([3, 4, 6, 20, 48, 49, 64, 100, 500, 949, 1656]))
        kth = min(14, n - 1) if rng.random() < 0.7 else int(rng.integers(0, n))
        distinct = int(rng.choice([1, 2, 3, 6, 17, 101]))
        values = -rng.integers(0, distinct, n) * (100 // max(distinct - 1, 1))
        if rng.random() < 0.3:
            values = np.sort(values)[:: rng.choice([1, -1])].copy()
        values[rng.random(n) < rng.choice([0.0, 0.3])] = 1  # sales not visible to the query
        assert (_select(values, kth) == _expected(values, kth)).all(), (n, kth, distinct)


@pytest.mark.parametrize(("n", "kth"), [(1000, 14), (3000, 14), (1000, 500), (2000, 1000)])
def test_selection_is_argpartitions_where_median_of_3_stalls(n, kth):
    """numpy's documented bad case for median-of-3 and its mirror, organ pipes: these reach numpy's
    median-of-medians pivot (checked), which the kernel replays through an explicit stack."""
    cases = [np.roll(np.arange(n), n // 2), np.roll(np.arange(n), n // 2)[::-1].copy(),
             np.r_[np.arange(n // 2), np.arange(n // 2)[::-1]]]
    stalled = [values for values in cases if _numpy_falls_back(values, kth)]
    assert stalled
    for values in stalled:
        assert (_select(values, kth) == _expected(values, kth)).all()


def test_summary_equals_numpy_on_the_masked_rows_bit_for_bit():
    rng = np.random.default_rng(1)
    for m, k in ((949, 15), (30, 15), (15, 15), (7, 15), (300, 8), (200, 3), (500, 1)):
        negated = (-rng.choice([0, 20, 40, 60, 80, 100], size=(400, m), p=[0.4, 0.35, 0.15, 0.06, 0.03, 0.01]))
        negated = negated.astype(np.int16)
        negated[rng.random(negated.shape) < rng.random((400, 1)) ** 4] = 1  # sales a query does not see
        negated[:5] = 1  # rows that see no sale
        negated[5:10, :2], negated[5:10, 2:] = -20, 1  # rows that see two
        logp = rng.normal(5, 2, m)
        got = np.full((400, 3), -7.0)
        knn_summary(negated, logp, min(k, m), got)
        kept = min(k, m)
        top = np.argpartition(negated, kept - 1, axis=1)[:, :kept] if kept < m else np.tile(np.arange(m), (400, 1))
        sims = (-np.take_along_axis(negated, top, axis=1)).astype(float)
        seen = sims >= 0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # rows with nothing visible
            expected = np.column_stack([np.nanmedian(np.where(seen, logp[top], np.nan), axis=1),
                                        np.nanmax(np.where(seen, sims / 100, np.nan), axis=1),
                                        np.nanmean(np.where(seen, sims / 100, np.nan), axis=1)])
        assert np.isnan(expected[:5]).all() and np.isfinite(expected[5:10]).all()
        assert np.array_equal(got, expected, equal_nan=True), (m, k)
