"""LightGBM trees scored in one compiled pass: predictions to the bit, and per-row path attributions.

Exact TreeSHAP (``Booster.predict(pred_contrib=True)``) costs about 1 ms per row for the price model, which kept
batch scoring with reasons near 170 handles/s. Path attributions (Saabas' method, as in ``treeinterpreter``)
credit each split's feature with the change in the expected value along the path the row takes. They depend on
the leaf alone, so they are computed once per leaf from the booster's own JSON dump; a row's attributions are the
sum of its leaves' vectors. Like SHAP values they are additive: the bias plus a row's attributions is its
prediction. Unlike SHAP they favour features split near the root; training records how often their top reason is
TreeSHAP's (``reasons_vs_treeshap`` in the price manifest).

The leaves are found with QuickScorer (Lucchese et al., SIGIR 2015) rather than by walking each tree: per feature,
the splits of all trees are sorted by threshold, and one scan per feature switches off the leaves a row cannot
reach. For the price model's 590 small trees (the point model's 354 and both quantile models', one pass) it takes
about 3.5 us a row, a third of what LightGBM's own ``predict`` takes for the point model alone. It reproduces
LightGBM's predictor exactly, including two details its documentation does not state: the predictor reads
|x| <= 1e-35f as 0, and a category is truncated to an int.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from functools import cached_property, partial
from typing import Any

import numpy as np

K_ZERO = float(np.float32(1e-35))  # LightGBM's kZeroThreshold: its predictor reads |x| at or below it as 0
_MAX_LEAVES = 64  # one uint64 of live-leaf bits per tree
BLOCK = 32  # rows the kernel takes together (16 to 64 measure the same; 8 and fewer are slower)
DENSE_SHARE = 16  # a missing value or category that switches off leaves in 1/16 of the trees or more: a dense row
_ALL_LEAVES = (1 << _MAX_LEAVES) - 1
_Node = tuple[int, float, int, int]  # (group: a feature or a category slot, threshold, tree, mask)


@dataclass(frozen=True)
class Forest:
    """The trees of one or more single-output boosters, and each leaf's path attribution vector for the first
    ``n_explained`` of them. Build it with :meth:`from_boosters`.

    ``arrays`` are the QuickScorer kernel's model arguments (:func:`handleval.trees._kernel.score`); ``None`` when
    a tree has more than 64 leaves, and then LightGBM's ``pred_leaf`` finds the leaves instead. ``by_exit`` are
    ``leaf_value`` and the rows of ``paths`` (as CSR arrays) in the order the kernel finds leaves: per tree left to
    right with QuickScorer, else by leaf index."""

    parse_boosters: Callable[[], Sequence[Any]] = field(compare=False)  # only LightGBM's own predict needs them
    first_tree: np.ndarray  # per booster, the index of its first tree; then the number of trees
    leaf_offset: np.ndarray  # per tree: index of its leaf 0 in ``leaf_value`` and in the rows of ``paths``
    leaf_value: np.ndarray
    paths: Any  # scipy.sparse CSR: leaves of the explained boosters x features
    biases: np.ndarray  # per explained booster: the sum of its trees' root values (its prediction before any split)
    n_features: int
    arrays: tuple[Any, ...] | None
    by_exit: tuple[np.ndarray, ...]

    @classmethod
    def from_boosters(cls, boosters: list[Any], n_explained: int = 0) -> Forest:
        """Read every tree once from ``dump_model()``; the first ``n_explained`` boosters get path attributions."""
        from scipy import sparse

        dumps = [b.dump_model() for b in boosters]
        if any(d.get("num_tree_per_iteration", 1) != 1 for d in dumps):
            raise ValueError("a Forest needs single-output models")
        n_features = int(dumps[0]["max_feature_idx"]) + 1
        if any(int(d["max_feature_idx"]) + 1 != n_features for d in dumps):
            raise ValueError("the boosters of a Forest must read the same features")
        trees = [tree for d in dumps for tree in d["tree_info"]]
        first_tree = np.cumsum([0] + [len(d["tree_info"]) for d in dumps]).astype(np.int64)
        leaf_offset = np.cumsum([0] + [int(t["num_leaves"]) for t in trees]).astype(np.int64)
        leaf_value = np.zeros(int(leaf_offset[-1]))
        rows: list[int] = []
        cols: list[int] = []
        data: list[float] = []
        biases = np.zeros(n_explained)
        for t, tree in enumerate(trees):
            for leaf, value, credit in _leaves_with_credit(tree["tree_structure"]):
                leaf_value[leaf_offset[t] + leaf] = value
                if t < first_tree[n_explained]:
                    rows += [int(leaf_offset[t]) + leaf] * len(credit)
                    cols += list(credit)
                    data += list(credit.values())
            if t < first_tree[n_explained]:
                root = tree["tree_structure"]
                booster = int(np.searchsorted(first_tree, t, side="right")) - 1
                biases[booster] += float(root["leaf_value"] if _is_leaf(root) else root["internal_value"])
        paths = sparse.csr_matrix((data, (rows, cols)), shape=(int(leaf_offset[first_tree[n_explained]]), n_features))
        arrays = _quickscorer_arrays(trees, n_features)
        tree_base = np.repeat(leaf_offset[:-1], np.diff(leaf_offset))
        in_tree = arrays[2] if arrays is not None else np.arange(leaf_offset[-1]) - tree_base
        leaf = tree_base + in_tree  # per exit position, its index in leaf_value
        by_exit = (leaf_value[leaf], *_fixed_width(paths[leaf[:paths.shape[0]]]))
        parsed = tuple(boosters)
        return cls(partial(tuple, parsed), first_tree, leaf_offset, leaf_value, paths, biases, n_features, arrays,
                   by_exit)

    @classmethod
    def from_bundle(cls, parse_boosters: Callable[[], Sequence[Any]], n_explained: int,
                    sha256s: list[str]) -> Forest:
        """:meth:`from_boosters` for the boosters of a verified bundle (``parse_boosters()``), whose model files (in
        the same order) have the sha256s ``sha256s``: the arrays are kept in handleval's cache under those and this
        module's source, so a process reads them back (~0.02 s) instead of rebuilding them from LightGBM's JSON dump
        (~0.4 s), and parses the boosters only if it needs LightGBM's own ``predict``."""
        from handleval.features._common import cached, source_digest

        parse = partial(_parsed, parse_boosters, len(sha256s))
        built: list[tuple[Any, ...]] = []

        def build() -> dict[str, Any]:
            built.append(parse())
            forest = cls.from_boosters(built[0], n_explained)
            return {f.name: getattr(forest, f.name) for f in fields(forest) if f.name != "parse_boosters"}

        key = (source_digest(__file__), tuple(sha256s), n_explained)
        forest = cls(parse_boosters=parse, **cached("forest", key, build))
        if len(forest.first_tree) - 1 != len(sha256s):
            raise ValueError(f"{len(forest.first_tree) - 1} boosters but {len(sha256s)} file digests")
        if built:  # parsed to build it: kept, not parsed again
            forest.__dict__["boosters"] = built[0]
        return forest

    @cached_property
    def boosters(self) -> tuple[Any, ...]:
        """The LightGBM boosters, parsed when first needed (TreeSHAP; trees of more than 64 leaves)."""
        return tuple(self.parse_boosters())

    def leaves(self, X: Any, block: int = BLOCK) -> np.ndarray:
        """Each row's leaf per tree, numbered as ``pred_leaf=True`` numbers them (int32, rows x trees)."""
        X = np.ascontiguousarray(X, dtype=np.float64)
        if self.arrays is None:
            return np.concatenate([b.predict(X, pred_leaf=True).reshape(len(X), -1) for b in self.boosters],
                                  axis=1).astype(np.int32)
        from handleval.trees._kernel import exit_leaves

        leaves = np.empty((X.shape[0], int(self.first_tree[-1])), dtype=np.int32)
        exit_leaves(X, self.arrays, block, leaves)
        return leaves

    def predict(self, X: Any, explain: bool = True, block_rows: int = 16_384,
                block: int = BLOCK) -> tuple[np.ndarray, np.ndarray]:
        """``(raw, attributions)``: each booster's raw prediction (rows x boosters, bit for bit
        ``Booster.predict(raw_score=True)``) and the explained boosters' path attributions, summed (rows x
        features; per row and explained booster ``bias + attributions == prediction`` to rounding). With
        ``explain=False`` (or no explained booster) the attributions have no columns and cost nothing."""
        from handleval.trees._kernel import score, score_leaves

        X = np.ascontiguousarray(X, dtype=np.float64)
        n = X.shape[0]
        explain = explain and len(self.biases) > 0
        raw = np.zeros((n, len(self.first_tree) - 1))
        attributions = np.zeros((n, self.n_features if explain else 0))
        paths = (block, self.first_tree, *self.by_exit, int(self.first_tree[len(self.biases)]) if explain else 0)
        if self.arrays is not None:
            score(X, self.arrays, *paths, raw, attributions)
            return raw, attributions
        for lo in range(0, n, block_rows):  # LightGBM's leaves, a block at a time to bound the leaf matrix
            score_leaves(self.leaves(X[lo:lo + block_rows]), self.leaf_offset, *paths, raw[lo:lo + block_rows],
                         attributions[lo:lo + block_rows])
        return raw, attributions


def _parsed(parse_boosters: Callable[[], Sequence[Any]], expected: int) -> tuple[Any, ...]:
    """``parse_boosters()`` as a tuple, refused unless there are ``expected`` of them (one per file digest)."""
    parsed = tuple(parse_boosters())
    if len(parsed) != expected:
        raise ValueError(f"{len(parsed)} boosters but {expected} file digests")
    return parsed


def _fixed_width(paths: Any, width: int | None = None) -> tuple[np.ndarray, ...]:
    """``(columns, credits, over_ptr, over_columns, over_credits)``: each row of ``paths`` (CSR) as ``width`` entries
    padded with zero credits to scratch columns ``n_features + k``, and what does not fit as CSR. The default width
    fits 85% of the rows: wider pads more than the rare mispredicted overflow loop costs (measured on the price
    model: 6 of at most 11 entries, 4.5 on average)."""
    n, n_features = paths.shape
    if width is None:
        width = int(np.percentile(np.diff(paths.indptr), 85)) if n else 0
    columns = np.tile(np.arange(n_features, n_features + width, dtype=np.uint32), (n, 1))
    credits = np.zeros((n, width))
    over_ptr, over_columns, over_credits = [0], [], []
    for i in range(n):
        lo, hi = paths.indptr[i], paths.indptr[i + 1]
        k = min(hi - lo, width)
        columns[i, :k], credits[i, :k] = paths.indices[lo:lo + k], paths.data[lo:lo + k]
        over_columns += list(paths.indices[lo + k:hi])
        over_credits += list(paths.data[lo + k:hi])
        over_ptr.append(len(over_columns))
    return (columns, credits, np.array(over_ptr, dtype=np.uintp), np.array(over_columns, dtype=np.uint32),
            np.array(over_credits, dtype=np.float64))


def _is_leaf(node: dict[str, Any]) -> bool:
    """A leaf of a dumped tree: no split below it (a tree of one leaf dumps it without a ``leaf_index``)."""
    return "left_child" not in node


def _leaves_with_credit(root: dict[str, Any]) -> list[tuple[int, float, dict[int, float]]]:
    """``(leaf index, leaf value, {feature: credit})`` for every leaf of one dumped tree: the credit of a feature is
    the change in expected value its splits make along the path to the leaf."""
    out = []
    stack: list[tuple[dict[str, Any], dict[int, float]]] = [(root, {})]
    while stack:
        node, credit = stack.pop()
        if _is_leaf(node):
            out.append((int(node.get("leaf_index", 0)), float(node["leaf_value"]), credit))
            continue
        feature, here = int(node["split_feature"]), float(node["internal_value"])
        for side in ("left_child", "right_child"):
            child = node[side]
            there = float(child["leaf_value"] if _is_leaf(child) else child["internal_value"])
            stack.append((child, {**credit, feature: credit.get(feature, 0.0) + there - here}))
    return out


def _quickscorer_arrays(trees: list[dict[str, Any]], n_features: int) -> tuple[Any, ...] | None:
    """The kernel's model arrays, or ``None`` if a tree is too big for a 64-bit leaf mask.

    Leaves are numbered left to right per tree; a split that sends a row right switches off the leaves of its left
    subtree (its ``mask``), and the exit leaf is the leftmost one left on. LightGBM's rules, per split kind:
    a numeric split sends ``x`` right when ``x > threshold``; a missing value goes the default way (type NaN or
    Zero) or reads as 0 (type None); type Zero also sends 0 the default way; a category goes left only if it is
    one of the split's, so NaN, negative and unseen categories go right."""
    if any(int(t["num_leaves"]) > _MAX_LEAVES for t in trees):
        return None
    groups: dict[str, list[_Node]] = {k: [] for k in ("num", "zero", "zero_default", "nan")}
    categorical: list[tuple[int, frozenset[int], int, int]] = []
    full, position_base, leaf_index = [], [], []
    for t, tree in enumerate(trees):
        position_base.append(len(leaf_index))
        first_leaf: dict[int, int] = {}  # id(node) -> position of its subtree's leftmost leaf
        stack: list[tuple[dict[str, Any], bool]] = [(tree["tree_structure"], False)]
        while stack:  # in order, so that leaves are numbered left to right
            node, children_done = stack.pop()
            if _is_leaf(node):
                first_leaf[id(node)] = len(leaf_index) - position_base[t]
                leaf_index.append(int(node.get("leaf_index", 0)))
            elif not children_done:
                stack += [(node, True), (node["right_child"], False), (node["left_child"], False)]
            else:
                lo = first_leaf[id(node)] = first_leaf[id(node["left_child"])]
                mask = _ALL_LEAVES ^ (((1 << (first_leaf[id(node["right_child"])] - lo)) - 1) << lo)
                feature = int(node["split_feature"])
                if node["decision_type"] == "==":
                    left = frozenset(int(c) for c in str(node["threshold"]).split("||"))
                    categorical.append((feature, left, t, mask))
                    groups["nan"].append((feature, 0.0, t, mask))
                    continue
                threshold, missing = float(node["threshold"]), node["missing_type"]
                goes_right_when_missing = not node["default_left"]
                groups["zero" if missing == "Zero" else "num"].append((feature, threshold, t, mask))
                if missing == "Zero" and goes_right_when_missing:
                    groups["zero_default"].append((feature, threshold, t, mask))
                if (threshold < 0.0) if missing == "None" else goes_right_when_missing:  # None: NaN reads as 0
                    groups["nan"].append((feature, threshold, t, mask))
        full.append((1 << (len(leaf_index) - position_base[t])) - 1)
    is_cat = np.zeros(n_features, dtype=np.bool_)
    n_categories = np.zeros(n_features, dtype=np.int64)
    for feature, left, _, _ in categorical:
        is_cat[feature] = True
        n_categories[feature] = max(n_categories[feature], max(left) + 1)
    cat_base = np.concatenate([[0], np.cumsum(n_categories)[:-1]]).astype(np.int64)
    per_category = [(int(cat_base[f]) + c, 0.0, t, mask)
                    for f, left, t, mask in categorical for c in range(int(n_categories[f])) if c not in left]
    bits = next(b for b in (16, 32, 64) if max(int(t["num_leaves"]) for t in trees) <= b)
    mask_type = np.dtype(f"uint{bits}")  # the smallest that holds every tree's leaves: fewer bytes to touch
    num = _grouped(groups["num"], n_features, mask_type)
    zero = _grouped(groups["zero"], n_features, mask_type)
    dense: list[np.ndarray] = []
    zero_default = _merged(groups["zero_default"], n_features, mask_type, full, dense)
    nan = _merged(groups["nan"], n_features, mask_type, full, dense)
    cat = _merged(per_category, int(n_categories.sum()), mask_type, full, dense)
    dense_masks = np.array(dense, dtype=mask_type).reshape(len(dense), len(trees))
    return (np.asarray(full, dtype=mask_type), np.asarray(position_base, dtype=np.uintp),
            np.asarray(leaf_index, dtype=np.int32), is_cat, K_ZERO, *num, *zero, *zero_default, *nan,
            cat_base, n_categories, *cat, dense_masks)


def _grouped(nodes: list[_Node], n_groups: int,
             mask_type: np.dtype) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(ptr, thresholds, trees, masks)``: nodes grouped by their first field (CSR), sorted by threshold; the
    thresholds end with a spare +inf (the kernel's search reads one past an empty group)."""
    nodes = sorted(nodes, key=lambda node: (node[0], node[1]))
    counts = np.bincount(np.array([node[0] for node in nodes], dtype=np.int64), minlength=n_groups)
    return (np.concatenate([[0], np.cumsum(counts)]).astype(np.uintp),
            np.array([node[1] for node in nodes] + [np.inf], dtype=np.float64),
            np.array([node[2] for node in nodes], dtype=np.uint32),
            np.array([node[3] & _ALL_LEAVES >> (64 - mask_type.itemsize * 8) for node in nodes], dtype=mask_type))


def _merged(nodes: list[_Node], n_groups: int, mask_type: np.dtype, full: list[int],
            dense: list[np.ndarray]) -> tuple[np.ndarray, ...]:
    """``(ptr, trees, masks, dense_row)`` of splits applied unconditionally (a missing value, a category): per group
    one mask per tree, the AND of its splits' masks, in tree order. A group that switches off leaves in more than
    1/16 of the trees is also a row of masks for every tree appended to ``dense`` (``dense_row`` is its index, else
    -1): ANDing a whole row is a vectorised loop, cheaper than that many scattered switch-offs."""
    merged: dict[tuple[int, int], int] = {}
    for group, _, tree, mask in nodes:
        merged[group, tree] = merged.get((group, tree), _ALL_LEAVES) & mask
    ptr, _, trees, masks = _grouped([(g, float(t), t, m) for (g, t), m in merged.items()], n_groups, mask_type)
    dense_row = np.full(n_groups, -1, dtype=np.int64)
    for g in range(n_groups):
        if (ptr[g + 1] - ptr[g]) * DENSE_SHARE >= len(full):
            row = np.array(full, dtype=mask_type)
            row[trees[ptr[g]:ptr[g + 1]]] = masks[ptr[g]:ptr[g + 1]]
            dense_row[g] = len(dense)
            dense.append(row)
    return ptr, trees, masks, dense_row
