"""Account model: leakage guard, leave-one-dataset-out evaluation, calibration, dormancy estimate, bundle."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from handleval.accounts.features import AccountFeaturizer, compute_features, prepare_accounts
from handleval.accounts.train import (
    apply_calibration,
    choose_threshold,
    fit_calibration,
    leakage_checks,
    load_accounts_config,
    sample_weights,
    usable_inputs_excluded,
)
from handleval.config import CONFIGS_DIR, MODELS_DIR
from handleval.data.accounts import load_account_table
from handleval.errors import ConfigError


@pytest.fixture(scope="module")
def real():
    table, _ = load_account_table()
    prepared, _ = prepare_accounts(table)
    feats = compute_features(prepared)
    return table, feats


def test_leakage_guard_passes_for_the_model_features(real):
    table, feats = real
    cfg = load_accounts_config()
    names = AccountFeaturizer(exclude_inputs=usable_inputs_excluded(cfg.sets)).fit(table).feature_names_out_
    y = (table["label"] == "bot").to_numpy().astype(int)
    found = leakage_checks(feats[names], y, table["source_set"].to_numpy())
    assert found["ok"], found


def test_leakage_guard_catches_a_column_one_set_lacks(real):
    """The same check fails when features from a column the 2020 set lacks (display name) are let in, and when
    the missingness of such a column is visible: it can fail, it is not a formality."""
    table, feats = real
    y = (table["label"] == "bot").to_numpy().astype(int)
    cols = ["cnt__log_statuses", "rate__log_friends_per_day", "name__length", "name__sim_screen_name"]
    found = leakage_checks(feats[cols], y, table["source_set"].to_numpy())
    assert not found["ok"]
    assert any("name__length" in s for s in found["structural"])
    assert any(v["balanced_accuracy"] > v["chance"] + 0.05 for v in found["missingness"].values())


def test_sample_weights_balance_sets_and_classes():
    sets = np.array(["a"] * 90 + ["a"] * 10 + ["b"] * 5)
    y = np.array([1] * 90 + [0] * 10 + [1] * 5)
    w = sample_weights(sets, y)
    assert w.mean() == pytest.approx(1.0)
    assert w[y == 1].sum() == pytest.approx(w[y == 0].sum())
    # every set weighs the same and splits it between its classes: single-class set b (5 bots) weighs twice
    # as much as set a's 90 bots (half of set a), before bots and humans are balanced
    assert w[sets == "b"].sum() == pytest.approx(2 * w[(sets == "a") & (y == 1)].sum())
    assert len(set(np.round(w[(sets == "a") & (y == 1)], 12))) == 1


def test_threshold_reaches_precision_target():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 4000)
    p = np.clip(0.35 * y + rng.normal(0.35, 0.2, 4000), 0, 1)
    t = choose_threshold(p, y, np.ones(4000), 0.9)
    pred = p >= t["threshold"]
    assert t["met"] == 1.0 and y[pred].mean() >= 0.9
    lower = p >= t["threshold"] - 0.02
    assert y[lower].mean() < 0.9 + 0.01  # close to the lowest such threshold


def test_calibration_is_monotone_and_improves_reliability():
    rng = np.random.default_rng(2)
    true_p = rng.uniform(0, 1, 20000)
    y = (rng.uniform(0, 1, 20000) < true_p).astype(int)
    raw = true_p ** 3  # badly calibrated but well ranked
    fit, test = slice(0, 10000), slice(10000, None)
    for method in ("isotonic", "platt"):
        cal = fit_calibration(raw[fit], y[fit], np.ones(10000), method)
        json.dumps(cal)  # JSON numbers only
        p = apply_calibration(cal, raw[test])
        assert np.all(np.diff(apply_calibration(cal, np.linspace(0, 1, 50))) >= -1e-12)
        assert np.abs(p.mean() - y[test].mean()) < 0.02
        assert np.mean((p - y[test]) ** 2) < np.mean((raw[test] - y[test]) ** 2)


def test_config_is_validated(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("seed: 0\nsets: [cresci2017, nowhere]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="nowhere"):
        load_accounts_config(bad)
    typo = tmp_path / "typo.yaml"
    typo.write_text("seed: 0\nprecison_target: 0.9\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="precison_target"):
        load_accounts_config(typo)


@pytest.mark.parametrize(("config", "message"), [
    ("seed: -1\n", "seed"),
    ("sets: [cresci2017, cresci2017]\n", "sets lists cresci2017 twice"),
    ("lodo: {x: []}\n", "lodo unit 'x' holds out no set"),
    ("sets: [botrepo_botwiki2019, botrepo_vendor2019]\nlodo: {}\n", "hold only bots; training needs bots and humans"),
    ("lodo: {a: [botrepo_botwiki2019]}\n", "a hold.s. one class"),
    ("sets: [cresci2017, cresci2015_bas]\nlodo: {}\n", "the dormancy model needs two or more sets"),
    ("goals: [{metric: lodo_min_auc_2class, min: 0.85}]\n", "goals name lodo_min_auc_2class, which training does"),
    ("targets: [{metric: cresci.auc, min: 0.8}]\n", r"targets name cresci.auc, .* \(e.g. \w+\.auc\)"),
])
def test_a_config_that_cannot_train_is_one_message_before_the_work(tmp_path, config, message):
    """Each ended in a traceback (a seed out of range, KeyError 'held_out', an empty fold, LogisticRegression on 0
    samples) or, with single-class held-out units only, exited 0 with a NaN leave-one-dataset-out AUC. Now each
    is refused when the config or the sets are read, before the leave-one-dataset-out work."""
    from handleval.accounts.train import train_accounts

    path = tmp_path / "accounts.yaml"
    path.write_text("max_rows_per_set: 300\n" + config, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        train_accounts(path, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_bars_name_what_training_measures():
    """A bar's metric is read from the same values in the card and the registry: the card had read the manifest's
    metrics (no mean_lodo_auc, no per-set AUC), the registry the logged headline (no lodo_min_auc_two_class), so a
    target on either was met in one and 'n/a' in the other."""
    from handleval.accounts.train import SUMMARY_BARS, bar_values

    lodo = [{"held_out": "a", "auc": 0.9, "bot_share": 0.5}, {"held_out": "b + c", "auc": 0.7, "bot_share": 0.5},
            {"held_out": "d", "auc": float("nan"), "bot_share": 1.0}]
    values = bar_values({"lodo": lodo, "lodo_min_auc": 0.7, "lodo_min_auc_two_class": 0.7, "ece_calibrated": 0.03})
    assert values["mean_lodo_auc"] == pytest.approx(0.8) and values["b + c.auc"] == 0.7
    assert {"lodo_min_auc", "lodo_min_auc_two_class", "ece_calibrated"} <= set(values) <= {
        *SUMMARY_BARS, "a.auc", "b + c.auc", "d.auc"}


@pytest.mark.slow
def test_small_training_run_end_to_end(small_accounts):
    """A reduced run (subsampled sets, fewer trees) through LODO, calibration, dormancy and the bundle."""
    cfg = yaml.safe_load((CONFIGS_DIR / "accounts.yaml").read_text(encoding="utf-8"))
    result = small_accounts
    lodo = result.lodo.set_index("held_out")
    assert set(lodo.index) == set(cfg["lodo"])
    assert lodo["auc"].between(0.6, 1.0).all(), lodo["auc"]  # far above chance (0.5) even on small samples
    assert {"precision", "recall", "f1", "published", "precision@thr", "recall@thr", "fpr_humans@thr"} <= set(
        lodo.columns)
    assert lodo["fpr_humans@thr"].between(0, 1).all()
    assert {"pronbots2019 + verified2019", "political2019 + verified2019"} <= set(lodo.index)
    # every typed bot of a set is typed by a model that never saw the set: the table adds up to those bots
    assert set(result.type_confusion.index) == set(result.manifest["types"]["classes"])
    typed_sets = pd.DataFrame(result.metrics["type_lodo"])
    assert result.type_confusion.to_numpy().sum() == typed_sets["n"].sum() > 0
    m = result.metrics
    assert m["ece_calibrated"] < m["ece_uncalibrated"]
    dorm = result.dormancy_eval.set_index("held_out")  # a weak estimate (the card says so), but better than none:
    pooled = dorm.loc["pooled (out-of-fold)"]  # above chance, and closer than the base rate to who is dormant
    assert pooled["auc"] > 0.55 and pooled["brier"] < pooled["brier_constant"], pooled
    from handleval.accounts import load_accounts

    flagger = load_accounts(result.bundle_dir)
    out = flagger.flag(pd.DataFrame({"screen_name": ["a"], "created_at": ["2015-01-01"], "statuses_count": [5],
                                     "followers_count": [1], "friends_count": [900], "favourites_count": [0]}))
    assert out["p_bot"].between(0, 1).all()
    assert "Leave-one-dataset-out" in (result.bundle_dir / "MODEL_CARD.md").read_text(encoding="utf-8")


def test_committed_bundle_meets_the_lodo_floor_and_records_its_data():
    """The committed bundle: every two-class held-out unit at AUC >= 0.78 (a regression floor: the 2020
    re-hydration is at 0.793 since its 373 pronbots moved to their own set; it was 0.818 with them), the card's
    verdict on the 0.85 goal matching its numbers, the new bot sets in training and in the table, types and
    per-set FPR recorded."""
    manifest = json.loads((MODELS_DIR / "accounts" / "manifest.json").read_text(encoding="utf-8"))
    lodo = pd.DataFrame(manifest["metrics"]["lodo"])
    two_class = lodo[lodo["bot_share"].between(0.01, 0.99)]
    assert len(two_class) >= 8
    assert (two_class["auc"] >= 0.78).all(), two_class[["held_out", "auc"]]
    goal_met = bool((two_class["auc"] >= 0.85).all())
    assert {"pronbots2019 + verified2019", "political2019 + verified2019"} <= set(lodo["held_out"])
    assert {"botrepo_pronbots2019", "botrepo_political2019"} <= set(manifest["data"])
    assert manifest["data"]["botrepo_pronbots2019"]["bots"] == 17882
    assert lodo["fpr_humans@thr"].between(0, 1).all()
    assert manifest["metrics"]["leakage_ok"] is True
    for s, d in manifest["data"].items():
        assert d["rows"] > 0 and all(len(f["sha256"]) == 64 for f in d["files"]), s
    assert set(manifest["files"]) == {"model.txt", "dormancy.txt", "types.txt"}
    assert manifest["threshold"]["precision"] >= manifest["config"]["precision_target"] - 1e-9
    card = (MODELS_DIR / "accounts" / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert "fpr_humans@thr" in card and "| true type |" in card
    (goal_line,) = [line for line in card.splitlines() if line.startswith("lodo_min_auc_two_class: ")]
    assert "(goal ≥ 0.85)" in goal_line and goal_line.split("  #")[0].endswith(" met" if goal_met else " MISSED")
    (target,) = [line for line in card.splitlines() if line.startswith("lodo_min_auc: ")]
    bar = manifest["config"]["targets"][0]["min"]
    met = bool(lodo["auc"].min() >= bar)
    assert f"(target ≥ {bar:g})" in target and target.split("  #")[0].endswith(" met" if met else " MISSED"), target


def test_committed_type_model_names_the_types_of_known_bots():
    """Wiring check on the training sets themselves (in-sample, so it shows the types are read the right way
    round, not how well they transfer - that is the card's leave-one-dataset-out confusion table)."""
    from handleval.accounts import load_accounts

    table, _ = load_account_table(sets=["botrepo_botwiki2019", "botrepo_pronbots2019", "botrepo_vendor2019"])
    sample = table.groupby("source_set").head(300)
    out = load_accounts().flag(sample.drop(columns=["bot_type", "label", "source", "source_set"]))
    share = {t: out.loc[(sample["bot_type"] == t).to_numpy(), f"p_{t}"].astype(float).mean()
             / out.loc[(sample["bot_type"] == t).to_numpy(), "p_bot"].astype(float).mean()
             for t in ("self_declared", "spam", "fake_follower")}
    assert all(v > 0.5 for v in share.values()), share


def test_leave_one_dataset_out_never_trains_on_the_held_out_set():
    """Set c follows the reversed label rule, and a column says which rows are c: a model that had seen c scores it
    well, one that never saw it scores it reversed (the end-to-end test's AUC range could not tell: a model trained
    on every set also passed)."""
    from handleval.accounts.train import load_accounts_config, lodo_evaluate

    rng = np.random.default_rng(0)
    n = 400
    sets = np.repeat(["a", "b", "c"], n)
    y = rng.integers(0, 2, 3 * n)
    signal = np.where(sets == "c", 1 - y, y) + rng.normal(0, 0.3, 3 * n)
    x = pd.DataFrame({"f": signal, "is_c": (sets == "c").astype(float)})
    table, _ = lodo_evaluate(x, y, sets, {"a": ["a"], "c": ["c"]}, load_accounts_config())
    auc = table.set_index("held_out")["auc"]
    assert auc["a"] > 0.9 and auc["c"] < 0.2, auc
