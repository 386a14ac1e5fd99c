"""The vectorised batch paths give exactly the features of the one-string reference paths."""

from __future__ import annotations

import random
import string

import numpy as np
import pandas as pd

from handleval.features import LengthPatternFeatures
from handleval.features._common import prepare
from handleval.features.brands import LexiconMatcher, Match, skeleton_cores
from handleval.features.length import pattern_class, pattern_classes
from handleval.features.lexicons import Lexicon
from tests.code._features_shared import fitted

_RNG = random.Random(7)
_ALPHABET = string.ascii_lowercase + string.digits + "_.-" + "\x00\t !#aeiouy" + "Q\né日"
CORPUS = list(dict.fromkeys([
    "", "a", "1", "_", "aa", "ab", "abab", "aaaa", "baba", "babab", "888", "1988", "abc123", "321cba", "qwerty",
    "j0hn_99", "xq7z9", "bestpizza", "iloveny", "elonmusk", "nikeofficial", "g00gle", "spotifyy", "p\u0430ypal",
    "therealtaylorswift", "a_b.c-d", "_x_", "x" * 64, "x" * 65, "ab" * 40, "thequickbrownfoxjumpsoverthelazydog",
    *("".join(_RNG.choice(_ALPHABET) for _ in range(_RNG.randint(1, 70))) for _ in range(400)),
    *("".join(_RNG.choice("ab12_.-qwe") for _ in range(_RNG.randint(1, 12))) for _ in range(400)),
    *("".join(_RNG.choice(string.ascii_lowercase) for _ in range(_RNG.randint(2, 24))) for _ in range(400)),
]))


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(((a == b) | (np.isnan(a) & np.isnan(b))).all())


def test_length_batch_equals_one_string_path():
    fam = fitted().families_["length"]
    texts = prepare(CORPUS).unique_texts()[1]
    batch = fam._batch(texts, {})
    one = np.array([fam._one(t) if t else [np.nan] * batch.shape[1] for t in texts], dtype=float)
    assert _same(batch[[bool(t) for t in texts]], one[[bool(t) for t in texts]])
    assert list(pattern_classes(texts)) == [pattern_class(t) for t in texts]
    assert isinstance(LengthPatternFeatures().fit().trigram_table_, np.ndarray)


def test_word_batch_and_vectorised_segmentation_equal_the_reference():
    words = fitted().families_["words"]
    runs = sorted({r for t in CORPUS for r in "".join(c if c.isascii() and c.isalpha() else " " for c in t.lower())
                   .split() if len(r) > 1} | {"iloveny", "bestpizza"} | {"abcdefghij" * k for k in range(1, 7)})
    runs = [r for r in runs if r.isascii() and r.islower()]
    many = words.segment_many(runs * 60)  # large enough groups for the vectorised path
    assert many[:len(runs)] == [words.segment(r) for r in runs]
    prepared = prepare(CORPUS)
    out = words.transform_prepared(prepared).to_numpy()
    codes, uniq = prepared.unique_texts()
    one = np.array([words._one(t) for t in uniq])[codes]
    ok = prepared.ok
    assert _same(out[ok], one[ok])


def test_lexicon_batch_matching_equals_match_per_string():
    for name in ("brand", "celeb"):
        fam = fitted().families_[name]
        prepared = prepare([*CORPUS, "nike", "nikeofficial", "g00gle", "spotifyy", "elonmusk", "firetruck"])
        batch = fam._matches(prepared)
        assert batch == [fam.match(t) for t in prepared.unique_texts()[1]]
        assert len(skeleton_cores(prepared)) == len(batch)


def test_fuzzy_ties_are_broken_the_same_way_in_every_process():
    lex = Lexicon("t")
    for key in ("pinko", "pink", "pinky"):
        lex.add(key, 0.5, key, "test")
    m = LexiconMatcher(lex)
    # 'pinks' is one edit from all three, equally popular: the alphabetically first wins, whatever the set order
    assert m.match("pinks") == Match(4, "pink", m.match("pinks").similarity, 0.5, False)
    assert m.match_many([("pinks", False)], [None]) == [m.match("pinks")]


def test_repeated_and_shuffled_rows_get_the_same_features():
    base = ["pizza", "nike", "j0hn_99", "bestpizza", "", "🙂", "g00gle"]
    rows = base * 3
    shuffled = rows[::-1]
    fz = fitted()
    a = fz.transform(rows)
    b = fz.transform(shuffled).iloc[::-1].reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)
