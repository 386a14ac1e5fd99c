"""Value handles with a trained price bundle: ``handleval.load().value("pizza", platform="x")``.

Prediction rebuilds the featurizer from the manifest (the lexicons must match the fingerprints recorded at
training time) and uses the sales in the data directory as the comparables history, strictly before each
row's ``as_of``. Rows whose handle is invalid come back with ``error`` set and no price; no row is dropped or
reordered.
"""

from __future__ import annotations

import dataclasses
import os
import re
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, partial
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from handleval._arrays import first_occurrences, frame_of, group_ids
from handleval._dates import given_time
from handleval.config import MODELS_DIR, MarketsConfig, require_data_parts
from handleval.errors import (
    BundleError,
    ColumnCollisionError,
    DataFormatError,
    HandlevalError,
    HandlevalWarning,
    InvalidHandle,
    check_prefix,
    check_unique_columns,
    output_collisions,
)
from handleval.features._common import core_of
from handleval.features.brands import COMPOUND, EXACT, capitals_read_as_latin, skeleton
from handleval.features.lexicons import SOCIAL_ACCOUNT_SOURCES, Lexicon, load_lexicon
from handleval.handles import (
    PLATFORM_NAMES,
    SUFFIX_SEPARATOR,
    as_typed,
    canonical_mask,
    foreign_characters,
    handle_texts,
    has_public_suffix,
    parse_handle,
    platform_name,
    registered_domain,
    split_canonical,
)
from handleval.price.market import DOMAIN_LEVELS, interval, interval_offsets, unknown_venue, venue_class
from handleval.price.premium import (
    NOT_NAMES,
    WELL_KNOWN,
    RuledPrices,
    account_fame_lifts,
    apply_rules,
    cap_at_core,
    capital_i_lookalikes,
    imitates,
    is_place_name,
    junk_affix_cores,
    lookalike_risk,
    name_and_word_lookalikes,
    numbered_series,
    platform_risk,
    spelled_lookalikes,
    swapped_forms,
    x_account_lookalikes,
    x_account_spelt_apart,
)

Attribution = Literal["paths", "shap"]
#: The columns value_many reads (``handle`` required; a blank ``platform`` is the default one).
INPUT_COLUMNS = ("handle", "platform", "suffix", "venue", "as_of")
#: The batch size from which the swap-lookalike rule tests handles against the famous names' swapped forms (built
#: once, 0.2 s) rather than looking up each handle's swaps.
SWAPS_SET_FROM = 20_000
#: :meth:`Valuer.value_many` prices this many rows at a time: memory stays that of one chunk (about 4 KB a row:
#: 4.3 GB for a million at once), as in a batch job's chunks.
VALUE_MANY_CHUNK = 100_000
OUTPUT_COLUMNS = ["price_usd", "price_low_usd", "price_high_usd", "market_basis", "reasons", "risk", "error"]
#: The column ``value_many(..., comparables=True)`` adds before ``error`` (``predict --comps``): a JSON array per row.
COMPARABLES = "comparables"


def output_names(comparables: bool = False) -> list[str]:
    """The price columns in order: :data:`OUTPUT_COLUMNS`, with ``comparables`` before ``error`` when asked for."""
    return [*OUTPUT_COLUMNS[:-1], *([COMPARABLES] if comparables else []), OUTPUT_COLUMNS[-1]]


@dataclass(frozen=True)
class Comparable:
    """An earlier sale a price rests on: one of the k sold names most similar to the handle, in the market that
    priced it (``sales__knn_…`` summarise them)."""

    name: str
    market: str
    price_usd: float
    sold_at: str | None  # the sale's date (ISO 8601); None for an undated sale
    similarity: float  # 0-1: rapidfuzz's ratio of the two names / 100


@dataclass(frozen=True)
class Valuation:
    """One handle's price with its 10–90% interval, the market it was priced in, why, and the earlier sales of
    similar names it rests on (``comparables``, most similar first)."""

    handle: str
    platform: str
    price_usd: float | None
    price_low_usd: float | None
    price_high_usd: float | None
    market_basis: str | None  # None where the handle could not be priced (``error``), as in value_many
    reasons: list[str] = field(default_factory=list)
    error: str | None = None
    risk: str | None = None
    comparables: list[Comparable] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The valuation as plain values (its comparables as dicts): ready for ``json.dumps``."""
        return dataclasses.asdict(self)


#: Stands for the handle in reason phrases until the end of :meth:`Valuer._reasons` (no valid handle has it).
_HANDLE = "\x00"


def _money_column(values: np.ndarray) -> np.ndarray:
    """Signed whole dollars (``+$1,234``, ``−$56``) for every cell, formatting each distinct amount once.

    The sign is folded into the key (``-whole - 1`` for negatives; NaN counts as negative, as ``>= 0`` says),
    so that each cell is one lookup rather than a string concatenation."""
    whole = np.rint(np.abs(values))
    negative = ~(values >= 0)
    codes, keys = pd.factorize(np.where(negative, -whole - 1, whole).ravel(), use_na_sentinel=False)
    text = np.array([f"+${k:,.0f}" if k >= 0 else f"−${-k - 1:,.0f}" for k in keys.tolist()], dtype=object)
    return text[codes].reshape(values.shape)


def _largest(contrib: np.ndarray, excluded: np.ndarray, k: int, block: int = 1024) -> np.ndarray:
    """Per row the columns of the ``k`` largest ``|contrib|``, largest first (ties in partition order), the
    ``excluded`` columns counted as zero. In blocks of rows: the rows x features temporaries of a 100,000-row
    chunk stay in cache (~30% less time than in one go)."""
    n, width = contrib.shape
    order = np.empty((n, k), dtype=np.intp)
    for start in range(0, n, block):
        magnitude = np.abs(contrib[start:start + block])
        magnitude[:, excluded] = 0.0
        top = np.argpartition(magnitude, width - k, axis=1)[:, width - k:] if k < width \
            else np.tile(np.arange(width), (len(magnitude), 1))
        rows = np.arange(len(magnitude))[:, None]
        order[start:start + block] = top[rows, np.argsort(-magnitude[rows, top], axis=1, kind="stable")]
    return order


def _distinct_pairs(features: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(feature, value)`` of each distinct pair in order of appearance (a pair's first cell stands for it),
    and each cell's index into them. Values compare as pandas groups them (NaN is one value, -0.0 == 0.0).

    Hash factorizations (:func:`group_ids`): a groupby over the pair columns cost ~2 µs per scored row."""
    ids = group_ids(values, features)
    first = first_occurrences(ids)
    return features[first], values[first], ids


def _join_reasons(labels: np.ndarray, money: np.ndarray, shown: np.ndarray) -> np.ndarray:
    """Per row ``label (money)`` of the shown cells, each after the first cell prefixed with ``"; "``: one
    ``%`` format per row, rows grouped by which cells they show (the pattern decides the template).
    Concatenating object arrays cell by cell took three times as long."""
    n, width = labels.shape
    text = np.full(n, "", dtype=object)
    patterns = (shown * (1 << np.arange(width))).sum(axis=1)
    for pattern in np.unique(patterns).tolist():
        columns = [k for k in range(width) if pattern >> k & 1]
        if not columns:
            continue
        rows = np.flatnonzero(patterns == pattern)
        form = "; ".join("%s (%s)" for _ in columns)
        cells = [part for k in columns for part in (labels[rows, k].tolist(), money[rows, k].tolist())]
        text[rows] = [form % row for row in zip(*cells, strict=True)]
    return text


def _blank(values: pd.Series, strip: bool) -> np.ndarray:
    """Where a cell is missing or its text (``str(value)``, stripped if ``strip``) is empty. A column of strings
    is read once per distinct value."""
    if values.isna().all():
        return np.ones(len(values), dtype=bool)
    if pd.api.types.infer_dtype(values, skipna=True) == "string":
        codes, distinct = pd.factorize(values)
        empty = [(v.strip() if strip else v) == "" for v in distinct.tolist()]
        return np.array([*empty, True], dtype=bool)[codes]  # code -1: missing
    text = values.map(lambda v: str(v).strip() if strip else str(v), na_action="ignore")
    return (values.isna() | (text == "")).to_numpy(dtype=bool)


class Valuer:
    """A loaded price bundle. Build it with :func:`load`."""

    def __init__(self, bundle_dir: Path, manifest: dict[str, Any], parse_boosters: Callable[[], list[Any]],
                 featurizer: Any, market: Any, markets: MarketsConfig, x_accounts: Lexicon):
        self.bundle_dir = bundle_dir
        #: X's famous accounts by handle (the ``x_account`` lexicon), which X's market rules read
        self.x_accounts = x_accounts
        self.manifest = manifest
        self._parse_boosters = parse_boosters
        self.featurizer = featurizer
        self.market = market
        self.markets = markets
        self.features: list[str] = manifest["features"]
        self.cap = float(np.log(manifest["cap_usd"]))
        self.offsets: dict[str, float] = manifest["conformal_offsets_ln"]
        self.trained_platforms = set(self.offsets)
        self.n_points = len(_model_files(manifest)) - 2

    @property
    def boosters(self) -> tuple[Any, ...]:
        """The LightGBM point models, then the low and high quantile models, parsed on first use: scoring reads
        the compiled forest, only TreeSHAP reasons need them once the forest is cached."""
        return self.forest.boosters

    @property
    def points(self) -> tuple[Any, ...]:
        return self.boosters[:self.n_points]

    @cached_property
    def forest(self) -> Any:
        """The point and quantile models as one compiled forest (:mod:`handleval.trees.forest`), with path attributions
        for the point models: one pass finds every tree's leaf. Read from the cache (~0.02 s) or built (~0.5 s)
        by :func:`load`."""
        from handleval.trees.forest import Forest

        digests = [self.manifest["files"][name] for name in _model_files(self.manifest)]
        return Forest.from_bundle(self._parse_boosters, self.n_points, digests)

    # ----------------------------------------------------------------------------------------------- public
    def value(self, handle: str, platform: str = "x", suffix: str | None = None, venue: str | None = None,
              as_of: object = None, attribution: Attribution = "paths") -> Valuation:
        """Price one handle. An invalid handle gives a Valuation with ``error`` set, not an exception. Its
        ``comparables`` are the picks of the k-NN pass that priced it (no pass of their own)."""
        import json

        if not (pd.api.types.is_scalar(handle) or handle is None):  # a list was priced as the text "['a', 'b']"
            raise TypeError(f"value prices one handle, not a {type(handle).__name__}: use value_many for several")
        if isinstance(handle, int | float | np.number) and not isinstance(handle, bool) and handle == handle:
            warnings.warn(f"handle {handle!r} is a number: priced as its digits (7.0 as '7'); a handle written with "
                          "leading zeros ('007') must be given as text", HandlevalWarning, stacklevel=2)
        row = self._value_many(pd.DataFrame({"handle": pd.Series([handle], dtype=object), "platform": [platform],
                                             "suffix": [suffix], "venue": [venue], "as_of": [as_of]}), "x", True,
                               attribution, True, "", None, say_numbers=False).iloc[0]
        price = lambda c: None if pd.isna(row[c]) else float(row[c])  # noqa: E731
        error = None if pd.isna(row["error"]) else str(row["error"])
        text = handle_texts(pd.Series([handle], dtype=object)).iloc[0]  # as priced: 7.0 is '7', NaN is None
        return Valuation("" if text is None else str(text), platform_name(platform), price("price_usd"),
                         price("price_low_usd"), price("price_high_usd"),
                         row["market_basis"] if isinstance(row["market_basis"], str) else None,
                         row["reasons"].split("; ") if isinstance(row["reasons"], str) and row["reasons"] else [],
                         error,
                         None if pd.isna(row["risk"]) else str(row["risk"]),
                         [Comparable(**c) for c in json.loads(row[COMPARABLES])])

    def value_many(self, data: pd.DataFrame | list[str] | pd.Series, platform: str = "x",
                   reasons: bool = True, attribution: Attribution = "paths", comparables: bool = False,
                   prefix: str = "", as_of: str | pd.Timestamp | None = None) -> pd.DataFrame:
        """Every input column, then ``price_usd, price_low_usd, price_high_usd, market_basis, reasons, risk,
        error`` — same rows, same order, the input's index. ``reasons=False`` leaves ``reasons`` empty.
        ``comparables=True`` adds ``comparables`` before ``error``: per row a JSON array of the earlier sales
        :class:`Comparable` lists (``[]`` for none and for rows with an error). ``prefix`` goes in front of every
        output name; an output that would overwrite an input column is refused (:class:`ColumnCollisionError`).

        ``attribution="paths"`` (default) ranks reasons by path attributions (:mod:`handleval.trees.forest`), computed
        in the same pass as the price; ``"shap"`` by LightGBM's exact TreeSHAP, the standard with the better
        theory, at about 1 ms per row (fine for a few handles, not for a batch of millions)."""
        return self._value_many(data, platform, reasons, attribution, comparables, prefix, as_of, say_numbers=True)

    def _value_many(self, data: pd.DataFrame | list[str] | pd.Series, platform: str, reasons: bool,
                    attribution: Attribution, comparables: bool, prefix: str, as_of: str | pd.Timestamp | None,
                    say_numbers: bool) -> pd.DataFrame:
        """:meth:`value_many`; ``say_numbers=False`` for a batch, which says once of its file what this would say
        of each chunk (a handle column of numbers)."""
        check_prefix(prefix)
        if isinstance(data, pd.DataFrame) and isinstance(data.columns, pd.MultiIndex):
            raise HandlevalError("value_many reads a DataFrame of plain column names ('handle', 'platform' …), "
                                 "not a MultiIndex of columns: flatten them first")
        taken = output_collisions(data.columns if isinstance(data, pd.DataFrame) else (),
                                  [prefix + c for c in output_names(comparables)])
        if taken:
            raise ColumnCollisionError(taken, prefix, "value_many", data.columns, command_line=False)
        frame = self._as_frame(data)  # once: a generator of handles is read once
        numbers = pd.api.types.infer_dtype(frame["handle"], skipna=True) in _NUMBERS
        if say_numbers and numbers and frame["handle"].notna().any():  # an empty column is float, and no number
            warnings.warn("the handle column holds numbers: each is priced as its digits (7.0 as '7'), and a handle "
                          "written with leading zeros ('007') was lost when it was stored or read as a number "
                          "(pandas: read it with dtype=str)", HandlevalWarning, stacklevel=3)
        as_of = default_as_of() if as_of is None else as_of  # one time for every chunk
        prices = pd.concat([self.price_columns(frame.iloc[start:start + VALUE_MANY_CHUNK], platform, reasons,
                                               attribution, comparables, as_of=as_of)
                            for start in range(0, max(len(frame), 1), VALUE_MANY_CHUNK)])
        if isinstance(data, pd.DataFrame | pd.Series):
            frame.index = prices.index = data.index  # a caller joins the prices back by index
        return pd.concat([frame, prices.add_prefix(prefix) if prefix else prices], axis=1)

    def _with_anchor_sales(self, frame: pd.DataFrame, features: pd.DataFrame) -> pd.DataFrame:
        """``features`` with, where they hold no own sale, the own sales the model never reads
        (:meth:`~handleval.features.sales.SalesHistoryFeatures.anchor_sales`): the own-sale rule reads them, for
        rows priced in their own market (a platform priced by proxy borrows none of the proxy's)."""
        sales = getattr(self.featurizer, "families_", {}).get("sales")
        if sales is None or "sales__prev_same_logp" not in features or "requested" not in frame:
            return features
        rows = np.flatnonzero((frame["requested"] == frame["platform"]).to_numpy()
                              & features["sales__prev_same_logp"].isna().to_numpy()
                              & frame["handle"].isin(sales.anchor_names_).to_numpy())  # few: look up only those
        if not len(rows):
            return features
        anchors = sales.anchor_sales(frame.iloc[rows]).to_numpy()
        rows, anchors = rows[np.isfinite(anchors[:, 0])], anchors[np.isfinite(anchors[:, 0])]
        features = features.copy()
        for j, column in enumerate(("sales__prev_same_logp", "sales__prev_same_age_days")):
            values = features[column].to_numpy(dtype=np.float64, copy=True)
            values[rows] = anchors[:, j]
            features[column] = values
        return features

    @cached_property
    def _account_fame(self) -> dict[str, float]:
        """The famous people's names lifted to the popularity of their account handles
        (:func:`~handleval.price.premium.account_fame_lifts`); a brand's site and its name are no accounts."""
        people = self._lexicons.get("celeb")
        if people is None:
            return {}
        accounts = {key for key, source in people.source.items() if source in SOCIAL_ACCOUNT_SOURCES}
        return account_fame_lifts(people.popularity, people.display, self._risk_popularity, accounts)

    def _with_account_fame(self, frame: pd.DataFrame, features: pd.DataFrame, x_fame: np.ndarray
                           ) -> tuple[pd.DataFrame, np.ndarray]:
        """``features`` with the fame the market rules read (``celeb__fame``, of an exact famous name) lifted to
        that of the person's account handles that decorate the name (``tomholland`` is worth at least
        ``tomholland2013`` on X) and to ``x_fame`` (:meth:`_x_account_fame`), and the rows whose fame is now their X
        account's. The model read the features before: only the rules see this."""
        raised = np.zeros(len(features), dtype=bool)
        if "celeb__fame" not in features:
            return features, raised
        fame = features["celeb__fame"].to_numpy(dtype=np.float64, copy=True)
        famous = np.flatnonzero(np.nan_to_num(fame) > 0)  # few: the rest are looked up for nothing
        keys = [core_of(str(h).lower()) for h in frame["handle"].iloc[famous].tolist()]
        lift = np.array([self._account_fame.get(k, 0.0) for k in keys], dtype=np.float64)
        lifted = lift > fame[famous]
        fame[famous[lifted]] = lift[lifted]
        raised = np.nan_to_num(x_fame, nan=-1.0) > np.nan_to_num(fame)
        if not (lifted.any() or raised.any()):
            return features, raised
        fame[raised] = x_fame[raised]
        features = features.assign(celeb__fame=fame)
        if raised.any() and "celeb__match_kind" in features:  # the account's own handle: an exact famous name
            kind = features["celeb__match_kind"].to_numpy(dtype=np.float64, copy=True)
            kind[raised] = EXACT
            features = features.assign(celeb__match_kind=kind)
        return features, raised

    @cached_property
    def _swapped_forms(self) -> frozenset[str]:
        """The famous names with two neighbouring letters swapped (:func:`swapped_forms`), built on the first batch
        of :data:`SWAPS_SET_FROM` rows or more (0.2 s: a single price looks its handle's swaps up instead)."""
        return swapped_forms(self._lexicons, self._risk_popularity)

    @cached_property
    def _x_accounts_named(self) -> Lexicon:
        """:attr:`x_accounts` shown as reasons and risks name them: the lexicon's display ('Donald J. Trump
        (@realDonaldTrump)'), and where a listing gave no name, the name the celebrity lexicon gives the same handle
        ('Salman Khan (@BeingSalmanKhan)'), else the handle alone."""
        people = self._lexicons.get("celeb")
        names = {}
        for handle, shown in self.x_accounts.display.items():
            known_as = people.display.get(handle, "") if people is not None else ""
            names[handle] = f"{known_as} ({shown})" if shown.startswith("@") and known_as and known_as != handle \
                and "(@" not in known_as else shown
        return Lexicon("x_account", self.x_accounts.popularity, names)

    def _x_account_fame(self, frame: pd.DataFrame, written: np.ndarray) -> np.ndarray:
        """Per row asked for on X whose handle is a famous X account's own (``realdonaldtrump``,
        ``taylorswift13``), written as X writes handles (``written``: the text as typed, ASCII; a full-width
        ``ｔａｙｌｏｒｓｗｉｆｔ１３`` is no one's handle), the account's popularity; NaN elsewhere. Its fame on X is at
        least the account's, and it is no copy of its owner's name; on another platform the same name, held by
        someone else, could be one."""
        fame = np.full(len(frame), np.nan)
        requested = np.flatnonzero((frame["requested"].to_numpy(dtype=object) == "x")
                                   & np.array([as_typed(str(w)).isascii() for w in written], dtype=bool))
        if len(requested):
            known = self.x_accounts.popularity
            fame[requested] = [known.get(h, np.nan) for h in frame["handle"].iloc[requested].tolist()]
        return fame

    def _with_x_account_names(self, frame: pd.DataFrame, matches: pd.DataFrame | None, rows: np.ndarray
                              ) -> pd.DataFrame | None:
        """``matches`` naming the X account on ``rows`` (whose fame is the account's): 'Donald J. Trump
        (@realDonaldTrump)' for ``realdonaldtrump``, not the name it holds, for the reasons."""
        if matches is None or not rows.any():
            return matches
        names = matches["celeb_match"].to_numpy(dtype=object, copy=True)
        at = np.flatnonzero(rows)
        names[at] = [self._x_accounts_named.display[h] for h in frame["handle"].to_numpy(dtype=object)[at]]
        return matches.assign(celeb_match=names)

    def price_columns(self, data: pd.DataFrame | list[str] | pd.Series, platform: str = "x",
                      reasons: bool = True, attribution: Attribution = "paths", comparables: bool = False,
                      *, with_risk: bool = True, as_of: str | pd.Timestamp | None = None) -> pd.DataFrame:
        """Only :meth:`value_many`'s output columns (:func:`output_names`), a row per input row with the input's
        index: for callers that put them beside the input under names of their own (batch jobs, triage).
        ``with_risk=False`` leaves ``risk`` empty (prices only, as a rule pricing another name needs them);
        ``as_of`` is the time of rows without one (default :func:`default_as_of`: a batch gives one for a run)."""
        if attribution not in ("paths", "shap"):
            raise ValueError(f"attribution must be 'paths' or 'shap', not {attribution!r}")
        frame = self._as_frame(data)
        given = frame["handle"]
        handles = handle_texts(given)  # a typed column (7.0) read as every path reads it ("7")
        readable = frame if handles is given else frame.assign(handle=handles)
        n = len(frame)
        out = {c: np.full(n, np.nan) for c in OUTPUT_COLUMNS[:3]}
        basis = np.full(n, "", dtype=object)
        reason_text = np.full(n, "", dtype=object)
        listed = np.full(n, "[]", dtype=object) if comparables else None

        parsed, errors = self._parse(readable, platform, as_of)
        self._check_suffixes(parsed, errors)
        failed = np.flatnonzero(pd.notna(errors))
        if len(failed) and with_risk:
            self._flag_lookalikes(readable, failed, errors, parsed["requested"].to_numpy(dtype=object))
        self._check_international(parsed, errors)  # after: it names a lookalike itself, from the decoded name
        risk = np.full(n, None, dtype=object)
        ok = np.array([e is None for e in errors], dtype=bool)
        if ok.any():
            market_frame = parsed[ok].reset_index(drop=True)
            # one pass: the matches name them in reasons, the k-NN's picks are the comparables
            x_h, feat_errors, matches, comps = self.featurizer.transform_with(market_frame, matches=reasons,
                                                                               comparables=comparables)
            x_h = x_h.reset_index(drop=True)
            codes, keys = self.market.transform_with_keys(market_frame)
            x = pd.concat([x_h, codes.reset_index(drop=True)], axis=1)[self.features]
            x = x.to_numpy(dtype=np.float64)  # once for every model (each would convert a DataFrame again)
            # Attributions are additive, so those of the averaged model are the average of the models'.
            k = self.n_points
            scores, summed = self.forest.predict(x, explain=reasons and attribution == "paths")
            raw = scores[:, :k].mean(axis=1)
            if reasons and attribution == "paths":
                contrib = summed / k
            else:
                contrib = np.mean([m.predict(x, pred_contrib=True)[:, :-1] for m in self.points], axis=0) \
                    if reasons else None
            x_fame = self._x_account_fame(market_frame, readable["handle"].to_numpy(dtype=object)[ok])
            anchored, on_account = self._with_account_fame(market_frame, self._with_anchor_sales(market_frame, x_h),
                                                           x_fame)
            matches = self._with_x_account_names(market_frame, matches, on_account)  # the reasons name the account
            ruled = apply_rules(market_frame, anchored, raw, self.markets, self.cap, matches)
            core_range = self._cap_at_cores(market_frame, anchored, ruled, comparables)
            pred = ruled.ln
            off = interval_offsets(keys, market_frame["platform"],
                                   self.manifest.get("conformal_offsets_by_venue_ln", {}), self.offsets)
            low, high = interval(scores[:, k], scores[:, k + 1], ruled.learned_ln, pred, off, self.cap,
                                 ruled.minimum_ln)
            if core_range is not None:  # priced as its core: the core's interval (and comparables) too
                as_core, core_low, core_high, core_comps = core_range
                low[as_core], high[as_core] = core_low, core_high
                if comps is not None:
                    comps = np.asarray(comps, dtype=object).copy()
                    comps[as_core] = core_comps
            idx = np.flatnonzero(ok)
            out["price_usd"][idx] = np.round(np.exp(pred), 2)
            out["price_low_usd"][idx] = np.round(np.exp(low), 2)
            out["price_high_usd"][idx] = np.round(np.exp(high), 2)
            basis[idx] = market_frame["basis"].to_numpy()
            on_domains = np.flatnonzero(market_frame["platform"].to_numpy(dtype=object) == "domain")
            if len(on_domains):  # which end of the domain market the price is at
                level = keys.iloc[on_domains].str.removeprefix("domain:").map(DOMAIN_LEVELS).fillna("")
                basis[idx[on_domains]] = [f"{b} at {lv}" if lv else b for b, lv in
                                          zip(basis[idx[on_domains]], level.tolist(), strict=True)]
            rests_on = np.flatnonzero(ruled.basis != "")  # the rule that set the price leads, the market follows
            basis[idx[rests_on]] = [f"{r}; {b}" for b, r in zip(basis[idx[rests_on]], ruled.basis[rests_on],
                                                                  strict=True)]
            capped = idx[pred >= self.cap - 1e-9]  # the price says "at least": the cap, not a value
            basis[capped] = [f"{b}; at the ${np.exp(self.cap):,.0f} cap" for b in basis[capped]]
            if with_risk:  # who the name could impersonate, and how it is written
                # 'monaco' is Monaco, 'realdonaldtrump' on X his own account: no one's copy
                not_a_copy = is_place_name(market_frame["handle"].to_numpy(dtype=object)) | ~np.isnan(x_fame)
                risky = np.flatnonzero((imitates(x_h, "brand", self._risk_popularity)
                                        | imitates(x_h, "celeb", self._risk_popularity)) & ~not_a_copy)
                if len(risky):  # name the imitated match (the transform's own, else found for these rows only)
                    found = matches.iloc[risky] if matches is not None else \
                        self.featurizer.matches(market_frame.iloc[risky])
                    risk[idx[risky]] = lookalike_risk(x_h.iloc[risky].reset_index(drop=True),
                                                      found.reset_index(drop=True), self._risk_popularity,
                                                      market_frame["handle"].to_numpy(dtype=object)[risky])
                lexicons = self._lexicons
                rest = np.flatnonzero(pd.isna(risk[idx]) & ~not_a_copy)  # famous names with a letter group swapped
                if lexicons and len(rest):
                    risk[idx[rest]] = spelled_lookalikes(market_frame["handle"].to_numpy(dtype=object)[rest],
                                                         x_h.iloc[rest].reset_index(drop=True), lexicons,
                                                         self._risk_popularity,
                                                         self._swapped_forms if len(rest) >= SWAPS_SET_FROM else None)
                rest = np.flatnonzero(pd.isna(risk[idx]) & ~not_a_copy)  # 'AppIe': a famous name as written, I for an l
                if lexicons and len(rest):
                    risk[idx[rest]] = capital_i_lookalikes(readable["handle"].to_numpy(dtype=object)[idx[rest]],
                                                           market_frame["handle"].to_numpy(dtype=object)[rest],
                                                           lexicons, self._risk_popularity)
                def english(words: list[str]) -> np.ndarray:
                    return self.featurizer.families_["words"].lookup(words)[0]

                rest = np.flatnonzero(pd.isna(risk[idx]) & ~not_a_copy)  # 'paypallogin': a famous name and a word
                if lexicons and len(rest):
                    risk[idx[rest]] = name_and_word_lookalikes(
                        market_frame["handle"].to_numpy(dtype=object)[rest], x_h.iloc[rest].reset_index(drop=True),
                        lexicons, english, self._risk_popularity)
                on_x = market_frame["requested"].to_numpy(dtype=object) == "x"
                market_handles, accounts = market_frame["handle"].to_numpy(dtype=object), self._x_accounts_named
                rest = np.flatnonzero(~not_a_copy & on_x)  # 'bbcnews_' copies @BBCNews, over a near 'abcnews.com'
                if len(rest):
                    apart = x_account_spelt_apart(market_handles[rest], x_h.iloc[rest].reset_index(drop=True),
                                                  accounts.popularity, accounts.display, self._risk_popularity)
                    found = pd.notna(apart)
                    risk[idx[rest[found]]] = apart[found]
                rest = np.flatnonzero(pd.isna(risk[idx]) & ~not_a_copy & on_x)  # 'realDonaIdTrump', I for an l
                if len(rest):
                    risk[idx[rest]] = capital_i_lookalikes(readable["handle"].to_numpy(dtype=object)[idx[rest]],
                                                           market_handles[rest], {"x_account": accounts},
                                                           self._risk_popularity)
                rest = np.flatnonzero(pd.isna(risk[idx]) & ~not_a_copy & on_x)  # 'realdonaldtrmp': an X account's
                if len(rest):
                    risk[idx[rest]] = x_account_lookalikes(market_handles[rest], x_h.iloc[rest].reset_index(drop=True),
                                                           accounts.popularity, accounts.display,
                                                           self._risk_popularity, english)
                own = platform_risk(market_frame["handle"].to_numpy(dtype=object),  # 'home', 'XSupport': X's own
                                    market_frame["requested"].to_numpy(dtype=object))
                named = np.flatnonzero(pd.notna(own))  # more specific than a brand lookalike ('twitter.com')
                risk[idx[named]] = own[named]
                written = readable["handle"].to_numpy(dtype=object)[idx]
                for j in np.flatnonzero([isinstance(w, str) and not w.isascii() for w in written]).tolist():
                    note = foreign_characters(written[j], market_frame["requested"].iloc[j],
                                              market_frame["handle"].iloc[j])
                    if note:  # beside any other risk: 'ｎ1ke' imitates Nike and is written in full-width letters
                        risk[idx[j]] = f"{risk[idx[j]]}; {note}" if risk[idx[j]] else note
            if contrib is not None:
                reason_text[idx] = self._reasons(market_frame, x, contrib, raw, ruled, matches, x_h)
            if listed is not None:
                listed[idx] = comps
            feat_err = feat_errors.reset_index(drop=True)
            for j in np.flatnonzero(feat_err.notna().to_numpy()):
                errors[idx[j]] = str(feat_err.iloc[j])
                risk[idx[j]] = None
                for c in OUTPUT_COLUMNS[:3]:
                    out[c][idx[j]] = np.nan
                if listed is not None:
                    listed[idx[j]] = "[]"
        failed = np.array([e is not None for e in errors], dtype=bool)
        basis[failed] = reason_text[failed] = None  # as price and risk: nothing is said of a row with an error
        outputs = {**out, "market_basis": basis, "reasons": reason_text, "risk": risk,
                   **({COMPARABLES: listed} if listed is not None else {}), "error": errors}
        index = data.index if isinstance(data, pd.DataFrame | pd.Series) else pd.RangeIndex(n)  # joins back by it
        return pd.DataFrame({c: pd.Series(outputs[c], index=index, dtype=np.float64 if c in OUTPUT_COLUMNS[:3]
                                          else object) for c in output_names(comparables)}, index=index)

    def _cap_at_cores(self, market_frame: pd.DataFrame, features: pd.DataFrame, ruled: RuledPrices,
                      comparables: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
        """A name with digits or separators added at its ends is priced at most as the name without them
        (:func:`~handleval.price.premium.cap_at_core`): the model reads each added distinct character as a little
        value (``shadowhunter123`` would be $315 beside ``shadowhunter``'s $80). The cores are priced in the same
        market, at the same time, without reasons. Returns the rows it lowered with their cores' interval (ln) and
        comparables (``[]`` unless asked for), or None."""
        handles = market_frame["handle"].to_numpy(dtype=object)
        as_of = market_frame["as_of"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
        rows, cores = junk_affix_cores(handles, features, market_frame["platform"].to_numpy(dtype=object), as_of,
                                       self._numbered_series)
        if not len(rows):
            return None
        picked = market_frame.iloc[rows]
        shown = [f"{core}{SUFFIX_SEPARATOR.get(plat, '')}{sfx}" if sfx else core for core, plat, sfx in  # pizza.com
                 zip(cores, picked["platform"].tolist(), picked["suffix"].tolist(), strict=True)]
        core_frame = pd.DataFrame({"handle": cores, "platform": picked["requested"].to_numpy(dtype=object),
                                   "suffix": picked["suffix"].to_numpy(dtype=object),
                                   "venue": picked["venue"].to_numpy(dtype=object),
                                   "as_of": picked["as_of"].to_numpy()})
        priced = self.price_columns(core_frame, reasons=False, comparables=comparables, with_risk=False)
        with np.errstate(divide="ignore", invalid="ignore"):
            core_ln = np.log(priced[OUTPUT_COLUMNS[:3]].to_numpy(dtype=np.float64))  # price, low, high
        lowered = cap_at_core(ruled, rows, shown, core_ln[:, 0])
        if not lowered.any():
            return None
        core_comps = priced[COMPARABLES].to_numpy(dtype=object) if comparables else np.full(len(rows), "[]", object)
        return rows[lowered], core_ln[lowered, 1], core_ln[lowered, 2], core_comps[lowered]

    @cached_property
    def _numbered_series(self) -> dict[tuple[str, str], int]:
        """The numbered series that sold in each market, with when (:func:`~handleval.price.premium.numbered_series`):
        their digits are what sells, so a member valued after that is not priced as its core."""
        sales = getattr(self.featurizer, "families_", {}).get("sales")
        groups = getattr(sales, "same_", {})
        return numbered_series((market, name, int(group.times[0])) for (market, name, _), group in groups.items()
                               if len(group.times))

    @cached_property
    def _lexicons(self) -> dict[str, Any]:
        """The celebrity and brand lexicons the featurizer matches against, by family ({} without both), as the
        market rules read them: the brand lexicon without the sites that are no names (:data:`NOT_NAMES`)."""
        families = {f: self.featurizer.families_.get(f) for f in ("celeb", "brand")}
        if any(family is None for family in families.values()):
            return {}
        lexicons = {name: family.matcher_.lexicon for name, family in families.items()}
        brand = lexicons["brand"]
        lexicons["brand"] = dataclasses.replace(brand, **{part: {k: v for k, v in getattr(brand, part).items()
                                                                  if k not in NOT_NAMES}
                                                           for part in ("popularity", "display", "source")})
        return lexicons

    @property
    def _risk_popularity(self) -> float:
        """Lookalikes of names at least this popular carry a risk: the fame threshold of the rare-handle pricing."""
        pricing = next(iter(self.markets.rare_handles.values()), None)
        return pricing.fame_from if pricing is not None else 0.5

    # ---------------------------------------------------------------------------------------------- helpers
    @cached_property
    def _sold_suffixes(self) -> frozenset[str]:
        """``platform:suffix`` of the suffixes with a market of their own in training (``min_count`` sales or more:
        not the typos of a few rows, ``gmail.con``)."""
        return frozenset(self.market.categories_["suffix"])

    def _check_suffixes(self, parsed: pd.DataFrame, errors: np.ndarray) -> None:
        """A domain or mail provider whose suffix exists nowhere (``nike.zzz``) is a row error, not a price: a
        suffix exists when the Public Suffix List names it or the training sales have a market for it (a sales
        ledger of ``.eth`` names of your own)."""
        platforms = parsed["platform"].to_numpy(dtype=object)
        rows = np.flatnonzero(np.isin(platforms, list(SUFFIX_SEPARATOR)) & pd.isna(errors))
        if not len(rows):
            return
        pairs = pd.Series(list(zip(platforms[rows], parsed["suffix"].to_numpy(dtype=object)[rows], strict=True)))
        codes, distinct = pd.factorize(pairs)
        sold = [f"{platform}:{suffix}" in self._sold_suffixes for platform, suffix in distinct]
        unknown = [not has_public_suffix(str(suffix)) and not was_sold
                   for (_, suffix), was_sold in zip(distinct, sold, strict=True)]
        # a domain is a name and a public suffix; more labels are a subdomain, which is not sold on its own
        within = [registered_domain(str(suffix)) if platform == "domain" and not was_sold else None
                  for (platform, suffix), was_sold in zip(distinct, sold, strict=True)]
        names = parsed["handle"].to_numpy(dtype=object)
        for i, j in zip(rows.tolist(), codes.tolist(), strict=True):
            platform, suffix = distinct[j]
            if unknown[j]:
                errors[i] = f"'.{suffix}' is not a known suffix: the Public Suffix List does not name it and " \
                            f"the training sales have no {PLATFORM_NAMES.get(platform, platform)} market for it"
            elif within[j]:
                errors[i] = f"'{names[i]}.{suffix}' is a subdomain of '{within[j]}': a domain is sold as a name " \
                            f"and its suffix (price '{within[j]}')"

    def _check_international(self, parsed: pd.DataFrame, errors: np.ndarray) -> None:
        """A domain name in another script (``пример.com``, written ``xn--e1afmkfd``) is a row error, not a price:
        the features would read the letters and hyphens of its ASCII encoding ("2 hyphens", "all parts are common
        words"), not the name, and the sales hold too few such names to price them. One that reads as a well-known
        name through confusable characters says so (``аpple.com``, a Cyrillic а)."""
        rows = np.flatnonzero((parsed["platform"].to_numpy(dtype=object) == "domain") & pd.isna(errors)
                              & parsed["handle"].astype(str).str.startswith("xn--").to_numpy())
        if not len(rows):
            return
        labels = parsed["handle"].iloc[rows].astype(str).tolist()
        notes = self._imitated([label[4:].encode("ascii").decode("punycode", errors="replace") for label in labels])
        for i, label, note in zip(rows.tolist(), labels, notes, strict=True):
            errors[i] = f"an internationalised domain name (written in ASCII as '{label}'): not priced, as its " \
                        f"features would read that encoding{note}"

    def _imitated(self, texts: list[str], on_x: Sequence[bool] = ()) -> list[str]:
        """Per text, ``; lookalike of 'paypal' (confusable characters)`` when it reads as a famous name through
        confusable characters and that name is well known (:data:`WELL_KNOWN`: a Russian word read through
        confusables is no copy of 'pecom.ru'), or, where ``on_x``, as a famous X account's handle; else ''."""
        lexicons = self._lexicons
        notes = [""] * len(texts)
        if not texts:
            return notes
        # capitals read as capitals: Greek 'ΝΙΚΕ' is N I K E, while its lower case 'νικε' reads as 'vike'
        as_typed = [capitals_read_as_latin(text) for text in texts]
        read = [typed.lower() if typed.isascii() and typed != text else text  # no other confusable: ASCII now
                for text, typed in zip(texts, as_typed, strict=True)]
        swapped = [r != t for r, t in zip(read, texts, strict=True)]
        matches = self.featurizer.matches(pd.DataFrame({"handle": pd.Series(read, dtype=object)}))  # '\ud800': no Arrow
        for pos, (_, match) in enumerate(matches.iterrows()):
            for family in ("brand", "celeb"):
                key = match[f"{family}_key"]
                known = not lexicons or lexicons[family].popularity.get(key, 0.0) >= WELL_KNOWN
                confusable = bool(match[f"{family}_homoglyph"]) or (swapped[pos] and match[f"{family}_kind"] != "none")
                if confusable and isinstance(key, str) and known:
                    notes[pos] = f"; lookalike of '{key}' (confusable characters)"
                    break
            account = skeleton(read[pos])[0].lower()  # 'kdtrеy5', a Cyrillic е: no brand, @KDTrey5's handle
            if not notes[pos] and pos < len(on_x) and on_x[pos] \
                    and self.x_accounts.popularity.get(account, 0.0) >= self._risk_popularity:
                shown = self._x_accounts_named.display[account]
                notes[pos] = f"; lookalike of X account '{shown}' (confusable characters)"
        return notes

    def _flag_lookalikes(self, frame: pd.DataFrame, rows: np.ndarray, errors: np.ndarray,
                         requested: np.ndarray) -> None:
        """A handle rejected for a confusable character (Cyrillic 'а' in 'pаypal') says what it imitates (asked on X,
        a famous X account too, as X's other account rules); ``requested``: each row's platform, as parsed."""
        raw = frame["handle"].iloc[rows]
        text = raw.where(raw.map(lambda v: isinstance(v, str)), "")
        suspects = text.map(lambda v: not v.isascii()).to_numpy()
        notes = self._imitated(text[suspects].tolist(), (requested[rows[suspects]] == "x").tolist())
        for pos, note in zip(rows[suspects], notes, strict=True):
            errors[pos] = f"{errors[pos]}{note}"

    @staticmethod
    def _as_frame(data: pd.DataFrame | list[str] | pd.Series) -> pd.DataFrame:
        if isinstance(data, pd.DataFrame):
            if "handle" not in data.columns:
                raise DataFormatError(f"input has no 'handle' column; found {list(data.columns)}")
            check_unique_columns(data.columns, read=INPUT_COLUMNS)
            return data.reset_index(drop=True)
        if isinstance(data, str | bytes):  # one handle, as value() reads it (b"pizza" was five: 112, 105, ...)
            data = [data]
        if not isinstance(data, Iterable) or isinstance(data, Mapping) or getattr(data, "ndim", 1) != 1:
            raise TypeError(f"value_many takes a DataFrame with a 'handle' column, a list, Series or 1-D array of "
                            f"handles, or one handle; not {type(data).__name__}"
                            + (f" of {data.ndim} dimensions" if hasattr(data, "ndim") else ""))
        return pd.DataFrame({"handle": pd.Series(list(data), dtype=object)})  # a lone surrogate is a row's error

    def _market_for(self, platform: str) -> tuple[str, str]:
        """The market whose sales price this platform, and the sentence that says so."""
        if platform in self.trained_platforms:
            n = self.manifest.get("market_sales", {}).get(platform)
            return platform, f"{PLATFORM_NAMES.get(platform, platform)} sales" + (f" (n={n:,})" if n else "")
        proxy = self.markets.proxy_market.get(platform)
        if proxy in self.trained_platforms:
            return proxy, (f"proxy: {PLATFORM_NAMES.get(proxy, proxy)} sales ({PLATFORM_NAMES.get(platform)} has "
                           "no public sales)")
        raise InvalidHandle(platform, f"no market for platform {platform!r}: the bundle was trained on "
                                      f"{', '.join(sorted(self.trained_platforms))}")

    def _parse(self, frame: pd.DataFrame, default_platform: str, as_of: str | pd.Timestamp | None = None
               ) -> tuple[pd.DataFrame, np.ndarray]:
        """``(parsed, errors)``: per input row the featurizer's columns (``handle, platform, suffix, venue, as_of,
        basis, requested``; platform is the market priced in, requested the platform asked for, on every row), or
        in ``errors`` why the row cannot be priced (else None).

        Rows whose handle is already canonical for its platform and that set no suffix, venue or as_of take a
        column-wise path (domains and e-mail: no venue or as_of, see :meth:`_split_plain`); the rest go through
        :func:`parse_handle` one by one, with the same result."""
        n = len(frame)
        now = default_as_of() if as_of is None else valuation_time(as_of)

        def column(name: str) -> pd.Series:
            return frame[name] if name in frame.columns else pd.Series([None] * n, dtype=object)

        given = column("platform").astype(object)
        codes, named = pd.factorize(given.where(given.notna(), "").astype(str))  # few distinct: clean each once
        fallback = platform_name(default_platform)
        cleaned = [platform_name(p, fallback) for p in named]
        plat_values = np.array(cleaned, dtype=object)[codes]
        first: dict[str, int] = {}  # each cleaned platform's first index in ``cleaned``
        plat_ids = np.array([first.setdefault(p, i) for i, p in enumerate(cleaned)], dtype=np.int64)[codes]
        # No per-row suffix, venue or as_of: blank ones mean none, as in _parse_one.
        blank = {name: _blank(column(name), strip=name != "venue") for name in ("suffix", "venue", "as_of")}
        plain = blank["suffix"] & blank["venue"] & blank["as_of"]
        parsed = {"handle": np.full(n, None, dtype=object), "platform": np.full(n, None, dtype=object),
                  "suffix": np.full(n, "", dtype=object), "venue": np.full(n, "", dtype=object),
                  "as_of": np.full(n, now.to_datetime64()), "basis": np.full(n, None, dtype=object),
                  "requested": plat_values.copy()}  # every row's, a failed one's too (its error may name an account)
        errors = np.full(n, None, dtype=object)
        columns = {name: column(name).to_numpy(dtype=object) for name in ("handle", "suffix", "venue", "as_of")}
        fast = np.zeros(n, dtype=bool)
        for plat_id in np.unique(plat_ids).tolist():
            plat = cleaned[plat_id]
            try:
                market, basis = self._market_for(plat)
            except InvalidHandle:
                continue  # the row-by-row path words the error
            rows = np.flatnonzero(plat_ids == plat_id)
            if plat in SUFFIX_SEPARATOR:
                rows, names, suffixes = self._split_plain(rows, plat, columns, blank["venue"] & blank["as_of"])
                parsed["suffix"][rows] = suffixes
            else:
                rows = rows[plain[rows]]
                rows = rows[canonical_mask(frame["handle"].iloc[rows], plat)]
                names = columns["handle"][rows]
            parsed["handle"][rows] = names
            parsed["platform"][rows], parsed["basis"][rows], parsed["requested"][rows] = market, basis, plat
            fast[rows] = True
        for i in np.flatnonzero(~fast):
            one = self._parse_one(columns["handle"][i], plat_values[i], columns["suffix"][i], columns["venue"][i],
                                  columns["as_of"][i], now)
            if isinstance(one, str):
                errors[i] = one
            else:
                for name, value in zip(("handle", "platform", "suffix", "venue", "as_of", "basis", "requested"),
                                       one, strict=True):
                    parsed[name][i] = value
        return frame_of(parsed), errors

    @staticmethod
    def _split_plain(rows: np.ndarray, plat: str, columns: dict[str, np.ndarray], plain: np.ndarray
                     ) -> tuple[np.ndarray, list[str], list[str]]:
        """``(rows, names, suffixes)`` of the domain or e-mail ``rows`` that :meth:`_parse_one` would split
        without changing a character (:func:`split_canonical`), with the same result: no venue or as_of
        (``plain``), the suffix column joined to the name as there. The rest need the row-by-row path.

        Domains in batch input usually come as name plus suffix column: ~5 µs each through the parser."""
        separator = SUFFIX_SEPARATOR[plat]
        rows = rows[plain[rows]]
        handles, suffixes = columns["handle"][rows].tolist(), columns["suffix"][rows].tolist()
        venues, as_ofs = columns["venue"][rows].tolist(), columns["as_of"][rows].tolist()
        joined: list[object] = []
        for raw, given, venue, as_of in zip(handles, suffixes, venues, as_ofs, strict=True):
            if venue is pd.NA or as_of is pd.NA or not (type(given) is str or given is None
                                                         or (type(given) is float and given != given)):
                joined.append(None)  # what _parse_one makes of these is left to it
                continue
            given = given.strip().lower() if type(given) is str else ""
            if given and type(raw) is str and separator in raw:
                joined.append(None)  # a suffix in the name and in the column: _parse_one checks they agree
                continue
            if given and type(raw) is str:
                raw = f"{raw.strip()}{separator}{given.lstrip(separator)}"
            joined.append(raw)
        canonical, names, suffixes = split_canonical(joined, plat)
        keep = np.flatnonzero(canonical).tolist()
        return rows[keep], [names[i] for i in keep], [suffixes[i] for i in keep]

    def _sold_in(self, market: str, venue: str) -> bool:
        """Whether the training sales of ``market`` sold in ``venue``'s class: a sales table priced again keeps its
        venue column (Telegram's ``fragment``, e-mail's ``dash``, a ledger's own venues)."""
        venues = getattr(self.market, "venues_", None)  # bundles from before it: every venue counts
        return venues is None or venue_class(venue) in venues.get(market, ())

    def _parse_one(self, raw: Any, plat: str, suffix: Any, venue: Any, as_of: Any, now: pd.Timestamp
                   ) -> tuple[Any, ...] | str:
        """One row: a tuple for the featurizer, or a string saying why the row cannot be priced."""
        try:
            given = str(suffix).strip().lower() if suffix is not None and suffix == suffix else ""
            separator = SUFFIX_SEPARATOR.get(plat)
            if given and not separator and plat in PLATFORM_NAMES:  # would price an unseen 'telegram:com' market
                return f"{PLATFORM_NAMES[plat]} names have no suffix (got suffix {given!r})"
            named = bool(separator and given and isinstance(raw, str) and separator in raw)
            if separator and given and isinstance(raw, str) and separator not in raw:
                raw = f"{raw.strip()}{separator}{given.lstrip(separator)}"  # name and suffix in two columns
            handle = parse_handle(raw, plat)
            if named and handle.suffix != given.lstrip(separator):
                return f"{raw.strip()!r} names its suffix {separator}{handle.suffix} and the suffix column " \
                       f"{given!r}: give the suffix once"
            market, basis = self._market_for(plat)
            if as_of is None or as_of != as_of or str(as_of).strip() == "":
                when = now
            else:
                try:
                    when = valuation_time(as_of)
                except ValueError as exc:
                    return f"as_of {exc}"
            sfx = handle.suffix or given
            venue = "" if venue is None or venue != venue else str(venue)
            if venue.strip() and plat != "domain" and plat in PLATFORM_NAMES \
                    and not self._sold_in(market, venue):  # a venue it never sold in would change nothing
                return f"{PLATFORM_NAMES[plat]} names have one market (got venue {venue!r}): a venue applies to domains"
            why = unknown_venue(venue) if plat == "domain" else None  # as `value --venue`
            if why:
                return why
            return (handle.name, market, sfx, venue, when.to_datetime64(), basis, plat)
        except InvalidHandle as exc:
            return exc.reason
        except (ValueError, TypeError, OverflowError):
            return f"as_of {as_of!r} is not a date"

    def _reasons(self, frame: pd.DataFrame, x: np.ndarray, contrib: np.ndarray, raw: np.ndarray,
                 ruled: RuledPrices, matches: pd.DataFrame, words: pd.DataFrame) -> np.ndarray:
        """The three largest contributions per row, in words and dollars, then the rest and the baseline, so that
        the amounts add up to the price.

        The market's baseline is the price the model gives before any of the name's own features; the learned
        premium over it (learned price minus baseline) is shared among the name's features in proportion to their
        path attributions (ln); each market rule (own sale, minimum, rare-handle pricing) adds what it moved, and
        takes in the shares of the features it read (:class:`~handleval.price.premium.Step` ``covers``), so that
        one fact (the name's fame, word, length or own sale) is one reason. A rule that set a price (a minimum, or
        rare-handle pricing, where it lifted the price) is its one reason above the baseline: the price does not
        depend on the features or rules before it, so they show no dollars.

        Features that read the same are one reason with their contributions summed, and so are the word features
        (:data:`~handleval.features.describe.WORD_FEATURES`), named from the row's own values in ``words`` (the
        featurizer's columns: :func:`~handleval.features.describe.describe_word`); brand and celebrity reasons name
        the matched name (``matches``: :meth:`HandleFeaturizer.matches` of the rows).
        Each distinct (feature, value) is described once, with a placeholder for the handle that is filled in
        at the end, so that the per-row work is array operations on label ids rather than string building."""
        from handleval.features.describe import (
            WORD_FEATURES,
            as_run_together,
            describe_feature,
            describe_word,
            handle_word,
        )

        # Market features set the baseline the name is priced against (market_basis says which); the reasons
        # are about the name, so they are ranked without them.
        market = np.array([is_market_feature(name) for name in self.features])
        n, n_features = contrib.shape
        n_candidates = min(6, n_features)
        order = _largest(contrib, market, n_candidates)
        rows = np.arange(n)[:, None]
        amounts = np.where(market[order], 0.0, contrib[rows, order])
        amounts[np.abs(amounts) < 1e-6] = 0.0

        # Label ids: one describe_feature call per distinct (feature, value), the handle left as a placeholder.
        cells = np.asarray(x, dtype=float)[rows, order]
        features, values, label_of_cell = _distinct_pairs(order.ravel(), cells.ravel())
        texts: dict[str, int] = {}
        label_id = np.array([texts.setdefault(describe_feature(self.features[f], v, _HANDLE), len(texts))
                             for f, v in zip(features.tolist(), values.tolist(), strict=True)], dtype=np.int64)
        labels = label_id[label_of_cell].reshape(order.shape)
        # a label seen earlier in the row takes this amount too; so do the word features among themselves (how
        # common a word the handle is: one fact, named below from the row's own values)
        is_word = np.array([name in WORD_FEATURES for name in self.features])
        keys = np.where(is_word[order], -1, labels)
        for k in range(1, n_candidates):
            for earlier in range(k):
                same = (keys[:, k] == keys[:, earlier]) & (amounts[:, k] != 0) & (amounts[:, earlier] != 0)
                amounts[same, earlier] += amounts[same, k]
                amounts[same, k] = 0.0
        # Shares of the learned premium over the market's baseline; each market rule adds what it moved and takes
        # in the candidates from the features it read (one fact, one reason), before the top three are chosen.
        name_total = np.where(market, 0.0, contrib).sum(axis=1)
        baseline = np.exp(raw - name_total)
        scale = np.divide(np.exp(ruled.learned_ln) - baseline, name_total, out=np.zeros(n),
                          where=np.abs(name_total) > 1e-9)
        rule_labels, rule_dollars = [], []
        before = ruled.learned_ln
        for step in ruled.steps:
            after = before + step.delta_ln
            moved = np.exp(after) - np.exp(before)
            for read, rows_read in step.covers.items():
                is_read = np.array([name.startswith(read) for name in self.features])
                taken = is_read[order] & (rows_read & (moved != 0))[:, None]
                moved = moved + np.where(taken, amounts * scale[:, None], 0.0).sum(axis=1)
                amounts[taken] = 0.0
            if step.sets_price:  # where it lifted a price, the price is its own: it takes in every reason before
                lifted = moved != 0
                moved = np.where(lifted, np.exp(after) - baseline, moved)
                amounts[lifted] = 0.0
                for earlier in rule_dollars:
                    earlier[lifted] = 0.0
            rule_dollars.append(moved[:, None])
            rule_labels.append(step.phrase[:, None])
            before = after
        top = np.argsort(-np.abs(amounts), axis=1, kind="stable")[:, :3]  # zeros last: shown reasons lead
        top_amounts, top_features = amounts[rows, top], order[rows, top]
        label_text = np.array(list(texts), dtype=object)
        top_labels = label_text[labels[rows, top]]

        word_cells = is_word[top_features] & (top_amounts != 0)
        if word_cells.any():
            r, k = np.nonzero(word_cells)
            values = [words[f].to_numpy(dtype=float)[r] if f in words else np.full(len(r), np.nan)
                      for f in ("dict__zipf_en", "dict__zipf_best", "dict__best_lang", "len__is_all_digits")]
            top_labels[r, k] = [describe_word(en, best, lang, _HANDLE, digits > 0) for en, best, lang, digits in
                                zip(*(v.tolist() for v in values), strict=True)]

        # Brand and celebrity phrases name the match, for the rows that show one. Their phrases always say
        # "brand" or "famous name", so naming the match cannot change which labels were merged above.
        family = np.array([name[:5] if name[:5] in ("brand", "celeb") else "" for name in self.features])
        shown = (family[top_features] != "") & (top_amounts != 0)
        if shown.any():
            r, k = np.nonzero(shown)
            j = top_features[r, k]
            names = np.empty(len(r), dtype=object)
            for prefix in np.unique(family[j]).tolist():
                mine = family[j] == prefix
                names[mine] = matches[f"{prefix}_match"].to_numpy(dtype=object)[r[mine]]
            named = np.fromiter((name is not None for name in names), dtype=bool, count=len(names))
            r, k, j, names = r[named], k[named], j[named], names[named]
            # Most of these cells are distinct (the similarity and popularity of each row's own match): describing
            # each beats finding the few repeats.
            phrases = np.empty(len(r), dtype=object)
            phrases[:] = [describe_feature(self.features[f], v, _HANDLE, m) for f, v, m
                          in zip(j.tolist(), cells[r, top[r, k]].tolist(), names.tolist(), strict=True)]
            # a run-together token wordfreq knows (``highkey``, ``bluefish``) is a sign of a name, in no lexicon:
            # its fame is no famous name's (and rare-handle pricing reads none, :func:`premium._rare_fame`)
            token = np.zeros(len(r), dtype=bool)
            for prefix in np.unique(family[j]).tolist():
                if f"{prefix}__match_kind" in words:
                    mine = family[j] == prefix
                    token[mine] = words[f"{prefix}__match_kind"].to_numpy(dtype=np.float64)[r[mine]] == COMPOUND
            phrases[token] = [as_run_together(phrase) for phrase in phrases[token].tolist()]
            brand = np.flatnonzero(family[j] == "brand")  # a short link's, a domain marketplace's: no famous name
            site = brand[pd.Series(matches["brand_key"].to_numpy(dtype=object)[r[brand]], dtype=object)
                         .isin(NOT_NAMES).to_numpy()]
            phrases[site] = [f"site rank of '{name}'" for name in names[site].tolist()]
            top_labels[r, k] = phrases

        all_labels = np.hstack([top_labels, *rule_labels])
        all_dollars = np.hstack([top_amounts * scale[:, None], *rule_dollars])
        all_dollars[np.abs(all_dollars) < 0.5] = 0.0
        pick = np.argsort(-np.abs(all_dollars), axis=1, kind="stable")[:, :3]
        dollars = all_dollars[rows, pick]
        price = np.exp(ruled.ln)
        other = price - baseline - dollars.sum(axis=1)
        labels_out = np.column_stack([all_labels[rows, pick], np.full(n, "other features", dtype=object),
                                      np.full(n, "market baseline", dtype=object)])
        money = np.column_stack([dollars, other, baseline])
        shown = np.column_stack([dollars != 0, np.abs(other) >= 0.5, np.ones(n, dtype=bool)])
        text = _join_reasons(labels_out, _money_column(money), shown)
        handles = frame["handle"].to_numpy(dtype=object)
        for i in np.flatnonzero([_HANDLE in t for t in text.tolist()]).tolist():
            text[i] = text[i].replace(_HANDLE, handle_word(handles[i]))
        return text


#: Sales features that describe the market (platform and suffix), not the name: the same for every name priced
#: there at one time ("names in this market sold for about $32", "24,617 earlier sales with the same suffix").
_MARKET_SALES_FEATURES = frozenset({"sales__market_median_logp", "sales__proxy_market", "sales__n_suffix",
                                    "sales__suffix_median_logp"})


def _naive_utc(when: pd.Timestamp) -> pd.Timestamp:
    """``when`` in UTC without its zone (a naive time is taken as UTC), as every sale time is kept."""
    return when.tz_convert(None) if when.tzinfo else when


#: A date without a time (``2025-03-13``, ``20250313``): a valuation as of a day sees that whole day's sales.
_DATE_ONLY = re.compile(r"\d{4}-?\d{2}-?\d{2}")


def valuation_time(value: object) -> pd.Timestamp:
    """The time a valuation ``as_of`` stands for: UTC without its zone; a date alone is the end of that day, as
    :func:`default_as_of` is the end of today (``--as-of 2025-03-13`` did not see that day's sales). ``ValueError``
    for what is no date (a number is none: write 2019-01-01), a time before 1678 or after 2261 (it would wrap round
    in nanoseconds) or after today (a valuation sees the sales up to a time, it does not forecast: own sales would
    age into the future)."""
    when = given_time(value)
    if when is None:
        raise ValueError(f"{value!r} is not a date or time (e.g. 2025-03-01)")
    when = _naive_utc(when)
    if isinstance(value, str) and _DATE_ONLY.fullmatch(value.strip()):
        when += pd.Timedelta(days=1)
    if not pd.Timestamp.min < when < pd.Timestamp.max:
        raise ValueError(f"{value!r} is outside the dates a price can be valued at (1678 to 2261)")
    if when > default_as_of():
        raise ValueError(f"{value!r} is after today: a valuation sees the sales up to a time, it does not forecast")
    return when


def default_as_of() -> pd.Timestamp:
    """The time a row without ``as_of`` is valued at: the end of today in UTC (naive), so that the same name gets
    the same price all day (a sold name's price moves with its sale's age)."""
    return pd.Timestamp.now("UTC").tz_localize(None).normalize() + pd.Timedelta(days=1)


def is_market_feature(name: str) -> bool:
    """Whether a feature belongs to the market baseline rather than to the name's own reasons."""
    return name.startswith("mkt__") or name in _MARKET_SALES_FEATURES


def _model_files(manifest: dict[str, Any]) -> list[str]:
    """A price bundle's model files in the Valuer's order: the point models, then the low and high quantiles."""
    return [*manifest.get("point_models", ["model.txt"]), "quantile_low.txt", "quantile_high.txt"]


def sales_history(manifest: dict[str, Any]) -> pd.DataFrame:
    """The sales a bundle's comparables are drawn from at prediction time (its sources, read from the data
    directory, and its sales ledgers, read from where they were at training time). :mod:`handleval.tracking`
    snapshots this table into a logged model so that it serves without one."""
    from handleval.config import ExtraSource
    from handleval.data import load_sales

    markets = MarketsConfig.model_validate(manifest["markets"])
    ledgers = [ExtraSource.model_validate(e) for e in manifest["config"].get("extra_sources", [])]
    return load_sales(manifest["config"]["sources"], markets=markets, extra=ledgers)[0]


def history_fingerprint(manifest: dict[str, Any], files: list[tuple[str, str | None]] | None = None
                        ) -> tuple[Any, ...]:
    """What :func:`sales_history` of this bundle depends on: the sha256 of its sources' and ledgers' files
    (``files``, from :func:`_history_files` when not given), the bundle's sources, ledgers and markets, the pandas
    and numpy versions and all of handleval's code (:func:`code_digest`). The key under which the fitted history is
    cached, so that a change to any of them rebuilds it."""
    from handleval.features._common import code_digest

    sources = list(manifest["config"]["sources"])
    ledgers = manifest["config"].get("extra_sources", [])
    files = _history_files(manifest) if files is None else files
    return code_digest(), sources, ledgers, manifest["markets"], files, pd.__version__, np.__version__


def changed_since_training(manifest: dict[str, Any], files: list[tuple[str, str | None]]) -> list[str]:
    """The sales files (of ``files``) whose sha256 is not among those the bundle was trained on, and a count of
    the trained files no longer there: comparables read the sales as they are now (an edited ledger moves prices),
    so a loader says so."""
    trained = {f.get("sha256") for info in manifest.get("training_data", {}).values() for f in info.get("files", [])}
    if not trained:
        return []
    changed = [path for path, digest in files if digest is not None and digest not in trained]
    moved = sum(digest is None for _, digest in files)  # a ledger not where it was: sales_history says so
    gone = len(trained - {digest for _, digest in files}) - len(changed) - moved  # an edited file is one of both
    return [*changed, *([f"{gone} file(s) no longer there"] if gone > 0 else [])]


def _history_files(manifest: dict[str, Any]) -> list[tuple[str, str | None]]:
    """``(path, sha256)`` of every file :func:`sales_history` reads for this bundle (None: a moved ledger)."""
    from handleval.data.sales import source_files
    from handleval.trees.bundle import sha256_file

    files = [(str(path), sha256_file(path)) for source in manifest["config"]["sources"]
             for path in source_files(source)]
    for ledger in manifest["config"].get("extra_sources", []):  # a moved ledger: sales_history says it is missing
        path = Path(ledger["path"])
        files.append((str(path), sha256_file(path) if path.is_file() else None))
    return files


def sales_digest(bundle_dir: str | Path | None = None) -> str | None:
    """sha256 of the sales a bundle's comparables come from, as they are now (None for a bundle that cannot be
    read: loading it says why). A batch run records it beside the bundle's, so that ``--resume`` refuses to
    finish a run with other sales than it began with."""
    import hashlib
    import json

    manifest_path = (Path(bundle_dir) if bundle_dir else MODELS_DIR / "price") / "manifest.json"
    try:
        files = _history_files(json.loads(manifest_path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return hashlib.sha256(json.dumps([digest for _, digest in files]).encode()).hexdigest()  # wherever they are


def _warn_if_markets_edited(bundle_dir: Path, markets: MarketsConfig, own_config: str | None) -> None:
    """Warn when the shipped ``configs/markets.yaml`` no longer matches the copy the committed bundle was trained
    with: the bundle prices by its own copy, so an edit there takes effect only after ``handleval train price``. A
    bundle trained with a markets file of its own (``own_config``) is not compared with the shipped one."""
    from handleval.config import CONFIGS_DIR, load_markets

    if own_config or bundle_dir.resolve() != (MODELS_DIR / "price").resolve() \
            or not (CONFIGS_DIR / "markets.yaml").is_file():
        return
    try:
        current = load_markets().model_dump()
    except HandlevalError:
        return  # the file's own error is train's to report; the bundle prices by its copy
    trained = markets.model_dump()
    edited = [key for key in current if current[key] != trained.get(key)]
    if edited:
        warnings.warn(f"{CONFIGS_DIR / 'markets.yaml'} differs from the copy {bundle_dir} was trained with (keys: "
                      f"{', '.join(edited)}): prices follow the bundle's copy; run `handleval train price` to apply "
                      "the edits", HandlevalWarning, stacklevel=3)


def load(bundle_dir: str | Path | None = None, *, history: pd.DataFrame | None = None,
         data_dir: str | Path | None = None) -> Valuer:
    """Load and verify a price bundle (default ``models/price``), rebuilding its featurizer on this data.

    ``history`` (a :func:`sales_history` table) and ``data_dir`` (a folder holding ``reference/`` and ``accounts/``)
    replace the data directory: an MLflow model carries both in its artifacts and serves on a machine without the
    data (one logged before the account tables were part of it prices without X's famous accounts, with a warning)."""
    from handleval.features import HandleFeaturizer
    from handleval.features._common import gc_paused
    from handleval.price.manifest import PriceManifest
    from handleval.price.market import MarketEncoder
    from handleval.price.premium import price_set_by_rule
    from handleval.trees.bundle import booster_feature_names, manifest_values, read_bundle

    if not (bundle_dir is None or isinstance(bundle_dir, str | os.PathLike)):
        raise TypeError(f"load takes a bundle folder (a path), not {type(bundle_dir).__name__}")
    if history is not None and (not isinstance(history, pd.DataFrame)
                                or not {"handle", "platform", "price_usd"} <= set(history.columns)):
        raise TypeError("history is a table of sales with handle, platform and price_usd (as sales_history "
                        f"returns), not {type(history).__name__}"
                        + (f" of columns {list(history.columns)}" if isinstance(history, pd.DataFrame) else ""))
    bundle_dir = Path(bundle_dir) if bundle_dir else MODELS_DIR / "price"
    manifest, verified = read_bundle(bundle_dir, "price")
    require_data_parts("reference", root=data_dir)  # the lexicons, where the caller gives no folder of its own
    if history is None:
        require_data_parts("sales")  # the comparables
    with manifest_values(bundle_dir):  # every value read from the manifest, before any work is done with them
        checked = PriceManifest.model_validate(manifest)
        markets = checked.markets
        params = {k: v for k, v in manifest["featurizer"].items() if k != "lexicons"}
        if data_dir is not None:
            params["data_dir"] = str(data_dir)
        featurizer = HandleFeaturizer(**params).check_params()  # the manifest's fault, said before data is read
        if data_dir is None and featurizer.data_dir is not None:  # a folder the manifest names must hold them
            require_data_parts("reference", root=featurizer.data_dir)
        lexicons = checked.featurizer.lexicons
        encoder = checked.market_encoder
        market = MarketEncoder(min_count=encoder.min_count)
        market.categories_, market.default_venue_, market.rare_ = \
            encoder.categories, encoder.default_venue, encoder.rare
        if "venues" in manifest["market_encoder"]:
            market.venues_ = encoder.venues
        files = _history_files(manifest) if history is None else []
        history_key = history_fingerprint(manifest, files) if history is None else None
        changed = changed_since_training(manifest, files) if history is None else []  # a served model's own copy
        features, model_files = checked.features, _model_files(manifest)

    _warn_if_markets_edited(bundle_dir, markets, manifest.get("config", {}).get("markets_config"))
    if changed:
        warnings.warn(f"the sales {bundle_dir} was trained on have changed since (by the manifest's sha256: "
                      f"{', '.join(changed)}): comparables and own-sale anchors read them as they are now; retrain to "
                      "price on them as trained", HandlevalWarning, stacklevel=2)

    def priced(sales: pd.DataFrame) -> pd.DataFrame:
        # a price a venue's minimum set is no evidence of value (as in training): its name's own sale only
        return sales.assign(comparable=~price_set_by_rule(sales, markets))

    with gc_paused():  # the fit builds and keeps ~10^6 small objects: the collector's passes over them are waste
        if history is None:
            featurizer.fit_history_cached(lambda: priced(sales_history(manifest)), history_key)
        else:
            featurizer.fit(priced(history))
    featurizer.check_lexicons(lexicons)
    if any(booster_feature_names(bundle_dir, verified, f) != features for f in model_files):
        raise BundleError(f"{bundle_dir}: the models' features differ from the manifest's feature list")
    texts = {f: verified[f] for f in model_files}
    if history is not None and data_dir is not None and not (Path(data_dir) / "accounts").is_dir():
        warnings.warn(f"{data_dir} holds no accounts/ (a model logged before X's famous accounts were read): priced "
                      "without them, as when it was logged", HandlevalWarning, stacklevel=2)
        x_accounts = Lexicon("x_account")
    else:  # read now: a data directory without them fails the load, not a batch
        x_accounts = load_lexicon("x_account", featurizer.data_dir, featurizer.use_cache)
    valuer = Valuer(bundle_dir, manifest, partial(_parse_boosters, bundle_dir, texts, model_files),
                    featurizer=featurizer, market=market, markets=markets, x_accounts=x_accounts)
    valuer.forest  # noqa: B018 (read from the cache, or built now: a model LightGBM cannot parse fails the load)
    return valuer


#: What :func:`pandas.api.types.infer_dtype` calls a column with numbers in it.
_NUMBERS = ("integer", "floating", "mixed-integer", "mixed-integer-float", "decimal")


def _parse_boosters(bundle_dir: Path, texts: dict[str, bytes], model_files: list[str]) -> list[Any]:
    """The verified model texts as LightGBM boosters, in the Valuer's order (a module function: a Valuer pickles)."""
    from handleval.trees.bundle import load_booster

    return [load_booster(bundle_dir, texts, f) for f in model_files]


def scoring_facts(bundle_dir: str | Path | None = None) -> dict[str, str | None]:
    """What a batch's prices rest on besides its options: the bundle's digest and that of the sales its
    comparables come from. A run's manifest records them (``--resume`` refuses others) and every Dask worker's
    scorer must have the same."""
    from handleval.trees.bundle import bundle_digest

    return {"bundle": bundle_digest(bundle_dir, "price"), "sales": sales_digest(bundle_dir)}


def batch_scorer(bundle_dir: str | None = None, platform: str = "x", reasons: bool = True,
                 attribution: Attribution = "paths", comparables: bool = False, prefix: str = "",
                 as_of: str | None = None) -> Any:
    """A chunk scorer for :func:`handleval.batch.run_batch` (built once per process or Dask worker): every input
    column, then the price columns (:meth:`Valuer.value_many`, its options and ``prefix`` as there)."""
    return _warmed(partial(load(bundle_dir)._value_many, platform=platform, reasons=reasons, attribution=attribution,
                           comparables=comparables, prefix=prefix, as_of=as_of, say_numbers=False), bundle_dir)


def outputs_scorer(bundle_dir: str | None = None, platform: str = "x", reasons: bool = True,
                   attribution: Attribution = "paths", comparables: bool = False, as_of: str | None = None) -> Any:
    """A chunk scorer that returns only the price columns (:meth:`Valuer.price_columns`), whatever the input's own
    columns are called: for a batch that declares them (``output_columns``) and names them itself (``handleval
    predict --prefix``). ``as_of``: the time of rows without one, the same for every chunk of a run."""
    return _warmed(partial(load(bundle_dir).price_columns, platform=platform, reasons=reasons,
                           attribution=attribution, comparables=comparables, as_of=as_of), bundle_dir)


def _warmed(score: Any, bundle_dir: str | None) -> Any:
    """``score`` after valuing two handles: loading the compiled kernels and building the forest (~1 s) is then
    part of the warm-up, not of the first chunk. Its ``facts`` are :func:`scoring_facts` as this process sees
    them (a Dask worker's are checked against the run's)."""
    score(pd.DataFrame({"handle": ["pizza", "jdk_19927"]}))
    score.facts = scoring_facts(bundle_dir)  # type: ignore[attr-defined]
    return score
