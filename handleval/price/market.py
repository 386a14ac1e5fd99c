"""Market context as features: platform, suffix (TLD or mail provider, bucketed) and venue class.

Prices differ by orders of magnitude between markets, so the model must know where a name is sold. Platforms
without public sales (X, Instagram) are priced as a proxy market from ``configs/markets.yaml``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from handleval._arrays import first_occurrences, group_ids
from handleval.estimator import Transformer

# Venue classes: wholesale auctions of expiring names price differently from retail marketplaces.
VENUE_CLASSES = {
    "fragment": "platform", "dash": "unknown", "ens_auction": "auction", "opensea": "marketplace",
    "godaddy": "auction", "dropcatch": "auction", "namecheap": "auction", "dynadot": "auction",
    "catched.com": "auction", "park.io": "auction", "sav.com": "auction", "namejet": "auction",
    "snapnames": "auction", "domainlore.uk": "auction",
    "sedo": "retail", "afternic": "retail", "dan.com": "retail", "buydomains": "retail", "atom.com": "retail",
    "domainmarket.com": "retail", "daaz.com": "retail", "top.domains": "retail", "saw.com": "retail",
    "private": "private", "webroker.vc": "private", "legalbrandmarketing": "private",
    "reported": "reported",
}
MARKET_FEATURES = ["mkt__platform", "mkt__suffix", "mkt__venue"]


def interval_offsets(keys: pd.Series, platforms: pd.Series, by_venue: dict[str, float],
                     by_platform: dict[str, float]) -> np.ndarray:
    """Each row's conformal offset (ln): its platform:venue group's, else its platform's, else the widest."""
    widest = max(by_platform.values())
    keys, platforms = keys.reset_index(drop=True), platforms.reset_index(drop=True)
    return keys.map(by_venue).fillna(platforms.map(by_platform)).fillna(widest).to_numpy(dtype=float)


def interval(q_low: np.ndarray, q_high: np.ndarray, learned: np.ndarray, ruled: np.ndarray, offset: np.ndarray,
             cap: float, minimum: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The 10-90% interval (ln): the quantile models' range, made to hold the learned price, widened by the
    conformal offset and moved with the market rules' shift of the price; its bottom never below the least price
    a rule guarantees (``minimum``: a venue's minimum, the start of X's rare-handle pricing), its top never above
    the cap."""
    shift = ruled - learned
    low = np.minimum(q_low, learned) - offset + shift
    if minimum is not None:
        low = np.maximum(low, minimum)
    return np.minimum(low, ruled), np.minimum(np.maximum(q_high, learned) + offset + shift, cap)


#: What a domain price means in each venue class (``market_basis`` says it): the same name sells far higher to an
#: end user than at a wholesale auction.
DOMAIN_LEVELS = {"auction": "wholesale level (venue auctions)", "retail": "retail level (marketplaces)",
                 "private": "private-sale level", "reported": "end-user level (reported sales)",
                 "other": "level of other venues"}


#: The classes a person may name instead of a venue (the domain levels: ``venue=auction``, ``venue=reported``).
_NAMED_CLASSES = frozenset(DOMAIN_LEVELS)
#: Every venue name :func:`venue_class` knows: the venues themselves and the classes a person may name.
KNOWN_VENUES = _NAMED_CLASSES | frozenset(VENUE_CLASSES)


def unknown_venue(venue: object) -> str | None:
    """Why a domain venue cannot be priced (a typo would price another level), or None for a known one or none."""
    text = str(venue).strip().lower() if venue is not None and venue == venue else ""
    if not text or text in KNOWN_VENUES:
        return None
    auctions = ", ".join(v for v, c in VENUE_CLASSES.items() if c == "auction")
    return (f"unknown venue {str(venue).strip()!r}: choose one of {', '.join(DOMAIN_LEVELS)}, or a venue such as "
            f"{auctions}")


def venue_class(venue: object) -> str:
    """A venue's class (``godaddy`` → ``auction``); a domain level is also its own name (``auction``,
    ``reported``); any other name is ``other``, none is ``unknown``."""
    text = str(venue).strip().lower() if venue is not None and venue == venue else ""
    if text in _NAMED_CLASSES:
        return text
    return VENUE_CLASSES.get(text, "other" if text else "unknown")


class MarketEncoder(Transformer):
    """Integer codes for platform, suffix bucket and venue class (LightGBM categoricals).

    Suffixes seen fewer than ``min_count`` times in training fall into ``other`` (code 0) so that a rare TLD
    does not get its own leaf from a handful of sales. A value never seen in training gets the code ``unseen``
    (one past the last category), which no tree has split out: LightGBM sends it down the branch of the
    categories it did not name, i.e. it is priced like the bulk of the market, not like the rare junk in
    ``other``. On DASH this matters: a provider new in the test period (111.com, 763 sales) was priced far too
    low when lumped with ``other`` (bias -0.97 ln), much less so as ``unseen``.

    A venue class the platform never sold in during training is the platform's usual one (``venues_``): Telegram
    names sell on Fragment only, so ``venue=reported`` on a Telegram (or X, priced by proxy) row changes nothing.
    """

    def __init__(self, min_count: int = 30):
        self.min_count = min_count

    def fit(self, X: pd.DataFrame, y: object = None) -> MarketEncoder:
        frame = self._columns(X)
        self.categories_ = {}
        self.rare_ = {}
        for col in ("platform", "suffix", "venue"):
            counts = frame[col].value_counts()
            keep = sorted(counts[counts >= (self.min_count if col == "suffix" else 1)].index)
            self.categories_[col] = ["other", *[k for k in keep if k != "other"]]
            self.rare_[col] = sorted(set(counts.index) - set(keep))
        self.default_venue_ = frame.groupby("platform")["venue"].agg(lambda s: s.value_counts().index[0]).to_dict()
        self.venues_ = {p: sorted(v) for p, v in frame.groupby("platform")["venue"].unique().items()}
        self.n_features_in_ = len(X.columns) if hasattr(X, "columns") else 3
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """The codes of every row. Columns of strings (the usual input) are read once per distinct (platform,
        suffix, venue): cleaning and looking up every row cost ~2 µs per scored handle."""
        return self.transform_with_keys(X)[0]

    def interval_keys(self, X: pd.DataFrame) -> pd.Series:
        """``platform:venue class`` of each row (a missing venue takes the platform's usual one): the groups whose
        prices spread alike, each with its own conformal widening of the interval."""
        return self.transform_with_keys(X)[1]

    def transform_with_keys(self, X: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
        """:meth:`transform` and :meth:`interval_keys` of ``X`` from one pass over its distinct rows (prediction
        needs both)."""
        given = [X[col] for col in ("platform", "suffix", "venue") if col in X]
        if not all(pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty") for values in given):
            codes, keys = self._encode(X)  # other types: equal values may read differently
            return pd.DataFrame(codes, index=X.index), pd.Series(keys, index=X.index)
        ids = group_ids(*given) if given else np.zeros(len(X), dtype=np.int64)  # missing values all read ""
        codes, keys = self._encode(X.iloc[first_occurrences(ids)])
        return (pd.DataFrame({name: column[ids] for name, column in codes.items()}, index=X.index),
                pd.Series(keys[ids], index=X.index))

    def _encode(self, X: pd.DataFrame) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """The codes and the interval keys of every row of ``X``."""
        frame = self._columns(X)
        missing_venue = frame["venue"].isin(["", "unknown"])
        venues = getattr(self, "venues_", None)  # bundles from before it: every venue counts
        if venues is not None:
            missing_venue |= np.array([v not in venues.get(p, ()) for p, v in zip(frame["platform"], frame["venue"],
                                                                                  strict=True)], dtype=bool)
        frame.loc[missing_venue, "venue"] = frame.loc[missing_venue, "platform"].map(self.default_venue_).fillna(
            "unknown")
        out = {}
        for col in ("platform", "suffix", "venue"):
            lookup = {v: i for i, v in enumerate(self.categories_[col])}
            lookup.update(dict.fromkeys(self.rare_.get(col, []), 0))
            unseen = len(self.categories_[col])
            out[f"mkt__{col}"] = frame[col].map(lookup).fillna(unseen).astype(np.int32).to_numpy()
        return out, (frame["platform"] + ":" + frame["venue"]).to_numpy(dtype=object)

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        return np.array(MARKET_FEATURES, dtype=object)

    @staticmethod
    def _columns(X: pd.DataFrame) -> pd.DataFrame:
        def col(name: str) -> pd.Series:
            if name in X:
                return X[name].astype(object).fillna("").astype(str).str.strip().str.lower()
            return pd.Series("", index=X.index)

        platform = col("platform")
        suffix = col("suffix")
        venue = col("venue").map(venue_class)
        venue = venue.where(col("venue") != "", "")
        return pd.DataFrame({"platform": platform, "suffix": platform + ":" + suffix, "venue": venue})
