"""Dictionary-word features (``dict__…``): is the handle a word, which language, and what words it is made of.

Frequencies come from wordfreq (Zipf scale: 7 = "the", 3 = a rare-but-known word, 0 = unknown). Run-together
words (``bestpizza``) are split by a small Viterbi segmentation over wordfreq's English list: the published
segmenters (wordsegment, wordninja) each carry their own, older frequency list, and using wordfreq for both the
whole-word and the part frequencies keeps the two scales comparable.
"""

from __future__ import annotations

import math
import os
import re
from itertools import chain, repeat
from typing import Any

import numpy as np

from handleval.features._common import (
    MAX_CHARS,
    FeatureFamily,
    Prepared,
    ascii_matrix,
    cached,
    package_files,
    per_unique_batch,
    source_digest,
)

#: Latin-script languages wordfreq carries that handles are commonly made of; ``dict__best_lang`` is an index here.
LANGUAGES = ("en", "es", "fr", "de", "pt", "it", "nl", "tr", "id", "pl", "sv")

FEATURES = (
    "zipf_en", "zipf_best", "best_lang", "is_word", "n_words", "coverage", "min_zipf", "mean_zipf",
    "junk_chars", "longest_word", "known_compound", "first_name", "surname", "full_name",
)
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_LETTER_RUNS = re.compile(r"[a-z]+")
_UNKNOWN_COST = 12.0  # ln-cost of one character no word covers (≈ a word of Zipf 3.8)
_MAX_WORD = 18
_EXACT_KEY_LEN = 13  # 27**13 < 2**64: words up to 13 letters have exact integer keys
_DENSE_LEN = 4  # words of up to 4 letters: dense cost tables (27**4 entries)
_MIN_VECTOR_GROUP = 48  # fewer runs of one length are segmented one by one
_AZ = re.compile(r"[a-z]+")
_FITTED = ("zipf_", "vocab_cost_", "word_index_", "dense_costs_", "prefix_screens_", "first_names_", "surnames_")


def _census_names() -> tuple[dict[str, float], dict[str, float]]:
    """US Census 1990 first names and surnames (shipped by the ``names`` package) with their frequency in %."""
    import names

    folder = os.path.dirname(names.__file__)

    def read(*files: str) -> dict[str, float]:
        out: dict[str, float] = {}
        for f in files:
            with open(os.path.join(folder, f), encoding="ascii") as fh:
                for line in fh:
                    parts = line.split()
                    if parts:
                        key = parts[0].lower()
                        out[key] = max(out.get(key, 0.0), float(parts[1]))
        return out

    return read("dist.male.first", "dist.female.first"), read("dist.all.last")


class WordFeatures(FeatureFamily):
    """Whole-word frequency (best language), segmentation into words, name and known-compound signals.

    Parameters
    ----------
    languages:
        wordfreq language codes tried for the whole-word match (English uses its large list, others the small).
    word_zipf:
        Minimum Zipf frequency of a word of 3+ letters to be used in segmentation (2-letter words need 4.0).
    use_cache:
        Cache the built model under ``~/.cache/handleval`` (``$HANDLEVAL_CACHE``): reading it back takes a
        third of the time building it does, and spares importing wordfreq.
    """

    prefix = "dict"

    def __init__(self, languages: tuple[str, ...] = LANGUAGES, word_zipf: float = 2.5, use_cache: bool = True):
        self.languages = languages
        self.word_zipf = word_zipf
        self.use_cache = use_cache

    def _feature_names(self) -> list[str]:
        return [f"dict__{f}" for f in FEATURES]

    def _fit(self, prepared: Prepared, X: Any, y: Any) -> None:
        key = (source_digest(__file__), self.languages, self.word_zipf, package_files("wordfreq", "data"),
               package_files("names"))
        for name, value in cached("words", key, self._build, self.use_cache).items():
            setattr(self, name, value)

    def _build(self) -> dict[str, Any]:
        """The fitted attributes, from wordfreq's lists and the Census names (what :meth:`_fit` caches)."""
        from wordfreq import cB_to_freq, get_frequency_list

        def zipf_table(lang: str) -> dict[str, float]:
            """``get_frequency_dict`` turned into Zipf values, computed once per frequency bucket (not per word)."""
            out: dict[str, float] = {}
            # positional, as wordfreq's own top_n_list calls it: one lru_cache entry, so the English list that
            # the length family read is not read again
            for index, bucket in enumerate(get_frequency_list(lang, "best" if lang == "en" else "small")):
                if bucket:
                    z = math.log10(cB_to_freq(-index)) + 9
                    for w in bucket:
                        if w.isascii() and w.isalnum():
                            out[w] = z
            return out

        self.zipf_ = {lang: zipf_table(lang) for lang in self.languages}
        en = self.zipf_.get("en") or zipf_table("en")
        # Segmentation vocabulary: ln-cost per word, from the same English frequencies.
        vocab: dict[str, float] = {}
        for w, z in en.items():
            n = len(w)
            if not w.isalpha() or n > _MAX_WORD:
                continue
            if (n == 1 and w in ("a", "i")) or (n == 2 and z >= 4.0) or (n >= 3 and z >= self.word_zipf):
                vocab[w] = -(z - 9) * math.log(10)
        self.vocab_cost_ = vocab
        self.word_index_ = None
        self.dense_costs_ = None
        self._word_index()
        self._dense_costs(1)
        self._prefix_screens()
        self.first_names_, self.surnames_ = _census_names()
        return {name: getattr(self, name) for name in _FITTED}

    # -- segmentation -------------------------------------------------------------------------------------
    def segment(self, letters: str) -> list[str]:
        """Most probable split of a run of letters into words; characters no word covers stay single."""
        n = len(letters)
        cost = [0.0] + [math.inf] * n
        back = [0] * (n + 1)
        vocab = self.vocab_cost_
        for end in range(1, n + 1):
            best, arg = cost[end - 1] + _UNKNOWN_COST, end - 1
            for start in range(max(0, end - _MAX_WORD), end - 1):
                c = vocab.get(letters[start:end])
                if c is not None and cost[start] + c < best:
                    best, arg = cost[start] + c, start
            c = vocab.get(letters[end - 1])
            if c is not None and cost[end - 1] + c < best:
                best, arg = cost[end - 1] + c, end - 1
            cost[end], back[end] = best, arg
        parts: list[str] = []
        end = n
        while end > 0:
            parts.append(letters[back[end]:end])
            end = back[end]
        return parts[::-1]

    def _word_index(self) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """Vocabulary words of up to 13 letters by length: sorted base-27 keys (exact in uint64) and costs."""
        index = getattr(self, "word_index_", None)
        if index is None:
            by_len: dict[int, list[tuple[int, float]]] = {}
            for w, c in self.vocab_cost_.items():
                if len(w) <= _EXACT_KEY_LEN and _AZ.fullmatch(w):
                    key = 0
                    for ch in w.encode():
                        key = key * 27 + ch - 96
                    by_len.setdefault(len(w), []).append((key, c))
            index = {}
            for n, items in by_len.items():
                items.sort()
                index[n] = (np.array([k for k, _ in items], dtype=np.uint64), np.array([c for _, c in items]))
            self.word_index_ = index
        return index

    def _dense_costs(self, length: int) -> np.ndarray | None:
        """For words of up to :data:`_DENSE_LEN` letters, the cost of every base-27 key (inf for non-words): a
        direct look-up instead of a binary search, for the short words that every position of every run tries."""
        if length > _DENSE_LEN:
            return None
        tables = getattr(self, "dense_costs_", None)
        if tables is None:
            tables = self.dense_costs_ = {}
            for n in range(1, _DENSE_LEN + 1):
                table = tables[n] = np.full(27 ** n, math.inf)
                found = self._word_index().get(n)
                if found is not None:
                    table[found[0].astype(np.int64)] = found[1]
        return tables[length]

    def _prefix_screens(self) -> dict[int, np.ndarray]:
        """For words of :data:`_DENSE_LEN` + 1 to :data:`_EXACT_KEY_LEN` letters: whether some vocabulary word of
        that length starts with each base-27 key of :data:`_DENSE_LEN` letters. Most positions of a run start no
        word of a given length; only the others need the binary search."""
        screens = getattr(self, "prefix_screens_", None)
        if screens is None:
            screens = self.prefix_screens_ = {}
            for n, (keys, _) in self._word_index().items():
                if n > _DENSE_LEN:
                    screen = screens[n] = np.zeros(27 ** _DENSE_LEN, dtype=bool)
                    screen[(keys // np.uint64(27 ** (n - _DENSE_LEN))).astype(np.int64)] = True
        return screens

    def segment_many(self, runs: list[str]) -> list[list[str]]:
        """:meth:`segment` of many runs of ``[a-z]`` letters at once (the same splits, bit for bit).

        Runs of one length are segmented together: the cost of every vocabulary word at every position comes
        from exact base-27 integer keys and ``searchsorted`` (words of 14+ letters by dict look-up), and the
        Viterbi recursion runs over all runs at once, comparing options in the same order with the same float
        arithmetic as :meth:`segment`. Small groups go through :meth:`segment`.
        """
        out: list[list[str]] = [[] for _ in runs]
        groups: dict[int, list[int]] = {}
        for i, r in enumerate(runs):
            groups.setdefault(len(r), []).append(i)
        for n, idx in groups.items():
            group = [runs[i] for i in idx]
            if len(group) < _MIN_VECTOR_GROUP or n == 0:
                for i, r in zip(idx, group, strict=True):
                    out[i] = self.segment(r)
                continue
            for i, parts in zip(idx, self._segment_group(group, n), strict=True):
                out[i] = parts
        return out

    def _segment_group(self, group: list[str], n: int) -> list[list[str]]:
        index = self._word_index()
        vocab = self.vocab_cost_
        g = len(group)
        # by position, then run (as the whole recursion below): each position's values are contiguous
        codes = ascii_matrix(group, n).T.astype(np.uint64) - np.uint64(96)
        # word_cost[l][s]: per run, the cost of the vocabulary word letters[s:s+l], inf when there is none
        word_cost: dict[int, np.ndarray] = {}
        keys = np.zeros((n, g), dtype=np.uint64)
        for length in range(1, min(n, _MAX_WORD) + 1):
            width = n - length + 1
            if length <= _EXACT_KEY_LEN:
                keys = keys[:width] * np.uint64(27) + codes[length - 1:]
                if length == _DENSE_LEN:
                    first_keys = keys  # the first _DENSE_LEN letters at each position: the prefix screens' keys
                found = index.get(length)
                if found is None:
                    word_cost[length] = np.full((width, g), math.inf)
                    continue
                dense = self._dense_costs(length)
                if dense is not None:
                    word_cost[length] = dense[keys]
                    continue
                sorted_keys, costs = found
                starts, rows = np.nonzero(self._prefix_screens()[length][first_keys[:width]])
                found_keys = keys[starts, rows]
                pos = np.minimum(np.searchsorted(sorted_keys, found_keys), len(sorted_keys) - 1)
                cost = word_cost[length] = np.full((width, g), math.inf)
                cost[starts, rows] = np.where(sorted_keys[pos] == found_keys, costs[pos], math.inf)
            else:
                word_cost[length] = np.array([[vocab.get(r[s:s + length], math.inf) for r in group]
                                              for s in range(width)], dtype=np.float64).reshape(width, g)
        cost = np.zeros((n + 1, g))
        back = np.zeros((n + 1, g), dtype=np.int64)
        for end in range(1, n + 1):
            best = cost[end - 1] + _UNKNOWN_COST
            arg = np.full(g, end - 1, dtype=np.int64)
            for start in [*range(max(0, end - _MAX_WORD), end - 1), end - 1]:
                cand = cost[start] + word_cost[end - start][start]
                better = cand < best
                if better.any():
                    best = np.where(better, cand, best)
                    arg = np.where(better, start, arg)
            cost[end] = best
            back[end] = arg
        result = []
        for r, b in zip(group, back.T.tolist(), strict=True):
            parts: list[str] = []
            end = n
            while end > 0:
                parts.append(r[b[end]:end])
                end = b[end]
            result.append(parts[::-1])
        return result

    def segment_cached(self, letters: str, cache: dict[str, list[str]] | None) -> list[str]:
        """:meth:`segment`, remembered in ``cache`` (shared by the word and celebrity families of one call)."""
        if cache is None:
            return self.segment(letters)
        hit = cache.get(letters)
        if hit is None:
            hit = cache[letters] = self.segment(letters)
        return hit

    def words_of(self, text: str) -> list[str]:
        """The dictionary words found in ``text`` (letters only, in order)."""
        core = _NON_ALNUM.sub("", text[:MAX_CHARS])
        return [p for run in _LETTER_RUNS.findall(core) for p in self.segment(run) if p in self.vocab_cost_]

    def _one(self, text: str) -> tuple[float, ...]:
        return self._features(text, _NON_ALNUM.sub("", text[:MAX_CHARS]), None)

    def _features(self, text: str, core: str, cache: dict[str, list[str]] | None,
                  whole: tuple[float, float, int] | None = None) -> tuple[float, ...]:
        """Features of ``text`` from its core (``[a-z0-9]`` of the first MAX_CHARS characters); ``whole`` = the
        core's precomputed ``(zipf_en, zipf_best, best_lang)``."""
        if not core:
            return (0.0, 0.0, math.nan, 0.0, 0.0, 0.0, math.nan, math.nan, float(len(text)), 0.0, 0.0, 0.0, 0.0, 0.0)
        en = self.zipf_["en"]
        if whole is None:
            z_en = en.get(core, 0.0)
            best, best_lang = z_en, (0 if z_en > 0 else -1)
            for i, lang in enumerate(self.languages[1:], start=1):
                z = self.zipf_[lang].get(core, 0.0)
                if z > best:
                    best, best_lang = z, i
        else:
            z_en, best, best_lang = whole
        vocab = self.vocab_cost_
        parts: list[str] = []
        junk = len(core)
        runs = [core] if core.isalpha() else _LETTER_RUNS.findall(core)
        for run in runs:
            for p in self.segment_cached(run, cache) if len(run) > 1 or run in vocab else (run,):
                if p in vocab:
                    parts.append(p)
                    junk -= len(p)
        covered = len(core) - junk
        zs = [en.get(p, 0.0) for p in parts]
        first = self.first_names_
        sur = self.surnames_
        first_name = first.get(core, 0.0) or (first.get(parts[0], 0.0) if parts else 0.0)
        surname = sur.get(core, 0.0) or (sur.get(parts[-1], 0.0) if len(parts) > 1 else 0.0)
        full_name = float(len(parts) >= 2 and parts[0] in first and "".join(parts[1:]) in sur
                          and covered == len(core))
        compound = z_en if (len(parts) >= 2 and z_en > 0 and covered == len(core)) else 0.0
        return (
            z_en, best, float(best_lang) if best_lang >= 0 else math.nan, float(best >= 3.0),
            float(len(parts)), covered / len(core), min(zs) if zs else math.nan,
            sum(zs) / len(zs) if zs else math.nan, float(junk), float(max(map(len, parts), default=0)),
            compound, first_name, surname, full_name,
        )

    def _whole_words(self, cores: list[str]) -> tuple[list[float], np.ndarray, np.ndarray]:
        """Per core: English Zipf, best Zipf over the languages, and the index of the first language reaching it
        (-1 when no language knows the core), exactly as the per-language loop of :meth:`_features`."""
        zero = repeat(0.0)
        z_en = list(map(self.zipf_["en"].get, cores, zero))
        table = np.empty((len(cores), len(self.languages)))
        table[:, 0] = z_en
        for j, lang in enumerate(self.languages[1:], start=1):
            table[:, j] = np.fromiter(map(self.zipf_[lang].get, cores, zero), dtype=np.float64, count=len(cores))
        first = np.argmax(table, axis=1)  # first language with the highest Zipf: the strict '>' of the loop
        best = table[np.arange(len(cores)), first]
        first = np.where((first == 0) & ~(table[:, 0] > 0), -1, first)
        return z_en, best, first

    def _batch(self, texts: list[str], cores: list[str], failed: dict[int, str],
               cache: dict[str, list[str]], runs_of: list[tuple[str, ...]] | None = None) -> np.ndarray:
        """``_one`` of every distinct text: Python only finds each core's dictionary words (once per letter run);
        the features are then computed with numpy over the flattened words.

        Same values bit for bit as :meth:`_features`: counts, minima and maxima do not depend on the order, and the
        mean Zipf adds each core's words left to right, as ``sum`` does, before dividing by their number.
        """
        z_en, best, lang = self._whole_words(cores)
        n = len(cores)
        vocab = self.vocab_cost_
        kept_of: dict[str, list[str]] = {}
        segment = self.segment_cached
        if runs_of is None:
            findall = _LETTER_RUNS.findall
            runs_of = [(c,) if c.isalpha() else tuple(findall(c)) for c in cores]
        core_parts: list[list[str]] = []
        for runs in runs_of:
            parts: list[str] = []
            for run in runs:
                kept = kept_of.get(run)
                if kept is None:
                    if len(run) > 1:
                        kept = [p for p in (cache.get(run) or segment(run, cache)) if p in vocab]
                    else:
                        kept = [run] if run in vocab else []
                    kept_of[run] = kept
                parts = kept if not parts else parts + kept
            core_parts.append(parts)
        en = self.zipf_["en"]
        flat = list(chain.from_iterable(core_parts))
        count = np.fromiter(map(len, core_parts), dtype=np.int64, count=n)
        z = np.fromiter(map(en.get, flat, repeat(0.0)), dtype=np.float64, count=len(flat))
        size = np.fromiter(map(len, flat), dtype=np.int64, count=len(flat))
        owner = np.repeat(np.arange(n), count)
        start = np.cumsum(count) - count
        rank = np.arange(len(flat)) - start[owner]  # position of each word within its core
        has = count > 0
        starts = start[has]  # words of one core are contiguous: reduce each core's slice
        covered = np.zeros(n, dtype=np.int64)
        lo = np.full(n, np.nan)
        longest = np.zeros(n, dtype=np.int64)
        if len(starts):
            covered[has] = np.add.reduceat(size, starts)
            lo[has] = np.minimum.reduceat(z, starts)
            longest[has] = np.maximum.reduceat(size, starts)
        total = np.zeros(n)
        for j in range(int(count.max(initial=0))):  # left to right, as sum(zs)
            at = rank == j
            total[owner[at]] += z[at]
        length = np.fromiter(map(len, cores), dtype=np.int64, count=n)
        first, sur = self.first_names_, self.surnames_
        zero = repeat(0.0)
        words = np.empty(len(flat), dtype=object)
        words[:] = flat
        # ``a or b`` of floats: b when a == 0.0
        first_name = np.fromiter(map(first.get, cores, zero), dtype=np.float64, count=n)
        first_word = np.zeros(n)
        first_word[has] = np.fromiter(map(first.get, words[starts], zero), dtype=np.float64, count=len(starts))
        first_name = np.where(first_name != 0.0, first_name, first_word)
        surname = np.fromiter(map(sur.get, cores, zero), dtype=np.float64, count=n)
        several = count > 1
        last_word = np.zeros(n)
        last_word[several] = np.fromiter(map(sur.get, words[(start + count - 1)[several]], zero),
                                         dtype=np.float64, count=int(several.sum()))
        surname = np.where(surname != 0.0, surname, last_word)
        whole = (count >= 2) & (covered == length)
        full_name = np.zeros(n)
        for i in np.flatnonzero(whole).tolist():
            ps = core_parts[i]
            full_name[i] = float(ps[0] in first and "".join(ps[1:]) in sur)
        z_en_arr = np.asarray(z_en, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            table = np.column_stack([
                z_en_arr, best, np.where(lang >= 0, lang, np.nan), best >= 3.0,
                count, covered / length, lo,
                np.where(has, total / count, np.nan), length - covered, longest,
                np.where(whole & (z_en_arr > 0), z_en_arr, 0.0), first_name, surname, full_name,
            ]).astype(np.float64)
        for i in np.flatnonzero(length == 0).tolist():
            table[i] = self._features(texts[i], "", None)
        return table

    @staticmethod
    def _runs_of(prepared: Prepared) -> list[tuple[str, ...]]:
        """Per distinct core of ``prepared``: its runs of letters (computed once per call)."""
        hit = prepared.shared.get("letter_runs")
        if hit is None:
            findall = _LETTER_RUNS.findall
            hit = prepared.shared["letter_runs"] = [(c,) if c.isalpha() else tuple(findall(c))
                                                    for c in prepared.cores()]
        return hit

    def segments_for(self, prepared: Prepared) -> dict[str, list[str]]:
        """Segmentation of every letter run of every distinct core of ``prepared`` (computed once per call and
        shared with the celebrity family's known-compound check)."""
        cache = prepared.shared.setdefault("segments", {})
        if not prepared.shared.get("segmented"):
            todo = [r for r in dict.fromkeys(chain.from_iterable(self._runs_of(prepared)))
                    if len(r) > 1 and r not in cache]
            cache.update(zip(todo, self.segment_many(todo), strict=True))
            prepared.shared["segmented"] = True
        return cache

    def _compute(self, prepared: Prepared, errors: list[str | None]) -> np.ndarray:
        cache = self.segments_for(prepared)
        cores = prepared.cores()

        def batch(texts: list[str], failed: dict[int, str]) -> np.ndarray:
            return self._batch(texts, cores, failed, cache, self._runs_of(prepared))

        return per_unique_batch(prepared, batch, self._one, len(FEATURES), errors, "words")
