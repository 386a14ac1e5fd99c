"""The compiled k-NN summary loop of :mod:`handleval.features.sales`, in a module of its own so numba loads only
when it is used (``import handleval`` stays light)."""

import numpy as np

from handleval._jit import njit

MAX_SCORE = 100  # fuzz.ratio similarities are integers 0..100 (cdist with an integer dtype)


@njit
def _block_sum(a, lo, n):  # pragma: no cover - compiled
    """NumPy's pairwise sum of a run of at most 128 (its block): a plain loop below 8, else 8 accumulators."""
    if n < 8:
        res = 0.0
        for i in range(lo, lo + n):
            res += a[i]
        return res
    r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
    r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
    i = 8
    while i < n - n % 8:
        r0 += a[lo + i]
        r1 += a[lo + i + 1]
        r2 += a[lo + i + 2]
        r3 += a[lo + i + 3]
        r4 += a[lo + i + 4]
        r5 += a[lo + i + 5]
        r6 += a[lo + i + 6]
        r7 += a[lo + i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[lo + i]
        i += 1
    return res


@njit
def pairwise_sum(a, lo, n):  # pragma: no cover - compiled; tested against np.sum
    """``a[lo:lo + n].sum()`` added in NumPy's order (its pairwise summation of a contiguous float64 run), so that
    a mean computed with it is ``np.mean``'s / ``np.nanmean``'s to the last bit. Above 128 values NumPy recurses
    on two halves (the first a multiple of 8 long); this walks the same tree with an explicit stack (numba's
    cache cannot hold a recursive function)."""
    if n <= 128:
        return _block_sum(a, lo, n)
    depth = 2 * (64 - 7)  # the tree is at most ~log2(n / 128) deep: ample
    node_lo = np.empty(depth, dtype=np.int64)
    node_n = np.empty(depth, dtype=np.int64)
    left_sum = np.empty(depth, dtype=np.float64)
    stage = np.zeros(depth, dtype=np.int64)  # 0: left half not yet summed, 1: right half not yet summed
    top = 0
    node_lo[0], node_n[0], stage[0] = lo, n, 0
    result = 0.0
    while top >= 0:
        size = node_n[top]
        half = size // 2
        half -= half % 8
        if stage[top] == 0:
            child_lo, child_n = node_lo[top], half
        else:
            child_lo, child_n = node_lo[top] + half, size - half
        if child_n > 128:  # descend
            top += 1
            node_lo[top], node_n[top], stage[top] = child_lo, child_n, 0
            continue
        value = _block_sum(a, child_lo, child_n)
        while True:  # hand the finished value up: a left half waits for its right one, a right half completes
            if stage[top] == 0:
                left_sum[top] = value
                stage[top] = 1
                break
            value = left_sum[top] + value
            top -= 1
            if top < 0:
                result = value
                break
    return result


@njit
def knn_summaries(scores, starts, logp, k, out):  # pragma: no cover - compiled; tested against a reference
    """For each query row ``r`` of ``scores`` (integer similarities 0..``MAX_SCORE``, one column per sale):
    choose the ``k`` highest scores among columns ``starts[r]:`` (all of them if fewer), the LOWEST column
    winning among equal scores, and write into ``out[r]``

    0. the median of the chosen columns' ``logp`` (finite), as ``np.median`` computes it (the middle of the sorted
       values, or the two middle ones added and halved);
    1. the highest chosen score / 100;
    2. the mean of the chosen scores / 100, as ``np.nanmean`` computes it for them listed best first (the
       quotients added in NumPy's pairwise order, then divided by their count).

    All three are NaN when no column is visible (``starts[r]`` >= number of columns) or ``k`` < 1.

    One pass per row keeps, as counts per score (``kept``), the scores of the ``k`` best columns so far; its
    lowest score is the ``floor``. Columns come in increasing order, so a later column beats a kept one only with
    a strictly higher score: it is then recorded (``cand``) and one column at the floor leaves (the latest such,
    which the final selection below leaves out). A column kept at the end has a score above the final floor, or
    equal to it and is among the first ``kept[floor]`` recorded columns with that score: those are read back from
    ``cand`` (recorded columns in column order; every column above the floor was recorded on arrival, and so were
    the first ``kept[floor]`` at it, since fewer than ``k`` better-or-earlier columns had been seen then)."""
    n_rows, n_cols = scores.shape
    kept = np.zeros(MAX_SCORE + 1, dtype=np.int64)
    cand = np.empty(n_cols + 1, dtype=np.int64)
    values = np.empty(max(k, 1) + 1, dtype=np.float64)  # + 1: the branch-free selection writes one past
    sims = np.empty(max(k, 1), dtype=np.float64)
    for r in range(n_rows):
        start = starts[r]
        n_visible = n_cols - start
        if n_visible <= 0 or k <= 0:
            out[r, 0] = np.nan
            out[r, 1] = np.nan
            out[r, 2] = np.nan
            continue
        row = scores[r, start:]
        lp = logp[start:]
        m = min(k, n_visible)
        floor = np.int64(row[0])
        best = np.int64(row[0])
        for j in range(m):  # the first m columns are the k best so far
            v = np.int64(row[j])
            kept[v] += 1
            cand[j] = j
            floor = min(floor, v)
            best = max(best, v)
        c = m
        for j in range(m, n_visible):
            v = np.int64(row[j])
            if v > floor:
                cand[c] = j
                c += 1
                kept[v] += 1
                kept[floor] -= 1
                best = max(best, v)
                while kept[floor] == 0:
                    floor += 1
        # kept[s] chosen columns score s (floor <= s <= best): their mean best first; reset kept for the next row
        at_floor = kept[floor]
        n = 0
        for s in range(best, floor - 1, -1):
            count = kept[s]
            if count:
                sim = s / 100.0
                for _ in range(count):
                    sims[n] = sim
                    n += 1
                kept[s] = 0
        total = pairwise_sum(sims, 0, n)
        n = 0
        for i in range(c):  # branch-free: values[n] is overwritten unless the column is taken
            j = cand[i]
            v = row[j]
            tie = (v == floor) & (at_floor > 0)
            values[n] = lp[j]
            n += (v > floor) | tie
            at_floor -= tie
        # median: the values of rank half (and half - 1), ranks counted branch-free (equal values by position)
        half = n // 2
        lower = upper = 0.0
        for i in range(n):
            x = values[i]
            rank = 0
            for t in range(n):
                y = values[t]
                rank += (y < x) | ((y == x) & (t < i))
            if rank == half:
                upper = x
            if rank == half - 1:
                lower = x
        out[r, 0] = upper if n % 2 else (lower + upper) / 2.0
        out[r, 1] = best / 100.0
        out[r, 2] = total / n
