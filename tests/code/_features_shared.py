"""Fitted featurizer and real sales table shared by the feature tests (built once per test session)."""

from __future__ import annotations

from functools import lru_cache

import pandas as pd

from handleval.features import HandleFeaturizer


@lru_cache(maxsize=1)
def sales_table() -> pd.DataFrame:
    from handleval.data import load_sales

    return load_sales()[0]


@lru_cache(maxsize=1)
def fitted() -> HandleFeaturizer:
    return HandleFeaturizer(families=("length", "words", "brands")).fit()


def row(handle: str) -> pd.Series:
    return fitted().transform([handle]).iloc[0]
