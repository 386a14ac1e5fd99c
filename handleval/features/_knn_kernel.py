"""The compiled k-nearest-sales summary of :mod:`handleval.features.sales`, in a module of its own so numba loads
only when comparables are computed.

Which of several sales tied at the k-th similarity count as the k nearest is whatever ``np.argpartition`` picks
(the model was trained so; a deliberate rule changes the model, ``benchmarks/RESULTS.md`` round 4). So the
selection is numpy's own algorithm for 16-bit integers, step for step: ``introselect_`` of numpy's
``_core/src/npysort/selection.cpp`` (median-of-3 quickselect with a median-of-medians-of-5 fallback, on an index
array that starts as ``0..n-1``). numpy 2.x sends 16-bit ``argpartition`` there on every CPU (its SIMD selection
covers only 32- and 64-bit types, whose ties would then depend on the CPU). Two changes that keep every step's
result: the values travel with the indices (no gather per comparison), and a large range is partitioned by first
listing, without branches, where each of the two scans would stop, then replaying the swaps on those lists (the
branchy scans of similarity scores mispredict about every other element). The tests compare with
``np.argpartition``, ``nanmedian``, ``nanmax`` and ``nanmean`` on real queries and adversarial inputs.
"""

import numpy as np

from handleval._jit import njit

_LISTED = 48  # ranges longer than this are partitioned through the stop lists
_CHUNK = 32  # positions listed at a time


@njit
def _swap(vals, idx, i, j):  # pragma: no cover
    vals[i], vals[j] = vals[j], vals[i]
    idx[i], idx[j] = idx[j], idx[i]


@njit
def _median3_swap(vals, idx, low, mid, high):  # pragma: no cover
    """The median of three to ``low`` and the smallest to ``low + 1`` (the unguarded partition needs both)."""
    if vals[high] < vals[mid]:
        _swap(vals, idx, high, mid)
    if vals[high] < vals[low]:
        _swap(vals, idx, high, low)
    if vals[low] < vals[mid]:
        _swap(vals, idx, low, mid)
    _swap(vals, idx, mid, low + 1)


@njit
def _median5(vals, idx, at):  # pragma: no cover
    """Offset (1, 2 or 3) of the median of ``at..at + 4``, partly ordering them as numpy does."""
    if vals[at + 1] < vals[at]:
        _swap(vals, idx, at + 1, at)
    if vals[at + 4] < vals[at + 3]:
        _swap(vals, idx, at + 4, at + 3)
    if vals[at + 3] < vals[at]:
        _swap(vals, idx, at + 3, at)
    if vals[at + 4] < vals[at + 1]:
        _swap(vals, idx, at + 4, at + 1)
    if vals[at + 2] < vals[at + 1]:
        _swap(vals, idx, at + 2, at + 1)
    if vals[at + 3] < vals[at + 2]:
        return 1 if vals[at + 3] < vals[at + 1] else 3
    return 2


@njit
def _scan(vals, idx, pivot, ll, hh):  # pragma: no cover
    """numpy's ``unguarded_partition_``: returns the final ``(ll, hh)``."""
    while True:
        ll += 1
        while vals[ll] < pivot:
            ll += 1
        hh -= 1
        while pivot < vals[hh]:
            hh -= 1
        if hh < ll:
            return ll, hh
        _swap(vals, idx, ll, hh)


@njit
def _scan_listed(vals, idx, pivot, ll, hh, lefts, rights):  # pragma: no cover
    """:func:`_scan` for the median-of-3 case (sentinels at ``ll`` and ``hh``), replayed on lists of stops.

    Left stops are the positions after ``ll`` holding a value >= pivot, right stops those before ``hh`` holding
    one <= pivot; both are listed, _CHUNK positions at a time as the swaps need them, from values no swap has
    touched yet. Swap t exchanges the t-th of each. A scan that reaches the other side's last swap stops on the
    value swapped in there (it stops that scan too); if that swap was of one element with itself, everything
    beyond it was passed by the other scan and stops it at once. Entries listed beyond the last swaps may come
    from swapped values, but those are never used: the same rule replaces them."""
    n_left = n_right = 0
    next_left, next_right = ll + 1, hh - 1  # next positions to list
    last_left, last_right = ll, hh
    t = 0
    while True:
        while n_left <= t and next_left <= hh:
            stop = min(next_left + _CHUNK, hh + 1)
            for i in range(next_left, stop):
                lefts[n_left] = i
                n_left += vals[i] >= pivot
            next_left = stop
        while n_right <= t and next_right >= ll:
            stop = max(next_right - _CHUNK, ll - 1)
            for i in range(next_right, stop, -1):
                rights[n_right] = i
                n_right += vals[i] <= pivot
            next_right = stop
        left = lefts[t] if t < n_left else hh + 1
        right = rights[t] if t < n_right else ll - 1
        if t > 0:
            if left >= last_right:
                left = last_right if last_right > last_left else last_left + 1
            if right <= last_left:
                right = last_left if last_left < last_right else last_right - 1
        if right < left:
            return left, right
        _swap(vals, idx, left, right)
        last_left, last_right = left, right
        t += 1


@njit
def _narrow(vals, idx, base, low, high, ll, hh, k):  # pragma: no cover
    """Put the pivot (at ``low``) in its place ``hh`` and return the ``(low, high)`` of the part holding ``k``."""
    _swap(vals, idx, base + low, base + hh)
    if hh >= k:
        high = hh - 1
    if hh <= k:
        low = ll
    return low, high


@njit
def _around_median_of_medians(vals, idx, base, low, high, ll, hh, n_medians, k):  # pragma: no cover
    """numpy's partition step around the median of the medians of five (at ``ll + n_medians // 2``): it goes to
    ``low``, the scan covers ``ll..hh`` itself (no sentinels), then :func:`_narrow`."""
    _swap(vals, idx, base + ll + n_medians // 2, base + low)
    ll, hh = _scan(vals, idx, vals[base + low], base + ll - 1, base + hh + 1)
    return _narrow(vals, idx, base, low, high, ll - base, hh - base, k)


@njit
def introselect(vals, idx, num, kth, lefts, rights):  # pragma: no cover
    """Reorder ``vals[:num]`` and ``idx[:num]`` together so that entry ``kth`` holds the kth smallest value and
    the ones before it no larger values, exactly as numpy's ``introselect_`` (arg variant, no pivot cache).

    numpy recurses into the medians of five when median-of-3 quickselect stalls; numba cannot load recursive
    functions from its cache, so those calls are kept on an explicit stack of the callers' state."""
    callers = np.empty((64, 9), dtype=np.int64)  # a call works on a fifth of its caller's range: 5**64 is plenty
    n_callers = 0
    base, n, k = 0, num, kth  # the current call: vals[base:base + n], its kth
    low = high = depth = ll = hh = n_medians = 0
    entering = True
    while True:
        if entering:
            entering = False
            low, high = 0, n - 1
            depth = 0
            bits = n
            while bits > 1:  # npy_get_msb
                bits >>= 1
                depth += 1
            depth *= 2
            if k - low < 3:  # selection sort of the first k + 1, and this call is done
                for i in range(k + 1):
                    smallest = i
                    value = vals[base + i]
                    for j in range(i + 1, n):
                        if vals[base + j] < value:
                            smallest = j
                            value = vals[base + j]
                    _swap(vals, idx, base + i, base + smallest)
                high = low  # skips the loops below
        while low + 1 < high:
            ll = low + 1
            hh = high
            if depth > 0 or hh - ll < 5:
                mid = low + (high - low) // 2
                _median3_swap(vals, idx, base + low, base + mid, base + high)
                depth -= 1
                if high - low > _LISTED:
                    ll, hh = _scan_listed(vals, idx, vals[base + low], base + ll, base + hh, lefts, rights)
                else:
                    ll, hh = _scan(vals, idx, vals[base + low], base + ll, base + hh)
                low, high = _narrow(vals, idx, base, low, high, ll - base, hh - base, k)
            else:  # median of medians of 5, for a linear worst case
                n_medians = (hh - ll) // 5
                for i in range(n_medians):
                    m = _median5(vals, idx, base + ll + 5 * i)
                    _swap(vals, idx, base + ll + 5 * i + m, base + ll + i)
                if n_medians > 2:  # first select the median of the medians: "call", resume below
                    saved = callers[n_callers]  # element by element: a tuple here took seconds to compile
                    saved[0], saved[1], saved[2], saved[3], saved[4] = base, n, k, low, high
                    saved[5], saved[6], saved[7], saved[8] = depth, ll, hh, n_medians
                    n_callers += 1
                    base, n, k = base + ll, n_medians, n_medians // 2
                    entering = True
                    break
                depth -= 1
                low, high = _around_median_of_medians(vals, idx, base, low, high, ll, hh, n_medians, k)
        if entering:
            continue
        if high == low + 1 and vals[base + high] < vals[base + low]:
            _swap(vals, idx, base + high, base + low)
        if n_callers == 0:
            return
        n_callers -= 1  # back in the caller: the median of its medians is its pivot
        saved = callers[n_callers]
        base, n, k, low, high = saved[0], saved[1], saved[2], saved[3], saved[4]
        depth, ll, hh, n_medians = saved[5], saved[6], saved[7], saved[8]
        depth -= 1
        low, high = _around_median_of_medians(vals, idx, base, low, high, ll, hh, n_medians, k)


@njit
def _pairwise_sum(values, n):  # pragma: no cover
    """``np.sum(values[:n])`` for n <= 128 in numpy's order (its ``pairwise_sum``): from 0.0, one by one below 8
    values, else eight running sums combined pairwise, then the rest one by one."""
    if n < 8:
        total = -0.0
        for i in range(n):
            total += values[i]
        return 0.0 + total
    r0, r1, r2, r3 = values[0], values[1], values[2], values[3]
    r4, r5, r6, r7 = values[4], values[5], values[6], values[7]
    i = 8
    while i < n - n % 8:
        r0 += values[i]
        r1 += values[i + 1]
        r2 += values[i + 2]
        r3 += values[i + 3]
        r4 += values[i + 4]
        r5 += values[i + 5]
        r6 += values[i + 6]
        r7 += values[i + 7]
        i += 8
    total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        total += values[i]
        i += 1
    return 0.0 + total


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
def knn_summary(negated, logp, k, out):  # pragma: no cover
    """Per row of ``negated`` (minus the 0-100 similarity of a query to every sale of a bucket, 1 for a sale not
    visible to it): the k (at most 128) most similar visible sales, ties as ``np.argpartition`` breaks them; into
    ``out`` the median ln price of those, their largest and their mean similarity (0-1), NaN where none is
    visible. The same numbers, bit for bit, as numpy's ``argpartition``, ``nanmedian``, ``nanmax`` and
    ``nanmean`` over the masked row."""
    m = negated.shape[1]
    vals = np.empty(m, dtype=np.int16)
    idx = np.empty(m, dtype=np.int64)
    lefts = np.empty(m, dtype=np.int64)
    rights = np.empty(m, dtype=np.int64)
    sims = np.empty(k)
    visible = np.empty(k)
    for r in range(negated.shape[0]):
        for j in range(m):
            vals[j] = negated[r, j]
            idx[j] = j
        if k < m:
            introselect(vals, idx, m, k - 1, lefts, rights)
        count = 0
        best = -1.0
        for i in range(k):
            s = -vals[i]
            if s >= 0:
                sims[i] = s / 100
                visible[count] = logp[idx[i]]
                count += 1
                best = max(best, sims[i])
            else:
                sims[i] = 0.0  # nanmean adds NaN as 0
        if count == 0:
            out[r, 0] = out[r, 1] = out[r, 2] = np.nan
            continue
        _insertion_sort(visible, count)  # (np.sort compiles a whole quicksort; these are at most k values)
        half = count // 2
        out[r, 0] = visible[half] if count % 2 else (visible[half - 1] + visible[half]) / 2
        out[r, 1] = best
        out[r, 2] = _pairwise_sum(sims, k) / count
