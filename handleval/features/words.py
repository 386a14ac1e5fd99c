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
from typing import Any

import numpy as np

from handleval.features._common import MAX_CHARS, FeatureFamily, Prepared, per_unique

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
    """

    prefix = "dict"

    def __init__(self, languages: tuple[str, ...] = LANGUAGES, word_zipf: float = 2.5):
        self.languages = languages
        self.word_zipf = word_zipf

    def _feature_names(self) -> list[str]:
        return [f"dict__{f}" for f in FEATURES]

    def _fit(self, prepared: Prepared, X: Any, y: Any) -> None:
        from wordfreq import get_frequency_dict

        def zipf_table(lang: str) -> dict[str, float]:
            freqs = get_frequency_dict(lang, wordlist="best" if lang == "en" else "small")
            return {w: math.log10(f) + 9 for w, f in freqs.items() if w.isascii() and w.isalnum()}

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
        self.first_names_, self.surnames_ = _census_names()

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

    def words_of(self, text: str) -> list[str]:
        """The dictionary words found in ``text`` (letters only, in order)."""
        core = _NON_ALNUM.sub("", text[:MAX_CHARS])
        return [p for run in _LETTER_RUNS.findall(core) for p in self.segment(run) if p in self.vocab_cost_]

    def _one(self, text: str) -> tuple[float, ...]:
        core = _NON_ALNUM.sub("", text[:MAX_CHARS])
        if not core:
            return (0.0, 0.0, math.nan, 0.0, 0.0, 0.0, math.nan, math.nan, float(len(text)), 0.0, 0.0, 0.0, 0.0, 0.0)
        en = self.zipf_["en"]
        z_en = en.get(core, 0.0)
        best, best_lang = z_en, (0 if z_en > 0 else -1)
        for i, lang in enumerate(self.languages[1:], start=1):
            z = self.zipf_[lang].get(core, 0.0)
            if z > best:
                best, best_lang = z, i
        parts: list[str] = []
        junk = len(core)
        for run in _LETTER_RUNS.findall(core):
            for p in self.segment(run) if len(run) > 1 or run in self.vocab_cost_ else (run,):
                if p in self.vocab_cost_:
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

    def _compute(self, prepared: Prepared, errors: list[str | None]) -> np.ndarray:
        return per_unique(prepared.frame["text"].tolist(), self._one, len(FEATURES), errors, "words")
