"""``njit``: numba's compiler with its on-disk cache in a private directory, each file checked before numba reads it.

numba caches compiled code beside the source (``__pycache__``), else in a user cache, and raises at import when
neither can be written (a read-only install with a read-only home). Here the cache goes to
``$NUMBA_CACHE_DIR`` if set, else ``$HANDLEVAL_CACHE/numba`` (default ``~/.cache/handleval/numba``), and
when that cannot be written, or is not private to this user (:func:`handleval._cache.private_dir`), functions
are compiled in every process instead (about 10 s more per process).

numba's cache files are pickle (the ``.nbi`` index and the ``.nbc`` code). So that no file runs unless a handleval
process wrote it, every save records the sha256 of the function's files in ``handleval-sha256.json`` beside them,
and before numba reads them (to load, or to add to the index) files that do not match the record are deleted and
compiled again. This is not a signature: whoever can write as this user can also rewrite the record.
Set ``HANDLEVAL_NUMBA_CACHE=0`` to compile in every process and read nothing back.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numba

RECORD = "handleval-sha256.json"


def _cache_folder() -> Path | None:
    if os.environ.get("HANDLEVAL_NUMBA_CACHE", "1").strip().lower() in ("0", "false", "no", "off"):
        return None
    from handleval._cache import private_dir

    if not os.environ.get("NUMBA_CACHE_DIR"):
        from handleval.config import cache_dir

        root = private_dir(cache_dir())
        if root is None:
            return None
        numba.config.CACHE_DIR = str(root / "numba")
    folder = private_dir(Path(numba.config.CACHE_DIR))
    if folder is None:
        return None
    try:
        probe = folder / f".probe{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError:
        return None
    return folder


_FOLDER = _cache_folder()
_CACHE = _FOLDER is not None


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    fd = os.open(folder / ".handleval.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _files(folder: Path, base: str) -> list[Path]:
    return [p for p in folder.iterdir() if p.name.startswith(base + ".") and p.suffix in (".nbi", ".nbc")]


def _read_record(folder: Path) -> dict[str, str]:
    try:
        record = json.loads((folder / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def verify(folder: Path, base: str) -> None:
    """Delete the cache files of function ``base`` in ``folder`` that do not match the record."""
    record = _read_record(folder)
    for path in _files(folder, base):
        with contextlib.suppress(OSError):
            if record.get(path.name) != _digest(path):
                path.unlink()


def record(folder: Path, base: str) -> None:
    """Record the sha256 of the cache files of function ``base`` in ``folder`` (just written by numba)."""
    entries = _read_record(folder)
    entries = {k: v for k, v in entries.items() if not k.startswith(base + ".")}
    for path in _files(folder, base):
        with contextlib.suppress(OSError):
            entries[path.name] = _digest(path)
    tmp = folder / f".{RECORD}.tmp{os.getpid()}"
    tmp.write_text(json.dumps(entries, indent=0, sort_keys=True), encoding="utf-8")
    os.replace(tmp, folder / RECORD)


def _guard(dispatcher: Any) -> Any:
    """Wrap the dispatcher's cache so that numba reads only files that a handleval process recorded."""
    cache = getattr(dispatcher, "_cache", None)
    cache_file = getattr(cache, "_cache_file", None)
    index = getattr(cache_file, "_index_name", None)
    if cache is None or not isinstance(index, str) or not hasattr(cache, "load_overload"):
        return dispatcher
    folder, base = Path(cache._cache_path), index[: -len(".nbi")]
    load, save = cache.load_overload, cache.save_overload

    def load_overload(sig: Any, target_context: Any) -> Any:
        if not folder.is_dir():
            return None
        with _locked(folder):
            verify(folder, base)
            return load(sig, target_context)

    def save_overload(sig: Any, data: Any) -> None:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        with _locked(folder):
            verify(folder, base)  # numba reads the index to add to it
            save(sig, data)
            with contextlib.suppress(OSError):
                record(folder, base)

    cache.load_overload, cache.save_overload = load_overload, save_overload
    return dispatcher


def njit(function: Callable[..., Any] | None = None, **options: Any) -> Any:
    """``numba.njit(nogil=True, cache=...)`` with ``options``; usable bare (``@njit``) or called (``@njit(...)``)."""
    jit = numba.njit(cache=_CACHE, nogil=True, **options)
    if function is not None:
        return _guard(jit(function))
    return lambda f: _guard(jit(f))
