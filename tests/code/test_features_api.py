"""scikit-learn behaviour, robustness on hostile strings, lexicon fingerprints and feature phrases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from handleval.errors import BundleError, DataFormatError
from handleval.features import (
    BrandFeatures,
    HandleFeaturizer,
    LengthPatternFeatures,
    SalesHistoryFeatures,
    WordFeatures,
    describe_feature,
)
from handleval.features.brands import EXACT
from tests.code._features_shared import fitted, sales_table

HOSTILE = ["", " ", None, float("nan"), "🙂🙂", "\u200f\u202eabc", "\u202e", "a" * 10_000, "0" * 500, "123",
           "@@@", "\ud800x", "x\x00y", "ｎｉｋｅ", "привет", "مرحبا", "日本語", b"bytes", 42, 3.5, ["list"], "_._-"]


def test_every_feature_is_a_prefixed_float_with_stable_names():
    fz = fitted()
    names = list(fz.get_feature_names_out())
    assert len(names) == len(set(names))
    assert all(n.split("__")[0] in {"len", "dict", "brand", "celeb"} for n in names)
    out = fz.transform(pd.Series(["pizza", "nike"]))
    assert list(out.columns) == names and (out.dtypes == np.float64).all()
    assert list(clone(fz).fit().get_feature_names_out()) == names


def test_clone_params_and_pipeline():
    fz = HandleFeaturizer(families=("length", "words"), k=3, mask_rate=0.2, random_state=7)
    params = fz.get_params()
    assert clone(fz).get_params() == params
    assert HandleFeaturizer(**params).get_params() == params
    pipe = Pipeline([("features", fz), ("fill", FunctionTransformer(lambda d: d.fillna(-1)))])
    out = pipe.fit(pd.DataFrame({"handle": ["a", "b"]})).transform(pd.DataFrame({"handle": ["pizza"]}))
    assert out.shape == (1, len(fz.get_feature_names_out()))
    for family in (LengthPatternFeatures(), WordFeatures(), SalesHistoryFeatures(k=2)):
        c = clone(family)
        assert c.get_params() == family.get_params()
        assert list(c.fit().get_feature_names_out()) == list(family.fit().get_feature_names_out())
    with pytest.raises(Exception, match="not fitted"):
        LengthPatternFeatures().transform(["x"])


def test_transformers_read_parameters_as_scikit_learn_does():
    """:class:`handleval.estimator.Transformer` reads parameters by scikit-learn's rule without importing it: for
    every transformer the package has, the same names and values as ``BaseEstimator``'s own methods, the same
    repr for a short one, and ``set_params`` and tags from scikit-learn."""
    from sklearn.base import BaseEstimator
    from sklearn.exceptions import NotFittedError
    from sklearn.utils import get_tags

    from handleval.accounts.features import AccountFeaturizer
    from handleval.features import CelebrityFeatures
    from handleval.price.market import MarketEncoder

    transformers = [HandleFeaturizer(families=("length",), k=3), LengthPatternFeatures(), WordFeatures(),
                    BrandFeatures(), CelebrityFeatures(), SalesHistoryFeatures(k=2), MarketEncoder(min_count=5),
                    AccountFeaturizer(drop_features=("name__says_bot",))]
    for t in transformers:
        assert not isinstance(t, BaseEstimator)
        assert type(t)._get_param_names() == BaseEstimator._get_param_names.__func__(type(t))
        for deep in (True, False):
            assert t.get_params(deep=deep) == BaseEstimator.get_params(t, deep=deep)
        assert get_tags(t).transformer_tags is not None
    fz = transformers[0].set_params(k=4)
    assert fz.k == 4 and repr(fz) == "HandleFeaturizer(families=('length',), k=4)"
    assert repr(SalesHistoryFeatures()) == "SalesHistoryFeatures()"
    assert repr(MarketEncoder(min_count=5)) == "MarketEncoder(min_count=5)"
    with pytest.raises(ValueError, match="Invalid parameter 'nope'"):
        fz.set_params(nope=1)
    with pytest.raises(ValueError, match="returns pandas DataFrames"):
        LengthPatternFeatures().set_output(transform="polars")
    with pytest.raises(NotFittedError):
        LengthPatternFeatures().get_feature_names_out()
    # a data scientist's slips: one name as a string was split into its letters (nothing excluded, or "unknown
    # families ['e', 'g', …]"); an unfitted account featurizer raised RuntimeError; a frame of screen names alone
    # gave features of guessed values (followers share 0.5); a Pipeline's sample_weight reached fit and failed
    accounts = pd.DataFrame({"screen_name": ["anna"], "created_at": ["2015-01-01"], "statuses_count": [5],
                             "followers_count": [7], "friends_count": [9], "favourites_count": [1],
                             "description": ["hi"], "observed_at": ["2016-01-01"]})
    one = AccountFeaturizer(exclude_inputs="description").fit(accounts)
    assert not any(name.startswith("desc__") for name in one.get_feature_names_out())
    assert list(one.get_feature_names_out()) == list(AccountFeaturizer(exclude_inputs=("description",)).fit(
        accounts).get_feature_names_out())
    assert "name__says_bot" not in AccountFeaturizer(drop_features="name__says_bot").fit(accounts).feature_names_out_
    assert list(HandleFeaturizer(families="length").fit().get_feature_names_out()) == list(
        HandleFeaturizer(families=("length",)).fit().get_feature_names_out())
    # a dict was featurized as its keys, a two-column array lost its second column (the platform) without a word
    with pytest.raises(TypeError, match="expected handles"):
        LengthPatternFeatures().fit().transform({"handle": ["pizza"]})
    with pytest.raises(ValueError, match="got an array of 2 columns"):
        LengthPatternFeatures().fit().transform(np.array([["pizza", "x"]], dtype=object))
    assert LengthPatternFeatures().fit().transform(np.array([["pizza"]], dtype=object)).shape[0] == 1
    # parameters no fit could use are refused before any data is read (a missing data directory is not the news)
    for bad, why in (({"families": ("length", "nope")}, "unknown feature families"), ({"k": 0}, "k must be"),
                     ({"k": True}, "k must be"), ({"k": 2.5}, "k must be")):
        with pytest.raises(ValueError, match=why):
            HandleFeaturizer(data_dir="/nonexistent", **bad).fit()
    with pytest.raises(NotFittedError):
        AccountFeaturizer().transform(accounts)
    with pytest.raises(DataFormatError, match="lack required column"):
        AccountFeaturizer().fit(accounts).transform(accounts[["screen_name"]])
    assert AccountFeaturizer().fit_transform(accounts, sample_weight=[1.0]).shape[0] == 1
    from handleval.accounts import load_accounts

    with pytest.raises(DataFormatError, match=r"now 'nope' is not a date or time"):  # was pandas' DateParseError
        load_accounts().flag(accounts, now="nope")


def test_set_output_pandas_keeps_names():
    fam = LengthPatternFeatures().set_output(transform="pandas").fit()
    out = fam.transform(["pizza"])
    assert list(out.columns) == list(fam.get_feature_names_out())


def test_hostile_corpus_never_raises_and_errors_explain_bad_rows():
    features, errors = fitted().transform_with_errors(HOSTILE)
    assert features.shape == (len(HOSTILE), len(fitted().get_feature_names_out()))
    assert errors[0] == "empty handle" and "missing" in errors[2] and "not text" in errors[20]
    bad = errors.notna().to_numpy()
    assert features[bad].isna().all(axis=None)
    assert features.loc[7, "len__length"] == 10_000
    assert features.loc[13, "brand__match_kind"] == EXACT  # full-width 'ｎｉｋｅ' is NFKC 'nike'


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.text(max_size=40), st.none(), st.integers()), min_size=1, max_size=8))
def test_any_text_yields_features_or_a_reason(values):
    features, errors = fitted().transform_with_errors(values)
    assert len(features) == len(values) == len(errors)
    ok = errors.isna().to_numpy()
    assert features[ok]["len__length"].notna().all()


def test_full_featurizer_with_sales_history_in_training_and_prediction_mode():
    sales = sales_table()
    sample = sales[sales["platform"] == "telegram"].head(300)
    fz = HandleFeaturizer(mask_rate=0.5, random_state=0)
    train = fz.fit_transform(sample)
    assert train["sales__n_market"].isna().mean() > 0.3
    pred = fz.transform(pd.DataFrame({"handle": ["pizza"], "platform": ["x"]}))
    assert pred["sales__n_market"].iloc[0] == len(sample)


def test_lexicon_fingerprints_are_checked():
    fz = fitted()
    fps = fz.lexicon_fingerprints_
    assert set(fps) == {"brand", "celeb"} and all(len(v) > 20 for v in fps.values())
    fz.check_lexicons(dict(fps))
    with pytest.raises(BundleError, match="lexicon 'brand' differs"):
        fz.check_lexicons({**fps, "brand": "brand-v1-0000"})
    with pytest.raises(BundleError, match="missing"):
        fz.check_lexicons({**fps, "people": "x"})
    assert BrandFeatures().fit().lexicon_fingerprint_ == fps["brand"]


def _same_state(a, b) -> bool:
    """Equal values, dict keys in the same order, arrays of the same dtype (what a model's behaviour rests on)."""
    if isinstance(a, dict):
        return isinstance(b, dict) and list(a) == list(b) and all(_same_state(a[k], b[k]) for k in a)
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
    if isinstance(a, tuple | list):
        return type(a) is type(b) and len(a) == len(b) and all(_same_state(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


#: Per family: its cache files, and its fitted attributes that load on first use (not in ``vars`` after fit).
_CACHED = {WordFeatures: (2, ("zipf_", "vocab_cost_", "first_names_", "surnames_")), LengthPatternFeatures: (1, ())}


@pytest.mark.parametrize("family", [WordFeatures, LengthPatternFeatures])
def test_cached_word_models_are_the_built_ones(family, tmp_path, monkeypatch):
    """The word and length models read back from the cache equal what fit builds (the word lists as dicts are a
    second file, read on first use)."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("HANDLEVAL_CACHE", str(cache))
    n_files, lazy = _CACHED[family]
    built = family().fit()  # builds and writes the cache
    fitted_attrs = [k for k in vars(built) if k.endswith("_")] + list(lazy)
    for k in lazy:
        getattr(built, k)
    assert len(list(cache.iterdir())) == n_files
    read = family().fit()
    assert all(_same_state(getattr(built, k), getattr(read, k)) for k in fitted_attrs)


def test_a_broken_or_unwritable_cache_only_means_building(tmp_path, monkeypatch):
    """``use_cache=False`` writes nothing; a broken cache file is built again; a cache that cannot be written only
    means building. Shown on the length model: every family goes through the same ``cached`` (the word model's
    build takes ~15 s)."""
    family = LengthPatternFeatures
    cache = tmp_path / "cache"
    monkeypatch.setenv("HANDLEVAL_CACHE", str(cache))
    built = family(use_cache=False).fit()
    fitted_attrs = [k for k in vars(built) if k.endswith("_")]
    assert not cache.exists()
    family().fit()
    (path,) = cache.iterdir()
    path.write_bytes(b"not a pickle")
    assert all(_same_state(getattr(built, k), getattr(family().fit(), k)) for k in fitted_attrs)
    assert path.read_bytes() != b"not a pickle", "the broken file was not written again"
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    monkeypatch.setenv("HANDLEVAL_CACHE", str(blocked))
    assert all(_same_state(getattr(built, k), getattr(family().fit(), k)) for k in fitted_attrs)


def test_cached_lexicon_is_the_built_one(tmp_path, monkeypatch):
    """Lexicons go through the same cache: written once, read back equal, rebuilt from a broken file."""
    from handleval.features.lexicons import load_lexicon

    monkeypatch.setenv("HANDLEVAL_CACHE", str(tmp_path))
    built = load_lexicon("celeb", use_cache=False)
    for _ in range(2):
        assert vars(load_lexicon("celeb")) == vars(built)
    (path,) = tmp_path.glob("lexicon-celeb-*")  # beside the brand lexicon the celebrity one reads (lone surnames)
    path.write_bytes(b"not a pickle")
    assert vars(load_lexicon("celeb")) == vars(built)


def test_cache_keeps_the_last_used_versions_per_name(tmp_path, monkeypatch):
    """A new version of a cached model removes the least recently used ones of its name beyond the few kept; a read
    counts as a use."""
    import os

    from handleval.features._common import CACHE_VERSIONS_KEPT, cache_path, cached

    monkeypatch.setenv("HANDLEVAL_CACHE", str(tmp_path))
    (tmp_path / "other-0.pkl").write_bytes(b"")  # another name's file is never touched
    versions = range(CACHE_VERSIONS_KEPT + 1)
    for version in versions[:-1]:  # written in turn, each used a day after the one before
        cached("model", version, lambda v=version: {"v": v})
        os.utime(cache_path("model", version), (1_000_000 + 86_400 * version,) * 2)
    assert cached("model", 0, lambda: {"v": "rebuilt"}) == {"v": 0}  # read back: version 0 is the last used now
    cached("model", versions[-1], lambda: {"v": versions[-1]})  # one version more: the least recently used goes
    assert [cache_path("model", v).exists() for v in versions] == [True, False, *[True] * (len(versions) - 2)]
    assert (tmp_path / "other-0.pkl").exists()


def test_describe_feature_phrases():
    assert describe_feature("len__length", 4, "pizza") == "4 characters"
    assert describe_feature("brand__match_kind", 4, "spotifyy", match="spotify") == "close to brand 'spotify'"
    assert describe_feature("len__trailing_digits", 2, "j0hn_99") == "digits at the end"
    assert describe_feature("dict__best_lang", 0, "pizza") == "English word 'pizza'"
    assert describe_feature("brand__homoglyph", 1, "pаypal", match="paypal") == "lookalike of brand 'paypal'"
    assert describe_feature("sales__knn_median_logp", float("nan"), "x") == "no earlier sales to compare"
    for name in fitted().get_feature_names_out():
        assert isinstance(describe_feature(name, 1.0, "abc", "abc"), str)
        assert not describe_feature(name, 1.0, "abc", "abc").startswith(name)  # every feature has a phrase
