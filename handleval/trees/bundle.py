"""Model bundles: LightGBM text models plus a JSON manifest, verified by sha256 at load.

A bundle is a directory. ``manifest.json`` lists every model file with its sha256; loading checks each one,
so a truncated, edited or foreign bundle fails with one clear message. Nothing is unpickled: LightGBM text
models are parsed by LightGBM, everything else is JSON.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import platform
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from handleval.errors import BundleError, HandlevalError

MANIFEST = "manifest.json"
#: The manifest's key for the sha256 of the rest of it (:func:`manifest_digest`).
MANIFEST_DIGEST = "manifest_sha256"
Result = TypeVar("Result")


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def bundle_digest(bundle_dir: str | Path | None, kind: str) -> str | None:
    """The sha256 of a bundle's manifest (which lists every model file's sha256; default ``models/<kind>``): the
    model a batch run used, and what each Dask worker must load too. None where there is no manifest."""
    from handleval.config import MODELS_DIR

    manifest = Path(bundle_dir or MODELS_DIR / kind) / "manifest.json"
    return sha256_file(manifest) if manifest.is_file() else None


def file_fingerprint(paths: list[Path], root: Path | None = None) -> list[dict[str, Any]]:
    """Name, size and sha256 of data files, for manifests and MLflow params."""
    out = []
    for path in paths:
        name = str(path.relative_to(root)) if root else path.name
        out.append({"file": name, "bytes": path.stat().st_size, "sha256": sha256_file(path)})
    return out


def library_versions(*names: str) -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def write_manifest(bundle_dir: Path, manifest: dict[str, Any], model_files: list[str]) -> Path:
    """Record each model file's sha256 and write ``manifest.json`` last, so a bundle without a manifest is
    visibly unfinished."""
    manifest = dict(manifest)
    manifest["files"] = {name: sha256_file(bundle_dir / name) for name in model_files}
    manifest.setdefault("created_at", datetime.now(UTC).isoformat(timespec="seconds"))
    manifest.pop(MANIFEST_DIGEST, None)
    manifest = json.loads(json.dumps(manifest, default=str))  # as it will read back
    manifest[MANIFEST_DIGEST] = manifest_digest(manifest)
    path = bundle_dir / MANIFEST
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=False, default=str) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def own_files(bundle_dir: Path) -> list[Path]:
    """What training wrote into ``bundle_dir``, relative to it: the manifest, the model files it lists, the model
    card and the plots (``*.png``, ``plots/``). A run publishes these, not a user's notes or ledger kept there."""
    listed = json.loads((bundle_dir / MANIFEST).read_text(encoding="utf-8")).get("files", {})
    names = [MANIFEST, *listed, "MODEL_CARD.md", *(p.name for p in bundle_dir.glob("*.png"))]
    plots = sorted(p.relative_to(bundle_dir) for p in (bundle_dir / "plots").rglob("*") if p.is_file())
    return [Path(n) for n in dict.fromkeys(names) if (bundle_dir / n).is_file()] + plots


def manifest_digest(manifest: dict[str, Any]) -> str:
    """The sha256 of a manifest's content without its own digest (keys sorted, compact JSON): a value edited by
    hand after training (a cap, an offset, a market's price points) no longer matches it."""
    content = {k: v for k, v in manifest.items() if k != MANIFEST_DIGEST}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def read_manifest(bundle_dir: str | Path, kind: str) -> dict[str, Any]:
    """Read and verify a bundle (:func:`read_bundle`) for its manifest alone."""
    return read_bundle(bundle_dir, kind)[0]


@contextlib.contextmanager
def manifest_values(bundle_dir: str | Path) -> Iterator[None]:
    """Around the reading of a manifest's values: a key missing or a value of the wrong kind (an edited or
    damaged manifest; its own hash is nowhere) is one :class:`BundleError`, not a traceback."""
    try:
        yield
    except HandlevalError:
        raise
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, ArithmeticError) as exc:
        errors = getattr(exc, "errors", None)  # pydantic's: one short line per field, not its long text
        what = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors()[:3]) if callable(errors) \
            else f"{type(exc).__name__}: {exc}"
        raise malformed(bundle_dir, what) from exc


def malformed(bundle_dir: str | Path, what: str) -> BundleError:
    """The one message for a bundle whose manifest holds a value it cannot hold (``what``)."""
    return BundleError(f"{Path(bundle_dir) / MANIFEST} is malformed ({what}); restore the bundle or train it again")


def check_training_output(bundle_dir: Path, kind: str) -> None:
    """Training writes into a new or empty folder, or over a bundle of its ``kind`` (its manifest says so): never
    over a file, nor into a folder of other files, which it would replace or delete (checked before training)."""
    if bundle_dir.exists() and not bundle_dir.is_dir():
        raise HandlevalError(f"{bundle_dir} is a file; train into a folder (new, empty, or a {kind} bundle)")
    if not bundle_dir.is_dir() or not any(bundle_dir.iterdir()):
        return
    try:
        found = json.loads((bundle_dir / MANIFEST).read_text(encoding="utf-8")).get("kind")
    except (OSError, ValueError, AttributeError):
        found = None
    if found != kind:
        article = "an" if kind[:1] in "aeiou" else "a"
        raise HandlevalError(f"{bundle_dir} holds files that are not {article} {kind} bundle, which training would "
                             "replace or delete; choose a new or empty folder")


@contextlib.contextmanager
def staged_bundle(bundle_dir: Path, kind: str) -> Iterator[Path]:
    """Training writes into a hidden folder beside ``bundle_dir`` (its real path: a link is followed) and swaps it
    in only once the bundle is whole (:func:`_swap_in`): an error or a crash mid-training leaves the previous
    bundle as it was (and its loaders working), and files of the folder that are no part of a bundle stay."""
    from uuid import uuid4

    real = bundle_dir.resolve()
    if Path.cwd().resolve().is_relative_to(real):
        raise HandlevalError(f"{bundle_dir} is the current folder (or holds it): train into a folder of its own")
    check_training_output(real, kind)
    _remove_stale(real)
    made = [p for p in real.parents if not p.exists()]  # folders to tidy away if training fails
    real.parent.mkdir(parents=True, exist_ok=True)
    staging = real.parent / f".{real.name}.training-{os.getpid()}-{uuid4().hex[:8]}"
    staging.mkdir()
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        for folder in made:  # innermost first
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    _swap_in(staging, real)


def _swap_in(staging: Path, bundle_dir: Path) -> None:
    """The finished bundle to ``bundle_dir``: the old folder aside, the new one in, then what the old folder held
    and the new bundle does not (a user's notes, a ledger kept there; not a model file the old manifest listed,
    such as a seed model no longer used) moved into it, and the old folder removed. A swap that cannot be made
    (a mount point, a file put there meanwhile) leaves the old folder in place and says where the new bundle is."""
    previous = staging.with_name(staging.name.replace(".training-", ".previous-"))
    had_old = bundle_dir.is_dir()
    try:
        if bundle_dir.exists() and not had_old:
            raise FileExistsError(17, "a file is there")
        if had_old:
            bundle_dir.rename(previous)
        try:
            staging.rename(bundle_dir)
        except OSError:
            if had_old:
                previous.rename(bundle_dir)
            raise
    except OSError as exc:
        raise HandlevalError(f"cannot put the trained bundle at {bundle_dir} ({exc.strerror or exc}); it is whole in "
                             f"{staging}: move it there yourself") from exc
    if had_old:
        try:
            listed = set(json.loads((previous / MANIFEST).read_text(encoding="utf-8")).get("files", {}))
        except (OSError, ValueError, AttributeError):
            listed = set()
        for entry in previous.iterdir():
            if entry.name not in listed and not (bundle_dir / entry.name).exists():
                entry.rename(bundle_dir / entry.name)
        shutil.rmtree(previous, ignore_errors=True)


def _remove_stale(bundle_dir: Path) -> None:
    """Remove what a killed training of ``bundle_dir`` left beside it: its staging folder (its process is gone) and,
    once the bundle is in place, the old folder it had set aside."""
    for left in bundle_dir.parent.glob(f".{bundle_dir.name}.*-*-*"):
        kind, _, rest = left.name[len(bundle_dir.name) + 2:].partition("-")
        pid = rest.partition("-")[0]
        if kind not in ("training", "previous") or not pid.isdigit() or _alive(int(pid)):
            continue
        if kind == "training" or bundle_dir.is_dir():
            shutil.rmtree(left, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def moved_result(result: Result, staging: Path, bundle_dir: Path) -> Result:
    """A training result (a dataclass) whose paths point into :func:`staged_bundle`'s folder, pointed at where the
    bundle now is."""
    paths = {f.name: [bundle_dir / p.relative_to(staging) for p in getattr(result, f.name)]
             for f in dataclasses.fields(result) if f.name in ("plots", "figures")}  # type: ignore[arg-type]
    return dataclasses.replace(result, bundle_dir=bundle_dir, **paths)  # type: ignore[type-var]


def read_bundle(bundle_dir: str | Path, kind: str) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Read and verify a bundle: manifest present and parseable, of the expected kind, every file it lists intact.
    Returns the manifest and the bytes of each listed file as checked: :func:`load_booster` parses those, so each
    file is read and hashed once per load, and a file changed after the check is never read."""
    bundle_dir = Path(bundle_dir)
    if bundle_dir.exists() and not bundle_dir.is_dir():
        raise BundleError(f"{bundle_dir} is a file; a model bundle is a folder (its manifest.json and model files)")
    if not bundle_dir.is_dir():
        raise BundleError(f"model bundle not found: {bundle_dir} (train one with `handleval train {kind}`)")
    path = bundle_dir / MANIFEST
    if not path.is_file():
        raise BundleError(f"{bundle_dir} has no {MANIFEST}: not a handleval bundle, or training did not finish")
    try:
        manifest = json.loads(_read_at_most(path, MAX_BUNDLE_FILE_BYTES).decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # not JSON, not UTF-8, nested past Python's depth, a 5,000-digit number
        raise BundleError(f"{path} is corrupt ({type(exc).__name__}: {str(exc)[:200]}); retrain or restore the "
                          "bundle") from exc
    if not isinstance(manifest, dict) or manifest.get("kind") != kind:
        found = manifest.get("kind") if isinstance(manifest, dict) else None
        raise BundleError(f"{bundle_dir} is not a {kind} bundle (manifest kind: {found!r})")
    if MANIFEST_DIGEST not in manifest:  # without one an edit could not be seen (removing it had turned the check off)
        raise BundleError(f"{path} has no {MANIFEST_DIGEST}: made by a handleval from before 2026-12-07, or edited; "
                          "train it again")
    if manifest[MANIFEST_DIGEST] != manifest_digest(manifest):
        raise BundleError(f"{path} was edited after training (it no longer matches its {MANIFEST_DIGEST}): restore "
                          "the bundle or train it again")
    files = manifest.get("files")
    if not isinstance(files, dict) or not files:
        raise BundleError(f"{path} lists no model files")
    verified = {}
    for name, expected in files.items():
        file = bundle_path(bundle_dir, name)
        data = _read_at_most(file, MAX_BUNDLE_FILE_BYTES)
        if not isinstance(expected, str) or hashlib.sha256(data).hexdigest() != expected:
            raise BundleError(f"bundle file {file} does not match its sha256 in the manifest: "
                              "it is truncated, edited or from another bundle")
        verified[name] = data
    return manifest, verified


#: No file of a bundle is larger (the committed models are ~1 MB): a listed file past it is not read into memory.
MAX_BUNDLE_FILE_BYTES = 256 << 20


def _read_at_most(path: Path, limit: int) -> bytes:
    """The bytes of ``path``, refused (:class:`BundleError`) when it is larger than ``limit``."""
    with open(path, "rb") as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise BundleError(f"{path} is larger than {limit >> 20} MB: no handleval bundle file is; restore the bundle "
                          "or train it again")
    return data


def bundle_path(bundle_dir: Path, name: object) -> Path:
    """``bundle_dir / name`` for a file name a manifest gives, refused unless it is a plain relative path whose
    file (symlinks resolved) lies inside the bundle: a manifest cannot point a loader elsewhere."""
    if not isinstance(name, str) or not name or "\\" in name or "\x00" in name:
        raise BundleError(f"{bundle_dir}: the manifest names a file {name!r} that is not a plain relative path")
    rel = Path(name)
    if rel.is_absolute() or ".." in rel.parts:
        raise BundleError(f"{bundle_dir}: the manifest names {name!r}, outside the bundle directory")
    file = bundle_dir / rel
    if not file.is_file():
        raise BundleError(f"bundle file missing: {file}")
    if not file.resolve().is_relative_to(bundle_dir.resolve()):
        raise BundleError(f"{bundle_dir}: {name!r} is a link to a file outside the bundle directory")
    return file


def _listed(bundle_dir: Path, verified: dict[str, bytes], name: str) -> bytes:
    """The verified bytes of the model file ``name``; a file the manifest does not list is not loaded."""
    if name not in verified:
        raise BundleError(f"{bundle_dir}: the model file {name!r} is not listed in {MANIFEST}'s files, so it is "
                          "not loaded")
    return verified[name]


def _trees_cut_short(text: bytes) -> str:
    """Why the trees of a LightGBM text model are not the ones its header counts ('' when they are): LightGBM
    reads each tree at the offset its ``tree_sizes`` gives, and a text cut short or edited there crashes the
    process instead of raising, so the bytes from ``Tree=0`` to ``end of trees`` must add up to those sizes."""
    header = text.split(b"\nTree=", 1)[0]
    sizes = [line for line in header.splitlines() if line.startswith(b"tree_sizes=")]
    if not sizes:
        return ""  # no offsets: LightGBM reads such a text line by line
    try:
        expected = sum(int(size) for size in sizes[0].removeprefix(b"tree_sizes=").split())
    except ValueError:
        return "its header's tree_sizes are not numbers"
    start, end = text.find(b"Tree=0"), text.find(b"end of trees")
    if expected == 0 and start < 0:
        return ""  # a model of no trees
    if start < 0 or end < 0 or end - start != expected:
        return "its trees are cut short or edited (they do not add up to its header's tree_sizes)"
    return ""


#: A tree's arrays as LightGBM reads them, and their length in leaves (1) or in splits (0: one fewer); the first
#: six must be there (a tree of one leaf has no splits), the others are checked where they are.
_TREE_ARRAYS = {"leaf_value": 1, "split_feature": 0, "threshold": 0, "decision_type": 0, "left_child": 0,
                "right_child": 0, "leaf_weight": 1, "leaf_count": 1, "split_gain": 0, "internal_value": 0,
                "internal_weight": 0, "internal_count": 0}
_REQUIRED_ARRAYS = 6
_MAX_LEAVES = 1 << 17


def _malformed_trees(text: bytes) -> str:
    """Why LightGBM or the tree kernel could not walk the trees of a text model safely ('' when they can).
    LightGBM trusts a model's indices (a child pointing back at its parent, a feature past the last one, a
    missing array) and crashes the process, or corrupts its memory, instead of raising; a bundle from someone
    else carries hashes of its own, so each tree is checked as LightGBM would read it: every array of the
    right length, with no NaN (and no infinity but a threshold's), every split on a feature the header names,
    every node and leaf reached exactly once from the root through later nodes, categorical splits within their
    own category lists, no linear trees."""
    head, _, trees = text.partition(b"\nTree=")
    header = dict(line.split(b"=", 1) for line in head.splitlines() if b"=" in line)
    try:
        n_features = int(header.get(b"max_feature_idx", b"")) + 1
    except ValueError:
        return "its header has no max_feature_idx"
    if n_features != len(header.get(b"feature_names", b"").split()):
        return "its header's feature_names do not match its max_feature_idx"
    try:
        per_round = int(header.get(b"num_tree_per_iteration", b"1"))
    except ValueError:
        per_round = 0
    if not 1 <= per_round <= 1000 or header.get(b"num_class", b"1").strip() != str(per_round).encode():
        return "its num_class and num_tree_per_iteration are not one number from 1 to 1000"
    body = trees.split(b"end of trees", 1)[0]
    blocks = body.split(b"\nTree=") if body.strip() else []
    if len(blocks) % per_round:
        return f"{len(blocks)} trees are not whole rounds of {per_round}"
    for number, block in enumerate(blocks):
        fields = dict(line.split(b"=", 1) for line in block.splitlines() if b"=" in line)
        why = _malformed_tree(fields, n_features)
        if why:
            return f"tree {number}: {why}"
    return ""


def _malformed_tree(fields: dict[bytes, bytes], n_features: int) -> str:
    """Why one tree (its ``key=value`` lines) is unsafe to walk ('' when it is safe); see :func:`_malformed_trees`."""
    try:
        leaves, n_cat = int(fields.get(b"num_leaves", b"")), int(fields.get(b"num_cat", b"0"))
    except ValueError:
        return "num_leaves or num_cat is no number"
    if not 1 <= leaves <= _MAX_LEAVES or not 0 <= n_cat < max(leaves, 1):
        return f"{leaves} leaves and {n_cat} category lists are out of range"
    if fields.get(b"is_linear", b"0").strip() != b"0":
        return "a linear tree (handleval trains none)"
    arrays: dict[str, np.ndarray] = {}
    for i, (name, of_leaves) in enumerate(_TREE_ARRAYS.items()):
        want = leaves - 1 + of_leaves
        # a tree of one leaf is read for its leaf_value alone (LightGBM writes its leaf_weight empty)
        if (name.encode() not in fields and (want == 0 or i >= _REQUIRED_ARRAYS)) or (leaves == 1 and i > 0):
            arrays[name] = np.zeros(0)
            continue
        try:
            values = np.array(fields[name.encode()].split(), dtype=np.float64)
        except (KeyError, ValueError):
            return f"no {name} of numbers"
        if len(values) != want:
            return f"its {name} has {len(values)} values, not {want}"
        if np.isnan(values).any() or (name != "threshold" and np.isinf(values).any()):
            return f"its {name} holds NaN or infinity"
        arrays[name] = values
    split = arrays["split_feature"]
    kind = arrays["decision_type"]
    if not ((split >= 0) & (split < n_features) & (split == np.round(split))).all():
        return f"a split on a feature that is not one of its {n_features}"
    if not ((kind >= 0) & (kind < 16) & (kind == np.round(kind))).all():
        return "a decision_type that is no LightGBM decision"
    children = np.concatenate([arrays["left_child"], arrays["right_child"]])
    parents = np.tile(np.arange(leaves - 1), 2)
    nodes, leaf_of = children[children >= 0], -children[children < 0] - 1
    if not ((children == np.round(children)).all() and (nodes > parents[children >= 0]).all()
            and (nodes < leaves - 1).all() and sorted(nodes.tolist()) == list(range(1, leaves - 1))
            and sorted(leaf_of.tolist()) == list(range(leaves if leaves > 1 else 0))):
        return "its children do not reach every node and leaf exactly once from the root"
    categorical = (kind.astype(np.int64) & 1).astype(bool)
    if n_cat or categorical.any():
        try:
            bounds = np.array(fields[b"cat_boundaries"].split(), dtype=np.int64)
            cats = np.array(fields[b"cat_threshold"].split(), dtype=np.int64)
        except (KeyError, ValueError):
            return "categorical splits without their cat_boundaries and cat_threshold"
        index = arrays["threshold"][categorical]
        if not (len(bounds) == n_cat + 1 and bounds[0] == 0 and (np.diff(bounds) >= 0).all()
                and bounds[-1] == len(cats) and ((cats >= 0) & (cats < 1 << 32)).all()
                and ((index >= 0) & (index < n_cat) & (index == np.round(index))).all()):
            return "its categorical splits point outside their category lists"
    return ""


def booster_feature_names(bundle_dir: Path, verified: dict[str, bytes], name: str) -> list[str]:
    """The feature names a LightGBM text model ``name`` declares (the ``feature_names=`` line of its header), read
    without parsing its trees: a load checks them without importing LightGBM."""
    header = _listed(bundle_dir, verified, name).split(b"\nTree=", 1)[0]
    lines = [line for line in header.splitlines() if line.startswith(b"feature_names=")]
    if len(lines) != 1:
        raise BundleError(f"{Path(bundle_dir) / name} is not a valid LightGBM text model: {len(lines)} "
                          "feature_names lines in its header")
    return lines[0].removeprefix(b"feature_names=").decode("utf-8", "replace").split()


def load_booster(bundle_dir: Path, verified: dict[str, bytes], name: str) -> Any:
    """A LightGBM booster from the bundle's text model ``name`` (never pickle), parsed from its bytes as
    :func:`read_bundle` checked them (``verified``): LightGBM parses exactly what was verified. A file the
    manifest does not list is not loaded."""
    import lightgbm as lgb

    text = _listed(bundle_dir, verified, name)
    cut = _trees_cut_short(text) or _malformed_trees(text)
    if cut:
        raise BundleError(f"{Path(bundle_dir) / name} is not a valid LightGBM text model: {cut}")
    try:
        return lgb.Booster(model_str=text.decode("utf-8"))
    except (lgb.basic.LightGBMError, UnicodeDecodeError) as exc:
        raise BundleError(f"{Path(bundle_dir) / name} is not a valid LightGBM text model: {exc}") from exc
