"""Feature name + value → a short phrase for the price model's human-readable reasons.

    >>> describe_feature("len__length", 4, "pizza")
    '4 characters'
    >>> describe_feature("brand__match_kind", 4, "spotifyy", match="spotify")
    "close to brand 'spotify'"
"""

from __future__ import annotations

import math
from collections.abc import Callable

from handleval.features._common import core_of
from handleval.features.brands import MATCH_KINDS
from handleval.features.length import PATTERN_CLASSES
from handleval.features.words import COMMON_PART_ZIPF, LANGUAGES

_LANG_NAMES = {"en": "English", "es": "Spanish", "fr": "French", "de": "German", "pt": "Portuguese",
               "it": "Italian", "nl": "Dutch", "tr": "Turkish", "id": "Indonesian", "pl": "Polish", "sv": "Swedish"}


def _usd(v: float) -> str:
    return f"${math.exp(v):,.0f}"


#: A handle that is no word as written (``xkqzv``, but also ``rainyday``: two words are not one).
NOT_A_WORD = "not a dictionary word as a whole"


def _example(run: str, n: float) -> str:
    """A run as long as the one found (``abc`` for 3): ``qwerty`` beside a run of three overstated it."""
    return run[:max(int(n), 1)]


def plural(n: float, word: str) -> str:
    """``1 row``, ``2,000 rows``: a count and its word, in the singular for one."""
    n = int(n)
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def _earlier_sales(n: float) -> str:
    """'no earlier sale' for none: "0 earlier sales (+$16)" read as money paid for data that is not there."""
    return plural(n, "earlier sale") if int(n) else "no earlier sale"


def as_run_together(phrase: str) -> str:
    """A brand or celebrity phrase of a run-together token wordfreq knows (``highkey``, ``bluefish``: match kind
    "known compound") as what it is: in no lexicon, a sign of a name, so "run-together name 'highkey'" where the
    phrase said "famous name 'highkey'", which no one could check."""
    for said in ("famous brand '", "famous name '", "brand '"):
        phrase = phrase.replace(said, "run-together name '")
    return phrase


def _kind_phrase(family: str, kind: float, match: str | None, homoglyph: bool = False) -> str:
    what = "brand" if family == "brand" else "famous name"
    name = f"'{match}'" if match else f"a {what}"
    k = MATCH_KINDS.get(int(kind), "none")
    if homoglyph:
        return f"lookalike of {name} (confusable characters)"
    return {
        "none": f"no {what} match",
        "exact": f"exact {what} {name}",
        "affix": f"{what} {name} with extra letters or digits",
        "leetspeak": f"{what} {name} in leetspeak",
        "fuzzy": f"close to {what} {name}",
        "known compound": f"well-known name {name}",
    }[k]


#: Feature name → phrase template: ``f(value, handle, match) -> str``.
PHRASES: dict[str, Callable[[float, str, str | None], str]] = {
    "len__length": lambda v, h, m: plural(v, "character"),
    "len__n_letters": lambda v, h, m: plural(v, "letter"),
    "len__n_digits": lambda v, h, m: plural(v, "digit"),
    "len__n_underscores": lambda v, h, m: plural(v, "underscore"),
    "len__n_dots": lambda v, h, m: plural(v, "dot"),
    "len__n_hyphens": lambda v, h, m: plural(v, "hyphen"),
    "len__n_other": lambda v, h, m: plural(v, "unusual character"),
    "len__share_letters": lambda v, h, m: f"{v:.0%} letters",
    "len__share_digits": lambda v, h, m: f"{v:.0%} digits",
    "len__n_unique_chars": lambda v, h, m: plural(v, "distinct character"),
    "len__non_ascii": lambda v, h, m: "non-Latin characters" if v else "plain Latin characters",
    "len__pattern_class": lambda v, h, m: f"pattern {PATTERN_CLASSES.get(int(v), 'other')}",
    "len__is_all_letters": lambda v, h, m: "letters only" if v else "not letters only",
    "len__is_all_digits": lambda v, h, m: "digits only" if v else "not digits only",
    "len__max_run": lambda v, h, m: f"same character {int(v)} times in a row",
    "len__is_single_char_repeat": lambda v, h, m: "one character repeated" if v else "not one repeated character",
    "len__is_periodic": lambda v, h, m: "repeating pattern" if v else "no repeating pattern",
    "len__is_palindrome": lambda v, h, m: "reads the same backwards" if v else "not a palindrome",
    "len__max_sequence": lambda v, h, m: f"sequence of {int(v)} (like {_example('abcdefghijklmnop', v)})" if v
    else "no sequence",
    "len__keyboard_walk": lambda v, h, m: f"keyboard run of {int(v)} (like {_example('qwertyuiop', v)})" if v
    else "no keyboard run",
    "len__year": lambda v, h, m: f"contains the year {int(v)}",
    "len__lucky_number": lambda v, h, m: "lucky number" if v else "no lucky number",
    "len__lucky_digit_share": lambda v, h, m: f"{v:.0%} of digits are 6, 8 or 9",
    "len__meme_number": lambda v, h, m: "internet-culture number (69, 420, 1337 …)" if v else "no meme number",
    "len__leading_digits": lambda v, h, m: "digits at the start" if v else "no digits at the start",
    "len__trailing_digits": lambda v, h, m: "digits at the end" if v else "no digits at the end",
    "len__leading_underscore": lambda v, h, m: "starts with '_'" if v else "does not start with '_'",
    "len__trailing_underscore": lambda v, h, m: "ends with '_'" if v else "does not end with '_'",
    "len__n_parts": lambda v, h, m: plural(v, "part") + " separated by _ . -",
    "len__pronounce_loglik": lambda v, h, m: "easy to pronounce" if v > -3.0 else "hard to pronounce",
    "len__vowel_ratio": lambda v, h, m: f"{v:.0%} vowels",
    "len__max_consonant_cluster": lambda v, h, m: f"{int(v)} consonants in a row",
    "dict__zipf_en": lambda v, h, m: f"English word '{h}'" if v >= 3 else ("rare English word" if v else
                                                                          "not an English word"),
    "dict__zipf_best": lambda v, h, m: f"dictionary word '{h}'" if v >= 3 else "not a common word",
    "dict__best_lang": lambda v, h, m: f"{_LANG_NAMES.get(LANGUAGES[int(v)], LANGUAGES[int(v)])} word '{h}'"
    if 0 <= v < len(LANGUAGES) else "no language",
    "dict__is_word": lambda v, h, m: f"dictionary word '{h}'" if v else NOT_A_WORD,
    "dict__n_words": lambda v, h, m: plural(v, "word") if v else "no words",
    "dict__coverage": lambda v, h, m: f"{v:.0%} made of words",
    "dict__min_zipf": lambda v, h, m: "all parts are common words" if v >= COMMON_PART_ZIPF else "contains a rare word",
    "dict__mean_zipf": lambda v, h, m: "common words" if v >= COMMON_PART_ZIPF else "uncommon words",
    "dict__junk_chars": lambda v, h, m: plural(v, "character") + " that are not words" if v else "no junk",
    "dict__longest_word": lambda v, h, m: f"longest word has {int(v)} letters",
    "dict__known_compound": lambda v, h, m: f"'{h}' is a known phrase" if v else "not a known phrase",
    "dict__first_name": lambda v, h, m: "first name" if v else "not a first name",
    "dict__surname": lambda v, h, m: "surname" if v else "not a surname",
    "dict__full_name": lambda v, h, m: "first name + surname" if v else "not a full name",
    "sales__n_market": lambda v, h, m: _earlier_sales(v) + " in this market",
    "sales__market_median_logp": lambda v, h, m: f"names in this market sold for about {_usd(v)}",
    "sales__n_prev_same": lambda v, h, m: f"sold {plural(v, 'time')} before" if v else "never sold before",
    "sales__prev_same_logp": lambda v, h, m: f"last sold for {_usd(v)}",
    "sales__prev_same_age_days": lambda v, h, m: f"last sold {int(v):,} days earlier",
    "sales__knn_median_logp": lambda v, h, m: f"similar names sold for about {_usd(v)}",
    "sales__knn_max_sim": lambda v, h, m: f"closest sold name {v:.0%} similar",
    "sales__knn_mean_sim": lambda v, h, m: f"comparable names {v:.0%} similar",
    "sales__n_lenpat": lambda v, h, m: _earlier_sales(v) + " of the same length and pattern",
    "sales__lenpat_median_logp": lambda v, h, m: f"same length and pattern sold for about {_usd(v)}",
    "sales__n_suffix": lambda v, h, m: _earlier_sales(v) + " with the same suffix",
    "sales__suffix_median_logp": lambda v, h, m: f"same suffix sold for about {_usd(v)}",
    "sales__proxy_market": lambda v, h, m: "priced from Telegram sales" if v else "priced from its own market",
}
#: Phrases that quote the handle; every other phrase depends on the value (and matched name) alone.
HANDLE_PHRASES = frozenset({"dict__zipf_en", "dict__zipf_best", "dict__best_lang", "dict__is_word",
                            "dict__known_compound"})

for _family in ("brand", "celeb"):
    _what = "brand" if _family == "brand" else "famous name"
    PHRASES[f"{_family}__match_kind"] = (lambda fam: lambda v, h, m: _kind_phrase(fam, v, m))(_family)
    PHRASES[f"{_family}__similarity"] = (lambda w: lambda v, h, m: f"{v:.0%} similar to {w} '{m}'" if m
                                         else f"{v:.0%} similar to a {w}")(_what)
    PHRASES[f"{_family}__popularity"] = (lambda w: lambda v, h, m: f"{w} '{m}' popularity {v:.2f}" if m
                                         else f"{w} popularity {v:.2f}")(_what)
    # Every phrase names its family ("brand" or "famous name"), so a brand reason never reads like a celebrity one
    # (the predictor merges reasons that read the same).
    PHRASES[f"{_family}__match_len"] = (lambda w: lambda v, h, m: f"matched {w} has {int(v)} characters")(_what)
    PHRASES[f"{_family}__impersonation"] = (lambda w: lambda v, h, m: f"could impersonate {w} '{m}'" if v and m
                                            else (f"{w} impersonation risk" if v else f"no {w} impersonation risk")
                                            )(_what)
    PHRASES[f"{_family}__homoglyph"] = (lambda w: lambda v, h, m: f"lookalike of {w} '{m}'" if v and m
                                        else (f"{w} lookalike characters" if v else f"no {w} lookalike characters")
                                        )(_what)
    _famous = "famous brand" if _family == "brand" else "famous name"
    PHRASES[f"{_family}__fame"] = (lambda w: lambda v, h, m: f"{w} '{m}'" if v and m
                                   else (w if v else f"not a {w}"))(_famous)

#: Phrases for a missing value where the family's general one ("no earlier sales to compare") would mislead.
MISSING_PHRASES: dict[str, str] = {
    "sales__n_suffix": "no suffix",  # a username: the count is 0, not missing, for a domain or e-mail name
    "sales__suffix_median_logp": "no earlier sales with the same suffix",
    "len__year": "no year in it",
    "len__pronounce_loglik": "no letters to pronounce",
    "len__vowel_ratio": "no letters",
    "dict__best_lang": "no word in any language",
    "dict__min_zipf": "no dictionary words in it",
    "dict__mean_zipf": "no dictionary words in it",
}


def handle_word(handle: str) -> str:
    """What a phrase quotes of a handle: the core the dictionary features read ('pizza' of 'pizza_'), or the
    handle itself when it has none."""
    return core_of(handle.lower()) or handle


#: The features that say how common a word the handle itself is, and in which language: one fact, one reason
#: (:func:`describe_word`), whichever of them the model leaned on.
WORD_FEATURES = frozenset({"dict__zipf_en", "dict__zipf_best", "dict__best_lang", "dict__is_word"})


def describe_word(zipf_en: float, zipf_best: float, best_lang: float, word: str, number: bool = False) -> str:
    """The reason the word features give: "English word 'pizza'" (Zipf frequency 3 or more in English), else in
    the handle's best language ("French word 'fromage'"), else "rare English word 'skyrocketed'" (English first,
    then the best language), or :data:`NOT_A_WORD` (``word`` as the reason quotes it). A handle of digits
    (``number``) reads "number '12345'": the word lists hold no numbers."""
    if number:
        return f"number '{word}'"
    zipf_en, zipf_best = (z if z == z else 0.0 for z in (zipf_en, zipf_best))  # missing: no frequency
    known = best_lang == best_lang and 0 <= best_lang < len(LANGUAGES)
    best = _LANG_NAMES.get(LANGUAGES[int(best_lang)], LANGUAGES[int(best_lang)]) if known else "dictionary"
    if zipf_en >= 3 or zipf_best >= 3:
        return f"{'English' if zipf_en >= 3 else best} word '{word}'"
    if zipf_en > 0 or zipf_best > 0:
        return f"rare {'English' if zipf_en > 0 else best} word '{word}'"
    return NOT_A_WORD


def describe_feature(name: str, value: float, handle: str = "", match: str | None = None) -> str:
    """A short phrase for feature ``name`` at ``value`` for ``handle`` (``match``: the matched brand or
    celebrity, from :meth:`HandleFeaturizer.matches`, for the ``brand__``/``celeb__`` phrases).

    Missing values say so; unknown features fall back to ``name = value``.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING_PHRASES.get(name) or ("no earlier sales to compare" if name.startswith("sales__")
                                             else f"{name.split('__')[-1]} unknown")
    phrase = PHRASES.get(name)
    if phrase is None:
        return f"{name} = {value:g}"
    if name in HANDLE_PHRASES:
        handle = handle_word(handle)
    try:
        return phrase(float(value), handle, match)
    except (ValueError, IndexError, OverflowError):
        return f"{name} = {value:g}"
