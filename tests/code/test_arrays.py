"""The grouping helpers the stages share (``handleval._arrays``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from handleval._arrays import first_occurrences, group_ids


def test_group_ids_number_combinations_in_order_of_first_appearance():
    a = np.array(["x", "y", "x", None, "x", np.nan, "y"], dtype=object)
    b = np.array([1.0, 1.0, 2.0, 1.0, 1.0, 1.0, 1.0])
    ids = group_ids(a, b)
    assert ids.tolist() == [0, 1, 2, 3, 0, 3, 1]  # None and NaN are one missing value
    expected = pd.DataFrame({"a": a, "b": b}).groupby(["a", "b"], dropna=False, sort=False).ngroup().to_numpy()
    assert ids.tolist() == expected.tolist()
    assert group_ids(a).tolist() == [0, 1, 0, 2, 0, 2, 1]
    assert first_occurrences(ids).tolist() == [0, 1, 2, 3]
    assert first_occurrences(np.zeros(0, dtype=np.int64)).tolist() == []


def test_group_ids_of_many_large_columns_do_not_collide():
    rng = np.random.default_rng(3)
    columns = [rng.integers(0, 5000, size=20_000) for _ in range(6)]  # 5000**6 overflows int64 if not renumbered
    ids = group_ids(*columns)
    expected = pd.DataFrame(dict(enumerate(columns))).groupby(list(range(6)), sort=False).ngroup().to_numpy()
    assert ids.tolist() == expected.tolist()
