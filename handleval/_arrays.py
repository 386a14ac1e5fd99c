"""Grouping helpers shared by the stages, on numpy and pandas only (cheap to import: ``handleval.price.predict`` uses
them at import time, before any model is loaded)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def group_ids(*columns: object) -> np.ndarray:
    """Per row, the id of its combination of values over ``columns``, numbered in order of first appearance;
    missing values (None, NaN) are one value of their column. Hash factorizations of flat arrays: a pandas
    groupby over the same columns costs several times more."""
    n = len(columns[0])  # type: ignore[arg-type]
    ids = np.zeros(n, dtype=np.int64)
    for column in columns:
        codes, _ = pd.factorize(column, use_na_sentinel=False)  # type: ignore[call-overload]
        ids, _ = pd.factorize(ids * (int(codes.max(initial=-1)) + 1) + codes)
    return ids


def first_occurrences(ids: np.ndarray) -> np.ndarray:
    """Position of each id's first row, for ids numbered in order of first appearance (:func:`group_ids`)."""
    if len(ids) == 0:
        return np.zeros(0, dtype=np.int64)
    seen = np.maximum.accumulate(ids)
    return np.flatnonzero(np.concatenate([[True], seen[1:] > seen[:-1]]))


def frame_of(columns: dict[str, np.ndarray], index: pd.Index | None = None) -> pd.DataFrame:
    """A DataFrame of ``columns``, each keeping its array's dtype: object arrays of text stay object instead of
    becoming pandas' inferred Arrow strings, which every stage would convert straight back (~1 µs a row)."""
    return pd.DataFrame({name: pd.Series(values, index=index, dtype=values.dtype, copy=False)
                         for name, values in columns.items()}, index=index)
