"""The data commands and the error contract of the CLI, run as real subprocesses."""

from __future__ import annotations

import handleval
from tests._helpers import run_cli


def test_version():
    result = run_cli("--version")
    assert result.returncode == 0 and handleval.__version__ in result.stdout


def test_data_list_shows_every_sales_set():
    result = run_cli("data", "list")
    assert result.returncode == 0, result.stderr
    for name in ("fragment_telegram", "namebio_domains", "dash_email", "ens_legacy_auction", "3,403", "TON", "MIT"):
        assert name in result.stdout


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
    result = run_cli("data", "list", env={"HANDLEVAL_DATA": str(tmp_path / "nope")})
    assert result.returncode == 2
    assert "HANDLEVAL_DATA" in result.stderr and "Traceback" not in result.stderr
