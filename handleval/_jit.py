"""``njit``: numba's compiler with its on-disk cache in handleval's cache directory.

numba caches compiled code beside the source (``__pycache__``), else in a user cache, and raises at import when
neither can be written (a read-only install with a read-only home). Here the cache goes to
``$NUMBA_CACHE_DIR`` if set, else ``$HANDLEVAL_CACHE/numba`` (default ``~/.cache/handleval/numba``), and
when that cannot be written either, functions are compiled in every process instead of failing.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numba


def _cache_writable() -> bool:
    if not os.environ.get("NUMBA_CACHE_DIR"):
        from handleval.config import cache_dir

        numba.config.CACHE_DIR = str(cache_dir() / "numba")
    folder = Path(numba.config.CACHE_DIR)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".probe{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError:
        return False
    return True


_CACHE = _cache_writable()


def njit(function: Callable[..., Any] | None = None, **options: Any) -> Any:
    """``numba.njit(nogil=True, cache=...)`` with ``options``; usable bare (``@njit``) or called (``@njit(...)``)."""
    jit = numba.njit(cache=_CACHE, nogil=True, **options)
    return jit(function) if function is not None else jit
