"""``HandleFeaturizer``: the four feature families composed into one scikit-learn transformer.

    >>> fz = HandleFeaturizer().fit(sales)                       # sales = load_sales()[0]  # doctest: +SKIP
    >>> train_X = fz.fit_transform(sales)    # training rows: cut-off = each row's sold_at, comparables masked
    >>> fz.transform(pd.DataFrame({"handle": ["pizza"], "platform": ["x"]}))   # prediction: history up to now
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from handleval._arrays import frame_of
from handleval.errors import BundleError
from handleval.estimator import Transformer, as_names, check_is_fitted
from handleval.features._common import Prepared, gc_paused, prepare
from handleval.features.brands import MATCH_KINDS, BrandFeatures, CelebrityFeatures
from handleval.features.length import LengthPatternFeatures
from handleval.features.sales import SalesHistoryFeatures, mask_comparables, require_sale_times
from handleval.features.words import WordFeatures

FAMILIES = ("length", "words", "brands", "sales")
#: Kind names by code, then None (code -1: the row of texts that failed to parse).
_KIND_NAMES = np.array([*(MATCH_KINDS[k] for k in range(len(MATCH_KINDS))), None], dtype=object)


class Transformed(NamedTuple):
    """What :meth:`HandleFeaturizer.transform_with` returns: features and errors, and what was asked for."""

    features: pd.DataFrame
    errors: pd.Series
    matches: pd.DataFrame | None
    comparables: list[str] | None


class HandleFeaturizer(Transformer):
    """All handle features as one float DataFrame with stable, prefixed column names.

    Parameters
    ----------
    families:
        Which families to compute, among ``length`` (``len__``), ``words`` (``dict__``), ``brands``
        (``brand__`` and ``celeb__``) and ``sales`` (``sales__``).
    data_dir:
        Data directory with ``reference/`` (default: :func:`handleval.config.data_dir`).
    k:
        Nearest sold names summarised by the sales family.
    mask_rate, random_state:
        Share of training rows whose comparables ``fit_transform`` hides, and its seed.
    fuzzy_min_popularity:
        Lexicon names less popular than this are matched exactly but never fuzzily.
    use_cache:
        Cache built lexicons and word models under ``~/.cache/handleval`` (``$HANDLEVAL_CACHE``).
    """

    def __init__(self, families: tuple[str, ...] = FAMILIES, data_dir: str | None = None, k: int = 5,
                 mask_rate: float = 0.0, random_state: int | None = None, fuzzy_min_popularity: float = 0.3,
                 use_cache: bool = True):
        self.families = families
        self.data_dir = data_dir
        self.k = k
        self.mask_rate = mask_rate
        self.random_state = random_state
        self.fuzzy_min_popularity = fuzzy_min_popularity
        self.use_cache = use_cache

    def check_params(self) -> HandleFeaturizer:
        """Raise ``ValueError`` for a parameter no fit could use (an unknown family, ``k`` below 1, a rate outside
        0-1, a value of the wrong kind), before any data is read: a bundle's manifest is checked with it at load."""
        unknown = set(as_names(self.families)) - set(FAMILIES)
        if unknown:
            raise ValueError(f"unknown feature families {sorted(unknown)}: choose among {', '.join(FAMILIES)}")
        if not isinstance(self.k, numbers.Integral) or isinstance(self.k, bool) or self.k < 1:
            raise ValueError(f"featurizer k must be a whole number of 1 or more, got {self.k!r}")
        for name in ("mask_rate", "fuzzy_min_popularity"):
            value = getattr(self, name)
            if not isinstance(value, numbers.Real) or isinstance(value, bool) or not 0 <= value <= 1:
                raise ValueError(f"featurizer {name} must be a number from 0 to 1, got {value!r}")
        seed = self.random_state
        if not (seed is None or isinstance(seed, np.random.Generator)
                or (isinstance(seed, numbers.Integral) and not isinstance(seed, bool))) \
                or not (self.data_dir is None or isinstance(self.data_dir, str | os.PathLike)) \
                or not isinstance(self.use_cache, bool):
            raise ValueError(f"featurizer random_state must be a whole number, a Generator or None, data_dir a path "
                             f"or None, use_cache true or false; got {seed!r}, {self.data_dir!r}, {self.use_cache!r}")
        return self

    def _make(self) -> dict[str, Any]:
        families = as_names(self.check_params().families)
        parts: dict[str, Any] = {}
        if "length" in families:
            parts["length"] = LengthPatternFeatures(use_cache=self.use_cache)
        if "words" in families:
            parts["words"] = WordFeatures(use_cache=self.use_cache)
        if "brands" in families:
            parts["brand"] = BrandFeatures(self.data_dir, self.fuzzy_min_popularity, self.use_cache)
            parts["celeb"] = CelebrityFeatures(self.data_dir, self.fuzzy_min_popularity, self.use_cache)
        if "sales" in families:
            parts["sales"] = SalesHistoryFeatures(k=self.k, mask_rate=self.mask_rate, random_state=self.random_state)
        return parts

    def fit(self, X: Any = None, y: Any = None) -> HandleFeaturizer:
        """Build lexicons and word models; store ``X`` (a sales table with ``price_usd``, or ``y`` = ln USD
        price) as the sales history. Without prices the sales features are all NaN."""
        return self._fit(lambda sales: sales.fit(X, y))  # the only family that reads X (it cleans it once, itself)

    def fit_history_cached(self, load_history: Callable[[], pd.DataFrame], key: Any) -> HandleFeaturizer:
        """``fit(load_history())``, the sales family's fitted state kept in the data cache under ``key``, which must
        identify the history (:meth:`SalesHistoryFeatures.fit_cached`): a later process does not load it."""
        return self._fit(lambda sales: sales.fit_cached(load_history, key, self.use_cache))

    def _fit(self, fit_sales: Callable[[SalesHistoryFeatures], Any]) -> HandleFeaturizer:
        parts = self._make()
        for name, part in parts.items():
            if name == "celeb" and "words" in parts:
                part.words_ = parts["words"]  # share the fitted word model instead of loading it twice
            if name == "sales":
                fit_sales(part)
            else:
                part.fit()
        self.families_ = parts
        self.lexicon_fingerprints_ = {
            p.lexicon_name: p.lexicon_fingerprint_ for p in parts.values() if hasattr(p, "lexicon_fingerprint_")
        }
        self.feature_names_out_ = np.concatenate(
            [p.get_feature_names_out() for p in parts.values()]) if parts else np.array([], dtype=object)
        return self

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "feature_names_out_")
        return self.feature_names_out_.copy()

    def transform_with_errors(self, X: Any) -> tuple[pd.DataFrame, pd.Series]:
        """``(features, errors)``: a row that could not be featurised has NaN features and a reason in ``errors``
        (``None`` for rows that are fine). Never raises for bad handle values."""
        features, errors, _, _ = self.transform_with(X)
        return features, errors

    def transform_with_matches(self, X: Any) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
        """``(features, errors, matches)``: :meth:`transform_with_errors` plus :meth:`matches` of the same rows,
        from the matching the features were computed with (the predictor names the match in its reasons)."""
        features, errors, matches, _ = self.transform_with(X, matches=True)
        return features, errors, matches

    def transform_with(self, X: Any, matches: bool = False, comparables: bool = False) -> Transformed:
        """:meth:`transform_with_errors`, plus with ``matches`` the :meth:`matches` and with ``comparables`` the
        :meth:`comparables` (``as_json``) of the same rows, each from the pass that computed the features."""
        check_is_fitted(self, "feature_names_out_")
        listed = None
        with gc_paused():
            prepared: Prepared = prepare(X)
            errors = prepared.errors.tolist()
            frames = []
            for name, part in self.families_.items():
                if comparables and name == "sales":
                    frame, listed = part.transform_with_comparables(prepared, as_json=True)
                else:
                    frame = part.transform_prepared(prepared, errors)
                frames.append(frame)
            found = self._match_frame(prepared) if matches else None
            prepared.shared.clear()  # per-call caches
        if comparables and listed is None:  # no sales family
            listed = ["[]"] * len(prepared.frame)
        features = pd.concat(frames, axis=1) if frames else pd.DataFrame(index=prepared.frame.index)
        errs = pd.Series(errors, index=prepared.frame.index, dtype=object, name="error")
        failed = errs.notna().to_numpy()
        if failed.any():
            features.loc[failed, :] = np.nan
        return Transformed(features, errs, found, listed)

    def transform(self, X: Any) -> pd.DataFrame:
        return self.transform_with_errors(X)[0]

    def fit_transform(self, X: Any, y: Any = None, **fit_params: Any) -> pd.DataFrame:
        """Training path: fit on the sales table, featurise its rows leak-free, mask ``mask_rate`` of comparables."""
        if "sales" in as_names(self.families):
            require_sale_times(X)  # before the fit's work
        features = self.fit(X, y).transform(X)
        return mask_comparables(features, self.mask_rate, self.random_state)

    def check_lexicons(self, expected: dict[str, str]) -> None:
        """Raise :class:`BundleError` unless this featurizer's lexicons are exactly ``expected``
        (``{name: fingerprint}``, as saved from :attr:`lexicon_fingerprints_` with a model)."""
        check_is_fitted(self, "lexicon_fingerprints_")
        have = self.lexicon_fingerprints_
        problems = []
        for name in sorted(set(expected) | set(have)):
            if name not in have:
                problems.append(f"lexicon {name!r} is missing here (model built with {expected[name]})")
            elif name not in expected:
                problems.append(f"lexicon {name!r} ({have[name]}) was not used to build the model")
            elif expected[name] != have[name]:
                problems.append(f"lexicon {name!r} differs: model built with {expected[name]}, "
                                f"data gives {have[name]}")
        if problems:
            raise BundleError(
                "the reference data does not match the lexicons this model was built with: " + "; ".join(problems)
                + ". Use the reference/ data the model was trained on (HANDLEVAL_DATA) or retrain the model.")

    def comparables(self, X: Any, as_json: bool = False) -> list[Any]:
        """Per row the earlier sales its ``sales__knn_…`` features summarise
        (:meth:`SalesHistoryFeatures.comparables`, also for ``as_json``); none without the sales family."""
        check_is_fitted(self, "families_")
        sales = self.families_.get("sales")
        if sales is None:
            return ["[]" if as_json else [] for _ in range(len(prepare(X).frame))]
        return sales.comparables(X, as_json=as_json)

    def matches(self, X: Any) -> pd.DataFrame:
        """The brand and celebrity each row matched (names, kinds as words, lookalike flag) for explanations."""
        check_is_fitted(self, "families_")
        return self._match_frame(prepare(X))

    def _match_frame(self, prepared: Prepared) -> pd.DataFrame:
        """:meth:`matches` of prepared rows (the matches a transform of them kept, else found now)."""
        codes, _ = prepared.unique_texts()
        cols: dict[str, np.ndarray] = {}
        for prefix in ("brand", "celeb"):
            part = self.families_.get(prefix)
            if part is None:
                continue
            per_text = part.matches_of(prepared)
            kinds, keys, _, _, homoglyphs = zip(*per_text, strict=True) if per_text else ((),) * 5
            # per distinct text, then the no-match row used for rows that failed to parse
            key = np.array([*keys, ""], dtype=object)
            found = np.flatnonzero(key != "")
            match = np.full(len(key), None, dtype=object)
            match[found] = [part.display_name(k) for k in key[found]]
            key[key == ""] = None
            columns = {"match": match, "key": key, "kind": _KIND_NAMES[np.array([*kinds, -1], dtype=np.int64)],
                       "homoglyph": np.array([*homoglyphs, False], dtype=bool)}
            rows = np.where(prepared.ok, codes, len(per_text))
            for name, values in columns.items():
                cols[f"{prefix}_{name}"] = values[rows]
        return frame_of(cols, prepared.frame.index)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        return tags
