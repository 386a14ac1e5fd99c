"""Metrics for the price model, per market and per slice, and the plots a reviewer looks at.

All errors are in ln(USD): a market's prices span four orders of magnitude, and a ×2 miss on a $20 name is
as wrong as a ×2 miss on a $20,000 name.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from handleval.config import Target

LENGTH_BINS = [0, 3, 4, 5, 6, 8, 10, 15, 1000]
LENGTH_LABELS = ["1-3", "4", "5", "6", "7-8", "9-10", "11-15", "16+"]
PRICE_BANDS = [0, 10, 100, 1_000, 10_000, np.inf]
PRICE_LABELS = ["<$10", "$10-100", "$100-1k", "$1k-10k", "$10k+"]


def regression_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, low: np.ndarray | None = None, high: np.ndarray | None = None
) -> dict[str, float]:
    """RMSE/MAE of ln price, R², Spearman ρ, share within 2×, and interval coverage when given."""
    y_true = np.asarray(y_true, dtype=float)
    y_pred = np.asarray(y_pred, dtype=float)
    err = y_pred - y_true
    n = len(y_true)
    out: dict[str, float] = {"n": float(n)}
    if n == 0:
        return out
    out["rmse_ln"] = float(np.sqrt(np.mean(err**2)))
    out["mae_ln"] = float(np.mean(np.abs(err)))
    var = float(np.var(y_true))
    out["r2"] = float(1 - np.mean(err**2) / var) if var > 0 else float("nan")
    rho = spearmanr(y_true, y_pred).statistic if n > 2 and np.ptp(y_pred) > 0 and np.ptp(y_true) > 0 else np.nan
    out["spearman"] = float(rho)
    out["within_2x"] = float(np.mean(np.abs(err) <= np.log(2)))
    if low is not None and high is not None:
        out["coverage_10_90"] = float(np.mean((y_true >= np.asarray(low)) & (y_true <= np.asarray(high))))
        out["interval_width_ln"] = float(np.mean(np.asarray(high) - np.asarray(low)))
    return out


def per_market(frame: pd.DataFrame, pred: str, low: str | None = None, high: str | None = None,
               market: str = "source", target: str = "y") -> dict[str, dict[str, float]]:
    """``regression_metrics`` for each market and for all rows together."""
    out = {}
    for name, group in [*frame.groupby(market, sort=True), ("all", frame)]:
        out[str(name)] = regression_metrics(
            group[target].to_numpy(), group[pred].to_numpy(),
            group[low].to_numpy() if low else None, group[high].to_numpy() if high else None)
    return out


def slices(frame: pd.DataFrame, pred: str, market: str = "source", target: str = "y") -> pd.DataFrame:
    """RMSE ln and bias by market × name length and market × price band (of the true price)."""
    frame = frame.assign(
        length_bin=pd.cut(frame["handle"].str.len(), LENGTH_BINS, labels=LENGTH_LABELS),
        price_band=pd.cut(np.exp(frame[target]), PRICE_BANDS, labels=PRICE_LABELS),
    )
    rows = []
    for kind in ("length_bin", "price_band"):
        for (mkt, value), group in frame.groupby([market, kind], observed=True):
            err = group[pred] - group[target]
            rows.append({"market": mkt, "slice": kind.replace("_bin", "").replace("_band", " band"),
                         "value": str(value), "n": len(group), "rmse_ln": float(np.sqrt(np.mean(err**2))),
                         "bias_ln": float(np.mean(err))})
    return pd.DataFrame(rows)


def metrics_table(metrics: dict[str, dict[str, dict[str, float]]], keys: tuple[str, ...] = (
        "n", "rmse_ln", "mae_ln", "r2", "spearman", "within_2x", "coverage_10_90")) -> pd.DataFrame:
    """Flatten {model: {market: metrics}} into one table for printing and the model card."""
    rows = []
    for model, markets in metrics.items():
        for market, values in markets.items():
            rows.append({"model": model, "market": market, **{k: values.get(k, np.nan) for k in keys}})
    return pd.DataFrame(rows)


def attribution_agreement(paths: np.ndarray, shap: np.ndarray, ignore: list[int]) -> dict[str, float]:
    """How often path attributions rank the features as exact TreeSHAP does (``ignore``: columns reasons leave
    out): the same top feature, the path top feature within SHAP's top three, and the overlap of the top threes."""
    a, b = np.abs(paths).astype(float), np.abs(shap).astype(float)
    a[:, ignore] = b[:, ignore] = -1.0
    top_a, top_b = np.argsort(-a, axis=1)[:, :3], np.argsort(-b, axis=1)[:, :3]
    overlap = (top_a[:, :, None] == top_b[:, None, :]).any(axis=2)
    return {"top1_same": float((top_a[:, 0] == top_b[:, 0]).mean()),
            "top1_in_shap_top3": float(overlap[:, 0].mean()),
            "top3_overlap": float(overlap.mean())}


#: What a config's ``targets`` and ``goals`` can name (:func:`bar_values`): ``mean_rmse_ln``; per market (a source's
#: name) these headline metrics, e.g. ``fragment_telegram.rmse_vs_median``; and the premium-name checks, e.g.
#: ``tiers.spearman``.
MARKET_BARS = ("rmse_ln", "rmse_vs_median", "spearman", "coverage_10_90")
CHECK_BARS = {"tiers": ("n", "spearman", "median_A", "median_B", "median_C", "median_D", "median_E", "inversions"),
              "high_end": ("n", "spearman", "median_ratio", "median_actual_usd", "median_price_usd"),
              "repeat_sales": ("n", "within_2x", "within_2x_learned_only")}


def unknown_bars(metrics: Sequence[str], markets: Sequence[str] | None = None) -> list[str]:
    """The names among ``metrics`` that no training measures: each must be ``mean_rmse_ln``, a check or a market's
    metric (with ``markets``, of one of those markets; without, of any name, as a config read before its sales
    ledgers are known allows)."""
    checks = {f"{group}.{k}" for group, keys in CHECK_BARS.items() for k in keys}

    def known(metric: str) -> bool:
        market, _, key = metric.rpartition(".")
        return metric == "mean_rmse_ln" or metric in checks or (
            bool(market) and key in MARKET_BARS and (markets is None or market in markets))

    return [m for m in metrics if not known(m)]


def bar_values(metrics: dict[str, dict[str, dict[str, float]]], checks: dict[str, dict[str, float]]
               ) -> dict[str, float]:
    """The values bars are judged on, by the names :func:`unknown_bars` accepts: the card, the training output and the
    registry's champion rule all read these, so a bar is met in one exactly when it is met in the others."""
    values = price_headline(metrics) if metrics else {}
    for group, found in checks.items():
        values.update({f"{group}.{k}": v for k, v in found.items()})
    return values


def price_headline(metrics: dict[str, dict[str, dict[str, float]]]) -> dict[str, float]:
    """Per market: RMSE ln, RMSE relative to the market-median baseline (-0.25 = 25% lower), Spearman ρ and
    10–90% coverage; and the primary metric, mean RMSE ln over markets."""
    model, median = metrics["model"], metrics["baseline_market_median"]
    markets = [m for m in model if m != "all"]
    out = {"mean_rmse_ln": float(np.mean([model[m]["rmse_ln"] for m in markets]))}
    for m in markets:
        out[f"{m}.rmse_ln"] = model[m]["rmse_ln"]
        out[f"{m}.rmse_vs_median"] = model[m]["rmse_ln"] / median[m]["rmse_ln"] - 1
        out[f"{m}.spearman"] = model[m].get("spearman", float("nan"))
        if "coverage_10_90" in model[m]:
            out[f"{m}.coverage_10_90"] = model[m]["coverage_10_90"]
    return out


def high_end_metrics(test: pd.DataFrame, cap_usd: float) -> dict[str, float]:
    """The held-out high end of the domain market: DN Journal's dated reported sales in the test split (the newest
    year-end charts), priced in their venue (``reported``). Spearman between the price and the actual price
    (uncapped), and the median of price / actual with the actual capped at the cap (a sale above the cap is right
    when priced at the cap). NameBio's $5,000+ rows are left out: chosen by their own price, any model's ratio on
    them is below 1 by construction."""
    top = test[test["source"] == "dnjournal_domains"]
    if len(top) < 3:
        return {"n": float(len(top))}
    price = np.exp(top["pred"].to_numpy())
    actual = top["price_usd"].to_numpy(dtype=float)
    return {"n": float(len(top)), "spearman": float(spearmanr(price, actual).statistic),
            "median_ratio": float(np.median(price / np.minimum(actual, cap_usd))),
            "median_actual_usd": float(np.median(actual)), "median_price_usd": float(np.median(price))}


def repeat_sale_metrics(test: pd.DataFrame) -> dict[str, float]:
    """Held-out sales of names that sold before (in the training history, in the same market): share priced within
    2x of the actual (capped) price, against the learned price alone and against the last sale alone."""
    again = test[test["own_sale"]]
    if not len(again):
        return {"n": 0.0}
    within = lambda col: float(np.mean(np.abs(again[col] - again["y"]) <= np.log(2)))  # noqa: E731
    return {"n": float(len(again)), "within_2x": within("pred"), "within_2x_learned_only": within("learned")}


def checks_text(checks: dict[str, dict[str, float]], metrics: dict[str, Any], goals: Sequence[Target],
                word: str = "goal") -> str:
    """Each goal (or champion ``target``) against its value, one line each: a check (``tiers.spearman``) or a
    headline metric (``fragment_telegram.rmse_vs_median``, :func:`price_headline`)."""
    values = bar_values(metrics, checks)
    return "\n".join(goal.verdict(values.get(goal.metric), word) for goal in goals)


def price_plots(test: pd.DataFrame, importance: pd.Series, out_dir: Path, tiers: pd.DataFrame | None = None
                ) -> list[Path]:
    """Predicted vs actual per market, residuals by length, interval coverage, importance, price by length, and
    the common-sense tiers' prices on X."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    markets = sorted(test["source"].unique())

    fig, axes = plt.subplots(1, len(markets), figsize=(5 * len(markets), 4.5), squeeze=False)
    for ax, market in zip(axes[0], markets, strict=True):
        g = test[test["source"] == market]
        ax.scatter(g["y"], g["pred"], s=6, alpha=0.4)
        lo, hi = float(min(g["y"].min(), g["pred"].min())), float(max(g["y"].max(), g["pred"].max()))
        ax.plot([lo, hi], [lo, hi], "k--", lw=1)
        ax.set(title=f"{market} (n={len(g)})", xlabel="actual ln(USD)", ylabel="predicted ln(USD)")
    fig.tight_layout()
    paths.append(_save(fig, out_dir / "predicted_vs_actual.png"))

    fig, ax = plt.subplots(figsize=(8, 4.5))
    test = test.assign(length=test["handle"].str.len().clip(upper=20), resid=test["pred"] - test["y"])
    for market in markets:
        g = test[test["source"] == market].groupby("length")["resid"].agg(["mean", "std"])
        ax.errorbar(g.index, g["mean"], yerr=g["std"], label=market, capsize=2, marker="o", ms=3)
    ax.axhline(0, color="k", lw=1)
    ax.set(title="residual (pred - actual, ln) by name length", xlabel="length (20 = 20+)", ylabel="residual")
    ax.legend()
    paths.append(_save(fig, out_dir / "residuals_by_length.png"))

    fig, ax = plt.subplots(figsize=(6, 4.5))
    cover = test.assign(inside=(test["y"] >= test["low"]) & (test["y"] <= test["high"]))
    rates = cover.groupby("source")["inside"].mean()
    ax.bar(rates.index, rates.values)
    ax.axhspan(0.7, 0.9, color="green", alpha=0.15, label="target 70-90%")
    ax.axhline(0.8, color="k", lw=1, ls="--")
    ax.set(ylim=(0, 1), title="10-90% interval coverage on the test split", ylabel="share of sales inside")
    ax.legend()
    paths.append(_save(fig, out_dir / "interval_coverage.png"))

    fig, ax = plt.subplots(figsize=(7, 8))
    top = importance.sort_values().tail(25)
    ax.barh(top.index, top.values)
    ax.set(title="feature importance (total gain)", xlabel="gain")
    fig.tight_layout()
    paths.append(_save(fig, out_dir / "feature_importance.png"))

    fig, ax = plt.subplots(figsize=(8, 4.5))
    for market in markets:
        g = test[test["source"] == market].groupby("length")
        ax.plot(g["y"].median().index, np.exp(g["y"].median()), marker="o", label=f"{market} actual")
        ax.plot(g["pred"].median().index, np.exp(g["pred"].median()), ls="--", label=f"{market} predicted")
    ax.set_yscale("log")
    ax.set(title="median price by name length (test split)", xlabel="length", ylabel="USD")
    ax.legend(fontsize=7)
    paths.append(_save(fig, out_dir / "price_by_length.png"))

    if tiers is not None:
        from handleval.price.tiers import TIER_NAMES, TIERS

        fig, ax = plt.subplots(figsize=(8, 4.5))
        data = [tiers.loc[tiers["tier"] == t, "price_usd"].dropna().to_numpy() for t in TIERS]
        ax.boxplot(data, tick_labels=[f"{t}: {TIER_NAMES[t]}" for t in TIERS])
        ax.set_yscale("log")
        ax.tick_params(axis="x", labelsize=7)
        ax.set(title="price on X by common-sense tier (A should be highest)", ylabel="USD")
        paths.append(_save(fig, out_dir / "tiers_on_x.png"))
    return paths


def _save(fig: Any, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(fig)
    return path
