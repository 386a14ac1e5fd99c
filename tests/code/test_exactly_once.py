"""Nothing lost, nothing mixed (issue 20): the batch engine's holes found by the hostile-input review.

Resume after an edit in the middle of the input, two runs on one output, piped input, blank lines before a CSV
header, UTF-16 and CR-only text, an input column named ``error``, formulas in column names, a read-only output
and a full disk: each ends with every row exactly once, or with one clear message and a non-zero exit.
"""

from __future__ import annotations

import codecs
import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from handleval.batch import read_output, run_batch
from handleval.errors import HandlevalError
from tests._helpers import ROOT, checkout_env, file_size_limit
from tests.code.batch_scorers import length_scorer

SCORER = "tests.code.batch_scorers:make_slow_scorer"


def _batch(*args: str, stdin=None, piped: str | None = None, preexec=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "handleval.batch", *args], cwd=ROOT, env=checkout_env(), stdin=stdin,
                          input=piped, capture_output=True, text=True, timeout=300, check=False,
                          preexec_fn=preexec)


def _handles(n: int) -> list[str]:
    return [f"name_{i:06d}" for i in range(n)]


def test_resume_refuses_an_input_changed_in_the_middle(tmp_path: Path) -> None:
    """Same size, same first and last MiB, one byte changed in the middle: the resume is refused."""
    path = tmp_path / "big.txt"
    handles = _handles(400_000)  # ~4.8 MB: the middle is far from both ends
    path.write_text("\n".join(handles) + "\n")
    out = tmp_path / "out"
    run_batch(path, out, length_scorer, chunk_rows=100_000, quiet=True)
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle] = ord("x") if data[middle] != ord("x") else ord("y")
    path.write_bytes(bytes(data))
    with pytest.raises(HandlevalError, match="input differs"):
        run_batch(path, out, length_scorer, chunk_rows=100_000, resume=True, quiet=True)


def test_a_second_run_on_the_same_output_stops_at_once(tmp_path: Path) -> None:
    """While one run writes to an output, another (even with --overwrite) stops with a message; the first
    finishes with every row exactly once."""
    source = tmp_path / "h.txt"
    handles = _handles(3000)
    source.write_text("\n".join(handles) + "\n")
    out = tmp_path / "out"
    first = subprocess.Popen([sys.executable, "-m", "handleval.batch", str(source), str(out), "--scorer", SCORER,
                              "--scorer-kwargs", '{"delay": 0.2}', "--chunk-rows", "200", "--quiet"],
                             cwd=ROOT, env=checkout_env(), stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (out / "_manifest.json").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (out / "_manifest.json").exists()
        with pytest.raises(HandlevalError, match="another handleval run"):
            run_batch(source, out, length_scorer, overwrite=True, quiet=True)
        second = _batch(str(source), str(out), "--scorer", SCORER, "--overwrite", "--quiet")
        assert second.returncode == 2 and "another handleval run" in second.stderr
        assert first.wait(timeout=300) == 0, first.stderr.read()
    finally:
        with contextlib.suppress(ProcessLookupError):
            first.kill()
        first.wait()
    assert read_output(out)["handle"].tolist() == handles


def test_piped_input_is_read(tmp_path: Path) -> None:
    """``cat x | ... /dev/stdin`` (a real pipe) and ``/dev/stdin`` redirected from a file: text and CSV
    (recognised by a header naming the required column, also alone on its line) arrive whole."""
    handles = _handles(2500)
    text = "\n".join(handles) + "\n"
    table = pd.DataFrame({"id": range(len(handles)), "handle": handles}).to_csv(index=False)
    one_column = pd.DataFrame({"handle": handles}).to_csv(index=False)  # its header was priced as a handle
    scorer = ["--scorer", "tests.code.batch_scorers:make_length_scorer", "--quiet"]
    for n, data in enumerate((text, table, one_column)):
        done = _batch("/dev/stdin", str(tmp_path / f"pipe{n}"), *scorer, piped=data)
        assert done.returncode == 0, done.stderr
        (tmp_path / f"file{n}").write_text(data)
        with open(tmp_path / f"file{n}", "rb") as stdin:
            done = _batch("/dev/stdin", str(tmp_path / f"redirect{n}"), *scorer, stdin=stdin)
        assert done.returncode == 0, done.stderr
        for name in (f"pipe{n}", f"redirect{n}"):
            out = read_output(tmp_path / name)
            assert out["handle"].tolist() == handles
            if n == 1:
                assert out["id"].tolist() == [str(i) for i in range(len(handles))]


def test_a_pipe_of_a_json_array_is_json_and_messages_name_the_pipe(tmp_path: Path) -> None:
    """A JSON array piped in (as ``.json`` files are read) was read as one handle per line: one row '[{...}]'.
    The messages about a pipe or a device named its temporary copy (``/tmp/handleval-input-x1y2.txt is empty``),
    a path the user never saw; they name the input as given now."""
    from handleval.errors import DataFormatError
    from handleval.io import open_input

    def piped(data: bytes, required: tuple[str, ...] = ("handle",)):
        read, write = os.pipe()
        os.write(write, data)
        os.close(write)
        try:
            return open_input(f"/dev/fd/{read}", required)
        finally:
            os.close(read)

    array = piped(b'[{"handle": "google", "n": 1}, {"handle": "pizza", "n": 2}]\n')
    assert array.kind == "ndjson" and array.columns == ["handle", "n"] and array.origin.startswith("/dev/fd/")
    assert [c.frame["handle"].tolist() for c in array.chunks(10)] == [["google", "pizza"]]
    assert open_input("/dev/null").warnings == ["/dev/null is empty (0 bytes): the output has no rows"]
    with pytest.raises(DataFormatError) as refused:
        piped(b'[\n {"handle": "google"}\n]\n')
    assert "/dev/fd/" in str(refused.value) and "handleval-input" not in str(refused.value), refused.value
    latin1 = piped(b"handle\n\xe9t\xe9\ngoogle\n")
    list(latin1.chunks(10))
    assert latin1.warnings and all(w.startswith("/dev/fd/") for w in latin1.warnings), latin1.warnings


def test_the_same_bytes_give_the_same_rows_from_a_file_or_a_pipe(tmp_path: Path) -> None:
    """A pipe's format was read from its bytes, a file's from its suffix alone: ``handle`` on the first line of
    ``list.txt`` was priced as a handle (a header, piped), and a CSV saved without a suffix gave every row
    "character ',' not allowed". A file of no known suffix is read as its bytes say now."""
    from handleval.io import open_input

    contents = {"list.txt": b"handle\npizza\nokay\n", "export": b"handle,note\npizza,a\nokay,b\n",
                "plain.txt": b"pizza\nokay\n", "lines": b'{"handle": "pizza"}\n{"handle": "okay"}\n',
                "brackets.txt": b"[deleted]\npizza\nokay\n"}  # a list is not JSON for starting with '['
    expected = {"brackets.txt": ["[deleted]", "pizza", "okay"]}
    for name, data in contents.items():
        (tmp_path / name).write_bytes(data)
        read, write = os.pipe()
        os.write(write, data)
        os.close(write)
        try:
            piped = open_input(f"/dev/fd/{read}")
            rows = [pd.concat([c.frame for c in source.chunks(10)]) for source in (open_input(tmp_path / name), piped)]
        finally:
            os.close(read)
        assert rows[0]["handle"].tolist() == rows[1]["handle"].tolist() == expected.get(name, ["pizza", "okay"]), name
        assert rows[0].columns.tolist() == rows[1].columns.tolist(), name


def test_a_json_file_whose_first_line_is_over_16_mb_is_read_as_json_lines(tmp_path: Path) -> None:
    """Its first line was read up to 16 MB, failed to parse, and the file was refused as "a JSON document over several
    lines" (false): a cut line that starts as an object is JSON lines, as an .ndjson file of the same bytes is."""
    from handleval.io import open_input

    path = tmp_path / "users.json"
    path.write_text(json.dumps({"handle": "google", "bio": "x" * (17 << 20)}) + "\n" + '{"handle": "pizza"}\n')
    source = open_input(path)
    assert source.kind == "ndjson"
    assert [c.frame["handle"].tolist() for c in source.chunks(10)] == [["google", "pizza"]]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_blank_lines_before_the_header_and_a_ragged_row(tmp_path: Path, encoding: str) -> None:
    """A CSV starting with blank lines, with a ragged row later: every row once, the header never a row."""
    rows = [f"h{i},{i}" for i in range(3000)]
    rows[2500] = "ragged,1,2"
    path = tmp_path / "blank.csv"
    path.write_bytes(("\n\nhandle,n\n" + "\n".join(rows) + "\n").encode(encoding))
    out = tmp_path / "out"
    summary = run_batch(path, out, length_scorer, chunk_rows=700, quiet=True)
    got = read_output(out)
    assert summary.rows_out == 3000 and len(got) == 3000
    assert got["handle"].tolist()[:3] == ["h0", "h1", "h2"] and "handle" not in got["handle"].tolist()
    assert got["error"].notna().sum() == 1 and "malformed" in got["error"][2500]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "latin-1"])
def test_a_blank_line_of_a_one_column_csv_is_an_empty_cell_kept_in_its_place(tmp_path: Path, encoding: str) -> None:
    """A spreadsheet exports an empty cell of a one-column sheet as a blank line: 6 data lines came back as 3 rows,
    without a word (the same list as .txt kept them). Blank lines before the header are still no rows; UTF-16 and a
    late byte that is not UTF-8 go through the other reader, which must agree."""
    handles = ["pizza", "", "", "nike", *_handles(2000), "", "caf\xe9", "", "end"]
    path = tmp_path / "one.csv"
    path.write_bytes(("\n\nhandle\n" + "\n".join(handles) + "\n").encode(encoding))
    run_batch(path, tmp_path / "out", length_scorer, chunk_rows=700, quiet=True)
    got = read_output(tmp_path / "out")
    assert got["handle"].fillna("").tolist() == handles


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_text_with_or_without_bom(tmp_path: Path, codec: str) -> None:
    handles = ["pizza", "nike", "straße", "", *_handles(50)]
    path = tmp_path / "h.txt"
    path.write_bytes(("\n".join(handles) + "\n").encode(codec))
    if codec == "utf-16":
        assert path.read_bytes()[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
    run_batch(path, tmp_path / "out", length_scorer, quiet=True)
    assert read_output(tmp_path / "out")["handle"].tolist() == handles


def test_cr_only_line_endings(tmp_path: Path) -> None:
    handles = _handles(500)
    path = tmp_path / "mac.txt"
    path.write_bytes(("\r".join(handles) + "\r").encode())
    run_batch(path, tmp_path / "out", length_scorer, quiet=True)
    assert read_output(tmp_path / "out")["handle"].tolist() == handles


def test_an_input_column_named_error_survives(tmp_path: Path) -> None:
    """The engine's ``error`` never replaces an input's ``error``: the run is refused with the collision named,
    and with a prefix both columns are kept; declared outputs never touch the input's columns."""
    path = tmp_path / "in.csv"
    pd.DataFrame({"handle": ["pizza", "a b", "nike"], "error": ["mine 1", "mine 2", ""],
                  "length": ["x", "y", "z"]}).to_csv(path, index=False)
    with pytest.raises(HandlevalError, match=r"'error'.*--prefix"):
        run_batch(path, tmp_path / "o1", length_scorer, quiet=True)
    with pytest.raises(HandlevalError, match="'length', 'error'"):
        run_batch(path, tmp_path / "o2", length_scorer, output_columns=["length", "normalised"], quiet=True)
    run_batch(path, tmp_path / "o3", length_scorer, output_columns=["length", "normalised"], prefix="hv_",
              quiet=True)
    got = read_output(tmp_path / "o3")
    assert list(got.columns) == ["handle", "error", "length", "hv_length", "hv_normalised", "hv_error"]
    assert got["error"].tolist() == ["mine 1", "mine 2", ""] and got["length"].tolist() == ["x", "y", "z"]
    assert got["hv_length"].tolist() == [5, 3, 4] and pd.isna(got["hv_error"][0]) and got["hv_error"][1]


def test_formulas_in_column_names_are_neutralised_in_csv(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text('handle,"=HYPERLINK(""http://x"",""y"")",@sum\npizza,1,2\n')
    out = tmp_path / "out.csv"
    run_batch(path, out, length_scorer, quiet=True)
    header = next(p for p in sorted(out.iterdir()) if p.name.startswith("part-")).read_text().splitlines()[0]
    assert "\"'=HYPERLINK" in header and "\"'@sum\"" in header and ",\"=" not in header


def test_a_read_only_output_is_one_clear_message(tmp_path: Path) -> None:
    source = tmp_path / "h.txt"
    source.write_text("pizza\nnike\n")
    locked = tmp_path / "locked"
    locked.mkdir()
    mounted = False
    if os.geteuid() == 0:  # root ignores permissions: a read-only filesystem instead
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(locked)],
                                 capture_output=True, check=False).returncode == 0
        if not mounted:
            pytest.skip("running as root without mount: cannot make a read-only directory")
    else:
        locked.chmod(0o555)
    try:
        done = _batch(str(source), str(locked / "out"), "--scorer", "tests.code.batch_scorers:make_length_scorer")
        assert done.returncode == 2 and "cannot write the output" in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
    finally:
        if mounted:
            subprocess.run(["umount", str(locked)], check=False)
        locked.chmod(0o755)


def test_a_disk_full_while_joining_one_file_is_one_message_and_resumes(tmp_path: Path) -> None:
    """``-o out.csv`` writes parts, then joins them into the one file: a full disk there said only
    "error: : No space left on device" (no file, no way on). The parts are kept and --resume joins them."""
    from tests._helpers import run_cli

    source = tmp_path / "h.txt"
    source.write_text("\n".join(_handles(3_000)) + "\n")
    out = tmp_path / "out.csv"
    args = ["predict", str(source), "-o", str(out), "--chunk-rows", "500", "--no-reasons", "-q"]
    full = run_cli(*args, preexec=file_size_limit(150_000))  # each part fits, the joined file does not
    assert full.returncode == 2 and "Traceback" not in full.stderr, full.stderr
    assert f"no space left writing {out}" in full.stderr and "--resume" in full.stderr, full.stderr
    done = run_cli(*args, "--resume")
    assert done.returncode == 0, done.stderr
    assert pd.read_csv(out)["handle"].tolist() == _handles(3_000)


def test_a_full_disk_is_one_message_and_the_run_resumes(tmp_path: Path) -> None:
    """Writing a part past the file-size limit (a full disk, as the process sees it) stops the run with one
    message; the finished parts are kept and ``--resume`` completes it exactly once."""
    source = tmp_path / "h.txt"
    handles = _handles(20_000)
    source.write_text("\n".join(handles) + "\n")
    out = tmp_path / "out"
    args = [str(source), str(out), "--scorer", "tests.code.batch_scorers:make_length_scorer", "--chunk-rows",
            "2000", "--format", "csv"]
    full = _batch(*args, preexec=file_size_limit(60_000))
    assert full.returncode == 2 and "no space left" in full.stderr and "Traceback" not in full.stderr, full.stderr
    done = _batch(*args, "--resume", "--quiet")
    assert done.returncode == 0, done.stderr
    assert read_output(out)["handle"].tolist() == handles


def test_a_symbolic_link_planted_at_a_hidden_name_never_overwrites_its_target(tmp_path: Path) -> None:
    """In a shared folder, a link at ``.out.csv.run.json`` (the record of ``-o out.csv``) had the run write its JSON
    into the link's target, a user's file, without --overwrite; so could a link at a temp name (its pid guessed)."""
    from handleval.batch import run_batch_to_file
    from handleval.io import append_durably, atomic_write

    notes = tmp_path / "notes.txt"
    notes.write_text("my own notes\n")
    source = tmp_path / "h.txt"
    source.write_text("\n".join(_handles(20)) + "\n")
    out = tmp_path / "out.csv"
    (tmp_path / ".out.csv.run.json").symlink_to(notes)
    with pytest.raises(HandlevalError, match=r"\.out\.csv\.run\.json is a symbolic link, not a record"):
        run_batch_to_file(source, out, score_chunk=length_scorer, quiet=True)
    assert notes.read_text() == "my own notes\n" and not out.exists()
    (tmp_path / ".out.csv.run.json").unlink()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / ".out.csv.parts").symlink_to(elsewhere)  # the parts folder: parts landed in the link's target
    with pytest.raises(HandlevalError, match=r"\.out\.csv\.parts is a symbolic link, not the parts folder"):
        run_batch_to_file(source, out, score_chunk=length_scorer, quiet=True)
    assert list(elsewhere.iterdir()) == [] and not out.exists()
    planted = tmp_path / f".part.csv.tmp-{os.getpid()}"
    planted.symlink_to(notes)
    atomic_write(tmp_path / "part.csv", b"scored\n")
    assert (tmp_path / "part.csv").read_bytes() == b"scored\n" and notes.read_text() == "my own notes\n"
    assert not planted.exists() and not planted.is_symlink()
    (tmp_path / "journal").symlink_to(notes)
    with pytest.raises(OSError):
        append_durably(tmp_path / "journal", b"{}\n")
    assert notes.read_text() == "my own notes\n"


def test_a_manifest_mid_resume_reads_as_incomplete_though_the_old_success_file_is_there(tmp_path: Path) -> None:
    """A resume of a finished run drops a damaged part from the manifest and clears ``complete``, but the old
    ``_SUCCESS`` stays until it finishes: killed there, the output must not read as finished, one part short."""
    from handleval.batch import MANIFEST, SUCCESS

    (tmp_path / "in.csv").write_text("handle\n" + "".join(f"u{i}\n" for i in range(30)), encoding="utf-8")
    out = tmp_path / "out"
    run_batch(tmp_path / "in.csv", out, length_scorer, chunk_rows=10, quiet=True)
    manifest = json.loads((out / MANIFEST).read_text())
    manifest["parts"], manifest["complete"] = manifest["parts"][:2], False
    (out / MANIFEST).write_text(json.dumps(manifest))
    assert (out / SUCCESS).exists()
    with pytest.raises(HandlevalError, match="incomplete"):
        read_output(out)


def test_a_run_read_by_an_older_rule_for_rows_is_not_resumed(tmp_path: Path) -> None:
    """A run started before a one-column CSV's blank lines were rows numbered its rows otherwise: resumed, its
    parts were kept and five rows came back twice. The rule is recorded with each run; another one is refused."""
    from handleval.batch import MANIFEST

    (tmp_path / "in.csv").write_text("handle\n" + "".join(f"u{i}\n\n" for i in range(30)), encoding="utf-8")
    out = tmp_path / "out"
    run_batch(tmp_path / "in.csv", out, length_scorer, chunk_rows=10, quiet=True)
    manifest = json.loads((out / MANIFEST).read_text())
    del manifest["layout"]["rows"]
    manifest["parts"], manifest["complete"] = manifest["parts"][:2], False
    (out / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(HandlevalError, match="the engine, partitioning or reading of rows differs"):
        run_batch(tmp_path / "in.csv", out, length_scorer, chunk_rows=10, quiet=True, resume=True)
