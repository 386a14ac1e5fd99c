"""Data layer: the data directory, canonical sales and account tables, and load reports."""

from handleval.data.report import LoadReport, SourceReport
from handleval.data.sales import DEFAULT_SOURCES, LOADERS, SALES_COLUMNS, load_sales

__all__ = ["DEFAULT_SOURCES", "LOADERS", "SALES_COLUMNS", "LoadReport", "SourceReport", "load_sales"]
