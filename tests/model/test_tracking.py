"""MLflow tracking with a real SQLite store: run contents, registry, champion rule, pyfunc parity, serving."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from handleval.config import data_dir as default_data_dir
from tests._helpers import checkout_env, run_cli

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _live_members(group: int) -> list[int]:
    """Processes of ``group`` that are still running (zombies waiting to be reaped by PID 1 do not count: in a
    container PID 1 may never reap them)."""
    live = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process ended while we looked
        if int(fields[2]) == group and fields[0] != "Z":
            live.append(int(stat.parent.name))
    return live


def stop_group(server: subprocess.Popen) -> list[int]:
    """Stop a server started with ``start_new_session=True`` and every process it started (MLflow's servers
    fork workers that outlive a plain ``terminate()`` of their parent). Returns the pids still running."""
    import signal

    for sig, grace in ((signal.SIGTERM, 30), (signal.SIGKILL, 15)):
        try:
            os.killpg(server.pid, sig)
        except ProcessLookupError:
            return []
        deadline = time.time() + grace
        while time.time() < deadline:
            server.poll()  # reap the leader, our own child
            if not _live_members(server.pid):
                return []
            time.sleep(0.2)
    return _live_members(server.pid)


def wait_for(url: str, timeout: float = 90) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


def test_run_has_params_metrics_tags_and_artifacts(store, small_price):
    from mlflow import MlflowClient

    client = MlflowClient(store["uri"])
    run = client.get_run(store["run_id"])
    params, metrics, tags = run.data.params, run.data.metrics, run.data.tags
    assert params["config.seed"] == str(small_price.manifest["config"]["seed"])
    assert params["data.fragment_telegram.rows_train"] == str(
        small_price.manifest["training_data"]["fragment_telegram"]["rows_train"])
    assert any(k.endswith(".sha256") for k in params)
    for market in ("fragment_telegram", "namebio_domains", "dash_email"):
        model, median = small_price.metrics["model"][market], small_price.metrics["baseline_market_median"][market]
        assert metrics[f"1_headline/{market}.rmse_ln"] == pytest.approx(model["rmse_ln"])
        assert metrics[f"1_headline/{market}.rmse_vs_median"] == pytest.approx(model["rmse_ln"] / median["rmse_ln"] - 1)
        assert metrics[f"2_model/{market}.r2"] == pytest.approx(model["r2"])
        assert f"3_baseline_median/{market}.rmse_ln" in metrics
        assert f"4_baseline_length/{market}.spearman" in metrics
    # the premium-name checks are headline metrics too (tiers on X, the held-out high end, repeat sales)
    checks = small_price.manifest["checks"]
    assert metrics["1_headline/premium.tiers.spearman"] == pytest.approx(checks["tiers"]["spearman"])
    assert metrics["1_headline/premium.repeat_sales.within_2x"] == pytest.approx(checks["repeat_sales"]["within_2x"])
    # the headline group sorts first: the UI lists metric sections in name order
    assert sorted(metrics)[0].startswith("1_headline/")
    assert metrics["1_headline/mean_rmse_ln"] == pytest.approx(
        np.mean([v["rmse_ln"] for m, v in small_price.metrics["model"].items() if m != "all"]))
    assert len(tags["git_commit"]) >= 7 and tags["git_dirty"] in ("true", "false")
    # the UI's Duration is the training's (it showed the seconds of logging after it)
    assert (run.info.end_time - run.info.start_time) / 1000 >= small_price.seconds, run.info
    assert tags["mlflow.runName"] == run.info.run_name and run.info.run_name
    assert tags["mlflow.user"] and tags["mlflow.source.name"] and tags["mlflow.source.type"]  # the UI's User, Source
    assert tags["champion_decision"] == "promoted"
    seed = small_price.manifest["config"]["seed"]
    assert run.info.run_name.startswith("price · lgbm ") and f"seed {seed}" in run.info.run_name
    assert small_price.manifest["trained_at"][:10] in run.info.run_name
    names = {a.path for a in client.list_artifacts(store["run_id"])}
    assert {"plots", "bundle", "review", "MODEL_CARD.md"} <= names
    plots = {a.path for a in client.list_artifacts(store["run_id"], "plots")}
    assert {"plots/predicted_vs_actual.png", "plots/residuals_by_length.png", "plots/feature_importance.png",
            "plots/interval_coverage.png"} <= plots
    experiment = client.get_experiment(run.info.experiment_id)
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    # each market's sales are an input of the run ("Datasets used" in the UI): its file and their digest
    inputs = {i.dataset.name: i for i in run.inputs.dataset_inputs}
    assert set(inputs) == set(small_price.manifest["training_data"])
    fragment = small_price.manifest["training_data"]["fragment_telegram"]
    logged = inputs["fragment_telegram"]
    assert json.loads(logged.dataset.source)["uri"] == str(default_data_dir() / fragment["files"][0]["file"])
    assert Path(json.loads(logged.dataset.source)["uri"]).is_file()
    assert logged.dataset.digest == hashlib.sha256(fragment["files"][0]["sha256"].encode()).hexdigest()[:16]
    tags = {t.key: t.value for t in logged.tags}
    assert tags["mlflow.data.context"] == "training" and tags["rows_test"] == str(fragment["rows_test"])


def test_run_logs_one_summary_table_with_baselines(store, small_price):
    from mlflow import MlflowClient

    client = MlflowClient(store["uri"])
    run = client.get_run(store["run_id"])
    table = client.load_table(run.info.experiment_id, "review/summary_table.json", run_ids=[run.info.run_id])
    assert list(table["market"]) == [*(m for m in small_price.metrics["model"] if m != "all"), "all"]
    assert {"fragment_telegram", "dash_email", "namebio_domains"} <= set(table["market"])
    fragment = table.set_index("market").loc["fragment_telegram"]
    assert fragment["RMSE ln"] == pytest.approx(small_price.metrics["model"]["fragment_telegram"]["rmse_ln"])
    assert fragment["RMSE ln, median baseline"] == pytest.approx(
        small_price.metrics["baseline_market_median"]["fragment_telegram"]["rmse_ln"])
    note = run.data.tags["mlflow.note.content"]
    assert "| market |" in note and "RMSE ln, median baseline" in note and "Champion decision" in note


def test_registered_version_describes_metrics_data_and_decision(store, small_price):
    from mlflow import MlflowClient

    client = MlflowClient(store["uri"])
    version = client.get_model_version("handleval-price", client.get_run(store["run_id"]).data.tags[
        "registered_version"])
    text = version.description
    for market, info in small_price.manifest["training_data"].items():
        assert f"{market}: {info['rows_train']:,} train / {info['rows_test']:,} test sales" in text
    assert f"{small_price.metrics['model']['dash_email']['rmse_ln']:.3f}" in text
    assert "Champion decision: promoted" in text and "no champion yet" in text
    # a reviewer promoting a model sees what its data may be used for (several sets are research use only)
    assert "**Licences (each set's SOURCE.txt):** " in text and "non-commercial research purposes only" in text
    # the goals a reviewer signs off against (Fragment's bulk goal, the premium checks) were only in the card
    goals = small_price.manifest["config"]["goals"]
    assert goals and text.count("- goal (reported, gates nothing) ") == len(goals)
    assert f"- goal (reported, gates nothing) {goals[0]['metric']}: " in text
    assert version.tags["goals_met"].endswith(f"/{len(goals)}")
    run_note = client.get_run(version.run_id).data.tags["mlflow.note.content"]
    assert "**Licences (each set's SOURCE.txt):** " in run_note
    assert version.tags["champion_decision"] == "promoted"


def test_equal_model_is_not_promoted(store, small_price, capfd):
    """The same model logged again ties the champion on every test row: not better than noise, not promoted."""
    from mlflow import MlflowClient

    from handleval.tracking import track_price_run

    client = MlflowClient(store["uri"])
    champion = client.get_model_version_by_alias("handleval-price", "champion")
    capfd.readouterr()
    run_id, decision = track_price_run(small_price)
    out, err = capfd.readouterr()
    assert err == ""  # no MLflow chatter: download bars, registry messages, schema warnings
    assert "champion kept (version" in out and "paired bootstrap" in out
    assert not decision.promoted and not decision.better
    assert decision.champion_version == str(champion.version)
    assert "paired bootstrap" in decision.noise and "in 0.0% of" in decision.noise
    assert client.get_model_version_by_alias("handleval-price", "champion").version == champion.version
    assert client.get_run(run_id).data.tags["champion_decision"] == "kept"
    version = client.get_model_version("handleval-price", decision.version)
    assert version.tags["champion_decision"] == "kept"
    assert "Champion decision: not promoted" in version.description


# ---------------------------------------------------------------------------------------- the champion rule
def _candidate(small_price, pred: np.ndarray, targets=()):
    """A price candidate whose test predictions are ``pred`` (same rows as the small model's test split), with
    its headline metrics computed from them as training computes them."""
    from handleval.config import Promotion
    from handleval.price.evaluate import per_market, price_headline
    from handleval.tracking import Candidate, price_test_rows

    test = small_price.test_predictions.assign(pred=pred)
    metrics = {"model": per_market(test, "pred"),
               "baseline_market_median": small_price.metrics["baseline_market_median"]}
    return Candidate(price_headline(metrics), "mean_rmse_ln", False, targets=list(targets),
                     promotion=Promotion(bootstrap_rounds=1000), predictions=price_test_rows(test))


def _register_and_decide(client, name: str, candidate, tmp_path: Path):
    """Log a run with the candidate's headline metric and test predictions, register it, apply the rule."""
    import mlflow

    from handleval.tracking import HEADLINE, PREDICTIONS_ARTIFACT, decide_champion

    with mlflow.start_run(experiment_id=mlflow.get_experiment_by_name("handleval-price").experiment_id) as run:
        for metric, value in candidate.headline.items():
            mlflow.log_metric(HEADLINE + metric, value)
        if candidate.predictions is not None:
            path = tmp_path / Path(PREDICTIONS_ARTIFACT).name
            candidate.predictions.to_parquet(path, index=False)
            mlflow.log_artifact(str(path), artifact_path=str(Path(PREDICTIONS_ARTIFACT).parent))
    version = client.create_model_version(name, source=run.info.artifact_uri, run_id=run.info.run_id).version
    return decide_champion(client, name, str(version), candidate)


@pytest.fixture()
def registry(store, request):
    import mlflow
    from mlflow import MlflowClient

    mlflow.set_tracking_uri(store["uri"])
    client = MlflowClient(store["uri"])
    name = f"rule-{request.node.name}"
    client.create_registered_model(name)
    return client, name


def test_champion_rule_better_promoted_equal_worse_and_lucky_kept(registry, small_price, tmp_path):
    client, name = registry
    test = small_price.test_predictions
    good = test["pred"].to_numpy()
    worse = 0.5 * good + 0.5 * test["baseline_median"].to_numpy()  # halfway to the market median
    first = _register_and_decide(client, name, _candidate(small_price, worse), tmp_path)
    assert first.promoted and first.reason == "no champion yet"

    better = _register_and_decide(client, name, _candidate(small_price, good), tmp_path)
    assert better.promoted and better.new_value < better.old_value
    assert str(client.get_model_version_by_alias(name, "champion").version) == better.version

    equal = _register_and_decide(client, name, _candidate(small_price, good), tmp_path)
    assert not equal.promoted and equal.new_value == equal.old_value

    worse_again = _register_and_decide(client, name, _candidate(small_price, worse), tmp_path)
    assert not worse_again.promoted

    # Better on one sale only: a lower mean RMSE (the old rule promoted this), yet not better than noise.
    lucky = good.copy()
    row = int(np.argmax(np.abs(good - test["y"].to_numpy())))
    lucky[row] = test["y"].iloc[row]
    luck = _register_and_decide(client, name, _candidate(small_price, lucky), tmp_path)
    assert luck.new_value < luck.old_value and not luck.promoted
    assert "not better" in luck.reason
    assert str(client.get_model_version_by_alias(name, "champion").version) == better.version

    # Better on every row, by less than the margin: a seed's worth (a model differing by its seed alone won nearly
    # every resample, and was promoted "by more than noise")
    y = test["y"].to_numpy()
    slightly = good + 0.004 * (y - good)
    small = _register_and_decide(client, name, _candidate(small_price, slightly), tmp_path)
    assert small.better is False and not small.promoted and "better in 100.0% of" in small.noise
    assert 0 < small.old_value - small.new_value < 0.01 and "needs better by more than the margin 0.01" in small.noise


def test_champion_rule_keeps_a_better_model_that_misses_a_target(registry, small_price, tmp_path):
    from handleval.config import Target

    client, name = registry
    test = small_price.test_predictions
    good = test["pred"].to_numpy()
    worse = 0.5 * good + 0.5 * test["baseline_median"].to_numpy()
    assert _register_and_decide(client, name, _candidate(small_price, worse), tmp_path).promoted
    reached = _candidate(small_price, good).headline
    targets = [Target(metric="dash_email.spearman", min=reached["dash_email.spearman"] - 0.05),
               Target(metric="fragment_telegram.rmse_vs_median",
                      max=reached["fragment_telegram.rmse_vs_median"] - 0.05)]
    decision = _register_and_decide(client, name, _candidate(small_price, good, targets), tmp_path)
    assert decision.better and not decision.promoted
    assert [c.met for c in decision.checks] == [True, False]
    assert decision.reason.startswith("missed 1 of 2 targets (fragment_telegram.rmse_vs_median)")
    assert str(client.get_model_version_by_alias(name, "champion").version) != decision.version


def test_a_first_version_that_misses_a_target_says_there_is_no_champion(registry, small_price, tmp_path):
    """A fresh store whose first version misses a target has no champion to keep: the sentence says so (it had
    said "champion kept (version None)")."""
    from handleval.config import Target

    client, name = registry
    good = small_price.test_predictions["pred"].to_numpy()
    reached = _candidate(small_price, good).headline
    targets = [Target(metric="dash_email.spearman", min=reached["dash_email.spearman"] + 0.05)]
    decision = _register_and_decide(client, name, _candidate(small_price, good, targets), tmp_path)
    assert not decision.promoted and decision.champion_version is None
    assert decision.sentence().startswith(f"no champion yet; version {decision.version} not promoted: missed 1 of 1")
    assert decision.tags()["champion_decision"] == "none"  # nothing was kept


def test_champion_rule_compares_only_markets_both_were_tested_on(registry, small_price, tmp_path):
    """A market only the candidate has (a sales ledger, here perfectly predicted) lowers its mean RMSE but does not
    win the champion's place: the paired bootstrap runs on the shared markets, where the two are equal."""
    from handleval.config import Promotion
    from handleval.price.evaluate import per_market, price_headline
    from handleval.tracking import Candidate, price_test_rows

    client, name = registry
    test = small_price.test_predictions
    assert _register_and_decide(client, name, _candidate(small_price, test["pred"].to_numpy()), tmp_path).promoted
    ledger = test.head(40).assign(source="ledger:x", handle=lambda d: d["handle"] + "_x")
    ledger = ledger.assign(pred=ledger["y"])
    both = pd.concat([test, ledger], ignore_index=True)
    metrics = {"model": per_market(both, "pred"), "baseline_market_median": per_market(both, "baseline_median")}
    candidate = Candidate(price_headline(metrics), "mean_rmse_ln", False, promotion=Promotion(bootstrap_rounds=1000),
                          predictions=price_test_rows(both))
    decision = _register_and_decide(client, name, candidate, tmp_path)
    assert decision.new_value < decision.old_value, "the ledger market lowers the candidate's mean RMSE"
    assert not decision.promoted and "paired bootstrap" in decision.noise
    assert f"on the same {len(test)} test rows" in decision.noise and "ledger:x" in decision.noise


def test_a_champion_whose_run_is_gone_or_damaged_is_said_and_blocks_nothing(registry, small_price, store, tmp_path):
    """A champion whose run was deleted for good (``mlflow gc``) made every later tracked training fail ("Run with
    id=... not found") and leave a version behind; a damaged copy of its test predictions raised pyarrow's
    traceback. Now the first is a decision a reviewer reads (nothing compared, not promoted) and the second falls
    back to the logged metric, saying why."""
    from urllib.parse import urlparse

    from handleval.tracking import PREDICTIONS_ARTIFACT

    client, name = registry
    good = small_price.test_predictions["pred"].to_numpy()
    assert _register_and_decide(client, name, _candidate(small_price, good), tmp_path).promoted
    champion = client.get_model_version_by_alias(name, "champion")
    damaged = Path(urlparse(client.get_run(champion.run_id).info.artifact_uri).path) / PREDICTIONS_ARTIFACT
    damaged.write_bytes(b"not parquet")
    decision = _register_and_decide(client, name, _candidate(small_price, good), tmp_path)
    assert not decision.promoted and "the champion's test predictions could not be read (" in decision.noise, \
        decision.noise
    client.delete_run(champion.run_id)
    gc = subprocess.run([sys.executable, "-m", "mlflow", "gc", "--backend-store-uri", store["uri"], "--run-ids",
                         champion.run_id], capture_output=True, text=True, timeout=300)
    assert gc.returncode == 0, gc.stderr[-2000:]
    decision = _register_and_decide(client, name, _candidate(small_price, good), tmp_path)
    assert not decision.promoted and decision.reason == (
        f"champion v{champion.version}'s run {champion.run_id} is no longer in the store: nothing to compare with; "
        "a reviewer moves the alias"), decision.reason
    assert client.get_model_version_by_alias(name, "champion").version == champion.version


def test_champion_rule_without_shared_test_rows_needs_the_margin(registry, tmp_path):
    """The account model logs no per-row predictions: better means better than the champion by the margin."""
    from handleval.config import Promotion
    from handleval.tracking import Candidate

    client, name = registry

    def auc(value: float) -> Candidate:
        return Candidate({"mean_lodo_auc": value}, "mean_lodo_auc", True, promotion=Promotion(margin=0.005))

    assert _register_and_decide(client, name, auc(0.850), tmp_path).promoted
    small = _register_and_decide(client, name, auc(0.853), tmp_path)
    assert not small.promoted and "needs more than the margin 0.005" in small.noise
    clear = _register_and_decide(client, name, auc(0.860), tmp_path)
    assert clear.promoted and clear.old_value == pytest.approx(0.850)


def test_champion_rule_never_compares_runs_scored_on_other_prices(registry, small_price, tmp_path):
    """A run with a lower cap_usd clips its test prices lower: its errors look smaller against its own targets, and
    it was promoted 'better in 100% of resamples' while pricing google at $15,000."""
    client, name = registry
    test = small_price.test_predictions
    assert _register_and_decide(client, name, _candidate(small_price, test["pred"].to_numpy()), tmp_path).promoted
    cap = float(np.log(15_000))
    clipped = _candidate(small_price, np.minimum(test["pred"].to_numpy(), cap))
    clipped.predictions["y"] = np.minimum(clipped.predictions["y"], cap)
    decision = _register_and_decide(client, name, clipped, tmp_path)
    assert not decision.promoted and "another cap_usd" in decision.noise, decision.noise


def test_account_champion_rule_compares_the_held_out_sets_both_have(registry, tmp_path):
    """Leaving the hard held-out sets out raised the mean LODO AUC: a run worse on every set both were tested on
    was promoted by +0.024."""
    from handleval.config import Promotion
    from handleval.tracking import Candidate

    client, name = registry

    def lodo(**aucs: float) -> Candidate:
        headline = {f"{k}.auc": v for k, v in aucs.items()} | {"mean_lodo_auc": float(np.mean(list(aucs.values())))}
        return Candidate(headline, "mean_lodo_auc", True, promotion=Promotion(margin=0.005),
                         parts=[f"{k}.auc" for k in aucs])

    assert _register_and_decide(client, name, lodo(kaggle=0.95, hard=0.79, cresci=0.88), tmp_path).promoted
    easier = _register_and_decide(client, name, lodo(kaggle=0.93, cresci=0.87), tmp_path)
    assert easier.new_value > easier.old_value and not easier.promoted
    assert "compared on the 2 held-out sets both were tested on" in easier.noise, easier.noise
    barely = _register_and_decide(client, name, lodo(kaggle=0.952, hard=0.792, cresci=0.882), tmp_path)
    assert not barely.promoted  # better on every set by 0.002: noise, within the margin 0.005
    better = _register_and_decide(client, name, lodo(kaggle=0.96, hard=0.82, cresci=0.89), tmp_path)
    assert better.promoted


def test_the_paired_bootstrap_pairs_the_same_test_rows_only():
    """As many test rows, but other sales: pairing them row by row would promote a model on an easier test set."""
    from handleval.tracking import paired_bootstrap

    rows = pd.DataFrame({"source": "fragment_telegram", "handle": [f"n{i}" for i in range(50)], "suffix": "",
                         "sold_at": "2024-01-01", "y": np.linspace(3, 8, 50), "pred": np.linspace(3, 8, 50)})
    assert paired_bootstrap(rows, rows.assign(pred=rows["pred"] + 0.1), 100) is not None  # the same rows pair
    assert paired_bootstrap(rows, rows.assign(handle=[f"m{i}" for i in range(50)]), 100) is None


def test_targets_are_validated(tmp_path):
    import yaml

    from handleval.config import CONFIGS_DIR
    from handleval.errors import ConfigError
    from handleval.price.train import load_price_config

    assert load_price_config().targets, "the shipped price config holds the project's targets"
    cfg = yaml.safe_load((CONFIGS_DIR / "price.yaml").read_text(encoding="utf-8"))
    cfg["targets"] = [{"metric": "dash_email.spearman"}]
    path = tmp_path / "price.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    with pytest.raises(ConfigError, match="needs min, max or both"):
        load_price_config(path)
    cfg["targets"] = [{"metric": "dash_email.spearman", "min": 0.6, "max": 0.9}]  # a range: both bounds hold
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    (between,) = load_price_config(path).targets
    assert [between.met(v) for v in (0.5, 0.6, 0.75, 0.9, 0.95, float("nan"))] == [False, True, True, True, False,
                                                                                   False]
    assert between.bound() == "0.6 – 0.9"
    cfg["targets"] = [{"metric": "dash_email.spearman", "min": 0.9, "max": 0.6}]  # a range nothing can meet
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    with pytest.raises(ConfigError, match="above max"):
        load_price_config(path)
    # a misspelt metric was 'n/a ... MISSED' after the whole training (and a target so kept any champion forever)
    for key, metric in (("targets", "dash_email.spearmen"), ("goals", "tiers.median_F"), ("goals", "rmse_ln")):
        cfg[key] = [{"metric": metric, "min": 0.5}]
        path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
        with pytest.raises(ConfigError, match=rf"price.yaml: {key} name \['{metric}'\], which is no metric"):
            load_price_config(path)
        cfg[key] = []
    # a market's name is checked once `train price --sales` has added its ledgers: a ledger's market is one
    from handleval.price.train import check_bar_markets, with_ledgers

    cfg["goals"] = [{"metric": "tier.spearman", "min": 0.7}, {"metric": "my_x_sales.spearman", "min": 0.3}]
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"goals name \['tier.spearman', 'my_x_sales.spearman'\], a market that"):
        check_bar_markets(load_price_config(path))
    cfg["goals"] = cfg["goals"][1:]
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    check_bar_markets(with_ledgers(load_price_config(path), [tmp_path / "my_x_sales.csv"], "x", "USD"))
    cfg["goals"] = []
    cfg["targets"] = [{"metric": "tiers.spearman", "min": 0.7}, {"metric": "mean_rmse_ln", "max": 1.2}]
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    assert [t.metric for t in load_price_config(path).targets] == ["tiers.spearman", "mean_rmse_ln"]
    # a market the config does not train is no typo (a file of `sources` alone keeps the shipped bars): n/a, missed
    path.write_text("sources: [fragment_telegram]\n", encoding="utf-8")
    assert "dash_email.spearman" in [t.metric for t in load_price_config(path).targets]


def test_a_target_on_a_check_is_judged_alike_by_card_and_registry(registry, small_price, tmp_path):
    """A champion target on a premium-name check (``tiers.spearman``) was 'met' in the card but 'n/a', so missed,
    in the registry, whose champion rule read only the per-market metrics: no version could ever be promoted."""
    from handleval.config import Target
    from handleval.price.evaluate import checks_text
    from handleval.tracking import price_review

    client, name = registry
    candidate = price_review(small_price).candidate
    reached = small_price.manifest["checks"]["tiers"]["spearman"]
    for bound, met in ((reached - 0.01, True), (reached + 0.01, False)):
        candidate.targets = [Target(metric="tiers.spearman", min=bound)]
        card = checks_text(small_price.manifest["checks"], small_price.metrics, candidate.targets, word="target")
        decision = _register_and_decide(client, name, candidate, tmp_path)
        assert [c.met for c in decision.checks] == [met] and card.endswith("met" if met else "MISSED"), card


def test_pyfunc_from_registry_matches_cli_predict(store, small_price, tmp_path):
    import mlflow

    mlflow.set_tracking_uri(store["uri"])
    model = mlflow.pyfunc.load_model("models:/handleval-price@champion")
    handles = ["pizza", "nike", "jdk_19927", "a" * 20]
    via_pyfunc = model.predict(pd.DataFrame({"handle": handles}))
    source = tmp_path / "in.csv"
    pd.DataFrame({"handle": handles}).to_csv(source, index=False)
    out = tmp_path / "out.csv"
    subprocess.run([sys.executable, "-m", "handleval", "predict", str(source), "-o", str(out), "--model",
                    str(small_price.bundle_dir), "--quiet"], check=True, timeout=300)
    from handleval.batch import read_output

    via_cli = read_output(out)
    pd.testing.assert_series_equal(via_pyfunc["price_usd"].reset_index(drop=True),
                                   pd.to_numeric(via_cli["price_usd"]).reset_index(drop=True), check_names=False)
    # the sales it prices from are checked against the sha256 it was logged with (they were read as found)
    logged = mlflow.artifacts.download_artifacts("models:/handleval-price@champion", dst_path=str(tmp_path / "m"))
    history = Path(logged) / "artifacts" / "data" / "sales_history.parquet"
    pd.read_parquet(history).head(100).to_parquet(history)
    with pytest.raises(Exception, match="does not match the sha256 it was logged with"):
        mlflow.pyfunc.load_model(logged)


def test_library_pyfunc_and_predict_read_a_typed_handle_column_alike(store, small_price, small_valuer, tmp_path):
    """A float handle column (Parquet stores integers with a gap as floats) and an integer one: ``7.0`` is the
    handle "7" in the library, the MLflow model and ``predict`` alike, as if the column were text."""
    import mlflow

    from handleval.batch import read_output
    from handleval.errors import HandlevalWarning

    mlflow.set_tracking_uri(store["uri"])
    model = mlflow.pyfunc.load_model("models:/handleval-price@champion")
    typed = {"floats": pd.DataFrame({"handle": [1234567.0, None, 88888.0, 7.5]}),
             "ints": pd.DataFrame({"handle": [1234567, 88888]})}
    text = {"floats": pd.DataFrame({"handle": ["1234567", None, "88888", "7.5"]}),
            "ints": pd.DataFrame({"handle": ["1234567", "88888"]})}
    for name, frame in typed.items():
        frame.to_parquet(tmp_path / f"{name}.parquet", index=False)
        done = subprocess.run([sys.executable, "-m", "handleval", "predict", str(tmp_path / f"{name}.parquet"), "-o",
                               str(tmp_path / f"{name}.csv"), "--model", str(small_price.bundle_dir), "--quiet"],
                              check=True, timeout=300, capture_output=True, text=True)
        assert "the handle column is stored as numbers" in " ".join(done.stderr.split()), done.stderr  # once
        expected = small_valuer.value_many(text[name])
        assert expected["price_usd"].notna().sum() == 2, name  # the comparison below is not of errors only
        with pytest.warns(HandlevalWarning, match=r"holds numbers: .* leading zeros \('007'\) was lost"):
            in_library = small_valuer.value_many(frame)  # said: a reader's numbers lost '007' (the CLI reads text)
        for got in (in_library, model.predict(frame), read_output(tmp_path / f"{name}.csv")):
            np.testing.assert_allclose(pd.to_numeric(got["price_usd"]), expected["price_usd"], err_msg=name)
            assert [None if pd.isna(e) else e for e in got["error"]] == expected["error"].tolist(), name


def test_logged_signature_is_what_the_model_returns_with_its_history(store, small_price, small_valuer):
    """The signature is read off a model loaded without its sales history (no sales read or fitted for it); its
    outputs are those of the model with its history, and its key column takes any type (typed handles)."""
    import mlflow
    from mlflow.models import infer_signature
    from mlflow.types.schema import AnyType

    from handleval.tracking import price_review

    mlflow.set_tracking_uri(store["uri"])
    version = mlflow.MlflowClient().get_run(store["run_id"]).data.tags["registered_version"]
    logged = mlflow.models.get_model_info(f"models:/handleval-price/{version}").signature
    example = price_review(small_price).input_example
    assert logged.outputs == infer_signature(example, small_valuer.value_many(example)).outputs
    assert {c.name: (c.type, c.required) for c in logged.inputs.inputs} == {  # any type: a datetime as_of too
        "handle": (AnyType(), True), **{c: (AnyType(), False) for c in ("platform", "suffix", "venue", "as_of")}}


def test_served_model_answers_over_http_without_data_dir(store, small_valuer, tmp_path):
    port = free_port()
    # mlflow starts its web server (uvicorn) by name: the interpreter's own bin/ must be on PATH even when the
    # environment was not activated (`.venv/bin/python -m pytest`)
    env = checkout_env(MLFLOW_TRACKING_URI=store["uri"],
                       PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    # No data directory: HANDLEVAL_DATA names a folder that does not exist, so that neither it nor the fallback
    # beside the checkout can be read (data_dir() raises), and an empty cache holds no lexicons built from it.
    env["HANDLEVAL_DATA"] = str(tmp_path / "no-data-here")
    env["HANDLEVAL_CACHE"] = str(tmp_path / "empty-cache")
    log = tmp_path / "serve.log"
    with open(log, "wb") as sink:
        server = subprocess.Popen([sys.executable, "-m", "mlflow", "models", "serve", "-m",
                                   "models:/handleval-price@champion", "--env-manager", "local", "--host",
                                   "127.0.0.1", "--port", str(port)], env=env, cwd=store["root"],
                                  stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        try:
            wait_for(f"http://127.0.0.1:{port}/ping", timeout=120)
        except Exception as exc:
            raise AssertionError(f"the model server did not answer; its log ends:\n{log.read_text()[-3000:]}") from exc
        body = json.dumps({"dataframe_split": {"columns": ["handle", "platform"],
                                               "data": [["pizza", "x"], ["bad handle!", "x"],
                                                        ["realdonaldtrump", "x"]]}}).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{port}/invocations", data=body,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = json.loads(response.read())
        rows = answer["predictions"]
        def null(value: object) -> bool:  # JSON null, or NaN as MLflow's serializer writes missing values
            return value is None or value != value

        assert rows[0]["price_usd"] > 0 and null(rows[0]["error"])
        local = small_valuer.value_many(pd.DataFrame({"handle": ["pizza"], "platform": ["x"]}))  # with the data
        assert rows[0]["price_usd"] == pytest.approx(float(local["price_usd"].iloc[0]), rel=1e-9)
        assert rows[0]["market_basis"] == local["market_basis"].iloc[0]
        assert isinstance(rows[1]["error"], str) and "not allowed" in rows[1]["error"] and null(rows[1]["price_usd"])
        # X's famous accounts travel with the model too (the account tables they come from are in its data)
        own = small_valuer.value_many(["realdonaldtrump"])
        assert rows[2]["price_usd"] == pytest.approx(float(own["price_usd"].iloc[0])) and null(rows[2]["risk"])
        assert own["price_usd"].iloc[0] >= 2_500
    finally:
        leftover = stop_group(server)
    assert leftover == []  # nothing of the server's process group is left running


def test_accounts_run_has_lodo_metrics_plots_and_champion(store, small_accounts):
    from mlflow import MlflowClient

    client = MlflowClient(store["uri"])
    run = client.get_run(store["accounts_run_id"])
    metrics = run.data.metrics
    lodo = small_accounts.lodo.set_index("held_out")
    assert metrics["1_headline/cresci2017.auc"] == pytest.approx(lodo.loc["cresci2017", "auc"])
    assert metrics["2_lodo/cresci2017.auc"] == pytest.approx(lodo.loc["cresci2017", "auc"])
    # precision and recall at the flag threshold, as the card and README give them; not at a raw 0.5 cut
    assert metrics["2_lodo/cresci2017.precision_at_thr"] == pytest.approx(lodo.loc["cresci2017", "precision@thr"])
    assert not [k for k in metrics if k.endswith((".precision", ".recall", ".f1"))]
    # a unit's name as a reader says it: "+" is "and", no parentheses or underscores standing in for them
    assert metrics["2_lodo/cresci family 2015 and 2017.auc"] == pytest.approx(
        lodo.loc["cresci family (2015 + 2017)", "auc"])
    assert not [k for k in metrics if "_ " in k or " _" in k]
    table = client.load_table(run.info.experiment_id, "review/summary_table.json", run_ids=[run.info.run_id])
    assert "precision@thr" in table.columns and "precision" not in table.columns
    assert metrics["1_headline/mean_lodo_auc"] == pytest.approx(lodo["auc"].mean())
    assert metrics["1_headline/lodo_min_auc"] == pytest.approx(lodo["auc"].min())
    assert run.info.run_name.startswith("accounts · lgbm ")
    assert run.data.params["config.precision_target"] == str(small_accounts.manifest["config"]["precision_target"])
    assert run.data.tags["champion_decision"] == "promoted"
    plots = {a.path for a in client.list_artifacts(store["accounts_run_id"], "plots")}
    assert {"plots/roc_by_held_out_set.png", "plots/calibration_by_held_out_set.png"} <= plots
    assert client.get_model_version_by_alias("handleval-accounts", "champion").run_id == store["accounts_run_id"]
    inputs = {i.dataset.name: i for i in run.inputs.dataset_inputs}
    assert set(inputs) == set(small_accounts.manifest["data"])
    for name, logged in inputs.items():  # each set's folder (its files are relative to it), with their counts
        assert Path(json.loads(logged.dataset.source)["uri"]).exists(), name
        assert {t.key: t.value for t in logged.tags}["bots"] == str(small_accounts.manifest["data"][name]["bots"])


def test_accounts_pyfunc_matches_flag_command(store, small_accounts, tmp_path):
    import mlflow

    mlflow.set_tracking_uri(store["uri"])
    model = mlflow.pyfunc.load_model("models:/handleval-accounts@champion")
    accounts = pd.DataFrame({  # every column the command reads reaches the served model (the example's only did)
        "screen_name": ["jack", "crypto_bot_48213", ""], "created_at": ["2006-03-21", "2019-05-01", "2019-05-01"],
        "statuses_count": [29000, 120000, 5], "followers_count": [6_400_000, 12, 1],
        "friends_count": [4500, 4900, 1], "favourites_count": [35000, 0, 0], "observed_at": ["2020-08-01"] * 3,
        "description": ["just setting up my twttr", "automated crypto signals 24/7 bot", ""],
        "last_active_at": ["2020-07-30", "2019-06-01", None],
    })
    via_pyfunc = model.predict(accounts)
    source = tmp_path / "accounts.csv"
    accounts.to_csv(source, index=False)
    out = tmp_path / "flags"
    subprocess.run([sys.executable, "-m", "handleval", "flag", str(source), "-o", str(out), "--model",
                    str(small_accounts.bundle_dir), "--quiet"], check=True, timeout=300)
    from handleval.batch import read_output

    via_cli = read_output(out)
    assert via_cli["error"].notna().tolist() == via_pyfunc["error"].notna().tolist() == [False, False, True]
    np.testing.assert_allclose(pd.to_numeric(via_cli["p_bot"]), via_pyfunc["p_bot"].astype(float), equal_nan=True)
    assert via_pyfunc["dormancy_basis"].tolist()[:2] == via_cli["dormancy_basis"].tolist()[:2] == ["last_active_at"] * 2
    v2 = model.predict(pd.DataFrame({"username": ["jack"], "created_at": ["2006-03-21T20:50:14.000Z"],
                                     "public_metrics": [{"tweet_count": 29000, "followers_count": 6_400_000,
                                                         "following_count": 4500, "like_count": 35000}]}))
    assert v2["error"].isna().all() and v2["p_bot"].notna().all()  # an X API v2 user object, as flag reads it


def test_run_name_spells_out_sources_that_share_a_first_word():
    """Two NameBio sets had both read 'namebio' in the run name ('fragment+namebio+dash+namebio+dnjournal')."""
    from handleval.tracking import price_run_name

    counts = {"rows_train": 2, "rows_test": 1}
    manifest = {"training_data": {"fragment_telegram": counts, "namebio_domains": counts, "namebio_2015_2020": counts},
                "n_rounds": 5, "chosen_params": {"num_leaves": 7}, "trained_at": "2026-12-06T11:00:00",
                "config": {"seed": 1}}
    name = price_run_name(manifest)
    assert "· fragment+namebio_domains+namebio_2015_2020 9 sales ·" in name, name


def test_a_broken_store_or_a_busy_port_is_one_message_before_any_work(tmp_path):
    """A corrupt mlflow.db gave a 37-frame traceback from `ui`, and from a tracked `train` after its minutes of
    training; `ui` on a busy port printed its address, then the server's error, and exited 0."""
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"this is not a database" * 100)
    env = {"MLFLOW_TRACKING_URI": f"sqlite:///{corrupt}"}
    for args in (["ui", "--port", "5999"], ["train", "accounts", "--output", str(tmp_path / "acc")]):
        result = run_cli(*args, env=env, timeout=120)
        assert result.returncode == 2 and "cannot be used" in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr and not (tmp_path / "acc").exists()
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        taken = run_cli("ui", "--port", str(port), env={"MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'ok.db'}"},
                        timeout=120)
    assert taken.returncode == 2 and f"cannot serve the UI at 127.0.0.1:{port}" in taken.stderr, taken.stderr
    # a team's tracking server (docs/review.md) is a UI already: `ui` said it was starting, then died in a traceback
    served = run_cli("ui", "--port", "5999", env={"MLFLOW_TRACKING_URI": "http://127.0.0.1:9"}, timeout=120)
    assert served.returncode == 2 and "Traceback" not in served.stderr and "starting" not in served.stdout
    assert "is a tracking server (http://127.0.0.1:9): its UI is already there" in " ".join(served.stderr.split())


def test_ui_on_a_store_that_is_not_there_says_it_starts_empty(tmp_path):
    """Run where no mlflow.db is, ``handleval ui`` made an empty store and served an empty UI without a word: runs
    a reviewer expected looked lost."""
    with socket.create_server(("127.0.0.1", 0)) as free:
        port = free.getsockname()[1]
    store = tmp_path / "mlflow.db"
    server = subprocess.Popen([sys.executable, "-m", "handleval", "ui", "--port", str(port)], cwd=tmp_path,
                              env=checkout_env(MLFLOW_TRACKING_URI=f"sqlite:///{store}", COLUMNS="300"),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        said = server.stderr.readline()  # type: ignore[union-attr]
    finally:
        leftover = stop_group(server)
    assert said.startswith(f"warning: no MLflow store was at {store}: the UI starts empty"), said
    assert leftover == []
    from handleval.tracking import sqlite_path  # SQLite's URI form names the same file (it was read as a missing one)

    assert sqlite_path(f"sqlite:///file:{store}?mode=ro&uri=true") == sqlite_path(f"sqlite:///{store}") == store
    assert sqlite_path("http://127.0.0.1:5000") is None


def test_artifacts_go_beside_the_sqlite_store_a_user_names(tmp_path, monkeypatch):
    """``MLFLOW_TRACKING_URI=sqlite:////somewhere/mlflow.db`` keeps new experiments' artifacts in
    ``/somewhere/mlartifacts`` (they went to the working directory); ``HANDLEVAL_ARTIFACT_ROOT`` still wins."""
    from handleval.tracking import artifact_root

    monkeypatch.delenv("HANDLEVAL_ARTIFACT_ROOT", raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}")
    assert artifact_root() == (tmp_path / "store" / "mlartifacts").as_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///rel/mlflow.db")
    assert artifact_root() == (tmp_path / "rel" / "mlartifacts").as_uri()
    # SQLite's URI form: beside its file (they went to '<cwd>/file:/somewhere/mlartifacts')
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///file:{tmp_path / 'store' / 'mlflow.db'}?mode=rwc&uri=true")
    assert artifact_root() == (tmp_path / "store" / "mlartifacts").as_uri()
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    assert artifact_root() == (tmp_path / "mlartifacts").as_uri()
    monkeypatch.setenv("HANDLEVAL_ARTIFACT_ROOT", "file:///elsewhere")
    assert artifact_root() == "file:///elsewhere"


def test_a_store_that_is_a_folder_or_read_only_is_one_message_at_once(tmp_path, monkeypatch):
    """``MLFLOW_TRACKING_URI=sqlite:///<a folder>``: ``handleval ui`` and training said so after two minutes of
    SQLite's retries, in silence."""
    from handleval.errors import HandlevalError
    from handleval.tracking import check_store

    (tmp_path / "mlflow.db").mkdir()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    with pytest.raises(HandlevalError, match="is a folder, not a database file"):  # SQLite's error, before
        check_store()
    # a store opened read-only by its URI was accepted, and the run failed after the training's minutes
    for options in ("mode=ro&uri=true", "uri=true&immutable=true"):
        monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///file:{tmp_path / 'other.db'}?{options}")
        with pytest.raises(HandlevalError, match=f"{options} opens it read-only"):
            check_store()
    # an in-memory store passed: a run and the champion were registered into a database gone at exit
    for uri in ("sqlite://", "sqlite:///:memory:", f"sqlite:///file:{tmp_path / 'm'}?mode=memory&uri=true"):
        monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
        with pytest.raises(HandlevalError, match="an in-memory store keeps nothing"):
            check_store()


def test_a_run_publishes_the_bundles_own_files_and_a_store_busy_at_logging_is_one_message(small_accounts, tmp_path,
                                                                                           monkeypatch):
    """A user's notes kept in the bundle folder are not uploaded with the run (only the manifest, the files it
    lists, the card and the plots are); a store that refuses the run while it is logged after training (locked by
    another process, read-only) is one message saying the bundle is saved (it was a traceback, and the run lost
    without a word). Shown with the store opened read-only: a lock is the same error after MLflow's 20 s wait."""
    import dataclasses
    import shutil

    from mlflow import MlflowClient

    from handleval import tracking
    from handleval.errors import HandlevalError
    from handleval.trees.bundle import own_files

    bundle = tmp_path / "bundle"
    shutil.copytree(small_accounts.bundle_dir, bundle)
    (bundle / "NOTES.md").write_text("my notes\n")
    result = dataclasses.replace(small_accounts, bundle_dir=bundle)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("HANDLEVAL_ARTIFACT_ROOT", (tmp_path / "mlartifacts").as_uri())
    run_id, _ = tracking.track_accounts_run(result, quiet=True, registered_name="qa-accounts")
    logged = {a.path for a in MlflowClient().list_artifacts(run_id, "bundle")}
    assert "bundle/NOTES.md" not in logged and "bundle/manifest.json" in logged and "bundle/model.txt" in logged
    assert logged >= {f"bundle/{p}" for p in own_files(bundle) if len(p.parts) == 1}

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///file:{tmp_path / 'mlflow.db'}?mode=ro&uri=true")
    monkeypatch.chdir(tmp_path)  # MLflow makes the URI's folders ('file:/…') under the working directory
    with pytest.raises(HandlevalError, match=f"the bundle is trained and saved in {bundle}, but the MLflow "):
        tracking.track_accounts_run(result, quiet=True, registered_name="qa-accounts")


def test_a_store_that_cannot_answer_is_one_message_in_seconds(tmp_path):
    """A server that is not running answered after MLflow's retries (~4 minutes of silence), a database without its
    driver with a traceback: one message and exit 2 before any training, each."""
    for uri, says in (("http://127.0.0.1:9", "Max retries exceeded"),
                      ("postgresql://u@127.0.0.1:1/x", "")):  # no driver here ('psycopg'); with one, no server
        done = run_cli("train", "accounts", "--output", str(tmp_path / "out"), env={"MLFLOW_TRACKING_URI": uri},
                       timeout=90)
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-2000:]
        assert f"the MLflow tracking store {uri} cannot be used" in done.stderr and says in done.stderr, done.stderr
        assert not (tmp_path / "out").exists()


def test_a_ledgers_dataset_input_is_its_own_file_not_one_under_the_data_folder(tmp_path):
    """A ledger's fingerprint names its file alone: joined to the data folder it pointed at a file that does not
    exist. Its input is the path the config gives; a public set's stays under the data folder."""
    from handleval.tracking import _price_datasets

    manifest = json.loads((Path(__file__).resolve().parents[2] / "models" / "price" / "manifest.json").read_text())
    ledger = tmp_path / "my_x_sales.csv"
    ledger.write_text("handle,price,currency,sold_at\n", encoding="utf-8")
    manifest["config"]["extra_sources"] = [{"path": str(ledger), "platform": "x"}]
    manifest["training_data"]["my_x_sales"] = {"rows_train": 1, "rows_test": 0,
                                               "files": [{"file": "my_x_sales.csv", "sha256": "ab" * 32}]}
    inputs = {d.name: d for d in _price_datasets(manifest, default_data_dir())}
    assert inputs["my_x_sales"].uri == str(ledger)
    assert Path(inputs["fragment_telegram"].uri).is_file()
