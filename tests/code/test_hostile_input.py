"""Hostile input through the batch engine: each case scores, gives rows an ``error``, or (for a file that cannot be
read at all) raises one clear :class:`DataFormatError` - never a crash, never a lost or reordered row.

The reading/writing path is also checked with hypothesis over arbitrary Unicode (CSV, Parquet, text; Parquet and
CSV output).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handleval.batch import read_output, run_batch
from handleval.errors import DataFormatError
from handleval.io import looks_binary
from tests.code.batch_scorers import length_scorer

CORPUS = [
    "", " ", "\t \u3000", "a\x00b", "\x00", "\u202eevil\u202c", "pay\u200bpal", "p\u0430ypal", "x" * 100_000,
    "12345", "007", "-1", "NaN", "None", "null", "=1+1", "@elon", "日本語", "😀", "a,b", 'quote"d', "new\nline",
]


def _run(tmp_path: Path, name: str, data: bytes, **kwargs: object):
    path = tmp_path / name
    path.write_bytes(data)
    out = tmp_path / f"out_{name.replace('.', '_')}"  # no .csv suffix: Parquet output, exact round trip
    summary = run_batch(path, out, length_scorer, quiet=True, **kwargs)  # type: ignore[arg-type]
    return summary, read_output(out)


def _csv_bytes(handles: list[str]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(["handle", "row"])
    for i, h in enumerate(handles):
        writer.writerow([h, str(i)])
    return buf.getvalue().encode("utf-8")


def test_corpus_through_csv_keeps_every_cell_exactly(tmp_path: Path) -> None:
    summary, out = _run(tmp_path, "corpus.csv", _csv_bytes(CORPUS), chunk_rows=7)
    assert out["handle"].tolist() == CORPUS
    assert out["row"].tolist() == [str(i) for i in range(len(CORPUS))]
    errors = dict(zip(out["handle"], out["error"], strict=True))
    assert errors[""] == "empty handle" and errors["\t \u3000"] == "empty handle"
    assert "not allowed" in errors["p\u0430ypal"]  # Cyrillic а is not a Latin letter
    assert pd.isna(errors["pay\u200bpal"])  # invisible characters are stripped, the handle scores
    assert "100000 characters" in errors["x" * 100_000]
    assert summary.rows_out == len(CORPUS)


def test_corpus_through_parquet_with_none_nan_and_numbers(tmp_path: Path) -> None:
    values = [*CORPUS, None]
    pq.write_table(pa.table({"handle": values, "score": [float("nan"), *range(len(CORPUS))]}),
                   tmp_path / "c.parquet")
    run_batch(tmp_path / "c.parquet", tmp_path / "out", length_scorer, quiet=True)
    out = read_output(tmp_path / "out")
    assert out["handle"].tolist()[:-1] == CORPUS and out["handle"].isna().tolist()[-1]
    assert out["error"].tolist()[-1] == "empty handle"
    pq.write_table(pa.table({"handle": [7, None, -3]}), tmp_path / "ints.parquet")
    run_batch(tmp_path / "ints.parquet", tmp_path / "out-ints", length_scorer, quiet=True)
    ints = read_output(tmp_path / "out-ints")
    assert ints["normalised"].tolist()[0] == "7" and ints["error"].notna().tolist() == [False, True, True]


def test_ragged_csv_keeps_every_row_with_an_error(tmp_path: Path) -> None:
    data = b"handle,platform\nalice,x\nbob,x,extra,fields\ncarol\n\ndave,x\n"
    with pytest.warns(UserWarning, match="2 row\\(s\\) had the wrong number of fields"):
        summary, out = _run(tmp_path, "ragged.csv", data)
    assert out["handle"].tolist() == ["alice", "bob", "carol", "dave"]
    assert out["error"].isna().tolist() == [True, False, False, True]
    assert "malformed CSV row 2, ending at line 3: 4 field(s) where the header has 2" in out["error"][1]
    assert "'extra,fields'" in out["error"][1]  # the row's number is its place among the rows, as in the output
    assert "line 4: 1 field(s)" in out["error"][2]
    assert summary.errors == 2 and out["normalised"].tolist()[3] == "dave"


def test_ragged_row_after_many_clean_blocks_switches_reader_without_loss(tmp_path: Path) -> None:
    handles = [f"user_{i}" for i in range(30_000)]
    data = _csv_bytes(handles) + b'"late","1","2"\n"final","9"\n'
    with pytest.warns(UserWarning, match="1 row"):
        summary, out = _run(tmp_path, "late.csv", data, chunk_rows=4_096)
    assert out["handle"].tolist() == [*handles, "late", "final"]
    assert out["error"].notna().sum() == 1 and summary.rows_out == 30_002


def test_latin1_file_is_decoded_with_a_warning(tmp_path: Path) -> None:
    """Windows-1252, Latin-1 with € ’ “ ” – (Excel's CSV on Windows), is read as such: as Latin-1 those came back
    as invisible control characters in the user's own columns ('\\x80 5\\x9210')."""
    data = "handle,note\ncafé,€ 5’10 “best” – ok\nnaïve,\nplain,\n".encode("cp1252")
    with pytest.warns(UserWarning, match="decoded as Windows-1252"):
        summary, out = _run(tmp_path, "latin.csv", data)
    assert out["handle"].tolist() == ["café", "naïve", "plain"]
    assert out["note"].tolist()[0] == "€ 5’10 “best” – ok"
    assert any("Windows-1252" in w for w in summary.warnings)
    with pytest.warns(UserWarning, match="Windows-1252"):
        _, txt = _run(tmp_path, "latin.txt", "café\nok\x81\n".encode("latin-1"))  # 0x81: no Windows-1252 character
    assert txt["handle"].tolist() == ["café", "ok\x81"]


@pytest.mark.parametrize("payload", [
    b"\x89PNG\r\n\x1a\n" + bytes(200),
    bytes(np.random.default_rng(7).integers(0, 256, 5000, dtype=np.uint8)),
    b"PK\x03\x04" + b"xl/workbook.xml" * 20,
])
def test_binary_file_named_csv_gives_one_clear_message(tmp_path: Path, payload: bytes) -> None:
    (tmp_path / "data.csv").write_bytes(payload)
    with pytest.raises(DataFormatError, match=r"data\.csv is not a CSV file \(") as info:
        run_batch(tmp_path / "data.csv", tmp_path / "out", length_scorer, quiet=True)
    assert "\n" not in str(info.value)
    assert not (tmp_path / "out").exists()


def test_text_with_a_few_nul_and_control_bytes_is_not_called_binary() -> None:
    assert looks_binary(b"handle\na\x00b\n\x07bell\n") is None
    assert looks_binary("handle\ncafé\n".encode("latin-1")) is None
    assert looks_binary(bytes(range(256)) * 4) is not None
    assert looks_binary(b"\x1f\n") is None
    assert looks_binary("handle\npizza\n".encode("utf-16-le") * 20) is not None


@pytest.mark.parametrize("name", ["empty.csv", "empty.txt", "empty.parquet"])
def test_zero_byte_file_is_an_empty_output_with_a_warning(tmp_path: Path, name: str) -> None:
    with pytest.warns(UserWarning, match="empty"):
        summary, out = _run(tmp_path, name, b"")
    assert summary.rows_out == 0 and list(out.columns) == ["handle", "length", "normalised", "error"]


def test_header_without_rows_and_whitespace_only_csv(tmp_path: Path) -> None:
    _, out = _run(tmp_path, "header.csv", b"handle,platform\r\n")
    assert len(out) == 0 and list(out.columns)[:2] == ["handle", "platform"]
    with pytest.raises(DataFormatError, match="no header line"):
        _run(tmp_path, "blank.csv", b"\n\n  \n"[:2])


def test_missing_column_names_the_column_and_the_columns_found(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match=r"required column 'handle' not found \(did you mean 'Handle'\?.*"
                                              r"columns found: 'Handle', 'price'"):
        _run(tmp_path, "cols.csv", b"Handle,price\na,1\n")
    with pytest.raises(DataFormatError, match=r"\('handle;price': a file separated by ';' is read as CSV with ','"):
        _run(tmp_path, "semicolons.csv", b"handle;price\na;1\n")  # a European Excel export
    with pytest.raises(DataFormatError, match=r"a file separated by tabs is read as CSV with ',': name it .tsv"):
        _run(tmp_path, "tabs.csv", b"handle\tprice\na\t1\n")
    # a nested name flattened with '_' (json_normalize(sep="_")): the message names the dotted one
    from handleval.accounts.flag import check_columns

    with pytest.raises(DataFormatError, match=r"did you mean 'public_metrics.tweet_count' for "
                                              r"'public_metrics_tweet_count'\? a nested name is written with a dot"):
        check_columns(["username", "created_at", "public_metrics_tweet_count", "public_metrics_followers_count",
                       "public_metrics_following_count", "public_metrics_like_count"])


def test_unreadable_paths(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="input not found"):
        run_batch(tmp_path / "nope.csv", tmp_path / "out", length_scorer, quiet=True)
    (tmp_path / "emptydir").mkdir()
    with pytest.raises(DataFormatError, match="without Parquet files"):
        run_batch(tmp_path / "emptydir", tmp_path / "out", length_scorer, quiet=True)
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(DataFormatError, match="not a readable Parquet file"):
        run_batch(tmp_path / "bad.parquet", tmp_path / "out", length_scorer, quiet=True)


def test_odd_but_valid_csv_shapes(tmp_path: Path) -> None:
    # BOM, CRLF, duplicate and empty header names, quoted newlines, a 200 KB cell (larger than Python's csv limit)
    big = "y" * 200_000
    data = ("\ufeffhandle,handle,,note\r\n" f'a,b,c,"multi\r\nline"\r\n{big},e,f,g\r\n').encode()
    _, out = _run(tmp_path, "odd.csv", data)
    assert list(out.columns)[:4] == ["handle", "handle.1", "column_3", "note"]
    assert out["handle"].tolist() == ["a", big] and out["note"].tolist() == ["multi\r\nline", "g"]
    _, tsv = _run(tmp_path, "t.tsv", b"handle\tx\na\t1\n")
    assert tsv["x"].tolist() == ["1"]
    _, utf16 = _run(tmp_path, "u16.csv", "handle\nälpha\n".encode("utf-16"))
    assert utf16["handle"].tolist() == ["älpha"]


def test_text_file_one_handle_per_line(tmp_path: Path) -> None:
    _, out = _run(tmp_path, "list", b"\xef\xbb\xbfalice\r\n\n  \nbob\x00\ncarol")
    assert out["handle"].tolist() == ["alice", "", "  ", "bob\x00", "carol"]
    assert out["error"].isna().tolist() == [True, False, False, False, True]


# ------------------------------------------------------------------------------------------------ hypothesis
_cells = st.lists(st.text(max_size=40), min_size=0, max_size=30)
_settings = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@_settings
@given(handles=_cells)
def test_any_unicode_roundtrips_through_csv(tmp_path_factory: pytest.TempPathFactory, handles: list[str]) -> None:
    tmp = tmp_path_factory.mktemp("h")
    (tmp / "in.csv").write_bytes(_csv_bytes(handles))
    summary = run_batch(tmp / "in.csv", tmp / "out", length_scorer, quiet=True, chunk_rows=7)
    out = read_output(tmp / "out")
    assert summary.rows_out == len(handles)
    assert out["handle"].fillna("").tolist() == handles
    assert out["row"].tolist() == [str(i) for i in range(len(handles))]


@_settings
@given(handles=st.lists(st.one_of(st.none(), st.text(max_size=40)), max_size=30))
def test_any_unicode_roundtrips_through_parquet_and_csv_output(tmp_path_factory: pytest.TempPathFactory,
                                                               handles: list[str | None]) -> None:
    tmp = tmp_path_factory.mktemp("h")
    pq.write_table(pa.table({"handle": pa.array(handles, pa.string())}), tmp / "in.parquet")
    run_batch(tmp / "in.parquet", tmp / "out", length_scorer, quiet=True, chunk_rows=5)
    assert [None if pd.isna(v) else v for v in read_output(tmp / "out")["handle"]] == handles
    run_batch(tmp / "in.parquet", tmp / "out.csv", length_scorer, quiet=True, chunk_rows=5)
    back = read_output(tmp / "out.csv")["handle"].tolist()
    assert len(back) == len(handles)
    for original, written in zip(handles, back, strict=True):
        if not original:  # None and "" are both an empty CSV cell
            assert written is None or written == "" or written != written
        elif original[0] in "=+-@\t\r":
            assert written == "'" + original
        else:
            assert written == original


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_handles_that_spell_missing_values_come_back_as_text(tmp_path: Path, fmt: str) -> None:
    """``null``, ``NA``, ``nan``… are names people own; reading the output back must not turn them into NaN."""
    handles = ["null", "NULL", "NA", "N/A", "nan", "NaN", "None", "#N/A", "1.#IND", "", None]
    pq.write_table(pa.table({"handle": pa.array(handles, pa.string())}), tmp_path / "in.parquet")
    run_batch(tmp_path / "in.parquet", tmp_path / f"out.{fmt}", length_scorer, quiet=True)
    back = read_output(tmp_path / f"out.{fmt}")["handle"].tolist()
    assert back[:-2] == handles[:-2]
    assert back[-2] == "" and pd.isna(back[-1])


@pytest.mark.filterwarnings("ignore:.*is empty")
@_settings
@given(handles=st.lists(st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=40),
                        max_size=30))  # a UTF-8 file cannot hold a lone surrogate
def test_any_unicode_roundtrips_through_text_files(tmp_path_factory: pytest.TempPathFactory,
                                                  handles: list[str]) -> None:
    tmp = tmp_path_factory.mktemp("h")
    data = "".join(h + "\n" for h in handles).encode("utf-8")
    (tmp / "in.txt").write_bytes(data)
    if looks_binary(data):  # mostly NUL bytes: refused with one clear message, which is the other allowed outcome
        with pytest.raises(DataFormatError, match="NUL bytes"):
            run_batch(tmp / "in.txt", tmp / "out", length_scorer, quiet=True)
        return
    run_batch(tmp / "in.txt", tmp / "out", length_scorer, quiet=True, chunk_rows=4)
    assert read_output(tmp / "out")["handle"].fillna("").tolist() == [h.removeprefix("\ufeff") if i == 0 else h
                                                                       for i, h in enumerate(handles)]


@pytest.mark.parametrize(("delimiter", "suffix"), [(",", ".csv"), ("\t", ".tsv")])
def test_a_file_whose_quoting_would_merge_rows_is_refused(tmp_path, delimiter, suffix):
    """A cell that starts with a quote and runs on (`"be kind`, `"best" pizza`) took the next rows into it: 4 rows
    in, 2 out, exit 0, and a cell lost its quotes. Properly quoted cells (doubled quotes, line breaks) still read."""
    from handleval.io import open_input

    d = delimiter
    bad = tmp_path / f"bad{suffix}"
    bad.write_text(f"handle{d}note\npizza{d}\"best\" pizza\nnike{d}\"be kind\ncarol{d}just me\ndave{d}I said \"hi\"\n")
    with pytest.raises(DataFormatError, match="row starting at line 2 is quoted wrongly"):
        list(open_input(bad).chunks(10))
    from handleval.cli import app
    from tests._helpers import cli_runner

    for out in (tmp_path / "out", tmp_path / "out.csv"):  # refused before any output is made
        refused = cli_runner().invoke(app, ["predict", str(bad), "-o", str(out)])
        assert refused.exit_code == 2 and "quoted wrongly" in refused.output, refused.output
    assert sorted(p.name for p in tmp_path.iterdir()) == [bad.name]
    good = tmp_path / f"good{suffix}"
    good.write_text(f'handle{d}note\npizza{d}"a ""good"" one"\nnike{d}"two\nlines"\nx{d}say "hi"\n')
    rows = pd.concat(c.frame for c in open_input(good).chunks(10))
    assert rows["note"].tolist() == ['a "good" one', "two\nlines", 'say "hi"']


def test_a_directory_input_refuses_files_of_rows_it_would_leave_out(tmp_path):
    """A directory of one Parquet part, a CSV and an NDJSON file read 1 of its 4 rows, exit 0, no warning."""
    from handleval.io import open_input

    pd.DataFrame({"handle": ["pizza"]}).to_parquet(tmp_path / "part-0.parquet")
    (tmp_path / "README.md").write_text("notes\n")  # not rows: no reason to refuse
    (tmp_path / "dataset_info.json").write_text('{\n  "rows": 1\n}\n')  # a JSON document, not NDJSON
    assert open_input(tmp_path).columns == ["handle"]
    (tmp_path / "more.txt").write_text("nike\nadidas\n")  # handles, one per line
    with pytest.raises(DataFormatError, match=r"not Parquet \(more\.txt\)"):
        open_input(tmp_path)
    (tmp_path / "more.txt").unlink()
    (tmp_path / "day=2").mkdir()
    (tmp_path / "day=2" / "more.csv.gz").write_bytes(b"")
    (tmp_path / "part-2.ndjson").write_text('{"handle": "nike"}\n')
    with pytest.raises(DataFormatError, match=r"not Parquet \(day=2/more\.csv\.gz, part-2\.ndjson\)"):
        open_input(tmp_path)


def test_a_column_of_integers_in_one_part_and_floats_in_another_loses_no_digit(tmp_path):
    """pandas writes an all-missing id column as floats: with a part of 64-bit ids beside it, the run stopped
    with a traceback (Arrow refused to cast 1234567890123456789 to a double)."""
    from handleval.io import open_input

    pd.DataFrame({"handle": ["pizza"], "id": [1234567890123456789]}).to_parquet(tmp_path / "day=1.parquet")
    pd.DataFrame({"handle": ["nike"], "id": [np.nan]}).to_parquet(tmp_path / "day=2.parquet")
    rows = pd.concat(c.frame for c in open_input(tmp_path).chunks(10))
    assert rows["id"].tolist()[0] == "1234567890123456789" and pd.isna(rows["id"].tolist()[1])
    # ordinary counts (an int part, a float part with a gap) stay numbers: a double holds them exactly
    pd.DataFrame({"handle": ["pizza"], "n": [5]}).to_parquet(tmp_path / "day=1.parquet")
    pd.DataFrame({"handle": ["nike"], "n": [np.nan]}).to_parquet(tmp_path / "day=2.parquet")
    assert open_input(tmp_path).schema.field("n").type == pa.float64()


def test_a_line_nested_too_deeply_or_a_damaged_row_group_is_a_message_not_a_crash(tmp_path):
    """An NDJSON line nested 100,000 levels deep raised Python's RecursionError; it is that row's error now. A
    Parquet row group whose pages are damaged (its footer whole) read as a failed write of the output; the message
    names the input file and row group."""
    deep = "[" * 100_000 + "]" * 100_000
    summary, out = _run(tmp_path, "deep.ndjson", f'{{"handle": "google"}}\n{deep}\n{{"handle": "x"}}\n'.encode())
    assert out["handle"].fillna("").tolist() == ["google", "", "x"] and summary.rows_out == 3
    assert out["error"].tolist()[1] == "line 2 is nested too deeply to read"
    long = '{"handle": "pizza", "n": ' + "9" * 5_000 + "}"  # past Python's 4,300 digits: it stopped the whole run
    _, out = _run(tmp_path, "long.ndjson", f'{{"handle": "google"}}\n{long}\n{{"handle": "x"}}\n'.encode())
    assert out["error"].tolist()[1] == "line 2 holds a number too long to read" and out["error"].isna().sum() == 2
    path = tmp_path / "damaged.parquet"
    pq.write_table(pa.table({"handle": [f"name{i}" for i in range(3_000)]}), path, row_group_size=1_000)
    column = pq.ParquetFile(path).metadata.row_group(1).column(0)
    data = bytearray(path.read_bytes())
    for at in range(column.data_page_offset + 20, column.data_page_offset + column.total_compressed_size - 20, 7):
        data[at] ^= 0x5A
    path.write_bytes(bytes(data))
    with pytest.raises(DataFormatError, match=r"damaged\.parquet: row group 1 cannot be read"):
        run_batch(path, tmp_path / "out_damaged", length_scorer, quiet=True, chunk_rows=500)


def test_an_output_without_a_name_a_huge_chunk_or_a_scheduler_without_dask_are_refused(tmp_path):
    """``-o .`` (or ``-o ''``, ``-o /``) raised ValueError from pathlib; ``--chunk-rows 10**20`` an OverflowError
    in pyarrow; ``--scheduler`` without ``--engine dask`` was ignored without a word."""
    from handleval.cli import app
    from tests._helpers import cli_runner

    handles = tmp_path / "h.csv"
    handles.write_text("handle\nabc\n")
    runner = cli_runner()
    for output in (".", "", "/"):
        result = runner.invoke(app, ["predict", str(handles), "-o", output, "-q"])
        assert result.exit_code == 2 and "has no name of its own" in result.output, result.output
    for extra, message in ((["--chunk-rows", str(10**20)], "chunk_rows must be 1 to 100,000,000"),
                           (["--scheduler", "tcp://127.0.0.1:1"], "needs the dask engine")):
        result = runner.invoke(app, ["predict", str(handles), "-o", str(tmp_path / "out.csv"), "-q", *extra])
        assert result.exit_code == 2 and message in result.output, result.output
    assert not (tmp_path / "out.csv").exists()


def test_two_keys_of_one_ndjson_object_that_read_as_one_column_are_that_rows_error(tmp_path):
    """``{"meta.x": "flat", "meta": {"x": "nested"}}`` kept one value and lost the other without a word."""
    lines = ['{"handle": "a", "meta.x": "flat", "meta": {"x": "nested"}}', '{"handle": "b", "meta": {"x": "1"}}',
             '{"handle": "c", "meta": {"x": "2"}, "meta.x": "flat"}',
             '{"handle": "d", "meta.y": "1", "meta": {"x": 3}}']
    summary, out = _run(tmp_path, "clash.ndjson", ("\n".join(lines) + "\n").encode())
    assert summary.rows_out == 4 and out["handle"].fillna("").tolist() == ["", "b", "", "d"]
    errors = out["error"].tolist()
    assert errors[0] == ("line 1: two of its keys read as the column 'meta.x' (a dotted key and a nested one); "
                         "rename one")
    assert errors[2].startswith("line 3: two of its keys read as the column 'meta.x'")
    assert out["error"].isna().tolist() == [False, True, False, True]
    # in an API page or array, only that user is an error row: the others on the line are kept
    clash = {"handle": "x", "meta.x": 1, "meta": {"x": 2}}
    page = json.dumps({"data": [{"handle": "u1"}, clash, {"handle": "u3"}]})
    array = json.dumps([{"handle": "u4"}, clash, 7, {"handle": "u6"}])
    summary, out = _run(tmp_path, "page.ndjson", f"{page}\n{array}\n".encode())
    assert out["handle"].fillna("").tolist() == ["u1", "", "u3", "u4", "", "", "u6"] and summary.rows_out == 7
    assert out["error"].fillna("").tolist() == [
        "", "line 1, user 2 of its data list: two of its keys read as the column 'meta.x' (a dotted key and a nested "
        "one); rename one", "", "", "line 2, element 2 of its array: two of its keys read as the column 'meta.x' "
        "(a dotted key and a nested one); rename one", "line 2, element 3 of its array is not a JSON object", ""]


def test_utf16_json_lines_are_refused_with_how_to_convert_them(tmp_path):
    """PowerShell writes UTF-16: such a file read as "required column 'handle' not found; columns found: none"."""
    for bom in (True, False):
        path = tmp_path / f"users{int(bom)}.ndjson"
        path.write_bytes(('{"handle": "pizza"}\n').encode("utf-16" if bom else "utf-16-le"))
        with pytest.raises(DataFormatError, match=r"is UTF-16 text; JSON lines are read as UTF-8: convert it"):
            run_batch(path, tmp_path / f"out{int(bom)}", length_scorer, quiet=True)


def test_json_lines_of_which_none_can_be_read_say_why_not_which_column_is_missing(tmp_path):
    """A file whose only line is no valid JSON read as "lacks required column(s)" (flag) or "required column
    'handle' not found; columns found: none" (predict): the first unreadable line is the file's problem."""
    path = tmp_path / "broken.ndjson"
    path.write_text('{not json\n["also", "not", "an object"\n', encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"no line of it could be read as a record; the first: line 1 is not "
                                              r"valid JSON"):
        run_batch(path, tmp_path / "out", length_scorer, quiet=True)
