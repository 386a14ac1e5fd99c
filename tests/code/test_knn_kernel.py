"""The compiled k-NN keeps the k most similar visible sales, ties to the lower column, and summarises them as
a plain sort and numpy's median, max and mean do."""

from __future__ import annotations

import numpy as np
import pytest
from rapidfuzz import fuzz, process

from handleval.features._knn_kernel import knn_summary


def _reference(negated: np.ndarray, logp: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """One row at a time: the visible columns sorted by (-similarity, column), the first k, numpy's summaries."""
    nearest = np.full((len(negated), k), -1)
    summary = np.full((len(negated), 3), np.nan)
    for r, row in enumerate(negated.astype(np.int64)):
        picked = sorted((j for j in range(len(row)) if row[j] <= 0), key=lambda j: (row[j], j))[:k]
        nearest[r, :len(picked)] = picked
        if picked:
            sims = -row[picked]
            summary[r] = [np.median(logp[picked]), np.max(sims) / 100, np.mean(sims) / 100]
    return nearest, summary


def _kernel(negated: np.ndarray, logp: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    out = np.full((len(negated), 3), -7.0)
    nearest = np.full((len(negated), k), -7, dtype=np.int64)
    knn_summary(negated.astype(np.int16), logp, k, out, nearest)
    return nearest, out


def _assert_same(negated: np.ndarray, logp: np.ndarray, k: int) -> None:
    got_nearest, got = _kernel(negated, logp, k)
    want_nearest, want = _reference(negated, logp, k)
    assert np.array_equal(got_nearest, want_nearest), k
    assert np.array_equal(got, want, equal_nan=True), k  # bit for bit


def _ties_at_kth(negated: np.ndarray, k: int) -> int:
    """Rows where the k-th most similar visible sale ties with one left out (so the tie rule decides)."""
    sims = np.sort(np.where(negated <= 0, -negated.astype(np.int64), -1), axis=1)[:, ::-1]
    return int(((sims[:, k - 1] >= 0) & (sims[:, k - 1] == sims[:, k])).sum()) if sims.shape[1] > k else 0


def test_kernel_equals_a_plain_sort_on_real_name_scores():
    """Queries and sold names of one length, scored by ``fuzz.ratio`` as the sales family does: few distinct
    scores, so most rows tie at the k-th place."""
    rng = np.random.default_rng(0)
    for length, m, k in ((4, 300, 15), (6, 949, 15), (8, 60, 15), (5, 15, 15), (5, 10, 15), (7, 500, 1)):
        letters = np.array(list("abcdeilnorst"))
        names = ["".join(rng.choice(letters, length)) for _ in range(m)]
        queries = ["".join(rng.choice(letters, length)) for _ in range(200)]
        negated = -process.cdist(queries, names, scorer=fuzz.ratio, dtype=np.int16)
        hidden = rng.random(negated.shape) < rng.random((len(queries), 1)) ** 2  # sales dated after the query
        negated[hidden] = 1
        negated[:3] = 1  # queries that see nothing
        logp = rng.normal(5, 2, m)
        kept = min(k, m)
        if m > kept:
            assert _ties_at_kth(negated, kept) > 50
        _assert_same(negated, logp, kept)


@pytest.mark.parametrize("k", [1, 2, 3, 15, 40])
def test_kernel_equals_a_plain_sort_on_adversarial_ties(k):
    """All tied, ascending and descending scores (every sale displaces the last), one visible sale, none."""
    m = 200
    cases = {
        "all tied": np.full(m, -40),
        "ascending": -(np.arange(m) % 101),
        "descending": -(np.arange(m)[::-1] % 101),
        "two values alternating": -np.tile([100, 0], m // 2),
        "one visible": np.r_[np.ones(m - 1, dtype=int), -55],
        "none visible": np.ones(m, dtype=int),
        "zeros only": np.zeros(m, dtype=int),
        "organ pipes": -(np.r_[np.arange(m // 2), np.arange(m // 2)[::-1]] % 101),
    }
    negated = np.array(list(cases.values()))
    negated = np.r_[negated, np.where(np.arange(m) % 3 == 0, 1, negated)]  # and each with a third hidden
    logp = np.random.default_rng(1).normal(5, 2, m)
    _assert_same(negated, logp, k)
    nearest, _ = _kernel(negated, logp, k)
    assert (nearest[0] == np.arange(k)).all()  # all tied: the first k columns


def test_kernel_equals_a_plain_sort_on_random_tied_scores():
    rng = np.random.default_rng(2)
    for _ in range(200):
        m = int(rng.choice([1, 2, 14, 15, 16, 48, 300]))
        k = int(rng.integers(1, min(m, 40) + 1))
        distinct = int(rng.choice([1, 2, 3, 6, 101]))
        negated = -rng.integers(0, distinct, (20, m)) * (100 // max(distinct - 1, 1))
        negated[rng.random((20, m)) < rng.choice([0.0, 0.3, 0.9])] = 1
        _assert_same(negated, rng.normal(5, 2, m), k)
