"""Read batch inputs in bounded chunks and write output parts atomically.

Why this module exists: ``handleval predict`` and ``handleval flag`` must handle files far larger than memory
and files that are broken in every way a spreadsheet export can be. Everything here streams: a reader holds at
most one chunk (plus one CSV block or one Parquet row group) at a time, whatever the size of the file.

Inputs (chosen from the path):

* ``.csv`` / ``.tsv`` - pyarrow's streaming CSV reader, **every column read as text** (so ``007`` stays ``007``
  and ``null`` stays the handle ``null``). If pyarrow refuses the file part-way (a ragged row, bytes that are not
  UTF-8, a cell larger than a block) the reader falls back to Python's ``csv`` module from that row on: a ragged
  row is kept (padded or cut to the header's width) and carries an ``error``; a cell that is not valid UTF-8 is
  decoded as Windows-1252 (Excel's CSV on Windows: Latin-1 with € ’ “ ”) and a warning says so. Blank lines are
  not rows (as in every CSV reader), except in a CSV of one column, where a blank line is an empty cell (a
  spreadsheet exports one so): a row, which the scorer rejects with a reason.
* ``.parquet`` / ``.pq`` - a Parquet file, read row group by row group; column types are kept.
* a directory - every ``*.parquet`` file below it (names starting with ``_`` or ``.`` are skipped, as Spark and
  pyarrow do), in natural path order (``part-2`` before ``part-10``); ``key=value`` directories (Hive
  partitioning) become text columns where the files have no column of that name. Schemas are unified; a column
  missing from one file is null there.
* ``.ndjson`` / ``.jsonl``, and ``.json`` whose first line is a whole object - one JSON object per line (e.g.
  Twitter v1.1 or X API v2 user objects; a line ``{"data": {...}}`` is unwrapped, a response page
  ``{"data": [...], "meta": ...}`` gives a row per user and one per user in its ``errors`` (suspended, not found:
  the name and the API's words as the row's error), and a line that is an array of objects, a v1.1 users/lookup
  response, a row per object). A JSON document over several lines is refused.
  Nested objects become dotted columns (``public_metrics.followers_count``), every value is read as text (lists
  as JSON). The columns are the union over the file (one streaming pass at
  open); a line that is not a JSON object is kept as a row with an ``error``. Blank lines are not rows.
* ``.txt``, any other suffix, or a pipe - read as their first bytes say: Parquet, JSON lines, CSV or TSV whose
  first line names the required columns (``handle`` alone on it is a header), else one handle per line, no
  header, column ``handle``. A blank line is a row (an empty handle, which the scorer rejects with a
  reason); the newline at the end of the file is not.

A 0-byte file is an empty input (no rows, the required columns) rather than an error. A file that is plainly
not text (a picture, an archive, random bytes) raises :class:`DataFormatError` with one sentence.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import functools
import hashlib
import io
import json
import logging
import os
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from stat import S_ISCHR, S_ISFIFO, S_ISSOCK
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from handleval._dates import OBSERVED_AT_NAMES
from handleval.errors import DataFormatError, case_hint, check_unique_columns

_log = logging.getLogger(__name__)

CSV_SUFFIXES = {".csv": ",", ".tsv": "\t"}
NDJSON_SUFFIXES = (".ndjson", ".jsonl")
PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")
#: Suffixes that say a file's format; any other (``.txt``, none, a pipe's) is read as its first bytes say.
_KNOWN_SUFFIXES = (*PARQUET_SUFFIXES, *CSV_SUFFIXES, *NDJSON_SUFFIXES, ".json")
#: The one-file outputs by suffix; a name ending in another table suffix is refused, any other name is a directory.
OUTPUT_FILE_FORMATS = {".csv": "csv", ".tsv": "tsv", **dict.fromkeys(PARQUET_SUFFIXES, "parquet")}
_NOT_WRITTEN = (*NDJSON_SUFFIXES, ".json", ".txt", ".xlsx", ".xls", ".feather", ".arrow", ".gz", ".zip")
_BLOCK = 16 << 20  # pyarrow CSV block: a row (and so a cell) must fit in one block, else we fall back
_SNIFF = 64 << 10

# Magic numbers of common binary formats that people rename to .csv by mistake.
_MAGIC = {
    b"\x89PNG": "a PNG image", b"\xff\xd8\xff": "a JPEG image", b"GIF8": "a GIF image", b"%PDF": "a PDF",
    b"PK\x03\x04": "a ZIP archive (or an Excel .xlsx workbook)", b"\x1f\x8b": "a gzip archive",
    b"\x7fELF": "an executable", b"MZ": "a Windows executable", b"PAR1": "a Parquet file",
    b"SQLite format 3": "an SQLite database", b"\xd0\xcf\x11\xe0": "an old Excel/Office document",
    b"7z\xbc\xaf": "a 7-Zip archive", b"\xfd7zXZ": "an xz archive", b"BZh": "a bzip2 archive",
    b"\x28\xb5\x2f\xfd": "a zstd archive",
}


@dataclass
class Chunk:
    """``chunk_rows`` consecutive input rows: ``frame`` holds them as read, ``input_errors`` (when not None) a
    reason per row that the row could not be read cleanly (such rows are not sent to the scorer)."""

    index: int
    row_start: int
    frame: pd.DataFrame
    input_errors: list[str | None] | None = None
    #: the same rows as read, before pandas: what a Parquet output writes back as the input's own columns
    table: pa.Table | None = None

    @property
    def row_stop(self) -> int:
        return self.row_start + len(self.frame)


@dataclass(frozen=True)
class RowGroupTask:
    """One Parquet row group: the unit of work of the Dask engine (one output part each)."""

    index: int
    file: str
    row_group: int
    row_start: int
    num_rows: int
    partition: tuple[tuple[str, str], ...] = ()


def _count_lines(path: Path) -> tuple[bytes, int]:
    """The sha256 of a file's bytes and its lines (ended by LF, CRLF or an old Mac's lone CR; a last line without
    its end counts), in one read."""
    digest, lines, last = hashlib.sha256(), 0, b""
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
            lines += max(block.count(b"\n"), block.count(b"\r"))
            last = block[-1:]
    return digest.digest(), lines + (last not in (b"", b"\n", b"\r"))


@dataclass
class InputSource:
    """An opened input: its kind, its columns, and a chunk iterator. ``warnings`` fills while reading."""

    path: Path
    kind: str  # "csv" | "parquet" | "ndjson" | "text" | "empty"
    columns: list[str]
    total_rows: int | None
    size_bytes: int
    delimiter: str = ","
    encoding: str = "utf-8"
    schema: pa.Schema | None = None
    tasks: list[RowGroupTask] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: the path the user gave when ``path`` is a spooled copy of a pipe
    origin: str | None = None
    #: ``"\r"`` when a text file's lines end in a lone carriage return (old Mac files)
    newline: str = "\n"
    _lines: int | None = None

    @property
    def shown(self) -> str:
        """The input as its messages name it: as the user gave it (``/dev/stdin``), not a pipe's spooled copy."""
        return self.origin or str(self.path)

    # ------------------------------------------------------------------ progress
    @property
    def progress_total(self) -> int | None:
        """Rows to score: Parquet's own count, else the file's lines (less a CSV's header; a quoted line break makes
        two lines of one row); None for NDJSON, whose line may be a page of many users. Readers read megabytes
        ahead, so the bytes they read said 100% after the first chunk of a 20 MB file."""
        if self.kind in ("parquet", "empty"):
            return self.total_rows
        if self.kind == "ndjson":
            return None
        if self._lines is None:
            self._lines = sum(_count_lines(f)[1] for f in self._files())
        return max(self._lines - (self.kind == "csv"), 0)

    # ------------------------------------------------------------------ identity
    def fingerprint(self) -> dict[str, Any]:
        """Enough to tell whether a resumed run reads the same input: the sha256 of every byte of every input file
        (a change anywhere refuses the resume; about 1 s per GB). Not the mtime: copying a file must not block a
        resume."""
        files = self._files()
        digest = hashlib.sha256()
        lines = 0
        for f in files:
            if self.kind == "empty" and not f.is_file():
                continue
            size = f.stat().st_size
            digest.update(f"{f.relative_to(self.path) if self.path.is_dir() else ''}:{size}:".encode())
            file_digest, file_lines = _count_lines(f)  # one read: the progress bar's total too
            digest.update(file_digest)
            lines += file_lines
        self._lines = lines
        return {"path": str(self.origin or self.path.resolve()), "kind": self.kind, "size": self.size_bytes,
                "files": len(files), "sha256": digest.hexdigest()}

    def _files(self) -> list[Path]:
        return [Path(t) for t in sorted({t.file for t in self.tasks})] if self.path.is_dir() else [self.path]

    # ------------------------------------------------------------------ reading
    def chunks(self, chunk_rows: int) -> Iterator[Chunk]:
        """Consecutive chunks of exactly ``chunk_rows`` rows (the last may be shorter). An input with no rows
        yields one empty chunk so that the output still gets its columns."""
        if chunk_rows < 1:
            raise ValueError("chunk_rows must be at least 1")
        if self.kind == "csv":
            tables = self._csv_tables(chunk_rows)
        elif self.kind == "parquet":
            tables = _rebatch(self._parquet_batches(chunk_rows), chunk_rows)
        elif self.kind == "text":
            tables = self._text_tables(chunk_rows)
        elif self.kind == "ndjson":
            tables = self._ndjson_tables(chunk_rows)
        else:
            tables = iter(())
        start = 0
        index = 0
        for table, errors in tables:
            yield Chunk(index, start, table_to_frame(table), errors, table)
            start += table.num_rows
            index += 1
        if index == 0:
            empty = pa.table({c: pa.array([], self._type_of(c)) for c in self.columns})
            yield Chunk(0, 0, table_to_frame(empty), None, empty)

    def _type_of(self, column: str) -> pa.DataType:
        if self.schema is not None and column in self.schema.names:
            return self.schema.field(column).type
        return pa.string()

    # Parquet -------------------------------------------------------------------------------------------
    def _parquet_batches(self, chunk_rows: int) -> Iterator[pa.Table]:
        assert self.schema is not None
        by_file: dict[str, list[RowGroupTask]] = {}
        for task in self.tasks:
            by_file.setdefault(task.file, []).append(task)
        for file, tasks in by_file.items():
            pf = _open_parquet(Path(file))
            for task in tasks:
                batches = pf.iter_batches(batch_size=chunk_rows, row_groups=[task.row_group])
                while True:
                    with _damaged_row_group(task):
                        batch = next(batches, None)
                    if batch is None:
                        break
                    yield conform(pa.Table.from_batches([batch]), self.schema, dict(task.partition))

    # Text ----------------------------------------------------------------------------------------------
    def _text_tables(self, chunk_rows: int) -> Iterator[tuple[pa.Table, None]]:
        if self.encoding != "utf-8" or self.newline == "\r":
            yield from self._decoded_text_tables(chunk_rows)
            return
        latin1 = 0
        first_bad = 0
        rows: list[str] = []
        line_no = 0
        with open(self.path, "rb", buffering=0) as raw:
            pending = b""
            first = True
            while True:
                block = raw.read(8 << 20)
                if first:
                    block = block.removeprefix(codecs.BOM_UTF8)
                    first = False
                if not block:
                    break
                data = pending + block
                cut = data.rfind(b"\n")
                if cut < 0:
                    pending = data
                    continue
                pending = data[cut + 1:]
                complete = data[:cut]
                try:
                    lines = complete.decode("utf-8").split("\n")
                except UnicodeDecodeError:
                    lines = []
                    for n, piece in enumerate(complete.split(b"\n")):
                        try:
                            lines.append(piece.decode("utf-8"))
                        except UnicodeDecodeError:
                            lines.append(legacy_text(piece))
                            latin1 += 1
                            first_bad = first_bad or line_no + n + 1
                line_no += len(lines)
                for line in lines:
                    rows.append(line[:-1] if line.endswith("\r") else line)
                    if len(rows) == chunk_rows:
                        yield pa.table({"handle": pa.array(rows, pa.string())}), None
                        rows = []
            if pending:
                line_no += 1
                try:
                    line = pending.decode("utf-8")
                except UnicodeDecodeError:
                    line = legacy_text(pending)
                    latin1 += 1
                    first_bad = first_bad or line_no
                rows.append(line[:-1] if line.endswith("\r") else line)
        if rows:
            yield pa.table({"handle": pa.array(rows, pa.string())}), None
        if latin1:
            self.warnings.append(f"{self.shown}: {latin1:,} line(s) were not valid UTF-8 and were decoded as "
                                 f"Windows-1252 (first at line {first_bad}); check the results for those rows")

    def _decoded_text_tables(self, chunk_rows: int) -> Iterator[tuple[pa.Table, None]]:
        """One handle per line for UTF-16 files and files whose lines end in a lone CR: Python's decoder with
        universal newlines (``\r``, ``\r\n`` and ``\n`` all end a line); slower than the UTF-8 path, and rare."""
        rows: list[str] = []
        bad = 0
        with open(self.path, "rb", buffering=0) as raw:
            text = io.TextIOWrapper(io.BufferedReader(raw, 1 << 20), encoding=self.encoding, errors="replace",
                                    newline=None)
            for n, line in enumerate(text):
                if n == 0:
                    line = line.removeprefix("\ufeff")
                bad += "\ufffd" in line
                rows.append(line[:-1] if line.endswith("\n") else line)
                if len(rows) == chunk_rows:
                    yield pa.table({"handle": pa.array(rows, pa.string())}), None
                    rows = []
        if rows:
            yield pa.table({"handle": pa.array(rows, pa.string())}), None
        if bad:
            self.warnings.append(f"{self.shown}: {bad:,} line(s) hold characters that are not valid {self.encoding} "
                                 "(shown as \ufffd); check the results for those rows")

    # NDJSON --------------------------------------------------------------------------------------------
    def _ndjson_tables(self, chunk_rows: int) -> Iterator[tuple[pa.Table, list[str | None] | None]]:
        rows: list[dict[str, str | None]] = []
        errors: list[str | None] = []

        def table() -> tuple[pa.Table, list[str | None] | None]:
            cols = [[r.get(c) for r in rows] for c in self.columns]
            return _text_table(self.columns, cols), (list(errors) if any(errors) else None)

        latin1: list[int] = []
        with open(self.path, "rb", buffering=0) as raw:
            for record, error in _ndjson_records(io.BufferedReader(raw, 1 << 20), latin1):
                rows.append(record)
                errors.append(error)
                if len(rows) == chunk_rows:
                    yield table()
                    rows, errors = [], []
        if rows:
            yield table()
        if latin1:
            self.warnings.append(f"{self.shown}: {len(latin1):,} line(s) were not valid UTF-8 and were decoded as "
                                 f"Windows-1252 (first at line {latin1[0]}); check the results for those rows")

    # CSV -----------------------------------------------------------------------------------------------
    def _csv_tables(self, chunk_rows: int) -> Iterator[tuple[pa.Table, list[str | None] | None]]:
        emitted = 0
        last_row: list[str | None] | None = None
        if self.encoding == "utf-8":
            try:
                for table, _ in _rebatch(self._arrow_csv_batches(chunk_rows), chunk_rows):
                    yield table, None
                    emitted += table.num_rows
                    last_row = [table.column(i)[-1].as_py() for i in range(table.num_columns)]
                return
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, UnicodeDecodeError) as exc:
                # Not a user-facing warning: the tolerant reader reports what it repaired (ragged rows, Windows-1252).
                _log.debug("%s: fast CSV reader stopped after %d rows (%s)", self.path, emitted, exc)
        yield from self._python_csv_tables(chunk_rows, emitted, last_row)

    def _arrow_csv_batches(self, chunk_rows: int) -> Iterator[pa.Table]:
        raw = open(self.path, "rb", buffering=0)  # noqa: SIM115 - closed in finally; the reader streams it
        try:
            one_column = len(self.columns) == 1  # its blank line is an empty cell (a spreadsheet's export)
            reader = pacsv.open_csv(
                raw,
                read_options=pacsv.ReadOptions(block_size=_BLOCK, use_threads=True,
                                               skip_rows=self._blank_before_header if one_column else 0),
                parse_options=pacsv.ParseOptions(delimiter=self.delimiter, newlines_in_values=True,
                                                 ignore_empty_lines=not one_column),
                convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in self._raw_names},
                                                     strings_can_be_null=False, quoted_strings_can_be_null=False),
            )
            for batch in reader:
                yield pa.Table.from_batches([batch]).rename_columns(self.columns)
        finally:
            raw.close()

    def _python_csv_tables(self, chunk_rows: int, skip: int, last_row: list[str | None] | None
                           ) -> Iterator[tuple[pa.Table, list[str | None] | None]]:
        width = len(self.columns)
        latin1 = 0
        first_bad = 0
        ragged = 0
        with contextlib.ExitStack() as stack:
            raw = stack.enter_context(open(self.path, "rb", buffering=0))
            text = io.TextIOWrapper(io.BufferedReader(raw, 1 << 20), encoding=self.encoding,
                                    errors="surrogateescape", newline="")
            _raise_field_limit()
            reader = csv.reader(text, delimiter=self.delimiter)
            for header in reader:  # the header (names already known), after any blank lines before it
                if header:
                    break
            seen = 0
            cols: list[list[str | None]] = [[] for _ in range(width)]
            errors: list[str | None] = []
            any_error = False
            try:
                for record in reader:
                    if not record:  # a blank line is not a row (pyarrow agrees), but an empty cell of one column
                        if width != 1:
                            continue
                        record = [""]
                    seen += 1
                    fixed: list[str | None] = []
                    for value in record:
                        if not value.isascii() and _SURROGATE.search(value):
                            value = legacy_text(value.encode(self.encoding, "surrogateescape"))
                            latin1 += 1
                            first_bad = first_bad or reader.line_num
                        fixed.append(value)
                    if seen <= skip:
                        if seen == skip and last_row is not None and fixed[:width] != last_row[:width] \
                                and len(fixed) == width:
                            raise DataFormatError(
                                f"{self.shown}: the two CSV readers disagree about where row {skip:,} ends "
                                "(unusual quoting?); fix the file or convert it to Parquet")
                        continue
                    error = None
                    if len(fixed) != width:
                        ragged += 1
                        error = (f"malformed CSV row {seen:,}, ending at line {reader.line_num}: {len(fixed)} "
                                 f"field(s) where the header has {width}"
                                 + (f"; extra fields {_preview(fixed[width:])} not kept" if len(fixed) > width else "")
                                 + "; row not scored")
                        fixed = (fixed + [None] * width)[:width]
                        any_error = True
                    for i in range(width):
                        cols[i].append(fixed[i])
                    errors.append(error)
                    if len(errors) == chunk_rows:
                        yield _text_table(self.columns, cols), (errors if any_error else None)
                        cols = [[] for _ in range(width)]
                        errors = []
                        any_error = False
            except csv.Error as exc:
                raise DataFormatError(f"{self.shown}: cannot parse CSV near line {reader.line_num}: {exc}") from exc
            if errors:
                yield _text_table(self.columns, cols), (errors if any_error else None)
        if latin1:
            self.warnings.append(f"{self.shown}: {latin1:,} cell(s) were not valid UTF-8 and were decoded as "
                                 f"Windows-1252 (first at line {first_bad}); check the results for those rows")
        if ragged:
            self.warnings.append(f"{self.shown}: {ragged:,} row(s) had the wrong number of fields; they are kept "
                                 "with an error and were not scored")

    _raw_names: list[str] = field(default_factory=list)
    _blank_before_header: int = 0


_SURROGATE = re.compile("[\udc80-\udcff]")


def _preview(values: Sequence[str | None]) -> str:
    text = ",".join(v or "" for v in values)
    return repr(text if len(text) <= 60 else text[:57] + "...")


def _raise_field_limit() -> None:
    """Python's csv module refuses cells over 128 KiB by default; a hostile file is allowed bigger ones."""
    limit = sys.maxsize
    while True:
        try:
            if csv.field_size_limit() < limit:
                csv.field_size_limit(limit)
            return
        except OverflowError:
            limit //= 2


def _text_table(names: list[str], cols: list[list[str | None]]) -> pa.Table:
    return pa.Table.from_arrays([pa.array(c, pa.string()) for c in cols], names=names)


def table_to_frame(table: pa.Table) -> pd.DataFrame:
    """Arrow rows as the scorers see them (pandas)."""
    # integer_object_nulls: an int column with a null stays Python ints and None (not 7.0 and NaN), "as read".
    # ignore_metadata: a pandas index saved into Parquet is a column like the others, not the frame's index
    frame = table.to_pandas(integer_object_nulls=True, ignore_metadata=True)
    frame.columns = list(table.column_names)  # keep duplicate-free, exact names
    return frame


def _rebatch(tables: Iterator[pa.Table], chunk_rows: int) -> Iterator[tuple[pa.Table, None]]:
    """Turn batches of any size into tables of exactly ``chunk_rows`` rows (the last may be shorter)."""
    buffer: list[pa.Table] = []
    buffered = 0
    for table in tables:
        buffer.append(table)
        buffered += table.num_rows
        while buffered >= chunk_rows:
            joined = pa.concat_tables(buffer) if len(buffer) > 1 else buffer[0]
            yield joined.slice(0, chunk_rows).combine_chunks(), None
            rest = joined.slice(chunk_rows)
            buffer = [rest] if rest.num_rows else []
            buffered = rest.num_rows
    if buffered:
        yield (pa.concat_tables(buffer) if len(buffer) > 1 else buffer[0]).combine_chunks(), None


def conform(table: pa.Table, schema: pa.Schema, partition: dict[str, str]) -> pa.Table:
    """Give one Parquet batch the dataset's unified schema: add partition and missing columns, cast types. A
    ``key=value`` directory fills only a column its file lacks: the file's own values are never replaced."""
    n = table.num_rows
    arrays = []
    for fld in schema:
        if fld.name in table.column_names:  # a file's own column wins over its directory's key=value
            col = table[fld.name]
            if _is_binary(col.type) and not _is_binary(fld.type):
                col = _binary_as_text(col)
            arrays.append(col if col.type == fld.type else col.cast(fld.type))
        elif fld.name in partition:
            arrays.append(pa.array([partition[fld.name]] * n, pa.string()))
        else:
            arrays.append(pa.nulls(n, fld.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def _is_binary(t: pa.DataType) -> bool:
    return pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t)


def text_schema(schema: pa.Schema) -> pa.Schema:
    """``schema`` with binary columns as text: bytes are read as UTF-8 (else Windows-1252), as CSV cells are."""
    for i, fld in enumerate(schema):
        if _is_binary(fld.type):
            schema = schema.set(i, pa.field(fld.name, pa.string()))
    return schema


def _bytes_as_text(value: bytes) -> str:
    """Bytes read as UTF-8, else as :func:`legacy_text` (as CSV cells are)."""
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return legacy_text(value)


def _binary_as_text(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    return pa.array([None if v is None else _bytes_as_text(v) for v in col.to_pylist()], pa.string())


@contextlib.contextmanager
def _damaged_row_group(task: RowGroupTask) -> Iterator[None]:
    """A row group that cannot be decoded (its footer whole, its pages damaged) as one message naming the input:
    pyarrow raises an OSError without a file name, which would read as a failed write of the output."""
    try:
        yield
    except (OSError, pa.ArrowException) as exc:
        raise DataFormatError(f"{task.file}: row group {task.row_group} cannot be read ({exc}); the input file is "
                             "damaged") from exc


def read_row_group(task: RowGroupTask, schema: pa.Schema) -> pa.Table:
    """The rows of one row group with the dataset schema (what the Dask engine hands each worker task)."""
    pf = _open_parquet(Path(task.file))
    with _damaged_row_group(task):
        table = pf.read_row_group(task.row_group)
    return conform(table, schema, dict(task.partition))


# ------------------------------------------------------------------------------------------------ opening
def open_input(path: str | os.PathLike[str], required_columns: Sequence[str] = ("handle",)) -> InputSource:
    """Open ``path`` for chunked reading, checking that it is readable and has ``required_columns``.

    Raises :class:`DataFormatError` (one sentence, no traceback needed) when the input cannot be read at all.
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise DataFormatError(f"input not found: {p}")
    if p.is_dir() or (p.is_file() and not str(p).startswith(("/dev/", "/proc/"))):
        return _open_input(p, required_columns)
    # a pipe (/dev/stdin, <(...)), a device or a descriptor: read once, into a file whose format is known; its
    # messages name the input as given, not that file
    spooled = _spooled(p, required_columns)
    try:
        source = _open_input(spooled, required_columns, sniffed=True)
    except DataFormatError as exc:
        raise DataFormatError(str(exc).replace(str(spooled), str(p)).replace(spooled.stem, "input")) from None
    source.origin = str(p)
    source.warnings = [w.replace(str(spooled), str(p)) for w in source.warnings]
    return source


def _open_input(p: Path, required_columns: Sequence[str], sniffed: bool = False) -> InputSource:
    """:func:`open_input` of a file or folder (``sniffed``: a pipe's copy, named by the suffix its bytes gave)."""
    if p.is_dir():
        source = _open_parquet_dir(p)
    else:
        if not os.access(p, os.R_OK):
            raise DataFormatError(f"cannot read {p}: permission denied")
        size = p.stat().st_size
        suffix = p.suffix.lower()
        if size and suffix not in _KNOWN_SUFFIXES and not sniffed:
            suffix = _sniffed_suffix(p, required_columns)  # as a pipe's bytes are: the same rows either way
        if size == 0:
            source = InputSource(p, "empty", list(required_columns) or ["handle"], 0, 0,
                                 warnings=[f"{p} is empty (0 bytes): the output has no rows"])
        elif suffix in PARQUET_SUFFIXES:
            source = _open_parquet_file(p)
        elif suffix in CSV_SUFFIXES:
            source = _open_csv(p, CSV_SUFFIXES[suffix])
        elif suffix in NDJSON_SUFFIXES or (suffix == ".json" and _one_object_per_line(p)):
            source = _open_ndjson(p)
        elif suffix == ".json":
            raise DataFormatError(f"{p} is a JSON document over several lines, not one JSON object per line: "
                                  "handleval reads NDJSON (.ndjson, .jsonl); convert it, e.g. "
                                  f"`jq -c '.data[]' {p.name} > {p.stem}.ndjson` (an API v2 page) or `jq -c '.[]'` "
                                  "(an array)")
        else:
            encoding, newline = _text_encoding(p)
            source = InputSource(p, "text", ["handle"], None, size, encoding=encoding, newline=newline)
    missing = [c for c in required_columns if c not in source.columns]
    if missing:
        found = ", ".join(repr(c) for c in source.columns[:30]) or "none"
        hint = case_hint(missing, source.columns)
        names = ", ".join(repr(m) for m in missing)
        raise DataFormatError(f"{p}: required column {names} not found{hint}; columns found: {found}")
    return source


def _text_encoding(p: Path) -> tuple[str, str]:
    """``(encoding, newline)`` of a one-handle-per-line file; :class:`DataFormatError` when it is binary."""
    with open(p, "rb") as fh:
        sample = fh.read(_SNIFF)
    encoding = _utf16(sample)
    if encoding:
        return encoding, "\n"
    reason = looks_binary(sample)
    if reason:
        raise DataFormatError(f"{p} is not a text file ({reason}); expected CSV, Parquet or one handle per line")
    return "utf-8", "\r" if b"\r" in sample and b"\n" not in sample else "\n"


def _utf16(sample: bytes) -> str | None:
    """The UTF-16 codec of ``sample`` (the first bytes of a file): ``utf-16`` with a byte-order mark, else
    ``utf-16-le``/``-be`` when nearly every other byte is NUL (ASCII text in UTF-16); None for anything else."""
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    sample = sample[: len(sample) // 2 * 2]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    for zeros, text, codec in ((odd, even, "utf-16-le"), (even, odd, "utf-16-be")):
        if zeros.count(0) >= 0.9 * len(zeros) and text.count(0) <= 0.1 * len(text):
            return codec
    return None


#: Pipes already read in this process, by (path, device, inode): the temporary file that holds their bytes.
_SPOOLED: dict[tuple[str, int, int], Path] = {}


def _spooled(p: Path, required_columns: Sequence[str]) -> Path:
    """A pipe (or socket, or terminal) can be read once: its bytes go to a temporary file (:func:`_spool`), which
    every later opening of the same pipe in this process reads (``flag`` checks the columns, then scores)."""
    stat = p.stat()
    if not (S_ISFIFO(stat.st_mode) or S_ISSOCK(stat.st_mode) or S_ISCHR(stat.st_mode)):
        return _spool(p, required_columns)  # a file under /dev or /proc can change between two reads: read it again
    key = (str(p), stat.st_dev, stat.st_ino)
    if key not in _SPOOLED or not _SPOOLED[key].exists():
        _SPOOLED[key] = _spool(p, required_columns)
    return _SPOOLED[key]


def _spool(p: Path, required_columns: Sequence[str]) -> Path:
    """Copy a pipe's bytes to a private temporary file (removed at exit), named so that its format is known: the
    pipe's own suffix if it has one, else Parquet by its magic number, NDJSON when it starts with a JSON object or
    array, CSV/TSV when the first line names the required columns, else one handle per line."""
    import atexit
    import shutil
    import tempfile

    fd, name = tempfile.mkstemp(prefix="handleval-input-")
    spooled = Path(name)
    atexit.register(spooled.unlink, missing_ok=True)
    try:
        with open(p, "rb") as src, os.fdopen(fd, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
    except OSError as exc:
        raise DataFormatError(f"cannot read {p}: {exc.strerror or exc}") from exc
    suffix = p.suffix.lower()
    if suffix not in _KNOWN_SUFFIXES:
        suffix = _sniffed_suffix(spooled, required_columns)
    target = spooled.with_name(spooled.name + suffix)
    spooled.rename(target)
    atexit.register(target.unlink, missing_ok=True)
    return target


def _sniffed_suffix(p: Path, required_columns: Sequence[str]) -> str:
    """The suffix a file of no known suffix (a pipe's copy, ``handles.txt``, ``export``) is read by, from its first
    bytes: Parquet by its magic number, NDJSON when its first line is a whole JSON object or array (or the file is
    one JSON document, which the NDJSON reader refuses with how to convert it), CSV/TSV when its first line names
    the required columns (``handle`` alone on it is a header too), else ``.txt``: one handle per line."""
    with open(p, "rb") as fh:
        sample = fh.read(_SNIFF)
    text = sample.decode(_utf16(sample) or "utf-8", "replace").lstrip("\ufeff\r\n\t ")
    if sample.startswith(b"PAR1"):
        return ".parquet"
    # (a list of handles whose first is '[deleted]' starts so too)
    if text.startswith(("{", "[")) and (_one_object_per_line(p) or _json_document(p)):
        return ".ndjson"
    first = text.splitlines()[0] if text else ""
    for sep, ext in ((",", ".csv"), ("\t", ".tsv")):
        cells = [c.strip().strip('"') for c in first.split(sep)]
        if (len(cells) > 1 or required_columns) and all(c in cells for c in required_columns):
            return ext
    return ".txt"


#: The bytes 0x80-0x9F as Windows-1252 reads them (Excel's CSV on Windows: € ’ “ ” –), not as Latin-1's invisible
#: control characters; the five it leaves undefined stay Latin-1's.
_WINDOWS_1252 = {i: bytes([i]).decode("cp1252") for i in range(0x80, 0xA0) if i not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)}


def legacy_text(data: bytes) -> str:
    """Bytes that are not UTF-8 as text: Windows-1252, the usual other encoding of a CSV (Latin-1 but for 0x80-0x9F,
    where Latin-1 has only invisible control characters)."""
    return data.decode("latin-1").translate(_WINDOWS_1252)


def looks_binary(sample: bytes) -> str | None:
    """Why ``sample`` (the first bytes of a file) is binary rather than text, or ``None`` if it looks like text.

    Lenient on purpose: NUL bytes and control characters inside a few cells are hostile *text* and must reach the
    scorer; only a file dominated by them, or one with a known binary signature, is refused."""
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return None
    for magic, what in _MAGIC.items():
        if sample.startswith(magic):
            return f"it starts like {what}"
    if not sample:
        return None
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start >= len(sample) - 3:  # a character cut by the sample's end
            text = sample[: exc.start].decode("utf-8")
        else:
            text = sample.decode("latin-1")
            odd = sum(1 for c in text if not c.isprintable() and c not in "\t\r\n")
            if len(sample) >= 64 and odd / len(text) > 0.05:
                return f"it is not UTF-8 and {odd / len(text):.0%} of its first bytes are control codes"
            return None
    # Valid UTF-8: control characters are hostile *text*; only a NUL-dominated file (UTF-16 without a BOM, a
    # disk image) of some size is refused.
    nul = text.count("\x00")
    if len(sample) >= 256 and nul / len(text) > 0.3:
        return f"{nul / len(text):.0%} of its first characters are NUL bytes (UTF-16 without a BOM?)"
    return None


@functools.lru_cache(maxsize=64)
def _check_quoting(path: Path, delimiter: str, encoding: str, size: int, mtime_ns: int) -> None:
    """Refuse a file whose quoting would merge rows or change cells: a cell that starts with a quote must end
    with one (``"be kind`` ran on over the next lines, which became part of it), and a quoted cell ends at the
    delimiter (``"best" pizza`` lost its quotes). Both readers take such cells as they can; Python's csv module
    in strict mode tells where the file breaks the rule. Skipped for files without a quote; once per file version
    (``size``, ``mtime_ns``) in a process, when the file is opened: before any output is made."""
    with open(path, "rb") as fh:
        if not any(b'"' in block for block in iter(lambda: fh.read(1 << 20), b"")):
            return
    _raise_field_limit()
    with open(path, encoding=encoding, errors="surrogateescape", newline="") as text:
        reader = csv.reader(text, delimiter=delimiter, strict=True)
        start = 1
        try:
            for _ in reader:
                start = reader.line_num + 1
        except csv.Error as exc:
            what = "a quoted cell goes on after its closing quote" if "expected after" in str(exc) else \
                "a quote opens a cell that never closes" if "end of data" in str(exc) else str(exc)
            raise DataFormatError(
                f"{path}: the row starting at line {start:,} is quoted wrongly ({what}, seen by line "
                f"{reader.line_num:,}): a cell that starts with a quote must be quoted whole, its own quotes "
                'doubled ("""best"" pizza"), or rows would merge. Fix the file, write it with quoting (as '
                "pandas and spreadsheets do), or convert it to Parquet") from None


def _open_csv(p: Path, delimiter: str) -> InputSource:
    with open(p, "rb") as fh:
        sample = fh.read(_SNIFF)
    encoding = _utf16(sample) or "utf-8"
    if encoding == "utf-8":
        reason = looks_binary(sample)
        if reason:
            raise DataFormatError(f"{p} is not a CSV file ({reason})")
    names = _read_header(p, delimiter, encoding)
    if names is None:
        raise DataFormatError(f"{p} has no header line: a CSV needs column names such as 'handle' on line 1")
    unique = _dedupe(names)
    stat = p.stat()
    _check_quoting(p, delimiter, encoding, stat.st_size, stat.st_mtime_ns)
    source = InputSource(p, "csv", unique, None, stat.st_size, delimiter=delimiter, encoding=encoding)
    source._raw_names = names
    lines = sample.removeprefix(codecs.BOM_UTF8).split(b"\n")
    source._blank_before_header = next((i for i, line in enumerate(lines) if line.strip(b"\r")), 0)
    renamed = [f"column {i + 1} {a!r} as {b!r}" for i, (a, b) in enumerate(zip(names, unique, strict=True)) if a != b]
    if renamed:
        source.warnings.append(f"{p}: column names must be unique and not empty; read {', '.join(renamed)}")
    return source


class _KeyClash(ValueError):
    """Two keys of one JSON object that flatten to the same column (``"meta.x"`` and ``"meta": {"x": …}``)."""


def _flatten(obj: dict[str, Any], prefix: str = "") -> dict[str, str | None]:
    """Nested objects as dotted keys; every value as text (lists as JSON, null as None)."""
    import json

    out: dict[str, str | None] = {}
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            inner = _flatten(value, f"{name}.")
            if not inner.keys().isdisjoint(out):
                raise _KeyClash(min(inner.keys() & out.keys()))
            out.update(inner)
            continue
        if name in out:
            raise _KeyClash(name)
        if value is None:
            out[name] = None
        elif isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif isinstance(value, str):
            out[name] = value
        elif isinstance(value, list):
            out[name] = json.dumps(value, ensure_ascii=False)
        else:
            out[name] = str(value)
    return out


#: The keys of an X API v2 response around its ``data`` (one user object, or a page of them).
_V2_ENVELOPE = frozenset({"data", "includes", "errors", "meta"})


def _ndjson_records(stream: Any, latin1: list[int] | None = None
                    ) -> Iterator[tuple[dict[str, str | None], str | None]]:
    """(flattened record, error) per non-blank line, or per user of a line that is an API v2 response page; a
    line that is not a JSON object gives ({}, why). A line that is not valid UTF-8 is read as Windows-1252, as CSV
    cells are, and its number goes to ``latin1`` (for the warning)."""
    import json

    for n, line in enumerate(stream, start=1):
        try:
            text = line.decode("utf-8").strip()
        except UnicodeDecodeError:
            text = legacy_text(line).strip()
            if latin1 is not None:
                latin1.append(n)
        if n == 1:
            text = text.removeprefix("\ufeff")
        if not text:
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            yield {}, f"line {n} is not valid JSON ({exc.msg})"
            continue
        except RecursionError:  # Python's parser recurses once per level
            yield {}, f"line {n} is nested too deeply to read"
            continue
        except ValueError:  # a number of more than 4,300 digits (Python's limit on reading one)
            yield {}, f"line {n} holds a number too long to read"
            continue
        yield from _line_records(obj, n)


def _user_row(user: Any, n: int, what: str) -> tuple[dict[str, str | None], str | None]:
    """One user object of line ``n`` as a row, or ({}, why) for this user alone (``what`` names it in the line:
    '' for the line's one object, 'user 3 of its data list')."""
    where = f"line {n}" + (f", {what}" if what else "")
    if not isinstance(user, dict):
        return {}, f"{where} is not a JSON object" + ("" if what else " (one object per line expected)")
    if set(user) == {"created_at", "user"} and isinstance(user["user"], dict):
        # the Bot Repository's <set>_tweets.json: a profile and the time it was seen (its probe tweet's)
        user = {**user["user"], "probe_created_at": user["created_at"]}
    try:
        return _flatten(user), None
    except RecursionError:  # _flatten recurses once per level
        return {}, f"{where} is nested too deeply to read"
    except _KeyClash as clash:  # keeping one would lose the other's value without a word
        return {}, f"{where}: two of its keys read as the column '{clash}' (a dotted key and a nested one); rename one"


def _line_records(obj: Any, n: int) -> Iterator[tuple[dict[str, str | None], str | None]]:
    """The rows of line ``n``, parsed as ``obj``: a user object, an API v2 response page or a v1.1 array."""
    if isinstance(obj, dict) and set(obj) == {"meta"}:
        return  # a page with no users (the empty last page of a paginated answer: its meta alone)
    if isinstance(obj, dict) and obj and set(obj) <= _V2_ENVELOPE - {"data", "errors"}:
        yield {}, (f"line {n} is an X API response without data: its includes are users the page mentions, not "
                   "the accounts asked for")
        return
    extras = set(obj) - _V2_ENVELOPE if isinstance(obj, dict) else set()
    if isinstance(obj, dict) and (isinstance(obj.get("data"), list | dict) or obj.get("errors") is not None) \
            and extras <= set(OBSERVED_AT_NAMES):
        # an API v2 response: one user, or a page of users (each a row, in order), then the users it could not
        # return (suspended, not found: each a row with the API's words as its error). The time a crawler put beside
        # the page ("observed_at") is each user's, where the user has none of that name.
        page = {k: obj[k] for k in extras}
        data = obj.get("data") or []
        users = data if isinstance(data, list) else [data]
        users = [{**page, **u} if isinstance(u, dict) and page else u for u in users]
        if users and all(_is_post(item) for item in users):  # a page of posts: their authors are the accounts
            yield from _authors(obj, users, n, page)
            users = []
        for k, user in enumerate(users, start=1):
            yield _user_row(user, n, f"user {k} of its data list" if isinstance(data, list) else "its data")
        problems = obj.get("errors") or []
        problems = problems if isinstance(problems, list) else [problems]
        about_users = [e for e in problems if _names_a_user(e)]
        for problem in about_users:
            yield _api_error(problem, n)
        if not users and not about_users and problems:  # a line is never lost: its first error, as a row
            yield _api_error(problems[0], n)
        return
    if isinstance(obj, dict) and isinstance(obj.get("data"), list) \
            and not {"screen_name", "username"} & set(obj):  # a page with keys of a crawler's own, not a user
        yield {}, (f"line {n} is an X API v2 response page with keys the API does not write "
                   f"({', '.join(map(repr, sorted(extras)))}): name the time it was fetched observed_at (it is then "
                   "each user's), or remove them")
        return
    if isinstance(obj, list):  # a v1.1 response (users/lookup): an array of user objects, a row each
        for k, user in enumerate(obj, start=1):
            yield _user_row(user, n, f"element {k} of its array")
        return
    yield _user_row(obj, n, "")


def _is_post(item: Any) -> bool:
    """Whether an X API v2 ``data`` item is a post (it has ``text``; a user has a ``username``)."""
    return isinstance(item, dict) and "text" in item and "username" not in item and "screen_name" not in item


def _authors(page: dict[str, Any], posts: list[dict[str, Any]], n: int, fields: dict[str, Any] | None = None
             ) -> Iterator[tuple[dict[str, str | None], str | None]]:
    """The authors of a page of posts (``expansions=author_id`` puts them in ``includes.users``; users mentioned
    or replied to are there too, and are not these posts' accounts), a row each; one row that says what to ask
    for when the page has none (its posts' dates are no account's)."""
    includes = page.get("includes")
    users = includes.get("users") if isinstance(includes, dict) else None
    wrote = {str(post["author_id"]) for post in posts if post.get("author_id") is not None}
    authors = [u for u in users if isinstance(u, dict) and str(u.get("id")) in wrote] \
        if isinstance(users, list) else []
    if not authors:
        yield {}, (f"line {n} is a page of posts without their authors: ask the X API with "
                   "expansions=author_id&user.fields=created_at,public_metrics (the users come in includes.users)")
        return
    for k, user in enumerate(authors, start=1):
        yield _user_row({**(fields or {}), **user}, n, f"author {k} of its posts")


def _names_a_user(problem: Any) -> bool:
    """Whether an X API ``errors`` entry is about a user asked for (suspended, not found), not about an expansion of
    a returned one (a pinned tweet that cannot be found)."""
    return isinstance(problem, dict) and (problem.get("parameter") in ("username", "usernames", "id", "ids")
                                          or problem.get("resource_type") == "user")


def _api_error(problem: Any, n: int) -> tuple[dict[str, str | None], str]:
    """An X API ``errors`` entry as a row: the username or id it names, and the API's words as the error (v2
    ``detail`` or ``title``, v1.1 ``message``)."""
    if not isinstance(problem, dict):
        return {}, f"line {n}: X API error: {str(problem)[:200]}"
    named = {"username": problem.get("value")} if problem.get("parameter") in ("username", "usernames") else \
        {"id": problem.get("value")} if problem.get("parameter") in ("id", "ids") else {}
    words = problem.get("detail") or problem.get("title") or problem.get("message") or "no detail"
    return {k: None if v is None else str(v) for k, v in named.items()}, f"line {n}: X API error: {words}"


_NOT_JSON = object()
_LONG_JSON_LINE = object()


def _first_line_json(p: Path) -> Any:
    """The file's first line that is not blank, parsed as JSON (``_NOT_JSON`` when it is not a whole JSON value,
    ``_LONG_JSON_LINE`` when it is over 16 MB and starts as an object or array; None for a blank file)."""
    with open(p, "rb") as fh:
        while line := fh.readline(1 << 24):  # at most 16 MB: a minified document of gigabytes is not read whole
            if len(line) == 1 << 24 and not line.endswith(b"\n") and line.lstrip()[:1] in (b"{", b"["):
                return _LONG_JSON_LINE  # the NDJSON reader reads whole lines of any length
            if line.strip():
                try:
                    return json.loads(line)
                except (ValueError, RecursionError):
                    return _NOT_JSON
    return None


def _one_object_per_line(p: Path) -> bool:
    """Whether a ``.json`` file is NDJSON: its first line that is not blank is a whole JSON object, or an array (a
    v1.1 users/lookup response)."""
    first = _first_line_json(p)
    return isinstance(first, dict | list) or first is _LONG_JSON_LINE


def _open_ndjson(p: Path) -> InputSource:
    """Columns = the union of the flattened keys of every line, in order of first appearance."""
    with open(p, "rb") as fh:
        sample = fh.read(_SNIFF)
    if _utf16(sample):  # JSON is UTF-8 (RFC 8259); PowerShell writes UTF-16 by default
        raise DataFormatError(f"{p} is UTF-16 text; JSON lines are read as UTF-8: convert it first, e.g. "
                              f"`iconv -f UTF-16 -t UTF-8 {p.name} > {p.stem}.utf8{p.suffix}`")
    reason = looks_binary(sample)
    if reason:
        raise DataFormatError(f"{p} is not a text file ({reason}); expected one JSON object per line")
    if _first_line_json(p) is _NOT_JSON and _json_document(p):
        raise DataFormatError(f"{p} is a JSON document over several lines, not one JSON object per line: "
                              f"handleval reads NDJSON; convert it, e.g. `jq -c '.data[]' {p.name} > "
                              f"{p.stem}.lines.ndjson`")
    names: dict[str, None] = {}
    first_problem = None
    with open(p, "rb") as fh:
        for record, problem in _ndjson_records(fh):
            first_problem = first_problem or problem
            for key in record:
                names.setdefault(key)
    if not names and first_problem:  # no line could be read: that is the file's problem, not a missing column
        raise DataFormatError(f"{p}: no line of it could be read as a record; the first: {first_problem}")
    return InputSource(p, "ndjson", list(names), None, p.stat().st_size)


def _json_document(p: Path, limit: int = 1 << 26) -> bool:
    """Whether the file (at most ``limit`` bytes) is one JSON document (pretty-printed: not a line per object)."""
    if p.stat().st_size > limit:
        return False
    try:
        json.loads(p.read_bytes())
    except (ValueError, RecursionError):
        return False
    return True


def _read_header(p: Path, delimiter: str, encoding: str) -> list[str] | None:
    _raise_field_limit()
    with open(p, "rb") as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig" if encoding == "utf-8" else encoding,
                                errors="surrogateescape", newline="")
        try:
            for record in csv.reader(text, delimiter=delimiter):
                if record:
                    return [
                        legacy_text(v.encode("utf-8", "surrogateescape")) if _SURROGATE.search(v) else v
                        for v in record
                    ]
        except (csv.Error, UnicodeError) as exc:
            raise DataFormatError(f"{p}: cannot read the header line: {exc}") from exc
    return None


def _dedupe(names: list[str]) -> list[str]:
    """Make header names unique the way pandas does (``a``, ``a.1``), never taking a name the header already has
    (``handle, handle, handle.1`` gives ``handle, handle.2, handle.1``); an empty name becomes ``column_N``."""
    out: list[str] = []
    seen: set[str] = set()
    given = set(names)
    for i, name in enumerate(names):
        base = name if name.strip() else f"column_{i + 1}"
        candidate, k = base, 0
        while candidate in seen or (k and candidate in given):
            k += 1
            candidate = f"{base}.{k}"
        seen.add(candidate)
        out.append(candidate)
    return out


def _open_parquet(p: Path) -> pq.ParquetFile:
    try:
        pf = pq.ParquetFile(p)
    except (pa.ArrowException, OSError) as exc:
        raise DataFormatError(f"{p} is not a readable Parquet file: {str(exc).splitlines()[0]}") from exc
    check_unique_columns(pf.schema_arrow.names, str(p))
    return pf


def _open_parquet_file(p: Path) -> InputSource:
    pf = _open_parquet(p)
    schema = text_schema(pf.schema_arrow)
    tasks = _row_group_tasks([(p, pf, ())])
    total = sum(t.num_rows for t in tasks)
    return InputSource(p, "parquet", list(schema.names), total, p.stat().st_size, schema=schema, tasks=tasks)


def natural_key(text: str) -> list[Any]:
    """Sort key where digit runs compare as numbers: ``part-2`` < ``part-10``."""
    return [(0, int(tok), "") if tok.isdigit() else (1, 0, tok) for tok in re.split(r"(\d+)", text)]


#: Files of rows that a directory input (Parquet parts) would leave out: refused rather than skipped (a ``.json``
#: only when it is NDJSON: one object per line; another is metadata such as ``dataset_info.json``).
_TABLE_SUFFIXES = (".csv", ".tsv", ".ndjson", ".jsonl", ".txt")


def _holds_rows(f: Path) -> bool:
    suffixes = [s.lower() for s in f.suffixes]
    return any(s in _TABLE_SUFFIXES for s in suffixes) or (suffixes[-1:] == [".json"] and _one_object_per_line(f))


def _fits_a_double(pf: pq.ParquetFile, column: str) -> bool:
    """Whether ``column`` of ``pf`` holds no integer a double would round (beyond 2**53), by its row groups'
    statistics; a floating-point column always fits, and missing statistics do not say it does."""
    if column not in pf.schema_arrow.names or not pa.types.is_integer(pf.schema_arrow.field(column).type):
        return True
    index = pf.schema_arrow.get_field_index(column)
    for g in range(pf.metadata.num_row_groups):
        group = pf.metadata.row_group(g)
        stats = group.column(index).statistics
        if stats is not None and stats.null_count == group.num_rows:
            continue  # no value at all
        if stats is None or not stats.has_min_max or max(abs(stats.min), abs(stats.max)) > 2**53:
            return False
    return True


def _open_parquet_dir(root: Path) -> InputSource:
    visible = [f for f in root.rglob("*")
               if f.is_file() and not any(part.startswith(("_", ".")) for part in f.relative_to(root).parts)]
    files = [f for f in visible if f.suffix.lower() in PARQUET_SUFFIXES]
    other = [f.relative_to(root).as_posix() for f in visible if _holds_rows(f)]
    if other:
        raise DataFormatError(f"{root} holds files of rows that are not Parquet ({', '.join(sorted(other)[:3])}"
                              f"{', …' if len(other) > 3 else ''}): a directory input is read as Parquet parts "
                              "only, so their rows would be left out. Give each file on its own, or convert them")
    if not files:
        raise DataFormatError(f"{root} is a directory without Parquet files (*.parquet); give a file or a "
                              "directory of Parquet parts")
    files.sort(key=lambda f: natural_key(f.relative_to(root).as_posix()))
    opened = []
    schemas = []
    part_names: list[str] = []
    for f in files:
        pf = _open_parquet(f)
        partition = tuple(
            (k, v) for k, _, v in (seg.partition("=") for seg in f.relative_to(root).parts[:-1] if "=" in seg)
        )
        for k, _ in partition:
            if k not in part_names:
                part_names.append(k)
        opened.append((f, pf, partition))
        schemas.append(pf.schema_arrow)
    try:
        schema = text_schema(pa.unify_schemas(schemas, promote_options="permissive"))
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise DataFormatError(f"{root}: the Parquet files have incompatible schemas: {exc}") from exc
    for i, fld in enumerate(schema):  # integers in one part, floating point in another: a double, unless it loses
        kinds = {s.field(fld.name).type for s in schemas if fld.name in s.names}  # digits: then text, as written
        if any(pa.types.is_integer(t) for t in kinds) and any(pa.types.is_floating(t) for t in kinds) \
                and not all(_fits_a_double(pf, fld.name) for _, pf, _ in opened):
            schema = schema.set(i, pa.field(fld.name, pa.string()))  # a double cannot hold every tweet id
    for k in part_names:
        if k not in schema.names:
            schema = schema.append(pa.field(k, pa.string()))
    tasks = _row_group_tasks(opened)
    total = sum(t.num_rows for t in tasks)
    size = sum(f.stat().st_size for f in files)
    return InputSource(root, "parquet", list(schema.names), total, size, schema=schema, tasks=tasks)


def _row_group_tasks(opened: list[tuple[Path, pq.ParquetFile, tuple[tuple[str, str], ...]]]) -> list[RowGroupTask]:
    tasks = []
    start = 0
    for f, pf, partition in opened:
        for rg in range(pf.num_row_groups):
            n = pf.metadata.row_group(rg).num_rows
            if n == 0:
                continue
            tasks.append(RowGroupTask(len(tasks), str(f), rg, start, n, partition))
            start += n
    return tasks


# ------------------------------------------------------------------------------------------------ writing
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_FORMULA = r"^[=+\-@\t\r]"


def neutralise_formulas(table: pa.Table) -> pa.Table:
    """Prefix ``'`` to text cells that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``, tab,
    carriage return at the start: OWASP's CSV-injection list). Numeric columns are untouched, so ``-3.5``
    stays a number; a text cell ``-3.5`` becomes ``'-3.5``, which spreadsheets show as text."""
    import pyarrow.compute as pc

    arrays = []
    for col in table.columns:
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            mask = pc.fill_null(pc.match_substring_regex(col, _FORMULA), False)
            if pc.any(mask).as_py():
                quoted = pc.binary_join_element_wise(pa.scalar("'", col.type), col, pa.scalar("", col.type))
                col = pc.if_else(mask, quoted, col)
        arrays.append(col)
    return pa.Table.from_arrays(arrays, names=table.column_names)


def with_input_columns(table: pa.Table, read: pa.Table, nested_only: bool = False, start: int = 0) -> pa.Table:
    """``table`` (input columns from column ``start`` on, then outputs) with its input columns replaced by the
    rows as ``read``: Parquet values and types come back exactly (a NaN stays NaN, a decimal its precision, a map
    a map), not as pandas round-tripped them. A column of no type (all null) is text, as :func:`frame_to_table`
    makes it. ``nested_only`` replaces only struct, list and map columns (what a CSV part writes as JSON)."""
    stop = start + read.num_columns
    if table.column_names[start:stop] != read.column_names or table.num_rows != read.num_rows:
        return table
    columns = [c.cast(pa.string()) if pa.types.is_null(c.type) else c for c in read.columns]
    if nested_only:
        columns = [c if pa.types.is_nested(c.type) else mine
                   for c, mine in zip(columns, table.columns[start:stop], strict=True)]
    return pa.Table.from_arrays([*table.columns[:start], *columns, *table.columns[stop:]], names=table.column_names)


def frame_to_table(frame: pd.DataFrame) -> pa.Table:
    """A DataFrame as an Arrow table; object columns that Arrow cannot type (mixed values) become text, and so do
    columns with no value at all (``error`` in a part without errors): Arrow would type them "null", and a
    directory whose parts disagree on a column's type does not read as one table."""
    frame = frame.reset_index(drop=True)
    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError, ValueError):
        fixed = {}
        for name in frame.columns:
            col = frame[name]
            try:
                pa.array(col, from_pandas=True)
                fixed[name] = col
            except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError, ValueError):
                fixed[name] = col.map(lambda v: None if _is_missing(v) else str(v)).astype(object)
        table = pa.Table.from_pandas(pd.DataFrame(fixed), preserve_index=False)
    if any(pa.types.is_null(f.type) for f in table.schema):
        table = table.cast(pa.schema([f.with_type(pa.string()) if pa.types.is_null(f.type) else f
                                      for f in table.schema], metadata=table.schema.metadata))
    return table


def _is_missing(value: object) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _nested_as_json(table: pa.Table) -> pa.Table:
    """Struct, list and map cells as JSON text: a CSV cell holds text (a v2 ``public_metrics`` object read from
    Parquet comes back as the JSON it is). Maps are objects at any depth, NaN is null, bytes are UTF-8 (else
    Windows-1252) text as in binary columns, and other values their text (dates, decimals)."""
    for i, fld in enumerate(table.schema):
        if pa.types.is_nested(fld.type):
            values = [None if v is None else json.dumps(_plain(v, fld.type), default=str, ensure_ascii=False,
                                                        allow_nan=False)
                      for v in table.column(i).to_pylist()]
            table = table.set_column(i, pa.field(fld.name, pa.string()), pa.array(values, pa.string()))
    return table


def _plain(value: Any, kind: pa.DataType) -> Any:
    """A cell of Arrow type ``kind`` (as ``to_pylist`` gives it) as plain JSON values."""
    if value is None:
        return None
    if pa.types.is_map(kind):
        return {str(k): _plain(v, kind.item_type) for k, v in value}
    if pa.types.is_struct(kind):
        return {kind.field(j).name: _plain(value.get(kind.field(j).name), kind.field(j).type)
                for j in range(kind.num_fields)}
    if pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind):
        return [_plain(v, kind.value_type) for v in value]
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, bytes):
        return _bytes_as_text(value)
    return value


def output_file_format(path: str | os.PathLike[str]) -> str | None:
    """The format of the one file ``path`` names (``csv``, ``tsv`` or ``parquet``, by its suffix), or None for a
    directory of parts. A name ending in a table suffix we do not write (``.json``, ``.xlsx`` ...) is refused: it
    would have become a directory of Parquet parts under a file's name."""
    if str(path) == "-":
        raise DataFormatError("-o - (standard output) is not written to: name a file (.csv, .tsv, .parquet) or a "
                              "directory")
    suffix = Path(path).suffix.lower()
    if suffix in _NOT_WRITTEN:
        raise DataFormatError(f"{path}: handleval writes no {suffix} file; name the output .csv, .tsv or .parquet "
                              "(one file), or give a name without a suffix (a directory of Parquet parts)")
    return OUTPUT_FILE_FORMATS.get(suffix)


def encode_part(table: pa.Table, fmt: str) -> bytes:
    """The bytes of one output part (Parquet with zstd, or CSV/TSV with a header and formulas neutralised)."""
    sink = pa.BufferOutputStream()
    if fmt == "parquet":
        pq.write_table(table, sink, compression="zstd")
    elif fmt in ("csv", "tsv"):
        names = ["'" + n if n.startswith(FORMULA_PREFIXES) else n for n in table.column_names]
        pacsv.write_csv(neutralise_formulas(_nested_as_json(table)).rename_columns(names), sink,
                        write_options=pacsv.WriteOptions(include_header=True, quoting_style="needed",
                                                         delimiter="\t" if fmt == "tsv" else ","))
    else:
        raise ValueError(f"unknown output format {fmt!r}")
    return sink.getvalue().to_pybytes()


def atomic_write(path: Path, data: bytes) -> str:
    """Write ``data`` to ``path`` through a hidden temp file, fsync and rename, so that a reader (or a resumed
    run) sees either the whole file or none of it. Returns the sha256 of ``data``."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(new_temp_file(tmp), "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk leaves no half-written temp file behind
        raise
    _fsync_dir(path.parent)
    return hashlib.sha256(data).hexdigest()


def new_temp_file(tmp: Path) -> int:
    """A descriptor of a new, empty file at ``tmp`` (a temp name of ours, replaced if there): never opened through a
    symbolic link planted at that name, whose target would be overwritten."""
    tmp.unlink(missing_ok=True)
    return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)


def append_durably(path: Path, data: bytes) -> None:
    """Append ``data`` to ``path`` and fsync it (and, when the file is new, its directory): the journal write of
    :class:`handleval.batch.Manifest`. A kill can leave only the last append torn, never an earlier one."""
    new = not path.exists()
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o644), "ab") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    if new:
        _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def read_csv_part(path: Path) -> pa.Table:
    """Read one CSV (or TSV) part back with every column as text (as written): only an unquoted empty cell is
    missing, so that handles such as ``null``, ``NA`` or ``nan`` come back as themselves."""
    sep = CSV_SUFFIXES.get(path.suffix.lower(), ",")
    names = _read_header(path, sep, "utf-8") or []
    if not names:
        return pa.table({})
    return pacsv.read_csv(
        path,
        read_options=pacsv.ReadOptions(block_size=_BLOCK),
        parse_options=pacsv.ParseOptions(delimiter=sep, newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()), null_values=[""],
                                             strings_can_be_null=True, quoted_strings_can_be_null=False),
    )

