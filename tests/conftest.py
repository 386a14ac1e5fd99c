"""Shared fixtures. Tests read the real data from HANDLEVAL_DATA (default ../shared/data beside the checkout)."""

from __future__ import annotations

import pytest

from handleval.config import data_dir


@pytest.fixture(scope="session")
def data_root():
    """The real data directory; the suite needs it (CI lays ../shared beside the clone)."""
    return data_dir()


@pytest.fixture(scope="session")
def sales_table():
    from handleval.data import load_sales

    table, report = load_sales()
    return table, report
