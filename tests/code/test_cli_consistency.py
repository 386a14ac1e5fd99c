"""Commands behave alike: readable --help with help on every option, exit codes of ``value``, resume without
repeating the chunk size, ``data list`` that neither cuts nor wraps, one ``-o`` rule stated in --help."""

from __future__ import annotations

import json
import os
import pty
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import click
import pandas as pd
import pytest
import typer

from handleval.batch import MANIFEST, SUCCESS, read_output, run_batch
from handleval.cli import OUTPUT_RULE, app
from handleval.data.catalog import catalog
from tests._helpers import checkout_env, cli_runner, run_cli

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
runner = cli_runner()


def _commands() -> list[tuple[str, click.Command]]:
    """Every command and group of the app, with its full name."""
    found = []

    def walk(command: click.Command, name: str) -> None:
        found.append((name, command))
        for sub_name, sub in getattr(command, "commands", {}).items():
            walk(sub, f"{name} {sub_name}")

    walk(typer.main.get_command(app), "handleval")
    return found


def test_every_option_and_argument_has_help_text():
    missing = [f"{name} {param.name}" for name, command in _commands() for param in command.params
               if not (getattr(param, "help", None) or "").strip()]
    assert missing == []


@pytest.mark.parametrize("name", [name for name, _ in _commands()])
def test_help_shows_readable_value_names(name):
    result = runner.invoke(app, [*name.split()[1:], "--help"])
    assert result.exit_code == 0, result.output
    placeholders = re.findall(r"<[a-z_]+(?:\[[^\]]*\])?>", result.output)  # <bool>, <str>, <list[str]>, <path>
    assert placeholders == []
    assert "--help" in result.output


# ---------------------------------------------------------------------------------------------------- value
def test_value_with_an_unknown_platform_fails_at_once():
    result = runner.invoke(app, ["value", "-p", "foo", "nike"])
    assert result.exit_code == 2
    assert "unknown platform 'foo'" in result.output and "telegram" in result.output


def test_value_exits_1_when_no_handle_can_be_priced_but_still_shows_why():
    result = runner.invoke(app, ["value", "@@", "a b c"])
    assert result.exit_code == 1, result.output
    assert "empty handle" in result.output and "invalid" in result.output
    assert "no handle could be priced" in result.output


def test_value_with_some_valid_handles_prints_them_and_exits_0():
    result = runner.invoke(app, ["value", "-p", "X", "pizza", "@@"])
    assert result.exit_code == 0, result.output
    assert "pizza" in result.output and "$" in result.output and "empty handle" in result.output


def test_value_venue_is_a_known_domain_venue():
    result = runner.invoke(app, ["value", "--venue", "reported", "pizza"])
    assert result.exit_code == 2 and "--venue applies to domains" in result.output and "X names" in result.output
    result = runner.invoke(app, ["value", "-p", "domain", "--venue", "reportd", "pizza.com"])
    assert result.exit_code == 2 and "unknown venue 'reportd'" in result.output and "auction" in result.output
    levels = {}
    for venue in ("", "Auction", "reported"):
        result = runner.invoke(app, ["value", "-p", "domain", "--venue", venue, "voice.com"])
        assert result.exit_code == 0, result.output
        levels[venue] = re.search(r"at ([a-z-]+) level", result.output).group(1)
    assert levels == {"": "wholesale", "Auction": "wholesale", "reported": "end-user"}


# ---------------------------------------------------------------------------------------------------- resume
def _handles_csv(path: Path, n: int) -> None:
    path.write_text("handle\n" + "".join(f"user_{i}\n" for i in range(n)), encoding="utf-8")


def _forget_last_part(out: Path) -> None:
    """As if the run had been killed before its last part was recorded."""
    manifest = json.loads((out / MANIFEST).read_text())
    manifest["parts"] = manifest["parts"][:-1]
    manifest["complete"] = False
    (out / MANIFEST).write_text(json.dumps(manifest))
    (out / SUCCESS).unlink()


def test_predict_values_rows_without_as_of_at_one_time_for_the_run_and_its_resume(tmp_path):
    """Rows without as_of are valued at one time for the whole run (the end of its first day, UTC), recorded with
    the scorer: a run or a --resume across midnight mixed two days' prices. --resume takes the recorded time."""
    from handleval.price.predict import default_as_of

    source, out = tmp_path / "h.csv", tmp_path / "scores"
    _handles_csv(source, 5)
    args = ["predict", str(source), "-o", str(out), "--chunk-rows", "2", "--quiet"]
    assert runner.invoke(app, args).exit_code == 0
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["scoring"]["scorer"][2]["as_of"] in (default_as_of().isoformat(),
                                                       (default_as_of() - pd.Timedelta(days=1)).isoformat())
    _forget_last_part(out)
    manifest = json.loads((out / MANIFEST).read_text())
    manifest["scoring"]["scorer"][2]["as_of"] = "2025-06-01T00:00:00"  # a run begun another day
    (out / MANIFEST).write_text(json.dumps(manifest))
    resumed = runner.invoke(app, [*args, "--resume"])
    assert resumed.exit_code == 0, resumed.output  # today's time would be another scoring: refused
    assert json.loads((out / MANIFEST).read_text())["scoring"]["scorer"][2]["as_of"] == "2025-06-01T00:00:00"


def test_resume_takes_the_chunk_size_from_the_manifest(tmp_path):
    sys.path.insert(0, str(HERE))
    try:
        from batch_scorers import length_scorer
    finally:
        sys.path.remove(str(HERE))
    _handles_csv(tmp_path / "in.csv", 250)
    out = tmp_path / "out"
    run_batch(tmp_path / "in.csv", out, length_scorer, chunk_rows=100, quiet=True)
    expected = read_output(out)
    _forget_last_part(out)
    summary = run_batch(tmp_path / "in.csv", out, length_scorer, quiet=True, resume=True)  # no chunk_rows
    assert (summary.parts, summary.parts_reused, summary.rows_scored) == (3, 2, 50)
    assert not summary.already_complete
    pd.testing.assert_frame_equal(read_output(out, verify=True), expected)
    again = run_batch(tmp_path / "in.csv", out, length_scorer, quiet=True, resume=True)
    assert again.already_complete and again.rows_scored == 0


def test_predict_resume_without_chunk_rows_and_of_a_finished_run(tmp_path):
    source = tmp_path / "h.csv"
    _handles_csv(source, 5)
    out = tmp_path / "scores"
    first = runner.invoke(app, ["predict", str(source), "-o", str(out), "--chunk-rows", "2", "--quiet"])
    assert first.exit_code == 0, first.output
    expected = read_output(out)
    _forget_last_part(out)
    resumed = runner.invoke(app, ["predict", str(source), "-o", str(out), "--resume"])
    assert resumed.exit_code == 0, resumed.output
    assert "5 rows" in resumed.output and "3 parts" in resumed.output
    pd.testing.assert_frame_equal(read_output(out, verify=True), expected)
    done = runner.invoke(app, ["predict", str(source), "-o", str(out), "--resume"])
    assert done.exit_code == 0, done.output
    assert "already complete" in done.output and "nothing to resume" in done.output


@pytest.mark.parametrize("name", ["flags", "flags.csv"])
def test_flag_without_observed_at_measures_every_part_of_a_run_at_one_time(tmp_path, name):
    accounts = tmp_path / "accounts.csv"
    _accounts_csv(accounts)
    pd.read_csv(accounts).drop(columns="observed_at").pipe(lambda f: pd.concat([f] * 3)).to_csv(accounts, index=False)
    out = tmp_path / name
    args = ["flag", str(accounts), "-o", str(out)]
    assert runner.invoke(app, [*args, "--chunk-rows", "2", "--quiet"]).exit_code == 0
    first = pd.read_csv(out) if out.is_file() else read_output(out)
    if out.is_dir():
        _forget_last_part(out)
    time.sleep(1.1)  # a later "now" shows in measured_at (whole seconds)
    resumed = runner.invoke(app, [*args, "--resume"])
    assert resumed.exit_code == 0, resumed.output
    again = pd.read_csv(out) if out.is_file() else read_output(out, verify=True)
    assert first["measured_at"].nunique() == 1 and again["measured_at"].tolist() == first["measured_at"].tolist()
    assert out.is_dir() or "already complete" in resumed.output
    if out.is_dir():  # a run begun before runs recorded their time resumes as it began
        _forget_last_part(out)
        manifest = json.loads((out / MANIFEST).read_text())
        del manifest["scoring"]["scorer"][2]["now"]
        (out / MANIFEST).write_text(json.dumps(manifest))
        older = runner.invoke(app, [*args, "--resume"])
        assert older.exit_code == 0 and "6 rows" in older.output, older.output


def test_resume_with_another_platform_or_options_is_refused(tmp_path):
    source = tmp_path / "h.csv"
    _handles_csv(source, 5)
    out = tmp_path / "scores"
    args = ["predict", str(source), "-o", str(out)]
    assert runner.invoke(app, [*args, "--chunk-rows", "2", "--quiet"]).exit_code == 0
    _forget_last_part(out)
    for other in (["-p", "domain"], ["--no-reasons"], ["--comps"]):
        refused = runner.invoke(app, [*args, "--resume", *other])
        assert refused.exit_code == 2 and "cannot resume" in refused.output, (other, refused.output)
    resumed = runner.invoke(app, [*args, "--resume"])
    assert resumed.exit_code == 0 and "5 rows" in resumed.output, resumed.output


def test_a_finished_file_is_complete_for_resume_only_for_its_own_input_and_options(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    _handles_csv(a, 3)
    _handles_csv(b, 4)
    out = tmp_path / "s.csv"
    assert runner.invoke(app, ["predict", str(a), "-o", str(out), "--quiet"]).exit_code == 0
    made = out.read_bytes()
    for args in ([str(b)], [str(a), "-p", "domain"]):
        refused = runner.invoke(app, ["predict", *args, "-o", str(out), "--resume"])
        assert refused.exit_code == 2 and "cannot resume" in refused.output, (args, refused.output)
    assert out.read_bytes() == made
    done = runner.invoke(app, ["predict", str(a), "-o", str(out), "--resume"])
    assert done.exit_code == 0 and "already complete" in done.output, done.output


def test_predict_fails_at_once_on_an_unknown_platform_and_exits_1_when_no_row_scores(tmp_path):
    source = tmp_path / "h.csv"
    _handles_csv(source, 2)
    unknown = runner.invoke(app, ["predict", str(source), "-o", str(tmp_path / "a.csv"), "-p", "myspace"])
    assert unknown.exit_code == 2 and "unknown platform 'myspace'" in unknown.output
    assert not (tmp_path / "a.csv").exists()
    bad = tmp_path / "bad.csv"
    bad.write_text('handle\n@@\n"a b c"\n', encoding="utf-8")
    none = runner.invoke(app, ["predict", str(bad), "-o", str(tmp_path / "b.csv")])
    assert none.exit_code == 1 and "no row could be scored" in none.output, none.output
    assert pd.read_csv(tmp_path / "b.csv")["error"].notna().all()  # written all the same, each row saying why


def test_the_summary_counts_the_runs_own_errors_and_a_domain_venue_typo_is_a_row_error(tmp_path):
    source = tmp_path / "d.csv"
    source.write_text("handle,platform,venue,error\npizza.com,domain,godadyy,mine\npizza.com,domain,godaddy,mine\n"
                      "pizza.com,domain,,\n", encoding="utf-8")
    out = tmp_path / "d_out.csv"
    result = runner.invoke(app, ["predict", str(source), "-o", str(out), "--prefix", "hv_"])
    assert result.exit_code == 0 and "3 rows → " in result.output and "1 row with error" in result.output, \
        result.output
    scored = pd.read_csv(out)
    assert scored["error"].tolist()[:2] == ["mine", "mine"]  # the input's own column, untouched
    assert "unknown venue 'godadyy'" in scored["hv_error"][0]
    assert scored["hv_error"][1:].isna().all() and scored["hv_price_usd"][1:].notna().all()


def test_the_input_is_never_the_output_even_with_overwrite(tmp_path):
    handles = tmp_path / "h.csv"
    _handles_csv(handles, 3)
    accounts = _accounts_csv(tmp_path / "accounts.csv")
    link = tmp_path / "link.csv"
    link.symlink_to(handles)
    before = handles.read_bytes(), accounts.read_bytes()
    for args in (["predict", str(handles), "-o", str(handles)], ["predict", str(handles), "-o", str(link)],
                 ["flag", str(accounts), "-o", str(accounts)], ["triage", str(accounts), "-o", str(accounts)]):
        refused = runner.invoke(app, [*args, "--overwrite"])
        assert refused.exit_code == 2 and "must not be the input" in refused.output, (args, refused.output)
    assert (handles.read_bytes(), accounts.read_bytes()) == before


def test_a_finished_file_resumed_with_another_prefix_is_refused(tmp_path):
    source = tmp_path / "a.csv"
    _handles_csv(source, 3)
    out = tmp_path / "p.csv"
    assert runner.invoke(app, ["predict", str(source), "-o", str(out), "--quiet"]).exit_code == 0
    refused = runner.invoke(app, ["predict", str(source), "-o", str(out), "--resume", "--prefix", "zz_"])
    assert refused.exit_code == 2 and "cannot resume" in refused.output, refused.output


def test_a_second_run_on_the_same_file_stops_at_once(tmp_path):
    """The first run holds the file's record locked until its parts are joined and removed: a second run with
    --overwrite had wiped the parts the first was joining."""
    import fcntl

    source = tmp_path / "a.csv"
    _handles_csv(source, 3)
    out = tmp_path / "race.csv"
    record = tmp_path / ".race.csv.run.json"
    with open(record, "a+b") as held:  # as a run in progress holds it
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        locked = runner.invoke(app, ["predict", str(source), "-o", str(out), "--overwrite"])
        assert locked.exit_code == 2 and "another handleval run is writing to" in locked.output, locked.output
        assert "race.csv" in locked.output
        assert not out.exists()
    assert runner.invoke(app, ["predict", str(source), "-o", str(out), "--quiet"]).exit_code == 0


@pytest.mark.parametrize("command", ["predict", "flag"])
def test_a_locked_output_is_refused_before_the_model_loads(tmp_path, command):
    """The bundle loaded first, so a second run was told its output was locked only seconds later (here the
    bundle is missing: the lock must be what it hears about)."""
    import fcntl

    source = _accounts_csv(tmp_path / "accounts.csv") if command == "flag" else tmp_path / "h.csv"
    if command == "predict":
        _handles_csv(source, 3)
    out = tmp_path / "scores"
    out.mkdir()
    held = os.open(out, os.O_RDONLY)  # as a run in progress holds its directory
    try:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        locked = runner.invoke(app, [command, str(source), "-o", str(out), "--resume", "--model",
                                     str(tmp_path / "no-bundle")])
    finally:
        os.close(held)
    assert locked.exit_code == 2 and "another handleval run is writing to" in locked.output, locked.output


def test_triage_exits_1_when_no_account_scores_and_bad_counts_are_refused(tmp_path):
    accounts = _accounts_csv(tmp_path / "accounts.csv")
    broken = pd.read_csv(accounts).assign(created_at="not a date")
    broken.to_csv(tmp_path / "broken.csv", index=False)
    none = runner.invoke(app, ["triage", str(tmp_path / "broken.csv"), "-o", str(tmp_path / "t.csv")])
    assert none.exit_code == 1 and "no account could be scored" in none.output, none.output
    assert pd.read_csv(tmp_path / "t.csv")["error"].notna().all()
    for args in (["triage", str(accounts), "-o", str(tmp_path / "u.csv"), "--top", "-1"],
                 ["predict", str(accounts), "-o", str(tmp_path / "w"), "--engine", "dask", "--workers", "0"]):
        bad = runner.invoke(app, args)
        assert bad.exit_code == 2 and not (tmp_path / "u.csv").exists() and not (tmp_path / "w").exists(), args


# ---------------------------------------------------------------------------------------------------- data list
@pytest.fixture(scope="module")
def entries() -> list:
    """The catalog the commands below print, read once (it loads every set: ~3 s)."""
    return catalog()


def _names_whole_on_their_own_lines(text: str, entries: list) -> None:
    lines = [line for line in text.splitlines() if line.strip()]
    for entry in entries:
        hits = [line for line in lines if entry.name in line]
        assert len(hits) == 1, (entry.name, text)
        assert f"{entry.rows:,}" in hits[0] and entry.licence in hits[0] and entry.currency in hits[0]


def test_data_list_in_a_pipe_is_one_plain_line_per_dataset(entries):
    result = run_cli("data", "list", env={"COLUMNS": "80"})
    assert result.returncode == 0, result.stderr
    _names_whole_on_their_own_lines(result.stdout, entries)
    assert len(result.stdout.splitlines()) == len(entries) + 1  # a header, then one line each
    assert "sales/fragment_telegram" in result.stdout and "TON" in result.stdout
    assert "│" not in result.stdout and "\x1b" not in result.stdout


def test_a_message_to_a_pipe_or_a_log_keeps_a_long_path_whole(tmp_path):
    """rich wrapped every message at 80 characters when stderr was no terminal (a log, CI), folding a long path
    mid-word ('.../afile/o' and 'ut.csv' on two lines): nothing to grep for. Only a terminal wraps now."""
    missing = tmp_path / ("a-folder-with-a-long-name-" * 4) / "handles.csv"
    for args in (("predict", str(missing), "-o", str(tmp_path / "out.csv")), ("flag", str(missing), "-o", "o.csv")):
        result = run_cli(*args, env={"COLUMNS": "80"})
        assert result.returncode == 2 and str(missing) in result.stderr.splitlines()[0], result.stderr


def test_the_training_report_to_a_log_keeps_its_lines_whole():
    """``train price > log``: the library's progress lines ("cv {...}: rmse_ln 0.8894 (686 rounds)") were wrapped
    at 80 characters too; every console of handleval's is this one."""
    import io

    from handleval._console import Console

    line = "cv {'num_leaves': 15, 'min_child_samples': 50, 'lambda_l2': 5.0}: rmse_ln 0.8894 (686 rounds) " * 2
    log = io.StringIO()
    Console(file=log, width=80).print(line)
    assert log.getvalue() == line + "\n"
    assert not any("from rich.console import Console" in p.read_text() for p in (ROOT / "handleval").rglob("*.py")
                   if p.name != "_console.py")


def test_data_list_on_a_narrow_terminal_neither_cuts_nor_wraps(entries):
    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "handleval", "data", "list"], stdout=follower,
                                stderr=subprocess.PIPE, cwd=ROOT,
                                env=checkout_env(COLUMNS="80", TERM="xterm"))
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closed: the child exited
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert proc.wait(timeout=300) == 0, proc.stderr.read() if proc.stderr else ""
    finally:
        os.close(leader)
    text = re.sub(r"\x1b\[[0-9;]*m", "", b"".join(chunks).decode("utf-8").replace("\r\n", "\n"))
    _names_whole_on_their_own_lines(text, entries)


def test_data_list_json_is_the_catalog(entries):
    result = run_cli("data", "list", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert rows == [{"name": e.name, "kind": e.kind, "rows": e.rows, "dates": e.dates, "currency": e.currency,
                     "licence": e.licence} for e in entries]
    licence = {row["name"]: row["licence"] for row in rows}  # whole: the restriction is often the last words
    assert "RESEARCH / EVALUATION ONLY" in licence["sales/namebio_2015_2020"]
    assert "non-commercial research purposes only" in licence["sales/dash_email"]


# ---------------------------------------------------------------------------------------------------- -o
@pytest.mark.parametrize("command", ["predict", "flag", "triage"])
def test_each_command_states_the_output_rule_in_its_help(command):
    result = runner.invoke(app, [command, "--help"])
    assert " ".join(OUTPUT_RULE.split()) in " ".join(result.output.split())


def _accounts_csv(path: Path) -> Path:
    pd.DataFrame({"screen_name": ["pizza", "jdk_19927"], "created_at": ["2009-01-01", "2015-01-01"],
                  "statuses_count": [10, 3], "followers_count": [3, 0], "friends_count": [1, 2],
                  "favourites_count": [0, 0], "verified": [False, False], "observed_at": ["2024-06-01"] * 2,
                  "last_active_at": ["2015-01-01", None]}).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".parquet"])
def test_a_csv_tsv_or_parquet_name_is_one_file_for_every_command(tmp_path, suffix):
    accounts = _accounts_csv(tmp_path / "accounts.csv")
    handles = tmp_path / "h.csv"
    _handles_csv(handles, 5)
    results = {}
    for command, source in (("predict", handles), ("flag", accounts), ("triage", accounts)):
        out = tmp_path / f"{command}{suffix}"
        result = runner.invoke(app, [command, str(source), "-o", str(out), *(["--chunk-rows", "2"] if command ==
                                                                              "predict" else [])])
        assert result.exit_code == 0, result.output
        assert out.is_file(), command
        results[command] = (pd.read_parquet(out) if suffix == ".parquet" else  # a .tsv is tab-separated
                            pd.read_csv(out, sep="\t" if suffix == ".tsv" else ","))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(  # no parts left, a record of each batch run
        ["accounts.csv", "h.csv", *(f"{c}{suffix}" for c in ("predict", "flag", "triage")),
         *(f".{c}{suffix}.run.json" for c in ("predict", "flag"))])
    assert results["predict"]["handle"].tolist() == [f"user_{i}" for i in range(5)]  # 3 parts joined in order
    assert results["predict"]["price_usd"].notna().all()
    assert results["flag"]["screen_name"].tolist() == ["pizza", "jdk_19927"]
    assert set(results["triage"]["screen_name"]) == {"pizza", "jdk_19927"}


@pytest.mark.parametrize("command", ["predict", "flag", "triage"])
def test_a_table_name_we_do_not_write_is_refused_before_anything_is_made(tmp_path, command):
    """``-o scores.json`` was a directory of Parquet parts named like a JSON file."""
    source = _accounts_csv(tmp_path / "accounts.csv") if command != "predict" else tmp_path / "h.csv"
    if command == "predict":
        _handles_csv(source, 3)
    for name in ("scores.json", "scores.xlsx", "scores.txt"):
        refused = runner.invoke(app, [command, str(source), "-o", str(tmp_path / name)])
        assert refused.exit_code == 2 and "name the output .csv, .tsv or .parquet" in refused.output, refused.output
        assert not (tmp_path / name).exists()
    dash = runner.invoke(app, [command, str(source), "-o", "-"])  # was a directory named '-' in the working one
    assert dash.exit_code == 2 and "(standard output) is not written to" in dash.output, dash.output


def test_any_other_name_is_a_directory_of_parts_and_triage_refuses_it(tmp_path):
    accounts = _accounts_csv(tmp_path / "accounts.csv")
    out = tmp_path / "flags"
    result = runner.invoke(app, ["flag", str(accounts), "-o", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    assert out.is_dir() and [p.suffix for p in out.glob("part-*")] == [".parquet"]
    assert read_output(out)["screen_name"].tolist() == ["pizza", "jdk_19927"]
    for name in ("flags", "ranked"):  # an existing directory, and a name that would be one
        refused = runner.invoke(app, ["triage", str(accounts), "-o", str(tmp_path / name)])
        assert refused.exit_code == 2 and "give a file name" in refused.output
        assert not (tmp_path / "ranked").exists()


def test_a_flag_part_where_no_row_scores_keeps_the_columns_types(tmp_path):
    """A part of unscorable rows only wrote `bot` and `dormant` as text: the parts then did not join into one
    Parquet file (a traceback), and a directory read `bot` as the strings "false"."""
    accounts = tmp_path / "accounts.csv"
    frame = pd.read_csv(_accounts_csv(accounts)).drop(columns="last_active_at")
    pd.concat([frame, frame.assign(screen_name="trailer", created_at=None)]).to_csv(accounts, index=False)
    out = tmp_path / "flags.parquet"
    result = runner.invoke(app, ["flag", str(accounts), "-o", str(out), "--chunk-rows", "2", "--quiet"])
    assert result.exit_code == 0, result.output
    table = pd.read_parquet(out)
    assert table["bot"].tolist()[:2] == [False, False] and table["error"].notna().tolist() == [False, False, True,
                                                                                                True]
    from handleval.accounts import load_accounts

    assert str(load_accounts().flag(frame.assign(created_at=None))["bot"].dtype) == "boolean"  # in Python too


def test_overwrite_never_replaces_a_users_file_with_a_directory_of_parts(tmp_path):
    accounts = _accounts_csv(tmp_path / "accounts.csv")
    mine = tmp_path / "notes"
    mine.write_text("my own file\n")
    for flags in ([], ["--overwrite"]):
        refused = runner.invoke(app, ["flag", str(accounts), "-o", str(mine), *flags])
        assert refused.exit_code == 2 and "handleval did not write" in refused.output, refused.output
        assert mine.read_text() == "my own file\n"


def test_a_one_file_output_is_resumed_from_its_parts_and_never_silently_replaced(tmp_path):
    handles = tmp_path / "h.csv"
    _handles_csv(handles, 5)
    out = tmp_path / "scores.csv"
    args = ["predict", str(handles), "-o", str(out), "--quiet", "--chunk-rows", "2"]
    assert runner.invoke(app, args).exit_code == 0
    expected = pd.read_csv(out)
    again = runner.invoke(app, args)
    assert again.exit_code == 2 and "--overwrite" in again.output
    done = runner.invoke(app, [*args[:-3], "--resume"])
    assert done.exit_code == 0 and "already complete" in done.output
    # An interrupted run: the parts wait beside the file's name; --resume finishes them into the file.
    out.unlink()
    from handleval.cli import predict_scoring
    from handleval.price.predict import OUTPUT_COLUMNS

    factory, scoring = predict_scoring(None)  # as `predict` scores: its resume refuses any other scorer
    run_batch(handles, tmp_path / ".scores.csv.parts", scorer_factory=factory, scoring=scoring, chunk_rows=2,
              output_format="csv", quiet=True, output_columns=OUTPUT_COLUMNS)
    _forget_last_part(tmp_path / ".scores.csv.parts")
    with pytest.raises(Exception, match="incomplete"):
        read_output(tmp_path / ".scores.csv.parts")
    resumed = runner.invoke(app, ["predict", str(handles), "-o", str(out), "--resume"])
    assert resumed.exit_code == 0, resumed.output
    joined = pd.read_csv(out)
    assert joined["handle"].tolist() == expected["handle"].tolist()
    assert not (tmp_path / ".scores.csv.parts").exists()


def test_an_unknown_engine_is_refused_before_anything_runs(tmp_path):
    """`--engine` is a choice shown in `--help` (local|dask), and another value stops the run at once."""
    source = tmp_path / "h.csv"
    source.write_text("handle\npizza\n", encoding="utf-8")
    result = runner.invoke(app, ["predict", str(source), "-o", str(tmp_path / "out.csv"), "--engine", "spark"])
    assert result.exit_code == 2 and "'spark' is not one of 'local', 'dask'" in " ".join(result.output.split())
    assert not (tmp_path / "out.csv").exists()
    shown = runner.invoke(app, ["predict", "--help"]).output
    assert "local|dask" in shown


def test_triage_names_its_price_bundle_price_model_and_still_reads_model(tmp_path):
    """triage reads two bundles: --price-model and --accounts-model say which (--model, predict's name for the price
    bundle, still works); a wrong price bundle directory is named in the error."""
    from handleval.config import MODELS_DIR

    accounts = _accounts_csv(tmp_path / "accounts.csv")
    for option in ("--price-model", "--model"):
        out = tmp_path / f"ranked{option.replace('-', '_')}.csv"
        result = runner.invoke(app, ["triage", str(accounts), "-o", str(out), option, str(MODELS_DIR / "price"),
                                     "--accounts-model", str(MODELS_DIR / "accounts")])
        assert result.exit_code == 0, result.output
        assert len(pd.read_csv(out)) == 2
    for option in ("--price-model", "--model"):  # each is read: a wrong directory is named in the error
        missing = runner.invoke(app, ["triage", str(accounts), "-o", str(tmp_path / "x.csv"),
                                      option, str(tmp_path / "nowhere")])
        assert missing.exit_code != 0 and "nowhere" in missing.output, option


def test_h_is_help_everywhere_and_triage_can_be_quiet(tmp_path):
    """-h is --help on every command; triage has --quiet like the other batch commands, and --top 0 prints no
    table (it had printed an empty one)."""
    for args in ([], ["value"], ["predict"], ["flag"], ["triage"], ["train", "price"], ["data", "list"]):
        result = runner.invoke(app, [*args, "-h"])
        assert result.exit_code == 0 and "Usage:" in result.output, (args, result.output)
    accounts = _accounts_csv(tmp_path / "accounts.csv")
    quiet = runner.invoke(app, ["triage", str(accounts), "-o", str(tmp_path / "q.csv"), "-q"])
    assert quiet.exit_code == 0 and quiet.output == "" and len(pd.read_csv(tmp_path / "q.csv")) == 2
    none = runner.invoke(app, ["triage", str(accounts), "-o", str(tmp_path / "n.csv"), "--top", "0"])
    assert none.exit_code == 0 and "top 0" not in none.output and "2 accounts ranked" in none.output


def test_platform_help_names_every_platform_the_cli_takes():
    """-p's help is made from the platforms the CLI accepts (it was typed out by hand beside them)."""
    from handleval.handles import PLATFORM_ALIASES, PLATFORMS

    for args in (["value"], ["predict"], ["train", "price"]):
        text = " ".join(runner.invoke(app, [*args, "-h"]).output.split())
        assert all(f"{name}," in text or f"{name} (" in text for name in PLATFORMS), (args, text)
        assert all(f"({alias} = {name})" in text for alias, name in PLATFORM_ALIASES.items()), (args, text)


def test_predict_resume_is_refused_when_the_sales_changed(tmp_path, monkeypatch):
    """A run killed and resumed with other sales data (HANDLEVAL_DATA pointing at a copy with other prices)
    mixed two scorings: the comparables of the first parts came from one history, the rest from another. The run
    records the sales' digest beside the bundle's; --resume then refuses."""
    from handleval.cli import predict_scoring
    from handleval.config import data_dir

    data = tmp_path / "data"
    data.mkdir()
    shared = data_dir()
    for item in shared.iterdir():
        (data / item.name).symlink_to(item)
    (data / "sales").unlink()
    (data / "sales").mkdir()
    for item in (shared / "sales").iterdir():
        (data / "sales" / item.name).symlink_to(item)
    (data / "sales" / "dash_email").unlink()
    shutil.copytree(shared / "sales" / "dash_email", data / "sales" / "dash_email")
    _, before = predict_scoring(None)
    monkeypatch.setenv("HANDLEVAL_DATA", str(data))
    assert predict_scoring(None)[1] == before  # the same files, read through another folder
    source, out = tmp_path / "h.csv", tmp_path / "scores"
    _handles_csv(source, 5)
    args = ["predict", str(source), "-o", str(out)]
    assert runner.invoke(app, [*args, "--chunk-rows", "2", "--quiet"]).exit_code == 0
    _forget_last_part(out)
    sales = data / "sales" / "dash_email" / "dash_ea_flat.csv"
    sales.write_text(sales.read_text().replace("\n1", "\n2", 1))  # one price changed
    after = predict_scoring(None)[1]
    assert after["bundle"] == before["bundle"] and after["sales"] != before["sales"] is not None
    refused = runner.invoke(app, [*args, "--resume"])
    assert refused.exit_code == 2 and "cannot resume" in refused.output, refused.output


def test_struct_list_and_map_cells_are_written_to_csv_as_json(tmp_path):
    """A Parquet input with a list, struct or map column and a .csv output stopped with a traceback (Arrow's CSV
    writer takes no nested cells) and left its parts behind."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"handle": ["pizza", "nike"], "tags": [["x", "y"], None],
                      "metrics": [{"tweet_count": 1}, {"tweet_count": 2}],
                      "extra": pa.array([[("k", "v")], []], pa.map_(pa.string(), pa.string()))})
    pq.write_table(table, tmp_path / "in.parquet")
    out = tmp_path / "out.csv"
    result = runner.invoke(app, ["predict", str(tmp_path / "in.parquet"), "-o", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    back = pd.read_csv(out, keep_default_na=False)
    assert back["tags"].tolist() == ['["x", "y"]', ""] and back["metrics"].tolist()[0] == '{"tweet_count": 1}'
    assert back["extra"].tolist() == ['{"k": "v"}', "{}"] and back["price_usd"].gt(0).all()
    from handleval.io import _nested_as_json  # at any depth: maps are objects, NaN is null (JSON has no NaN)

    deep = pa.table({"s": pa.array([{"inner": [("k", 1)], "f": float("nan")}],
                                   pa.struct([("inner", pa.map_(pa.string(), pa.int64())), ("f", pa.float64())]))})
    assert _nested_as_json(deep).column("s").to_pylist() == ['{"inner": {"k": 1}, "f": null}']


def test_triage_writes_the_inputs_own_columns_as_flag_does(tmp_path):
    """triage went through pandas: a map column came back `[["k", "v"]]` in its CSV (flag: `{"k": "v"}`) and a
    list of pairs in its Parquet, and a float NaN as text. It now writes the rows as read, in its ranked order."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(pd.read_csv(_accounts_csv(tmp_path / "accounts.csv")), preserve_index=False)
    table = table.append_column("extra", pa.array([[("k", "v")], [("n", "1")]], pa.map_(pa.string(), pa.string())))
    table = table.append_column("score", pa.array([float("nan"), 2.5]))
    pq.write_table(table, tmp_path / "in.parquet")
    for suffix in (".csv", ".parquet"):
        for command in ("flag", "triage"):
            result = runner.invoke(app, [command, str(tmp_path / "in.parquet"), "-o",
                                         str(tmp_path / f"{command}{suffix}"), "--quiet"])
            assert result.exit_code == 0, result.output
    flagged = pd.read_csv(tmp_path / "flag.csv", keep_default_na=False).set_index("screen_name")
    ranked = pd.read_csv(tmp_path / "triage.csv", keep_default_na=False).set_index("screen_name")
    assert ranked.loc[flagged.index, "extra"].tolist() == flagged["extra"].tolist() == ['{"k": "v"}', '{"n": "1"}']
    back = pq.read_table(tmp_path / "triage.parquet")
    assert back.schema.field("extra").type == table.schema.field("extra").type
    assert back.schema.field("score").type == pa.float64()
    by_name = dict(zip(back.column("screen_name").to_pylist(), back.column("extra").to_pylist(), strict=True))
    assert by_name == {"pizza": [("k", "v")], "jdk_19927": [("n", "1")]}  # each row's own cells, ranked


def test_messages_say_what_is_wrong_with_options_folders_and_column_names(tmp_path):
    """--resume with --overwrite was refused as "the input differs ...; use --overwrite", a file where the output's
    folder should be read "its folder ... does not exist", and flag gave no hint for `Screen_Name`."""
    source = tmp_path / "h.csv"
    _handles_csv(source, 2)
    assert runner.invoke(app, ["predict", str(source), "-o", str(tmp_path / "done.csv"), "-q"]).exit_code == 0
    for name in ("s", "done.csv"):  # a folder, and a finished file (it said "already complete", exit 0)
        both = runner.invoke(app, ["predict", str(source), "-o", str(tmp_path / name), "--resume", "--overwrite",
                                   "--model", str(tmp_path / "no-bundle")])  # refused before the model loads
        assert both.exit_code == 2 and "--resume and --overwrite exclude each other" in both.output, both.output
    (tmp_path / "afile").write_text("x\n")
    for command, src in (("predict", source), ("triage", _accounts_csv(tmp_path / "accounts.csv"))):
        folder = runner.invoke(app, [command, str(src), "-o", str(tmp_path / "afile" / "out.csv")])
        assert folder.exit_code == 2 and "afile is a file, not a folder" in folder.output, (command, folder.output)
    # a folder where no file can be made (even by root): the message names the output, not the hidden run record
    unwritable = runner.invoke(app, ["predict", str(source), "-o", "/proc/handleval-out.csv"])
    assert unwritable.exit_code == 2 and "cannot write /proc/handleval-out.csv" in unwritable.output, unwritable.output
    assert ".run.json" not in unwritable.output
    pd.read_csv(tmp_path / "accounts.csv").rename(columns={"screen_name": "Screen_Name"}).to_csv(
        tmp_path / "cased.csv", index=False)
    cased = runner.invoke(app, ["flag", str(tmp_path / "cased.csv"), "-o", str(tmp_path / "f")])
    assert cased.exit_code == 2 and "did you mean 'Screen_Name'? names are case-sensitive" in cased.output


def _running_with_a_part(cmd: list[str], out: Path, **popen: Any) -> subprocess.Popen:
    """``cmd`` started from the checkout, still running once it has recorded a finished part in ``out``. A shell
    without job control starts background jobs with SIGINT ignored and the child inherits that: it gets the
    default, as a terminal's Ctrl-C finds it."""
    import signal

    from handleval.batch import Manifest

    proc = subprocess.Popen(cmd, env=checkout_env(), cwd=Path(__file__).resolve().parents[2], stdout=subprocess.PIPE,
                            text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL), **popen)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if len(Manifest.load(out).parts) >= 1:  # type: ignore[union-attr]
                break
        except Exception:  # not written yet, or a journal line half written
            pass
        time.sleep(0.02)
    assert proc.poll() is None, f"run ended before it was stopped: {proc.communicate()}"
    return proc


@pytest.mark.parametrize(("stop", "code", "said"), [("SIGINT", 130, "interrupted"), ("SIGTERM", 143, "terminated")])
def test_ctrl_c_in_predict_says_how_to_finish_and_resume_does(tmp_path, stop, code, said):
    """Ctrl-C (SIGINT) or a scheduler's SIGTERM mid-run: exit 130 or 143 and, on a line of its own after the
    progress bar, that the finished parts are kept and ``--resume`` finishes the run (SIGINT printed only
    "interrupted"; SIGTERM printed nothing and left temporary parts); then ``--resume`` does."""
    import signal


    source, out = tmp_path / "in.csv", tmp_path / "out"
    _handles_csv(source, 30_000)
    cmd = [sys.executable, "-m", "handleval", "predict", str(source), "-o", str(out), "--chunk-rows", "1000"]
    proc = _running_with_a_part(cmd, out, stderr=subprocess.PIPE)
    proc.send_signal(getattr(signal, stop))
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err
    assert f"\n{said}: the finished parts are kept; the same command with --resume finishes the run" in err, err
    assert "Traceback" not in err
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")], "a temporary part was left behind"
    if stop == "SIGTERM":  # the same stop from here on (test_batch resumes a SIGTERM-killed run exactly once)
        return
    done = subprocess.run([*cmd, "--resume", "--quiet"], env=checkout_env(), cwd=Path(__file__).resolve().parents[2],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert len(read_output(out)) == 30_000


def test_ctrl_c_to_the_process_group_of_a_dask_run_prints_no_worker_traceback(tmp_path):
    """A terminal's Ctrl-C reaches the whole process group: each Dask worker printed a KeyboardInterrupt traceback
    before the "interrupted" line. The workers start with it ignored; the run stops as a local one does."""
    import os
    import signal

    import pyarrow as pa
    import pyarrow.parquet as pq


    source, out = tmp_path / "in.parquet", tmp_path / "out"
    pq.write_table(pa.table({"handle": [f"name_{i:06d}" for i in range(200_000)]}), source, row_group_size=2_000)
    proc = _running_with_a_part([sys.executable, "-m", "handleval", "predict", str(source), "-o", str(out),
                                 "--engine", "dask", "--workers", "1", "--chunk-rows", "500"], out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    os.killpg(proc.pid, signal.SIGINT)
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, output
    assert "Traceback" not in output and "KeyboardInterrupt" not in output, output[-3000:]
    assert "interrupted: the finished parts are kept" in output
    # --chunk-rows was ignored without a word on Dask: its parts are the file's row groups
    assert "warning: --chunk-rows is the local engine's" in output


def test_sigterm_in_training_leaves_no_staging_folder(tmp_path):
    """A training stopped by SIGTERM says so and exits 143, and removes its staging folder (it was left, hidden,
    until the next training there), as Ctrl-C does; nothing is written at ``--output``."""
    import signal

    out = tmp_path / "accounts"
    proc = subprocess.Popen([sys.executable, "-m", "handleval", "train", "accounts", "-o", str(out), "--no-track"],
                            env=checkout_env(), cwd=Path(__file__).resolve().parents[2],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None and not list(tmp_path.glob(".accounts.training-*")):
        time.sleep(0.02)
    assert proc.poll() is None, f"training ended before SIGTERM: {proc.communicate()}"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert "terminated" in err and "Traceback" not in err, err
    assert list(tmp_path.iterdir()) == [], [p.name for p in tmp_path.iterdir()]
