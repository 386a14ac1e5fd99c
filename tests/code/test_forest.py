"""The compiled forest (trees.forest): LightGBM's leaves and predictions to the bit, additive path attributions,
exact on hand-made trees."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from handleval.trees.forest import Forest

BASE = {"objective": "regression", "verbosity": -1, "num_leaves": 15, "seed": 1, "num_threads": 1}


def _data(n: int = 3000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = pd.DataFrame({
        "a": rng.normal(size=n),
        "b": np.where(rng.random(n) < 0.2, np.nan, rng.normal(size=n)),  # missing values
        "c": np.where(rng.random(n) < 0.3, 0.0, rng.exponential(size=n)),  # many zeros
        "cat": rng.integers(0, 40, n).astype(float),  # categorical codes, some above 31 (second bitset word)
    })
    y = 2 * x["a"] + np.nan_to_num(x["b"], nan=3.0) + (x["cat"] % 7 == 0) * 4 + np.sqrt(x["c"]) + rng.normal(0, .1, n)
    return x, y.to_numpy()


@pytest.mark.parametrize("params", [
    {},
    {"zero_as_missing": True},
    {"use_missing": False},
    {"num_leaves": 31, "min_data_in_leaf": 5},  # 32-bit leaf masks
    {"num_leaves": 63, "min_data_in_leaf": 5},  # 64-bit
    {"objective": "quantile", "alpha": 0.9},
    {"objective": "binary"},
])
def test_predictions_equal_lightgbm_and_attributions_add_up(params):
    x, y = _data()
    if params.get("objective") == "binary":
        y = (y > np.median(y)).astype(float)
    booster = lgb.train({**BASE, **params}, lgb.Dataset(x, y, categorical_feature=["cat"]), num_boost_round=60)
    forest = Forest.from_boosters([booster], n_explained=1)
    probe = _on_thresholds(_probe(), booster)
    np.testing.assert_array_equal(forest.leaves(probe), booster.predict(probe, pred_leaf=True))
    raw, attributions = forest.predict(probe)
    prediction = raw[:, 0]
    np.testing.assert_array_equal(prediction, booster.predict(probe, raw_score=True))  # same sum, same order
    np.testing.assert_allclose(forest.biases[0] + attributions.sum(axis=1), prediction, rtol=0, atol=1e-9)
    assert attributions.shape == (len(probe), 4)


def _probe() -> pd.DataFrame:
    """Rows that take every path LightGBM's predictor has for an odd value."""
    probe, _ = _data(2000, seed=1)
    probe.loc[::7, "a"] = np.nan  # missing where training had none
    probe.loc[::11, "cat"] = np.nan
    probe.loc[::13, "cat"] = 77.0  # a category never seen
    probe.loc[::17, "cat"] = -1.0
    probe.loc[::19, "cat"] = 7.6  # LightGBM truncates a fractional category
    probe.loc[::23, "cat"] = -0.5  # ... towards zero: category 0
    probe.loc[::31, "cat"] = 3e9  # beyond an int
    probe.loc[::29, "c"] = 1e-36  # zero to LightGBM's kZeroThreshold
    probe.loc[::37, "c"] = -1e-36
    probe.loc[::41, "a"] = np.inf
    return probe


def _on_thresholds(probe: pd.DataFrame, booster: lgb.Booster) -> pd.DataFrame:
    """Some rows exactly on a numeric split's threshold (LightGBM sends them left)."""
    thresholds: dict[int, list[float]] = {}
    stack = [t["tree_structure"] for t in booster.dump_model()["tree_info"]]
    while stack:
        node = stack.pop()
        if "split_feature" in node:
            if node["decision_type"] == "<=":
                thresholds.setdefault(node["split_feature"], []).append(node["threshold"])
            stack += [node["left_child"], node["right_child"]]
    for feature, values in thresholds.items():
        rows = np.arange(feature, len(probe), 43)[:len(values)]
        probe.iloc[rows, feature] = values[:len(rows)]
    return probe


def test_one_pass_scores_several_boosters_and_explains_the_first():
    """The price model's layout: the point model explained, two quantile models only scored, one pass."""
    x, y = _data()
    data = lgb.Dataset(x, y, categorical_feature=["cat"], free_raw_data=False)
    point = lgb.train(BASE, data, num_boost_round=40)
    low = lgb.train({**BASE, "objective": "quantile", "alpha": 0.1, "zero_as_missing": True}, data,
                    num_boost_round=25)
    high = lgb.train({**BASE, "objective": "quantile", "alpha": 0.9, "num_leaves": 7}, data, num_boost_round=30)
    forest = Forest.from_boosters([point, low, high], n_explained=1)
    probe = _probe()
    raw, attributions = forest.predict(probe)
    for j, booster in enumerate((point, low, high)):
        np.testing.assert_array_equal(raw[:, j], booster.predict(probe, raw_score=True))
    alone = Forest.from_boosters([point], n_explained=1).predict(probe)[1]
    np.testing.assert_array_equal(attributions, alone)  # the quantile trees add nothing to the reasons
    plain, none = forest.predict(probe, explain=False)
    np.testing.assert_array_equal(plain, raw)
    assert none.shape == (len(probe), 0)


def test_a_bundles_forest_is_cached_under_its_files_digests(tmp_path, monkeypatch):
    """``from_bundle`` builds once per set of model files and reads the same forest back without parsing the
    boosters (LightGBM is not needed to score); other digests (another bundle) build their own."""
    monkeypatch.setenv("HANDLEVAL_CACHE", str(tmp_path))
    x, y = _data()
    data = lgb.Dataset(x, y, categorical_feature=["cat"], free_raw_data=False)
    point = lgb.train(BASE, data, num_boost_round=30)
    high = lgb.train({**BASE, "objective": "quantile", "alpha": 0.9}, data, num_boost_round=20)
    probe = _probe()
    expected = Forest.from_boosters([point, high], n_explained=1).predict(probe)
    parsed = []

    def parse():
        parsed.append(1)
        return [point, high]

    built = Forest.from_bundle(parse, 1, ["a" * 64, "b" * 64])
    assert len(list(tmp_path.glob("forest-*.cache"))) == 1
    assert parsed == [1]
    with monkeypatch.context() as patched:  # read back, not rebuilt
        patched.setattr(Forest, "from_boosters", classmethod(lambda *a, **k: pytest.fail("rebuilt")))
        read = Forest.from_bundle(parse, 1, ["a" * 64, "b" * 64])
    for forest in (built, read):
        for got, want in zip(forest.predict(probe), expected, strict=True):
            np.testing.assert_array_equal(got, want)
    assert parsed == [1]  # scoring the forest read back parsed nothing
    assert read.boosters == (point, high)
    assert parsed == [1, 1]
    Forest.from_bundle(parse, 1, ["a" * 64, "c" * 64])
    assert len(list(tmp_path.glob("forest-*.cache"))) == 2
    with pytest.raises(ValueError, match="digests"):
        Forest.from_bundle(parse, 1, ["a" * 64])


@pytest.mark.parametrize("dense_share", [0, 10**9])  # every missing value and category as a list; as a dense row
def test_blocks_of_rows_and_dense_rows_change_nothing(monkeypatch, dense_share):
    """The kernel takes rows in blocks: any number of rows (none, one, a ragged last block) and any block size give
    the same bits, and so do the two ways of applying a missing value or a category."""
    import handleval.trees.forest

    x, y = _data()
    data = lgb.Dataset(x, y, categorical_feature=["cat"], free_raw_data=False)
    boosters = [lgb.train(BASE, data, num_boost_round=30),
                lgb.train({**BASE, "objective": "quantile", "alpha": 0.9, "num_leaves": 7}, data, num_boost_round=20)]
    reference = Forest.from_boosters(boosters, n_explained=1)
    monkeypatch.setattr(handleval.trees.forest, "DENSE_SHARE", dense_share)
    forest = Forest.from_boosters(boosters, n_explained=1)
    assert (len(forest.arrays[-1]) > 0) == (dense_share > 0)  # the dense rows
    probe = _probe().to_numpy()
    raw, attributions = reference.predict(probe, block=1)
    leaves = reference.leaves(probe, block=1)
    np.testing.assert_array_equal(leaves, np.concatenate([b.predict(probe, pred_leaf=True) for b in boosters], 1))
    for n in (0, 1, 2, 17, len(probe)):
        for block in (1, 3, 16):
            r, a = forest.predict(probe[:n], block=block)
            assert r.tobytes() == raw[:n].tobytes() and a.tobytes() == attributions[:n].tobytes()
            np.testing.assert_array_equal(forest.leaves(probe[:n], block=block), leaves[:n])
            plain, none = forest.predict(probe[:n], explain=False, block=block)
            assert plain.tobytes() == raw[:n].tobytes() and none.shape == (n, 0)


def test_trees_too_big_for_quickscorer_use_lightgbm_leaves():
    x, y = _data()
    booster = lgb.train({**BASE, "num_leaves": 100, "min_data_in_leaf": 3}, lgb.Dataset(x, y), num_boost_round=5)
    assert max(t["num_leaves"] for t in booster.dump_model()["tree_info"]) > 64
    forest = Forest.from_boosters([booster], n_explained=1)
    assert forest.arrays is None
    probe = _probe()
    raw, attributions = forest.predict(probe, block_rows=333)  # several blocks, one ragged
    np.testing.assert_array_equal(raw[:, 0], booster.predict(probe, raw_score=True))
    np.testing.assert_allclose(forest.biases[0] + attributions.sum(axis=1), raw[:, 0], rtol=0, atol=1e-9)


def test_attributions_on_a_stump_are_the_change_from_the_root():
    """One split on 'a' at 0: rows left of it get (left value - root value), all on 'a'."""
    x = pd.DataFrame({"a": np.r_[np.zeros(50), np.ones(50)], "b": np.zeros(100)})
    y = np.r_[np.zeros(50), np.full(50, 10.0)]
    booster = lgb.train({**BASE, "num_leaves": 2, "learning_rate": 1.0, "min_data_in_leaf": 1},
                        lgb.Dataset(x, y), num_boost_round=1)
    forest = Forest.from_boosters([booster], n_explained=1)
    raw, attributions = forest.predict(pd.DataFrame({"a": [0.0, 1.0], "b": [0.0, 0.0]}))
    np.testing.assert_allclose(raw[:, 0], [0.0, 10.0], atol=1e-6)
    assert forest.biases[0] == pytest.approx(5.0)
    np.testing.assert_allclose(attributions[:, 0], [-5.0, 5.0], atol=1e-6)
    np.testing.assert_allclose(attributions[:, 1], 0.0)


def test_top_feature_mostly_agrees_with_treeshap():
    """Saabas and SHAP differ by design; on a smooth additive target the top feature should still agree."""
    x, y = _data()
    booster = lgb.train(BASE, lgb.Dataset(x, y, categorical_feature=["cat"]), num_boost_round=100)
    probe, _ = _data(1000, seed=2)
    _, attributions = Forest.from_boosters([booster], n_explained=1).predict(probe)
    shap = booster.predict(probe, pred_contrib=True)[:, :-1]
    agree = (np.abs(attributions).argmax(axis=1) == np.abs(shap).argmax(axis=1)).mean()
    assert agree > 0.8, agree


def test_attribution_agreement_on_hand_made_rankings():
    from handleval.price.evaluate import attribution_agreement

    paths = np.array([[5.0, -4.0, 3.0, 0.1, 9.0], [1.0, 2.0, 3.0, 4.0, 0.0]])
    same = attribution_agreement(paths, paths * 2, ignore=[4])  # column 4 is ignored despite its size
    assert same == {"top1_same": 1.0, "top1_in_shap_top3": 1.0, "top3_overlap": 1.0}
    shap = np.array([[0.5, 0.0, 1.0, 2.0, 3.0], [4.0, 3.0, 2.0, 1.0, 0.0]])
    # row 0: paths top three (0, 1, 2), SHAP's (3, 2, 0); row 1: (3, 2, 1) against (0, 1, 2)
    other = attribution_agreement(paths, shap, ignore=[4])
    assert other["top1_same"] == 0.0 and other["top1_in_shap_top3"] == 0.5
    assert other["top3_overlap"] == pytest.approx(2 / 3)


_SCORE_ONE_FOREST = """
import lightgbm as lgb, numpy as np
from handleval.trees.forest import Forest
x = np.random.default_rng(0).normal(size=(300, 3))
booster = lgb.train({"verbosity": -1, "num_leaves": 4, "num_threads": 1}, lgb.Dataset(x, x[:, 0]), 3)
raw, _ = Forest.from_boosters([booster], n_explained=1).predict(x)
assert (raw[:, 0] == booster.predict(x, raw_score=True)).all()
from handleval import _jit
print("ok", _jit._CACHE)
"""


@pytest.mark.parametrize("writable", [True, False])
def test_compiled_code_is_cached_in_our_cache_dir_or_not_at_all(tmp_path, writable):
    """numba caches beside the source or in a user cache and fails at import when it can write neither (a read-only
    install with a read-only home): the cache goes under $HANDLEVAL_CACHE, and an unwritable one only means
    compiling in every process."""
    import os
    import subprocess
    import sys

    cache = tmp_path / "cache"
    if not writable:
        cache.write_text("a file where the cache folder would be")
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env["HANDLEVAL_CACHE"] = str(cache)
    done = subprocess.run([sys.executable, "-c", _SCORE_ONE_FOREST], env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0 and done.stdout.strip() == f"ok {writable}", (done.stdout, done.stderr[-2000:])
    if writable:  # compiled code saved under our cache; else numba was told not to cache at all
        assert any(p.suffix == ".nbi" for p in (cache / "numba").rglob("*")), list(cache.rglob("*"))


def test_lowest_live_leaf_without_numbas_trailing_zeros():
    """The kernel's fallback for a numba without the (non-public) ``trailing_zeros`` intrinsic finds the same lowest
    set bit for every mask width (run in a fresh process where importing the intrinsic fails)."""
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent("""
        import builtins, numpy as np
        real_import = builtins.__import__
        def blocked(name, *args, **kwargs):
            if name == "numba.cpython.unsafe.numbers":
                raise ImportError(name)
            return real_import(name, *args, **kwargs)
        builtins.__import__ = blocked
        import handleval.trees._kernel as kernel
        builtins.__import__ = real_import
        assert kernel.trailing_zeros.__module__ == "handleval.trees._kernel"
        from numba import njit
        @njit
        def lowest(values, out):
            for i in range(values.shape[0]):
                out[i] = kernel.trailing_zeros(values[i])
        for dtype in (np.uint16, np.uint32, np.uint64):
            bits = np.dtype(dtype).itemsize * 8
            values = np.array([1 << b for b in range(bits)] + [3, 6, 12, (1 << (bits - 1)) | 1], dtype=dtype)
            out = np.empty(len(values), dtype=np.int64)
            lowest(values, out)
            assert out.tolist() == [*range(bits), 0, 1, 2, 0], (dtype, out)
        print("ok")
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


def test_a_tree_of_one_leaf_is_scored_as_lightgbm_scores_it():
    """A quantile model of a capped price can end in trees of one leaf, which LightGBM dumps without a leaf_index:
    building the forest failed with KeyError 'split_feature' (a training run crashed after writing its bundle)."""
    x, y = _data()
    data = lgb.Dataset(x, y, categorical_feature=["cat"], free_raw_data=False)
    point = lgb.train(BASE, data, num_boost_round=20)
    stumps = lgb.train({**BASE, "min_data_in_leaf": 10_000}, data, num_boost_round=3)  # no split is allowed
    assert all(t["num_leaves"] == 1 for t in stumps.dump_model()["tree_info"])
    probe = _probe()
    raw, _ = Forest.from_boosters([point, stumps], n_explained=2).predict(probe)
    np.testing.assert_allclose(raw[:, 1], stumps.predict(probe, raw_score=True))
    np.testing.assert_allclose(raw[:, 0], point.predict(probe, raw_score=True))
