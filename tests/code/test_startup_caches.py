"""What load() no longer rebuilds in every process comes back from the data cache exactly as built, and a damaged
or edited cache file is rebuilt, never trusted."""

from __future__ import annotations

import numpy as np

from handleval.features.brands import DeletionIndex, deletion_variants

NAMES = ["google", "facebook", "amazon", "netflix", "münchen", "café", "spotify", "zoom", "goggle", "x" * 40]


def _same(a: DeletionIndex, b: DeletionIndex) -> None:
    assert a.names == b.names
    for field in ("hashes", "owner", "cut", "bitmap"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
        assert getattr(a, field).dtype == getattr(b, field).dtype
    for probe in ("gogle", "googl", "amazn", "cafe", "munchen", "zom", "nothing", "spotfy"):
        for variant in [probe, *deletion_variants(probe)]:
            assert a.get(variant) == b.get(variant)


def test_a_cached_deletion_index_is_the_built_one(tmp_path, monkeypatch):
    monkeypatch.setenv("HANDLEVAL_CACHE", str(tmp_path))
    built = DeletionIndex(NAMES)
    first = DeletionIndex.cached(NAMES)  # builds and writes
    files = list(tmp_path.glob("deletions-*.cache"))
    assert len(files) == 1
    again = DeletionIndex.cached(NAMES)  # reads
    _same(built, first)
    _same(built, again)
    other = DeletionIndex.cached(NAMES[:-1])  # other names: another key, another file
    _same(DeletionIndex(NAMES[:-1]), other)
    assert len(list(tmp_path.glob("deletions-*.cache"))) == 2


def test_a_damaged_or_edited_deletion_cache_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("HANDLEVAL_CACHE", str(tmp_path))
    DeletionIndex.cached(NAMES)
    (path,) = tmp_path.glob("deletions-*.cache")
    data = bytearray(path.read_bytes())
    data[-20] ^= 0xFF  # flip a byte of the payload: the sha256 no longer matches
    path.write_bytes(bytes(data))
    _same(DeletionIndex(NAMES), DeletionIndex.cached(NAMES))


def test_use_cache_false_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("HANDLEVAL_CACHE", str(tmp_path))
    _same(DeletionIndex(NAMES), DeletionIndex.cached(NAMES, use_cache=False))
    assert not list(tmp_path.glob("deletions-*"))
