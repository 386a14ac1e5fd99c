"""Real, simple, deterministic scorers for the batch-engine tests and benchmarks (not mocks: plain functions).

They live in an importable module so that Dask workers and ``python -m handleval.batch`` subprocesses can load
them by name, exactly as they would load the price model's scorer.
"""

from __future__ import annotations

import os
import time

import pandas as pd

from handleval.errors import InvalidHandle
from handleval.handles import parse_handle


def length_scorer(frame: pd.DataFrame) -> pd.DataFrame:
    """Add ``length`` (characters of the raw handle) and ``valid``/``error`` from ``parse_handle``."""
    out = frame.copy()
    lengths, names, errors = [], [], []
    for raw in frame["handle"].tolist():
        text = raw if isinstance(raw, str) else None
        lengths.append(len(text) if text is not None else -1)
        try:
            names.append(str(parse_handle(raw, "x")))
            errors.append(None)
        except InvalidHandle as exc:
            names.append(None)
            errors.append(exc.reason)
    out["length"] = pd.Series(lengths, dtype="int64")
    out["normalised"] = pd.Series(names, dtype=object)
    out["error"] = pd.Series(errors, dtype=object)
    return out


def make_length_scorer() -> object:
    """Factory form of :func:`length_scorer`, counting how often it is built (per process) in an env file."""
    marker = os.environ.get("HANDLEVAL_TEST_BUILD_LOG")
    if marker:
        with open(marker, "a", encoding="utf-8") as fh:
            fh.write(f"{os.getpid()}\n")
    return length_scorer


def make_slow_scorer(delay: float = 0.05) -> object:
    """A real scorer that sleeps ``delay`` seconds per chunk, so that a test can kill a run mid-way."""

    def slow(frame: pd.DataFrame) -> pd.DataFrame:
        time.sleep(delay)
        return length_scorer(frame)

    return slow


def fragile_scorer(frame: pd.DataFrame) -> pd.DataFrame:
    """Raises on any chunk containing the handle ``boom``: the engine must isolate that row."""
    if (frame["handle"] == "boom").any():
        raise RuntimeError("boom is not a handle I can price")
    return length_scorer(frame)


def make_tagged_scorer() -> object:
    """:func:`length_scorer` whose ``facts`` (what its scoring rests on, as a model's bundle digest) are this
    process's ``HANDLEVAL_TEST_FACT``: a Dask worker started with another one scores with other facts."""

    def tagged(frame: pd.DataFrame) -> pd.DataFrame:
        return length_scorer(frame)

    tagged.facts = {"bundle": os.environ.get("HANDLEVAL_TEST_FACT")}  # type: ignore[attr-defined]
    return tagged


def make_dying_scorer() -> object:
    """A scorer whose process dies on its first chunk, as a worker killed mid-run (out of memory, ``kill -9``)."""

    def dying(frame: pd.DataFrame) -> pd.DataFrame:
        os._exit(1)

    return dying


def make_refusing_scorer() -> object:
    """A factory that cannot build its scorer on this machine, as one whose data directory is missing."""
    from handleval.errors import HandlevalError

    raise HandlevalError("data directory not found (HANDLEVAL_DATA=/nowhere)")
