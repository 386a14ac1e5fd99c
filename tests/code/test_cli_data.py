"""The data commands and the error contract of the CLI, run as real subprocesses."""

from __future__ import annotations

from pathlib import Path

import pytest

import handleval
from tests._helpers import run_cli


def test_version():
    result = run_cli("--version")
    assert result.returncode == 0 and handleval.__version__ in result.stdout


def test_data_check_passes_on_real_data():
    result = run_cli("data", "check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "valid" in result.stdout


def test_data_check_fails_on_malformed_set(tmp_path, data_root):
    # A copy of the directory layout where one set is garbage: check must exit non-zero with the report.
    for source in ("fragment_telegram", "namebio_domains", "dash_email", "ens_legacy_auction", "web3_names_small"):
        (tmp_path / "sales" / source).mkdir(parents=True)
        for f in (data_root / "sales" / source).rglob("*"):
            target = tmp_path / "sales" / source / f.relative_to(data_root / "sales" / source)
            if f.is_dir():
                target.mkdir(parents=True, exist_ok=True)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.symlink_to(f)
    bad = tmp_path / "sales" / "namebio_domains" / "namebio_sales.csv"
    bad.unlink()
    bad.write_text("Domain,Price,Date,Venue\n" + "nonsense,x,y,z\n" * 50)
    (tmp_path / "accounts").mkdir()
    result = run_cli("data", "check", env={"HANDLEVAL_DATA": str(tmp_path)})
    assert result.returncode != 0
    assert "namebio_domains" in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_missing_data_dir_is_one_clear_message(tmp_path):
    """A folder that does not exist, or one that holds none of sales/, reference/, accounts/ (it gave a warning that
    the sales had changed, then a missing reference file), is one message saying what to set."""
    result = run_cli("data", "list", env={"HANDLEVAL_DATA": str(tmp_path / "nope")})
    assert result.returncode == 2
    assert "HANDLEVAL_DATA" in result.stderr and "Traceback" not in result.stderr
    (tmp_path / "empty").mkdir()
    result = run_cli("value", "pizza", env={"HANDLEVAL_DATA": str(tmp_path / "empty")})
    said = " ".join(result.stderr.split())
    assert result.returncode == 2 and said.startswith("error: data directory holds none of sales/, reference/"), said
    assert "warning" not in said
    (tmp_path / "empty" / "accounts").mkdir()  # one part is a data directory, but pricing needs the other two
    result = run_cli("value", "pizza", env={"HANDLEVAL_DATA": str(tmp_path / "empty")})
    said = " ".join(result.stderr.split())
    assert result.returncode == 2 and said.startswith(f"error: the data directory {tmp_path / 'empty'} holds no "
                                                      "reference/"), said
    assert "warning" not in said


def test_pricing_without_the_account_sets_of_x_s_famous_accounts_is_one_clear_message(tmp_path, data_root,
                                                                                        monkeypatch):
    """X's market rules read its famous accounts from three account sets: a data directory of sales and reference
    files alone fails the load with the one message naming them, before any handle is priced."""
    for part in ("sales", "reference"):
        (tmp_path / part).symlink_to(data_root / part)
    result = run_cli("value", "pizza", "-p", "telegram", env={"HANDLEVAL_DATA": str(tmp_path)})  # read at load
    said = " ".join(result.stderr.split())
    assert result.returncode == 2 and "Traceback" not in result.stderr, said
    assert said.startswith(f"error: the data directory {tmp_path} holds no accounts/kaggle_bots_2017/ or "
                           "accounts/botrepo_verified2019/ or accounts/twitter_human_bots_2020_subset/"), said
    from handleval.errors import DataDirNotFound
    from handleval.price.predict import load

    monkeypatch.setenv("HANDLEVAL_DATA", str(tmp_path))
    with pytest.raises(DataDirNotFound, match="holds no accounts/kaggle_bots_2017/"):
        load()  # the load itself, not the first X row
    with pytest.raises(DataDirNotFound, match="holds no accounts/kaggle_bots_2017/"):
        load(data_dir=tmp_path)  # a data directory given as such is no logged model's snapshot


def _without_two_sets(tmp_path: Path, data_root: Path) -> Path:
    """A data directory of links to ``data_root``'s sets but sales/dash_email and accounts/kaggle_bots_2017."""
    for group in ("sales", "accounts"):
        (tmp_path / group).mkdir()
        for item in (data_root / group).iterdir():
            if item.name not in ("dash_email", "kaggle_bots_2017"):
                (tmp_path / group / item.name).symlink_to(item)
    for item in data_root.iterdir():
        if item.name not in ("sales", "accounts"):
            (tmp_path / item.name).symlink_to(item)
    return tmp_path


def test_data_list_names_a_missing_set_and_lists_the_others(tmp_path, data_root):
    """With one sales set and one account set missing, `data list` failed as a whole (exit 2, nothing listed)."""
    result = run_cli("data", "list", env={"HANDLEVAL_DATA": str(_without_two_sets(tmp_path, data_root))})
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "2 set(s) cannot be read: sales/dash_email, accounts/kaggle_bots_2017" in " ".join(result.stderr.split())
    lines = {line.split()[0]: line for line in result.stdout.splitlines() if line.strip()}
    assert "unreadable" in lines["sales/dash_email"] and "unreadable" in lines["accounts/kaggle_bots_2017"]
    assert "3,403" in lines["sales/fragment_telegram"] and "12,417" in lines["accounts/cresci2017"]


def test_data_check_names_a_missing_account_set_and_checks_the_others(tmp_path, data_root):
    """One account set missing read as the whole account group unreadable ("accounts", 0 rows read)."""
    result = run_cli("data", "check", env={"HANDLEVAL_DATA": str(_without_two_sets(tmp_path, data_root))})
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    malformed = " ".join(result.stderr.split())
    assert "dash_email" in malformed and "kaggle_bots_2017" in malformed and "accounts (" not in malformed
    rows = {line.split("│")[1].strip(): line for line in result.stdout.splitlines() if line.count("│") > 3}
    assert "unreadable" in rows["kaggle_bots_2017"] and "17882" in rows["botrepo_pronbots2019"]
