"""training/: the entry points are their CLI commands, and the README says what the manifests say."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from handleval.cli import train_app

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("render_readme", ROOT / "training" / "render_readme.py")
render_readme = importlib.util.module_from_spec(spec)
spec.loader.exec_module(render_readme)


def _manifest(kind: str) -> dict:
    return json.loads((ROOT / "models" / kind / "manifest.json").read_text(encoding="utf-8"))


def test_training_readme_is_what_the_manifests_say():
    text = (ROOT / "training" / "README.md").read_text(encoding="utf-8")
    assert render_readme.render() in text, "run python training/render_readme.py after retraining"


@pytest.mark.parametrize(("kind", "data_key"), [("price", "training_data"), ("accounts", "data")])
def test_the_readme_numbers_are_read_from_the_manifest(kind, data_key):
    """Independently of the renderer: seed, trained_at, time and every data file's size and sha256 appear."""
    manifest = _manifest(kind)
    section = render_readme.bundle_section(kind)
    assert f"seed: {manifest['config']['seed']}" in section
    assert manifest["trained_at"] in section
    seconds = manifest.get("training_seconds")
    assert (f"training time: {seconds:.0f} s" if seconds is not None else "not recorded") in section
    files = [f for entry in manifest[data_key].values() for f in entry["files"]]
    assert files
    for f in files:
        assert re.search(rf"`{re.escape(f['file'])}` \| {f['bytes']:,} \| `{f['sha256']}`", section)


def test_the_check_fails_when_a_manifest_changes(tmp_path):
    """A retrained bundle (another time, other data) makes the README stale until it is rendered again."""
    for kind in ("price", "accounts"):
        (tmp_path / "models" / kind).mkdir(parents=True)
        manifest = _manifest(kind)
        manifest["training_seconds"] = 94.4
        (tmp_path / "models" / kind / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    (tmp_path / "configs").symlink_to(ROOT / "configs")
    retrained = render_readme.render(tmp_path)
    assert "training time: 94 s" in retrained
    assert retrained not in (ROOT / "training" / "README.md").read_text(encoding="utf-8")


def test_the_config_line_names_real_differences_only(tmp_path):
    """A setting the bundle's manifest lacks (added to the config later) matches while the file leaves it at its
    default; a changed setting is named."""
    (tmp_path / "models" / "price").mkdir(parents=True)
    manifest = _manifest("price")
    manifest["config"].pop("extra_sources", None)
    (tmp_path / "configs").mkdir()
    for name in ("price.yaml", "markets.yaml"):
        (tmp_path / "configs" / name).write_text((ROOT / "configs" / name).read_text(encoding="utf-8"),
                                                 encoding="utf-8")
    (tmp_path / "models" / "price" / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    section = render_readme.bundle_section("price", tmp_path)
    assert "config: `configs/price.yaml`; the manifest's copy matches the file today" in section
    assert "markets: `configs/markets.yaml`; the manifest's copy (what prices follow) matches the file today" in section
    manifest["config"]["seed"] = manifest["config"]["seed"] + 1
    (tmp_path / "models" / "price" / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert "differs from the file today in: seed" in render_readme.bundle_section("price", tmp_path)
    # the markets config prices by the bundle's copy: an edit of the file is named (it changed no price, unsaid)
    markets = (tmp_path / "configs" / "markets.yaml").read_text(encoding="utf-8")
    (tmp_path / "configs" / "markets.yaml").write_text(markets.replace("usd: 2500", "usd: 3000"), encoding="utf-8")
    assert "(what prices follow) differs from the file today in: rare_handles" in \
        render_readme.bundle_section("price", tmp_path)


@pytest.mark.parametrize("kind", ["price", "accounts"])
def test_each_script_is_its_train_command(kind):
    """Same options, same help: the script runs the command itself."""
    result = subprocess.run([sys.executable, str(ROOT / "training" / f"{kind}.py"), "--help"], capture_output=True,
                            text=True, timeout=120, env={**os.environ, "COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    command = typer.main.get_command(train_app).commands[kind]
    for param in command.params:
        for opt in param.opts:
            assert opt in result.stdout
    assert command.help.split(".")[0] in " ".join(result.stdout.split())
    assert f"python training/{kind}.py" in result.stdout
