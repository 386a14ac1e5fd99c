"""The one markdown-table writer of the model cards and the MLflow run notes."""

from __future__ import annotations

import pandas as pd

from handleval._markdown import to_markdown


def test_a_missing_cell_reads_as_asked_and_the_rest_alike():
    """Model cards leave a NaN cell empty, the MLflow note shows a dash; every other cell is written alike."""
    table = pd.DataFrame({"market": ["a", "b"], "RMSE ln": [0.4567, float("nan")], "n": [12417.0, 3.0]})
    card = to_markdown(table)
    assert card.splitlines() == ["| market | RMSE ln | n |", "|---|---|---|", "| a | 0.457 | 12,417 |",
                                 "| b |  | 3.000 |"]
    assert to_markdown(table, missing="–") == card.replace("| b |  |", "| b | – |")
