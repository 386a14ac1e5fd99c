"""Bundles load only what the manifest vouches for (issue 20): every model file read is listed in ``files`` with its
sha256 and lies inside the bundle directory, checked before LightGBM sees it."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from handleval.accounts import load_accounts
from handleval.config import MODELS_DIR
from handleval.errors import BundleError
from handleval.trees.bundle import MANIFEST_DIGEST, manifest_digest, sha256_file
from tests._helpers import NO_WRAP, run_cli


def _copy(tmp_path: Path, kind: str) -> Path:
    copy = tmp_path / "bundles" / kind
    shutil.copytree(MODELS_DIR / kind, copy, ignore=shutil.ignore_patterns("plots", "*.png"))
    return copy


def _edit(bundle: Path, change) -> None:
    """``change`` the manifest as a tool would write it: with its ``manifest_sha256`` to match (what is tested
    here is the files it names, not a hand edit)."""
    manifest = json.loads((bundle / "manifest.json").read_text())
    change(manifest)
    manifest[MANIFEST_DIGEST] = manifest_digest(manifest)
    (bundle / "manifest.json").write_text(json.dumps(manifest))


def test_an_accounts_model_file_the_manifest_does_not_list_is_not_loaded(tmp_path):
    bundle = _copy(tmp_path, "accounts")
    _edit(bundle, lambda m: m["files"].pop("dormancy.txt"))
    with pytest.raises(BundleError, match="not listed"):
        load_accounts(bundle)


def test_a_manifest_cannot_point_outside_the_bundle(tmp_path):
    """A ``files`` entry with ``..``, an absolute path, or a symlink to a file outside, each with the right
    sha256, is refused."""
    bundle = _copy(tmp_path, "accounts")
    outside = tmp_path / "bundles" / "dormancy.txt"
    shutil.copy(bundle / "dormancy.txt", outside)
    digest = sha256_file(outside)
    for name in ("../dormancy.txt", str(outside)):
        _edit(bundle, lambda m, n=name: m["files"].update({n: digest}))
        with pytest.raises(BundleError, match="outside"):
            load_accounts(bundle)
        _edit(bundle, lambda m, n=name: m["files"].pop(n))
    load_accounts(bundle)  # the copy itself is fine
    (bundle / "dormancy.txt").unlink()
    (bundle / "dormancy.txt").symlink_to(outside)
    with pytest.raises(BundleError, match="outside"):
        load_accounts(bundle)


def test_a_malformed_unlisted_model_is_a_message_not_an_abort(tmp_path):
    """LightGBM aborts the process on some malformed model text; an unlisted file never reaches it (run in a
    child process, as an abort would end the test run)."""
    bundle = _copy(tmp_path, "accounts")
    _edit(bundle, lambda m: m["files"].pop("dormancy.txt"))
    text = (bundle / "dormancy.txt").read_text()
    (bundle / "dormancy.txt").write_text(text.replace("num_leaves=", "num_leaves=-7\nnum_leaves_x=", 1)
                                         .replace("split_feature=", "split_feature=999999 ", 1))
    code = ("import sys\nfrom handleval.accounts import load_accounts\nfrom handleval.errors import BundleError\n"
            f"try:\n    load_accounts({str(bundle)!r})\nexcept BundleError as e:\n    print('refused', e)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0 and done.stdout.startswith("refused"), (done.returncode, done.stderr[-1500:])


def test_price_bundle_files_must_be_listed_and_inside(tmp_path):
    """The price bundle: a quantile model omitted from ``files`` is not loaded; ``point_models`` naming a file
    outside the bundle is refused."""
    from handleval.price.predict import load

    bundle = _copy(tmp_path, "price")
    _edit(bundle, lambda m: m["files"].pop("quantile_low.txt"))
    with pytest.raises(BundleError, match="not listed"):
        load(bundle)
    bundle = _copy(tmp_path / "second", "price")
    outside = tmp_path / "model.txt"
    shutil.copy(bundle / "model.txt", outside)
    _edit(bundle, lambda m: (m.update({"point_models": ["../../../model.txt"]}),
                             m["files"].update({"../../../model.txt": sha256_file(outside)})))
    with pytest.raises(BundleError, match="outside"):
        load(bundle)


def test_a_load_reads_and_hashes_each_model_file_once(tmp_path, monkeypatch):
    """Loading checks every listed file against its sha256 once, and LightGBM parses the bytes checked (the check
    and the parse used to read and hash each file twice)."""
    import hashlib
    import types

    from handleval.price.predict import load
    from handleval.trees import bundle as bundle_module

    hashed: list[Counted] = []

    class Counted:
        """hashlib.sha256 that counts the bytes it hashed."""

        def __init__(self, data: bytes = b""):
            self.digest, self.size = hashlib.sha256(data), len(data)
            hashed.append(self)

        def update(self, data: bytes) -> None:
            self.digest.update(data)
            self.size += len(data)

        def hexdigest(self) -> str:
            return self.digest.hexdigest()

    monkeypatch.setattr(bundle_module, "hashlib", types.SimpleNamespace(sha256=Counted))
    for kind, loader in (("accounts", load_accounts), ("price", load)):
        bundle = _copy(tmp_path / "once", kind)
        sizes = sorted((bundle / name).stat().st_size for name in json.loads((bundle / "manifest.json").read_text())
                       ["files"])
        hashed.clear()
        loader(bundle)
        assert sorted(h.size for h in hashed if h.size in sizes) == sizes, kind  # each model file once


def test_training_never_writes_over_a_users_files(tmp_path):
    """`train price -o mydir` replaced a user's MODEL_CARD.md and model.txt in a folder of their own and deleted
    its model_seed1.txt; a folder of another kind of bundle, or a file, is refused too (before training)."""
    from handleval.errors import HandlevalError
    from handleval.trees.bundle import check_training_output

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "model_seed1.txt").write_text("my notes\n")
    accounts = tmp_path / "accounts"
    accounts.mkdir()
    (accounts / "manifest.json").write_text('{"kind": "accounts"}')
    (tmp_path / "afile").write_text("x\n")
    for folder in (mine, accounts, tmp_path / "afile"):
        with pytest.raises(HandlevalError, match=r"not a price bundle|is a file"):
            check_training_output(folder, "price")
    refused = run_cli("train", "price", "--no-track", "--output", str(mine))  # before any training
    assert refused.returncode == 2 and "not a price bundle" in refused.stderr, refused.stderr
    assert (mine / "model_seed1.txt").read_text() == "my notes\n"
    (tmp_path / "empty").mkdir()
    for fine in (tmp_path / "new", tmp_path / "empty", accounts):
        check_training_output(fine, "accounts" if fine == accounts else "price")


@pytest.mark.parametrize("interruption", [RuntimeError("training failed"), KeyboardInterrupt()])
def test_a_training_that_stops_midway_leaves_the_previous_bundle_whole(tmp_path, interruption):
    """Training wrote its model files into the bundle one by one and the manifest last: a run that failed (or was
    stopped) after the first file left a bundle that no longer loaded. It now writes beside the bundle and swaps
    the finished one in; the loader keeps working until then."""
    from handleval.trees.bundle import staged_bundle

    bundle = _copy(tmp_path, "accounts")
    before = {p.name: p.read_bytes() for p in bundle.iterdir() if p.is_file()}
    with pytest.raises(type(interruption)), staged_bundle(bundle, "accounts") as staging:
        (staging / "bot_model.txt").write_text("half a model")
        raise interruption
    assert {p.name: p.read_bytes() for p in bundle.iterdir() if p.is_file()} == before
    assert sorted(p.name for p in bundle.parent.iterdir()) == ["accounts"], "no staging folder is left behind"
    load_accounts(bundle)


def test_a_finished_training_swaps_in_without_losing_a_users_files(tmp_path):
    """A finished run replaces the bundle's files, not a user's: notes and a ledger kept in the folder stay (the
    first version of this swap deleted them); a model file the old manifest listed and the new run does not write
    goes (a seed model no longer used). The real folder is swapped: through a link (the link was replaced by a
    folder) or a path with `..` (it failed between its renames and left no bundle). A swap that cannot be made says
    where the finished bundle is; a killed run's staging folder is removed by the next run."""
    from handleval.errors import HandlevalError
    from handleval.trees.bundle import staged_bundle

    def train(into: Path) -> None:
        with staged_bundle(into, "accounts") as staging:
            (staging / "manifest.json").write_text('{"kind": "accounts", "files": {}}')
            (staging / "MODEL_CARD.md").write_text("new card\n")

    bundle = _copy(tmp_path, "accounts")
    (bundle / "notes.txt").write_text("mine\n")
    (bundle / "ledger").mkdir()
    (bundle / "ledger" / "sales.csv").write_text("handle,price\n")
    (bundle / "model_seed3.txt").write_text("old seed model\n")
    _edit(bundle, lambda m: m["files"].update({"model_seed3.txt": sha256_file(bundle / "model_seed3.txt")}))
    train(bundle)
    assert sorted(p.name for p in bundle.iterdir()) == ["MODEL_CARD.md", "ledger", "manifest.json", "notes.txt"]
    assert (bundle / "MODEL_CARD.md").read_text() == "new card\n" and (bundle / "notes.txt").read_text() == "mine\n"
    assert (bundle / "ledger" / "sales.csv").is_file()
    assert sorted(p.name for p in bundle.parent.iterdir()) == ["accounts"], "nothing is left beside it"

    link = tmp_path / "link"
    link.symlink_to(bundle)
    train(link)
    train(bundle / ".." / "accounts")
    assert link.is_symlink() and (link / "notes.txt").read_text() == "mine\n"
    assert sorted(p.name for p in bundle.parent.iterdir()) == ["accounts"]

    killed = bundle.parent / ".accounts.training-999999999-0000"  # no such process
    killed.mkdir()
    train(bundle)
    assert sorted(p.name for p in bundle.parent.iterdir()) == ["accounts"]

    fresh = tmp_path / "fresh"
    with pytest.raises(HandlevalError, match=r"cannot put the trained bundle at .*fresh.*it is whole in"), \
            staged_bundle(fresh, "accounts") as staging:
        (staging / "manifest.json").write_text('{"kind": "accounts"}')
        fresh.write_text("a file put there meanwhile\n")
    assert fresh.read_text() == "a file put there meanwhile\n" and (staging / "manifest.json").is_file()

    new = tmp_path / "new" / "deeper" / "price"
    with pytest.raises(RuntimeError), staged_bundle(new, "price"):
        raise RuntimeError("bad data")
    assert not (tmp_path / "new").exists(), "a run that fails leaves no folder it made"
    here = subprocess.run([sys.executable, "-m", "handleval", "train", "price", "--no-track", "-o", "."],
                          cwd=bundle, capture_output=True, text=True,
                          env={**os.environ, **NO_WRAP})  # refused before training
    assert here.returncode == 2 and "is the current folder" in here.stderr, here.stderr
    with pytest.raises(HandlevalError, match="current folder"), staged_bundle(Path("."), "price"):
        pass


def _rehash(bundle: Path, name: str, change) -> None:
    """``change`` the model text ``name`` and list its new sha256: only LightGBM (or the header check) can refuse it."""
    (bundle / name).write_text(change((bundle / name).read_text()))
    _edit(bundle, lambda m: m["files"].update({name: sha256_file(bundle / name)}))


def test_a_listed_model_lightgbm_cannot_read_fails_the_load_not_the_first_price(tmp_path, monkeypatch):
    """Scoring reads the compiled forest from the cache and never parses the boosters; a model file never parsed
    before (no forest cached for its sha256) is parsed at load, so a text LightGBM refuses, or a header that names
    its features twice, fails ``load`` with one message, not a server's first request."""
    from handleval.price.predict import load

    monkeypatch.setenv("HANDLEVAL_CACHE", str(tmp_path / "cache"))
    bundle = _copy(tmp_path / "objective", "price")
    _rehash(bundle, "quantile_high.txt", lambda t: t.replace("objective=quantile", "objective=bogus_objective", 1))
    with pytest.raises(BundleError, match=r"quantile_high\.txt is not a valid LightGBM text model"):
        load(bundle)
    bundle = _copy(tmp_path / "names", "price")
    _rehash(bundle, "model.txt", lambda t: t.replace("feature_names=", "feature_names=a b\nfeature_names=", 1))
    with pytest.raises(BundleError, match="2 feature_names lines"):
        load(bundle)
    # cut short: LightGBM would read its trees at the header's offsets and crash the process
    bundle = _copy(tmp_path / "short", "price")
    _rehash(bundle, "model.txt", lambda t: t[:len(t) // 2])
    with pytest.raises(BundleError, match=r"model\.txt is not a valid LightGBM text model: its trees are cut short"):
        load(bundle)


def test_a_loaded_valuer_and_its_forest_pickle(tmp_path):
    """A Valuer handed to multiprocessing or joblib: its lazily parsed boosters are a module function's partial,
    so it pickles, and the copy prices as the original."""
    import pickle

    from handleval.price.predict import load

    valuer = load()
    copy = pickle.loads(pickle.dumps(valuer))
    assert copy.value("pizza").price_usd == valuer.value("pizza").price_usd
    assert [b.num_trees() for b in copy.boosters] == [b.num_trees() for b in valuer.boosters]


def test_the_committed_manifests_carry_their_own_digest():
    """Every bundle training writes has a ``manifest_sha256`` of the rest of its manifest; the committed ones too."""
    for kind in ("price", "accounts"):
        manifest = json.loads((MODELS_DIR / kind / "manifest.json").read_text())
        assert manifest[MANIFEST_DIGEST] == manifest_digest(manifest), kind


def test_the_tree_size_check_reads_the_header_as_lightgbm_does():
    """Trees cut short or edited are refused before LightGBM reads them at their offsets; a model of no trees, or
    a text without tree_sizes (read line by line), is LightGBM's to judge."""
    from handleval.trees.bundle import _trees_cut_short

    whole = b"tree\nversion=v4\ntree_sizes=12 12\n\nTree=0\nabcdeTree=1\nabcdeend of trees\n"
    assert _trees_cut_short(whole) == ""
    assert "cut short" in _trees_cut_short(whole[:40])
    assert "cut short" in _trees_cut_short(whole.replace(b"abcde", b"abcdef", 1))
    assert "not numbers" in _trees_cut_short(whole.replace(b"12 12", b"12 x"))
    assert _trees_cut_short(b"tree\nversion=v4\ntree_sizes=\n\nend of trees\n") == ""
    assert _trees_cut_short(b"tree\nversion=v4\n\nTree=0\nabc") == ""


def _edit_tree(text: str, tree: int, key: str, change) -> str:
    """``text`` with ``change(values)`` applied to the ``key`` line of tree ``tree``, its tree_sizes kept true (as a
    sender of a crafted bundle would write it: the size check alone cannot refuse it)."""
    start, end = text.index("\nTree=0\n") + 1, text.index("end of trees")
    trees = re.split(r"(?=^Tree=\d+\n)", text[start:end], flags=re.M)
    trees = [t for t in trees if t]
    line = re.search(rf"^{key}=(.*)$", trees[tree], flags=re.M)
    assert line is not None, key
    values = change(line.group(1).split())
    trees[tree] = trees[tree].replace(line.group(0), f"{key}={' '.join(map(str, values))}", 1)
    head = re.sub(r"^tree_sizes=.*$", "tree_sizes=" + " ".join(str(len(t.encode())) for t in trees), text[:start],
                  flags=re.M)
    return head + "".join(trees) + text[end:]


def _set(i: int, value: object):
    return lambda values: [*values[:i], value, *values[i + 1:]]


@pytest.mark.parametrize(("kind", "file", "key", "change", "why"), [
    ("accounts", "model.txt", "left_child", _set(0, 0), "children do not reach every node and leaf exactly once"),
    ("accounts", "model.txt", "right_child", _set(1, -100), "children do not reach every node and leaf exactly"),
    ("accounts", "model.txt", "split_feature", _set(0, 37), "a split on a feature that is not one of its 37"),
    ("accounts", "model.txt", "num_leaves", lambda v: [100000], "leaf_value has 15 values, not 100000"),
    ("accounts", "model.txt", "leaf_value", lambda v: v[:-1], "leaf_value has 14 values, not 15"),
    ("accounts", "model.txt", "leaf_value", _set(0, "nan"), "leaf_value holds NaN or infinity"),
    ("price", "model.txt", "threshold", _set(0, "nan"), "threshold holds NaN"),
    ("price", "model.txt", "cat_boundaries", lambda v: [*v[:-1], int(v[-1]) + 5], "categorical splits point outside"),
])
def test_a_crafted_tree_is_refused_before_lightgbm_trusts_its_indices(tmp_path, kind, file, key, change, why):
    """A bundle from someone else carries hashes of its own, and LightGBM trusts a tree's indices: a child pointing
    back at its parent crashed the process (SIGSEGV), a feature past the last one corrupted its memory (glibc
    abort), a wrong count aborted it. Each is one message at load, in a child process so that a crash would show."""
    bundle = _copy(tmp_path, kind)
    tree = 0 if key != "cat_boundaries" else next(
        i for i, t in enumerate((bundle / file).read_text().split("\nTree=")[1:]) if "num_cat=0\n" not in t)
    _rehash(bundle, file, lambda text: _edit_tree(text, tree, key, change))
    loader = "from handleval.accounts import load_accounts as load" if kind == "accounts" else \
        "from handleval.price.predict import load"
    code = (f"{loader}\nfrom handleval.errors import BundleError\n"
            f"try:\n    load({str(bundle)!r})\nexcept BundleError as e:\n    print('refused', e)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False,
                          env={**os.environ, "HANDLEVAL_CACHE": str(tmp_path / "cache")})
    assert done.returncode == 0 and done.stdout.startswith("refused"), (done.returncode, done.stderr[-1500:])
    said = done.stdout
    assert f"{file} is not a valid LightGBM text model: tree {tree}: " in said and why in said, said


def _random_edit(r: float, pick: int, new: object):
    """One random edit of a line's values: replace one (60%), drop one, or repeat one."""
    def change(values: list[str]) -> list[object]:
        i = pick % len(values)
        if r < 0.6:
            return _set(i, new)(values)
        return values[:i] + values[i + 1:] if r < 0.8 else [*values, values[i]]
    return change


def test_random_tree_edits_the_check_lets_through_never_crash_lightgbm(tmp_path):
    """Seeded random edits of the committed trees (indices, counts, thresholds, categories): every text the check
    accepts is one LightGBM loads, predicts with (NaN too), reads leaves of and dumps without a crash."""
    import random

    from handleval.trees.bundle import _malformed_trees

    rng = random.Random(7)
    accepted, refused = [], 0
    keys = ["left_child", "right_child", "split_feature", "decision_type", "threshold", "num_leaves", "num_cat",
            "cat_boundaries", "cat_threshold", "leaf_value"]
    for file in ("accounts/model.txt", "price/quantile_low.txt"):
        text = (MODELS_DIR / file).read_text()
        for _ in range(300):
            key, tree = rng.choice(keys), rng.randrange(20)
            if not re.search(rf"^{key}=\S", text.split("\nTree=")[tree + 1], flags=re.M):
                continue
            change = _random_edit(rng.random(), rng.randrange(1 << 30), rng.choice(
                [0, -1, 1, 2, 37, 63, 2**31 - 1, -2**31, "nan", "inf", "1e308"]))
            edited = _edit_tree(text, tree, key, change)
            if _malformed_trees(edited.encode()):
                refused += 1
            else:
                accepted.append(edited)
    assert refused > 200 and len(accepted) > 50, (refused, len(accepted))  # both sides of the check were tried
    (tmp_path / "accepted.json").write_text(json.dumps(accepted))
    code = ("import json, sys, numpy as np, lightgbm as lgb\n"
            f"texts = json.load(open({str(tmp_path / 'accepted.json')!r}))\n"
            "X = np.random.default_rng(0).normal(size=(50, 64)) * 10\nX[::7] = np.nan\n"
            "for text in texts:\n"
            "    try:\n"
            "        b = lgb.Booster(model_str=text)\n"
            "        x = X[:, :b.num_feature()]\n"
            "        b.predict(x); b.predict(x, pred_leaf=True); b.dump_model()\n"
            "    except lgb.basic.LightGBMError:\n"
            "        pass\n"
            "print('survived', len(texts))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0 and done.stdout.startswith("survived"), (done.returncode, done.stderr[-1500:])


def _nan_offsets(m: dict) -> None:
    m["conformal_offsets_ln"] = {k: float("nan") for k in m["conformal_offsets_ln"]}


@pytest.mark.parametrize(("kind", "change", "why"), [
    ("price", lambda m: m.update(cap_usd=True), "cap_usd: Input should be a valid number"),  # every price was $1
    ("price", _nan_offsets, "conformal_offsets_ln.domain: Input should be a finite number"),  # '$nan – $nan'
    ("price", lambda m: m["conformal_offsets_by_venue_ln"].update({"domain:auction": -5}),
     "conformal_offsets_by_venue_ln.domain:auction: Input should be greater than or equal to 0"),
    ("price", lambda m: m.update(point_models=[]), "point_models: List should have at least 1 item"),
    ("price", lambda m: m["market_encoder"].update(categories="x"), "market_encoder.categories: Input should be a "
                                                                    "valid dictionary"),
    # each a traceback at the first price or at load (a review's fuzz of every value's kind)
    ("price", lambda m: m["featurizer"].update(lexicons=None), "featurizer.lexicons: Input should be a valid dict"),
    ("price", lambda m: m["market_encoder"].update(default_venue="x"), "market_encoder.default_venue: Input should"),
    ("price", lambda m: m.update(conformal_offsets_by_venue_ln=[]), "conformal_offsets_by_venue_ln: Input should"),
    ("price", lambda m: m.update(market_sales={"domain": "x"}), "market_sales.domain: Input should be a valid "
                                                                "integer"),
    ("price", lambda m: m["featurizer"].update(k=-1), "k must be a whole number of 1 or more, got -1"),
    ("price", lambda m: m["featurizer"].update(families=["length", "nope"]), "unknown feature families ['nope']"),
    ("price", lambda m: m["featurizer"].update(fuzzy_min_popularity="x"), "fuzzy_min_popularity must be a number"),
    ("price", lambda m: m["featurizer"].update(data_dir=7), "data_dir a path or None"),
    ("accounts", lambda m: m["calibration"].update(y=[float("nan")] * len(m["calibration"]["y"])),
     "a calibration that gives no probability"),  # every P(bot) empty, bot false, no error
    ("accounts", lambda m: m["types"].update(classes="abcd"), "type classes other than the four bot types"),
    ("accounts", lambda m: m["dormancy"].update(policy_days=float("inf")), "OverflowError"),
    ("accounts", lambda m: m.pop("threshold") and m.update(threshold=0.01), None),
])
def test_a_manifest_with_its_own_digest_and_impossible_values_is_refused_at_load(tmp_path, kind, change, why):
    """A bundle from someone else carries a digest of its own: impossible values were taken (silent wrong prices
    and flags) or failed the first price with a traceback. A manifest without its digest is an edited one (removing
    the line had turned the edit check off: a threshold of 0.01 flagged every human)."""
    from handleval.price.predict import load

    bundle = _copy(tmp_path, kind)
    loader = load if kind == "price" else load_accounts
    if why is None:  # the edit, then the digest line removed
        manifest = json.loads((bundle / "manifest.json").read_text())
        change(manifest)
        manifest.pop(MANIFEST_DIGEST)
        (bundle / "manifest.json").write_text(json.dumps(manifest))
        with pytest.raises(BundleError, match="has no manifest_sha256: made by a handleval from before"):
            loader(bundle)
        return
    _edit(bundle, change)
    with pytest.raises(BundleError, match=r"manifest\.json is malformed") as refused:
        loader(bundle)
    assert why in str(refused.value), refused.value


def test_the_tree_check_accepts_what_lightgbm_writes():
    """A tree of one leaf (LightGBM writes its leaf_weight empty: a train accounts config without self-declared
    bots made one, and its bundle was refused), categorical splits, several classes."""
    import lightgbm as lgb
    import numpy as np

    from handleval.trees.bundle import _malformed_trees

    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(size=600), rng.integers(0, 8, 600)])
    for params, y in (({"objective": "regression"}, np.zeros(600)),  # nothing to split: one-leaf trees
                      ({"objective": "regression"}, X[:, 0] + (X[:, 1] == 3)),
                      ({"objective": "multiclass", "num_class": 3}, rng.integers(0, 3, 600))):
        booster = lgb.train({**params, "verbose": -1, "num_leaves": 7, "min_data_in_leaf": 5},
                            lgb.Dataset(X, y, categorical_feature=[1]), num_boost_round=5)
        text = booster.model_to_string()
        assert _malformed_trees(text.encode()) == "", params
    assert "num_leaves=1\n" in lgb.train({"objective": "regression", "verbose": -1},
                                         lgb.Dataset(X, np.zeros(600)), 2).model_to_string()


def test_a_manifest_too_deep_or_with_too_long_a_number_and_a_file_too_large_are_one_message(tmp_path, monkeypatch):
    """Python's JSON reader raised RecursionError and ValueError (4,300 digits); a listed file of 600 MB was read
    whole into memory before its hash was checked."""
    import handleval.trees.bundle as bundle_module

    bundle = _copy(tmp_path, "accounts")
    manifest = (bundle / "manifest.json").read_text()
    for text, why in (("[" * 100_000 + "]" * 100_000, "RecursionError"),
                      ('{"kind": ' + "9" * 5_000 + "}", "ValueError: Exceeds the limit")):
        (bundle / "manifest.json").write_text(text)
        with pytest.raises(BundleError, match=rf"manifest\.json is corrupt \({why}"):
            load_accounts(bundle)
    (bundle / "manifest.json").write_text(manifest)
    monkeypatch.setattr(bundle_module, "MAX_BUNDLE_FILE_BYTES", 200_000)  # dormancy.txt is ~140 kB, model.txt more
    with pytest.raises(BundleError, match=r"model\.txt is larger than 0 MB: no handleval bundle file is"):
        load_accounts(bundle)
