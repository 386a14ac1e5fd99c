"""Scorer-agnostic batch engine: stream any input through a scoring function into exactly-once output parts.

Why: ``handleval predict`` (prices) and ``handleval flag`` (accounts) both turn a file of arbitrary size into a
scored file, must survive being killed, must never drop or reorder a row, and must scale out. That machinery
lives here once; a command only supplies ``score_chunk(frame) -> frame``.

Output layout (``output_path`` is always a **directory**, like Spark's and Dask's writers)::

    out/
      part-00000.parquet      # rows 0 .. chunk_rows-1 of the input (local engine) or row group 0 (dask)
      part-00001.parquet
      _manifest.json          # what the run is; the finished parts once the run ends (or is resumed)
      _manifest.parts.jsonl   # while it runs: one fsynced line per finished part (see Manifest)
      _SUCCESS                # written last: all input rows are in the parts, exactly once

Each part is written to a hidden temp file and renamed into place, so a part file is either complete or absent.
A part counts as finished only once it is recorded (a journal line, or ``_manifest.json``); with ``resume=True``
finished parts whose sha256 still matches are kept, anything else (temp files, parts not recorded, parts that fail
the hash) is redone. :func:`read_output` returns the parts concatenated in order. CSV or TSV output
(``output_format="csv"``/``"tsv"``, or a path ending so) writes one file with a header per part and neutralises
spreadsheet formulas (see :func:`handleval.io.neutralise_formulas`).

Every output has an ``error`` column (last): null when the row was scored, else why not: a malformed input row,
the scorer's own ``error``, or the exception the scorer raised on that row alone (the engine isolates failing rows
by bisection, so one poisonous row costs one row, not a chunk).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import glob
import hashlib
import importlib
import json
import logging
import os
import re
import shutil
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from handleval import io as hio
from handleval._signals import RESUME_HINT, how_stopped, signal_handled, sigterm_as_interrupt
from handleval.errors import (
    ColumnCollisionError,
    DataFormatError,
    HandlevalError,
    HandlevalWarning,
    output_collisions,
)
from handleval.trees.bundle import sha256_file

MANIFEST = "_manifest.json"
JOURNAL = "_manifest.parts.jsonl"
SUCCESS = "_SUCCESS"
MANIFEST_FORMAT = "handleval-batch/1"
#: The input reader's rule for what a row is, recorded with each run (see ``layout`` in :func:`run_batch`).
READER_ROWS = "a blank line of a one-column CSV is a row"
#: The most rows a chunk may hold: a part of 100 million rows is already more than a worker's memory.
MAX_CHUNK_ROWS = 100_000_000
DEFAULT_CHUNK_ROWS = 100_000
ERROR = "error"
# After this many rows in a row that the scorer raised on, with none scored in between, the scorer is broken,
# not the data: stop instead of bisecting a whole file one row at a time.
MAX_CONSECUTIVE_FAILURES = 64

ScoreChunk = Callable[[pd.DataFrame], pd.DataFrame]
ScorerFactory = Callable[[], ScoreChunk] | tuple[str, str, dict[str, Any]] | str


class OutputExistsError(HandlevalError):
    """The output already exists and neither ``resume`` nor ``overwrite`` was asked for."""


class OutputLockedError(HandlevalError):
    """Another run is writing to the same output directory."""


class ScorerError(HandlevalError):
    """The scoring function broke its contract (wrong row count) or fails on every row."""


@dataclass
class BatchSummary:
    """What a run did. ``rows_in`` and ``rows_out`` are for the whole output (resumed parts included)."""

    input_path: str
    output_path: str
    output_format: str
    engine: str
    rows_in: int
    rows_out: int
    rows_scored: int
    parts: int
    parts_reused: int
    errors: int
    seconds: float
    warnings: list[str] = field(default_factory=list)
    #: Dask only: seconds spent starting the cluster (or connecting) and shipping the scorer factory.
    setup_seconds: float = 0.0
    #: Dask only: where the wall-clock went (``setup``, ``warmup``: imports and scorer build on every worker,
    #: ``scoring``: first task submitted to last part recorded, ``teardown``: closing the cluster), so that a
    #: speed-up can be stated for scoring alone and with the warm-up. ``None`` (and absent from
    #: :meth:`to_dict`) for the local engine.
    dask_timings: dict[str, float] | None = None
    #: A resumed run that found the output already finished: nothing was scored or rewritten.
    already_complete: bool = False

    @property
    def rows_per_second(self) -> float:
        return self.rows_scored / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if data["dask_timings"] is None:
            del data["dask_timings"]
        return {**data, "rows_per_second": round(self.rows_per_second, 1)}


# ============================================================================================ scoring a frame
def score_frame(frame: pd.DataFrame, score_chunk: ScoreChunk,
                input_errors: Sequence[str | None] | None = None, *, fill_from_input: bool = True) -> pd.DataFrame:
    """Score ``frame`` with ``score_chunk`` and return every row, in order, with an ``error`` column last.

    Rows with an ``input_errors`` entry are not sent to the scorer (their fields may be shifted); if the scorer
    raises, the frame is split in halves until the failing rows are alone, and those rows get the exception as
    their ``error``. Useful on its own, e.g. inside Spark's ``mapInPandas`` (see docs/distributed.md).
    """
    frame = frame.reset_index(drop=True)
    n = len(frame)
    bad = [i for i, e in enumerate(input_errors or ()) if e is not None]
    if not bad:
        good_frame = frame
    else:
        bad_set = set(bad)
        good_positions = [i for i in range(n) if i not in bad_set]
        good_frame = frame.iloc[good_positions].reset_index(drop=True)

    if len(good_frame):
        scored, raised = _score_isolating(good_frame, score_chunk, fill_from_input)
    else:
        scored, raised = _score_empty(frame, score_chunk), {}

    scorer_errors = scored[ERROR] if ERROR in scored.columns else None
    error = pd.Series([None] * len(scored), dtype=object)
    if scorer_errors is not None:
        error = scorer_errors.astype(object).where(scorer_errors.notna(), None).reset_index(drop=True)
    for pos, message in raised.items():
        error.iat[pos] = message
    scored = scored.drop(columns=[ERROR]) if scorer_errors is not None else scored

    if bad:
        scored.index = pd.Index(good_positions)
        error.index = pd.Index(good_positions)
        full = scored.reindex(range(n))
        shared = [c for c in frame.columns if c in full.columns] if fill_from_input else []
        for c in shared:
            if full[c].dtype != frame[c].dtype:
                full[c] = full[c].astype(object)
            full.loc[bad, c] = frame.loc[bad, c].to_numpy()
        error = error.reindex(range(n)).astype(object)
        for i in bad:
            error.iat[i] = input_errors[i]  # type: ignore[index]
        scored = full
    scored = scored.reset_index(drop=True)
    values = error.to_numpy(dtype=object, copy=True)
    values[pd.isna(values)] = None
    scored[ERROR] = pd.Series(values, dtype=object)
    return scored


def score_rows(frame: pd.DataFrame, score_chunk: ScoreChunk, input_errors: Sequence[str | None] | None = None,
               output_columns: Sequence[str] | None = None, prefix: str = "") -> pd.DataFrame:
    """:func:`score_frame`, with the input columns kept exactly as read when ``output_columns`` (the columns the
    scorer adds, ``error`` aside) are declared: only those are taken from the scorer, named ``prefix + name``,
    after every input column; the error column is ``prefix + "error"``. Without ``output_columns`` the scorer's
    frame is used as it is (its ``error`` renamed when there is a prefix)."""
    if output_columns is None:
        scored = score_frame(frame, score_chunk, input_errors)
        return scored.rename(columns={ERROR: prefix + ERROR}) if prefix else scored
    wanted = [c for c in output_columns if c != ERROR]

    def outputs_only(sub: pd.DataFrame) -> pd.DataFrame:
        result = _call_scorer(score_chunk, sub)
        missing = [c for c in wanted if c not in result.columns]
        if missing:
            raise ScorerError(f"the scorer did not return its output column(s) {', '.join(map(repr, missing))}")
        return result[wanted + ([ERROR] if ERROR in result.columns else [])]

    scored = score_frame(frame, outputs_only, input_errors, fill_from_input=False).reindex(columns=[*wanted, ERROR])
    scored.columns = [prefix + c for c in scored.columns]
    base = frame.reset_index(drop=True)
    return pd.concat([base, scored], axis=1)


def check_output_columns(input_columns: Sequence[Any], output_names: Sequence[str], whose: str = "the output",
                         where: str = "") -> None:
    """Raise :class:`~handleval.errors.ColumnCollisionError` naming the input columns ``whose`` outputs would
    overwrite (``where``: the input file, as the message's start), before any row is scored."""
    collisions = output_collisions(input_columns, output_names)
    if collisions:
        raise ColumnCollisionError(collisions, what=whose, input_columns=input_columns, where=where)


def _call_scorer(score_chunk: ScoreChunk, sub: pd.DataFrame) -> pd.DataFrame:
    out = score_chunk(sub)
    if not isinstance(out, pd.DataFrame):
        raise ScorerError(f"the scorer returned {type(out).__name__}, not a pandas DataFrame")
    if len(out) != len(sub):
        raise ScorerError(f"the scorer returned {len(out)} rows for {len(sub)}: it must keep every row in order")
    if not out.index.equals(sub.index) and sub.index.is_unique and out.index.sort_values().equals(
            sub.index.sort_values()):  # its rows carry their labels, in another order: each value on another row
        raise ScorerError("the scorer returned its rows in another order (their index labels say so): it must keep "
                          "every row in order")
    return out.reset_index(drop=True)


def _score_empty(frame: pd.DataFrame, score_chunk: ScoreChunk) -> pd.DataFrame:
    """Ask the scorer for its output columns with zero rows, so that an empty output has the right columns."""
    empty = frame.iloc[:0].reset_index(drop=True)
    try:
        return _call_scorer(score_chunk, empty)
    except ScorerError:
        raise
    except Exception:
        return empty


def _score_isolating(frame: pd.DataFrame, score_chunk: ScoreChunk, fill_from_input: bool = True
                     ) -> tuple[pd.DataFrame, dict[int, str]]:
    """Score ``frame``; on an exception bisect until the failing rows are alone. Returns the scored frame (rows
    that raised keep their input values and nulls elsewhere) and ``{position: message}`` for those rows."""
    try:
        return _call_scorer(score_chunk, frame), {}
    except (ScorerError, ColumnCollisionError):  # about the whole frame, not some of its rows
        raise
    except Exception:
        pass
    pieces: list[pd.DataFrame] = []
    raised: dict[int, str] = {}
    state = {"fail_run": 0}

    def visit(lo: int, hi: int) -> None:
        sub = frame.iloc[lo:hi].reset_index(drop=True)
        try:
            pieces.append(_call_scorer(score_chunk, sub))
            state["fail_run"] = 0
            return
        except (ScorerError, ColumnCollisionError):
            raise
        except Exception as exc:
            if hi - lo > 1:
                mid = (lo + hi) // 2
                visit(lo, mid)
                visit(mid, hi)
                return
            raised[lo] = f"scorer failed on this row: {type(exc).__name__}: {_short(exc)}"
            pieces.append(sub if fill_from_input else pd.DataFrame(index=range(len(sub))))
            state["fail_run"] += 1
            if state["fail_run"] >= MAX_CONSECUTIVE_FAILURES:
                raise ScorerError(f"the scorer raised on {MAX_CONSECUTIVE_FAILURES} rows in a row "
                                  f"({type(exc).__name__}: {_short(exc)}); this looks like a broken scorer, "
                                  "not bad rows, so the run stops (finished parts are kept: fix and --resume)"
                                  ) from exc

    visit(0, len(frame))
    out = pd.concat(pieces, ignore_index=True) if len(pieces) > 1 else pieces[0]
    return out, raised


def _short(exc: BaseException, limit: int = 300) -> str:
    text = str(exc).replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ============================================================================================ scorer factories
_SCORERS: dict[str, ScoreChunk] = {}
_SCORERS_LOCK = threading.Lock()


class _Fixed:
    """A factory that returns an existing scorer (used when only ``score_chunk`` is given)."""

    def __init__(self, score_chunk: ScoreChunk):
        self.score_chunk = score_chunk

    def __call__(self) -> ScoreChunk:
        return self.score_chunk


def factory_key(factory: ScorerFactory) -> str:
    """A stable key for a factory: equal specs share one cached scorer per process (i.e. per Dask worker)."""
    if isinstance(factory, str | tuple | list):
        return "spec:" + json.dumps(_normalise_spec(factory), sort_keys=True, default=repr)
    import cloudpickle

    return "pickle:" + hashlib.sha256(cloudpickle.dumps(factory)).hexdigest()


def _normalise_spec(spec: str | tuple | list) -> list[Any]:
    if isinstance(spec, str):
        module, _, func = spec.partition(":")
        return [module, func, {}]
    if len(spec) == 2:
        return [spec[0], spec[1], {}]
    if len(spec) == 3 and isinstance(spec[2], dict):
        return [spec[0], spec[1], dict(spec[2])]
    raise HandlevalError(f"a scorer spec is 'module:function' or (module, function, kwargs); got {spec!r}")


def build_scorer(factory: ScorerFactory) -> ScoreChunk:
    """Call a factory: a zero-argument callable, ``"module:function"`` or ``(module, function, kwargs)``."""
    if callable(factory):
        return factory()
    module_name, func_name, kwargs = _normalise_spec(factory)
    try:
        func = getattr(importlib.import_module(module_name), func_name)
    except (ImportError, AttributeError) as exc:
        raise HandlevalError(f"cannot load scorer factory {module_name}:{func_name}: {exc}") from exc
    return func(**kwargs)


def cached_scorer(factory: ScorerFactory, key: str | None = None) -> ScoreChunk:
    """The scorer for ``factory``, built at most once per process (so once per Dask worker process). The process
    is a batch process from then on: see :func:`keep_freed_memory`."""
    key = key or factory_key(factory)
    with _SCORERS_LOCK:
        scorer = _SCORERS.get(key)
        if scorer is None:
            keep_freed_memory()
            scorer = _SCORERS[key] = build_scorer(factory)
        return scorer


def keep_freed_memory() -> bool:
    """Have glibc's allocator keep freed memory for the next chunk instead of handing it back to the system.

    Scoring allocates the same large arrays chunk after chunk. By default glibc unmaps freed blocks above a few
    MB and gives back the top of the heap, and the next chunk faults the pages in again: about 1.5 s of system
    time per million handles, 3% of a ``predict`` run. Here blocks below 1 GB come from the heap, which keeps up to
    1 GB free at its top and grows by 256 MB at a time (``benchmarks/RESULTS.md``, round 5). Peak memory does not
    change, as the next chunk needs as much again. The setting is process-wide, so only batch processes make it
    (:func:`cached_scorer`: the local engine and each Dask worker). Returns whether it was applied (glibc only)."""
    import ctypes
    import platform

    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_top_pad, m_mmap_threshold = -1, -2, -3  # <malloc.h>
    return all([mallopt(m_mmap_threshold, 1 << 30), mallopt(m_trim_threshold, 1 << 30), mallopt(m_top_pad, 256 << 20)])


# ============================================================================================ manifest / output
#: The formats a part is written in (its file's suffix).
PART_FORMATS = ("parquet", "csv", "tsv")


def _part_name(index: int, fmt: str) -> str:
    return f"part-{index:05d}.{fmt}"


#: The names a run writes in its directory: parts as :func:`_part_name` spells them, the manifest, its journal, the
#: success marker, and their temporary files (``.part-00003.csv.tmp-<pid>``).
_OUR_NAMES = re.compile(rf"(\.)?(part-\d{{5,}}\.(csv|tsv|parquet)|{re.escape(MANIFEST)}|{re.escape(JOURNAL)}|"
                        rf"{re.escape(SUCCESS)})(?(1)\.tmp-\d+)")


def _is_ours(name: str) -> bool:
    return _OUR_NAMES.fullmatch(name) is not None


def _foreign_files(out: Path, names: list[str]) -> list[str]:
    """Of the entries ``names`` of ``out``, those no run of ours wrote: another name, or one of ours that is not a
    plain file (a folder named ``part-00000.csv``). Without a manifest of ours (whole, damaged, or the temporary file
    of its first write), every entry is foreign: a Spark output's ``part-00000-<uuid>.parquet`` and ``_SUCCESS`` are
    not ours to delete."""
    if names and not any(n == MANIFEST or n.startswith(f".{MANIFEST}.tmp-") for n in names):
        return names
    return [n for n in names if not _is_ours(n) or (out / n).is_symlink() or not (out / n).is_file()]


def _valid_record(record: Any) -> bool:
    """A finished part's record as :func:`write_part` makes it (what resume and :func:`read_output` rely on)."""
    if not isinstance(record, dict) or type(record.get("index")) is not int or record["index"] < 0:
        return False
    sha = record.get("sha256")
    return (record.get("file") in [_part_name(record["index"], fmt) for fmt in PART_FORMATS]
            and isinstance(sha, str) and len(sha) == 64
            and all(type(record.get(k)) is int and record[k] >= 0 for k in ("rows", "errors", "row_start")))


class Manifest:
    """What the run is (input fingerprint, layout, format) and which parts are finished.

    Two files: ``_manifest.json`` (the header, the parts known when it was last written, ``complete``) and the
    journal ``_manifest.parts.jsonl``, to which each finished part appends one fsynced line. Appending costs the
    same for the 100,000th part as for the first; rewriting the whole manifest after every part cost time in
    proportion to the parts so far (38 ms a part at 3,000 parts, ``benchmarks/bench_manifest.py``), enough to make
    the Dask client the bottleneck of a large cluster. :meth:`save` folds the journal into ``_manifest.json`` and
    then removes it: at the start of a run, on resume, and at the end, so a finished output has no journal. A kill
    can tear only the journal's last line; that line is ignored, and its part, not recorded, is scored again.
    """

    def __init__(self, directory: Path, data: dict[str, Any]):
        self.directory = directory
        self.data = {k: v for k, v in data.items() if k != "parts"}
        self._parts: dict[int, dict[str, Any]] = {p["index"]: p for p in data.get("parts", [])}

    @property
    def parts(self) -> dict[int, dict[str, Any]]:
        """The finished parts' records by part index, in index order."""
        return dict(sorted(self._parts.items()))

    @classmethod
    def load(cls, directory: Path) -> Manifest | None:
        """The manifest with its journal's parts, or None when ``directory`` has no manifest. The journal is read
        first: a run that folds it in meanwhile writes the manifest before removing the journal, so no part can
        slip between the two reads."""
        path = directory / MANIFEST
        journal = directory / JOURNAL
        try:
            lines = journal.read_bytes().split(b"\n")
        except FileNotFoundError:
            lines = []
        if not path.exists():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise HandlevalError(f"{path} is unreadable ({exc}); use --overwrite to start again") from exc
        if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
            raise HandlevalError(f"{path} is not a handleval batch manifest")
        parts = data.get("parts")
        if not isinstance(parts, list) or not all(_valid_record(p) for p in parts):
            raise HandlevalError(f"{path} has a damaged part record; use --overwrite to start again")
        manifest = cls(directory, data)
        records = []
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                record = None
            records.append(record if _valid_record(record) else None)
        # A kill or a power cut can damage only the end of an append-only file: bad lines after the last good one
        # are ignored (those parts are scored again); a bad line before a good one is damage, not a crash.
        good = [i for i, r in enumerate(records) if r is not None]
        bad = [i for i, r in enumerate(records) if r is None and lines[i].strip()]
        if good and bad and bad[0] < good[-1]:
            raise HandlevalError(f"{journal} line {bad[0] + 1} is damaged; use --overwrite to start again")
        for i in good:
            manifest._parts[records[i]["index"]] = records[i]
        return manifest

    def add(self, record: dict[str, Any]) -> None:
        """Record a finished part (its file already renamed into place): one durable journal line."""
        line = json.dumps(record, separators=(",", ":")) + "\n"
        hio.append_durably(self.directory / JOURNAL, line.encode("utf-8"))
        self._parts[record["index"]] = record

    def keep_only(self, indices: set[int]) -> None:
        self._parts = {i: rec for i, rec in self._parts.items() if i in indices}

    def save(self) -> None:
        """Write ``_manifest.json`` with every part known, atomically, then drop the journal it now contains."""
        payload = json.dumps({**self.data, "parts": list(self.parts.values())}, indent=1).encode("utf-8")
        hio.atomic_write(self.directory / MANIFEST, payload)
        (self.directory / JOURNAL).unlink(missing_ok=True)


def lock_path(path: Path, what: str, create: bool = False) -> int:
    """Hold an exclusive ``flock`` on ``path`` (a directory; with ``create`` a file, made empty if missing) until
    the returned descriptor is closed; :class:`OutputLockedError` naming ``what`` at once when another process
    holds it. Advisory: handleval runs respect it; on filesystems without ``flock`` (some network mounts) it may
    not hold."""
    try:  # a record is a file of ours: never one a symbolic link points to (it would be overwritten)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW if create else os.O_RDONLY, 0o644)
    except OSError as exc:
        if create and path.is_symlink():
            raise HandlevalError(f"{path} is a symbolic link, not a record handleval wrote: remove it (its target "
                                 "is left as it is)") from exc
        raise
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        return fd
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise OutputLockedError(f"another handleval run is writing to {what} right now; wait for it to "
                                "finish, or choose another output") from None
    except OSError:
        return fd  # a filesystem without locks: carry on unlocked
    if create and not _still_at(path, fd):
        os.close(fd)  # the run that held it removed it as we opened it: lock the file now at that path
        return lock_path(path, what, create)
    return fd


def _still_at(path: Path, fd: int) -> bool:
    """Whether ``path`` still names the file open at ``fd`` (a locked file removed and made again is another)."""
    try:
        named, held = os.stat(path), os.fstat(fd)
    except FileNotFoundError:
        return False
    return (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino)


def one_file_companions(out: Path) -> tuple[Path, Path]:
    """``(parts, record)`` beside a one-file output ``NAME``: the hidden ``.NAME.parts`` directory an unfinished
    run scores into, and the hidden ``.NAME.run.json`` record of what the file was made from. An output with no
    name of its own (``.``, ``..``, ``/``, an empty path) is refused."""
    if out.name in ("", ".", ".."):
        raise HandlevalError(f"output {str(out)!r} has no name of its own: give a file (scores.csv) or a new "
                             "directory of parts (scores/)")
    return out.with_name(f".{out.name}.parts"), out.with_name(f".{out.name}.run.json")


def refuse_if_locked(output: str | os.PathLike[str]) -> None:
    """:class:`OutputLockedError` at once when another run holds ``output`` (a directory of parts, or one file
    through its hidden record): checked before a model loads, so that a second run is told at once, not after the
    load. The run takes its own lock later; this only moves the message forward."""
    out = Path(output)
    record = one_file_companions(out)[1]
    held = out if out.is_dir() else record if record.is_file() else None
    if held is not None:
        os.close(lock_path(held, str(out)))


def lock_directory(directory: Path) -> int:
    """:func:`lock_path` on the output directory itself, so that no lock file can be deleted by ``--overwrite``."""
    return lock_path(directory, str(directory))


def _prepare_output(out: Path, *, resume: bool, overwrite: bool, header: dict[str, Any],
                    warn: Callable[[str], None], locks: list[int]) -> tuple[Manifest, set[int]]:
    """Create or reopen the output directory, locked (its descriptor appended to ``locks``); return the
    manifest and the indices of reusable parts."""
    if out.is_dir():
        locks.append(lock_directory(out))
    if out.exists() and not out.is_dir():  # no run of ours made it (ours is a directory): --overwrite keeps it too
        raise OutputExistsError(f"output {out} exists and is a file, which handleval did not write: a name without "
                                ".csv/.tsv/.parquet is a directory of parts; choose another path (a .csv, .tsv or "
                                ".parquet name writes one file)")
    existing = sorted(p.name for p in out.iterdir()) if out.is_dir() else []
    if existing and not resume:
        if not overwrite:
            raise OutputExistsError(f"output {out} already exists; use --resume to finish an interrupted run or "
                                    "--overwrite to replace it")
        foreign = _foreign_files(out, existing)
        if foreign:
            raise OutputExistsError(f"refusing to overwrite {out}: it holds files handleval did not write "
                                    f"(e.g. {foreign[0]!r}); choose an empty or new output directory")
        for name in existing:
            (out / name).unlink()
        existing = []
    out.mkdir(parents=True, exist_ok=True)
    if not locks:
        locks.append(lock_directory(out))
        existing = sorted(p.name for p in out.iterdir())
        if existing and not resume:  # another run created it between our look and our lock
            raise OutputExistsError(f"output {out} appeared while starting (another run?); try again")

    manifest = Manifest.load(out) if resume else None
    if manifest is None:
        if existing:
            foreign = [n for n in existing if not _is_ours(n)]
            raise OutputExistsError(f"cannot resume into {out}: it has no {MANIFEST}"
                                    + (f" and holds other files (e.g. {foreign[0]!r}): choose another output"
                                       if foreign else "; use --overwrite to start again"))
        manifest = Manifest(out, {**header, "parts": [], "complete": False})
        manifest.save()
        return manifest, set()

    old = manifest.data
    for key, label in (("input", "input"), ("layout", "engine, partitioning or reading of rows"),
                       ("output_format", "output format"), ("columns_in", "input columns"),
                       ("naming", "output column names"), ("scoring", "scorer (model, platform and options)")):
        if old.get(key) != header[key]:
            raise HandlevalError(f"cannot resume into {out}: the {label} differs from the interrupted run "
                                 f"({old.get(key)!r} then, {header[key]!r} now); use --overwrite to start again")
    keep: set[int] = set()
    names: set[str] = set()
    for index, rec in manifest.parts.items():
        path = out / rec["file"]
        if path.is_file() and sha256_file(path) == rec["sha256"]:
            keep.add(index)
            names.add(rec["file"])
        else:
            warn(f"{out}: part {rec['file']} is missing or damaged; scoring it again")
    manifest.keep_only(keep)
    manifest.data["complete"] = False
    manifest.save()
    for name in existing:  # unfinished temp files and parts that never reached the manifest
        if name not in names and name not in (MANIFEST, JOURNAL) and _is_ours(name) and (out / name).is_file():
            (out / name).unlink(missing_ok=True)
    return manifest, keep


def part_clock() -> tuple[float, float]:
    """Wall and this thread's CPU clocks, read before a part is scored (see :func:`write_part`)."""
    return time.perf_counter(), time.thread_time()


def write_part(frame: pd.DataFrame, out: Path, index: int, fmt: str, started: tuple[float, float],
               error_column: str = ERROR, read: Any = None, **extra: Any) -> dict[str, Any]:
    """Write one scored chunk atomically; return its manifest record (``errors`` counts ``error_column``: the
    run's own, ``prefix + "error"``, never an input column of that name).

    The record carries the part's own cost since ``started`` (:func:`part_clock`) until its file is on disk:
    ``seconds`` of wall clock and ``cpu_seconds`` of the scoring thread. Operators see slow parts; the gap
    between the two is time the thread waited (disk, or other processes on its core); the benchmark splits a
    Dask speed-up with them. ``read``: the input rows as read (an Arrow table), whose columns a Parquet part
    takes as they are (:func:`handleval.io.with_input_columns`)."""
    table = hio.frame_to_table(frame)
    if read is not None:
        table = hio.with_input_columns(table, read, nested_only=fmt != "parquet")
    name = _part_name(index, fmt)
    sha = hio.atomic_write(out / name, hio.encode_part(table, fmt))
    errors = int(frame[error_column].notna().sum()) if error_column in frame.columns else 0
    return {"index": index, "file": name, "rows": len(frame), "errors": errors, "sha256": sha,
            "seconds": round(time.perf_counter() - started[0], 4),
            "cpu_seconds": round(time.thread_time() - started[1], 4), **extra}


# ============================================================================================ progress
class _Progress:
    """A rich progress bar (rows, rate, ETA) when stdout is a terminal and not quiet; otherwise nothing."""

    def __init__(self, enabled: bool, total: int | None, unit: str, description: str):
        self.enabled = enabled
        self.rows = 0
        self.started = time.perf_counter()
        self._bar: Any = None
        if enabled:
            from rich.progress import (
                BarColumn,
                Progress,
                TaskProgressColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._bar = Progress(
                TextColumn("[bold]{task.description}"), BarColumn(), TaskProgressColumn(),
                TextColumn("{task.fields[rows]:>12,} rows"), TextColumn("{task.fields[rate]:>10,.0f} rows/s"),
                TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                transient=False,
            )
            self._task = self._bar.add_task(description, total=total, rows=0, rate=0.0)
            self.unit = unit

    def __enter__(self) -> _Progress:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            if exc[0] is None and self._bar.tasks[0].total is not None:  # lines were only an estimate of the rows
                self._bar.update(self._task, completed=self._bar.tasks[0].total)
            self._bar.stop()

    def update(self, rows: int, done: int | None = None) -> None:
        self.rows += rows
        if self._bar is not None:
            rate = self.rows / max(time.perf_counter() - self.started, 1e-9)
            total = self._bar.tasks[0].total
            completed = self.rows if done is None else done
            self._bar.update(self._task, rows=self.rows, rate=rate,
                             completed=completed if total is None else min(completed, total))


# ============================================================================================ the engine
def _stored_as_numbers(source: Any, columns: Sequence[str]) -> list[str]:
    """Which of ``columns`` a typed input (Parquet) stores as integers or floats."""
    import pyarrow as pa

    schema = source.schema
    return [c for c in columns if schema is not None and c in schema.names
            and (pa.types.is_integer(schema.field(c).type) or pa.types.is_floating(schema.field(c).type))]


def run_batch(
    input_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str],
    score_chunk: ScoreChunk | None = None,
    *,
    required_columns: Sequence[str] = ("handle",),
    chunk_rows: int | None = None,
    output_format: str | None = None,
    resume: bool = False,
    overwrite: bool = False,
    quiet: bool = False,
    engine: str = "local",
    scheduler: str | None = None,
    n_workers: int | None = None,
    scorer_factory: ScorerFactory | None = None,
    progress: bool | None = None,
    output_columns: Sequence[str] | None = None,
    prefix: str = "",
    scoring: Mapping[str, Any] | None = None,
) -> BatchSummary:
    """Score ``input_path`` into the part directory ``output_path``; every input row exactly once, in order.

    ``score_chunk(frame)`` gets input rows (all input columns, CSV as text) and returns the same rows in the same
    order with columns added. Give ``scorer_factory`` instead (or as well) when the scorer is expensive to build:
    it is called once per process - once per worker with ``engine="dask"`` - and must be picklable: a zero-arg
    callable, ``"module:function"`` or ``(module, function, kwargs)``.

    ``chunk_rows`` bounds memory (local engine): one chunk is in memory at a time. Default
    :data:`DEFAULT_CHUNK_ROWS`, or on ``resume`` the interrupted run's (from its manifest). ``engine="dask"`` needs
    Parquet input and writes one part per row group, on a ``LocalCluster(n_workers, threads_per_worker=1,
    processes=True)`` or on the cluster at ``scheduler``. ``progress`` forces the bar on/off (default: on when
    stdout is a terminal and not ``quiet``).

    What scores the rows is part of the run (:func:`scoring_identity`: the factory spec and ``scoring``, e.g. the
    model bundle's digest): a resume with another scorer, other options or another model is refused, so that one
    output never mixes two.

    Input columns are never overwritten: declare the scorer's ``output_columns`` and they are taken from it
    alone, named ``prefix + name`` after the input's columns. When an output name (or ``error``) is already an
    input column the run stops at once with :class:`~handleval.errors.ColumnCollisionError` naming them (choose
    a ``prefix``). The output directory is locked for the run (:func:`lock_directory`); a second run on it stops
    at once.

    Raises :class:`DataFormatError` for unreadable input, :class:`OutputExistsError` when the output exists and
    neither ``resume`` nor ``overwrite`` is set, :class:`ScorerError` when the scorer breaks its contract.
    """
    started = time.perf_counter()
    check_resume_or_overwrite(resume, overwrite)
    if engine not in ("local", "dask"):
        raise HandlevalError(f"unknown engine {engine!r}: choose 'local' or 'dask'")
    if score_chunk is None and scorer_factory is None:
        raise HandlevalError("run_batch needs score_chunk or scorer_factory")
    out = Path(output_path).expanduser()
    if chunk_rows is not None and not 1 <= chunk_rows <= MAX_CHUNK_ROWS:  # a run's own, resumed, is what it was
        raise HandlevalError(f"chunk_rows must be 1 to {MAX_CHUNK_ROWS:,}, got {chunk_rows:,}")
    if chunk_rows is None:
        chunk_rows = _resumed_chunk_rows(out) if resume else DEFAULT_CHUNK_ROWS
    if scheduler and engine != "dask":
        raise HandlevalError("a scheduler address needs the dask engine (--engine dask)")
    fmt = (output_format or hio.output_file_format(out) or "parquet").lower()
    if fmt not in PART_FORMATS:
        raise HandlevalError(f"unknown output format {output_format!r}: choose 'parquet', 'csv' or 'tsv'")

    source = hio.open_input(input_path, required_columns)
    check_output_columns(source.columns, [prefix + c for c in [*(output_columns or ()), ERROR]],
                         where=f"{source.path}: ")
    inp = source.path.resolve()
    refuse_output_over_input(inp, out)
    if engine == "dask" and source.kind not in ("parquet", "empty"):
        raise DataFormatError(f"--engine dask reads Parquet (a file or a partitioned directory); {inp} is "
                              f"{source.kind}. Convert it first, or use the local engine, which streams any size")

    collected: list[str] = list(source.warnings)

    def warn(message: str) -> None:
        collected.append(message)
        warnings.warn(message, HandlevalWarning, stacklevel=3)

    for message in source.warnings:
        warnings.warn(message, HandlevalWarning, stacklevel=2)
    for column in _stored_as_numbers(source, required_columns):  # '007' stored as 7: said where types are known
        warn(f"{source.path}: the {column} column is stored as numbers: each is read as its digits (7.0 as '7'), "
             "and one written with leading zeros ('007') was lost when it was stored")
    layout = {"engine": "local", "chunk_rows": chunk_rows} if engine == "local" or not source.tasks \
        else {"engine": "dask", "unit": "row_group"}
    # which lines are rows: a run read by another rule (before a one-column CSV's blank lines were rows) numbers
    # its rows otherwise, and its parts are not resumed
    layout["rows"] = READER_ROWS
    header = {"format": MANIFEST_FORMAT, "input": source.fingerprint(), "layout": layout,
              "output_format": fmt, "columns_in": source.columns, "required_columns": list(required_columns),
              "naming": output_naming(prefix, output_columns),
              "scoring": scoring_identity(scorer_factory, scoring)}
    locks: list[int] = []
    try:
        return _run_prepared(source, out, inp, header, fmt, engine, chunk_rows, score_chunk, scorer_factory, resume,
                             overwrite, quiet, progress, scheduler, n_workers, output_columns, prefix, started,
                             collected, warn, locks)
    except OSError as exc:
        raise _output_error(exc, out) from exc
    finally:
        for fd in locks:
            os.close(fd)


def output_naming(prefix: str, output_columns: Sequence[str] | None) -> dict[str, Any]:
    """How a run names its output columns, as its manifest (and a one-file output's record) holds it."""
    return {"prefix": prefix, "output_columns": None if output_columns is None else list(output_columns)}


def scoring_identity(scorer_factory: ScorerFactory | None, scoring: Mapping[str, Any] | None = None
                     ) -> dict[str, Any]:
    """What scores a run's rows, as its manifest records it: the factory spec (``None`` for a callable, which has
    no stable name) and the caller's ``scoring`` facts (e.g. the model bundle's digest), JSON-normalised."""
    spec = _normalise_spec(scorer_factory) if isinstance(scorer_factory, str | tuple | list) else None
    return json.loads(json.dumps({"scorer": spec, **(scoring or {})}, sort_keys=True, default=repr))


def _resumed_chunk_rows(out: Path) -> int:
    """The chunk size of the run in ``out`` (what resuming it needs), else :data:`DEFAULT_CHUNK_ROWS`."""
    manifest = Manifest.load(out) if out.is_dir() else None
    layout = manifest.data.get("layout") if manifest is not None else None
    rows = layout.get("chunk_rows") if isinstance(layout, dict) else None  # an edited manifest: the check after says
    return rows if type(rows) is int and rows >= 1 else DEFAULT_CHUNK_ROWS


def recorded_scorer_options(output: str | os.PathLike[str]) -> dict[str, Any]:
    """The scorer factory's keyword arguments of the run already at ``output`` (a directory of parts, or one file
    with its unfinished parts or its hidden record), else ``{}``: what a resume must score with again."""
    out = Path(output)
    parts, record = one_file_companions(out)
    run: Any = None
    if out.is_dir() or parts.is_dir():
        manifest = Manifest.load(out if out.is_dir() else parts)
        run = manifest.data if manifest is not None else None
    else:
        with contextlib.suppress(OSError, ValueError):
            run = json.loads(record.read_text(encoding="utf-8"))
    scorer = run.get("scoring", {}).get("scorer") if isinstance(run, dict) and isinstance(run.get("scoring"), dict) \
        else None
    return scorer[2] if isinstance(scorer, list) and len(scorer) == 3 and isinstance(scorer[2], dict) else {}


def _output_error(exc: OSError, out: Path) -> HandlevalError:
    """One sentence for a failed write (full disk, read-only or forbidden output)."""
    import errno

    where = exc.filename or out
    if exc.filename and not Path(str(exc.filename)).resolve().is_relative_to(out.resolve()):
        return HandlevalError(f"{exc.filename}: {exc.strerror or exc}")
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return HandlevalError(f"no space left writing {where} ({exc.strerror}); the parts finished so far are kept: "
                              "free some space and rerun with --resume")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return HandlevalError(f"cannot write the output {where}: {exc.strerror} (choose a writable output)")
    return HandlevalError(f"cannot write the output {where}: {exc.strerror or exc}")


def _run_prepared(source: hio.InputSource, out: Path, inp: Path, header: dict[str, Any], fmt: str, engine: str,
                  chunk_rows: int, score_chunk: ScoreChunk | None, scorer_factory: ScorerFactory | None,
                  resume: bool, overwrite: bool, quiet: bool, progress: bool | None, scheduler: str | None,
                  n_workers: int | None, output_columns: Sequence[str] | None, prefix: str, started: float,
                  collected: list[str], warn: Callable[[str], None], locks: list[int]) -> BatchSummary:
    layout = header["layout"]
    previous = Manifest.load(out) if resume and out.is_dir() else None
    was_complete = previous is not None and previous.data.get("complete") is True
    manifest, reuse = _prepare_output(out, resume=resume, overwrite=overwrite, header=header, warn=warn,
                                      locks=locks)
    show = progress if progress is not None else (not quiet and sys.stdout.isatty())
    factory: ScorerFactory = scorer_factory if scorer_factory is not None else _Fixed(score_chunk)  # type: ignore[arg-type]

    if layout["engine"] == "local":
        scorer = score_chunk if score_chunk is not None else cached_scorer(factory)
        rows_in, scored = _run_local(source, scorer, manifest, reuse, fmt, chunk_rows, show, output_columns, prefix)
    else:
        rows_in, scored, timings = _run_dask(source, factory, manifest, reuse, fmt, show, scheduler, n_workers,
                                             output_columns, prefix)

    parts = manifest.parts
    expected_start = 0
    for i, index in enumerate(sorted(parts)):
        rec = parts[index]
        if index != i or rec["row_start"] != expected_start:
            raise HandlevalError(f"internal error: part {index} does not follow row {expected_start}")
        expected_start += rec["rows"]
    if expected_start != rows_in:
        raise HandlevalError(f"internal error: {expected_start} rows written for {rows_in} read")
    summary = BatchSummary(
        input_path=str(inp), output_path=str(out.resolve()), output_format=fmt, engine=engine,
        rows_in=rows_in, rows_out=expected_start, rows_scored=scored, parts=len(parts),
        parts_reused=len(reuse & set(parts)), errors=sum(p["errors"] for p in parts.values()),
        seconds=round(time.perf_counter() - started, 3),
        warnings=collected + [w for w in source.warnings if w not in collected],
        already_complete=was_complete and scored == 0,
    )
    if layout["engine"] == "dask":
        summary.setup_seconds = round(timings.get("setup", 0.0), 3)
        summary.dask_timings = {k: round(v, 3) for k, v in timings.items()}
    for message in source.warnings:
        if message not in collected:
            warnings.warn(message, HandlevalWarning, stacklevel=2)
    manifest.data["complete"] = True
    manifest.data["rows"] = rows_in
    manifest.save()
    if not summary.already_complete or not (out / SUCCESS).is_file():  # keep the finished run's own summary
        hio.atomic_write(out / SUCCESS, json.dumps(summary.to_dict(), indent=1).encode())
    return summary


def _run_local(source: hio.InputSource, scorer: ScoreChunk, manifest: Manifest, reuse: set[int], fmt: str,
               chunk_rows: int, show: bool, output_columns: Sequence[str] | None, prefix: str) -> tuple[int, int]:
    done = manifest.parts
    rows_in = 0
    scored = 0
    with _Progress(show, source.progress_total, "rows", "scoring") as bar:
        for chunk in source.chunks(chunk_rows):
            rows_in = chunk.row_stop
            if chunk.index in reuse:
                rec = done[chunk.index]
                if rec["rows"] != len(chunk.frame) or rec["row_start"] != chunk.row_start:
                    raise HandlevalError(f"cannot resume: part {chunk.index} covered rows {rec['row_start']}+"
                                         f"{rec['rows']}, the input now gives {chunk.row_start}+{len(chunk.frame)}")
                bar.update(len(chunk.frame))
                continue
            started = part_clock()
            frame = score_rows(chunk.frame, scorer, chunk.input_errors, output_columns, prefix)
            manifest.add(write_part(frame, manifest.directory, chunk.index, fmt, started, prefix + ERROR,
                                    chunk.table if output_columns is not None else None,
                                    row_start=chunk.row_start, row_stop=chunk.row_stop))
            scored += len(chunk.frame)
            bar.update(len(chunk.frame))
    return rows_in, scored


# ---------------------------------------------------------------------------------------------- dask
#: Thread pools of the scoring libraries (OpenMP in LightGBM, BLAS in numpy, Arrow's CPU pool reads
#: OMP_NUM_THREADS too) pinned to one thread per worker process: a worker is one core, so n workers use n cores
#: instead of oversubscribing them (and a 1-worker run does not borrow a second core).
_WORKER_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               "NUMEXPR_NUM_THREADS": "1", "VECLIB_MAXIMUM_THREADS": "1"}

#: Dask settings for the ``LocalCluster`` handleval starts (not for an existing cluster at ``--scheduler``). A worker
#: here is one core and nobody watches a dashboard, so the worker's own bookkeeping is turned down: the
#: statistical profiler (samples the task thread every 10 ms), the event-loop health tick (every 20 ms) and the
#: system monitor (every 0.5 s) took 4-5% of each worker's CPU on 2 workers, CPU the second worker then lacks
#: (``benchmarks/RESULTS.md``, round 7).
_LOCAL_CLUSTER_CONFIG = {"distributed.worker.profile.enabled": False, "distributed.admin.tick.interval": "200ms",
                         "distributed.admin.system-monitor.interval": "2s"}


def _dask_warm(factory: ScorerFactory, key: str, facts: Mapping[str, Any]) -> dict[str, Any]:
    """Runs once on each Dask worker before any part: import the engine and build the worker's cached scorer,
    so that this cost is paid (and timed) once per worker, not inside the first part."""
    import pyarrow as pa

    started = time.perf_counter()
    if os.environ.get("OMP_NUM_THREADS") == "1" and pa.cpu_count() != 1:
        pa.set_cpu_count(1)
    try:
        scorer = cached_scorer(factory, key)
    except HandlevalError as exc:  # "data directory not found" read as this machine's problem, not a worker's
        raise HandlevalError(f"on {_this_worker()}: {exc}") from exc
    _same_scoring(scorer, facts)
    return {"pid": os.getpid(), "seconds": time.perf_counter() - started, "arrow_threads": pa.cpu_count()}


def _dask_part(task: hio.RowGroupTask, schema: Any, factory: ScorerFactory, key: str, out: str,
               fmt: str, output_columns: Sequence[str] | None = None, prefix: str = "",
               facts: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Runs on a Dask worker: read one row group, score it with the worker's cached scorer, write its part
    (atomic rename in the output directory). Only the small manifest record goes back to the client, which is
    the manifest's single writer (so a part counts only once it is recorded, as with the local engine)."""
    started = part_clock()
    scorer = _same_scoring(cached_scorer(factory, key), facts or {})  # a worker that joined after the warm-up too
    read = hio.read_row_group(task, schema)
    scored = score_rows(hio.table_to_frame(read), scorer, None, output_columns, prefix)
    return write_part(scored, Path(out), task.index, fmt, started, prefix + ERROR,
                      read if output_columns is not None else None, row_start=task.row_start,
                      row_stop=task.row_start + task.num_rows, source={"file": task.file, "row_group": task.row_group})


def _same_scoring(scorer: ScoreChunk, facts: Mapping[str, Any]) -> ScoreChunk:
    """``scorer``, when what it rests on (its ``facts``: the bundle's digest, the sales') is the run's; otherwise a
    clear error: a worker with another model or data directory would mix two scorings in one output."""
    own = getattr(scorer, "facts", None) or {}
    differ = [k for k in own if k in facts and own[k] != facts[k]]
    if differ:
        found = ", ".join(f"{k} {str(own[k])[:12]}… against {str(facts[k])[:12]}…" for k in differ)
        raise HandlevalError(f"{_this_worker()} scores with another "
                             f"{' and '.join(differ)} than this run ({found}): every worker must read the same model "
                             "bundle and data (HANDLEVAL_MODELS, HANDLEVAL_DATA); fix that worker, then --resume")
    return scorer


def _this_worker() -> str:
    """How an error raised on a Dask worker names it: ``the Dask worker HOST (pid N)``."""
    import socket

    return f"the Dask worker {socket.gethostname()} (pid {os.getpid()})"


def _result(future: Any) -> Any:
    """A Dask task's result; a worker that died (or a task the scheduler forgot with it) is one clear error."""
    from concurrent.futures import CancelledError

    from dask.distributed import KilledWorker

    try:
        return future.result()
    except (KilledWorker, CancelledError) as exc:
        raise HandlevalError(f"a Dask worker was lost while scoring ({type(exc).__name__}: {str(exc)[:160]}); the "
                             "finished parts are kept: run again with --resume") from exc


#: How long a run waits for a first worker on a scheduler it was given.
DASK_WORKER_WAIT_S = 30


def _run_dask(source: hio.InputSource, factory: ScorerFactory, manifest: Manifest, reuse: set[int], fmt: str,
              show: bool, scheduler: str | None, n_workers: int | None, output_columns: Sequence[str] | None = None,
              prefix: str = "") -> tuple[int, int, dict[str, float]]:
    from dask.distributed import Client, LocalCluster, as_completed, wait

    todo = [t for t in source.tasks if t.index not in reuse]
    rows_in = source.total_rows or 0
    if not todo:
        return rows_in, 0, {}
    timings: dict[str, float] = {}
    started = time.perf_counter()
    key = factory_key(factory)
    stack = contextlib.ExitStack()
    with stack:
        if scheduler:
            try:
                client = stack.enter_context(Client(scheduler, timeout="30s"))
            except (OSError, ValueError) as exc:  # ValueError: not an address (no port, an http:// scheme)
                raise HandlevalError(f"cannot reach the Dask scheduler at {scheduler}: {exc} (an address is "
                                     "tcp://host:8786)") from exc
        else:
            import dask

            # the nannies hand this config to their workers; the workers start with Ctrl-C ignored (a terminal sends
            # it to the whole process group, and each worker would print a KeyboardInterrupt traceback): this
            # process gets it and closes the cluster. Their logs are silenced below CRITICAL: a part's error reaches
            # this process through its future, and a worker closing after the scheduler on Ctrl-C logged a
            # heartbeat ERROR with a traceback
            with dask.config.set(_LOCAL_CLUSTER_CONFIG), signal_handled(signal.SIGINT, signal.SIG_IGN):
                cluster = stack.enter_context(LocalCluster(
                    n_workers=n_workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                    dashboard_address=None, silence_logs=logging.CRITICAL, env=_WORKER_ENV))
            client = stack.enter_context(Client(cluster))
        if scheduler:  # a cluster of this machine starts with its workers
            try:
                client.wait_for_workers(1, timeout=DASK_WORKER_WAIT_S)
            except TimeoutError as exc:  # an OSError: it read as "cannot write the output"
                raise HandlevalError(f"the Dask scheduler at {scheduler} has no worker to run on (none joined in "
                                     f"{DASK_WORKER_WAIT_S} s): start workers (`dask worker {scheduler}`), then "
                                     "--resume") from exc
        factory_future = client.scatter(factory, broadcast=True, hash=False)
        timings["setup"] = time.perf_counter() - started

        # One warm-up task pinned to each worker (a task, not client.run: building a scorer can take seconds and
        # must not block a worker's event loop). Workers that join later build their scorer in their first part.
        mark = time.perf_counter()
        workers = list(client.scheduler_info().get("workers", {}))
        facts = {k: v for k, v in (manifest.data.get("scoring") or {}).items() if k != "scorer"}
        warm = [client.submit(_dask_warm, factory_future, key, facts, workers=[w], allow_other_workers=False,
                              pure=False,
                              key=f"handleval-warm-{i}-{key[-12:]}-{os.getpid()}-{time.time_ns()}")
                for i, w in enumerate(workers)]
        wait(warm)
        for future in warm:
            _result(future)  # a factory that fails raises here, once, before any part is scored
        timings["warmup"] = time.perf_counter() - mark

        mark = time.perf_counter()
        # absolute paths: a worker resolves a relative one from its own working directory, not this process's
        directory = manifest.directory.absolute()
        futures = [
            client.submit(_dask_part, dataclasses.replace(t, file=str(Path(t.file).absolute())), source.schema,
                          factory_future, key, str(directory), fmt,
                          None if output_columns is None else list(output_columns), prefix, facts,
                          key=f"handleval-part-{t.index}-{key[-12:]}-{os.getpid()}-{time.time_ns()}", pure=False,
                          priority=-t.index)
            for t in todo
        ]
        scored = 0
        reused_rows = sum(t.num_rows for t in source.tasks if t.index in reuse)
        with _Progress(show, sum(t.num_rows for t in source.tasks), "rows", "scoring (dask)") as bar:
            bar.update(0, reused_rows)
            for future in as_completed(futures):
                rec = _result(future)
                if not (directory / rec["file"]).is_file():  # a worker on another machine, no shared filesystem
                    raise HandlevalError(f"a Dask worker wrote {rec['file']} where this process cannot see it "
                                         f"({directory}): the input and the output must be the same path on every "
                                         "worker (a shared filesystem)")
                manifest.add(rec)
                scored += rec["rows"]
                bar.update(rec["rows"], reused_rows + scored)
        timings["scoring"] = time.perf_counter() - mark
        mark = time.perf_counter()
    timings["teardown"] = time.perf_counter() - mark
    return rows_in, scored, timings


# ============================================================================================ reading output
def read_output(path: str | os.PathLike[str], *, allow_incomplete: bool = False, verify: bool = False
                ) -> pd.DataFrame:
    """The scored rows of an output directory, parts concatenated in order (a lone Parquet/CSV file also works).

    Raises :class:`HandlevalError` if the run did not finish (``allow_incomplete`` reads the finished parts) or,
    with ``verify``, if a part's sha256 does not match the manifest. CSV parts come back as text columns, with
    the formula-neutralising ``'`` still in place.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    p = Path(path)
    if p.is_file():
        table = hio.read_csv_part(p) if p.suffix.lower() in hio.CSV_SUFFIXES else pq.read_table(p)
        return table.to_pandas()
    manifest = Manifest.load(p)
    if manifest is None:
        raise HandlevalError(f"{p} is not a handleval output directory (no {MANIFEST})")
    if not (manifest.data.get("complete") and (p / SUCCESS).exists()) and not allow_incomplete:
        raise HandlevalError(f"{p} is incomplete ({len(manifest.parts)} parts finished); rerun with --resume")
    tables = []
    for _, rec in sorted(manifest.parts.items()):
        file = p / rec["file"]
        if verify and sha256_file(file) != rec["sha256"]:
            raise HandlevalError(f"{file} does not match its sha256 in {MANIFEST}")
        tables.append(hio.read_csv_part(file) if file.suffix in hio.CSV_SUFFIXES else pq.read_table(file))
    if not tables:
        return pd.DataFrame()
    table = pa.concat_tables(tables, promote_options="permissive")
    return table.to_pandas()


def refuse_output_over_input(input_path: str | os.PathLike[str], output_path: str | os.PathLike[str]) -> None:
    """The output must not be the input (through a link too), inside an input directory, nor hold the input: an
    overwrite would replace what is being read."""
    inp, out = Path(input_path), Path(output_path)
    linked = out.exists() and inp.exists() and os.path.samefile(out, inp)
    if linked or out.resolve().is_relative_to(inp.resolve()) or inp.resolve().is_relative_to(out.resolve()):
        raise HandlevalError(f"the output {out} must not be the input {inp}, a link to it or inside it (nor the "
                             "other way round): choose another output name; the input is never overwritten")


def check_resume_or_overwrite(resume: bool, overwrite: bool) -> None:
    """``resume`` finishes an interrupted run, ``overwrite`` starts again: both at once is refused."""
    if resume and overwrite:
        raise HandlevalError("--resume and --overwrite exclude each other: --resume finishes an interrupted run, "
                             "--overwrite starts again; give one")


def check_output_folder(out: Path) -> None:
    """One sentence when the folder a one-file output goes in is missing or is a file."""
    if not out.parent.is_dir():
        raise HandlevalError(f"cannot write {out}: " + (f"{out.parent} is a file, not a folder" if out.parent.exists()
                                                       else f"its folder {out.parent} does not exist"))


def run_batch_to_file(input_path: str | os.PathLike[str], output_path: str | os.PathLike[str], *,
                      resume: bool = False, overwrite: bool = False, output_format: str = "csv",
                      required_columns: Sequence[str] = ("handle",), scorer_factory: ScorerFactory | None = None,
                      scoring: Mapping[str, Any] | None = None, output_columns: Sequence[str] | None = None,
                      prefix: str = "", **options: Any) -> BatchSummary | None:
    """:func:`run_batch` into one file (``output_format`` ``csv``, ``tsv`` or ``parquet``): the parts wait in a hidden
    directory beside it (``.NAME.parts``, what ``resume`` finishes) and are joined into the file at the end, with a
    hidden record ``.NAME.run.json`` of what the file was made from (input fingerprint, scoring, column names, the
    file's sha256). The record is locked for the whole run, joining included, so a second run on the same file
    stops at once. Returns None when ``resume`` finds the file already made from this input and these options;
    :class:`HandlevalError` when it was made otherwise (or with no record)."""
    out = Path(output_path)
    check_resume_or_overwrite(resume, overwrite)
    refuse_output_over_input(input_path, out)
    check_output_folder(out)  # not the name of the hidden record beside it, which is what failed first
    if out.is_dir():
        raise HandlevalError(f"{out} is a directory, but a name ending {out.suffix} means one file: choose another "
                             "name (a name without .csv/.tsv/.parquet gives a directory of parts)")
    parts, record = one_file_companions(out)
    if parts.is_symlink():  # ours to write into and remove: never a folder a link points to
        raise HandlevalError(f"{parts} is a symbolic link, not the parts folder handleval makes: remove it (its "
                             "target is left as it is)")
    had_record = record.exists()
    try:
        fd = lock_path(record, str(out), create=True)
    except OSError as exc:  # the first write there, of a hidden file the user never named
        raise HandlevalError(f"cannot write {out}: {exc.strerror or exc}") from exc
    try:
        if out.exists() and not parts.exists():
            if not resume and not overwrite:
                raise OutputExistsError(f"output {out} already exists; use --overwrite to replace it (--resume "
                                        "finishes only an interrupted run)")
            if resume:
                try:
                    made_from = json.loads(os.pread(fd, 1 << 20, 0) or b"{}")
                except ValueError:
                    made_from = {}
                now = {"input": hio.open_input(input_path, required_columns).fingerprint(),
                       "scoring": scoring_identity(scorer_factory, scoring), "sha256": sha256_file(out),
                       "naming": output_naming(prefix, output_columns)}
                if made_from != json.loads(json.dumps(now)):
                    raise HandlevalError(f"cannot resume into {out}: it is a finished file, but not of this input "
                                         "with this model and these options (or handleval has no record of how it "
                                         "was made); use --overwrite to score it again")
                return None
        summary = run_batch(input_path, parts, resume=resume, overwrite=overwrite, output_format=output_format,
                            required_columns=required_columns, scorer_factory=scorer_factory, scoring=scoring,
                            output_columns=output_columns, prefix=prefix, **options)
        run = json.loads((parts / MANIFEST).read_text(encoding="utf-8"))
        os.ftruncate(fd, 0)  # the old record does not describe what is about to replace the file
        for stale in out.parent.glob(f".{glob.escape(out.name)}.tmp-*"):  # a join killed before (we hold the lock)
            stale.unlink(missing_ok=True)
        try:
            join_output(parts, out)
        except OSError as exc:  # a full disk: it said only ": No space left on device"
            raise _output_error(exc, out) from exc
        made_from = {"input": run["input"], "scoring": run["scoring"], "sha256": sha256_file(out),
                     "naming": run["naming"]}
        os.pwrite(fd, json.dumps(made_from, indent=1).encode("utf-8"), 0)
        os.fsync(fd)
        shutil.rmtree(parts)
        return summary
    finally:
        if os.fstat(fd).st_size == 0 and not parts.exists() and (not out.exists() or not had_record):
            record.unlink(missing_ok=True)  # a run that made nothing (or was refused) leaves no empty record
        os.close(fd)


def join_output(directory: str | os.PathLike[str], path: str | os.PathLike[str]) -> int:
    """Write the parts of the finished output ``directory`` as the one file ``path`` (CSV, TSV or Parquet, as the
    parts), streamed a part at a time and renamed into place at the end (a kill leaves no half file). Returns the
    rows written. What ``-o name.csv`` of predict and flag ends with."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    d, target = Path(directory), Path(path)
    manifest = Manifest.load(d)
    if manifest is None or not manifest.data.get("complete"):
        raise HandlevalError(f"{d} is not a finished handleval output")
    files = [d / rec["file"] for _, rec in sorted(manifest.parts.items())]
    rows = sum(rec["rows"] for rec in manifest.parts.values())
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    try:
        made = hio.new_temp_file(tmp)
        if manifest.data.get("output_format") in ("csv", "tsv"):
            with open(made, "wb") as fh:
                header = b""
                for i, file in enumerate(files):
                    data = file.read_bytes()
                    if i == 0:
                        header = _csv_header(data)
                    elif not data.startswith(header):
                        raise HandlevalError(f"{file} does not have the columns of the first part")
                    fh.write(data if i == 0 else data[len(header):])
                fh.flush()
                os.fsync(fh.fileno())
        else:
            schema = pa.unify_schemas([pq.read_schema(f) for f in files], promote_options="permissive") \
                if files else pa.schema([])
            with open(made, "wb") as fh, pq.ParquetWriter(fh, schema, compression="zstd") as writer:
                for file in files:
                    writer.write_table(pq.read_table(file).cast(schema))
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return rows


def _csv_header(data: bytes) -> bytes:
    """The header line of a CSV part, its newline included (a quoted column name may hold a newline)."""
    end = -1
    while True:
        end = data.find(b"\n", end + 1)
        if end < 0:
            return data
        if data[:end].count(b'"') % 2 == 0:
            return data[:end + 1]


# ============================================================================================ command line
def main(argv: Sequence[str] | None = None) -> int:
    """``python -m handleval.batch IN OUT --scorer module:function``: the engine with any importable scorer.

    The product commands (``handleval predict``/``flag``) wrap :func:`run_batch`; this entry point exists for
    operators (e.g. scoring with a custom scorer on a cluster) and for the kill-and-resume test.
    """
    parser = argparse.ArgumentParser(prog="python -m handleval.batch", description=main.__doc__)
    parser.add_argument("input")
    parser.add_argument("output")
    parser.add_argument("--scorer", required=True,
                        help="factory 'module:function' returning score_chunk(frame) -> frame")
    parser.add_argument("--scorer-kwargs", default="{}", help="JSON object passed to the factory")
    parser.add_argument("--require", action="append", default=None, help="required input column (repeatable)")
    parser.add_argument("--chunk-rows", type=int, default=None,
                        help=f"rows per part (default {DEFAULT_CHUNK_ROWS:,}, or the interrupted run's with --resume)")
    parser.add_argument("--format", choices=PART_FORMATS, default=None)
    parser.add_argument("--engine", choices=["local", "dask"], default="local")
    parser.add_argument("--scheduler", default=None)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--overwrite", action="store_true")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    # handleval's warnings (the input's, the run's, a scorer's own at load: "the sales … have changed since") are
    # printed once each, plainly, after the run
    with warnings.catch_warnings(record=True) as caught, sigterm_as_interrupt():
        warnings.simplefilter("always", HandlevalWarning)
        try:
            kwargs = json.loads(args.scorer_kwargs)
            module, _, func = args.scorer.partition(":")
            summary = run_batch(
                args.input, args.output, None, scorer_factory=(module, func, kwargs),
                required_columns=tuple(args.require or ("handle",)), chunk_rows=args.chunk_rows,
                output_format=args.format, resume=args.resume, overwrite=args.overwrite, quiet=args.quiet,
                engine=args.engine, scheduler=args.scheduler, n_workers=args.workers,
            )
        except HandlevalError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        except json.JSONDecodeError as exc:
            print(f"error: --scorer-kwargs is not JSON: {exc}", file=sys.stderr)
            return 2
        except KeyboardInterrupt as exc:  # Ctrl-C or SIGTERM: the finished parts are kept
            stopped, code = how_stopped(exc)
            print(f"\n{stopped}{RESUME_HINT}", file=sys.stderr)
            return code
    raised = [str(w.message) for w in caught if issubclass(w.category, HandlevalWarning)]
    for message in dict.fromkeys([*summary.warnings, *raised]):
        print(f"warning: {message}", file=sys.stderr)
    if not args.quiet:
        print(json.dumps(summary.to_dict()))
    return 0


if __name__ == "__main__":
    # run the importable module's main, not this __main__ copy: Dask pickles the task functions by reference to
    # their module, and functions of __main__ would be pickled by value with their globals (a lock among them)
    from handleval.batch import main as module_main

    sys.exit(module_main())
