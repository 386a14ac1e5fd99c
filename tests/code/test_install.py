"""A regular (non-editable) install works on its own: the wheel ships the default configs and bundles.

Why: ``pip install -e .`` found ``configs/`` and ``models/`` beside the package; a wheel install has no checkout
beside it. This builds the real wheel, installs it into a fresh virtual environment (dependencies borrowed from the
test environment's site-packages, so nothing is downloaded but the build backend: the test needs the package
index, as the install itself does), and values a handle from a directory far from the checkout. The data
directory is still needed (``HANDLEVAL_DATA``): the price model reads its sales history at load.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

import handleval
from handleval.config import data_dir

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_a_wheel_install_finds_the_shipped_configs_and_bundles(tmp_path: Path) -> None:
    # Built from a copy of the files a release holds, so that the build's own folders (build/, *.egg-info) never
    # land in the checkout, nor stale ones from the checkout in the wheel.
    source = tmp_path / "source"
    for name in ("handleval", "configs", "models"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.nb[ic]"))
    for name in ("pyproject.toml", "README.md", "MANIFEST.in"):
        shutil.copy2(ROOT / name, source / name)
    wheels = tmp_path / "wheels"
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(source)],
                           capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = wheels.glob("handleval-*.whl")

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    purelib = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                                  capture_output=True, text=True, check=True).stdout.strip())
    # The test environment's packages as a plain path: its .pth files (the editable handleval) stay inactive.
    (purelib / "deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    installed = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
                                str(wheel)], capture_output=True, text=True, timeout=600)
    assert installed.returncode == 0, installed.stderr[-3000:]

    probe = (
        "import json, handleval\n"
        "from handleval import config\n"
        "from handleval.errors import ConfigError\n"
        "v = handleval.load().value('pizza', platform='x')\n"
        "try:\n"
        "    config.training_output('price')\n"
        "    refused = ''\n"
        "except ConfigError as exc:\n"
        "    refused = str(exc)\n"
        "print(json.dumps({'package': handleval.__file__, 'models': str(config.MODELS_DIR),\n"
        "                  'configs': str(config.CONFIGS_DIR), 'price': v.price_usd, 'refused': refused}))\n"
    )
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "HANDLEVAL_MODELS", "HANDLEVAL_CONFIGS", "VIRTUAL_ENV")}
    env["HANDLEVAL_DATA"] = str(data_dir())  # far from the checkout, ../shared/data is not beside it
    work = tmp_path / "elsewhere"
    work.mkdir()
    ran = subprocess.run([str(python), "-c", probe], cwd=work, env=env, capture_output=True, text=True, timeout=600)
    assert ran.returncode == 0, ran.stderr[-3000:]
    seen = json.loads(ran.stdout.strip().splitlines()[-1])
    assert Path(seen["package"]).is_relative_to(venv)  # the wheel's copy, not the checkout
    assert Path(seen["models"]) == venv / "share" / "handleval" / "models"
    assert Path(seen["configs"]) == venv / "share" / "handleval" / "configs"
    assert seen["price"] == handleval.load().value("pizza", platform="x").price_usd  # the same committed bundle
    assert "--output" in seen["refused"]  # training never writes into the files pip manages
