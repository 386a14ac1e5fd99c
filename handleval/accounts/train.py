"""Train the account models: a bot classifier evaluated leave-one-dataset-out, and a dormancy estimate.

The flow: load the canonical account table (ids de-duplicated across sets) -> features that every training
set provides (see ``AccountFeaturizer``) -> weights that balance sets and classes (a few big single-source
collections must not define "bot") -> leave-one-dataset-out (LODO) evaluation, the only honest measure here
(in-set accuracy on Cresci-2017 is ~98% for a one-split tree) -> out-of-fold scores where every set is scored
by a model that never saw it -> isotonic/Platt calibration and a threshold from the precision target on those
-> the final model on all sets -> the dormancy model (only sets with a known last activity) -> the bundle:
LightGBM text models, ``manifest.json`` (JSON numbers only, no pickle) and ``MODEL_CARD.md``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from handleval._markdown import to_markdown
from handleval.accounts.features import FEATURE_INPUTS, AccountFeaturizer, compute_features, prepare_accounts
from handleval.accounts.flag import (  # what a bundle holds and how its scores are read: the flagger's side
    BOT_MODEL_FILE,
    BOT_TYPES,
    BUNDLE_KIND,
    DORMANCY_MODEL_FILE,
    TYPE_MODEL_FILE,
    apply_calibration,
    logit,
)
from handleval.config import CONFIGS_DIR, Promotion, StrictModel, Target, load_model_config, training_output
from handleval.config import data_dir as default_data_dir
from handleval.data.accounts import (
    SOURCE_PRIORITY,
    UNAVAILABLE_COLUMNS,
    account_set_files,
    accounts_folder,
    load_account_table,
)
from handleval.errors import ConfigError, repeated

# Published numbers to read the LODO results against (accounts/_baselines/BASELINES.md). All but the
# BotometerLite row are IN-DATASET numbers (random splits / CV on the same collection): an upper bound that
# LODO is not expected to reach (the vendor row's Botometer-v4 number and the Cresci family's LOBO number are
# cross-dataset, as said in each). "Hays' compilation": as Hays et al. 2023 compiled them, not checked here against
# the primary paper (no access offline).
PUBLISHED_BASELINES: dict[str, str] = {
    "cresci2017": "in-set: depth-1 tree acc 0.977 (Hays 2023); SGBot F1 0.946, BotHunter F1 0.916 (TwiBot-22)",
    "cresci2015_bas": "in-set: depth-1 tree acc 0.919 (Hays 2023); SGBot F1 0.779, Lee 2011 F1 0.986 (TwiBot-22)",
    "kaggle_bots_2017": "no published benchmark; in-set RF on 5 counts AUC 0.956 (sanity check in its SOURCE.txt)",
    "twitter_human_bots_2020_subset": "in-set RF on 4 counts AUC 0.913 (its SOURCE.txt); its lists: stock-2018 "
    "depth-4 acc 0.822, gilani-2017 0.790 (Hays 2023)",
    "botwiki2019 + verified2019": "BotometerLite (Yang 2020) AUC botwiki-2019 0.99, CV or cross-domain unclear "
    "(Hays' compilation)",
    "vendor2019 + verified2019": "no published number for this pair; Botometer-v4 overall LODO-style F1 0.77 "
    "(Sayyadiharikandeh 2020, Hays' compilation)",
    "cresci family (2015 + 2017)": "in-set only (see the two Cresci rows); LOBO (Echeverria 2018) pooled AUC 0.98",
    "pronbots2019 + verified2019": "no published number for this pair in the baselines compiled with the data",
    "political2019 + verified2019": "no published number (62 bots of one operator: a bot type, not a benchmark)",
}


class LgbmParams(StrictModel):
    num_boost_round: int = Field(300, ge=10, le=5000)
    learning_rate: float = Field(0.05, gt=0, le=1)
    num_leaves: int = Field(15, ge=2, le=255)
    min_child_samples: int = Field(50, ge=1)
    feature_fraction: float = Field(0.8, gt=0, le=1)
    bagging_fraction: float = Field(0.8, gt=0, le=1)
    bagging_freq: int = Field(1, ge=0)
    lambda_l2: float = Field(1.0, ge=0)


class DormancyConfig(StrictModel):
    policy_days: int = Field(30, ge=1, le=3650)
    num_boost_round: int = Field(150, ge=10, le=5000)
    num_leaves: int = Field(7, ge=2, le=255)
    min_child_samples: int = Field(40, ge=1)
    learning_rate: float = Field(0.05, gt=0, le=1)


class TypeConfig(StrictModel):
    """The bot-type model (multiclass over ``BOT_TYPES``, trained on bots whose set names their type)."""

    num_boost_round: int = Field(150, ge=10, le=5000)
    num_leaves: int = Field(15, ge=2, le=255)
    min_child_samples: int = Field(30, ge=1)
    learning_rate: float = Field(0.05, gt=0, le=1)
    feature_fraction: float = Field(0.8, gt=0, le=1)
    lambda_l2: float = Field(1.0, ge=0)


#: Summary metrics a config's targets and goals can name (:func:`bar_values`), besides each held-out unit's AUC,
#: ``<unit>.auc`` (``cresci2017.auc``).
SUMMARY_BARS = ("mean_lodo_auc", "lodo_min_auc", "lodo_min_auc_two_class", "ece_uncalibrated", "ece_calibrated")


class AccountsConfig(StrictModel):
    seed: int = Field(0, ge=0, lt=2**32)
    sets: list[str] = Field(default_factory=lambda: list(SOURCE_PRIORITY), min_length=2)
    balancing: Literal["per_set_and_class", "none"] = "per_set_and_class"
    drop_features: list[str] = Field(default_factory=list)
    lgbm: LgbmParams = Field(default_factory=LgbmParams)
    lodo: dict[str, list[str]] = Field(default_factory=dict)
    calibration: Literal["isotonic", "platt"] = "isotonic"
    precision_target: float = Field(0.9, gt=0.5, lt=1)
    dormancy: DormancyConfig = Field(default_factory=DormancyConfig)
    types: TypeConfig = Field(default_factory=TypeConfig)
    max_rows_per_set: int | None = Field(None, ge=100, description="subsample for quick runs and tests")
    targets: list[Target] = Field(default_factory=list, description="the champion rule's bars (handleval.tracking)")
    goals: list[Target] = Field(default_factory=list, description="bars reported in the card and the training "
                                                                  "output, not gating the champion")
    promotion: Promotion = Field(default_factory=Promotion)

    @model_validator(mode="after")
    def _trainable(self) -> AccountsConfig:
        """Values each field accepts alone but that name sets, features or metrics training does not have."""
        unknown = [s for s in self.sets if s not in UNAVAILABLE_COLUMNS]
        if unknown:
            raise ValueError(f"unknown set(s) {', '.join(unknown)}; known: {', '.join(SOURCE_PRIORITY)}")
        twice = repeated(self.sets)
        if twice:
            raise ValueError(f"sets lists {', '.join(twice)} twice")
        for unit, held in self.lodo.items():
            if not held:
                raise ValueError(f"lodo unit {unit!r} holds out no set")
            bad = [s for s in held if s not in self.sets]
            if bad:
                raise ValueError(f"lodo unit {unit!r} holds out set(s) not trained on: {', '.join(bad)} (set lodo "
                                 "too, e.g. `lodo: {}` to hold out each two-class set alone)")
        bad_features = set(self.drop_features) - set(FEATURE_INPUTS)
        if bad_features:
            raise ValueError(f"unknown feature(s) in drop_features: {', '.join(sorted(bad_features))}")
        if set(FEATURE_INPUTS) <= set(self.drop_features):
            raise ValueError("drop_features leaves no feature to learn from")
        units = list(self.lodo) or self.sets
        known = {*SUMMARY_BARS, *(f"{unit}.auc" for unit in units)}
        for word, bars in (("targets", self.targets), ("goals", self.goals)):
            strays = [bar.metric for bar in bars if bar.metric not in known]
            if strays:
                raise ValueError(f"{word} name {', '.join(strays)}, which training does not measure. A bar names "
                                 f"{', '.join(SUMMARY_BARS)} or a held-out unit's AUC (e.g. {units[0]}.auc)")
        return self


def bar_values(metrics: dict[str, Any]) -> dict[str, float]:
    """The values bars are judged on, by name: the card, the training output and the registry's champion rule all
    read these, so a bar is met in one exactly when it is met in the others."""
    aucs = {f"{row['held_out']}.auc": float(row["auc"]) for row in metrics.get("lodo", [])}
    values = {k: float(metrics[k]) for k in SUMMARY_BARS if k in metrics}
    measured = [v for v in aucs.values() if v == v]
    values["mean_lodo_auc"] = float(np.mean(measured)) if measured else float("nan")
    return values | aucs


def load_accounts_config(path: str | Path | None = None) -> AccountsConfig:
    shipped = CONFIGS_DIR / "accounts.yaml"  # a file of your own changes the keys it names
    return load_model_config(AccountsConfig, path or shipped, shipped=shipped)


@dataclass
class AccountsTrainResult:
    """Everything a caller (CLI, MLflow tracking, tests) needs from one training run."""

    bundle_dir: Path
    manifest: dict[str, Any]
    metrics: dict[str, Any]
    lodo: pd.DataFrame
    type_confusion: pd.DataFrame
    calibration_curve: pd.DataFrame
    dormancy_eval: pd.DataFrame
    report_markdown: str
    figures: list[Path] = field(default_factory=list)
    seconds: float = 0.0
    #: the folder the manifest's data file paths are relative to
    data_root: Path | None = None


# --------------------------------------------------------------------------------------------- building blocks
def usable_inputs_excluded(sets: list[str]) -> tuple[str, ...]:
    """Raw columns some training set lacks entirely: features needing them would identify that set."""
    missing: set[str] = set()
    for s in sets:
        missing |= UNAVAILABLE_COLUMNS.get(s, frozenset())
    return tuple(sorted(missing))


def sample_weights(sets: np.ndarray, y: np.ndarray, scheme: str = "per_set_and_class") -> np.ndarray:
    """Every set the same total weight, split equally between its classes; then both classes the same total.
    Mean weight is 1, so LightGBM's ``min_child_samples``-style settings keep their meaning."""
    n = len(y)
    if scheme == "none":
        return np.ones(n)
    frame = pd.DataFrame({"s": sets, "y": y})
    cell = frame.groupby(["s", "y"])["y"].transform("size").to_numpy(float)
    n_cls = frame.groupby("s")["y"].transform("nunique").to_numpy(float)
    w = 1.0 / (cell * n_cls)
    for cls in (0, 1):
        m = y == cls
        if m.any():
            w[m] *= (n / 2) / w[m].sum()
    return w * n / w.sum()


def lgb_params(p: LgbmParams | DormancyConfig | TypeConfig, seed: int) -> dict[str, Any]:
    params = {k: v for k, v in p.model_dump().items() if k not in ("num_boost_round", "policy_days")}
    objective = {"objective": "multiclass", "num_class": len(BOT_TYPES)} if isinstance(p, TypeConfig) \
        else {"objective": "binary"}
    return {**objective, "verbose": -1, "seed": seed, "num_threads": 2, "deterministic": True,
            "force_col_wise": True, **params}


def fit_booster(x: pd.DataFrame, y: np.ndarray, w: np.ndarray | None, p: LgbmParams | DormancyConfig | TypeConfig,
                seed: int) -> Any:
    import lightgbm as lgb

    data = lgb.Dataset(x, label=y, weight=w, free_raw_data=True)
    return lgb.train(lgb_params(p, seed), data, num_boost_round=p.num_boost_round)


def binary_metrics(y: np.ndarray, p: np.ndarray, threshold: float) -> dict[str, float]:
    from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score

    pred = p >= threshold
    out = {"n": float(len(y)), "bot_share": float(np.mean(y)) if len(y) else float("nan")}
    out["auc"] = float(roc_auc_score(y, p)) if len(np.unique(y)) == 2 else float("nan")
    out["precision"] = float(precision_score(y, pred, zero_division=0))
    out["recall"] = float(recall_score(y, pred, zero_division=0))
    out["f1"] = float(f1_score(y, pred, zero_division=0))
    return out


def lodo_evaluate(x: pd.DataFrame, y: np.ndarray, sets: np.ndarray, units: dict[str, list[str]],
                  cfg: AccountsConfig) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """For each unit: train on every other set, score the held-out set(s). Metrics at 0.5 of the balanced
    model (no tuning on the held-out data). Returns the table and the held-out scores per unit."""
    rows, scores = [], {}
    for unit, held in units.items():
        test = np.isin(sets, held)
        train = ~test
        if not test.any() or len(np.unique(y[train])) < 2:
            continue
        w = sample_weights(sets[train], y[train], cfg.balancing)
        booster = fit_booster(x[train], y[train], w, cfg.lgbm, cfg.seed)
        p = booster.predict(x[test])
        scores[unit] = p
        rows.append({"held_out": unit, **binary_metrics(y[test], p, 0.5),
                     "published": PUBLISHED_BASELINES.get(unit, "")})
    return pd.DataFrame(rows), scores


def out_of_fold_scores(x: pd.DataFrame, y: np.ndarray, sets: np.ndarray, cfg: AccountsConfig) -> np.ndarray:
    """Each row scored by a model trained without its whole set: the validation split for calibration and
    the threshold, because deployment means scoring collections the model never saw."""
    oof = np.full(len(y), np.nan)
    for s in np.unique(sets):
        test = sets == s
        train = ~test
        w = sample_weights(sets[train], y[train], cfg.balancing)
        oof[test] = fit_booster(x[train], y[train], w, cfg.lgbm, cfg.seed).predict(x[test])
    return oof


def fit_calibration(p: np.ndarray, y: np.ndarray, w: np.ndarray, method: str) -> dict[str, Any]:
    """Isotonic (a step function stored as JSON breakpoints) or Platt (two numbers) on validation scores."""
    if method == "platt":
        from sklearn.linear_model import LogisticRegression

        z = logit(p).reshape(-1, 1)
        lr = LogisticRegression(C=1e6).fit(z, y, sample_weight=w)
        return {"method": "platt", "a": float(lr.coef_[0, 0]), "b": float(lr.intercept_[0])}
    from sklearn.isotonic import IsotonicRegression

    iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(p, y, sample_weight=w)
    return {"method": "isotonic", "x": [float(v) for v in iso.X_thresholds_],
            "y": [float(v) for v in iso.y_thresholds_]}


def choose_threshold(p: np.ndarray, y: np.ndarray, w: np.ndarray, target: float) -> dict[str, float]:
    """Lowest threshold whose weighted precision reaches ``target`` (max recall at that precision). When no
    threshold reaches it, the one with the best precision, flagged ``met = 0``."""
    order = np.argsort(-p, kind="stable")
    ps, ys, ws = p[order], y[order], w[order]
    tp = np.cumsum(ws * ys)
    fp = np.cumsum(ws * (1 - ys))
    last = np.r_[ps[1:] != ps[:-1], True]  # only cut between distinct scores
    prec = tp / np.maximum(tp + fp, 1e-12)
    recall = tp / max(tp[-1], 1e-12)
    ok = last & (prec >= target)
    if ok.any():
        i = np.flatnonzero(ok)[-1]
        met = 1.0
    else:
        i = int(np.argmax(np.where(last, prec, -1)))
        met = 0.0
    return {"threshold": float(ps[i]), "precision": float(prec[i]), "recall": float(recall[i]),
            "target": float(target), "met": met}


def reliability_table(p: np.ndarray, y: np.ndarray, w: np.ndarray, bins: int = 10) -> pd.DataFrame:
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    rows = []
    for b in range(bins):
        m = idx == b
        if m.any():
            rows.append({"bin": f"{edges[b]:.1f}-{edges[b + 1]:.1f}", "n": int(m.sum()),
                         "mean_predicted": float(np.average(p[m], weights=w[m])),
                         "observed_bot_share": float(np.average(y[m], weights=w[m]))})
    return pd.DataFrame(rows)


def expected_calibration_error(p: np.ndarray, y: np.ndarray, w: np.ndarray, bins: int = 10) -> float:
    t = reliability_table(p, y, w, bins)
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    weight = np.array([w[idx == b].sum() for b in range(bins) if (idx == b).any()])
    return float(np.sum(weight / weight.sum() * np.abs(t["mean_predicted"] - t["observed_bot_share"])))


def held_out_at_threshold(units: dict[str, list[str]], sets: np.ndarray, y: np.ndarray, oof: np.ndarray,
                          scores: dict[str, np.ndarray], cfg: AccountsConfig) -> pd.DataFrame:
    """Threshold honesty: for each held-out unit, calibration and the precision-target threshold are chosen on
    the out-of-fold scores of the OTHER sets only, then applied to the unit's held-out scores. Precision, recall
    and the false-positive rate on its humans are what a user of an unseen collection would get."""
    rows = []
    for unit, held in units.items():
        if unit not in scores:
            continue
        m = np.isin(sets, held)
        rest = ~m
        w = sample_weights(sets[rest], y[rest], cfg.balancing)
        cal = fit_calibration(oof[rest], y[rest], w, cfg.calibration)
        thr = choose_threshold(apply_calibration(cal, oof[rest]), y[rest], w, cfg.precision_target)
        p = apply_calibration(cal, scores[unit])
        flagged = p >= thr["threshold"]
        truth = y[m]
        humans = truth == 0
        rows.append({"held_out": unit, "threshold": thr["threshold"],
                     "precision@thr": float(truth[flagged].mean()) if flagged.any() else float("nan"),
                     "recall@thr": float(flagged[truth == 1].mean()) if (truth == 1).any() else float("nan"),
                     "fpr_humans@thr": float(flagged[humans].mean()) if humans.any() else float("nan")})
    return pd.DataFrame(rows)


def score_source_check(p: np.ndarray, y: np.ndarray, sets: np.ndarray) -> pd.DataFrame:
    """Can the bot score itself tell the source set apart? Within each class, the AUC of the out-of-fold score
    for "this set vs the rest of its class" (0.5 = the score says nothing about the collection)."""
    from sklearn.metrics import roc_auc_score

    rows = []
    for cls, name in ((1, "bot"), (0, "human")):
        m = y == cls
        for s in np.unique(sets[m]):
            target = sets[m] == s
            if target.all() or not target.any():
                continue
            a = roc_auc_score(target, p[m])
            rows.append({"class": name, "set": s, "n": int(target.sum()), "auc_set_vs_rest": float(a)})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------------------------------- bot types
def type_codes(table: pd.DataFrame) -> np.ndarray:
    """Index into ``BOT_TYPES`` per row; -1 for humans and bots of unknown type."""
    codes = {t: i for i, t in enumerate(BOT_TYPES)}
    return table["bot_type"].map(codes).fillna(-1).astype(int).to_numpy()


def type_weights(codes: np.ndarray, sets: np.ndarray) -> np.ndarray:
    """Every type the same total weight, every set the same weight inside a type (one big set of a type must
    not decide what that type looks like). Mean weight 1."""
    frame = pd.DataFrame({"t": codes, "s": sets})
    cell = frame.groupby(["t", "s"])["t"].transform("size").to_numpy(float)
    n_sets = frame.groupby("t")["s"].transform("nunique").to_numpy(float)
    n_types = frame["t"].nunique()
    w = 1.0 / (cell * n_sets * n_types)
    return w * len(w) / w.sum()


def fit_type_model(x: pd.DataFrame, codes: np.ndarray, sets: np.ndarray, cfg: AccountsConfig) -> Any:
    typed = codes >= 0
    return fit_booster(x[typed], codes[typed], type_weights(codes[typed], sets[typed]), cfg.types, cfg.seed)


def type_confusion(x: pd.DataFrame, codes: np.ndarray, sets: np.ndarray, cfg: AccountsConfig
                   ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Leave-one-dataset-out confusion of bot types: the typed bots of each set are typed by a model trained on
    the typed bots of the other sets. Returns (confusion counts, true type x predicted type; per-set accuracy).
    A type that only one set carries cannot be recognised when that set is held out - the table shows it."""
    typed = codes >= 0
    xt, ct, st = x[typed], codes[typed], sets[typed]
    pred = np.full(len(ct), -1)
    rows = []
    for s in np.unique(st):
        test = st == s
        train = ~test
        if len(np.unique(ct[train])) < 2:
            continue
        booster = fit_booster(xt[train], ct[train], type_weights(ct[train], st[train]), cfg.types, cfg.seed)
        proba = np.asarray(booster.predict(xt[test])).reshape(int(test.sum()), -1)
        pred[test] = proba.argmax(axis=1)
        rows.append({"held_out": s, "n": int(test.sum()),
                     "types": ", ".join(sorted({BOT_TYPES[c] for c in ct[test]})),
                     "accuracy": float((pred[test] == ct[test]).mean()),
                     "types_seen_in_training": ", ".join(BOT_TYPES[c] for c in sorted(set(ct[train])))})
    ok = pred >= 0
    confusion = pd.crosstab(pd.Categorical([BOT_TYPES[c] for c in ct[ok]], categories=BOT_TYPES),
                            pd.Categorical([BOT_TYPES[c] for c in pred[ok]], categories=BOT_TYPES),
                            rownames=["true type"], colnames=["predicted"], dropna=False)
    return confusion, pd.DataFrame(rows)


# ----------------------------------------------------------------------------------------------- leakage checks
def leakage_checks(x: pd.DataFrame, y: np.ndarray, sets: np.ndarray, max_single_auc: float = 0.98,
                   margin: float = 0.05, min_set_rows: int = 200) -> dict[str, Any]:
    """Can the source set be told from artefacts of the features? Within each label class (bots of one set vs
    bots of the others, humans likewise), three checks:

    * ``structural``: features missing for (nearly) a whole set but present elsewhere;
    * ``missingness``: balanced accuracy of a classifier that sees only which features are missing, against
      chance = 1/k for k sets of that class (balanced accuracy of a constant guess); must stay within margin;
    * ``single_feature``: any one feature that separates a set from the rest of its class almost perfectly
      (AUC >= ``max_single_auc``). Real behavioural differences between collections reach ~0.95 (2020
      accounts have more favourites); encoding quirks (a column one set lacks) reach 1.0. Sets of fewer than
      ``min_set_rows`` of a class are skipped here (listed in ``single_feature_skipped``): political-2019 is 62
      accounts of one operator sharing one description template, which any text feature separates.
    Returns the findings; ``ok`` is False when any check fails."""
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import cross_val_predict
    from sklearn.tree import DecisionTreeClassifier

    findings: dict[str, Any] = {"structural": [], "missingness": {}, "single_feature": [],
                                "single_feature_skipped": []}
    miss = x.isna()
    share = miss.groupby(sets).mean()
    for feat in x.columns:
        col = share[feat]
        if col.max() > 0.95 and col.min() < 0.5:
            findings["structural"].append(f"{feat}: missing in {', '.join(col[col > 0.95].index)}")
    for cls, name in ((1, "bot"), (0, "human")):
        m = y == cls
        cls_sets = sets[m]
        k = len(np.unique(cls_sets))
        if k < 2:
            continue
        indicators = miss[m].to_numpy(dtype=float)
        from sklearn.metrics import balanced_accuracy_score

        pred = cross_val_predict(DecisionTreeClassifier(max_depth=6, random_state=0), indicators, cls_sets, cv=3)
        bal = float(balanced_accuracy_score(cls_sets, pred))
        findings["missingness"][name] = {"balanced_accuracy": bal, "chance": 1.0 / k}
        for s in np.unique(cls_sets):
            target = cls_sets == s
            if target.sum() < min_set_rows:
                findings["single_feature_skipped"].append(f"{name}s of {s} ({int(target.sum())} rows)")
                continue
            for feat in x.columns:
                v = x.loc[m, feat].fillna(-1e9).to_numpy()
                if np.unique(v).size < 2:
                    continue
                a = roc_auc_score(target, v)
                a = max(a, 1 - a)
                if a >= max_single_auc:
                    findings["single_feature"].append(f"{name}s of {s}: {feat} alone separates them (AUC {a:.3f})")
    findings["ok"] = (not findings["structural"] and not findings["single_feature"]
                      and all(v["balanced_accuracy"] <= v["chance"] + margin
                              for v in findings["missingness"].values()))
    return findings


def source_predictability(x: pd.DataFrame, y: np.ndarray, sets: np.ndarray, seed: int = 0) -> pd.DataFrame:
    """For the report only: how well ALL features tell sets apart within a class (balanced accuracy, 3-fold),
    next to chance 1/k. Real collections differ in behaviour (that is why LODO is hard), so this is well
    above chance; the artefact checks are in ``leakage_checks``."""
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.model_selection import cross_val_predict
    from sklearn.tree import DecisionTreeClassifier

    rows = []
    for cls, name in ((1, "bot"), (0, "human")):
        m = y == cls
        k = len(np.unique(sets[m]))
        if k < 2:
            continue
        pred = cross_val_predict(DecisionTreeClassifier(max_depth=6, min_samples_leaf=20, random_state=seed),
                                 x[m].fillna(-1), sets[m], cv=3)
        rows.append({"class": name, "sets": k, "balanced_accuracy": float(balanced_accuracy_score(sets[m], pred)),
                     "chance": 1.0 / k})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------------------------------- dormancy
def dormancy_target(table: pd.DataFrame, policy_days: int) -> pd.Series:
    """1.0 when the last activity is older than the policy at ``observed_at``, 0.0 when not, NaN if unknown."""
    days = (table["observed_at"] - table["last_active_at"]).dt.total_seconds() / 86400.0
    return (days > policy_days).astype(float).where(days.notna())


def _dormancy_folds(sets: np.ndarray, labels: np.ndarray) -> list[str]:
    """The sets the dormancy model can be evaluated on, held out one at a time: those whose complement holds
    dormant and active accounts."""
    return [s for s in np.unique(sets) if len(np.unique(labels[sets != s])) == 2]


def check_dormancy_data(table: pd.DataFrame, cfg: AccountsConfig) -> None:
    """Before training: the dormancy model is evaluated leave-one-set-out, so some set that records last activity
    must leave dormant and active accounts in the others."""
    target = dormancy_target(table, cfg.dormancy.policy_days)
    sets, labels = table.loc[target.notna(), "source_set"].to_numpy(), target.dropna().to_numpy()
    if not _dormancy_folds(sets, labels):
        raise ConfigError("accounts config: the dormancy model needs two or more sets that record last activity, "
                          f"with dormant and active accounts at the {cfg.dormancy.policy_days}-day policy; these sets "
                          "give too few (add such a set, or change dormancy.policy_days)")


def train_dormancy(x: pd.DataFrame, table: pd.DataFrame, cfg: AccountsConfig) -> tuple[Any, dict[str, Any],
                                                                                        pd.DataFrame]:
    """The profile-only estimate of P(dormant): trained where last activity is known, evaluated leave-one-set-
    out over those sets, Platt-calibrated on the out-of-fold scores."""
    from sklearn.metrics import brier_score_loss, roc_auc_score

    target = dormancy_target(table, cfg.dormancy.policy_days)
    known = target.notna().to_numpy()
    xd, yd = x[known], target[known].to_numpy().astype(int)
    sd = table.loc[known, "source_set"].to_numpy().astype(str)
    oof = np.full(len(yd), np.nan)
    rows = []
    for s in _dormancy_folds(sd, yd):
        test = sd == s
        booster = fit_booster(xd[~test], yd[~test], None, cfg.dormancy, cfg.seed)
        oof[test] = booster.predict(xd[test])
    ok = ~np.isnan(oof)
    cal = fit_calibration(oof[ok], yd[ok], np.ones(ok.sum()), "platt")
    pc = apply_calibration(cal, oof)
    for s in np.unique(sd):
        test = (sd == s) & ok
        if not test.any():
            continue
        auc = roc_auc_score(yd[test], pc[test]) if len(np.unique(yd[test])) == 2 else float("nan")
        rows.append({"held_out": s, "n": int(test.sum()), "dormant_share": float(yd[test].mean()),
                     "mean_p_dormant": float(pc[test].mean()), "auc": float(auc),
                     "brier": float(brier_score_loss(yd[test], pc[test])),
                     "brier_constant": float(brier_score_loss(yd[test], np.full(test.sum(), yd[ok].mean())))})
    pooled_auc = float(roc_auc_score(yd[ok], pc[ok]))
    rows.append({"held_out": "pooled (out-of-fold)", "n": int(ok.sum()), "dormant_share": float(yd[ok].mean()),
                 "mean_p_dormant": float(pc[ok].mean()), "auc": pooled_auc,
                 "brier": float(brier_score_loss(yd[ok], pc[ok])),
                 "brier_constant": float(brier_score_loss(yd[ok], np.full(ok.sum(), yd[ok].mean())))})
    booster = fit_booster(xd, yd, None, cfg.dormancy, cfg.seed)
    return booster, cal, pd.DataFrame(rows)


# ----------------------------------------------------------------------------------------------------- training
def _subsample(table: pd.DataFrame, max_rows: int | None, seed: int) -> pd.DataFrame:
    if not max_rows:
        return table
    parts = [g.sample(min(len(g), max_rows), random_state=seed) for _, g in table.groupby("source_set")]
    return pd.concat(parts).sort_index()


def _data_fingerprints(root: Path, table: pd.DataFrame, sets: list[str]) -> dict[str, Any]:
    from handleval.trees.bundle import file_fingerprint

    accounts = accounts_folder(root)
    out: dict[str, Any] = {}
    for s in sets:
        files = account_set_files(accounts, s)
        rows = table[table["source_set"] == s]
        out[s] = {"rows": len(rows), "bots": int((rows["label"] == "bot").sum()),
                  "humans": int((rows["label"] == "human").sum()), "files": file_fingerprint(files, accounts)}
    return out


def train_accounts(config_path: str | Path | None = None, output_dir: str | Path | None = None,
                   data_dir: str | Path | None = None) -> AccountsTrainResult:
    """Train, evaluate and write the account bundle (default ``models/accounts``); see the module docstring."""
    from handleval.trees.bundle import moved_result, staged_bundle

    cfg = load_accounts_config(config_path)
    bundle_dir = Path(output_dir) if output_dir else training_output("accounts")
    with staged_bundle(bundle_dir, BUNDLE_KIND) as staging:
        result = _train_accounts_into(staging, cfg, data_dir)
    return moved_result(result, staging, bundle_dir)


def _train_accounts_into(bundle_dir: Path, cfg: AccountsConfig, data_dir: str | Path | None) -> AccountsTrainResult:
    start = time.perf_counter()
    root = Path(data_dir) if data_dir else default_data_dir()
    table, load_report = load_account_table(root, sets=cfg.sets)
    table = _subsample(table, cfg.max_rows_per_set, cfg.seed).reset_index(drop=True)

    featurizer = AccountFeaturizer(exclude_inputs=usable_inputs_excluded(cfg.sets),
                                   drop_features=tuple(cfg.drop_features)).fit(table)
    prepared, errors = prepare_accounts(table)
    if errors.notna().any():  # the loader already rejects such rows; this guards against loader drift
        bad = errors.dropna().value_counts().to_dict()
        raise ConfigError(f"training rows failed input validation: {bad}")
    x = compute_features(prepared)[featurizer.feature_names_out_]
    y = (table["label"] == "bot").to_numpy().astype(int)
    sets = table["source_set"].to_numpy().astype(str)
    w = sample_weights(sets, y, cfg.balancing)

    if len(np.unique(y)) < 2:
        raise ConfigError(f"accounts config: the sets {', '.join(cfg.sets)} hold only {table['label'].iloc[0]}s; "
                          "training needs bots and humans (add a two-class set)")
    check_dormancy_data(table, cfg)
    units = cfg.lodo or {s: [s] for s in cfg.sets if table.loc[table["source_set"] == s, "label"].nunique() == 2}
    one_class = [u for u, held in units.items() if table.loc[table["source_set"].isin(held), "label"].nunique() < 2]
    if not units or one_class:
        raise ConfigError("accounts config: leave-one-dataset-out needs held-out units of bots and humans; "
                          + (f"{', '.join(one_class)} hold(s) one class" if one_class else "no set holds both")
                          + " (pair a bots-only set with humans in a `lodo` unit)")
    lodo, lodo_scores = lodo_evaluate(x, y, sets, units, cfg)

    oof = out_of_fold_scores(x, y, sets, cfg)
    calibration = fit_calibration(oof, y, w, cfg.calibration)
    p_oof = apply_calibration(calibration, oof)
    threshold = choose_threshold(p_oof, y, w, cfg.precision_target)
    # Honest calibration numbers: fit on half of the out-of-fold rows, measure on the other half.
    rng = np.random.default_rng(cfg.seed)
    half = rng.random(len(y)) < 0.5
    cal_half = fit_calibration(oof[half], y[half], w[half], cfg.calibration)
    ece_raw = expected_calibration_error(oof[~half], y[~half], w[~half])
    ece_cal = expected_calibration_error(apply_calibration(cal_half, oof[~half]), y[~half], w[~half])
    curve = reliability_table(apply_calibration(cal_half, oof[~half]), y[~half], w[~half])
    curve_raw = reliability_table(oof[~half], y[~half], w[~half])
    oof_metrics = binary_metrics(y, p_oof, threshold["threshold"])

    lodo = lodo.merge(held_out_at_threshold(units, sets, y, oof, lodo_scores, cfg), on="held_out", how="left")
    source_check = score_source_check(p_oof, y, sets)

    leakage = leakage_checks(x, y, sets)
    predictability = source_predictability(x, y, sets, cfg.seed)

    booster = fit_booster(x, y, w, cfg.lgbm, cfg.seed)
    dorm_booster, dorm_cal, dorm_eval = train_dormancy(x, table, cfg)
    codes = type_codes(table)
    confusion, type_eval = type_confusion(x, codes, sets, cfg)
    type_booster = fit_type_model(x, codes, sets, cfg)

    for model, name in ((booster, BOT_MODEL_FILE), (dorm_booster, DORMANCY_MODEL_FILE),
                        (type_booster, TYPE_MODEL_FILE)):
        model.save_model(str(bundle_dir / name))
        _trim_model_file(bundle_dir / name)

    from handleval.trees.bundle import library_versions, write_manifest

    importance = dict(zip(featurizer.feature_names_out_,
                          (float(v) for v in booster.feature_importance("gain")), strict=True))
    metrics = {
        "lodo": lodo.drop(columns=["published"]).to_dict(orient="records"),
        "lodo_min_auc": float(lodo["auc"].min()),
        "lodo_min_auc_two_class": float(lodo.loc[lodo["bot_share"].between(0.01, 0.99), "auc"].min()),
        "type_confusion": {str(k): {str(c): int(v) for c, v in row.items()} for k, row in confusion.iterrows()},
        "type_lodo": type_eval.to_dict(orient="records"),
        "score_source_check": source_check.to_dict(orient="records"),
        "out_of_fold": oof_metrics,
        "ece_uncalibrated": ece_raw, "ece_calibrated": ece_cal,
        "dormancy": dorm_eval.to_dict(orient="records"),
        "leakage_ok": bool(leakage["ok"]),
    }
    manifest: dict[str, Any] = {
        "kind": BUNDLE_KIND,
        "format_version": 1,
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "features": list(featurizer.feature_names_out_),
        "excluded_inputs": list(featurizer.exclude_inputs),
        "config": cfg.model_dump(),
        "calibration": calibration,
        "calibration_curve": curve.to_dict(orient="records"),
        "threshold": threshold,
        "dormancy": {"policy_days": cfg.dormancy.policy_days, "calibration": dorm_cal,
                     "estimate_threshold": 0.5},
        "types": {"classes": list(BOT_TYPES), "rows_per_type": {t: int((codes == i).sum())
                                                                 for i, t in enumerate(BOT_TYPES)}},
        "data": _data_fingerprints(root, table, cfg.sets),
        "load_report": load_report.to_rows(),
        "libraries": library_versions("lightgbm", "scikit-learn", "pandas", "numpy"),
        "metrics": metrics,
        "leakage": leakage,
        "feature_importance_gain": importance,
    }
    figures = _plots(bundle_dir, curve, curve_raw)
    figures += _lodo_plots(bundle_dir, units, sets, y, lodo_scores, calibration)
    report = accounts_report(manifest, lodo, curve, dorm_eval, predictability, time.perf_counter() - start,
                             confusion=confusion, type_eval=type_eval, source_check=source_check)
    (bundle_dir / "MODEL_CARD.md").write_text(model_card(manifest, report), encoding="utf-8")
    manifest["training_seconds"] = round(time.perf_counter() - start, 1)  # for training/README.md
    write_manifest(bundle_dir, manifest, [BOT_MODEL_FILE, DORMANCY_MODEL_FILE, TYPE_MODEL_FILE])
    from handleval.trees.bundle import read_manifest

    manifest = read_manifest(bundle_dir, BUNDLE_KIND)
    return AccountsTrainResult(bundle_dir=bundle_dir, manifest=manifest, metrics=metrics, lodo=lodo,
                               type_confusion=confusion, calibration_curve=curve, dormancy_eval=dorm_eval,
                               report_markdown=report,
                               figures=figures, seconds=time.perf_counter() - start,
                               data_root=accounts_folder(root))


def _trim_model_file(path: Path) -> None:
    """Drop LightGBM's trailing parameter dump (the config is in the manifest): a smaller, stable file."""
    text = path.read_text(encoding="utf-8")
    cut = text.find("\nparameters:\n")
    if cut != -1:
        end = text.find("end of parameters", cut)
        if end != -1:
            text = text[:cut + 1] + text[end + len("end of parameters"):].lstrip("\n")
    path.write_text(text, encoding="utf-8")


def _plots(bundle_dir: Path, curve: pd.DataFrame, curve_raw: pd.DataFrame) -> list[Path]:
    """The calibration curve as a PNG beside the model card (matplotlib imported only here)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.2, 4.2), dpi=80)
    ax.plot([0, 1], [0, 1], ":", color="grey", label="perfect")
    ax.plot(curve_raw["mean_predicted"], curve_raw["observed_bot_share"], "s--", label="LightGBM score")
    ax.plot(curve["mean_predicted"], curve["observed_bot_share"], "o-", label="calibrated")
    ax.set_xlabel("predicted P(bot)")
    ax.set_ylabel("observed bot share (held-out half)")
    ax.set_title("Calibration, leave-one-set-out scores")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    path = bundle_dir / "calibration.png"
    fig.savefig(path)
    plt.close(fig)
    return [path]


def _lodo_plots(bundle_dir: Path, units: dict[str, list[str]], sets: np.ndarray, y: np.ndarray,
                scores: dict[str, np.ndarray], calibration: dict[str, Any]) -> list[Path]:
    """ROC and calibration per held-out set (what a reviewer checks in MLflow), under ``plots/``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_auc_score, roc_curve

    out = bundle_dir / "plots"
    out.mkdir(exist_ok=True)
    fig_roc, ax_roc = plt.subplots(figsize=(5.5, 5), dpi=80)
    fig_cal, ax_cal = plt.subplots(figsize=(5.5, 5), dpi=80)
    for unit, p in scores.items():
        truth = y[np.isin(sets, units[unit])]
        if len(np.unique(truth)) < 2:
            continue
        fpr, tpr, _ = roc_curve(truth, p)
        ax_roc.plot(fpr, tpr, label=f"{unit} (AUC {roc_auc_score(truth, p):.2f})")
        curve = reliability_table(apply_calibration(calibration, p), truth, np.ones(len(truth)))
        ax_cal.plot(curve["mean_predicted"], curve["observed_bot_share"], "o-", ms=3, label=unit)
    for ax, title, xlabel, ylabel in ((ax_roc, "ROC, each set held out", "false positive rate",
                                       "true positive rate"),
                                      (ax_cal, "calibration, each set held out", "predicted P(bot)",
                                       "observed bot share")):
        ax.plot([0, 1], [0, 1], ":", color="grey")
        ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
        ax.legend(fontsize=7, loc="lower right")
    paths = [out / "roc_by_held_out_set.png", out / "calibration_by_held_out_set.png"]
    for fig, path in zip((fig_roc, fig_cal), paths, strict=True):
        fig.tight_layout()
        fig.savefig(path)
        plt.close(fig)
    return paths


def accounts_report(manifest: dict[str, Any], lodo: pd.DataFrame, curve: pd.DataFrame, dorm: pd.DataFrame,
                    predictability: pd.DataFrame, seconds: float, confusion: pd.DataFrame | None = None,
                    type_eval: pd.DataFrame | None = None, source_check: pd.DataFrame | None = None) -> str:
    thr = manifest["threshold"]
    m = manifest["metrics"]
    lodo_view = lodo[["held_out", "n", "bot_share", "auc", "threshold", "precision@thr", "recall@thr",
                      "fpr_humans@thr", "published"]].copy()
    lodo_view["n"] = lodo_view["n"].astype(int)
    lk = manifest["leakage"]
    values = bar_values(m)
    bars = [(word, Target.model_validate(t)) for word, key in (("goal", "goals"), ("target", "targets"))
            for t in manifest["config"].get(key, [])]
    bar_lines = ["Goals (reported only) and champion targets, from the training config:", "", "```",
                 *[t.verdict(values.get(t.metric), word) + (f"  # {t.note}" if t.note else "") for word, t in bars],
                 "```"]
    type_part: list[str] = []
    if confusion is not None and type_eval is not None:
        conf = confusion.reset_index()
        type_part = [
            "## Bot types (leave-one-dataset-out)",
            "",
            "Types come from the group labels the sets carry: fake_follower (Cresci fake followers, bought "
            "followers of Cresci-2015 and vendor-2019), spam (Cresci spambots, pronbots, cashtag spam), "
            "amplifier (Cresci social_spambots_1 retweeters, political and midterm-2018 bots), self_declared "
            "(botwiki). `p_<type>` = P(bot) x P(type | bot); `bot_type` is the most likely type of a flagged bot. "
            "Each set's typed bots below were typed by a model that never saw that set, so a type only one set "
            "carries (self_declared: botwiki) is not recognised when that set is held out.",
            "",
            to_markdown(conf),
            "",
            to_markdown(type_eval),
            "",
        ]
    check_part: list[str] = []
    if source_check is not None and len(source_check):
        check_part = [
            "Can the bot score tell the collection apart? Within each class, AUC of the out-of-fold P(bot) for "
            "\"this set vs the rest of its class\" (0.5 = no information about the collection; far from 0.5 means "
            "the score level differs by collection, which is what LODO failures look like):",
            "",
            to_markdown(source_check),
            "",
        ]
    return "\n".join([
        "## Leave-one-dataset-out evaluation",
        "",
        "Each row: trained on every other set, scored on the held-out set(s) (single-class sets held out with "
        "the humans of verified-2019, the nearest period with a human set of its own). `threshold`: calibration "
        f"and the precision >= {thr['target']:.2f} threshold chosen on the out-of-fold scores of the OTHER sets "
        "only, then applied to the held-out scores: `precision@thr` is the precision actually reached on the "
        "unseen collection at its own bot share, `fpr_humans@thr` the share of its humans flagged. Published "
        "numbers are in-dataset unless stated: an upper bound, not a like-for-like comparison.",
        "",
        to_markdown(lodo_view),
        "",
        *bar_lines,
        "",
        *type_part,
        "## Calibration and threshold",
        "",
        f"Method: {manifest['calibration']['method']} on leave-one-set-out scores (balanced weights: a 50/50 "
        f"bot/human mix with every set equally weighted). ECE on a held-out half: {m['ece_uncalibrated']:.3f} "
        f"uncalibrated -> {m['ece_calibrated']:.3f} calibrated.",
        f"Threshold for precision >= {thr['target']:.2f}: **{thr['threshold']:.3f}** (validation precision "
        f"{thr['precision']:.3f}, recall {thr['recall']:.3f}{'' if thr['met'] else '; TARGET NOT REACHED'}).",
        "",
        to_markdown(curve),
        "",
        "## Dormancy estimate (p_dormant when last activity is unknown)",
        "",
        f"dormant = last activity older than {manifest['dormancy']['policy_days']} days at observed_at. The "
        "model sees only the profile; trained where last activity is known (Kaggle-2017 status dates; Bot "
        "Repository probe tweets, ASSUMED to be the latest tweet), evaluated leave-one-set-out. It is an "
        "estimate and is labelled as one in every output.",
        "",
        to_markdown(dorm),
        "",
        "## Leakage guard",
        "",
        f"Artefact checks passed: **{lk['ok']}**. Structural gaps: {lk['structural'] or 'none'}; single-feature "
        f"set identification: {lk['single_feature'] or 'none'} (too small to test: "
        f"{', '.join(lk.get('single_feature_skipped', [])) or 'none'}); missingness-only classifier: "
        + ", ".join(f"{k} balanced acc {v['balanced_accuracy']:.3f} vs chance {v['chance']:.3f}"
                    for k, v in lk["missingness"].items()) + ".",
        f"Inputs excluded because a training set lacks them entirely: {', '.join(manifest['excluded_inputs'])}; "
        "never used: id, lang, verified, crawl timestamps.",
        "",
        "For context, all features together tell sets apart within a class far above chance (collections differ "
        "in behaviour, which is exactly why LODO is hard):",
        "",
        to_markdown(predictability),
        "",
        *check_part,
        f"Training time: {seconds:.0f} s.",
    ])


def model_card(manifest: dict[str, Any], report: str) -> str:
    data_rows = "\n".join(f"| {s} | {d['rows']:,} | {d['bots']:,} | {d['humans']:,} |"
                          for s, d in manifest["data"].items())
    return f"""# Account model card (bot and dormancy flags)

Trained {manifest['trained_at']} - features: {len(manifest['features'])} - bundle kind `{manifest['kind']}`.

## Intended use
Rank accounts whose handles might become releasable: P(bot) and whether the account is dormant, with reasons,
from public profile metadata only (no tweets, no network). Output is a screening signal for human review,
never an automatic decision about a person. `triage` never marks releasable a verified account, a protected one
with no last activity, one created or active within the dormancy policy (a bot too), one with 100,000 followers or
more (a person decides), a row of an account listed under another handle (seen later, at the same time or at no
known time) or an older row of a handle whose newest observation could not be scored, and a self-declared (benign)
bot is never releasable for being a bot.

## Data (research use only)
Public, third-party, labelled Twitter sets (profiles 2010-2020), de-duplicated by id across sets:

| set | rows | bots | humans |
|---|---|---|---|
{data_rows}

Licences: Cresci-2015/2017 - research use, cite the papers (Cresci et al. 2015, 2017); Bot Repository sets
(verified/botwiki/vendor/pronbots/political 2019) - research use, cite originating papers (Yang et al. 2019, 2020),
Twitter ToS; the 2020 re-hydration (Kaggle, Martin-Gutierrez et al. 2021) - its Kaggle licence NOT verified (its
SOURCE.txt), its lists' labels under the Bot Repository's terms; Kaggle-2017 - unknown licence, course dataset.
gilani2017_processed is not used (aggregated features, no raw profile). The sealed cresci-rtbust-2019 set is not
used. Text fields are personal data and are not stored in the bundle.

## Limits
* Collections from 2010-2020; today's X and today's bots differ. Probabilities are calibrated to a balanced
  (50/50, every set equal) mix, not to the real base rate of bots.
* Labels are noisy (Kaggle-2017 has contradictory labels; crowd workers miss social spambots).
* Last activity is only known for Kaggle-2017 and (as an assumption) the Bot Repository probes; p_dormant is an
  estimate from the profile and is weak (see below).
* Screen-name, description and count features can flag novelty bots that are harmless.

{report}
"""
