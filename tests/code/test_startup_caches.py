"""What load() no longer rebuilds in every process comes back from the data cache exactly as built, and a damaged
or edited cache file is rebuilt, never trusted: the fuzzy-match indexes, the fitted sales history (keyed by its
files' sha256), the word model as arrays; a cold and a warm load price alike."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from handleval import _cache
from handleval.features.brands import DeletionIndex, deletion_variants
from handleval.features.sales import SalesHistoryFeatures
from handleval.features.words import WordFeatures
from handleval.price.predict import history_fingerprint

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


# ------------------------------------------------------------------------------- the fitted sales history
def _history(prices: list[float]) -> pd.DataFrame:
    names = ["pizza", "coffee", "pizza", "bestpizza", "nft", "nft", "crypto", "ab", "tea", "coffee"] * 3
    when = pd.date_range("2022-01-01", periods=len(names), freq="17D")
    return pd.DataFrame({"handle": names, "platform": ["telegram"] * 20 + ["domain"] * 10,
                         "suffix": [""] * 20 + ["com"] * 10, "price_usd": prices[:len(names)], "sold_at": when})


_QUERIES = pd.DataFrame({"handle": ["pizza", "pizzas", "coffee", "nft", "zz", "bestpizza", "tea"] * 2,
                         "platform": ["telegram", "x", "telegram", "domain", "telegram", "x", "domain"] * 2,
                         "suffix": ["", "", "", "com", "", "", "com"] * 2,
                         "as_of": [pd.Timestamp("2022-06-01")] * 7 + [None] * 7})


def _fit_cached(table: pd.DataFrame, key: str) -> tuple[SalesHistoryFeatures, list[int]]:
    """A family fitted through the cache under ``key``, and how often the history had to be loaded (0 or 1)."""
    loads: list[int] = []

    def load() -> pd.DataFrame:
        loads.append(1)
        return table

    return SalesHistoryFeatures(k=3).fit_cached(load, key), loads


def _same_features(a: SalesHistoryFeatures, b: SalesHistoryFeatures) -> None:
    pd.testing.assert_frame_equal(a.transform(_QUERIES), b.transform(_QUERIES), check_exact=True)
    for name in ("market_", "same_", "lenpat_", "suffix_"):
        assert list(getattr(a, name)) == list(getattr(b, name))
        for key in getattr(a, name):
            np.testing.assert_array_equal(getattr(a, name)[key].times, getattr(b, name)[key].times)
            np.testing.assert_array_equal(getattr(a, name)[key].logp, getattr(b, name)[key].logp)
    assert list(a.bucket_) == list(b.bucket_) and a.sold_names_ == b.sold_names_
    for key, (names, times, logp, suffixes) in a.bucket_.items():
        assert b.bucket_[key].names == names and b.bucket_[key].suffixes == suffixes
        np.testing.assert_array_equal(b.bucket_[key].times, times)
        np.testing.assert_array_equal(b.bucket_[key].logp, logp)
    assert a.comparables(_QUERIES) == b.comparables(_QUERIES)  # the comparables a cached history lists
    assert (a.n_history_, a.latest_, a.markets_) == (b.n_history_, b.latest_, b.markets_)


def test_the_cached_sales_history_is_the_fitted_one(tmp_path, monkeypatch):
    """Read back from the cache, the history gives the same groups and features as fitting it, without loading it;
    another key (the data changed) loads and fits the new history."""
    monkeypatch.setenv("HANDLEVAL_CACHE", str(tmp_path))
    table = _history([float(10 * (i % 7) + 5) for i in range(30)])
    fitted = SalesHistoryFeatures(k=3).fit(table)
    cold, loads_cold = _fit_cached(table, "data-1")
    warm, loads_warm = _fit_cached(table, "data-1")
    assert (loads_cold, loads_warm) == ([1], [])
    _same_features(fitted, cold)
    _same_features(fitted, warm)

    changed = _history([float(1000 + i) for i in range(30)])
    stale, loads = _fit_cached(changed, "data-2")  # what history_fingerprint gives for changed files
    assert loads == [1]
    _same_features(SalesHistoryFeatures(k=3).fit(changed), stale)
    assert not warm.transform(_QUERIES).equals(stale.transform(_QUERIES))


def test_a_damaged_sales_cache_or_an_unusable_cache_dir_means_fitting(tmp_path, monkeypatch):
    monkeypatch.setenv("HANDLEVAL_CACHE", str(tmp_path / "cache"))
    table = _history([float(3 * i + 1) for i in range(30)])
    fitted = SalesHistoryFeatures(k=3).fit(table)
    _fit_cached(table, "data")
    (path,) = (tmp_path / "cache").glob("sales-*.cache")
    data = bytearray(path.read_bytes())
    data[-30] ^= 0xFF  # no longer matches its sha256
    path.write_bytes(bytes(data))
    again, loads = _fit_cached(table, "data")
    assert loads == [1]
    _same_features(fitted, again)

    blocked = tmp_path / "a-file"  # a cache "directory" that cannot be created (read-only, even for root)
    blocked.write_text("")
    monkeypatch.setenv("HANDLEVAL_CACHE", str(blocked / "cache"))
    _cache._warned.clear()
    with pytest.warns(RuntimeWarning, match="not using the cache directory"):
        uncached, loads = _fit_cached(table, "data")
    for _ in range(2):  # nothing written, nothing read: fitted each time
        assert loads == [1]
        _same_features(fitted, uncached)
        uncached, loads = _fit_cached(table, "data")


def test_the_history_fingerprint_follows_the_data_files(tmp_path, monkeypatch):
    """The cache key of a bundle's history changes when a byte of its sales files does, or a file is added."""
    folder = tmp_path / "sales" / "fragment_telegram"
    folder.mkdir(parents=True)
    (folder / "fragment_sold_merged.csv").write_text("username,price_ton\npizza,100\n")
    monkeypatch.setenv("HANDLEVAL_DATA", str(tmp_path))
    manifest = {"config": {"sources": ["fragment_telegram"]}, "markets": {"x": 1}}
    first = history_fingerprint(manifest)
    assert history_fingerprint(manifest) == first
    (folder / "fragment_sold_merged.csv").write_text("username,price_ton\npizza,101\n")
    second = history_fingerprint(manifest)
    assert second != first
    (folder / "more.csv").write_text("x\n")
    assert history_fingerprint(manifest) not in (first, second)
    assert history_fingerprint({**manifest, "markets": {"x": 2}}) != history_fingerprint(manifest)
    ledger = tmp_path / "ledger.csv"  # a sales ledger the bundle was trained with counts like a source's file
    ledger.write_text("handle,price,currency,sold_at\npizza,100,USD,2025-01-01\n")
    with_ledger = {**manifest, "config": {**manifest["config"], "extra_sources": [{"path": str(ledger)}]}}
    before = history_fingerprint(with_ledger)
    assert before != history_fingerprint(manifest)
    ledger.write_text("handle,price,currency,sold_at\npizza,101,USD,2025-01-01\n")
    assert history_fingerprint(with_ledger) != before


# ------------------------------------------------------------------------------- the word model as arrays
def test_word_lookups_from_arrays_are_the_dict_lookups():
    """``lookup`` (binary search in the sorted word arrays) gives what the word lists as dicts give, for known
    words, names, near misses and strings no list can hold."""
    words = WordFeatures().fit()
    en, first, sur = words.zipf_["en"], words.first_names_, words.surnames_
    known = sorted({*list(en)[::50], *list(first)[::10], *list(sur)[::100], *list(words.zipf_["de"])[::100]})
    probes = known + [w + "q" for w in known[:500]] + [w[:-1] for w in known[:500]] + [
        "", "a", "i", "pizza", "münchen", "café", "ПИЦЦА", "pi zza", "pizza\x00", "PIZZA", "x" * 40, "12345", "_"]
    zipf, is_first, is_sur = words.lookup(probes)
    assert zipf.tolist() == [en.get(w, 0.0) for w in probes]
    assert is_first.tolist() == [w in first for w in probes]
    assert is_sur.tolist() == [w in sur for w in probes]
    assert sum(is_sur) > 100 and any(sur[w] == 0.0 for w, s in zip(probes, is_sur, strict=True) if s)
    # The segmentation vocabulary, by its rule written out here: English letters only, at most 18 of them; one
    # letter only 'a' and 'i', two letters Zipf >= 4, longer ones Zipf >= word_zipf.
    def rule(w: str) -> bool:
        z, n = en.get(w, 0.0), len(w)
        return z > 0 and w.isalpha() and n <= 18 and (
            (n == 1 and w in ("a", "i")) or (n == 2 and z >= 4.0) or (n >= 3 and z >= words.word_zipf))

    expected = [rule(w) for w in probes]
    assert any(expected) and not all(expected)
    assert [w in words.vocab_cost_ for w in probes] == expected
    assert [words.in_vocabulary(w, z) for w, z in zip(probes, zipf.tolist(), strict=True)] == expected


# ------------------------------------------------------------------------------- cold and warm load
def test_a_cold_and_a_warm_load_price_alike(tmp_path, monkeypatch):
    """``load()`` with every cache empty (built and written), again (everything read back), and with the history
    handed in (the sales family fitted directly): the same prices, intervals, reasons and risks for the same rows."""
    from handleval.price.predict import load, sales_history

    monkeypatch.setenv("HANDLEVAL_CACHE", str(tmp_path / "cache"))
    cold = load()
    history = sales_history(cold.manifest)
    sample = history.sample(400, random_state=3)[["handle", "platform", "suffix"]]
    extra = ["pizza", "coffee", "elonmusk", "taylorswift", "johnsmith", "bestpizza", "jdk_19927", "___", "pаypal",
             "googgle", "nike", "münchen", "12345", "x" * 70]
    rows = pd.concat([sample, pd.DataFrame({"handle": extra, "platform": "x"})], ignore_index=True)
    # fixed dates: valued "now", a price with an own sale moves by cents from one second to the next
    rows = pd.concat([rows.assign(as_of=pd.Timestamp("2025-03-01")), rows.assign(as_of=pd.Timestamp("2026-12-01"))],
                     ignore_index=True)
    want = cold.value_many(rows)
    assert want["error"].isna().sum() > 800 and (want["reasons"] != "").sum() > 800
    for valuer in (load(), load(history=history)):
        pd.testing.assert_frame_equal(valuer.value_many(rows), want, check_exact=True)
