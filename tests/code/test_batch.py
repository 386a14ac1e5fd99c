"""The batch engine: exactly-once parts, resume after SIGKILL, overwrite rules, Dask == local, progress bar.

Real components only: real files, the real scorer functions in ``batch_scorers.py``, real subprocesses killed
with SIGKILL, a real dask ``LocalCluster``.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import dask
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from handleval.batch import (
    JOURNAL,
    MANIFEST,
    SUCCESS,
    Manifest,
    OutputExistsError,
    ScorerError,
    read_output,
    run_batch,
    run_batch_to_file,
    score_frame,
)
from handleval.errors import DataFormatError, HandlevalError
from tests._helpers import checkout_env
from tests.code.batch_scorers import fragile_scorer, length_scorer

HERE = Path(__file__).resolve().parent  # on a child's PYTHONPATH: the scorers here import as ``batch_scorers``


def _handles(n: int) -> list[str]:
    return [f"{i:07d}" if i % 3 == 0 else f"user_{i}" for i in range(n)]


def _write_csv(path: Path, handles: list[str]) -> None:
    path.write_text("handle,rank\n" + "".join(f"{h},{i}\n" for i, h in enumerate(handles)), encoding="utf-8")


def test_csv_streams_in_parts_keeping_every_row_as_text_in_order(tmp_path: Path) -> None:
    handles = _handles(2_500)
    _write_csv(tmp_path / "in.csv", handles)
    summary = run_batch(tmp_path / "in.csv", tmp_path / "out", length_scorer, chunk_rows=1_000, quiet=True)
    assert (summary.rows_in, summary.rows_out, summary.parts, summary.errors) == (2_500, 2_500, 3, 0)
    out = read_output(tmp_path / "out", verify=True)
    assert out["handle"].tolist() == handles  # '0000000' stays text, order kept
    assert out["rank"].tolist() == [str(i) for i in range(2_500)]
    assert list(out.columns) == ["handle", "rank", "length", "normalised", "error"]
    manifest = json.loads((tmp_path / "out" / MANIFEST).read_text())
    assert manifest["complete"] and manifest["rows"] == 2_500
    assert [(p["index"], p["row_start"], p["rows"]) for p in manifest["parts"]] == [
        (0, 0, 1000), (1, 1000, 1000), (2, 2000, 500)]
    assert all(len(p["sha256"]) == 64 and 0 < p["cpu_seconds"] <= p["seconds"] + 0.01 for p in manifest["parts"])
    assert sum(p["seconds"] for p in manifest["parts"]) <= summary.seconds
    assert sorted(f.name for f in (tmp_path / "out").iterdir()) == sorted([
        MANIFEST, SUCCESS, "part-00000.parquet", "part-00001.parquet", "part-00002.parquet"])


def test_existing_output_is_never_silently_overwritten(tmp_path: Path) -> None:
    _write_csv(tmp_path / "in.csv", ["a", "b"])
    run_batch(tmp_path / "in.csv", tmp_path / "out", length_scorer, quiet=True)
    with pytest.raises(OutputExistsError, match=r"--resume.*--overwrite"):
        run_batch(tmp_path / "in.csv", tmp_path / "out", length_scorer, quiet=True)
    _write_csv(tmp_path / "in.csv", ["c"])
    run_batch(tmp_path / "in.csv", tmp_path / "out", length_scorer, quiet=True, overwrite=True)
    assert read_output(tmp_path / "out")["handle"].tolist() == ["c"]
    # overwrite never deletes files handleval did not write
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "thesis.docx").write_text("precious")
    with pytest.raises(OutputExistsError, match="did not write"):
        run_batch(tmp_path / "in.csv", foreign, length_scorer, quiet=True, overwrite=True)
    with pytest.raises(OutputExistsError, match=r"holds other files \(e.g. 'thesis.docx'\): choose another output$"):
        run_batch(tmp_path / "in.csv", foreign, length_scorer, quiet=True, resume=True)  # not --overwrite: refused
    assert (foreign / "thesis.docx").read_text() == "precious"
    # nor names like ours without our manifest (a Spark output), nor beside it a file or folder we do not name so
    spark = tmp_path / "spark"
    spark.mkdir()
    for name in ("part-00000-1b2c3d4e-c000.snappy.parquet", SUCCESS):
        (spark / name).write_text("theirs")
    ours = tmp_path / "out"
    (ours / "part-notes.txt").write_text("mine")
    for target in (spark, ours):
        with pytest.raises(OutputExistsError, match="did not write"):
            run_batch(tmp_path / "in.csv", target, length_scorer, quiet=True, overwrite=True)
    assert sorted(f.name for f in spark.iterdir()) == [SUCCESS, "part-00000-1b2c3d4e-c000.snappy.parquet"]
    (ours / "part-notes.txt").unlink()
    (ours / "part-00007.parquet").mkdir()
    (ours / "part-00007.parquet" / "thesis.docx").write_text("precious")
    with pytest.raises(OutputExistsError, match=r"part-00007\.parquet"):
        run_batch(tmp_path / "in.csv", ours, length_scorer, quiet=True, overwrite=True)
    assert (ours / "part-00007.parquet" / "thesis.docx").read_text() == "precious"
    # a run of ours whose manifest is damaged, or was killed writing its first one, is ours to start again
    (ours / "part-00007.parquet" / "thesis.docx").unlink()
    (ours / "part-00007.parquet").rmdir()
    (ours / MANIFEST).write_text('{"format": "handleval-ba')
    killed = tmp_path / "killed"
    killed.mkdir()
    (killed / f".{MANIFEST}.tmp-4242").write_text("{")
    for target in (ours, killed):
        run_batch(tmp_path / "in.csv", target, length_scorer, quiet=True, overwrite=True)
        assert read_output(target)["handle"].tolist() == ["c"]


def _finished_five_parts(tmp_path: Path) -> tuple[Path, pd.DataFrame]:
    """A finished run of 5,000 handles in 5 parts (``tmp_path/in.csv`` into ``tmp_path/out``) and its output."""
    _write_csv(tmp_path / "in.csv", _handles(5_000))
    out = tmp_path / "out"
    run_batch(tmp_path / "in.csv", out, length_scorer, chunk_rows=1_000, quiet=True)
    return out, read_output(out)


def test_resume_redoes_damaged_and_unfinished_parts_only(tmp_path: Path) -> None:
    out, expected = _finished_five_parts(tmp_path)
    # Simulate a crash: part 3 never reached the manifest, part 1 got damaged, a temp file was left behind.
    manifest = json.loads((out / MANIFEST).read_text())
    manifest["parts"] = [p for p in manifest["parts"] if p["index"] != 3]
    manifest["complete"] = False
    (out / MANIFEST).write_text(json.dumps(manifest))
    (out / SUCCESS).unlink()
    (out / "part-00001.parquet").write_bytes(b"garbage")
    (out / ".part-00004.parquet.tmp-999").write_bytes(b"half")
    with pytest.raises(HandlevalError, match="incomplete"):
        read_output(out)
    with pytest.warns(UserWarning, match="part-00001.parquet is missing or damaged"):
        summary = run_batch(tmp_path / "in.csv", out, length_scorer, chunk_rows=1_000, quiet=True, resume=True)
    assert (summary.parts, summary.parts_reused, summary.rows_scored) == (5, 3, 2_000)
    pd.testing.assert_frame_equal(read_output(out, verify=True), expected)
    assert not list(out.glob(".*tmp*"))


def test_a_torn_last_journal_line_is_redone_and_a_damaged_one_stops_the_resume(tmp_path: Path) -> None:
    out, expected = _finished_five_parts(tmp_path)
    assert not (out / JOURNAL).exists()  # folded into the manifest at the end
    # A kill during a run: parts 0-1 in the manifest, 2-3 journal lines, part 4's line torn by the kill.
    manifest = json.loads((out / MANIFEST).read_text())
    records = manifest["parts"]
    manifest.update(parts=records[:2], complete=False)
    (out / MANIFEST).write_text(json.dumps(manifest))
    lines = [json.dumps(r) + "\n" for r in records[2:]]
    (out / JOURNAL).write_text(lines[0] + lines[1] + lines[2][:40])
    (out / SUCCESS).unlink()
    assert sorted(Manifest.load(out).parts) == [0, 1, 2, 3]  # type: ignore[union-attr]
    assert sorted(read_output(out, allow_incomplete=True)["rank"].astype(int)) == list(range(4_000))

    summary = run_batch(tmp_path / "in.csv", out, length_scorer, chunk_rows=1_000, quiet=True, resume=True)
    assert (summary.parts, summary.parts_reused, summary.rows_scored) == (5, 4, 1_000)
    pd.testing.assert_frame_equal(read_output(out, verify=True), expected)
    assert not (out / JOURNAL).exists()
    assert [p["index"] for p in json.loads((out / MANIFEST).read_text())["parts"]] == [0, 1, 2, 3, 4]

    # A power cut can also leave whole lines of zeros at the end: ignored like a torn line.
    manifest.update(parts=records[:2])
    (out / MANIFEST).write_text(json.dumps(manifest))
    (out / JOURNAL).write_text(lines[0] + lines[1] + "\0" * 30 + "\n" + "\0" * 5 + "\n")
    (out / SUCCESS).unlink()
    summary = run_batch(tmp_path / "in.csv", out, length_scorer, chunk_rows=1_000, quiet=True, resume=True)
    assert (summary.parts_reused, summary.rows_scored) == (4, 1_000)
    pd.testing.assert_frame_equal(read_output(out, verify=True), expected)

    # Damage before a good line cannot come from a crash: an error, not a silent redo. So is a record that
    # parses but is not a part record, and a damaged record in the manifest itself.
    wrong_shape = json.dumps({**records[2], "index": "2"}) + "\n"
    for journal, damaged in ((lines[0][:-9] + "\n" + lines[1], "line 1"), (wrong_shape + lines[1], "line 1"),
                             (lines[0] + wrong_shape + lines[2], "line 2")):
        (out / MANIFEST).write_text(json.dumps(manifest))
        (out / JOURNAL).write_text(journal)
        (out / SUCCESS).unlink(missing_ok=True)
        with pytest.raises(HandlevalError, match=rf"manifest.parts.jsonl {damaged} is damaged.*--overwrite"):
            run_batch(tmp_path / "in.csv", out, length_scorer, chunk_rows=1_000, quiet=True, resume=True)
    (out / JOURNAL).unlink()
    (out / MANIFEST).write_text(json.dumps({**manifest, "parts": [records[0], {**records[1], "sha256": None}]}))
    with pytest.raises(HandlevalError, match=r"_manifest.json has a damaged part record.*--overwrite"):
        read_output(out, allow_incomplete=True)


def test_resume_keeps_the_runs_own_chunk_size_beyond_todays_bound(tmp_path: Path) -> None:
    """A run begun with --chunk-rows above today's bound (100 million) resumes as it began: the bound is for a size
    given now, and the run's own may not change on resume."""
    _write_csv(tmp_path / "in.csv", ["a", "b"])
    run_batch(tmp_path / "in.csv", tmp_path / "out", length_scorer, quiet=True)
    manifest = json.loads((tmp_path / "out" / MANIFEST).read_text())
    manifest["layout"]["chunk_rows"], manifest["complete"] = 200_000_000, False
    (tmp_path / "out" / MANIFEST).write_text(json.dumps(manifest))
    (tmp_path / "out" / SUCCESS).unlink()
    run_batch(tmp_path / "in.csv", tmp_path / "out", length_scorer, quiet=True, resume=True)
    assert read_output(tmp_path / "out")["handle"].tolist() == ["a", "b"]
    with pytest.raises(HandlevalError, match="chunk_rows must be 1 to 100,000,000"):
        run_batch(tmp_path / "in.csv", tmp_path / "new", length_scorer, quiet=True, chunk_rows=200_000_000)


def test_resume_refuses_a_different_input(tmp_path: Path) -> None:
    _write_csv(tmp_path / "in.csv", _handles(100))
    run_batch(tmp_path / "in.csv", tmp_path / "out", length_scorer, quiet=True)
    _write_csv(tmp_path / "in.csv", _handles(101))
    with pytest.raises(HandlevalError, match="input differs"):
        run_batch(tmp_path / "in.csv", tmp_path / "out", length_scorer, quiet=True, resume=True)


def test_resume_refuses_another_scorer_so_one_output_never_mixes_two(tmp_path: Path) -> None:
    _write_csv(tmp_path / "in.csv", _handles(300))
    run_batch(tmp_path / "in.csv", tmp_path / "out", length_scorer, chunk_rows=100, quiet=True,
              scoring={"bundle": "a", "platform": "x"})
    with pytest.raises(HandlevalError, match=r"scorer \(model, platform and options\) differs"):
        run_batch(tmp_path / "in.csv", tmp_path / "out", length_scorer, quiet=True, resume=True,
                  scoring={"bundle": "a", "platform": "domain"})
    again = run_batch(tmp_path / "in.csv", tmp_path / "out", length_scorer, quiet=True, resume=True,
                      scoring={"platform": "x", "bundle": "a"})
    assert again.already_complete


def test_a_directory_output_reads_as_one_table_when_only_some_parts_have_errors(tmp_path: Path) -> None:
    """A part without errors has an all-empty error column: it is text there too, not Arrow's "null" type, so
    pandas and pyarrow read the directory as one table (they refused to cast string to null)."""
    handles = ["ok_1", "ok_2", "ok_3", "boom", "ok_4", "ok_5"]
    _write_csv(tmp_path / "in.csv", handles)
    summary = run_batch(tmp_path / "in.csv", tmp_path / "out", fragile_scorer, chunk_rows=2, quiet=True)
    assert summary.parts == 3 and summary.errors == 1
    parts = sorted((tmp_path / "out").glob("part-*.parquet"))
    assert {str(pq.read_schema(part).field("error").type) for part in parts} == {"string"}
    direct = pd.read_parquet(tmp_path / "out")
    assert direct["handle"].tolist() == handles
    assert direct["error"].isna().tolist() == read_output(tmp_path / "out")["error"].isna().tolist()


def test_a_repeated_header_name_never_takes_a_name_the_header_has(tmp_path: Path) -> None:
    (tmp_path / "in.csv").write_text("handle,handle,handle.1,\npizza,a,b,c\n", encoding="utf-8")
    with pytest.warns(Warning, match="column 2 'handle' as 'handle.2'"):
        summary = run_batch(tmp_path / "in.csv", tmp_path / "out", length_scorer, quiet=True)
    out = read_output(tmp_path / "out")
    assert list(out.columns[:4]) == ["handle", "handle.2", "handle.1", "column_4"]  # the user's handle.1 kept
    assert out.loc[0, ["handle", "handle.2", "handle.1", "column_4"]].tolist() == ["pizza", "a", "b", "c"]
    assert any("must be unique" in w for w in summary.warnings)


def test_a_scorer_refusing_the_inputs_columns_stops_the_run(tmp_path: Path) -> None:
    """value_many's refusal to overwrite a `risk` column was taken for rows that break the scorer: the chunk was
    bisected and every row got the refusal as its error (exit 0), or a large input stopped as "a broken scorer"."""
    from handleval.errors import ColumnCollisionError

    source = tmp_path / "h.csv"
    source.write_text("handle,risk\npizza,mine\nnike,mine too\n")
    with pytest.raises(ColumnCollisionError, match=r"risk.*prefix='hv_'"):
        run_batch(source, tmp_path / "out", scorer_factory=("handleval.price.predict", "batch_scorer",
                                                             {"reasons": False}), quiet=True)


@pytest.mark.skipif(not Path("/dev/shm").is_dir(), reason="no /dev/shm")
def test_a_regular_file_under_dev_is_read_again_each_time(tmp_path: Path) -> None:
    """Files under /dev are copied before reading (pipes can be read once); a pipe's copy serves the process, but
    a regular file under /dev/shm rewritten in place gave its old rows."""
    from handleval.io import open_input

    shm = Path("/dev/shm") / f"handleval-test-{os.getpid()}.csv"
    try:
        shm.write_text("handle\nold\n")
        first = next(open_input(shm).chunks(10)).frame["handle"].tolist()
        shm.write_text("handle\nnew\n")
        assert first == ["old"] and next(open_input(shm).chunks(10)).frame["handle"].tolist() == ["new"]
    finally:
        shm.unlink(missing_ok=True)


def test_a_column_clash_suggests_a_prefix_no_input_column_has() -> None:
    from handleval.batch import check_output_columns
    from handleval.errors import ColumnCollisionError

    with pytest.raises(ColumnCollisionError, match="--prefix hv_\\)"):
        check_output_columns(["handle", "length"], ["length", "error"])
    with pytest.raises(ColumnCollisionError, match="--prefix hv2_\\)"):  # hv_ is taken: suggesting it again was no help
        check_output_columns(["handle", "hv_length"], ["hv_length", "hv_error"])


def test_resume_of_a_finished_run_rescores_nothing(tmp_path: Path) -> None:
    _write_csv(tmp_path / "in.csv", _handles(300))
    run_batch(tmp_path / "in.csv", tmp_path / "out", length_scorer, chunk_rows=100, quiet=True)
    summary = run_batch(tmp_path / "in.csv", tmp_path / "out", length_scorer, chunk_rows=100, quiet=True,
                        resume=True)
    assert (summary.rows_scored, summary.parts_reused, summary.rows_out) == (0, 3, 300)


def test_a_row_the_scorer_raises_on_costs_that_row_only(tmp_path: Path) -> None:
    handles = ["ok_1", "boom", "ok_2", "ok_3", "boom", "ok_4"]
    _write_csv(tmp_path / "in.csv", handles)
    summary = run_batch(tmp_path / "in.csv", tmp_path / "out", fragile_scorer, quiet=True)
    out = read_output(tmp_path / "out")
    assert out["handle"].tolist() == handles
    assert summary.errors == 2
    assert out["error"].isna().tolist() == [True, False, True, True, False, True]
    assert "RuntimeError: boom" in out["error"][1]
    assert out["normalised"].tolist()[2] == "ok_2"


def test_a_scorer_that_drops_rows_or_always_fails_stops_the_run(tmp_path: Path) -> None:
    _write_csv(tmp_path / "in.csv", _handles(200))
    with pytest.raises(ScorerError, match="returned 1 rows for 200"):
        run_batch(tmp_path / "in.csv", tmp_path / "a", lambda f: f.head(1), quiet=True)

    def broken(frame: pd.DataFrame) -> pd.DataFrame:
        raise KeyError("model_v2")

    with pytest.raises(ScorerError, match="broken scorer"):
        run_batch(tmp_path / "in.csv", tmp_path / "b", broken, quiet=True)
    # rows returned reversed with their own index labels: each value went on another row, at exit 0
    with pytest.raises(ScorerError, match="returned its rows in another order"):
        run_batch(tmp_path / "in.csv", tmp_path / "c", lambda f: length_scorer(f).iloc[::-1], quiet=True)


def test_csv_output_neutralises_formulas_but_not_numbers(tmp_path: Path) -> None:
    handles = ["=HYPERLINK(\"http://x\")", "+1", "-2", "@sum", "\tx", "plain", "a=b"]
    pq.write_table(pa.table({"handle": handles, "score": [-1.5, 2, -3, 4, 5, 6, 7]}), tmp_path / "in.parquet")
    run_batch(tmp_path / "in.parquet", tmp_path / "out.csv", length_scorer, quiet=True)
    text = (tmp_path / "out.csv" / "part-00000.csv").read_text()
    assert "-1.5" in text and "'-1.5" not in text  # numeric column untouched
    out = read_output(tmp_path / "out.csv")
    assert out["handle"].tolist() == ["'" + h for h in handles[:5]] + ["plain", "a=b"]
    assert out["normalised"].isna().all() or "'" not in "".join(out["normalised"].dropna())


def test_parquet_input_keeps_types_and_none_cells(tmp_path: Path) -> None:
    table = pa.table({"handle": ["a", None, "c"], "n": pa.array([1, 2, None], pa.int64())})
    pq.write_table(table, tmp_path / "in.parquet")
    run_batch(tmp_path / "in.parquet", tmp_path / "out", length_scorer, quiet=True)
    out = read_output(tmp_path / "out")
    assert out["n"].isna().tolist() == [False, False, True]
    assert out["error"].notna().tolist() == [False, True, False]


def test_header_only_input_gives_empty_output_with_scorer_columns(tmp_path: Path) -> None:
    (tmp_path / "in.csv").write_text("handle,platform\n")
    summary = run_batch(tmp_path / "in.csv", tmp_path / "out", length_scorer, quiet=True)
    out = read_output(tmp_path / "out")
    assert summary.rows_out == 0 and (tmp_path / "out" / SUCCESS).exists()
    assert list(out.columns) == ["handle", "platform", "length", "normalised", "error"]


def test_score_frame_keeps_malformed_rows_unscored_in_place() -> None:
    frame = pd.DataFrame({"handle": ["a", "b", "c"]})
    out = score_frame(frame, length_scorer, [None, "malformed CSV row", None])
    assert out["handle"].tolist() == ["a", "b", "c"]
    assert out["error"].tolist() == [None, "malformed CSV row", None]
    assert pd.isna(out["length"][1]) and out["length"][2] == 1


def test_output_inside_input_is_refused(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    pq.write_table(pa.table({"handle": ["a"]}), tmp_path / "d" / "p.parquet")
    with pytest.raises(HandlevalError, match="must not be the input"):
        run_batch(tmp_path / "d", tmp_path / "d" / "out", length_scorer, quiet=True)


def test_a_files_own_column_wins_over_its_key_value_directory(tmp_path: Path) -> None:
    """platform=telegram/p.parquet with rows of platform x and instagram came back all 'telegram' (and were
    priced there): the directory's value fills only a column the file lacks."""
    own, bare = tmp_path / "ds" / "platform=telegram", tmp_path / "ds" / "platform=instagram"
    own.mkdir(parents=True)
    bare.mkdir(parents=True)
    pq.write_table(pa.table({"handle": ["aaaa1", "bbbb2"], "platform": ["x", "instagram"]}), own / "p.parquet")
    pq.write_table(pa.table({"handle": ["cccc3"]}), bare / "q.parquet")
    run_batch(tmp_path / "ds", tmp_path / "out", length_scorer, quiet=True)
    out = read_output(tmp_path / "out").set_index("handle")
    assert out["platform"].to_dict() == {"aaaa1": "x", "bbbb2": "instagram", "cccc3": "instagram"}


def test_a_parquet_file_saved_with_a_pandas_index_is_read_with_it_as_a_column(tmp_path: Path) -> None:
    """pandas' to_parquet keeps a non-default index: reading it gave 'Length mismatch' tracebacks."""
    pd.DataFrame({"handle": ["pizza", "nike"]}, index=pd.Index([100, 7], name="myid")).to_parquet(
        tmp_path / "idx.parquet")
    run_batch(tmp_path / "idx.parquet", tmp_path / "out", length_scorer, quiet=True)
    out = read_output(tmp_path / "out")
    assert out["handle"].tolist() == ["pizza", "nike"] and out["myid"].tolist() == [100, 7]


def test_a_parquet_file_with_two_columns_of_one_name_is_refused(tmp_path: Path) -> None:
    """pyarrow's KeyError ('Field "handle" exists 2 times in schema') was a traceback."""
    table = pa.Table.from_arrays([pa.array(["a"]), pa.array(["b"])], names=["handle", "handle"])
    pq.write_table(table, tmp_path / "twice.parquet")
    with pytest.raises(DataFormatError, match="more than one column named 'handle'"):
        run_batch(tmp_path / "twice.parquet", tmp_path / "out", length_scorer, quiet=True)


def test_a_json_file_is_read_as_ndjson_or_refused_saying_how_to_convert_it(tmp_path: Path) -> None:
    """An API response saved as .json was read as one handle per line ("lacks required column(s)"): one object
    per line is NDJSON; a document over several lines is refused with the conversion."""
    lines = tmp_path / "page.json"
    lines.write_text(json.dumps({"data": [{"handle": "pizza"}, {"handle": "nike"}]}) + "\n")
    run_batch(lines, tmp_path / "out", length_scorer, quiet=True)
    assert read_output(tmp_path / "out")["handle"].tolist() == ["pizza", "nike"]
    pretty = tmp_path / "pretty.json"
    pretty.write_text(json.dumps({"data": [{"handle": "pizza"}]}, indent=2))
    with pytest.raises(DataFormatError, match=r"not one JSON object per line.*jq -c"):
        run_batch(pretty, tmp_path / "out2", length_scorer, quiet=True)


def test_a_one_file_run_that_made_nothing_leaves_no_hidden_record(tmp_path: Path) -> None:
    """A run refused before scoring (here: the input lacks the required column) left an empty .x.csv.run.json."""
    source = tmp_path / "h.csv"
    source.write_text("name\npizza\n")
    with pytest.raises(DataFormatError):
        run_batch_to_file(source, tmp_path / "x.csv", score_chunk=length_scorer, quiet=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["h.csv"]
    # refused because the output is a file of the user's: nothing beside it either (an empty record was left)
    (tmp_path / "mine.csv").write_text("my report\n")
    with pytest.raises(OutputExistsError):
        run_batch_to_file(source, tmp_path / "mine.csv", score_chunk=length_scorer, quiet=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["h.csv", "mine.csv"]
    assert (tmp_path / "mine.csv").read_text() == "my report\n"


def test_a_join_killed_before_leaves_no_temporary_file_after_the_resume(tmp_path: Path) -> None:
    """A kill during the final join left .x.csv.tmp-<pid> (14 MB in the report), and a successful --resume kept it."""
    source = tmp_path / "h.csv"
    source.write_text("handle\npizza\nnike\n")
    (tmp_path / ".x.csv.tmp-99999").write_text("half a file")
    run_batch_to_file(source, tmp_path / "x.csv", score_chunk=length_scorer, quiet=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".x.csv.run.json", "h.csv", "x.csv"]


def test_a_file_output_in_a_missing_folder_names_the_folder(tmp_path: Path) -> None:
    """`-o /nonexist/dir/x.csv` named the hidden record '.x.csv.run.json' it could not create."""
    source = tmp_path / "h.csv"
    source.write_text("handle\npizza\n")
    with pytest.raises(HandlevalError, match=f"cannot write .*x.csv: its folder {tmp_path / 'nowhere'} does not"):
        run_batch_to_file(source, tmp_path / "nowhere" / "x.csv", score_chunk=length_scorer, quiet=True)


def test_resuming_a_run_whose_manifest_lost_its_layout_is_one_message(tmp_path: Path) -> None:
    """A run manifest edited to "layout": null made --resume fail with an AttributeError."""
    source = tmp_path / "h.csv"
    source.write_text("handle\npizza\nnike\n")
    run_batch(source, tmp_path / "out", length_scorer, quiet=True)
    manifest = json.loads((tmp_path / "out" / MANIFEST).read_text())
    (tmp_path / "out" / MANIFEST).write_text(json.dumps({**manifest, "layout": None}))
    with pytest.raises(HandlevalError, match=r"cannot resume .*--overwrite"):
        run_batch(source, tmp_path / "out", length_scorer, resume=True, quiet=True)


def test_ndjson_that_is_not_utf8_is_read_as_latin1_and_said(tmp_path: Path) -> None:
    """A Latin-1 'é' became U+FFFD without a word (CSV and text files say so): read as Latin-1, warned."""
    source = tmp_path / "bad.ndjson"
    source.write_bytes(b'{"handle": "al\xe9ice"}\n{"handle": "bob"}\n')
    summary = run_batch(source, tmp_path / "out", length_scorer, quiet=True)
    assert read_output(tmp_path / "out")["handle"].tolist() == ["al\u00e9ice", "bob"]
    assert any("not valid UTF-8 and were decoded as Windows-1252 (first at line 1)" in w for w in summary.warnings)


def test_parquet_input_columns_come_back_with_their_own_types_and_values(tmp_path: Path) -> None:
    """Through pandas, a float NaN came back null, decimal128(10, 2) as (3, 2) and a map column as its Python
    text: a Parquet output now writes the input's columns as they were read."""
    import decimal

    table = pa.table({"handle": ["pizza", "nike"], "f": pa.array([1.5, float("nan")]),
                      "d": pa.array([decimal.Decimal("1.25"), None], pa.decimal128(10, 2)),
                      "m": pa.array([[("a", 1)], []], pa.map_(pa.string(), pa.int64())),
                      "i": pa.array([7, None], pa.int64())})
    pq.write_table(table, tmp_path / "in.parquet")
    for out in (tmp_path / "parts", tmp_path / "one.parquet"):
        if out.suffix:
            run_batch_to_file(tmp_path / "in.parquet", out, score_chunk=length_scorer, output_format="parquet",
                              output_columns=["length"], quiet=True)
        else:
            run_batch(tmp_path / "in.parquet", out, length_scorer, output_columns=["length"], quiet=True)
        written = pq.read_table(out)
        back = written.select(table.column_names)
        assert back.schema.equals(table.schema), back.schema
        assert [str(c.to_pylist()) for c in back.columns] == [str(c.to_pylist()) for c in table.columns]  # nan
        assert written.column("length").to_pylist() == [5, 4]


# ------------------------------------------------------------------------------------------------ slow
def _partitioned_dataset(root: Path) -> list[str]:
    handles = []
    for i, (platform, n) in enumerate([("x", 1_700), ("telegram", 900), ("x", 1_250)]):
        part = [f"{platform[:2]}_{i}_{j:04d}" if j % 50 else "bad handle!" for j in range(n)]
        d = root / f"platform={platform}"
        d.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table({"handle": part, "n": np.arange(n)}), d / f"part-{i * 5}.parquet",
                       row_group_size=400)
        handles.append((f"platform={platform}/part-{i * 5}", part))
    handles.sort(key=lambda t: t[0])
    return [h for _, part in handles for h in part]


@pytest.mark.slow
def test_dask_engine_matches_local_and_builds_scorer_once_per_worker(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    expected_handles = _partitioned_dataset(tmp_path / "ds")
    log = tmp_path / "builds.log"
    monkeypatch.setenv("HANDLEVAL_TEST_BUILD_LOG", str(log))
    spec = ("tests.code.batch_scorers", "make_length_scorer", {})
    local = run_batch(tmp_path / "ds", tmp_path / "local", None, scorer_factory=spec, chunk_rows=1_000, quiet=True)
    log.write_text("")
    dask = run_batch(tmp_path / "ds", tmp_path / "dask", None, scorer_factory=spec, engine="dask", n_workers=2,
                     quiet=True)
    a, b = read_output(tmp_path / "local"), read_output(tmp_path / "dask", verify=True)
    pd.testing.assert_frame_equal(a, b)
    assert a["handle"].tolist() == expected_handles
    assert set(a["platform"]) == {"x", "telegram"}
    assert local.parts == 4 and dask.parts == 12  # one part per row group (5 + 3 + 4)
    assert dask.errors == local.errors > 0
    builds = log.read_text().split()
    assert 1 <= len(builds) == len(set(builds)) <= 2  # once per worker process, never per task
    manifest = json.loads((tmp_path / "dask" / MANIFEST).read_text())
    assert manifest["parts"][0]["source"]["row_group"] == 0

    # resume with dask after losing two parts: exactly those are redone
    m = json.loads((tmp_path / "dask" / MANIFEST).read_text())
    m["parts"] = [p for p in m["parts"] if p["index"] not in (4, 9)]
    (tmp_path / "dask" / MANIFEST).write_text(json.dumps(m))
    again = run_batch(tmp_path / "ds", tmp_path / "dask", None, scorer_factory=spec, engine="dask", n_workers=2,
                      quiet=True, resume=True)
    assert again.parts_reused == 10 and again.rows_scored == 800
    pd.testing.assert_frame_equal(read_output(tmp_path / "dask"), a)


@pytest.mark.slow
def test_dask_engine_single_file_and_plain_scorer(tmp_path: Path) -> None:
    handles = _handles(3_000)
    pq.write_table(pa.table({"handle": handles}), tmp_path / "in.parquet", row_group_size=1_000)
    run_batch(tmp_path / "in.parquet", tmp_path / "local", length_scorer, quiet=True)
    summary = run_batch(tmp_path / "in.parquet", tmp_path / "dask", length_scorer, engine="dask", n_workers=1,
                        quiet=True)
    assert summary.parts == 3
    pd.testing.assert_frame_equal(read_output(tmp_path / "dask"), read_output(tmp_path / "local"))
    # the documented command line: run as __main__, its task functions were pickled by value with a lock (exit 1)
    cli = subprocess.run([sys.executable, "-m", "handleval.batch", str(tmp_path / "in.parquet"), str(tmp_path / "cli"),
                          "--engine", "dask", "--workers", "1", "--quiet",
                          "--scorer", "tests.code.batch_scorers:make_length_scorer"],
                         env=checkout_env(HERE), capture_output=True, text=True, timeout=300)
    assert cli.returncode == 0, cli.stderr[-2000:]
    pd.testing.assert_frame_equal(read_output(tmp_path / "cli"), read_output(tmp_path / "local"))


def test_relative_paths_reach_workers_that_run_elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cluster's workers started in another folder got a relative ``-o`` as given: every part landed in their
    folder, while this process wrote _SUCCESS beside none and said "3,000 rows → out" (exit 0). Paths go to the
    workers absolute now, and a part this process cannot see stops the run."""
    from dask.distributed import LocalCluster

    (tmp_path / "client").mkdir()
    (tmp_path / "workers" / "out").mkdir(parents=True)  # the same relative name where the workers run
    pq.write_table(pa.table({"handle": _handles(3_000)}), tmp_path / "client" / "in.parquet", row_group_size=1_000)
    monkeypatch.chdir(tmp_path / "workers")  # worker processes start in the folder they are started from
    with LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=None, silence_logs=40) as cluster:
        monkeypatch.chdir(tmp_path / "client")
        summary = run_batch("in.parquet", "out", length_scorer, engine="dask", scheduler=cluster.scheduler_address,
                            quiet=True)
    assert summary.parts == 3 and len(read_output(tmp_path / "client" / "out")) == 3_000
    assert not list((tmp_path / "workers" / "out").iterdir())


def test_a_scheduler_without_workers_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """It said "cannot write the output out: No valid workers found" (distributed's TimeoutError is an OSError)."""
    from dask.distributed import LocalCluster

    monkeypatch.setattr("handleval.batch.DASK_WORKER_WAIT_S", 1)  # not the 30 s a real run waits
    pq.write_table(pa.table({"handle": _handles(10)}), tmp_path / "in.parquet")
    with LocalCluster(n_workers=0, dashboard_address=None, silence_logs=40) as cluster, \
            pytest.raises(HandlevalError, match="has no worker to run on") as refused:
        run_batch(tmp_path / "in.parquet", tmp_path / "out", length_scorer, engine="dask",
                  scheduler=cluster.scheduler_address, quiet=True)
    assert "cannot write" not in str(refused.value) and "--resume" in str(refused.value)


def test_a_worker_with_another_model_or_data_stops_the_run(tmp_path: Path) -> None:
    """A worker reading a cut-down HANDLEVAL_DATA priced 4 of 8 parts otherwise, and the run said "8 parts" (exit
    0): one output, two scorings. Each worker's scorer says what it rests on (``facts``), checked against the run's."""
    from dask.distributed import LocalCluster

    pq.write_table(pa.table({"handle": _handles(2_000)}), tmp_path / "in.parquet", row_group_size=1_000)
    spec = ("tests.code.batch_scorers", "make_tagged_scorer", {})
    with LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=None, silence_logs=40,
                      env={"HANDLEVAL_TEST_FACT": "worker"}) as cluster:
        with pytest.raises(HandlevalError, match=r"scores with another bundle than this run \(bundle worker… "
                                                 r"against driver…\): every worker must read the same"):
            run_batch(tmp_path / "in.parquet", tmp_path / "out", None, scorer_factory=spec, engine="dask",
                      scheduler=cluster.scheduler_address, quiet=True, scoring={"bundle": "driver"})
        assert not (tmp_path / "out" / "part-00000.parquet").exists()
        summary = run_batch(tmp_path / "in.parquet", tmp_path / "same", None, scorer_factory=spec, engine="dask",
                            scheduler=cluster.scheduler_address, quiet=True, scoring={"bundle": "worker"})
        # a worker that cannot build its scorer says it is a worker's problem (it read as this machine's)
        with pytest.raises(HandlevalError, match=r"^on the Dask worker .* \(pid \d+\): data directory not found"):
            run_batch(tmp_path / "in.parquet", tmp_path / "refused", None, engine="dask",
                      scorer_factory=("tests.code.batch_scorers", "make_refusing_scorer", {}),
                      scheduler=cluster.scheduler_address, quiet=True)
    assert summary.parts == 2


def test_a_worker_lost_mid_run_is_one_clear_error(tmp_path: Path) -> None:
    """A worker killed mid-run ended the run in a 53-line traceback ('FutureCancelledError … already forgotten')
    without a word of --resume."""
    import dask
    from dask.distributed import LocalCluster

    pq.write_table(pa.table({"handle": _handles(1_000)}), tmp_path / "in.parquet")
    spec = ("tests.code.batch_scorers", "make_dying_scorer", {})
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), \
            LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=None, silence_logs=50) as cluster, \
            pytest.raises(HandlevalError, match=r"a Dask worker was lost while scoring .*run again with --resume"):
        run_batch(tmp_path / "in.parquet", tmp_path / "out", None, scorer_factory=spec, engine="dask",
                  scheduler=cluster.scheduler_address, quiet=True)


def thread_pool_scorer(frame: pd.DataFrame) -> pd.DataFrame:
    """Records, per row, the thread-pool settings of the process that scored it (a Dask worker)."""
    out = frame.copy()
    out["omp"] = os.environ.get("OMP_NUM_THREADS")
    out["numexpr"] = os.environ.get("NUMEXPR_NUM_THREADS")
    out["arrow_threads"] = pa.cpu_count()
    out["pid"] = os.getpid()
    out["profiler"] = dask.config.get("distributed.worker.profile.enabled")
    out["tick"] = dask.config.get("distributed.admin.tick.interval")
    return out


@pytest.mark.slow
def test_dask_workers_are_one_thread_each_and_warm_up_is_timed_apart(tmp_path: Path) -> None:
    pq.write_table(pa.table({"handle": _handles(4_000)}), tmp_path / "in.parquet", row_group_size=250)
    client_profiler = dask.config.get("distributed.worker.profile.enabled")
    summary = run_batch(tmp_path / "in.parquet", tmp_path / "dask", None, engine="dask", n_workers=2, quiet=True,
                        scorer_factory=("tests.code.test_batch", "_thread_pool_factory", {}))
    out = read_output(tmp_path / "dask")
    assert len(out) == 4_000
    assert set(out["omp"]) == {"1"} and set(out["numexpr"]) == {"1"} and set(out["arrow_threads"]) == {1}
    assert set(out["profiler"]) == {False} and set(out["tick"]) == {"200ms"}  # bookkeeping turned down
    assert dask.config.get("distributed.worker.profile.enabled") == client_profiler  # ... on the workers only
    parts = json.loads((tmp_path / "dask" / MANIFEST).read_text())["parts"]
    assert all(0 < p["cpu_seconds"] <= p["seconds"] + 0.01 for p in parts)
    assert max(p["seconds"] for p in parts) <= summary.seconds
    assert summary.dask_timings is not None
    assert set(summary.dask_timings) == {"setup", "warmup", "scoring", "teardown"}
    assert summary.dask_timings["warmup"] > 0 and summary.dask_timings["scoring"] > 0
    assert "dask_timings" in json.loads((tmp_path / "dask" / SUCCESS).read_text())
    local = run_batch(tmp_path / "in.parquet", tmp_path / "local", thread_pool_scorer, quiet=True)
    assert local.dask_timings is None and "dask_timings" not in json.loads((tmp_path / "local" / SUCCESS).read_text())


def _thread_pool_factory() -> object:
    return thread_pool_scorer


@pytest.mark.slow
@pytest.mark.parametrize("stop", ["SIGKILL", "SIGTERM"])
def test_a_kill_mid_run_then_resume_gives_every_row_exactly_once(tmp_path: Path, stop: str) -> None:
    """SIGKILL leaves the journal as it was; SIGTERM (a scheduler's stop) is handled as Ctrl-C: exit 143 and how to
    finish (it printed nothing). Either way --resume gives every row once, in order."""
    handles = _handles(60_000)
    _write_csv(tmp_path / "in.csv", handles)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "handleval.batch", str(tmp_path / "in.csv"), str(out), "--quiet",
           "--scorer", "tests.code.batch_scorers:make_slow_scorer", "--scorer-kwargs", '{"delay": 0.08}',
           "--chunk-rows", "1000"]
    proc = subprocess.Popen(cmd, env=checkout_env(HERE), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    finished = 0
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            finished = len(Manifest.load(out).parts)  # type: ignore[union-attr]
        except (OSError, AttributeError, HandlevalError):  # not written yet, or a journal line half written
            finished = 0
        if finished >= 8:
            break
        time.sleep(0.02)
    assert proc.poll() is None, f"run ended before the kill: {proc.communicate()}"
    proc.send_signal(getattr(signal, stop))
    _, err = proc.communicate(timeout=60)
    assert not (out / SUCCESS).exists()
    if stop == "SIGKILL":
        assert proc.returncode == -signal.SIGKILL
        assert (out / JOURNAL).exists()  # parts finished since the start are journal lines, not yet in the manifest
        assert json.loads((out / MANIFEST).read_text())["parts"] == []
    else:
        assert proc.returncode == 143 and b"terminated: the finished parts are kept" in err, err
    partial = Manifest.load(out).parts  # type: ignore[union-attr]
    assert 8 <= len(partial) < 60

    plain = subprocess.run(cmd, env=checkout_env(HERE), capture_output=True, text=True)
    assert plain.returncode == 2 and "--resume" in plain.stderr and "Traceback" not in plain.stderr

    done = subprocess.run([*cmd, "--resume"], env=checkout_env(HERE), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    summary = json.loads((out / SUCCESS).read_text())
    assert summary["parts_reused"] == len(partial) and summary["rows_out"] == 60_000
    result = read_output(out, verify=True)
    assert result["handle"].tolist() == handles  # every row, exactly once, in order
    assert result["rank"].tolist() == [str(i) for i in range(60_000)]


@pytest.mark.slow
def test_progress_bar_on_a_terminal_and_clear_error_for_binary(tmp_path: Path) -> None:
    _write_csv(tmp_path / "in.csv", _handles(20_000))
    cmd = [sys.executable, "-m", "handleval.batch", str(tmp_path / "in.csv"), str(tmp_path / "out"),
           "--scorer", "tests.code.batch_scorers:make_slow_scorer", "--scorer-kwargs", '{"delay": 0.15}',
           "--chunk-rows", "2000"]
    leader, follower = pty.openpty()
    proc = subprocess.Popen(cmd, env=checkout_env(HERE, COLUMNS="160"), stdout=follower, stderr=follower,
                            stdin=subprocess.DEVNULL)
    os.close(follower)
    screen = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 30)
        if not ready:
            break
        try:
            data = os.read(leader, 65536)
        except OSError:
            break
        if not data:
            break
        screen += data
    proc.wait(timeout=30)
    os.close(leader)
    text = screen.decode("utf-8", "replace")
    assert proc.returncode == 0, text
    assert "rows/s" in text and "ETA" in text and "20,000" in text and "scoring" in text
    # the bar counts rows against the file's lines: it said 100% after the first chunk (the reader reads 8 MB ahead)
    shown = [int(p) for p in re.findall(r"(?<![\d.])(\d{1,3})%", text)]
    assert shown[-1] == 100 and any(0 < p < 100 for p in shown), shown
    from handleval.io import open_input

    (tmp_path / "mac.csv").write_bytes(b"handle\rpizza\rtaco\rnacho")  # an old Mac's lone CRs: 0 lines, 0% all along
    (tmp_path / "pages.ndjson").write_text('{"data": [{"username": "a"}, {"username": "b"}]}\n', encoding="utf-8")
    assert open_input(tmp_path / "mac.csv", ()).progress_total == 3
    assert open_input(tmp_path / "pages.ndjson", ()).progress_total is None  # a line may be a page of many rows

    (tmp_path / "photo.csv").write_bytes(bytes(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8)))
    bad_cmd = [*cmd[:3], str(tmp_path / "photo.csv"), str(tmp_path / "o2"), "--scorer",
               "tests.code.batch_scorers:make_length_scorer"]
    bad = subprocess.run(bad_cmd, env=checkout_env(HERE), capture_output=True, text=True)
    assert bad.returncode == 2
    assert bad.stderr.startswith("error: ") and "not a CSV file" in bad.stderr and "Traceback" not in bad.stderr
    assert bad.stderr.count("\n") == 1


def test_batch_processes_keep_freed_memory_on_glibc() -> None:
    """The allocator setting behind ~1.5 s less system time per million handles is accepted by this system's
    glibc (and is a no-op elsewhere); checked in a fresh process, as the setting is process-wide."""
    import platform

    probe = ("import handleval.batch as b\n"
             "print(b.keep_freed_memory())\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    glibc = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"
    assert done.stdout.strip() == str(glibc)
