"""handleval's on-disk cache: a private directory, and files that hold data only (no pickle), checked by sha256.

Why: a cache is read by every later process. A pickle planted or edited there would run code (or quietly change
prices) in all of them. So the cache directory must belong to this user and be writable by nobody else (it is
created 0700; one that fails the check is not used, with a warning), and a cache file is::

    b"HVCACHE1\\n" + sha256 hex of the rest + b"\\n" + an .npz archive (read with allow_pickle=False)

The archive holds the arrays, and ``__tree__`` (JSON) says how they nest: dicts, tuples, lists, numbers,
strings, scipy CSR matrices, and lists of strings and ``str -> float|int|str`` dicts stored as arrays (fast to
read back). Anything else cannot be written, so nothing but data can come back. A file whose digest, format or key
does not match is ignored (and rebuilt by the caller).

The sha256 guards against damage and against files that no handleval process wrote (copied in, edited by a
tool); it is not a signature: someone who can write as this user can rewrite the digest too (and the installed
code as well).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import warnings
from pathlib import Path
from typing import Any

import numpy as np

MAGIC = b"HVCACHE1\n"
SUFFIX = ".cache"
_SEP = "\x00"
_warned: set[str] = set()


class CacheFormatError(ValueError):
    """A cache file is damaged, foreign or holds something other than data."""


# ------------------------------------------------------------------------------------------ the directory
def unsafe_reason(path: Path) -> str | None:
    """Why ``path`` (an existing directory) must not hold our cache, or None: another owner, or group/other
    write permission."""
    st = path.stat()
    if not stat.S_ISDIR(st.st_mode):
        return "it is not a directory"
    if hasattr(os, "geteuid") and st.st_uid != os.geteuid():
        return f"it belongs to another user (uid {st.st_uid})"
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return f"group or other users can write to it (mode {stat.S_IMODE(st.st_mode):o})"
    return None


def private_dir(path: Path) -> Path | None:
    """``path`` created 0700 if missing; None (with one warning per process) when it is unusable or unsafe, so
    the caller runs uncached."""
    try:
        if not path.exists():
            path.mkdir(parents=True, mode=0o700, exist_ok=True)
            path.chmod(0o700)  # mkdir's mode is masked by the umask
        reason = unsafe_reason(path)
    except OSError as exc:
        reason = f"it cannot be created or read ({exc.strerror or exc})"
        if not path.parent.exists() or not os.access(path.parent, os.W_OK):
            return None  # a read-only home: uncached, as always, without a warning
    if reason is None:
        return path
    if str(path) not in _warned:
        _warned.add(str(path))
        warnings.warn(f"not using the cache directory {path}: {reason}; running without a cache "
                      "(set HANDLEVAL_CACHE to a private directory)", RuntimeWarning, stacklevel=3)
    return None


# ------------------------------------------------------------------------------------------ encoding
def _blob(strings: list[str]) -> np.ndarray | None:
    joined = _SEP.join(strings)
    if joined.count(_SEP) != max(len(strings) - 1, 0):
        return None  # a string holds the separator: stored as JSON instead
    return np.frombuffer(joined.encode("utf-8", "surrogatepass"), dtype=np.uint8)


def _unblob(blob: np.ndarray, n: int) -> list[str]:
    if n == 0:
        return []
    out = blob.tobytes().decode("utf-8", "surrogatepass").split(_SEP)
    if len(out) != n:
        raise CacheFormatError("string table of the wrong length")
    return out


def _encode(value: Any, arrays: dict[str, np.ndarray]) -> Any:
    def put(array: np.ndarray) -> str:
        if array.dtype.hasobject:
            raise TypeError("object arrays cannot be cached")
        name = f"a{len(arrays)}"
        arrays[name] = array
        return name

    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | float | np.integer | np.floating | np.bool_):
        return value.item() if isinstance(value, np.generic) else value
    if isinstance(value, np.ndarray):
        return {"$nd": put(value)}
    if isinstance(value, tuple):
        return {"$tuple": [_encode(v, arrays) for v in value]}
    if isinstance(value, list):
        blob = _blob(value) if len(value) > 16 and all(type(v) is str for v in value) else None
        if blob is not None:  # a long list of strings: one array, not one JSON node per string
            return {"$strlist": len(value), "blob": put(blob)}
        return {"$list": [_encode(v, arrays) for v in value]}
    if isinstance(value, dict):
        keys = list(value)
        if all(type(k) is str for k in keys):
            values = list(value.values())
            kinds = {type(v) for v in values}
            blob = _blob(keys) if len(keys) > 16 and len(kinds) == 1 and kinds <= {float, int, str} else None
            if blob is not None:
                kind = kinds.pop()
                if kind is str:
                    vblob = _blob(values)
                    if vblob is not None:
                        return {"$strdict": "str", "n": len(keys), "keys": put(blob), "values": put(vblob)}
                else:
                    array = np.array(values, dtype=np.float64 if kind is float else np.int64)
                    return {"$strdict": kind.__name__, "n": len(keys), "keys": put(blob), "values": put(array)}
            return {"$dict": [[k, _encode(v, arrays)] for k, v in value.items()]}
        raise TypeError("dicts with non-string keys cannot be cached")
    from scipy import sparse

    if sparse.issparse(value) and value.format == "csr":
        return {"$csr": [put(value.data), put(value.indices), put(value.indptr)], "shape": list(value.shape)}
    raise TypeError(f"{type(value).__name__} cannot be cached")


def _decode(node: Any, arrays: Any) -> Any:
    def get(name: Any) -> np.ndarray:
        if not isinstance(name, str) or name not in arrays.files:
            raise CacheFormatError(f"unknown array {name!r}")
        return arrays[name]

    if node is None or isinstance(node, bool | int | float | str):
        return node
    if not isinstance(node, dict) or len(node) == 0:
        raise CacheFormatError("unexpected node")
    if "$nd" in node:
        return get(node["$nd"])
    if "$tuple" in node:
        return tuple(_decode(v, arrays) for v in node["$tuple"])
    if "$list" in node:
        return [_decode(v, arrays) for v in node["$list"]]
    if "$strlist" in node:
        return _unblob(get(node["blob"]), int(node["$strlist"]))
    if "$dict" in node:
        return {str(k): _decode(v, arrays) for k, v in node["$dict"]}
    if "$strdict" in node:
        n = int(node["n"])
        keys = _unblob(get(node["keys"]), n)
        kind = node["$strdict"]
        values = _unblob(get(node["values"]), n) if kind == "str" else get(node["values"]).tolist()
        if len(values) != n or kind not in ("str", "float", "int"):
            raise CacheFormatError("bad string dict")
        return dict(zip(keys, values, strict=True))
    if "$csr" in node:
        from scipy import sparse

        data, indices, indptr = (get(n) for n in node["$csr"])
        return sparse.csr_matrix((data, indices, indptr), shape=tuple(node["shape"]))
    raise CacheFormatError("unknown node")


# ------------------------------------------------------------------------------------------ files
def dumps(state: dict[str, Any], key_digest: str) -> bytes:
    """The bytes of a cache file holding ``state`` built for the key whose digest is ``key_digest``."""
    arrays: dict[str, np.ndarray] = {}
    tree = {"format": "handleval-cache/1", "key": key_digest, "state": _encode(state, arrays)}
    arrays["__tree__"] = np.frombuffer(json.dumps(tree).encode("utf-8"), dtype=np.uint8)
    sink = io.BytesIO()
    np.savez(sink, **arrays)
    payload = sink.getvalue()
    return MAGIC + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload


def loads(data: bytes, key_digest: str) -> dict[str, Any]:
    """The state in a cache file's bytes; :class:`CacheFormatError` unless the digest and key match."""
    head = len(MAGIC) + 65
    if not data.startswith(MAGIC) or len(data) < head or data[head - 1:head] != b"\n":
        raise CacheFormatError("not a handleval cache file")
    payload = data[head:]
    if hashlib.sha256(payload).hexdigest().encode() != data[len(MAGIC):head - 1]:
        raise CacheFormatError("the file does not match its sha256")
    try:
        with np.load(io.BytesIO(payload), allow_pickle=False) as arrays:
            tree = json.loads(arrays["__tree__"].tobytes().decode("utf-8"))
            if not isinstance(tree, dict) or tree.get("format") != "handleval-cache/1" \
                    or tree.get("key") != key_digest:
                raise CacheFormatError("a cache file of another format or key")
            state = _decode(tree["state"], arrays)
    except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise CacheFormatError(str(exc)) from exc
    if not isinstance(state, dict):
        raise CacheFormatError("the state is not a dict")
    return state
