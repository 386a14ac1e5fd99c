"""Brand and celebrity similarity (``brand__…``, ``celeb__…``): is the handle a famous name, or close to one?

Matching runs from strict to loose and stops at the first hit: exact slug, affixes stripped (``nikeofficial``,
``therealtaylorswift``, digits), leetspeak undone (``g00gle``), then fuzzy. Confusable characters (Cyrillic ``а``
in ``pаypal``) are mapped to Latin first, with the Unicode confusables table that ``confusable_homoglyphs``
ships, and flagged, so that a lookalike can be reported as such.

Speed: instead of scoring every handle against ~100k names (``extractOne`` does ~1,500 handles/s), fuzzy
candidates come from a deletion-neighbourhood index (SymSpell's idea): every lexicon name and its one-character
deletions are dict keys, so a handle's own deletions find all names within one edit — and most within two —
by exact lookups; rapidfuzz then scores only those few candidates. Thresholds grow with length, so short
names never match by accident (``j0hn_99`` is not ``ejohn``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from handleval.features._common import MAX_CHARS, FeatureFamily, Prepared, per_unique
from handleval.features.lexicons import Lexicon, load_lexicon

#: Integer codes of ``brand__match_kind`` / ``celeb__match_kind``.
MATCH_KINDS: dict[int, str] = {0: "none", 1: "exact", 2: "affix", 3: "leetspeak", 4: "fuzzy", 5: "known compound"}
NONE, EXACT, AFFIX, LEET, FUZZY, COMPOUND = range(6)

PREFIXES = ("thereal", "real", "official", "the", "iam", "its", "itz", "im", "get", "try", "go", "my", "hey",
            "join", "use", "we", "team", "mr", "dr", "hello", "hi", "i")
SUFFIXES = ("official", "offical", "officiel", "hq", "app", "apps", "tv", "inc", "co", "store", "shop", "news",
            "fans", "fan", "fanclub", "club", "online", "global", "world", "us", "usa", "uk", "in", "india", "eu",
            "support", "help", "music", "media", "studio", "studios", "games", "gaming", "live", "page", "real",
            "team", "ig", "x", "hd", "daily", "updates", "official1", "brasil", "br", "de", "fr", "es", "jp")
LEET_MAP = {"0": "o", "1": "il", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g", "6": "g", "2": "z"}
_DROP_LEET = str.maketrans("", "", "".join(LEET_MAP))
_PREFIX_SET = frozenset(PREFIXES)
_PREFIX_LENS = sorted({len(p) for p in PREFIXES})
_SUFFIX_SET = frozenset(SUFFIXES)
_SUFFIX_LENS = sorted({len(s) for s in SUFFIXES})
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_LEAD_DIGITS = re.compile(r"^\d+")
_TRAIL_DIGITS = re.compile(r"\d+$")
_MIN_AFFIX_REST = 4


def max_edits(n: int) -> int:
    """Edits allowed for a fuzzy match of a ``n``-character handle: none below 5, one up to 8, then two."""
    return 0 if n < 5 else 1 if n <= 8 else 2


@dataclass(frozen=True, slots=True)
class Match:
    kind: int = NONE
    key: str = ""
    similarity: float = 0.0
    popularity: float = 0.0
    homoglyph: bool = False


_NO_MATCH = Match()
_CONFUSABLE_CACHE: dict[str, str] = {}


def _latin_of(char: str) -> str:
    """The Latin letter or digit a character can pass for (``а`` → ``a``), else its accent-free base, else ''."""
    hit = _CONFUSABLE_CACHE.get(char)
    if hit is not None:
        return hit
    import unicodedata

    from confusable_homoglyphs import confusables

    out = ""
    try:
        found = confusables.is_confusable(char, preferred_aliases=["latin"]) or []
    except Exception:  # the library has no entry for some code points
        found = []
    for entry in found:
        for glyph in entry.get("homoglyphs", []):
            c = glyph.get("c", "").lower()
            if len(c) == 1 and c.isascii() and c.isalnum():
                out = c
                break
        if out:
            break
    if not out:
        base = unicodedata.normalize("NFKD", char)[:1].lower()
        out = base if base.isascii() and base.isalnum() else ""
    _CONFUSABLE_CACHE[char] = out
    return out


def skeleton(text: str) -> tuple[str, bool]:
    """``(ascii skeleton, changed)``: non-ASCII characters replaced by the Latin ones they look like."""
    if text.isascii():
        return text, False
    out = "".join(c if c.isascii() else _latin_of(c) for c in text)
    return out, True


class LexiconMatcher:
    """Exact, affix, leetspeak and fuzzy matching of handles against one :class:`Lexicon`."""

    def __init__(self, lexicon: Lexicon, fuzzy_min_popularity: float = 0.3):
        self.lexicon = lexicon
        self.pop = lexicon.popularity
        index: dict[str, list[str]] = {}
        for key, p in self.pop.items():
            if len(key) >= 4 and p >= fuzzy_min_popularity:
                for variant in {key, *(key[:i] + key[i + 1:] for i in range(len(key)))}:
                    index.setdefault(variant, []).append(key)
        self.index = index

    def _best(self, keys: Any) -> str | None:
        found = [k for k in keys if k in self.pop]
        return max(found, key=lambda k: (self.pop[k], len(k))) if found else None

    def _affix_variants(self, core: str) -> set[str]:
        out: set[str] = set()
        stripped = _TRAIL_DIGITS.sub("", _LEAD_DIGITS.sub("", core))
        bases = {core, stripped}
        for base in list(bases):
            for n in _PREFIX_LENS:
                if base[:n] in _PREFIX_SET:
                    bases.add(base[n:])
        for base in bases:
            out.add(base)
            for n in _SUFFIX_LENS:
                if len(base) > n and base[-n:] in _SUFFIX_SET:
                    out.add(_TRAIL_DIGITS.sub("", base[:-n]))
        out.discard(core)
        return {v for v in out if len(v) >= _MIN_AFFIX_REST}

    @staticmethod
    def _leet_variants(core: str) -> list[str]:
        n_leet = len(core) - len(core.translate(_DROP_LEET))
        if not n_leet or n_leet > 4 or n_leet == len(core) or core.isdigit():
            return []
        variants = [""]
        for c in core:
            subs = LEET_MAP.get(c, c)
            variants = [v + s for v in variants for s in subs][:4]
        return variants

    def _fuzzy(self, core: str) -> tuple[str, int] | None:
        edits = max_edits(len(core))
        if not edits:
            return None
        cands: set[str] = set()
        for variant in {core, *(core[:i] + core[i + 1:] for i in range(len(core)))}:
            hit = self.index.get(variant)
            if hit:
                cands.update(hit)
        best: tuple[int, float, str] | None = None
        for cand in cands:
            if cand == core or abs(len(cand) - len(core)) > edits or len(cand) < max(4, len(core) - edits):
                continue
            d = Levenshtein.distance(core, cand, score_cutoff=edits)
            if d <= edits and (best is None or (d, -self.pop[cand]) < (best[0], -best[1])):
                best = (d, self.pop[cand], cand)
        return (best[2], best[0]) if best else None

    def match(self, text: str) -> Match:
        skel, changed = skeleton(text[:MAX_CHARS])
        core = _NON_ALNUM.sub("", skel)
        if not core:
            return _NO_MATCH
        homo = changed and core != _NON_ALNUM.sub("", text[:MAX_CHARS])
        pop = self.pop
        if core in pop:
            return Match(EXACT, core, 1.0, pop[core], homo)
        key = self._best(self._affix_variants(core))
        if key:
            return Match(AFFIX, key, len(key) / len(core), pop[key], homo)
        leets = self._leet_variants(core)
        key = self._best(leets) or (self._best(self._affix_variants(leets[0])) if leets else None)
        if key:
            return Match(LEET, key, fuzz.ratio(core, key) / 100, pop[key], homo)
        hit = self._fuzzy(core)
        if hit:
            return Match(FUZZY, hit[0], fuzz.ratio(core, hit[0]) / 100, pop[hit[0]], homo)
        return _NO_MATCH


def _features(m: Match) -> tuple[float, ...]:
    lookalike = m.kind in (AFFIX, LEET, FUZZY) or (m.kind == EXACT and m.homoglyph)
    return (float(m.kind), m.similarity, m.popularity, float(len(m.key)),
            m.popularity * m.similarity if lookalike else 0.0, float(m.homoglyph))


class _LexiconFeatures(FeatureFamily):
    lexicon_name: ClassVar[str] = ""
    FEATURES: ClassVar[tuple[str, ...]] = ("match_kind", "similarity", "popularity", "match_len", "impersonation",
                                           "homoglyph")

    def __init__(self, data_dir: str | None = None, fuzzy_min_popularity: float = 0.3, use_cache: bool = True):
        self.data_dir = data_dir
        self.fuzzy_min_popularity = fuzzy_min_popularity
        self.use_cache = use_cache

    def _feature_names(self) -> list[str]:
        return [f"{self.prefix}__{f}" for f in self.FEATURES]

    def _fit(self, prepared: Prepared, X: Any, y: Any) -> None:
        lexicon = load_lexicon(self.lexicon_name, self.data_dir, self.use_cache)
        self.matcher_ = LexiconMatcher(lexicon, self.fuzzy_min_popularity)
        self.lexicon_fingerprint_ = lexicon.fingerprint

    def match(self, text: str) -> Match:
        return self.matcher_.match(text)

    def _one(self, text: str) -> tuple[float, ...]:
        return _features(self.match(text))

    def _compute(self, prepared: Prepared, errors: list[str | None]) -> np.ndarray:
        return per_unique(prepared.frame["text"].tolist(), self._one, len(self.FEATURES), errors, self.prefix)

    def display_name(self, key: str) -> str:
        return self.matcher_.lexicon.display.get(key, key)


class BrandFeatures(_LexiconFeatures):
    """Similarity to brands and popular sites (Tranco, Majestic, Moz, Interbrand, Simple Icons, NSI, S&P 500,
    Fortune, Forbes); ``brand__homoglyph`` marks a lookalike made with confusable characters."""

    prefix = "brand"
    lexicon_name = "brand"


class CelebrityFeatures(_LexiconFeatures):
    """Similarity to famous people and top social accounts (Pantheon, top Instagram/TikTok/YouTube handles).

    Beyond the lexicons, a run-together name that wordfreq knows as one token (``elonmusk``, ``taylorswift``:
    words people write as hashtags and handles) and that splits into name-like parts counts as a
    ``known compound`` celebrity signal: it catches people famous after the 2013 Pantheon snapshot.
    """

    prefix = "celeb"
    lexicon_name = "celeb"

    def _fit(self, prepared: Prepared, X: Any, y: Any) -> None:
        super()._fit(prepared, X, y)
        if getattr(self, "words_", None) is None:
            from handleval.features.words import WordFeatures

            self.words_ = WordFeatures(languages=("en",)).fit()

    def match(self, text: str) -> Match:
        m = self.matcher_.match(text)
        if m.kind != NONE:
            return m
        core = _NON_ALNUM.sub("", text[:MAX_CHARS])
        words = self.words_
        z = words.zipf_["en"].get(core, 0.0)
        if not 1.0 <= z < 3.0 or not core.isalpha():
            return m
        parts = words.segment(core)
        if not 2 <= len(parts) <= 3 or any(len(p) < 3 or p not in words.vocab_cost_ for p in parts):
            return m
        named = parts[0] in words.first_names_ or parts[-1] in words.surnames_
        rare = all(words.zipf_["en"].get(p, 0.0) < 4.0 for p in parts)
        if named or rare:
            return Match(COMPOUND, core, 1.0, min(1.0, 0.3 + 0.1 * z), False)
        return m

    def display_name(self, key: str) -> str:
        return self.matcher_.lexicon.display.get(key, key)


__all__ = ["MATCH_KINDS", "BrandFeatures", "CelebrityFeatures", "LexiconMatcher", "Match", "max_edits", "skeleton"]
