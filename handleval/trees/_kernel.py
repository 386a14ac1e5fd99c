"""The compiled loops of :mod:`handleval.trees.forest`, in a module of their own so numba loads only when it is used.

Rows go through in blocks of ``block``: each row's leaves are found, then the leaf values and attributions are added
tree by tree across the block, so that the rows' sums are independent chains that overlap instead of one long chain
of dependent adds.

What the speed rests on (each measured on the price model): the helpers are plain ``@njit`` functions, which LLVM
inlines, not ``inline="always"``, with which numba counted references to the arrays around every inlined call in
the feature loop (atomic calls that took 40% of the time); split, leaf and column indices are unsigned, so no code
for negative indices; leaf masks are the smallest unsigned type that holds a tree's leaves."""

import numpy as np

from handleval._jit import njit

_ZERO, _ONE = np.uint64(0), np.uint64(1)  # for arithmetic on the unsigned indices: numba makes uint64 + int a float

try:  # numba's count-trailing-zeros intrinsic (one instruction), from a module that is not numba's public API
    from numba.cpython.unsafe.numbers import trailing_zeros
except ImportError:  # pragma: no cover - a numba that moved it: de Bruijn multiplication, a few instructions more
    _DE_BRUIJN = np.uint64(0x03F79D71B4CB0A89)
    _DE_BRUIJN_POSITION = np.zeros(64, dtype=np.uint64)  # lowest set bit of v = table[(v & -v) * DE_BRUIJN >> 58]
    for _bit in range(64):
        _DE_BRUIJN_POSITION[((1 << _bit) * 0x03F79D71B4CB0A89 % 2**64) >> 58] = _bit

    @njit
    def trailing_zeros(v):
        v = np.uint64(v)
        return _DE_BRUIJN_POSITION[((v & (~v + _ONE)) * _DE_BRUIJN) >> np.uint64(58)]


@njit
def _switch_off(live, r, trees, masks, lo, hi):  # pragma: no cover
    for i in range(lo, hi):
        live[r, trees[i]] &= masks[i]


@njit
def _and_row(live, r, dense, d):  # pragma: no cover
    for t in range(dense.shape[1]):
        live[r, t] &= dense[d, t]


@njit
def _below(x, thresholds, lo, hi):  # pragma: no cover
    """The end of the thresholds below ``x`` in the sorted ``thresholds[lo:hi]``: the splits that send ``x`` right.
    Found by binary search, so that the switch-off loop after it has no compare and no early exit to mispredict
    (a third faster than scanning until ``x <= threshold``). ``thresholds[hi]`` must exist (the arrays end with a
    spare one): the last step reads it, and ignores it, when ``lo == hi``."""
    base = lo
    n = hi - lo
    while n > _ONE:  # thresholds[lo:base] < x <= thresholds[base + n:hi]
        half = n >> _ONE
        base += half & (_ZERO - np.uint64(thresholds[base + half - _ONE] < x))
        n -= half
    return base + (n & np.uint64(thresholds[base] < x))  # n is 1, or 0 for no thresholds


@njit
def _exit_block(X, r0, b, live, exits, model):  # pragma: no cover
    """Rows ``r0 .. r0 + b``: the live leaves of every tree into ``live[:b]`` (QuickScorer; ``model`` is
    :func:`handleval.trees.forest._quickscorer_arrays`), then each row's exit leaf per tree into ``exits[:b]``."""
    (full, position_base, _, is_cat, k_zero, num_ptr, num_thr, num_tree, num_mask, zero_ptr, zero_thr, zero_tree,
     zero_mask, zdef_ptr, zdef_tree, zdef_mask, zdef_dense, nan_ptr, nan_tree, nan_mask, nan_dense, cat_base,
     n_categories, cat_ptr, cat_tree, cat_mask, cat_dense, dense) = model
    for r in range(b):
        for t in range(full.shape[0]):
            live[r, t] = full[t]
        for f in range(is_cat.shape[0]):
            x = X[r0 + r, f]
            if np.isnan(x):
                if nan_dense[f] >= 0:
                    _and_row(live, r, dense, nan_dense[f])
                else:
                    _switch_off(live, r, nan_tree, nan_mask, nan_ptr[f], nan_ptr[f + 1])
                continue
            if abs(x) <= k_zero:
                x = 0.0
            if is_cat[f]:
                c = int(x) if abs(x) < 2.0 ** 31 else -1
                if 0 <= c < n_categories[f]:
                    j = cat_base[f] + c
                    if cat_dense[j] >= 0:
                        _and_row(live, r, dense, cat_dense[j])
                    else:
                        _switch_off(live, r, cat_tree, cat_mask, cat_ptr[j], cat_ptr[j + 1])
                elif nan_dense[f] >= 0:  # negative or never in a split: right at every split on the feature, as NaN
                    _and_row(live, r, dense, nan_dense[f])
                else:
                    _switch_off(live, r, nan_tree, nan_mask, nan_ptr[f], nan_ptr[f + 1])
                continue
            _switch_off(live, r, num_tree, num_mask, num_ptr[f], _below(x, num_thr, num_ptr[f], num_ptr[f + 1]))
            if x == 0.0:
                if zdef_dense[f] >= 0:
                    _and_row(live, r, dense, zdef_dense[f])
                else:
                    _switch_off(live, r, zdef_tree, zdef_mask, zdef_ptr[f], zdef_ptr[f + 1])
            else:
                _switch_off(live, r, zero_tree, zero_mask, zero_ptr[f],
                            _below(x, zero_thr, zero_ptr[f], zero_ptr[f + 1]))
    _exits(live, b, position_base, exits)


@njit
def _exits(live, b, position_base, exits):  # pragma: no cover
    """Each row's exit leaf per tree, the leftmost live one (lowest set bit), as a position in the forest's
    left-to-right leaf order (uint32: half the bytes of the block's buffer)."""
    for r in range(b):
        for t in range(position_base.shape[0]):
            exits[r, t] = position_base[t] + trailing_zeros(live[r, t])


@njit
def _add_up(r0, b, exits, first_tree, value, columns, credits, over_ptr, over_columns, over_credits,
            n_explained_trees, total, acc, raw, attributions):  # pragma: no cover
    """Rows ``r0 .. r0 + b``: each booster's leaf values summed tree by tree (LightGBM's order, so its rounding),
    and the explained trees' leaf path vectors into ``attributions``; tree by tree across the block, so each row's
    adds are in tree order. A leaf's vector is a fixed-width row of ``columns``/``credits`` (padded with zero credits
    to scratch columns past the features, so the loop has no data-dependent trip count to mispredict), and the rare
    longer ones go on in CSR ``over_*``."""
    n_features = attributions.shape[1]
    if n_explained_trees > 0:
        for r in range(b):
            for j in range(acc.shape[1]):
                acc[r, j] = 0.0
    for m in range(first_tree.shape[0] - 1):
        for r in range(b):
            total[r] = 0.0
        for t in range(first_tree[m], first_tree[m + 1]):
            for r in range(b):
                total[r] += value[exits[r, t]]
            if t < n_explained_trees:
                for r in range(b):
                    leaf = exits[r, t]
                    for k in range(columns.shape[1]):
                        acc[r, columns[leaf, k]] += credits[leaf, k]
                    for k in range(over_ptr[leaf], over_ptr[leaf + 1]):
                        acc[r, over_columns[k]] += over_credits[k]
        for r in range(b):
            raw[r0 + r, m] = total[r]
    if n_explained_trees > 0:
        for r in range(b):
            for j in range(n_features):
                attributions[r0 + r, j] = acc[r, j]


@njit
def exit_leaves(X, model, block, leaves):  # pragma: no cover
    """Every row's leaf per tree into ``leaves`` (rows x trees), as LightGBM's ``pred_leaf``."""
    full, leaf_index = model[0], model[2]
    live = np.empty((block, full.shape[0]), dtype=full.dtype)
    exits = np.empty((block, full.shape[0]), dtype=np.uint32)
    for r0 in range(0, X.shape[0], block):
        b = min(block, X.shape[0] - r0)
        _exit_block(X, r0, b, live, exits, model)
        for r in range(b):
            for t in range(full.shape[0]):
                leaves[r0 + r, t] = leaf_index[exits[r, t]]


@njit
def score(X, model, block, first_tree, value, columns, credits, over_ptr, over_columns, over_credits,
          n_explained_trees, raw, attributions):  # pragma: no cover
    """Per block of rows: their leaves, then the boosters' raw predictions and the explained trees' attributions
    (``value`` and the CSR rows by exit position)."""
    full = model[0]
    live = np.empty((block, full.shape[0]), dtype=full.dtype)
    exits = np.empty((block, full.shape[0]), dtype=np.uint32)
    total = np.empty(block)
    acc = np.empty((block, attributions.shape[1] + columns.shape[1]))
    for r0 in range(0, X.shape[0], block):
        b = min(block, X.shape[0] - r0)
        _exit_block(X, r0, b, live, exits, model)
        _add_up(r0, b, exits, first_tree, value, columns, credits, over_ptr, over_columns, over_credits,
                n_explained_trees, total, acc, raw, attributions)


@njit
def score_leaves(leaves, leaf_offset, block, first_tree, value, columns, credits, over_ptr, over_columns, over_credits,
                 n_explained_trees,
                 raw, attributions):  # pragma: no cover
    """:func:`score` from leaves found elsewhere (LightGBM's ``pred_leaf``, for trees too big for QuickScorer;
    then a tree's leaves are in index order, ``leaf_offset[t] + leaf``)."""
    exits = np.empty((block, leaves.shape[1]), dtype=np.uint32)
    total = np.empty(block)
    acc = np.empty((block, attributions.shape[1] + columns.shape[1]))
    for r0 in range(0, leaves.shape[0], block):
        b = min(block, leaves.shape[0] - r0)
        for r in range(b):
            for t in range(leaves.shape[1]):
                exits[r, t] = leaf_offset[t] + leaves[r0 + r, t]
        _add_up(r0, b, exits, first_tree, value, columns, credits, over_ptr, over_columns, over_credits,
                n_explained_trees, total, acc, raw, attributions)
