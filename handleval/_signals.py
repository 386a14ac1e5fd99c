"""Signals while a job runs: SIGTERM handled as Ctrl-C is, and a signal set aside while worker processes start."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any


class Terminated(KeyboardInterrupt):
    """SIGTERM (a scheduler or ``kill`` stopping the job), handled as Ctrl-C is: what cleans up after Ctrl-C (a
    batch's temporary parts, a training's staging folder) runs for it too."""


def _raise_terminated(signum: int, frame: Any) -> None:
    raise Terminated


@contextlib.contextmanager
def signal_handled(signum: int, handler: Callable[[int, Any], Any] | int) -> Iterator[None]:
    """``handler`` for ``signum`` while the block runs, then the previous one. Only the main thread may set a
    handler (and only it receives signals): elsewhere the block runs as it is."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signum, handler)
    try:
        yield
    finally:
        signal.signal(signum, previous)


def sigterm_as_interrupt() -> contextlib.AbstractContextManager[None]:
    """SIGTERM raises :class:`Terminated` (a ``KeyboardInterrupt``) while the block runs."""
    return signal_handled(signal.SIGTERM, _raise_terminated)


#: What a stopped batch says after how it stopped: what it kept, and how to finish.
RESUME_HINT = ": the finished parts are kept; the same command with --resume finishes the run"


def how_stopped(exc: KeyboardInterrupt) -> tuple[str, int]:
    """``("terminated", 143)`` for SIGTERM, ``("interrupted", 130)`` for Ctrl-C: the word a stopped command says
    and its exit code, as a shell gives them (128 + the signal)."""
    return ("terminated", 143) if isinstance(exc, Terminated) else ("interrupted", 130)
