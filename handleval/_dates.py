"""Dates as inputs write them: day and month as numbers (``03/12/2024``: which is the day, where the date itself
tells), and a Twitter v1.1 user's latest tweet (``status``) as a crawler saved it."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

#: The names an input gives the time a profile was seen under (ours; the Bot Repository's; Cresci's, whose fake
#: followers have only ``updated``): the accounts' ``observed_at`` aliases, and the times a crawler puts beside a page.
OBSERVED_AT_NAMES = ("observed_at", "probe_created_at", "crawled_at", "updated")
#: A date with its day and month as numbers first (``03/12/2024``, ``3.12.24 10:00``): which is the day is unknown.
NUMERIC_DATE = re.compile(r"^\s*(\d{1,2})[/.\-](\d{1,2})[/.\-]\d{2,4}(?:[ T].*)?$")


def numeric_date_orders(text: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Masks of the dates written with day and month as numbers first: ``(day_first, month_first, ambiguous)``,
    where the first number is above 12 (``13/02/2024``), the second is (``02/13/2024``), or neither tells
    (``03/12/2024``; the same number twice is no ambiguity). Missing text is in none."""
    numeric = text.astype("string").str.extract(NUMERIC_DATE.pattern).astype(float)
    day_first = ((numeric[0] > 12) & (numeric[1] <= 12)).fillna(False)  # both above 12: no date, rejected as such
    month_first = ((numeric[1] > 12) & (numeric[0] <= 12)).fillna(False)
    ambiguous = ((numeric[0] <= 12) & (numeric[1] <= 12) & (numeric[0] != numeric[1])).fillna(False)
    return day_first.astype(bool), month_first.astype(bool), ambiguous.astype(bool)


def given_time(value: object) -> pd.Timestamp | None:
    """The time a caller gave (``as_of``, ``now``): a date, a time, text of one; None for what is none. A number is
    none (2019 was read as nanoseconds after 1970)."""
    if isinstance(value, bool | int | float | np.number):
        return None
    try:
        when = pd.Timestamp(value)  # type: ignore[arg-type]
    except (ValueError, TypeError, OverflowError):
        return None
    return None if when is pd.NaT else when


#: A status's text longer than this is read up to it (a v1.1 status is a few kB).
_MAX_STATUS_TEXT = 100_000
#: A ``created_at`` inside a status's text: JSON, a Python dict's repr (``u'...'``), tweepy's ``Status(...)``.
_STATUS_CREATED = re.compile(r"""['"]created_at['"]\s*:\s*u?['"]([A-Z][a-z]{2} [A-Z][a-z]{2} [^'"]+)['"]""")


def status_created_at(status: pd.Series) -> pd.Series:
    """The time text of each v1.1 user's latest tweet (``status``: a dict, or its text as JSON, a Python dict's repr
    or tweepy's repr); None where none is found. A dict's own ``created_at``; in text, the latest ``created_at`` it
    holds: a tweet is newer than all it embeds (its user's creation, a retweeted or quoted original), whatever order
    its text lists them in."""
    def latest(value: Any) -> str | None:
        if isinstance(value, dict):  # an object says which time is its own, in whatever form it is written
            own = value.get("created_at")
            return own.isoformat() if isinstance(own, datetime) else own if isinstance(own, str) else None
        text = value[:_MAX_STATUS_TEXT] if isinstance(value, str) else ""  # a status is a few kB
        best: tuple[datetime, str] | None = None
        for written in _STATUS_CREATED.findall(text):
            try:
                when = datetime.strptime(written, "%a %b %d %H:%M:%S %z %Y")  # Twitter's own format
            except ValueError:
                continue
            if best is None or when > best[0]:
                best = (when, written)
        return best[1] if best else None

    return status.map(latest)
