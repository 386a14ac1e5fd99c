"""The compiled k-nearest-sales step of :mod:`handleval.features.sales`, in a module of its own so numba loads
only when comparables are computed.

The rule: per query, the k most similar sales it may see; among equally similar sales, the one earlier in the
bucket wins. :class:`~handleval.features.sales.SalesHistoryFeatures` orders each bucket by name (alphabetical),
then the later sale first, so together: ties go to the name, then the later sale. The kernel keeps a k-sized
buffer sorted by similarity and inserts a sale only when it is strictly more similar than the buffer's last, so
an equal one found later never displaces an earlier one. The tests compare it with a plain sort on
``(-similarity, position)``.
"""

import numpy as np

from handleval._jit import njit


@njit
def _insertion_sort(values, n):  # pragma: no cover
    """Sort ``values[:n]`` in place (no NaN here: the history keeps finite prices only)."""
    for i in range(1, n):
        value = values[i]
        j = i - 1
        while j >= 0 and values[j] > value:
            values[j + 1] = values[j]
            j -= 1
        values[j + 1] = value


@njit
def knn_summary(negated, logp, k, out, nearest):  # pragma: no cover
    """Per row of ``negated`` (minus the 0-100 similarity of a query to every sale of a bucket, 1 for a sale not
    visible to it): the k (at least 1) most similar visible sales, ties to the lower column. Into ``nearest``
    their columns, most similar first, padded with -1; into ``out`` the median ln price of those, their largest
    and their mean similarity (0-1), NaN where none is visible."""
    sims = np.empty(k, dtype=np.int64)
    prices = np.empty(k)
    for r in range(negated.shape[0]):
        count = 0
        for j in range(negated.shape[1]):
            s = -np.int64(negated[r, j])
            if s < 0 or (count == k and s <= sims[k - 1]):
                continue
            at = count if count < k else k - 1  # a full buffer drops its last
            while at > 0 and sims[at - 1] < s:  # strictly less: equals stay ahead
                sims[at] = sims[at - 1]
                nearest[r, at] = nearest[r, at - 1]
                at -= 1
            sims[at] = s
            nearest[r, at] = j
            count = min(count + 1, k)
        nearest[r, count:] = -1
        if count == 0:
            out[r, 0] = out[r, 1] = out[r, 2] = np.nan
            continue
        total = 0
        for i in range(count):
            prices[i] = logp[nearest[r, i]]
            total += sims[i]
        _insertion_sort(prices, count)  # (np.sort compiles a whole quicksort; these are at most k values)
        half = count // 2
        out[r, 0] = prices[half] if count % 2 else (prices[half - 1] + prices[half]) / 2
        out[r, 1] = sims[0] / 100
        out[r, 2] = total / count / 100
