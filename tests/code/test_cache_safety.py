"""No code from caches (issue 20): handleval's cache files and numba's cache run nothing that a handleval process
did not write, an edited cache is not used, and a cache directory others can write is refused."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pytest

from handleval.features import LengthPatternFeatures
from handleval.trees.forest import Forest
from tests._helpers import checkout_env


class _Payload:
    """A pickle that, when loaded, creates ``marker`` (what a planted cache file would do, harmlessly)."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_a_pickle_planted_in_the_cache_never_runs(tmp_path, monkeypatch):
    """A pickle under the cache's file names (today's and the old ``.pkl`` ones) is never loaded: fitting reads
    its own verified file or builds, and the planted code does not run."""
    from handleval.features._common import cache_path

    cache = tmp_path / "cache"
    monkeypatch.setenv("HANDLEVAL_CACHE", str(cache))
    built = LengthPatternFeatures(use_cache=False).fit()
    LengthPatternFeatures().fit()  # writes the cache
    (path,) = cache.iterdir()
    marker = tmp_path / "code-ran"
    planted = pickle.dumps({"trigram_logp_": _Payload(marker)})
    path.write_bytes(planted)
    for name in {path.stem + ".pkl", path.name}:
        (cache / name).write_bytes(planted)
    model = LengthPatternFeatures().fit()
    assert not marker.exists()
    assert model.trigram_logp_ == built.trigram_logp_
    np.testing.assert_array_equal(model.trigram_table_, built.trigram_table_)
    assert not cache_path("x", 1).name.endswith(".pkl")


def test_an_edited_forest_cache_is_not_used(tmp_path, monkeypatch):
    """The forest cache with +0.02 on every leaf (a valid file otherwise) is rebuilt, not read: the prices stay."""
    monkeypatch.setenv("HANDLEVAL_CACHE", str(tmp_path))
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2000, 4))
    y = x[:, 0] * 2 + rng.normal(size=2000)
    booster = lgb.train({"objective": "regression", "verbosity": -1, "num_leaves": 7, "seed": 1,
                         "num_threads": 1}, lgb.Dataset(x, y), num_boost_round=20)
    want = Forest.from_bundle(lambda: [booster], 1, ["a" * 64]).predict(x[:50])[0]
    (path,) = [p for p in tmp_path.iterdir() if p.name.startswith("forest-")]
    forest = Forest.from_boosters([booster], 1)
    values = [forest.leaf_value, *forest.by_exit, *(forest.arrays or ())]
    data = path.read_bytes()
    for array in values:  # every float array of the forest that holds leaf values, +0.02
        if isinstance(array, np.ndarray) and array.dtype == np.float64 and array.size >= 8:
            assert data.count(array.tobytes()) >= 1
            data = data.replace(array.tobytes(), (array + 0.02).tobytes())
    path.write_bytes(data)
    got = Forest.from_bundle(lambda: [booster], 1, ["a" * 64]).predict(x[:50])[0]
    np.testing.assert_array_equal(got, want)


def test_a_cache_directory_others_can_write_is_not_used(tmp_path, monkeypatch):
    """A new cache directory is created 0700; one that group or others can write (or another user owns) is
    neither read nor written, with a warning, and the state is built."""
    from handleval import _cache
    from handleval.features._common import cached

    fresh = tmp_path / "new" / "cache"
    monkeypatch.setenv("HANDLEVAL_CACHE", str(fresh))
    assert cached("thing", 1, lambda: {"v": np.arange(3)})["v"].tolist() == [0, 1, 2]
    assert oct(fresh.stat().st_mode & 0o777) == oct(0o700)
    assert all(oct(p.stat().st_mode & 0o777) == oct(0o600) for p in fresh.iterdir())

    shared = tmp_path / "shared"
    shared.mkdir()
    monkeypatch.setenv("HANDLEVAL_CACHE", str(shared))
    cached("thing", 1, lambda: {"v": 1})
    shared.chmod(0o777)
    _cache._warned.clear()
    with pytest.warns(RuntimeWarning, match="group or other users can write"):
        assert cached("thing", 1, lambda: {"v": "built"}) == {"v": "built"}
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # as root we can give it away to test the owner check
        shared.chmod(0o700)
        os.chown(shared, 65534, 65534)
        _cache._warned.clear()
        with pytest.warns(RuntimeWarning, match="another user"):
            assert cached("thing", 1, lambda: {"v": "built"}) == {"v": "built"}


def test_the_cache_stores_data_only():
    """Only data can be written (numbers, text, arrays, CSR, dicts, tuples); objects are refused, and a file
    under another key is not read."""
    from scipy import sparse

    from handleval import _cache

    state = {"f": {f"w{i}": float(i) for i in range(40)}, "s": {f"k{i}": f"v\n{i}" for i in range(40)},
             "i": {f"k{i}": i for i in range(40)}, "t": (np.arange(5), 1.5, None, "x"), "l": [1, [2]],
             "m": sparse.csr_matrix(np.eye(3)), "n": {"a": {"b": np.zeros((2, 2), dtype=np.uint32)}},
             "names": [f"n\ud800{i}" for i in range(40)], "nul": ["a\x00b", *(f"c{i}" for i in range(40))],
             "bytes": np.array([b"ab", b"c"], dtype="S2")}
    back = _cache.loads(_cache.dumps(state, "k"), "k")
    assert back["names"] == state["names"] and back["nul"] == state["nul"]  # one array / one JSON string each
    assert back["bytes"].dtype == np.dtype("S2") and back["bytes"].tolist() == [b"ab", b"c"]
    assert back["f"] == state["f"] and back["s"] == state["s"] and back["i"] == state["i"]
    assert type(back["t"]) is tuple and back["t"][1:] == (1.5, None, "x") and back["l"] == [1, [2]]
    assert (back["m"] != state["m"]).nnz == 0 and back["n"]["a"]["b"].dtype == np.uint32
    with pytest.raises(_cache.CacheFormatError):
        _cache.loads(_cache.dumps(state, "k"), "other key")
    with pytest.raises(TypeError):
        _cache.dumps({"x": _Payload(Path("/nonexistent"))}, "k")
    with pytest.raises(TypeError):
        _cache.dumps({"x": np.array([object()])}, "k")


_JIT_MODULE = """
from handleval._jit import njit

@njit
def add(a, b):
    return a + b

print(add(1, 2))
"""


def test_a_pickle_planted_in_numbas_cache_never_runs(tmp_path):
    """numba's cache index (``.nbi``) is pickle: a file there that no handleval process recorded is deleted before
    numba reads it, so planted code does not run; the function is compiled again and works."""
    (tmp_path / "jitmod_i20.py").write_text(textwrap.dedent(_JIT_MODULE))
    env = {k: v for k, v in checkout_env(tmp_path).items() if k != "NUMBA_CACHE_DIR"}
    env["HANDLEVAL_CACHE"] = str(tmp_path / "cache")

    def run() -> str:
        done = subprocess.run([sys.executable, "-c", "import jitmod_i20"], env=env, capture_output=True,
                              text=True, timeout=300, check=False)
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout.strip()

    assert run() == "3"
    (index,) = [p for p in (tmp_path / "cache").rglob("*.nbi") if "jitmod_i20" in p.name]
    marker = tmp_path / "code-ran"
    index.write_bytes(pickle.dumps(_Payload(marker)))
    for data in index.parent.glob("jitmod_i20*.nbc"):
        data.write_bytes(pickle.dumps(_Payload(marker)))
    assert run() == "3"
    assert not marker.exists()
    assert run() == "3"  # the recompiled function was recorded and is read back
    assert not marker.exists()
