"""The compiled loops of :mod:`handleval.forest`, in a module of their own so numba loads only when it is used."""

import numpy as np

from handleval._jit import njit

_DE_BRUIJN = np.uint64(0x03F79D71B4CB0A89)
_DE_BRUIJN_POSITION = np.zeros(64, dtype=np.int64)  # lowest set bit of v = table[(v & -v) * DE_BRUIJN >> 58]
for _bit in range(64):
    _DE_BRUIJN_POSITION[((1 << _bit) * 0x03F79D71B4CB0A89 % 2**64) >> 58] = _bit


@njit(inline="always")
def _switch_off(live, trees, masks, lo, hi):  # pragma: no cover
    for i in range(lo, hi):
        live[trees[i]] &= masks[i]


@njit(inline="always")
def _scan(live, x, thresholds, trees, masks, lo, hi):  # pragma: no cover
    """Switch off the left subtrees of the splits that send ``x`` right (thresholds sorted, so stop at the first
    one ``x`` does not exceed)."""
    for i in range(lo, hi):
        if x <= thresholds[i]:
            break
        live[trees[i]] &= masks[i]


@njit(inline="always")
def _exit_leaves(X, r, live, leaf_row, full, position_base, leaf_index, is_cat, k_zero,
                 num_ptr, num_thr, num_tree, num_mask, zero_ptr, zero_thr, zero_tree, zero_mask,
                 zdef_ptr, zdef_tree, zdef_mask, nan_ptr, nan_tree, nan_mask,
                 cat_base, n_categories, cat_ptr, cat_tree, cat_mask):  # pragma: no cover
    """Row ``r``'s leaf per tree into ``leaf_row`` (QuickScorer; see :func:`handleval.forest._quickscorer_arrays`)."""
    for t in range(full.shape[0]):
        live[t] = full[t]
    for f in range(is_cat.shape[0]):
        x = X[r, f]
        if np.isnan(x):
            _switch_off(live, nan_tree, nan_mask, nan_ptr[f], nan_ptr[f + 1])
            continue
        if abs(x) <= k_zero:
            x = 0.0
        if is_cat[f]:
            c = int(x) if abs(x) < 2.0 ** 31 else -1
            if 0 <= c < n_categories[f]:
                j = cat_base[f] + c
                _switch_off(live, cat_tree, cat_mask, cat_ptr[j], cat_ptr[j + 1])
            else:  # negative or never in a split: right at every split on the feature, as NaN
                _switch_off(live, nan_tree, nan_mask, nan_ptr[f], nan_ptr[f + 1])
            continue
        _scan(live, x, num_thr, num_tree, num_mask, num_ptr[f], num_ptr[f + 1])
        if x == 0.0:
            _switch_off(live, zdef_tree, zdef_mask, zdef_ptr[f], zdef_ptr[f + 1])
        else:
            _scan(live, x, zero_thr, zero_tree, zero_mask, zero_ptr[f], zero_ptr[f + 1])
    for t in range(full.shape[0]):  # the leftmost live leaf: the lowest set bit, by de Bruijn multiplication
        v = live[t]
        leaf_row[t] = leaf_index[position_base[t] + _DE_BRUIJN_POSITION[((v & (~v + np.uint64(1))) * _DE_BRUIJN)
                                                                         >> np.uint64(58)]]


@njit(inline="always")
def _add_up(r, leaf_row, first_tree, leaf_offset, leaf_value, indptr, indices, data, n_explained_trees,
            raw, attributions):  # pragma: no cover
    """Row ``r``: each booster's leaf values summed tree by tree (LightGBM's order, so its rounding), and the
    explained trees' leaf path vectors (CSR rows ``indptr``/``indices``/``data``) into ``attributions``."""
    for m in range(first_tree.shape[0] - 1):
        total = 0.0
        for t in range(first_tree[m], first_tree[m + 1]):
            leaf = leaf_offset[t] + leaf_row[t]
            total += leaf_value[leaf]
            if t < n_explained_trees:
                for k in range(indptr[leaf], indptr[leaf + 1]):
                    attributions[r, indices[k]] += data[k]
        raw[r, m] = total


@njit
def exit_leaves(X, full, position_base, leaf_index, is_cat, k_zero, num_ptr, num_thr, num_tree, num_mask,
                zero_ptr, zero_thr, zero_tree, zero_mask, zdef_ptr, zdef_tree, zdef_mask, nan_ptr, nan_tree,
                nan_mask, cat_base, n_categories, cat_ptr, cat_tree, cat_mask, leaves):  # pragma: no cover
    """Every row's leaf per tree into ``leaves`` (rows x trees), as LightGBM's ``pred_leaf``."""
    live = np.empty(full.shape[0], dtype=np.uint64)
    for r in range(X.shape[0]):
        _exit_leaves(X, r, live, leaves[r], full, position_base, leaf_index, is_cat, k_zero,
                     num_ptr, num_thr, num_tree, num_mask, zero_ptr, zero_thr, zero_tree, zero_mask,
                     zdef_ptr, zdef_tree, zdef_mask, nan_ptr, nan_tree, nan_mask,
                     cat_base, n_categories, cat_ptr, cat_tree, cat_mask)


@njit
def score(X, full, position_base, leaf_index, is_cat, k_zero, num_ptr, num_thr, num_tree, num_mask,
          zero_ptr, zero_thr, zero_tree, zero_mask, zdef_ptr, zdef_tree, zdef_mask, nan_ptr, nan_tree, nan_mask,
          cat_base, n_categories, cat_ptr, cat_tree, cat_mask,
          first_tree, leaf_offset, leaf_value, indptr, indices, data, n_explained_trees,
          raw, attributions):  # pragma: no cover
    """Per row: its leaves, then the boosters' raw predictions and the explained trees' attributions."""
    live = np.empty(full.shape[0], dtype=np.uint64)
    leaf_row = np.empty(full.shape[0], dtype=np.int32)
    for r in range(X.shape[0]):
        _exit_leaves(X, r, live, leaf_row, full, position_base, leaf_index, is_cat, k_zero,
                     num_ptr, num_thr, num_tree, num_mask, zero_ptr, zero_thr, zero_tree, zero_mask,
                     zdef_ptr, zdef_tree, zdef_mask, nan_ptr, nan_tree, nan_mask,
                     cat_base, n_categories, cat_ptr, cat_tree, cat_mask)
        _add_up(r, leaf_row, first_tree, leaf_offset, leaf_value, indptr, indices, data, n_explained_trees,
                raw, attributions)


@njit
def score_leaves(leaves, first_tree, leaf_offset, leaf_value, indptr, indices, data, n_explained_trees,
                 raw, attributions):  # pragma: no cover
    """:func:`score` from leaves found elsewhere (LightGBM's ``pred_leaf``, for trees too big for QuickScorer)."""
    for r in range(leaves.shape[0]):
        _add_up(r, leaves[r], first_tree, leaf_offset, leaf_value, indptr, indices, data, n_explained_trees,
                raw, attributions)
