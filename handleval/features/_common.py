"""Shared plumbing of the feature families: input coercion, per-unique caching and the family base class.

Every family accepts the same input (a DataFrame with ``handle`` and optional ``platform``, ``suffix``,
``as_of``/``sold_at``; or a list/Series of strings taken as X handles) and turns it into a :class:`Prepared`
frame once, so that ``HandleFeaturizer`` cleans each string only once for all families.
"""

from __future__ import annotations

import gc
import hashlib
import os
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from handleval._arrays import frame_of
from handleval.estimator import Transformer, check_is_fitted
from handleval.handles import _INVISIBLE

#: Text features (words, brands, comparables) look at most this many characters; length features see all.
MAX_CHARS = 64
DEFAULT_PLATFORM = "x"
PLATFORM_COLUMNS = ("platform", "suffix")
_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(raw: object) -> tuple[str, str | None]:
    """Best-effort text of one raw value: NFKC, invisible marks removed, ``@`` stripped, lower-cased.

    Unlike :func:`handleval.handles.clean` this never raises and keeps every character (Cyrillic, emoji):
    the featurizer must describe raw strings, including the ones a platform would reject. Returns
    ``(text, error)``; ``error`` is a human-readable reason when the value cannot be featurised at all.
    """
    if type(raw) is str and raw.isascii():  # fast path: NFKC and the invisible marks leave ASCII unchanged
        text = raw.strip().lstrip("@").strip().lower()
        return (text, None) if text else ("", "empty handle")
    if raw is None or (isinstance(raw, float) and raw != raw) or raw is pd.NA or raw is pd.NaT:
        return "", "missing handle (None/NaN)"
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", errors="replace")
    if isinstance(raw, bool) or not isinstance(raw, str | int | np.integer):
        return "", f"not text: {type(raw).__name__}"
    try:
        text = unicodedata.normalize("NFKC", str(raw)).translate(_INVISIBLE).strip().lstrip("@").strip().lower()
    except (ValueError, TypeError) as exc:  # lone surrogates and friends
        return "", f"cannot read text: {exc}"
    if _SURROGATE.search(text):  # lone surrogates cannot be encoded; replace them rather than fail later
        text = _SURROGATE.sub("\ufffd", text)
    if not text:
        return "", "empty handle"
    return text, None


@dataclass
class Prepared:
    """Input rows after cleaning: ``frame`` has ``text``, ``platform``, ``suffix`` and ``cutoff`` columns."""

    frame: pd.DataFrame
    errors: pd.Series  # str reason or None per row
    #: Per-call work shared between families (distinct texts, their cores, segmentations, match candidates…).
    shared: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def ok(self) -> np.ndarray:
        return self.errors.isna().to_numpy()

    def unique_texts(self) -> tuple[np.ndarray, list[str]]:
        """``(codes, uniques)``: each row's index into the distinct texts (first-seen order), computed once."""
        hit = self.shared.get("unique_texts")
        if hit is None:
            codes, uniques = pd.factorize(self.frame["text"].to_numpy(dtype=object), use_na_sentinel=False)
            hit = self.shared["unique_texts"] = (codes, list(uniques))
        return hit

    def cores(self) -> list[str]:
        """Per distinct text: its first :data:`MAX_CHARS` characters with everything but ``[a-z0-9]`` removed."""
        hit = self.shared.get("cores")
        if hit is None:
            hit = self.shared["cores"] = [core_of(t) for t in self.unique_texts()[1]]
        return hit


def _as_frame(X: Any) -> pd.DataFrame:
    if isinstance(X, pd.DataFrame):
        if "handle" not in X.columns:
            columns = ", ".join(map(str, X.columns))
            raise ValueError(f"expected a DataFrame with a 'handle' column, got columns {columns}")
        return X
    if isinstance(X, str | bytes):
        X = [X]
    if isinstance(X, Mapping) or X is None:
        raise TypeError(f"expected handles (a DataFrame with a 'handle' column, or a list, Series or one-column "
                        f"array of them), got {type(X).__name__}")
    if isinstance(X, np.ndarray) and X.ndim == 2:
        if X.shape[1] != 1:  # a second column (the platform?) would be dropped without a word
            raise ValueError(f"expected one column of handles, got an array of {X.shape[1]} columns: give a "
                             "DataFrame with 'handle' (and 'platform', ...) columns")
        X = X[:, 0]
    index = X.index if isinstance(X, pd.Series) else None
    # object dtype: pandas 3 would infer its string dtype, which cannot hold a lone surrogate ('\ud800') and raised
    return pd.DataFrame({"handle": pd.Series(list(X), index=index, dtype=object)})


def _timestamps_ns(values: pd.Series) -> np.ndarray:
    """Datetimes as int64 nanoseconds (tz-aware → UTC); NaT becomes the int64 minimum."""
    ts = pd.to_datetime(values, errors="coerce", utc=True)
    return ts.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]").astype(np.int64)


NAT = np.iinfo(np.int64).min


_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_ALNUM = re.compile(r"[a-z0-9]+")


def core_of(text: str) -> str:
    """``text[:MAX_CHARS]`` with everything but ``[a-z0-9]`` removed (the key words and lexicons look up)."""
    t = text[:MAX_CHARS]
    return t if _ALNUM.fullmatch(t) else _NON_ALNUM.sub("", t)


def _clean_all(values: list[Any]) -> list[tuple[str, str | None]]:
    """:func:`clean_text` of every value, computed once per distinct string (handle lists repeat a lot)."""
    memo: dict[str, tuple[str, str | None]] = {}
    out = []
    for v in values:
        if type(v) is str:
            hit = memo.get(v)
            if hit is None:
                hit = memo[v] = clean_text(v)
            out.append(hit)
        else:
            out.append(clean_text(v))
    return out


def _lower_all(values: list[Any]) -> list[str]:
    """``str(v).strip().lower()`` of every value, once per distinct string."""
    memo: dict[str, str] = {}
    out = []
    for v in values:
        if type(v) is str:
            hit = memo.get(v)
            if hit is None:
                hit = memo[v] = v.strip().lower()
            out.append(hit)
        else:
            out.append(str(v).strip().lower())
    return out


def _all_str(values: np.ndarray) -> bool:
    """Whether every value is a ``str`` (checked in C), so that equal values are equal strings."""
    return len(values) > 0 and pd.api.types.infer_dtype(values, skipna=False) == "string"


def _per_distinct(values: np.ndarray, func: Callable[[str], Any]) -> np.ndarray:
    """``func`` of each distinct string of an all-``str`` array, broadcast back (object array)."""
    codes, uniques = pd.factorize(values)
    table = np.empty(len(uniques), dtype=object)
    table[:] = [func(u) for u in uniques]
    return table[codes]


def prepare(X: Any) -> Prepared:
    """Coerce any accepted input into a :class:`Prepared` frame (never raises for bad handle values)."""
    if isinstance(X, Prepared):
        return X
    df = _as_frame(X)
    handles = df["handle"].to_numpy(dtype=object)
    if _all_str(handles):  # the usual case: clean each distinct string once, broadcast with numpy
        codes, uniques = pd.factorize(handles)
        cleaned = [clean_text(u) for u in uniques]
        texts = np.empty(len(uniques), dtype=object)
        texts[:] = [t for t, _ in cleaned]
        reasons = np.empty(len(uniques), dtype=object)
        reasons[:] = [e for _, e in cleaned]
        text_col, error_col = texts[codes], reasons[codes]
    else:
        cleaned = _clean_all(df["handle"].tolist())
        text_col, error_col = [t for t, _ in cleaned], [e for _, e in cleaned]
    columns = {"text": np.asarray(text_col, dtype=object)}
    for col in PLATFORM_COLUMNS:
        default = DEFAULT_PLATFORM if col == "platform" else ""
        if col in df.columns:
            vals = df[col].astype(object).where(df[col].notna(), default).to_numpy(dtype=object)
            columns[col] = _per_distinct(vals, lambda v: v.strip().lower()) if _all_str(vals) else \
                np.asarray(_lower_all(vals.tolist()), dtype=object)
        else:
            columns[col] = np.full(len(df), default, dtype=object)
    # Valuation cut-off: ``as_of`` (prediction: NaT = now) or, for training rows, ``sold_at`` (NaT = unknown).
    never = np.iinfo(np.int64).max
    if "as_of" in df.columns:
        ns = _timestamps_ns(df["as_of"])
        columns["cutoff"], columns["cutoff_known"] = np.where(ns == NAT, never, ns), np.ones(len(df), dtype=bool)
    elif "sold_at" in df.columns:
        ns = _timestamps_ns(df["sold_at"])
        columns["cutoff"], columns["cutoff_known"] = ns, ns != NAT
    else:
        columns["cutoff"], columns["cutoff_known"] = np.full(len(df), never), np.ones(len(df), dtype=bool)
    out = frame_of(columns, df.index)
    errors = pd.Series(error_col, index=df.index, dtype=object)
    return Prepared(out, errors)


def ascii_matrix(texts: Sequence[str] | Sequence[bytes], width: int) -> np.ndarray:
    """The bytes of ASCII ``texts`` as a zero-padded ``(n, width)`` uint8 matrix (longer texts are cut): how the
    families vectorise work over characters."""
    if not len(texts):
        return np.zeros((0, width), dtype=np.uint8)
    return np.array(texts, dtype=f"S{width}").view(np.uint8).reshape(len(texts), width)


def package_files(package: str, folder: str = "") -> tuple[str, tuple[tuple[str, int, int], ...]]:
    """``(version, files)`` of an installed package, found without importing it: its version and the name, size
    and mtime of each file in ``folder`` (for cache keys of state fitted from a package's data)."""
    from importlib.metadata import version
    from importlib.util import find_spec

    spec = find_spec(package)
    root = Path(spec.origin).parent / folder if spec and spec.origin else None
    files = sorted(p for p in root.iterdir() if p.is_file()) if root and root.is_dir() else []
    stats = [(p.name, p.stat()) for p in files]
    return version(package), tuple((name, st.st_size, st.st_mtime_ns) for name, st in stats)


def cache_path(name: str, key: Any) -> Path:
    """Where :func:`cached` keeps the state of ``name`` built for ``key``."""
    from handleval.config import cache_dir

    return cache_dir() / f"{name}-{_key_digest(key)[:32]}.cache"


def _key_digest(key: Any) -> str:
    return hashlib.sha256(repr(key).encode()).hexdigest()


#: Cache files kept per name (the newest by last use): old package versions and parameters do not pile up.
CACHE_VERSIONS_KEPT = 3


def cached(name: str, key: Any, build: Callable[[], dict[str, Any]], use_cache: bool = True) -> dict[str, Any]:
    """``build()`` (a family's fitted attributes), kept under ``$HANDLEVAL_CACHE`` or ``~/.cache/handleval``
    as ``{name}-{hash of repr(key)}.cache`` and read from there next time.

    For state that depends on nothing but ``key``: the parameters, the fitting code and what :func:`package_files`
    says of the data it reads. The file holds data only, never pickle, and is checked against the sha256 and key
    recorded in it when written (:mod:`handleval._cache`); the directory must be private to this user. A missing,
    broken, foreign or unwritable cache only means building. A read marks the file as used; writing one removes
    the files of the same name beyond the :data:`CACHE_VERSIONS_KEPT` last used (and old pickle files)."""
    from handleval import _cache

    if not use_cache:
        return build()
    path = cache_path(name, key)
    digest = _key_digest(key)
    if _cache.private_dir(path.parent) is None:
        return build()
    try:
        state = _cache.loads(path.read_bytes(), digest)
        with suppress(OSError):
            os.utime(path)  # last use, for the pruning below
        return state
    except (OSError, _cache.CacheFormatError):
        pass  # absent, damaged or foreign: built below
    state = build()
    try:
        data = _cache.dumps(state, digest)
    except TypeError:
        return state  # not plain data: never cached
    try:
        tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)  # atomic: processes starting together never read half a file
    except OSError:
        return state  # a read-only home is not an error: we just build again next time
    versions = []
    for other in path.parent.glob(f"{name}-*.pkl"):  # written by older versions, never read
        with suppress(OSError):
            other.unlink()
    for other in path.parent.glob(f"{name}-*{_cache.SUFFIX}"):
        with suppress(OSError):
            versions.append((other.stat().st_mtime, other))
    for _, stale in sorted(versions, reverse=True)[CACHE_VERSIONS_KEPT:]:
        with suppress(OSError):
            stale.unlink()
    return state


def source_digest(module_file: str) -> str:
    """sha256 of a module's source: part of the cache key of the state its ``fit`` builds."""
    return hashlib.sha256(Path(module_file).read_bytes()).hexdigest()


@cache
def code_digest() -> str:
    """sha256 of every handleval source file: part of the cache key of state that many modules' code builds (a
    change to any of them rebuilds it)."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(f"{path.relative_to(root)}\0".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while featurising a batch.

    A batch creates and keeps hundreds of thousands of small containers (per-distinct-string results and
    shared caches) and no reference cycles; with the collector on, its repeated full passes over them cost
    more than the features. Collection resumes (with its usual thresholds) when the batch is done.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def fill_rows(table: np.ndarray, rows: Sequence[int], texts: Sequence[str], func: Callable[[str], Sequence[float]],
              failed: dict[int, str], family: str) -> None:
    """``table[i] = func(texts[i])`` for ``i`` in ``rows``; a string on which ``func`` raises keeps NaN features
    and gets a reason in ``failed``."""
    for i in rows:
        try:
            table[i] = func(texts[i])
        except Exception as exc:  # a feature bug must not take down a whole batch
            table[i] = np.nan
            failed[i] = f"{family}: {type(exc).__name__}: {exc}"


def _broadcast(table: np.ndarray, codes: np.ndarray, failed: dict[int, str],
               errors: list[str | None] | None) -> np.ndarray:
    if failed and errors is not None:
        for row, code in enumerate(codes.tolist()):
            if code in failed and errors[row] is None:
                errors[row] = failed[code]
    return table[codes]


def per_unique_batch(prepared: Prepared, batch: Callable[[list[str], dict[int, str]], np.ndarray],
                     func: Callable[[str], Sequence[float]], width: int, errors: list[str | None] | None = None,
                     family: str = "") -> np.ndarray:
    """Compute a family once per distinct string (handle lists repeat names a lot) and broadcast to the rows:
    ``batch(uniques, failed)`` computes the whole table of distinct texts at once (vectorised; it calls
    :func:`fill_rows` for the strings it cannot vectorise). ``func`` is the one-string
    reference: if ``batch`` itself fails, every distinct text falls back to it."""
    codes, uniques = prepared.unique_texts()
    failed: dict[int, str] = {}
    try:
        table = np.asarray(batch(uniques, failed), dtype=np.float64)
        if table.shape != (len(uniques), width):
            raise ValueError(f"{family}: batch table has shape {table.shape}")
    except Exception:  # a bug in the fast path must not take down a whole batch: redo it string by string
        failed.clear()
        table = np.full((len(uniques), width), np.nan)
        fill_rows(table, range(len(uniques)), uniques, func, failed, family)
    return _broadcast(table, codes, failed, errors)


class FeatureFamily(Transformer):
    """Base of the families: fit/transform on handles, stable prefixed names, DataFrame output."""

    prefix: ClassVar[str] = ""

    def _feature_names(self) -> list[str]:
        raise NotImplementedError

    def _fit(self, prepared: Prepared, X: Any, y: Any) -> None:
        """Learn state; default: nothing beyond the names."""

    def _compute(self, prepared: Prepared, errors: list[str | None]) -> np.ndarray:
        raise NotImplementedError

    def fit(self, X: Any = None, y: Any = None) -> FeatureFamily:
        prepared = prepare(X) if X is not None else prepare([])
        self._fit(prepared, X, y)
        self.feature_names_out_ = np.asarray(self._feature_names(), dtype=object)
        self.n_features_out_ = len(self.feature_names_out_)
        return self

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "feature_names_out_")
        return self.feature_names_out_.copy()

    def transform_prepared(self, prepared: Prepared, errors: list[str | None] | None = None) -> pd.DataFrame:
        """Features for already-cleaned rows; rows with an input error are NaN."""
        check_is_fitted(self, "feature_names_out_")
        errs = errors if errors is not None else prepared.errors.tolist()
        with gc_paused():
            values = self._compute(prepared, errs)
        return self._as_frame(prepared, values)

    def _as_frame(self, prepared: Prepared, values: np.ndarray) -> pd.DataFrame:
        """Computed ``values`` as the family's frame: rows with an input error are NaN."""
        values = np.asarray(values, dtype=np.float64)
        values[~prepared.ok] = np.nan
        return pd.DataFrame(values, index=prepared.frame.index, columns=list(self.feature_names_out_))

    def transform(self, X: Any) -> pd.DataFrame:
        return self.transform_prepared(prepare(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.requires_fit = True
        return tags
