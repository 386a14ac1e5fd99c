"""The issue's 'done when' handles, on the real lexicons and word lists."""

from __future__ import annotations

import pytest

from handleval.features import MATCH_KINDS, PATTERN_CLASSES
from tests.code._features_shared import fitted, row

KIND = {v: k for k, v in MATCH_KINDS.items()}


def brand(handle: str):
    return fitted().families_["brand"].match(handle)


def test_nike_is_an_exact_popular_brand():
    r = row("nike")
    assert r["brand__match_kind"] == KIND["exact"]
    assert r["brand__popularity"] > 0.9
    assert r["brand__impersonation"] == 0


def test_affix_leet_and_fuzzy_variants_find_their_brand():
    assert (brand("nikeofficial").kind, brand("nikeofficial").key) == (KIND["affix"], "nike")
    assert (brand("g00gle").kind, brand("g00gle").key) == (KIND["leetspeak"], "google")
    assert (brand("spotifyy").kind, brand("spotifyy").key) == (KIND["fuzzy"], "spotify")
    assert row("spotifyy")["brand__impersonation"] > 0.5
    celeb = fitted().families_["celeb"].match("therealtaylorswift")
    assert (celeb.kind, celeb.key) == (KIND["affix"], "taylorswift")


@pytest.mark.parametrize("handle", ["j0hn_99", "xq7z9", "aaaa", "qwzxkj"])
def test_random_or_short_names_match_no_brand(handle):
    assert row(handle)["brand__match_kind"] == KIND["none"]
    assert row(handle)["celeb__match_kind"] == KIND["none"]


def test_homoglyph_lookalike_is_flagged_with_the_imitated_name():
    handle = "p\u0430ypal"  # Cyrillic a
    m = fitted().matches([handle]).iloc[0]
    assert m["brand_key"] == "paypal" and m["brand_homoglyph"]
    r = row(handle)
    assert r["brand__homoglyph"] == 1 and r["brand__impersonation"] > 0.9
    assert row("paypal")["brand__homoglyph"] == 0


def test_words_segmentation_and_junk():
    r = row("bestpizza")
    assert r["dict__n_words"] == 2 and r["dict__coverage"] == 1 and r["dict__junk_chars"] == 0
    assert fitted().families_["words"].segment("iloveny") == ["i", "love", "ny"]
    r = row("xq7z9")
    assert r["dict__n_words"] == 0 and r["dict__coverage"] == 0 and r["dict__is_word"] == 0
    assert row("pizza")["dict__is_word"] == 1 and row("pizza")["dict__zipf_best"] > 4


def test_elonmusk_is_a_celebrity_and_a_known_compound():
    r = row("elonmusk")
    assert r["celeb__match_kind"] != KIND["none"]
    assert r["dict__known_compound"] > 0
    assert row("taylorswift")["celeb__match_kind"] == KIND["exact"]
    assert row("firetruck")["celeb__match_kind"] == KIND["none"]  # a compound of plain words is no person
    assert row("johnsmith")["dict__full_name"] == 1


def test_numbers_repeats_and_patterns():
    r = row("888")
    assert r["len__lucky_number"] == 1 and r["len__is_all_digits"] == 1
    assert PATTERN_CLASSES[int(r["len__pattern_class"])] == "NNN"
    r = row("aaaa")
    assert r["len__is_single_char_repeat"] == 1 and r["len__max_run"] == 4 and r["len__is_periodic"] == 1
    assert row("abab")["len__is_periodic"] == 1 and row("abab")["len__is_single_char_repeat"] == 0
    assert row("j0hn_99")["len__trailing_digits"] == 2 and row("j0hn_99")["len__lucky_number"] == 1
    assert row("xq7z9")["len__lucky_number"] == 0
    assert row("qwerty")["len__keyboard_walk"] == 6
    assert row("abc123")["len__max_sequence"] == 3
    assert row("mike1987")["len__year"] == 1987
    assert row("user420")["len__meme_number"] == 1
    assert PATTERN_CLASSES[int(row("baba")["len__pattern_class"])] == "CVCV"


def test_pronounceability_ranks_words_above_consonant_soup():
    assert row("pizza")["len__pronounce_loglik"] > row("xkqzvw")["len__pronounce_loglik"]
    assert row("xkqzvw")["len__max_consonant_cluster"] == 6
