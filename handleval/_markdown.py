"""Markdown tables for the model cards of both models and the notes of their MLflow runs."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def to_markdown(table: pd.DataFrame, floatfmt: str = ".3f", missing: str = "") -> str:
    """A markdown table without the optional ``tabulate`` dependency; a NaN cell reads ``missing``."""
    def fmt(value: Any) -> str:
        if isinstance(value, float):
            return missing if np.isnan(value) else (f"{value:,.0f}" if value.is_integer() and abs(value) > 99 else
                                                    format(value, floatfmt))
        return str(value)

    head = "| " + " | ".join(map(str, table.columns)) + " |"
    sep = "|" + "|".join("---" for _ in table.columns) + "|"
    body = ["| " + " | ".join(fmt(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join([head, sep, *body])
