"""Length and pattern features (``len__…``): what a handle looks like, before any meaning.

Short, pure, repetitive and pronounceable names sell; long, mixed and random ones do not. The pronounceability
model is a character trigram model learned (in ``fit``) from wordfreq's English word list, so it is data, not
hand-written rules.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from itertools import pairwise
from typing import Any

import numpy as np

from handleval.features._common import (
    MAX_CHARS,
    FeatureFamily,
    Prepared,
    ascii_matrix,
    cached,
    fill_rows,
    package_files,
    per_unique_batch,
    source_digest,
)

#: Integer codes of ``len__pattern_class`` (LightGBM reads them as a categorical feature).
PATTERN_CLASSES: dict[int, str] = {
    0: "other", 1: "L", 2: "LL", 3: "LLL", 4: "LLLL", 5: "LLLLL",
    6: "N", 7: "NN", 8: "NNN", 9: "NNNN", 10: "NNNNN",
    11: "CVCV", 12: "CVCVC", 13: "letters (6+)", 14: "digits (6+)",
    15: "letters then digits", 16: "digits then letters", 17: "words with separators", 18: "mixed",
}
_CLASS_CODE = {v: k for k, v in PATTERN_CLASSES.items()}

VOWELS = frozenset("aeiouy")
#: Numbers buyers pay for: Chinese lucky numbers (8 = prosper, 168 = prosper all the way, 520/1314 = love).
LUCKY_NUMBERS = frozenset({
    "6", "8", "9", "66", "88", "99", "666", "888", "999", "6666", "8888", "9999", "88888", "168", "1688", "518",
    "520", "521", "1314", "5201314", "7", "77", "777", "7777", "6688", "8866", "2888", "1888",
})
#: Internet-culture numbers with their own market (and their own risks).
MEME_NUMBERS = frozenset({"69", "420", "666", "007", "1337", "911", "404", "13", "23", "24"})
_KEYBOARD_ROWS = ("1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm")
_KEY_POS = {c: (r, i) for r, row in enumerate(_KEYBOARD_ROWS) for i, c in enumerate(row)}


def _trigram_regex(rows: tuple[str, ...]) -> re.Pattern[str]:
    grams = {row[i:i + 3] for row in rows for i in range(len(row) - 2)}
    grams |= {g[::-1] for g in grams}
    return re.compile("|".join(sorted(grams)))


# Fast paths: most handles contain no sequence/keyboard trigram, so a C-level search skips the Python loop.
_SEQ3 = _trigram_regex(("abcdefghijklmnopqrstuvwxyz", "0123456789"))
_KEY3 = _trigram_regex(_KEYBOARD_ROWS)
_DOUBLE = re.compile(r"(.)\1+")

_LETTER = re.compile(r"[^\W\d_]")
_DIGIT = re.compile(r"\d")
_DIGIT_RUN = re.compile(r"\d+")
_ASCII_LETTER_RUN = re.compile(r"[a-z]+")
_DROP_VOWELS = str.maketrans("", "", "aeiouy")
_SEPARATORS = re.compile(r"[_.\-]+")
_LEAD_DIGITS = re.compile(r"^\d+")
_TRAIL_DIGITS = re.compile(r"\d+$")
_CONSONANT_RUN = re.compile(r"[bcdfghjklmnpqrstvwxz]+")

FEATURES = (
    "length", "n_letters", "n_digits", "n_underscores", "n_dots", "n_hyphens", "n_other",
    "share_letters", "share_digits", "n_unique_chars", "non_ascii", "pattern_class",
    "is_all_letters", "is_all_digits", "max_run", "is_single_char_repeat", "is_periodic", "is_palindrome",
    "max_sequence", "keyboard_walk", "year", "lucky_number", "lucky_digit_share", "meme_number",
    "leading_digits", "trailing_digits", "leading_underscore", "trailing_underscore", "n_parts",
    "pronounce_loglik", "vowel_ratio", "max_consonant_cluster",
)


def pattern_class(text: str) -> int:
    """Code of the shape of ``text`` (see :data:`PATTERN_CLASSES`)."""
    n = len(text)
    if n == 0:
        return 0
    if text.isascii() and text.isalpha():
        if n == 4 and _cv(text) == "CVCV":
            return _CLASS_CODE["CVCV"]
        if n == 5 and _cv(text) == "CVCVC":
            return _CLASS_CODE["CVCVC"]
        return n if n <= 5 else _CLASS_CODE["letters (6+)"]
    if text.isascii() and text.isdigit():
        return 5 + n if n <= 5 else _CLASS_CODE["digits (6+)"]
    if re.fullmatch(r"[a-z]+\d+", text):
        return _CLASS_CODE["letters then digits"]
    if re.fullmatch(r"\d+[a-z]+", text):
        return _CLASS_CODE["digits then letters"]
    if re.fullmatch(r"[a-z0-9]+(?:[_.\-]+[a-z0-9]+)+", text):
        return _CLASS_CODE["words with separators"]
    return _CLASS_CODE["mixed"]


def _cv(text: str) -> str:
    return "".join("V" if c in VOWELS else "C" for c in text)


def _max_run(text: str) -> int:
    runs = _DOUBLE.finditer(text)
    return max((m.end() - m.start() for m in runs), default=1 if text else 0)


def _max_step_run(text: str, step: Any) -> int:
    """Longest run where each next character is one ``step`` away from the previous one (``abc``, ``321``)."""
    best = run = 1
    prev = 0
    for a, b in pairwise(text):
        d = step(a, b)
        if d and (run == 1 or d == prev):
            run += 1
        else:
            run = 2 if d else 1
        prev = d
        best = max(best, run)
    return best if best >= 3 else 0


def _seq_step(a: str, b: str) -> int:
    if a.isascii() and b.isascii() and ((a.isdigit() and b.isdigit()) or (a.isalpha() and b.isalpha())):
        d = ord(b) - ord(a)
        return d if d in (1, -1) else 0
    return 0


def _key_step(a: str, b: str) -> int:
    pa, pb = _KEY_POS.get(a), _KEY_POS.get(b)
    if pa and pb and pa[0] == pb[0]:
        d = pb[1] - pa[1]
        return d if d in (1, -1) else 0
    return 0


# -- compiled twin of ``LengthPatternFeatures._one`` for plain ASCII strings -------------------------------
# A distinct string of 1..MAX_CHARS characters, all ASCII, no upper case (cleaned text is lower-cased) and no
# newline (which ``.`` and ``$`` treat specially) is described by its bytes: on those, the regular expressions
# above reduce to byte classes ([a-z], [0-9], [_.-]) and every feature to one walk over a row of a byte matrix
# (``_length_kernel.plain_features``, which ``pattern_classes`` uses too). Any other string goes through
# ``_one``; ``tests/code/test_features_fastpaths.py`` checks the two agree.
_CODE_OF = np.full(256, 27, dtype=np.intp)  # trigram-model symbol of a byte: a-z → 0..25, '^' → 26, '$' → 27
_CODE_OF[97:123] = np.arange(26)
_CODE_OF[ord("^")] = 26
_KEY_ROW = np.full(256, -1, dtype=np.int16)
_KEY_COL = np.zeros(256, dtype=np.int16)
for _c, (_r, _i) in _KEY_POS.items():
    _KEY_ROW[ord(_c)], _KEY_COL[ord(_c)] = _r, _i
_IS_VOWEL = np.zeros(256, dtype=bool)
_IS_VOWEL[[ord(c) for c in VOWELS]] = True
_MAX_KEYED_DIGITS = 7  # the longest number listed above


def _number_keys(numbers: frozenset[str]) -> np.ndarray:
    """Sorted keys ``value * 8 + length`` of listed numbers, as the compiled digit-run scan looks them up (the
    length keeps leading zeros apart: '007' is not '7')."""
    assert all(s.isdigit() and len(s) <= _MAX_KEYED_DIGITS for s in numbers)
    return np.array(sorted(int(s) * 8 + len(s) for s in numbers), dtype=np.int64)


_LUCKY_KEYS, _MEME_KEYS = _number_keys(LUCKY_NUMBERS), _number_keys(MEME_NUMBERS)
_PATTERN_COLUMN = FEATURES.index("pattern_class")
_NO_TRIGRAMS = np.zeros((28, 28, 28))  # for pattern_classes: the walk's pronounceability columns go unused
#: 1..MAX_CHARS ASCII characters, none of them upper case or a newline.
_PLAIN = re.compile(f"[\\x00-\\x09\\x0b-\\x40\\x5b-\\x7f]{{1,{MAX_CHARS}}}")


def _plain(texts: list[str]) -> list[int]:
    """Indices of the strings the byte-matrix path handles exactly (see above)."""
    plain = _PLAIN.fullmatch
    return [i for i, t in enumerate(texts) if plain(t)]


def pattern_classes(texts: list[str]) -> np.ndarray:
    """:func:`pattern_class` of many strings at once: the compiled walk of :func:`_plain_rows` for plain ASCII
    strings (the class does not read the pronounceability model, so no fitted family is needed), the regular
    expressions for others."""
    out = np.zeros(len(texts), dtype=np.int64)
    plain = _plain(texts)
    if plain:
        out[plain] = _plain_rows([texts[i] for i in plain], _NO_TRIGRAMS)[:, _PATTERN_COLUMN]
    done = set(plain)
    for i, t in enumerate(texts):
        if i not in done:
            out[i] = pattern_class(t)
    return out


def _plain_rows(texts: list[str], tri: np.ndarray) -> np.ndarray:
    """Rows of ``LengthPatternFeatures._one`` for plain strings (see :func:`_plain`) of any lengths, given the
    trigram log-probabilities ``tri``: one compiled walk over each row's bytes (the matrix's zero padding is
    never read)."""
    from handleval.features._length_kernel import plain_features

    n = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    m = ascii_matrix(texts, int(n.max()))
    table = np.empty((len(texts), len(FEATURES)))
    plain_features(m, n, _KEY_ROW, _KEY_COL, _CODE_OF, _IS_VOWEL, tri, _LUCKY_KEYS, _MEME_KEYS, _MAX_KEYED_DIGITS,
                   table)
    return table


class LengthPatternFeatures(FeatureFamily):
    """Length, character mix, shape, repeats, sequences, number meanings and pronounceability.

    Parameters
    ----------
    n_train_words:
        How many of wordfreq's most frequent English words train the trigram pronounceability model.
    use_cache:
        Cache the trained model under ``~/.cache/handleval`` (``$HANDLEVAL_CACHE``), which spares importing
        wordfreq and counting trigrams at every fit.
    """

    prefix = "len"

    def __init__(self, n_train_words: int = 30000, use_cache: bool = True):
        self.n_train_words = n_train_words
        self.use_cache = use_cache

    def _feature_names(self) -> list[str]:
        return [f"len__{f}" for f in FEATURES]

    def _fit(self, prepared: Prepared, X: Any, y: Any) -> None:
        key = (source_digest(__file__), self.n_train_words, package_files("wordfreq", "data"))
        for name, value in cached("length", key, self._build, self.use_cache).items():
            setattr(self, name, value)

    def _build(self) -> dict[str, Any]:
        """The fitted attributes, from wordfreq's English list (what :meth:`_fit` caches)."""
        from wordfreq import top_n_list

        words = [w for w in top_n_list("en", self.n_train_words) if w.isascii() and w.isalpha()]
        tri: Counter[str] = Counter()
        bi: Counter[str] = Counter()
        for w in words:
            s = f"^^{w}$"
            for i in range(len(s) - 2):
                tri[s[i:i + 3]] += 1
                bi[s[i:i + 2]] += 1
        # add-one smoothing over 27 possible next symbols
        self.trigram_logp_ = {g: math.log((c + 1) / (bi[g[:2]] + 27)) for g, c in tri.items()}
        self.context_logp_ = {g: math.log(1 / (c + 27)) for g, c in bi.items()}
        self.unseen_logp_ = math.log(1 / 27)
        self.trigram_table_ = None
        self._trigram_table()
        return {name: getattr(self, name) for name in ("trigram_logp_", "context_logp_", "unseen_logp_",
                                                        "trigram_table_")}

    def pronounce_loglik(self, letters: str) -> float:
        """Mean log-probability per character of ``letters`` under the trigram model (higher = more word-like)."""
        if not letters:
            return math.nan
        s = f"^^{letters}$"
        tri, ctx, unseen = self.trigram_logp_, self.context_logp_, self.unseen_logp_
        total = 0.0
        for i in range(len(s) - 2):
            g = s[i:i + 3]
            lp = tri.get(g)
            total += lp if lp is not None else ctx.get(g[:2], unseen)
        return total / (len(s) - 2)

    def _one(self, full: str) -> tuple[float, ...]:
        n = len(full)
        t = full[:MAX_CHARS]
        n_letters = len(_LETTER.findall(full))
        n_digits = len(_DIGIT.findall(full))
        n_us, n_dot, n_hy = full.count("_"), full.count("."), full.count("-")
        n_other = n - n_letters - n_digits - n_us - n_dot - n_hy
        digit_runs = _DIGIT_RUN.findall(t)
        year = math.nan
        for run in digit_runs:
            if len(run) == 4 and 1950 <= int(run) <= 2035:
                year = float(run)
                break
        lucky = meme = False
        lucky_share = 0.0
        if digit_runs:
            lucky = any((r in LUCKY_NUMBERS and (len(r) >= 2 or n_digits == n)) or (len(r) >= 2 and not r.strip("689"))
                        for r in digit_runs)
            meme = any(r in MEME_NUMBERS for r in digit_runs)
            lucky_share = (t.count("6") + t.count("8") + t.count("9")) / n_digits
        lead = _LEAD_DIGITS.match(t)
        trail = _TRAIL_DIGITS.search(t)
        ascii_letters = "".join(_ASCII_LETTER_RUN.findall(t)) if n_letters else ""
        vowels = len(ascii_letters) - len(ascii_letters.translate(_DROP_VOWELS))
        clusters = _CONSONANT_RUN.findall(ascii_letters)
        period = (t + t).find(t, 1)
        return (
            n, n_letters, n_digits, n_us, n_dot, n_hy, n_other,
            n_letters / n, n_digits / n, len(set(t)), float(not full.isascii()), pattern_class(t),
            float(n_letters == n), float(n_digits == n), _max_run(t),
            float(n >= 2 and len(set(t)) == 1), float(n >= 2 and period < len(t)),
            float(n >= 2 and t == t[::-1]),
            _max_step_run(t, _seq_step) if _SEQ3.search(t) else 0,
            _max_step_run(t, _key_step) if _KEY3.search(t) else 0, year,
            float(lucky), lucky_share, float(meme),
            len(lead.group()) if lead else 0, len(trail.group()) if trail else 0,
            float(t.startswith("_")), float(t.endswith("_")), len([p for p in _SEPARATORS.split(t) if p]),
            self.pronounce_loglik(ascii_letters), vowels / len(ascii_letters) if ascii_letters else math.nan,
            max(map(len, clusters), default=0),
        )

    def _trigram_table(self) -> np.ndarray:
        """``pronounce_loglik``'s per-trigram log-probabilities as a (28, 28, 28) array over symbols a-z ^ $."""
        table = getattr(self, "trigram_table_", None)
        if table is None:
            symbols = [chr(97 + i) for i in range(26)] + ["^", "$"]
            tri, ctx, unseen = self.trigram_logp_, self.context_logp_, self.unseen_logp_
            table = np.empty((28, 28, 28))
            for a, ca in enumerate(symbols):
                for b, cb in enumerate(symbols):
                    fallback = ctx.get(ca + cb, unseen)
                    for c, cc in enumerate(symbols):
                        lp = tri.get(ca + cb + cc)
                        table[a, b, c] = lp if lp is not None else fallback
            self.trigram_table_ = table
        return table

    def _batch(self, texts: list[str], failed: dict[int, str]) -> np.ndarray:
        """``_one`` of every distinct text: a compiled byte scan for plain ASCII strings, ``_one`` for others."""
        plain = _plain(texts)
        if plain and len(plain) == len(texts):  # the usual case
            return _plain_rows(texts, self._trigram_table())
        table = np.full((len(texts), len(FEATURES)), np.nan)
        if plain:
            table[plain] = _plain_rows([texts[i] for i in plain], self._trigram_table())
        done = np.zeros(len(texts), dtype=bool)
        done[plain] = True
        fill_rows(table, np.flatnonzero(~done).tolist(), texts, self._one, failed, "length")
        return table

    def _compute(self, prepared: Prepared, errors: list[str | None]) -> np.ndarray:
        def batch(texts: list[str], failed: dict[int, str]) -> np.ndarray:
            table = self._batch(texts, failed)
            prepared.shared["pattern_class"] = table[:, _PATTERN_COLUMN]  # the sales family needs it too
            return table

        return per_unique_batch(prepared, batch, self._one, len(FEATURES), errors, "length")
