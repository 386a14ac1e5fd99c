"""Train the price model: time-split per market, name-grouped CV, LightGBM point and quantile models.

The flow: load the canonical sales table → hold out the newest ``test_fraction`` of each market → featurise
(comparables strictly before each sale, never the sale itself) → choose parameters by name-grouped CV on the
rest → fit point and 10%/90% quantile models → widen the quantiles with split-conformal offsets per market →
evaluate on the test split next to two baselines → write the bundle (text models + manifest + model card).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import Field

from handleval.config import (
    CONFIGS_DIR,
    StrictModel,
    data_dir,
    load_markets,
    load_model_config,
    training_output,
)
from handleval.errors import ConfigError

LENGTH_ONLY_PREFIXES = ("len__", "mkt__")


class PriceConfig(StrictModel):
    sources: list[str] = Field(default_factory=lambda: ["fragment_telegram", "namebio_domains", "dash_email"])
    markets_config: str | None = None
    seed: int = 42
    test_fraction: float = Field(0.15, gt=0, lt=0.5)
    cv_folds: int = Field(4, ge=2, le=10)
    cap_usd: float = Field(50_000, gt=0)
    mask_comparables: float = Field(0.3, ge=0, le=1)
    comparables_k: int = Field(15, ge=1, le=100)
    drop_features: list[str] = Field(default_factory=list)
    min_suffix_count: int = Field(30, ge=1)
    interval: tuple[float, float] = (0.1, 0.9)
    interval_calibration: float = Field(0.8, gt=0, lt=1)
    point_seeds: int = Field(3, ge=1, le=10, description="point models averaged (different bagging seeds)")
    max_rounds: int = Field(1500, ge=10)
    early_stopping_rounds: int = Field(80, ge=5)
    params: dict[str, Any] = Field(default_factory=dict)
    search: list[dict[str, Any]] = Field(default_factory=lambda: [{"num_leaves": 31}])
    quantile_params: dict[str, Any] = Field(
        default_factory=dict, description="overrides for the two quantile models (their rounds scale with the "
                                          "learning rate); conformal offsets correct their calibration")
    max_rows_per_source: int | None = Field(None, ge=50, description="subsample for quick runs and tests")


def load_price_config(path: str | Path | None = None) -> PriceConfig:
    return load_model_config(PriceConfig, path or CONFIGS_DIR / "price.yaml")


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


def time_split(sales: pd.DataFrame, test_fraction: float) -> pd.Series:
    """True for the newest ``test_fraction`` of each market's sales (undated sales are always training)."""
    is_test = pd.Series(False, index=sales.index)
    for _, group in sales.groupby("source"):
        dated = group["sold_at"].dropna()
        if len(dated) < 20:
            continue
        cutoff = dated.sort_values().iloc[int(np.floor(len(dated) * (1 - test_fraction)))]
        is_test.loc[dated.index[dated >= cutoff]] = True
    return is_test


def _lgb_params(cfg: PriceConfig, extra: dict[str, Any], objective: str = "regression",
                alpha: float | None = None, seed_offset: int = 0) -> dict[str, Any]:
    params = {"objective": objective, "verbosity": -1, "seed": cfg.seed + seed_offset, "deterministic": True,
              "force_row_wise": True, "num_threads": 2, **cfg.params, **extra}
    if alpha is not None:
        params["alpha"] = alpha
    return params


def _conformal_offset(scores: np.ndarray, coverage: float) -> float:
    """Split-conformal quantile of CQR scores: the widening that gives ``coverage`` on exchangeable data."""
    scores = np.sort(scores[np.isfinite(scores)])
    if len(scores) == 0:
        return 0.0
    level = min(1.0, coverage * (1 + 1 / len(scores)))
    return float(np.quantile(scores, level, method="higher"))


def train_price(
    config: PriceConfig | str | Path | None = None,
    output_dir: str | Path | None = None,
    quiet: bool = False,
) -> PriceTrainResult:
    """Train, evaluate and write the price bundle; returns metrics, predictions and the report."""
    import lightgbm as lgb
    from rich.console import Console
    from sklearn.model_selection import GroupKFold

    from handleval import __version__
    from handleval.bundle import file_fingerprint, library_versions, write_manifest
    from handleval.data import load_sales
    from handleval.data.sales import source_files, source_note
    from handleval.evaluate import attribution_agreement, metrics_table, per_market, price_plots, slices, to_markdown
    from handleval.features import HandleFeaturizer
    from handleval.forest import Forest
    from handleval.market import MarketEncoder

    started = time.perf_counter()
    console = Console(quiet=quiet)
    cfg = config if isinstance(config, PriceConfig) else load_price_config(config)
    out = Path(output_dir) if output_dir else training_output("price")
    out.mkdir(parents=True, exist_ok=True)
    markets = load_markets(cfg.markets_config)
    root = data_dir()

    with console.status("loading sales"):
        sales, load_report = load_sales(cfg.sources, markets=markets, root=root)
    if cfg.max_rows_per_source:
        sales = pd.concat([g.sample(min(len(g), cfg.max_rows_per_source), random_state=cfg.seed)
                           for _, g in sales.groupby("source", sort=True)])
    sales = sales.sort_values(["source", "sold_at"], kind="stable").reset_index(drop=True)
    cap = np.log(cfg.cap_usd)
    sales["y"] = np.minimum(np.log(sales["price_usd"].to_numpy()), cap)
    is_test = time_split(sales, cfg.test_fraction)
    train, test = sales[~is_test].reset_index(drop=True), sales[is_test].reset_index(drop=True)
    console.print(f"sales: {len(sales):,} rows; train {len(train):,}, test {len(test):,} (newest "
                  f"{cfg.test_fraction:.0%} per market)")

    with console.status("featurising"):
        # Training rows: comparables strictly before each sale's own date, never itself; a random share hidden.
        featurizer = HandleFeaturizer(random_state=cfg.seed, mask_rate=cfg.mask_comparables,
                                      k=cfg.comparables_k)
        x_train_h = featurizer.fit_transform(train)
        # Test rows: comparables from training sales strictly before each test sale.
        x_test_h = featurizer.transform(test.assign(as_of=test["sold_at"]))
        market = MarketEncoder(min_count=cfg.min_suffix_count).fit(train)
        x_train = pd.concat([x_train_h.reset_index(drop=True), market.transform(train)], axis=1)
        x_test = pd.concat([x_test_h.reset_index(drop=True), market.transform(test)], axis=1)
    unknown = sorted(set(cfg.drop_features) - set(x_train.columns))
    if unknown:
        raise ConfigError(f"drop_features names unknown features: {unknown}")
    x_train, x_test = x_train.drop(columns=cfg.drop_features), x_test.drop(columns=cfg.drop_features)
    features = list(x_train.columns)
    categorical = [c for c in features if c.startswith("mkt__")]
    y_train, groups = train["y"].to_numpy(), train["handle"].to_numpy()

    # Parameter search by name-grouped CV: a name never sits in both the fitting and the scoring fold.
    folds = list(GroupKFold(n_splits=cfg.cv_folds).split(x_train, y_train, groups))
    best: tuple[float, dict[str, Any], int] | None = None
    for extra in cfg.search:
        scores, rounds = [], []
        for fit_idx, val_idx in folds:
            booster = lgb.train(
                _lgb_params(cfg, extra), lgb.Dataset(x_train.iloc[fit_idx], y_train[fit_idx],
                                                     categorical_feature=categorical),
                num_boost_round=cfg.max_rounds,
                valid_sets=[lgb.Dataset(x_train.iloc[val_idx], y_train[val_idx], categorical_feature=categorical)],
                callbacks=[lgb.early_stopping(cfg.early_stopping_rounds, verbose=False)])
            pred = booster.predict(x_train.iloc[val_idx], num_iteration=booster.best_iteration)
            scores.append(float(np.sqrt(np.mean((pred - y_train[val_idx]) ** 2))))
            rounds.append(booster.best_iteration)
        mean_score = float(np.mean(scores))
        console.print(f"  cv {extra}: rmse_ln {mean_score:.4f} ({int(np.mean(rounds))} rounds)")
        if best is None or mean_score < best[0]:
            best = (mean_score, extra, max(10, int(np.mean(rounds))))
    assert best is not None
    cv_rmse, best_extra, n_rounds = best

    def fit(x: pd.DataFrame, y: np.ndarray, objective: str = "regression", alpha: float | None = None,
            seed_offset: int = 0) -> lgb.Booster:
        extra, rounds = best_extra, n_rounds
        if objective == "quantile" and cfg.quantile_params:
            extra = {**best_extra, **cfg.quantile_params}
            point_rate = _lgb_params(cfg, best_extra).get("learning_rate", 0.1)
            rounds = max(10, round(n_rounds * point_rate / _lgb_params(cfg, extra).get("learning_rate", 0.1)))
        return lgb.train(_lgb_params(cfg, extra, objective, alpha, seed_offset),
                         lgb.Dataset(x, y, categorical_feature=[c for c in categorical if c in x.columns]),
                         num_boost_round=rounds)

    # Conformal offsets per platform from out-of-fold quantile predictions (CQR).
    lo_q, hi_q = cfg.interval
    oof_lo, oof_hi = np.zeros(len(train)), np.zeros(len(train))
    with console.status("fitting quantile models for conformal offsets"):
        for fit_idx, val_idx in folds[:2]:
            xv = x_train.iloc[val_idx]
            oof_lo[val_idx] = fit(x_train.iloc[fit_idx], y_train[fit_idx], "quantile", lo_q).predict(xv)
            oof_hi[val_idx] = fit(x_train.iloc[fit_idx], y_train[fit_idx], "quantile", hi_q).predict(xv)
    scored = np.zeros(len(train), dtype=bool)
    for _, val_idx in folds[:2]:
        scored[val_idx] = True
    cqr = np.maximum(oof_lo - y_train, y_train - oof_hi)
    offsets = {p: _conformal_offset(cqr[scored & (train["platform"] == p).to_numpy()], cfg.interval_calibration)
               for p in sorted(train["platform"].unique())}

    with console.status("fitting final models"):
        # The point price averages a few models that differ only in their bagging seed: on a single time split
        # the metrics of one model move by about +-0.01 with the seed; the average is steadier.
        points = [fit(x_train, y_train, seed_offset=i) for i in range(cfg.point_seeds)]
        low_model = fit(x_train, y_train, "quantile", lo_q)
        high_model = fit(x_train, y_train, "quantile", hi_q)
        length_cols = [c for c in features if c.startswith(LENGTH_ONLY_PREFIXES)]
        length_only = fit(x_train[length_cols], y_train)

    test = test.copy()
    test["pred"] = np.minimum(np.mean([p.predict(x_test) for p in points], axis=0), cap)
    off = test["platform"].map(offsets).fillna(max(offsets.values())).to_numpy()
    low = np.minimum(low_model.predict(x_test), test["pred"])
    high = np.maximum(high_model.predict(x_test), test["pred"])
    test["low"], test["high"] = low - off, np.minimum(high + off, cap)
    medians = train.groupby("source")["y"].median()
    test["baseline_median"] = test["source"].map(medians)
    test["baseline_length"] = np.minimum(length_only.predict(x_test[length_cols]), cap)

    metrics = {
        "model": per_market(test, "pred", "low", "high"),
        "baseline_market_median": per_market(test, "baseline_median"),
        "baseline_length_pattern": per_market(test, "baseline_length"),
    }
    slice_table = slices(test, "pred")
    importance = pd.Series(np.mean([p.feature_importance("gain") for p in points], axis=0), index=features)
    # Reasons rank path attributions (one pass); say how often they rank features as exact TreeSHAP would.
    paths = Forest.from_boosters(points, n_explained=len(points)).predict(x_test)[1] / len(points)
    shap = np.mean([p.predict(x_test, pred_contrib=True)[:, :-1] for p in points], axis=0)
    agreement = attribution_agreement(paths, shap, [j for j, c in enumerate(features) if c in categorical])

    # Bundle: text models, manifest with everything needed to rebuild features, model card.
    point_files = ["model.txt", *[f"model_seed{i}.txt" for i in range(1, len(points))]]
    for stale in out.glob("model_seed*.txt"):
        stale.unlink()
    for name, booster in (*zip(point_files, points, strict=True), ("quantile_low.txt", low_model),
                          ("quantile_high.txt", high_model)):
        booster.save_model(str(out / name))
    fingerprints = {s: file_fingerprint(source_files(s, root), root) for s in cfg.sources}
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
                           "rare": market.rare_, "default_venue": market.default_venue_},
        "n_rounds": n_rounds,
        "point_models": point_files,
        "chosen_params": best_extra,
        "cv_rmse_ln": cv_rmse,
        "conformal_offsets_ln": offsets,
        "cap_usd": cfg.cap_usd,
        "training_data": {
            s: {"rows_loaded": load_report.sources[s].rows_loaded, "rows_train": int((train["source"] == s).sum()),
                "rows_test": int((test["source"] == s).sum()), "files": fingerprints[s],
                "licence": source_note(root / "sales" / s)["licence_full"],
                "sold_at": [str(sales.loc[sales["source"] == s, "sold_at"].min()),
                            str(sales.loc[sales["source"] == s, "sold_at"].max())]}
            for s in cfg.sources},
        "split": {"test_fraction": cfg.test_fraction, "test_from": {
            s: str(g["sold_at"].min()) for s, g in test.groupby("source")}},
        "metrics": metrics,
        "reasons_vs_treeshap": agreement,
        "libraries": library_versions("lightgbm", "scikit-learn", "pandas", "numpy", "rapidfuzz", "wordfreq"),
    }
    table = metrics_table(metrics)
    report = to_markdown(table)
    plots = price_plots(test, importance, out / "plots")
    from handleval.model_card import price_model_card

    (out / "MODEL_CARD.md").write_text(price_model_card(manifest, table, slice_table), encoding="utf-8")
    write_manifest(out, manifest, [*point_files, "quantile_low.txt", "quantile_high.txt"])
    seconds = time.perf_counter() - started
    console.print(report)
    console.print(f"bundle written to {out} in {seconds:.1f} s")
    return PriceTrainResult(out, manifest, metrics, slice_table, test, report, plots, seconds)
