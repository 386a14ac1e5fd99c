"""Historical-sales comparables (``sales__…``): what the same and similar names sold for, before the valuation date.

``fit`` stores a sales history (the canonical table: ``handle, platform, suffix, price_usd, sold_at``).
``transform`` looks, for each row, only at sales of its market made strictly before its cut-off:

* prediction rows carry ``as_of`` (missing = now, i.e. the whole history);
* training rows are the sales themselves and carry ``sold_at``: the cut-off is the row's own sale time, so a
  sale never sees itself, a same-time sale or any later sale (an undated training row gets NaN: its
  comparables cannot be placed in time). An undated history sale is seen only by rows without a date; the
  own-sale rule of a valuation reads it through :meth:`SalesHistoryFeatures.anchor_sales`.

The k-NN columns summarise the k sold names of the same length (and market) most similar to the row's
(``fuzz.ratio``) among those sales; equally similar sales go to the name first in alphabetical order, then to
the later sale (an undated one counts as the oldest).

Markets are platforms; X and Instagram, which have no public sales, use Telegram's (``proxy_market``).
With no earlier sales the features are NaN. ``fit_transform`` (the training path in a Pipeline) additionally
masks all comparables of a random ``mask_rate`` share of rows, so the model also learns to price without them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Mapping
from functools import cache
from itertools import chain
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process
from rapidfuzz.distance import LCSseq

from handleval._arrays import group_ids
from handleval.estimator import check_is_fitted
from handleval.features._common import MAX_CHARS, FeatureFamily, Prepared, cached, gc_paused, prepare, source_digest
from handleval.features.length import PATTERN_CLASSES, pattern_classes
from handleval.handles import Handle

DEFAULT_PROXY_MARKET = {"x": "telegram", "instagram": "telegram"}
FEATURES = (
    "n_market", "market_median_logp", "n_prev_same", "prev_same_logp", "prev_same_age_days",
    "knn_median_logp", "knn_max_sim", "knn_mean_sim", "n_lenpat", "lenpat_median_logp",
    "n_suffix", "suffix_median_logp", "proxy_market",
)
_NEVER = np.iinfo(np.int64).max
_UNDATED = _NEVER - 1  # undated history sales: visible to "now" queries, never before a dated cut-off
_DAY_NS = 86_400 * 10**9
_LEN_CAP = 16
PATTERN_CODES = tuple(PATTERN_CLASSES)


def _len_bucket(text: str) -> int:
    return min(len(text), _LEN_CAP)


@cache
def _negated_ratios() -> np.ndarray:
    """``-fuzz.ratio`` as ``cdist(..., dtype=np.int16)`` gives it, by ``[len(a) + len(b), LCS(a, b)]``.

    ``fuzz.ratio`` is ``100 * 2 * LCS / (len(a) + len(b))``, so the k-NN computes the LCS (``cdist`` with
    ``LCSseq.similarity`` into ``uint8`` is 2-3x faster than ``fuzz.ratio`` into ``int16``) and looks the score up.
    The table is rapidfuzz's own rounding, read off one constructed pair per cell, so the scores stay identical."""
    table = np.zeros((2 * MAX_CHARS + 1, MAX_CHARS + 1), dtype=np.int16)
    for total in range(2, 2 * MAX_CHARS + 1):
        short = total // 2
        pairs = [("a" * common + "b" * (short - common), "a" * common + "c" * (total - short - common))
                 for common in range(short + 1)]
        scores = process.cdist([a for a, _ in pairs], [b for _, b in pairs], scorer=fuzz.ratio, dtype=np.int16)
        table[total, :short + 1] = -np.diagonal(scores)
    return table


#: The largest ln(USD) a sale's price can be: a ``y`` above it is prices in dollars, not their logarithm.
MAX_LN_PRICE = 25.0


def require_sale_times(X: Any) -> None:
    """Training rows are sales featurised as of their own time (``sold_at``; NaT for an undated one): without the
    column each row would be valued now, its own sale among its comparables (``prev_same_logp`` equal to y)."""
    if isinstance(X, pd.DataFrame) and "as_of" in X.columns:
        raise ValueError("fit_transform featurises training sales as of their own sale (sold_at); an as_of column "
                         "would value them at another time, a blank one now, each seeing its own price: drop it")
    if not (isinstance(X, pd.DataFrame) and "sold_at" in X.columns):
        raise ValueError("fit_transform featurises training sales as of their own sale: X needs a sold_at column "
                         "(NaT for an undated sale), else each row sees its own price; to value rows now, call fit on "
                         "the history and then transform")


def mask_comparables(features: pd.DataFrame, rate: float, random_state: Any = None) -> pd.DataFrame:
    """Set every ``sales__`` feature of a random ``rate`` share of rows to NaN (in a copy)."""
    if rate <= 0:
        return features
    rng = np.random.default_rng(random_state)
    cols = [c for c in features.columns if str(c).startswith("sales__")]
    out = features.copy()
    hit = rng.random(len(out)) < rate
    out.loc[hit, cols] = np.nan
    return out


def _tie_order(texts: list[str], times: np.ndarray) -> np.ndarray:
    """History rows by the k-NN's tie rule: by name (alphabetical), then the later sale first (undated last)."""
    later_first = np.argsort(np.where(times < _UNDATED, -times, _NEVER), kind="stable")
    return later_first[np.argsort(np.asarray(texts, dtype=str)[later_first], kind="stable")]


class _Bucket(NamedTuple):
    """The k-NN's candidates: sales of one market and name length, in the tie order."""

    names: list[str]
    times: np.ndarray
    logp: np.ndarray
    suffixes: list[str]


class _Routes(NamedTuple):
    """Rows that can have comparables (a parsed name, a dated cut-off, a market with sales) and their keys."""

    rows: np.ndarray  # into the prepared frame
    text: np.ndarray  # index into ``texts``
    market: np.ndarray  # index into ``markets``
    cutoff: np.ndarray
    proxy: np.ndarray
    texts: list[str]  # distinct texts, cut to MAX_CHARS
    lengths: np.ndarray  # their length buckets
    markets: list[str]


def _sales_of(bucket: _Bucket, market: str) -> list[dict[str, Any]]:
    """The sales of a k-NN bucket as :meth:`SalesHistoryFeatures.comparables` lists them, but the similarity."""
    days = np.where(bucket.times < _UNDATED, bucket.times, 0).astype("datetime64[ns]").astype("datetime64[D]")
    dates = [d if t < _UNDATED else None for d, t in zip(days.astype(str).tolist(), bucket.times.tolist(),
                                                          strict=True)]
    return [{"name": str(Handle(name, market, suffix)) if suffix else name, "market": market,
             "price_usd": round(math.exp(logp), 2), "sold_at": date}
            for name, suffix, logp, date in zip(bucket.names, bucket.suffixes, bucket.logp.tolist(), dates,
                                                strict=True)]


#: ``, "similarity": 0.37}`` for every similarity 0-100: the end of a comparable's JSON object.
_SIMILARITY_JSON = [f', "similarity": {json.dumps(s / 100)}}}' for s in range(101)]


class _Group:
    """Sales of one group sorted by time, with cached prefix medians (the median of the first k)."""

    __slots__ = ("logp", "medians", "times")

    def __init__(self, times: np.ndarray, logp: np.ndarray):
        order = np.argsort(times, kind="stable")
        self.times, self.logp = times[order], logp[order]
        self.medians: dict[int, float] = {}

    @classmethod
    def presorted(cls, times: np.ndarray, logp: np.ndarray) -> _Group:
        """A group from sales already sorted by time (stable)."""
        group = cls.__new__(cls)
        group.times, group.logp, group.medians = times, logp, {}
        return group

    def before(self, cutoff: int) -> int:
        return int(np.searchsorted(self.times, cutoff, side="left"))

    def last_logp(self, k: int) -> float:
        """The price of the last of the first ``k`` sales; sales at that same time count as one, at their median
        (two sales of a name in one day are in no order: the file's order must not choose)."""
        last = self.times[k - 1]
        if k < 2 or self.times[k - 2] != last:
            return float(self.logp[k - 1])
        first = int(np.searchsorted(self.times, last, side="left"))
        return float(np.median(self.logp[first:k]))

    def median(self, k: int) -> float:
        if k <= 0:
            return math.nan
        hit = self.medians.get(k)
        if hit is None:
            hit = self.medians[k] = float(np.median(self.logp[:k]))
        return hit


def _group_rows(columns: list[np.ndarray], order: np.ndarray) -> dict[Any, np.ndarray]:
    """Rows of each distinct key (a tuple over ``columns``, or the value for one column) in the order they
    have in ``order``: one stable sort and ``np.unique``-style boundaries instead of a pandas groupby loop."""
    if not len(order):
        return {}
    code = group_ids(*columns)[order]
    perm = np.argsort(code, kind="stable")
    order, code = order[perm], code[perm]
    starts = np.flatnonzero(np.r_[True, code[1:] != code[:-1]])
    ends = np.r_[starts[1:], len(code)]
    firsts = order[starts]
    keys = zip(*(np.asarray(col, dtype=object)[firsts].tolist() for col in columns), strict=True)
    out: dict[Any, np.ndarray] = {}
    for key, lo, hi in zip(keys, starts.tolist(), ends.tolist(), strict=True):
        out[key if len(columns) > 1 else key[0]] = order[lo:hi]
    return out


def _groups(columns: list[np.ndarray], times: np.ndarray, logp: np.ndarray,
            by_time: np.ndarray) -> dict[Any, _Group]:
    """A :class:`_Group` per distinct key; ``by_time`` is the stable time order of all rows, so each group's
    rows come out sorted by time with ties in row order (what ``_Group`` sorts them into)."""
    return {key: _Group.presorted(times[rows], logp[rows]) for key, rows in _group_rows(columns, by_time).items()}


def _flat(table: dict[Any, tuple[Any, ...]]) -> dict[str, Any]:
    """A dict whose keys are strings or tuples and whose values are tuples of equally long parts (arrays or lists of
    strings), as plain data for the data cache: the keys as columns (integer columns as arrays), each part
    concatenated, where each entry ends."""
    keys = list(table)
    as_tuples = bool(keys) and isinstance(keys[0], tuple)
    columns = [list(column) for column in zip(*keys, strict=True)] if as_tuples else [keys]
    values = list(table.values())
    n_parts = len(values[0]) if values else 0
    parts = [[v[j] for v in values] for j in range(n_parts)]
    return {
        "tuple": as_tuples,
        "keys": [np.asarray(c, dtype=np.int64) if c and all(type(v) is int for v in c) else c for c in columns],
        "parts": [list(chain.from_iterable(p)) if p and isinstance(p[0], list) else np.concatenate(p) for p in parts],
        "ends": np.cumsum([len(v[0]) for v in values], dtype=np.int64),
    }


def _flat_keys(flat: dict[str, Any]) -> list[Any]:
    columns = [c.tolist() if isinstance(c, np.ndarray) else c for c in flat["keys"]]
    return list(zip(*columns, strict=True)) if flat["tuple"] else columns[0]


def _unflat(flat: dict[str, Any]) -> dict[Any, tuple[Any, ...]]:
    """:func:`_flat` undone."""
    ends = flat["ends"].tolist()
    spans = zip([0, *ends[:-1]], ends, strict=True)
    return {key: tuple(part[a:b] for part in flat["parts"]) for key, (a, b) in zip(_flat_keys(flat), spans,
                                                                                   strict=True)}


class _CachedGroups(Mapping):
    """A group dict read back from the data cache (:func:`_flat` of ``key -> (times, logp)``): each
    :class:`_Group` is made on first look-up, as valuing a few names looks up a few of ~60,000 groups."""

    def __init__(self, flat: dict[str, Any]):
        keys = _flat_keys(flat)
        self._row = {key: i for i, key in enumerate(keys)}
        self._ends = flat["ends"]
        self._times, self._logp = flat["parts"] if keys else (None, None)
        self._made: dict[Any, _Group] = {}

    def __getitem__(self, key: Any) -> _Group:
        group = self._made.get(key)
        if group is None:
            i = self._row[key]
            lo, hi = int(self._ends[i - 1]) if i else 0, int(self._ends[i])
            group = self._made[key] = _Group.presorted(self._times[lo:hi], self._logp[lo:hi])
        return group

    def __iter__(self) -> Iterator[Any]:
        return iter(self._row)

    def __len__(self) -> int:
        return len(self._row)


class SalesHistoryFeatures(FeatureFamily):
    """Comparable sales strictly before each row's valuation date, within its market.

    Parameters
    ----------
    k:
        Number of nearest sold names (by string similarity among names of the same length) summarised.
    mask_rate:
        Share of rows whose comparables ``fit_transform`` hides (NaN) so that models learn to cope without.
    random_state:
        Seed of the masking.
    proxy_market:
        Platform → market whose sales stand in for it (default: X and Instagram use Telegram).
    """

    prefix = "sales"

    def __init__(self, k: int = 5, mask_rate: float = 0.0, random_state: int | None = None,
                 proxy_market: dict[str, str] | None = None):
        self.k = k
        self.mask_rate = mask_rate
        self.random_state = random_state
        self.proxy_market = proxy_market

    def _feature_names(self) -> list[str]:
        return [f"sales__{f}" for f in FEATURES]

    @staticmethod
    def _log_prices(X: Any, y: Any) -> np.ndarray | None:
        if isinstance(X, pd.DataFrame) and "price_usd" in X.columns:
            price = pd.to_numeric(X["price_usd"], errors="coerce").to_numpy(dtype=float)
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.where(price > 0, np.log(price), np.nan)
        if y is not None:
            logp = np.asarray(y, dtype=float)
            if np.isfinite(logp).any() and np.nanmax(np.where(np.isfinite(logp), logp, np.nan)) > MAX_LN_PRICE:
                raise ValueError(f"y is ln(price in USD) (at most {MAX_LN_PRICE}, ${math.exp(MAX_LN_PRICE):,.0f}); "
                                 f"this y reaches {np.nanmax(logp):,.1f}: pass np.log(prices)")
            return logp
        return None

    def _fit(self, prepared: Prepared, X: Any, y: Any) -> None:
        """Store the history: ``X`` with ``price_usd`` (or ``y`` = ln USD price) and ``sold_at``; a sale whose
        ``comparable`` column is False (a price a venue's minimum set) is only its own name's past sale, never a
        comparable of others nor counted in the market's."""
        if self.k < 1:
            raise ValueError(f"k must be at least 1, got {self.k}")
        logp = self._log_prices(X, y)
        frame = prepared.frame
        if logp is not None and len(logp) != len(frame):
            raise ValueError(f"y has {len(logp)} prices for {len(frame)} rows of X: one per row")
        if logp is None or len(frame) == 0:
            logp = np.full(len(frame), np.nan)
        times = frame["cutoff"].to_numpy().copy()
        if isinstance(X, pd.DataFrame) and "as_of" not in X.columns and "sold_at" in X.columns:
            times[~frame["cutoff_known"].to_numpy()] = _UNDATED
        else:  # an as_of column in a history table: NaT would mean "now", treat as undated
            times[times == _NEVER] = _UNDATED
        keep = prepared.ok & np.isfinite(logp)
        comparable = (X["comparable"].fillna(True).to_numpy(dtype=bool) if isinstance(X, pd.DataFrame)
                      and "comparable" in X.columns else np.ones(len(frame), dtype=bool))[keep]
        texts = [t[:MAX_CHARS] for t in frame["text"].to_numpy()[keep].tolist()]
        platform = frame["platform"].to_numpy()[keep]
        suffix = frame["suffix"].to_numpy()[keep]
        time, logp = times[keep], logp[keep]
        length = np.fromiter((_len_bucket(t) for t in texts), dtype=np.int64, count=len(texts))
        pclass = pattern_classes(texts)
        self.n_history_ = int(comparable.sum())
        dated = time < _UNDATED
        self.latest_ = int(time[dated & comparable].max()) if (dated & comparable).any() else _UNDATED
        self.newest_ = {m: int(time[dated & (platform == m)].max()) for m in pd.unique(platform[dated]).tolist()}
        self.markets_ = sorted(pd.unique(platform[comparable]).tolist())
        texts_arr = np.asarray(texts, dtype=object)
        by_time = np.argsort(time, kind="stable")
        # a price a venue's minimum set is no comparable, only its name's own past sale (:meth:`anchor_sales`)
        self.aside_ = _groups([platform, texts_arr, suffix], time, logp, by_time[~comparable[by_time]])
        comparable_by_time = by_time[comparable[by_time]]
        self.market_ = _groups([platform], time, logp, comparable_by_time)
        self.same_ = _groups([platform, texts_arr, suffix], time, logp, comparable_by_time)
        self.sold_names_ = frozenset(name for _, name, _ in self.same_)  # names that ever sold
        # the only names anchor_sales can answer for: a caller with many rows looks up just these
        self.anchor_names_ = sorted({name for _, name, _ in self.aside_}
                                    | set(texts_arr[comparable & ~dated].tolist()))
        self.lenpat_ = _groups([platform, length, pclass], time, logp, comparable_by_time)
        self.suffix_ = _groups([platform, suffix], time, logp, comparable_by_time)
        # k-NN buckets in the tie order (equally similar sales: the earlier in the bucket wins): by name, then the
        # later sale first, an undated one last (queries with a date never see it; training rows all have one)
        self.listed_: dict[tuple[str, int, bool], list[Any]] = {}  # per bucket, as comparables lists its sales
        tie_order = _tie_order(texts, time)
        self.bucket_ = {key: _Bucket(texts_arr[rows].tolist(), time[rows], logp[rows], suffix[rows].tolist())
                        for key, rows in _group_rows([platform, length], tie_order[comparable[tie_order]]).items()}

    #: The group dicts :meth:`_fit` builds (key -> :class:`_Group`).
    _GROUPS = ("market_", "same_", "aside_", "lenpat_", "suffix_")

    def fit_cached(self, load_history: Callable[[], Any], key: Any, use_cache: bool = True) -> SalesHistoryFeatures:
        """``fit(load_history())``, with the fitted state kept in the data cache under ``key``, which must identify
        the history (its files' sha256, the code that loads it): a later process reads the state back and neither
        loads nor fits the history."""
        def build() -> dict[str, Any]:
            self.fit(load_history())
            state = {name: _flat({k: (g.times, g.logp) for k, g in getattr(self, name).items()})
                     for name in self._GROUPS}
            return {**state, "bucket_": _flat(self.bucket_), "n_history_": self.n_history_,
                    "latest_": self.latest_, "newest_": self.newest_, "anchor_names_": self.anchor_names_,
                    "markets_": self.markets_}

        state = cached("sales", (source_digest(__file__), sorted(self.get_params().items()), key), build, use_cache)
        for name in self._GROUPS:
            setattr(self, name, _CachedGroups(state[name]))
        self.bucket_ = {key: _Bucket(*parts) for key, parts in _unflat(state["bucket_"]).items()}
        self.listed_ = {}
        self.sold_names_ = frozenset(name for _, name, _ in self.same_)
        self.n_history_, self.latest_, self.markets_ = state["n_history_"], state["latest_"], state["markets_"]
        self.newest_, self.anchor_names_ = state["newest_"], state["anchor_names_"]
        self.feature_names_out_ = np.asarray(self._feature_names(), dtype=object)
        self.n_features_out_ = len(self.feature_names_out_)
        return self

    def market_of(self, platform: str) -> tuple[str, bool]:
        """The market whose sales price ``platform`` and whether it is a proxy."""
        if platform in self.market_:
            return platform, False
        proxy = (self.proxy_market or DEFAULT_PROXY_MARKET).get(platform)
        return (proxy, True) if proxy in self.market_ else (platform, False)

    def _knn(self, market: str, texts: list[str], cutoffs: np.ndarray, out: np.ndarray,
             picks: np.ndarray | None = None, sims: np.ndarray | None = None) -> None:
        """Fill kNN columns for queries of one (market, length) bucket, per block of queries; with ``picks`` and
        ``sims`` (queries x k) also the nearest sales' places in the bucket (-1 for none) and their similarity."""
        from handleval.features._knn_kernel import knn_summary

        n = _len_bucket(texts[0])
        bucket = self.bucket_.get((market, n))
        if bucket is None:
            return
        names, times, logp, _ = bucket
        k = min(self.k, len(names))
        block = max(1, 2_000_000 // max(len(names), 1))
        ratios = _negated_ratios()
        name_lengths = np.fromiter(map(len, names), dtype=np.int64, count=len(names)) if n >= _LEN_CAP else None
        for lo in range(0, len(texts), block):
            q = texts[lo:lo + block]
            cut = cutoffs[lo:lo + block]
            common = process.cdist(q, names, scorer=LCSseq.similarity, dtype=np.uint8, workers=1)
            if n < _LEN_CAP:  # every query and name has n characters
                negated = ratios[2 * n].take(common)
            else:
                lengths = np.fromiter(map(len, q), dtype=np.int64, count=len(q))[:, None] + name_lengths
                negated = ratios.take(lengths * ratios.shape[1] + common)
            if not cut.min() > times.max():  # else every sale is visible to every query
                np.putmask(negated, times[None, :] >= cut[:, None], np.int16(1))  # a score of -1: never kept
            nearest = np.empty((len(q), k), dtype=np.int64)
            knn_summary(negated, logp, k, out[lo:lo + block], nearest)
            if picks is not None and sims is not None:
                picks[lo:lo + block, :k] = nearest
                sims[lo:lo + block, :k] = -np.take_along_axis(negated, np.maximum(nearest, 0), axis=1)

    def _compute(self, prepared: Prepared, errors: list[str | None]) -> np.ndarray:
        return self._compute_listing(prepared, None)[0]

    def _compute_listing(self, prepared: Prepared, as_json: bool | None) -> tuple[np.ndarray, list[Any] | None]:
        """All rows at once: group look-ups by (market, key) and ``searchsorted`` the cut-offs of each group. With
        ``as_json`` not None, also the :meth:`comparables` from the same k-NN pass (None when no row has any)."""
        frame = prepared.frame
        out = np.full((len(frame), len(FEATURES)), np.nan)
        route = self._routes(prepared)
        listed = None
        if route is None:
            return out, listed
        rows, tcode, mk, cut, px, texts_u, len_u, markets = route
        uniq = prepared.unique_texts()[1]
        pclass_u = prepared.shared.get("pattern_class")
        if pclass_u is None or len(pclass_u) != len(uniq) or np.isnan(pclass_u).any():
            pclass_u = pattern_classes(texts_u)
        pclass_u = np.asarray(pclass_u, dtype=np.int64)
        suffixes = frame["suffix"].tolist()
        cutoffs = frame["cutoff"].to_numpy().astype(np.int64)
        proxy = np.zeros(len(frame), dtype=bool)
        proxy[rows] = px
        res = np.full((len(rows), len(FEATURES)), np.nan)
        res[:, 12] = px
        # market: sales before the cut-off and their median
        k_all = np.zeros(len(rows), dtype=np.int64)
        for j, market in enumerate(markets):
            sel = np.flatnonzero(mk == j)
            if len(sel):
                k_all[sel] = self._count_and_median(self.market_[market], cut[sel], res, sel, 0, 1)
        # the same name sold before (market, name, suffix; proxied markets ignore the suffix)
        res[:, 2] = 0
        same_get = self.same_.get
        sold_u = pd.Series(texts_u, dtype=object).isin(self.sold_names_).to_numpy()
        candidates = np.flatnonzero(sold_u[tcode])  # only names sold before can have a previous sale
        for r, row, t, j in zip(candidates.tolist(), rows[candidates].tolist(), tcode[candidates].tolist(),
                                mk[candidates].tolist(), strict=True):
            same = same_get((markets[j], texts_u[t], "" if proxy[row] else suffixes[row]))
            if same is not None:
                cutoff = int(cutoffs[row])
                ks = same.before(cutoff)
                res[r, 2] = ks
                if ks:
                    res[r, 3] = same.last_logp(ks)
                    ref = cutoff if cutoff < _UNDATED else self.latest_
                    last = same.times[ks - 1]
                    res[r, 4] = (ref - last) / _DAY_NS if last < _UNDATED and ref < _UNDATED else math.nan
        # same length bucket and pattern class
        res[:, 8] = 0
        lp_key = (mk * (_LEN_CAP + 1) + len_u[tcode]) * (max(PATTERN_CODES) + 1) + pclass_u[tcode]
        for key in np.unique(lp_key).tolist():
            sel = np.flatnonzero(lp_key == key)
            j, rest = divmod(key, (_LEN_CAP + 1) * (max(PATTERN_CODES) + 1))
            n, pc = divmod(rest, max(PATTERN_CODES) + 1)
            group = self.lenpat_.get((markets[j], n, pc))
            if group is not None:
                self._count_and_median(group, cut[sel], res, sel, 8, 9)
        # same suffix (own market only, and only names that have one: a Telegram username's "same suffix" would
        # be every Telegram sale, the market count again)
        row_suffixes = frame["suffix"].to_numpy(dtype=object)[rows]
        own = np.flatnonzero(~px & (row_suffixes != ""))
        if len(own):
            own_suffixes = row_suffixes[own]
            suffix_codes, suffix_names = pd.factorize(own_suffixes)
            sf_key = mk[own] * (len(suffix_names) + 1) + suffix_codes
            res[own, 10] = 0
            for key in np.unique(sf_key).tolist():
                sel = own[sf_key == key]
                j, sc = divmod(key, len(suffix_names) + 1)
                group = self.suffix_.get((markets[j], suffix_names[sc]))
                if group is not None:
                    self._count_and_median(group, cut[sel], res, sel, 10, 11)
        # k nearest sold names of the same length (rows with no earlier sale in their market have none)
        has = np.flatnonzero(k_all > 0)
        if len(has):
            near = route._replace(rows=rows[has], text=tcode[has], market=mk[has], cutoff=cut[has], proxy=px[has])
            found = self._nearest(near, with_picks=as_json is not None)
            res[has, 5:8] = found[0]
            if as_json is not None:
                listed = self._listed(len(frame), near, found, as_json)
        out[rows] = res
        return out, listed

    def anchor_sales(self, X: Any) -> pd.DataFrame:
        """Per row, a past sale of its own name that the features leave out, for the own-sale rule of a
        valuation: ``sales__prev_same_logp`` and ``sales__prev_same_age_days`` (NaN where none). In the row's own
        market (not a proxy's), its latest sale among those whose price a venue's minimum set (Fragment's
        4-character names: no comparable, so not in the features); else the median of its undated sales when the
        row is dated after its market's newest dated sale (an undated sale was collected with the history: it
        happened before then, but no one knows when, so no feature and no held-out row sees it)."""
        check_is_fitted(self, "feature_names_out_")
        prepared = prepare(X)
        out = np.full((len(prepared.frame), 2), np.nan)
        route = self._routes(prepared)
        if route is not None:
            suffixes = prepared.frame["suffix"].to_numpy(dtype=object)
            for row, t, j, cutoff, proxy in zip(route.rows.tolist(), route.text.tolist(), route.market.tolist(),
                                                route.cutoff.tolist(), route.proxy.tolist(), strict=True):
                key = (route.markets[j], route.texts[t], "" if proxy else suffixes[row])
                aside = None if proxy else self.aside_.get(key)
                ks = aside.before(min(cutoff, _UNDATED)) if aside is not None else 0
                if ks:
                    ref = cutoff if cutoff < _UNDATED else self.latest_
                    out[row] = aside.last_logp(ks), (ref - aside.times[ks - 1]) / _DAY_NS
                    continue
                same = self.same_.get(key)
                newest = self.newest_.get(route.markets[j], _UNDATED)
                if same is not None and cutoff > newest and same.before(_UNDATED) == 0:
                    out[row, 0] = float(np.median(same.logp))
        return pd.DataFrame(out, columns=["sales__prev_same_logp", "sales__prev_same_age_days"],
                            index=prepared.frame.index)

    def transform_with_comparables(self, prepared: Prepared, as_json: bool = False
                                   ) -> tuple[pd.DataFrame, list[Any]]:
        """``(transform_prepared(prepared), comparables(prepared, as_json))`` from one k-NN pass: the pass that
        computes the kNN columns keeps its picks."""
        check_is_fitted(self, "feature_names_out_")
        with gc_paused():
            values, listed = self._compute_listing(prepared, as_json)
        features = self._as_frame(prepared, values)
        return features, listed if listed is not None else self._listed(len(prepared.frame), None, None, as_json)

    def comparables(self, X: Any, as_json: bool = False) -> list[Any]:
        """Per row the sales its kNN columns summarise: the k sales of its market and name length most similar to
        it, sold strictly before its cut-off (``as_of``; ``sold_at`` for a training row, so never the row's own
        sale), most similar first, ties to the name (alphabetical), then the later sale. Each is ``{"name",
        "market", "price_usd", "sold_at"`` (a date, None if undated) ``, "similarity"`` (0-1) ``}``; ``[]`` for
        none. ``as_json`` gives each row's list as ``json.dumps`` would write it, from pieces written once per sale
        (the batch path: a million rows list some 15 million sales). Rows of one market, name and cut-off share it."""
        prepared = prepare(X)
        route = self._routes(prepared)
        found = self._nearest(route, with_picks=True) if route is not None else None
        return self._listed(len(prepared.frame), route, found, as_json)

    def _listed(self, n_rows: int, route: _Routes | None, found: tuple[Any, ...] | None, as_json: bool
                ) -> list[Any]:
        """:meth:`comparables` of ``n_rows`` rows from the k-NN's picks (``found``: :meth:`_nearest` of ``route``
        with its picks); ``[]`` for rows the route leaves out."""
        out: list[Any] = ["[]" if as_json else [] for _ in range(n_rows)]
        if route is None or found is None:
            return out
        _, picks, sims, inverse = found
        assert picks is not None and sims is not None
        first = np.unique(inverse, return_index=True)[1]
        made: list[Any] = []
        for j, n, places, scores in zip(route.market[first].tolist(), route.lengths[route.text[first]].tolist(),
                                        picks.tolist(), sims.tolist(), strict=True):
            sales = self._sales_listed(route.markets[j], n, as_json)
            chosen = [(sales[i], s) for i, s in zip(places, scores, strict=True) if i >= 0]
            made.append("[" + ", ".join(sale + _SIMILARITY_JSON[s] for sale, s in chosen) + "]" if as_json
                        else [{**sale, "similarity": s / 100} for sale, s in chosen])
        for row, d in zip(route.rows.tolist(), inverse.tolist(), strict=True):
            out[row] = made[d]
        return out

    def _sales_listed(self, market: str, n: int, as_json: bool) -> list[Any]:
        """The sales of bucket ``(market, n)`` as :meth:`comparables` lists them (without the similarity; as the
        start of their JSON object with ``as_json``), made on first use."""
        key = (market, n, as_json)
        listed = self.listed_.get(key)
        if listed is None:
            bucket = self.bucket_.get((market, n))
            sales = _sales_of(bucket, market) if bucket is not None else []
            listed = self.listed_[key] = [json.dumps(sale)[:-1] for sale in sales] if as_json else sales
        return listed

    def _routes(self, prepared: Prepared) -> _Routes | None:
        """The rows that can have comparables and their market, text and cut-off (None when there are none)."""
        frame = prepared.frame
        if not len(frame) or not self.market_:
            return None
        codes, uniq = prepared.unique_texts()
        texts_u = [t[:MAX_CHARS] for t in uniq]
        known = frame["cutoff_known"].to_numpy() & prepared.ok
        markets = sorted(self.market_)
        market_code = {m: j for j, m in enumerate(markets)}
        platform_codes, platforms = pd.factorize(frame["platform"].to_numpy(dtype=object), use_na_sentinel=False)
        route = [self.market_of(p) for p in platforms]
        row_market = np.array([market_code.get(m, -1) for m, _ in route], dtype=np.int64)[platform_codes]
        proxy = np.array([px for _, px in route], dtype=bool)[platform_codes]
        nonempty_u = np.fromiter(map(bool, texts_u), dtype=bool, count=len(texts_u))
        rows = np.flatnonzero(known & nonempty_u[codes] & (row_market >= 0))
        if not len(rows):
            return None
        cutoffs = frame["cutoff"].to_numpy().astype(np.int64)
        lengths = np.fromiter(map(_len_bucket, texts_u), dtype=np.int64, count=len(texts_u))
        return _Routes(rows, codes[rows], row_market[rows], cutoffs[rows], proxy[rows], texts_u, lengths, markets)

    def _nearest(self, route: _Routes, with_picks: bool = False
                 ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None, np.ndarray]:
        """``(summary, picks, sims, inverse)`` of the k-NN for the routed rows, computed once per distinct
        (market, name, cut-off): per row the three kNN columns; with ``with_picks``, per distinct triple the
        nearest sales' places in their bucket (-1 for none) and similarities; ``inverse`` maps rows to triples."""
        tcode, mk, cut, texts_u, markets = route.text, route.market, route.cutoff, route.texts, route.markets
        cut_codes, _ = pd.factorize(cut)
        inverse, _ = pd.factorize((cut_codes * len(markets) + mk) * len(texts_u) + tcode)
        first_row = np.unique(inverse, return_index=True)[1]  # first row of each (market, name, cut-off)
        distinct = np.stack([mk[first_row], tcode[first_row], cut[first_row]], axis=1)
        knn = np.full((len(distinct), 3), np.nan)
        picks = np.full((len(distinct), self.k), -1, dtype=np.int64) if with_picks else None
        sims = np.zeros((len(distinct), self.k), dtype=np.int64) if with_picks else None
        bucket = route.lengths[distinct[:, 1]]
        for key in np.unique(distinct[:, 0] * (_LEN_CAP + 1) + bucket).tolist():
            j, n = divmod(key, _LEN_CAP + 1)
            sel = np.flatnonzero((distinct[:, 0] == j) & (bucket == n))
            block = np.full((len(sel), 3), np.nan)
            block_picks = None if picks is None else np.full((len(sel), self.k), -1, dtype=np.int64)
            block_sims = None if sims is None else np.zeros((len(sel), self.k), dtype=np.int64)
            self._knn(markets[j], [texts_u[t] for t in distinct[sel, 1].tolist()], distinct[sel, 2], block,
                      block_picks, block_sims)
            knn[sel] = block
            if picks is not None and sims is not None:
                picks[sel], sims[sel] = block_picks, block_sims
        return knn[inverse], picks, sims, inverse

    @staticmethod
    def _count_and_median(group: _Group, cut: np.ndarray, res: np.ndarray, sel: np.ndarray, count_col: int,
                          median_col: int) -> np.ndarray:
        """Sales of ``group`` before each cut-off (into ``count_col``) and their median (into ``median_col``)."""
        k = np.searchsorted(group.times, cut, side="left")
        res[sel, count_col] = k
        values, inverse = np.unique(k, return_inverse=True)
        medians = np.array([group.median(int(v)) for v in values.tolist()])
        res[sel, median_col] = medians[inverse.reshape(-1)]
        return k

    def fit_transform(self, X: Any, y: Any = None, **fit_params: Any) -> pd.DataFrame:
        """Fit on the history, featurise its rows leak-free, then mask ``mask_rate`` of them (training path)."""
        require_sale_times(X)
        prepared = prepare(X)
        self.fit(X, y)
        return mask_comparables(self.transform_prepared(prepared), self.mask_rate, self.random_state)


__all__ = ["FEATURES", "MAX_LN_PRICE", "SalesHistoryFeatures", "mask_comparables", "require_sale_times"]
