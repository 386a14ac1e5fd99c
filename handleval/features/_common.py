"""Shared plumbing of the feature families: input coercion, per-unique caching and the family base class.

Every family accepts the same input (a DataFrame with ``handle`` and optional ``platform``, ``suffix``,
``as_of``/``sold_at``; or a list/Series of strings taken as X handles) and turns it into a :class:`Prepared`
frame once, so that ``HandleFeaturizer`` cleans each string only once for all families.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

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

    @property
    def ok(self) -> np.ndarray:
        return self.errors.isna().to_numpy()


def _as_frame(X: Any) -> pd.DataFrame:
    if isinstance(X, pd.DataFrame):
        if "handle" not in X.columns:
            columns = ", ".join(map(str, X.columns))
            raise ValueError(f"expected a DataFrame with a 'handle' column, got columns {columns}")
        return X
    if isinstance(X, str | bytes):
        X = [X]
    if isinstance(X, np.ndarray) and X.ndim == 2:
        X = X[:, 0]
    index = X.index if isinstance(X, pd.Series) else None
    return pd.DataFrame({"handle": list(X)}, index=index)


def _timestamps_ns(values: pd.Series) -> np.ndarray:
    """Datetimes as int64 nanoseconds (tz-aware → UTC); NaT becomes the int64 minimum."""
    ts = pd.to_datetime(values, errors="coerce", utc=True)
    return ts.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]").astype(np.int64)


NAT = np.iinfo(np.int64).min


def prepare(X: Any) -> Prepared:
    """Coerce any accepted input into a :class:`Prepared` frame (never raises for bad handle values)."""
    if isinstance(X, Prepared):
        return X
    df = _as_frame(X)
    cleaned = [clean_text(v) for v in df["handle"].tolist()]
    out = pd.DataFrame(index=df.index)
    out["text"] = pd.Series([t for t, _ in cleaned], index=df.index, dtype=object)
    for col in PLATFORM_COLUMNS:
        default = DEFAULT_PLATFORM if col == "platform" else ""
        if col in df.columns:
            vals = df[col].astype(object).where(df[col].notna(), default)
            out[col] = [str(v).strip().lower() for v in vals]
        else:
            out[col] = default
    # Valuation cut-off: ``as_of`` (prediction: NaT = now) or, for training rows, ``sold_at`` (NaT = unknown).
    if "as_of" in df.columns:
        ns = _timestamps_ns(df["as_of"])
        out["cutoff"] = np.where(ns == NAT, np.iinfo(np.int64).max, ns)
        out["cutoff_known"] = True
    elif "sold_at" in df.columns:
        ns = _timestamps_ns(df["sold_at"])
        out["cutoff"] = ns
        out["cutoff_known"] = ns != NAT
    else:
        out["cutoff"] = np.iinfo(np.int64).max
        out["cutoff_known"] = True
    errors = pd.Series([e for _, e in cleaned], index=df.index, dtype=object)
    return Prepared(out, errors)


def per_unique(texts: Sequence[str], func: Callable[[str], Sequence[float]], width: int,
               errors: list[str | None] | None = None, family: str = "") -> np.ndarray:
    """Apply ``func`` once per distinct string and broadcast: handle lists repeat names a lot.

    A string on which ``func`` raises gets NaN features and, if ``errors`` is given, a reason at its rows.
    """
    codes, uniques = pd.factorize(pd.Series(texts, dtype=object), use_na_sentinel=False)
    table = np.full((len(uniques), width), np.nan)
    failed: dict[int, str] = {}
    for i, text in enumerate(uniques):
        try:
            table[i] = func(text)
        except Exception as exc:  # a feature bug must not take down a whole batch
            failed[i] = f"{family}: {type(exc).__name__}: {exc}"
    if failed and errors is not None:
        for row, code in enumerate(codes):
            if code in failed and errors[row] is None:
                errors[row] = failed[code]
    return table[codes]


class FeatureFamily(TransformerMixin, BaseEstimator):
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
        values = np.asarray(self._compute(prepared, errs), dtype=np.float64)
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
