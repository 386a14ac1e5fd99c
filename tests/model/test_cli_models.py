"""The model commands as a user runs them (real subprocesses, committed bundles): outputs and error paths."""

from __future__ import annotations

import pandas as pd
import pytest

from handleval.batch import read_output
from tests._helpers import run_cli

pytestmark = pytest.mark.slow


def test_predict_csv_row_exact_and_refuses_to_overwrite(tmp_path):
    source = tmp_path / "handles.csv"
    pd.DataFrame({"handle": ["pizza", "@Nike", "a" * 16, "", "jdk_19927"], "id": [1, 2, 3, 4, 5]}).to_csv(
        source, index=False)
    out = tmp_path / "scores.csv"
    result = run_cli("predict", str(source), "-o", str(out), "--quiet")
    assert result.returncode == 0, result.stderr
    scored = read_output(out)
    assert scored["id"].astype(int).tolist() == [1, 2, 3, 4, 5]
    assert list(scored.columns[-7:]) == ["price_usd", "price_low_usd", "price_high_usd", "market_basis", "reasons",
                                         "risk", "error"]
    assert scored["error"].isna().tolist() == [True, True, False, False, True]
    again = run_cli("predict", str(source), "-o", str(out), "--quiet")
    assert again.returncode == 2 and "--resume" in again.stderr and "Traceback" not in again.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"name,price\npizza,1\n", "handle"),                      # wrong columns
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20, "not a CSV"),  # a binary file named .csv
    ],
)
def test_predict_bad_files_give_one_clear_message(tmp_path, content, message):
    source = tmp_path / "input.csv"
    source.write_bytes(content)
    result = run_cli("predict", str(source), "-o", str(tmp_path / "out"), "--quiet")
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_predict_with_missing_or_corrupt_bundle(tmp_path):
    source = tmp_path / "h.txt"
    source.write_text("pizza\n")
    missing = run_cli("predict", str(source), "-o", str(tmp_path / "o1"), "--model", str(tmp_path / "none"))
    assert missing.returncode == 2 and "not found" in missing.stderr and "Traceback" not in missing.stderr
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "manifest.json").write_text("{")
    corrupt = run_cli("predict", str(source), "-o", str(tmp_path / "o2"), "--model", str(broken))
    assert corrupt.returncode == 2 and "corrupt" in corrupt.stderr


def test_value_command_prints_a_table():
    result = run_cli("value", "pizza", "jdk_19927", "a" * 16)
    assert result.returncode == 0, result.stderr
    assert "pizza" in result.stdout and "$" in result.stdout and "at most 15" in result.stdout
    # comparables only with --comps (a reason may still say "comparable names 23% similar")
    assert not [line for line in result.stdout.splitlines() if line.strip().startswith("comparables ")]


def test_value_as_of_a_date_sees_only_the_sales_before_it():
    """``value --as-of`` prices as of a date (a quote an analyst can reproduce): before elonmusk's sale on Fragment
    (2025-03-13 00:57 UTC) there is no own sale to start from; a date alone is the end of that day, as the default is
    the end of today (``--as-of`` the sale's date did not see it); a time after today is refused (own sales aged
    into the future; 2300 had wrapped round in nanoseconds to before every sale)."""
    day_before = run_cli("value", "-p", "telegram", "elonmusk", "--as-of", "2025-03-12")
    that_day = run_cli("value", "-p", "telegram", "elonmusk", "--as-of", "2025-03-13")
    today = run_cli("value", "-p", "telegram", "elonmusk")
    assert day_before.returncode == 0 and that_day.returncode == 0 and today.returncode == 0, today.stderr
    assert "own sale" not in day_before.stdout and "own sale $16,000" in that_day.stdout
    assert "own sale $16,000" in today.stdout
    for wrong, says in (("soon", "is not a date or time"), ("2300-01-01", "is outside the dates"),
                        ((pd.Timestamp.now("UTC") + pd.Timedelta(days=2)).strftime("%Y-%m-%d"), "is after today")):
        done = run_cli("value", "elonmusk", "--as-of", wrong)
        assert done.returncode == 2 and f"--as-of {wrong!r} {says}" in done.stderr, done.stderr


def test_value_lines_are_whole_in_a_narrow_pipe():
    """In an 80-column pipe each handle's price line and its reasons come out whole, as the library gives them,
    so that a person can grep them."""
    import handleval

    expected = handleval.load().value_many(pd.DataFrame({"handle": ["pizza", "n1ke"]}), platform="x")
    result = run_cli("value", "pizza", "n1ke", env={"COLUMNS": "80"})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    for row in expected.itertuples(index=False):
        head = [line for line in lines if line.startswith(row.handle + " ")]
        assert len(head) == 1 and f"{row.price_usd:,.0f}" in head[0] and row.market_basis in head[0]
        assert "    " + row.reasons in lines
    assert any("risk: could impersonate" in line for line in lines if line.startswith("n1ke"))


def test_triage_ranks_by_expected_value_with_guard_rails(tmp_path):
    accounts = pd.DataFrame({
        "screen_name": ["pizza", "crypto_king_88213", "nike", "jdk_19927"],
        "created_at": ["2009-01-01", "2019-05-01", "2009-01-01", "2015-01-01"],
        "statuses_count": [10, 90000, 5000, 3], "followers_count": [3, 10, 9_000_000, 0],
        "friends_count": [1, 4900, 100, 2], "favourites_count": [0, 0, 100, 0],
        "verified": [False, False, True, False], "observed_at": ["2024-06-01"] * 4,
        "last_active_at": ["2015-01-01", "2024-05-30", "2024-05-31", None],
    })
    source = tmp_path / "accounts.csv"
    accounts.to_csv(source, index=False)
    out = tmp_path / "ranked.csv"
    result = run_cli("triage", str(source), "-o", str(out))
    assert result.returncode == 0, result.stderr
    ranked = pd.read_csv(out)
    assert sorted(ranked["screen_name"]) == sorted(accounts["screen_name"])
    ev = ranked["expected_value"].fillna(-1).to_numpy()
    assert (ev[:-1] >= ev[1:]).all()
    by_name = ranked.set_index("screen_name")
    assert not by_name.loc["nike", "releasable"] and by_name.loc["nike", "p_releasable"] == 0  # verified
    assert not by_name.loc["crypto_king_88213", "releasable"]  # active two days before observed_at
    assert by_name.loc["pizza", "dormant"]  # nine years without activity


@pytest.mark.parametrize(("command", "modules", "loader", "table"), [
    ("predict", ["handleval.price.predict"], "load", pd.DataFrame({"handle": ["pizza", "nike"]})),
    ("flag", ["handleval.accounts", "handleval.accounts.flag"], "load_accounts",
     pd.DataFrame({"screen_name": ["pizza_fan", "bot12345"], "created_at": ["2015-01-01", "2023-05-01"],
                   "statuses_count": [40, 9000], "followers_count": [12, 1], "friends_count": [30, 1990],
                   "favourites_count": [5, 0], "last_active_at": ["2024-01-01", None]})),
])
def test_batch_commands_load_the_bundle_once(tmp_path, monkeypatch, command, modules, loader, table):
    """The up-front bundle check is the scorer the local engine then uses (a second load cost ~5 s per run)."""
    import importlib

    from handleval import batch
    from handleval.cli import app
    from tests._helpers import cli_runner

    calls: list[tuple] = []
    for module in modules:  # every module that binds the loader's name
        target = importlib.import_module(module)
        real = getattr(target, loader)
        monkeypatch.setattr(target, loader, lambda *a, real=real, **k: calls.append(a) or real(*a, **k))
    monkeypatch.setattr(batch, "_SCORERS", {})
    source = tmp_path / "in.csv"
    table.to_csv(source, index=False)
    result = cli_runner().invoke(app, [command, str(source), "-o", str(tmp_path / "out"), "--quiet"])
    assert result.exit_code == 0, result.output
    assert len(read_output(tmp_path / "out")) == len(table)
    assert len(calls) == 1


def test_predict_comps_adds_a_json_column_under_the_output_naming_rule(tmp_path):
    """``--comps`` adds ``comparables`` (JSON per row) before ``error``, named like every output: an input column
    of that name stops the run, ``--prefix`` renames the output and the input's column stays as it was."""
    import json

    source = tmp_path / "handles.csv"
    pd.DataFrame({"handle": ["pizza", "a" * 16, "pizza", "bbc"], "platform": ["x", "x", "telegram", "domain"],
                  "as_of": ["", "", "2024-06-01", ""], "suffix": ["", "", "", "com"],
                  "comparables": list("abcd")}).to_csv(source, index=False)
    refused = run_cli("predict", str(source), "-o", str(tmp_path / "refused.csv"), "--quiet", "--comps")
    assert refused.returncode == 2 and "'comparables'" in refused.stderr and "--prefix" in refused.stderr
    out = tmp_path / "scores.csv"
    result = run_cli("predict", str(source), "-o", str(out), "--quiet", "--comps", "--prefix", "hv_")
    assert result.returncode == 0, result.stderr
    scored = read_output(out)
    assert list(scored.columns[-3:]) == ["hv_risk", "hv_comparables", "hv_error"]
    assert scored["comparables"].tolist() == list("abcd")
    listed = [json.loads(cell) for cell in scored["hv_comparables"]]
    assert listed[1] == [] and all(0 < len(listed[i]) <= 15 for i in (0, 2, 3))  # a row with an error: none
    assert all(c["sold_at"] < "2024-06-01" for c in listed[2])  # strictly before the row's as_of
    assert {c["market"] for c in listed[3]} == {"domain"}


def test_value_comps_lists_the_comparable_sales_under_each_row():
    result = run_cli("value", "pizza", "jdk_19927", "--comps")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("comparables") == 2 and "% similar" in result.stdout


def test_predict_comps_lists_what_the_library_lists_for_the_same_rows(tmp_path):
    """``predict --comps`` takes the comparables from the feature pass's k-NN; they are what the library's
    ``HandleFeaturizer.comparables`` lists for the same rows (the path that ran the k-NN a second time), and
    ``[]`` for a row with an error."""
    import handleval

    rows = pd.DataFrame({"handle": ["pizza", "crypto", "bbc", "88", "bad handle!", "a" * 16],
                         "platform": ["telegram", "x", "domain", "email", "x", "x"],
                         "suffix": ["", "", "com", "163.com", "", ""],
                         "as_of": ["2024-06-01", "2025-06-01", "2022-01-01", "2024-01-01", "2024-01-01",
                                   "2024-01-01"]})
    source, out = tmp_path / "handles.csv", tmp_path / "scores.csv"
    rows.to_csv(source, index=False)
    result = run_cli("predict", str(source), "-o", str(out), "--quiet", "--comps")
    assert result.returncode == 0, result.stderr
    listed = read_output(out)["comparables"].tolist()
    direct = handleval.load().featurizer.comparables(rows, as_json=True)
    assert listed == [*direct[:4], "[]", "[]"]
    assert all(cell != "[]" for cell in listed[:4])  # a comparison of empty lists would prove nothing
