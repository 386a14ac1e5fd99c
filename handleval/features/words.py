"""Dictionary-word features (``dict__…``): is the handle a word, which language, and what words it is made of.

Frequencies come from wordfreq (Zipf scale: 7 = "the", 3 = a rare-but-known word, 0 = unknown). Run-together
words (``bestpizza``) are split by a small Viterbi segmentation over wordfreq's English list: the published
segmenters (wordsegment, wordninja) each carry their own, older frequency list, and using wordfreq for both the
whole-word and the part frequencies keeps the two scales comparable.
"""

from __future__ import annotations

import functools
import math
import os
import re
from itertools import chain, pairwise, repeat
from typing import Any

import numpy as np

from handleval.features._common import (
    MAX_CHARS,
    FeatureFamily,
    Prepared,
    cached,
    package_files,
    per_unique_batch,
    source_digest,
)

#: Latin-script languages wordfreq carries that handles are commonly made of; ``dict__best_lang`` is an index here.
LANGUAGES = ("en", "es", "fr", "de", "pt", "it", "nl", "tr", "id", "pl", "sv")
#: Zipf frequency from which a word of a handle is common ("all parts are common words" in the reasons).
COMMON_PART_ZIPF = 4.0

#: Words that carry grammar, not meaning, so no one would call them a premium name: articles, pronouns, auxiliaries,
#: conjunctions, prepositions and the commonest adverbs and quantifiers (a hand-made list); also contractions as
#: handles write them, without the apostrophe, and their spoken forms (``dont``, ``im``, ``gonna``).
FUNCTION_WORDS = frozenset((
    "a", "all", "am", "an", "and", "any", "are", "as", "at", "be", "but", "by", "can", "did", "do", "for", "had", "has",
    "he", "her", "him", "his", "how", "if", "in", "is", "it", "its", "me", "my", "no", "nor", "not", "of", "on",
    "or", "our", "she", "so", "the", "to", "us", "was", "we", "who", "why", "yet", "you",
    "about", "above", "after", "again", "against", "also", "although", "among", "another", "anyone", "anything",
    "around", "because", "been", "before", "being", "below", "between", "both", "cannot", "could", "does",
    "doing", "down", "during", "each", "either", "else", "enough", "even", "ever", "every", "from", "further",
    "have", "having", "here", "hers", "herself", "himself", "however", "into", "itself", "just", "least",
    "less", "many", "might", "more", "most", "much", "must", "myself", "neither", "never", "none", "nothing",
    "often", "once", "only", "other", "others", "ought", "ours", "over", "own", "perhaps", "rather", "same",
    "shall", "should", "since", "some", "someone", "something", "still", "such", "than", "that", "their",
    "theirs", "them", "themselves", "then", "there", "these", "they", "this", "those",
    "though", "through", "thus", "till", "together", "too", "toward", "under", "unless", "until", "upon",
    "very", "were", "what", "whatever", "when", "where", "whether", "which", "while", "whom", "whose",
    "with", "within", "without", "would", "your", "yours", "yourself", "really",
    "aint", "arent", "cant", "couldnt", "didnt", "doesnt", "dont", "hadnt", "hasnt", "havent", "hes", "im", "isnt",
    "ive", "shes", "shouldnt", "thats", "theres", "theyre", "theyve", "wasnt", "weve", "werent", "whats", "wont",
    "wouldnt", "yall", "youll", "youre", "youve", "gonna", "gotta", "wanna",
))

FEATURES = (
    "zipf_en", "zipf_best", "best_lang", "is_word", "n_words", "coverage", "min_zipf", "mean_zipf",
    "junk_chars", "longest_word", "known_compound", "first_name", "surname", "full_name",
)
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_LETTER_RUNS = re.compile(r"[a-z]+")
_UNKNOWN_COST = 12.0  # ln-cost of one character no word covers (≈ a word of Zipf 3.8)
_MAX_WORD = 18
#: Fitted arrays every transform reads (loaded by ``fit``); the word lists as dicts, which only the one-string
#: reference path and rare look-ups read, load on first use (:meth:`WordFeatures._dicts`).
_FITTED = ("sorted_words_", "length_start_", "whole_", "is_name_", "trie_", "node_values_")


@functools.cache
def census_names() -> tuple[dict[str, float], dict[str, float]]:
    """US Census 1990 first names and surnames (shipped by the ``names`` package) with their frequency in %: read
    once per process (0.14 s), the same two dicts for every caller, which reads them and never changes them."""
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


#: A given name of at least this share of Americans (US Census, %) is a common one: Sarah, Lisa, Tiffany.
COMMON_GIVEN_NAME_SHARE = 0.1


@functools.cache
def common_given_names(min_share: float = COMMON_GIVEN_NAME_SHARE) -> frozenset[str]:
    """US Census given names of ``min_share`` % of Americans or more (390 at :data:`COMMON_GIVEN_NAME_SHARE`)."""
    return frozenset(n for n, share in census_names()[0].items() if share >= min_share)


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
        self._cache_key = (source_digest(__file__), self.languages, self.word_zipf, package_files("wordfreq", "data"),
                           package_files("names"))
        self._dict_state: dict[str, Any] | None = None
        for name, value in cached("words", self._cache_key, self._build, self.use_cache).items():
            setattr(self, name, value)

    # The word lists as dicts, from the data cache on first use: building ~1.2 million dict entries took ~0.45 s of
    # every start-up, and valuing a name reads the arrays instead.
    zipf_ = property(lambda self: self._dicts()["zipf_"], doc="Per language: word -> Zipf frequency.")
    vocab_cost_ = property(lambda self: self._dicts()["vocab_cost_"], doc="Segmentation vocabulary: word -> ln-cost.")
    first_names_ = property(lambda self: self._dicts()["first_names_"], doc="First name -> frequency in %.")
    surnames_ = property(lambda self: self._dicts()["surnames_"], doc="Surname -> frequency in %.")

    def _dicts(self) -> dict[str, Any]:
        # not "words-…": the cache's pruning of old "words-*" files would count this file among them
        if self._dict_state is None:
            self._dict_state = cached("wordlists", self._cache_key, self._build_dicts, self.use_cache)
        return self._dict_state

    def _build_dicts(self) -> dict[str, Any]:
        """The word lists, from wordfreq and the Census names (what :meth:`_dicts` caches)."""
        from wordfreq import cB_to_freq, get_frequency_list

        def zipf_table(lang: str) -> dict[str, float]:
            """``get_frequency_dict`` turned into Zipf values, computed once per frequency bucket (not per word)."""
            out: dict[str, float] = {}
            # positional, as wordfreq's own top_n_list calls it: one lru_cache entry, so the English list that
            # the length family read is not read again
            for index, bucket in enumerate(get_frequency_list(lang, "best" if lang == "en" else "small")):
                if bucket:
                    z = math.log10(cB_to_freq(-index)) + 9
                    for w in bucket:  # its numbers are shapes ('0000': every 4-digit number), not words
                        if w.isascii() and w.isalnum() and not w.isdigit():
                            out[w] = z
            return out

        zipf = {lang: zipf_table(lang) for lang in self.languages}
        first_names, surnames = census_names()
        en = zipf.get("en") or zipf_table("en")
        # Segmentation vocabulary: ln-cost per word, from the same English frequencies.
        vocab = {w: -(z - 9) * math.log(10) for w, z in en.items() if self.in_vocabulary(w, z)}
        return {"zipf_": zipf, "vocab_cost_": vocab, "first_names_": first_names, "surnames_": surnames}

    def in_vocabulary(self, word: str, z: float) -> bool:
        """Whether an English word of Zipf frequency ``z`` (0 = not English) is used in segmentation."""
        n = len(word)
        return z > 0 and word.isalpha() and n <= _MAX_WORD and (
            (n == 1 and word in ("a", "i")) or (n == 2 and z >= 4.0) or (n >= 3 and z >= self.word_zipf))

    def _build(self) -> dict[str, Any]:
        """The fitted arrays (what :meth:`_fit` caches)."""
        self.sorted_words_, self.length_start_, self.whole_, self.is_name_ = self._whole_table()
        *trie, node_words = self._trie()
        self.trie_ = tuple(trie)
        self.node_values_ = self._node_values(node_words)
        return {name: getattr(self, name) for name in _FITTED}

    # -- segmentation -------------------------------------------------------------------------------------
    def _trie(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str | None]]:
        """The ``[a-z]`` vocabulary as a breadth-first trie (``first_child, letters, word_cost`` per node; see
        :mod:`handleval.features._segment_kernel`): what the compiled segmentation walks; and the word each node
        ends (None for the nodes that end none)."""
        children: list[dict[int, int]] = [{}]
        ends: list[float] = [math.inf]
        word_at: dict[int, str] = {}
        for word, word_cost in self.vocab_cost_.items():
            if not _LETTER_RUNS.fullmatch(word):
                continue  # accented words: a run of a-z letters never contains them
            node = 0
            for letter in word.encode():
                child = children[node].get(letter)
                if child is None:
                    child = children[node][letter] = len(children)
                    children.append({})
                    ends.append(math.inf)
                node = child
            ends[node] = word_cost
            word_at[node] = word
        order = [0]  # old ids, breadth first; a node's children get consecutive new ids
        first_child, letters = [], []
        for old in order:  # grows while iterated
            first_child.append(len(order))
            mask = 0
            for letter in sorted(children[old]):
                mask |= 1 << (letter - 97)
                order.append(children[old][letter])
            letters.append(mask)
        return (np.array(first_child, dtype=np.int64), np.array(letters, dtype=np.int64),
                np.array([ends[old] for old in order], dtype=np.float64), [word_at.get(old) for old in order])

    def _node_values(self, node_words: list[str | None]) -> np.ndarray:
        """Per trie node, what :meth:`_features` looks up for the word it ends: English Zipf, first-name and
        surname frequencies (0.0 when not one), and whether the word is a first name (1.0) — a name's frequency
        may be 0.0. Zeros for the nodes that end no word (never read)."""
        en = self.zipf_.get("en", {})
        first, sur = self.first_names_, self.surnames_
        return np.array([(en.get(w, 0.0), first.get(w, 0.0), sur.get(w, 0.0), float(w in first))
                         if w is not None else (0.0, 0.0, 0.0, 0.0) for w in node_words], dtype=np.float64).T.copy()

    def segment(self, letters: str) -> list[str]:
        """Most probable split of a run of ``[a-z]`` letters into words; characters no word covers stay single.

        Viterbi over ln-costs: at each end position the options are compared in a fixed order — "the last
        character is not covered" (:data:`_UNKNOWN_COST`), then each vocabulary word ending there, longest first —
        and a later option wins only if strictly cheaper."""
        return self.segment_many([letters])[0]

    def segment_many(self, runs: list[str]) -> list[list[str]]:
        """:meth:`segment` of many runs of ``[a-z]`` letters, in one compiled pass."""
        from handleval.features._segment_kernel import segment_runs

        if not runs:
            return []
        lengths = np.fromiter(map(len, runs), dtype=np.int64, count=len(runs))
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        joined = "".join(runs)
        part_start, part_end = np.empty(len(joined), dtype=np.int64), np.empty(len(joined), dtype=np.int64)
        n_parts = np.empty(len(runs), dtype=np.int64)
        segment_runs(np.frombuffer(joined.encode("ascii"), dtype=np.uint8), offsets, *self.trie_, _MAX_WORD,
                     _UNKNOWN_COST, part_start, part_end, n_parts)
        total = int(n_parts.sum())
        parts = [joined[a:b] for a, b in zip(part_start[:total].tolist(), part_end[:total].tolist(), strict=True)]
        return [parts[a:b] for a, b in pairwise(np.concatenate([[0], np.cumsum(n_parts)]).tolist())]

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

    def _features(self, text: str, core: str, cache: dict[str, list[str]] | None) -> tuple[float, ...]:
        """Features of ``text`` from its core (``[a-z0-9]`` of the first MAX_CHARS characters), one string at a
        time: the reference :meth:`_batch` must reproduce."""
        if not core:
            return (0.0, 0.0, math.nan, 0.0, 0.0, 0.0, math.nan, math.nan, float(len(text)), 0.0, 0.0, 0.0, 0.0, 0.0)
        en = self.zipf_["en"]
        z_en = en.get(core, 0.0)
        best, best_lang = z_en, (0 if z_en > 0 else -1)
        for i, lang in enumerate(self.languages[1:], start=1):
            z = self.zipf_[lang].get(core, 0.0)
            if z > best:
                best, best_lang = z, i
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

    def _whole_table(self) -> tuple[list[np.ndarray], np.ndarray, np.ndarray, np.ndarray]:
        """``(sorted_words, length_start, rows, is_name)``: every word some language knows and every census name,
        sorted by length then alphabetically, as one fixed-width bytes array per length (``sorted_words[n]``, for
        binary search) and the row of each length's first word (``length_start[n]``); per word its row: English
        Zipf, best Zipf over the languages and the index of the first language reaching it (the strict '>' of
        :meth:`_features`' loop; -1 when none), its first-name and surname frequencies (0.0 when not one); a last
        row ``(0, 0, -1, 0, 0)`` stands for the unknown; and whether it is a first name and a surname (a name's
        frequency may be 0.0). One look-up per core instead of one per language and one per name list."""
        first, sur = self.first_names_, self.surnames_
        words = sorted(dict.fromkeys(chain(chain.from_iterable(self.zipf_[lang] for lang in self.languages), first,
                                           sur)), key=lambda w: (len(w), w))
        table = np.zeros((len(words) + 1, len(self.languages)))
        table[:-1, 0] = np.fromiter(map(self.zipf_["en"].get, words, repeat(0.0)), dtype=np.float64,
                                    count=len(words))
        for j, lang in enumerate(self.languages[1:], start=1):
            table[:-1, j] = np.fromiter(map(self.zipf_[lang].get, words, repeat(0.0)), dtype=np.float64,
                                        count=len(words))
        reach = np.argmax(table, axis=1)
        best = table[np.arange(len(table)), reach]
        reach = np.where((reach == 0) & ~(table[:, 0] > 0), -1, reach)
        names = np.zeros((len(words) + 1, 2))
        names[:-1, 0] = np.fromiter(map(first.get, words, repeat(0.0)), dtype=np.float64, count=len(words))
        names[:-1, 1] = np.fromiter(map(sur.get, words, repeat(0.0)), dtype=np.float64, count=len(words))
        is_name = np.array([(w in first, w in sur) for w in words] + [(False, False)], dtype=bool).reshape(-1, 2)
        length = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
        length_start = np.searchsorted(length, np.arange(int(length.max(initial=0)) + 2))
        sorted_words = [np.array(words[a:b], dtype=f"S{max(n, 1)}")
                        for n, (a, b) in enumerate(pairwise(length_start.tolist()))]
        return sorted_words, length_start, np.column_stack([table[:, 0], best, reach, names]), is_name

    def rows_of(self, words: list[str]) -> np.ndarray:
        """Each word's row in :attr:`whole_` (its last row when no list has the word): a binary search among
        the known words of its length. Every known word is ASCII (else building the arrays fails); a word with a
        NUL is never known (a fixed-width bytes array drops trailing NULs, so it could match without)."""
        rows = np.full(len(words), len(self.whole_) - 1, dtype=np.int64)
        length = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
        for n in np.unique(length).tolist():
            if not 0 < n < len(self.sorted_words_) or not len(known := self.sorted_words_[n]):
                continue
            at = np.flatnonzero(length == n)
            asked = [words[i] for i in at.tolist()]
            fits = np.fromiter((w.isascii() and "\x00" not in w for w in asked), dtype=bool, count=len(asked))
            at = at[fits]
            keys = np.array([w for w, ok in zip(asked, fits.tolist(), strict=True) if ok], dtype=f"S{n}")
            pos = np.minimum(np.searchsorted(known, keys), len(known) - 1)
            found = known[pos] == keys
            rows[at[found]] = self.length_start_[n] + pos[found]
        return rows

    def lookup(self, words: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(English Zipf, is a first name, is a surname)`` of each word, from the arrays: the same as
        ``zipf_["en"].get(w, 0.0)``, ``w in first_names_`` and ``w in surnames_``."""
        rows = self.rows_of(words)
        return self.whole_[rows, 0], self.is_name_[rows, 0], self.is_name_[rows, 1]

    def _whole_words(self, cores: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per core: English Zipf, best Zipf over the languages, the index of the first language reaching it
        (-1 when no language knows the core), exactly as the per-language loop of :meth:`_features`, and its
        first-name and surname frequencies (0.0 when not a name)."""
        rows = self.whole_[self.rows_of(cores)]
        return rows[:, 0], rows[:, 1], rows[:, 2].astype(np.int64), rows[:, 3], rows[:, 4]

    def _batch(self, texts: list[str], cores: list[str], failed: dict[int, str]) -> np.ndarray:
        """``_one`` of every distinct text: one compiled pass (:func:`~handleval.features._segment_kernel.word_stats`)
        splits the runs of letters of every core and sums up its dictionary words; per-word values come from
        arrays indexed by trie node (:attr:`node_values_`), the rest is numpy over the cores.

        Same values bit for bit as :meth:`_features`: the kernel keeps the parts that are vocabulary words, in
        order, and adds their Zipf values left to right, as ``sum`` does, before the division by their number.
        Cores are ``[a-z0-9]`` (anything else would fail the ASCII encoding, and the batch fall back to
        :meth:`_one`)."""
        from handleval.features._segment_kernel import word_stats

        z_en, best, lang, first_name, surname = self._whole_words(cores)
        n = len(cores)
        length = np.fromiter(map(len, cores), dtype=np.int64, count=n)
        offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(length, out=offsets[1:])
        count, covered, longest = (np.empty(n, dtype=np.int64) for _ in range(3))
        first_node, last_node, first_length = (np.empty(n, dtype=np.int64) for _ in range(3))
        lo, total = np.empty(n), np.empty(n)
        zipf_of, first_of, surname_of, is_first = self.node_values_
        word_stats(np.frombuffer("".join(cores).encode("ascii"), dtype=np.uint8), offsets, *self.trie_, zipf_of,
                   _MAX_WORD, _UNKNOWN_COST, count, covered, lo, total, longest, first_node, last_node, first_length)
        has = count > 0
        several = count > 1
        # ``a or b`` of floats: b when a == 0.0
        first_name = np.where(first_name != 0.0, first_name, np.where(has, first_of[first_node], 0.0))
        surname = np.where(surname != 0.0, surname, np.where(several, surname_of[last_node], 0.0))
        whole = (count >= 2) & (covered == length)
        full_name = np.zeros(n)
        # a whole core is one run of letters split into words: the words after the first are the rest of the core
        split = np.flatnonzero(whole & (is_first[first_node] == 1.0)).tolist()
        full_name[split] = self.lookup([cores[i][first_length[i]:] for i in split])[2]
        with np.errstate(divide="ignore", invalid="ignore"):
            table = np.column_stack([
                z_en, best, np.where(lang >= 0, lang, np.nan), best >= 3.0,
                count, covered / length, lo,
                np.where(has, total / count, np.nan), length - covered, longest,
                np.where(whole & (z_en > 0), z_en, 0.0), first_name, surname, full_name,
            ]).astype(np.float64)
        for i in np.flatnonzero(length == 0).tolist():
            table[i] = self._features(texts[i], "", None)
        return table

    def _compute(self, prepared: Prepared, errors: list[str | None]) -> np.ndarray:
        cores = prepared.cores()

        def batch(texts: list[str], failed: dict[int, str]) -> np.ndarray:
            return self._batch(texts, cores, failed)

        return per_unique_batch(prepared, batch, self._one, len(FEATURES), errors, "words")
