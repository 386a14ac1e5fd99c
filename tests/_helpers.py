"""Helpers the test modules share: the environment of a child process that must import this checkout, the
``handleval`` command run in such a process, and a file-size limit that makes a child's disk full."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
#: A terminal wide enough that no message a test reads is wrapped (rich wraps at the width, breaking a long
#: temporary path across lines: pytest-xdist's folders are deeper).
NO_WRAP = {"COLUMNS": "10000"}


def checkout_env(*first: str | Path, **extra: str) -> dict[str, str]:
    """``os.environ`` with ``first`` and this checkout at the front of ``PYTHONPATH`` (and ``extra`` set), so that
    a child process imports the code under test, not an installed handleval."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([*map(str, first), str(ROOT), env.get("PYTHONPATH", "")])
    env.update(extra)
    return env


def run_cli(*args: str, env: dict[str, str] | None = None, preexec: Callable[[], None] | None = None,
            timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """``python -m handleval *args`` in a child that imports this checkout, from its root, on a :data:`NO_WRAP`
    terminal; never raises on a non-zero exit."""
    return subprocess.run([sys.executable, "-m", "handleval", *args], capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT, env=checkout_env(**{**NO_WRAP, **(env or {})}), preexec_fn=preexec,
                          check=False)


def cli_runner() -> Any:
    """typer's runner of the CLI in this process, on a :data:`NO_WRAP` terminal."""
    from typer.testing import CliRunner

    return CliRunner(env=NO_WRAP)


def file_size_limit(max_bytes: int) -> Callable[[], None]:
    """A ``preexec_fn`` for :mod:`subprocess`: the child cannot write a file past ``max_bytes`` (a full disk);
    such a write fails with EFBIG instead of killing it."""
    def limit() -> None:
        import resource
        import signal

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, max_bytes))

    return limit
