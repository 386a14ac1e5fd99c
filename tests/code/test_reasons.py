"""Reason phrases: the predictor describes each (feature, value) once unless the phrase quotes the handle."""

from __future__ import annotations

from handleval.features.describe import HANDLE_PHRASES, PHRASES, describe_feature


def test_only_declared_phrases_depend_on_the_handle():
    for name in sorted(set(PHRASES) - HANDLE_PHRASES):
        for value in (0.0, 1.0, 3.5, 7.0):
            assert describe_feature(name, value, "pizza", "pizza hut") == \
                describe_feature(name, value, "zzqx_42", "pizza hut"), (name, value)


def test_declared_handle_phrases_do_quote_it():
    assert all("pizza" in describe_feature(name, 5.0, "pizza") for name in HANDLE_PHRASES)


def test_brand_and_celebrity_phrases_never_read_alike():
    """The predictor merges reasons that read the same: a brand reason must not merge with a celebrity one."""
    for feature in ("match_kind", "similarity", "popularity", "match_len", "impersonation", "homoglyph"):
        for value in (0.0, 1.0, 4.0):
            for match in (None, "nike"):
                assert describe_feature(f"brand__{feature}", value, "nike", match) != \
                    describe_feature(f"celeb__{feature}", value, "nike", match), (feature, value, match)


def test_a_missing_value_of_any_feature_is_said_in_words():
    """A feature missing for a valid handle (no letters, no word, no year, no earlier sale) says so in words
    (2025.com: 'no letters to pronounce'), not by its column name."""
    import math

    from tests.code._features_shared import fitted

    handles = ["2025", "1234567", "____", "x", "a_b", "pizza", "xqzvbn", "_9_", "zz"]
    features = fitted().transform(handles)
    missing = [(name, h) for name in features.columns for h, v in zip(handles, features[name], strict=True)
               if isinstance(v, float) and math.isnan(v)]
    assert len({name for name, _ in missing}) >= 5  # year, pronounceability, vowels, language, word frequencies
    for name, handle in missing:
        phrase = describe_feature(name, float("nan"), handle)
        assert "_" not in phrase and not phrase.endswith(" unknown"), (name, handle, phrase)
