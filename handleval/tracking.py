"""MLflow tracking: one run per ``handleval train``, the model registry and the ``champion`` alias.

Default store: ``sqlite:///mlflow.db`` in the working directory with artifacts in ``./mlartifacts`` beside it;
``MLFLOW_TRACKING_URI`` (e.g. ``postgresql://user@host/mlflow`` or ``http://mlflow.internal:5000``) overrides it
without code changes. The alias ``champion`` moves to a new version only when it beats the current champion on
the primary metric; the decision and both numbers are printed and tagged on the run.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from handleval.config import PROJECT_ROOT

EXPERIMENTS = {"price": "handleval-price", "accounts": "handleval-accounts"}
REGISTERED = {"price": "handleval-price", "accounts": "handleval-accounts"}
PYFUNC_CODE = Path(__file__).with_name("mlflow_pyfunc.py")


def tracking_uri() -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path.cwd() / 'mlflow.db'}"


def artifact_root() -> str:
    return os.environ.get("HANDLEVAL_ARTIFACT_ROOT") or (Path.cwd() / "mlartifacts").as_uri()


def configure() -> Any:
    """Point MLflow at the project's store; create experiments with artifacts beside the SQLite file."""
    import mlflow

    mlflow.set_tracking_uri(tracking_uri())
    mlflow.set_registry_uri(tracking_uri())
    return mlflow


def _experiment(mlflow: Any, kind: str) -> str:
    name = EXPERIMENTS[kind]
    found = mlflow.get_experiment_by_name(name)
    if found is None:
        location = None if os.environ.get("MLFLOW_TRACKING_URI", "").startswith("http") else artifact_root()
        return mlflow.create_experiment(name, artifact_location=location)
    return found.experiment_id


def flatten(prefix: str, value: Any, out: dict[str, Any] | None = None) -> dict[str, Any]:
    """Flatten nested config dicts to ``a.b.c`` keys (MLflow params are flat strings)."""
    out = {} if out is None else out
    if isinstance(value, Mapping):
        for k, v in value.items():
            flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    elif isinstance(value, list | tuple) and any(isinstance(v, Mapping) for v in value):
        for i, v in enumerate(value):
            flatten(f"{prefix}.{i}", v, out)
    else:
        out[prefix] = value
    return out


def git_tags() -> dict[str, str]:
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True,
                                  timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    from handleval import __version__

    commit = git("rev-parse", "HEAD") or "unknown"
    dirty = bool(git("status", "--porcelain", "--untracked-files=no")) if commit != "unknown" else True
    return {"git_commit": commit, "git_dirty": str(dirty).lower(), "handleval_version": __version__}


@dataclass
class ChampionDecision:
    promoted: bool
    version: str
    new_value: float
    old_value: float | None
    metric: str

    def sentence(self) -> str:
        old = "none" if self.old_value is None else f"{self.old_value:.4f}"
        verdict = "promoted to champion" if self.promoted else "champion kept"
        return f"{verdict}: {self.metric} new {self.new_value:.4f} vs champion {old} (version {self.version})"


def decide_champion(client: Any, name: str, version: str, metric: str, value: float,
                    higher_is_better: bool) -> ChampionDecision:
    """Move ``champion`` to ``version`` only if it beats the current champion on ``metric``."""
    from mlflow.exceptions import MlflowException

    old_value = None
    try:
        current = client.get_model_version_by_alias(name, "champion")
        old_run = client.get_run(current.run_id)
        old_value = old_run.data.metrics.get(metric)
    except MlflowException:
        current = None
    if current is None or old_value is None or not np.isfinite(old_value):
        better = True
    else:
        better = value > old_value if higher_is_better else value < old_value
    if better:
        client.set_registered_model_alias(name, "champion", version)
    return ChampionDecision(better, version, value, old_value, metric)


def log_training_run(
    kind: str,
    params: dict[str, Any],
    metrics: dict[str, float],
    primary_metric: str,
    higher_is_better: bool,
    bundle_dir: Path,
    artifacts: list[Path],
    input_example: pd.DataFrame,
    extra_tags: dict[str, str] | None = None,
    quiet: bool = False,
) -> tuple[str, ChampionDecision]:
    """Log one training run, log + register the model (models-from-code), apply the champion rule."""
    mlflow = configure()
    from mlflow import MlflowClient
    from mlflow.models import infer_signature
    from rich.console import Console

    console = Console(quiet=quiet)
    experiment_id = _experiment(mlflow, kind)
    tags = git_tags()
    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.set_tags({**tags, "kind": kind, **(extra_tags or {})})
        clean = {_metric_key(k): (str(v)[:6000] if v is not None else "null") for k, v in params.items()}
        items = list(clean.items())
        for i in range(0, len(items), 100):
            mlflow.log_params(dict(items[i:i + 100]))
        mlflow.log_metrics({k: float(v) for k, v in metrics.items() if v is not None and np.isfinite(v)})
        for path in dict.fromkeys(artifacts):
            mlflow.log_artifact(str(path), artifact_path="plots" if path.suffix == ".png" else None)
        mlflow.log_artifacts(str(bundle_dir), artifact_path="bundle")

        sample_output = _predict_with_bundle(kind, bundle_dir, input_example)
        signature = _optional_inputs(infer_signature(input_example, sample_output),
                                     "handle" if kind == "price" else "screen_name")
        info = mlflow.pyfunc.log_model(
            name="model", python_model=str(PYFUNC_CODE), artifacts={"bundle": str(bundle_dir)},
            model_config={"kind": kind}, signature=signature, input_example=input_example,
            registered_model_name=REGISTERED[kind], pip_requirements=[f"handleval=={tags['handleval_version']}"],
        )
        client = MlflowClient()
        version = str(info.registered_model_version)
        decision = decide_champion(client, REGISTERED[kind], version, primary_metric, metrics[primary_metric],
                                   higher_is_better)
        mlflow.set_tags({"champion_decision": "promoted" if decision.promoted else "kept",
                         "champion_metric": primary_metric, "champion_metric_new": f"{decision.new_value:.6f}",
                         "champion_metric_old": "none" if decision.old_value is None else f"{decision.old_value:.6f}",
                         "registered_version": version})
    console.print(f"MLflow run {run.info.run_id} in {tracking_uri()}: {decision.sentence()}")
    return run.info.run_id, decision


def _optional_inputs(signature: Any, required: str) -> Any:
    """Only the key column is required in the served schema; the others are optional, as in the CLI."""
    from mlflow.models import ModelSignature
    from mlflow.types.schema import ColSpec, Schema

    inputs = Schema([ColSpec(c.type, c.name, required=c.name == required) for c in signature.inputs.inputs])
    return ModelSignature(inputs=inputs, outputs=signature.outputs)


def _predict_with_bundle(kind: str, bundle_dir: Path, frame: pd.DataFrame) -> pd.DataFrame:
    if kind == "price":
        from handleval.predict import load

        return load(bundle_dir).value_many(frame)
    from handleval.accounts import load_accounts

    return load_accounts(bundle_dir).flag(frame)


def price_metrics(metrics: dict[str, dict[str, dict[str, float]]]) -> tuple[dict[str, float], float]:
    """Flat metric names (``test.fragment_telegram.rmse_ln``, ``baseline_market_median.dash_email.rmse_ln``)
    and the primary metric: mean RMSE ln over markets."""
    flat: dict[str, float] = {}
    for model, markets in metrics.items():
        prefix = "test" if model == "model" else model
        for market, values in markets.items():
            for key, value in values.items():
                flat[f"{prefix}.{market}.{key}"] = value
    markets = [m for m in metrics["model"] if m != "all"]
    primary = float(np.mean([metrics["model"][m]["rmse_ln"] for m in markets]))
    flat["primary.mean_rmse_ln"] = primary
    return flat, primary


def track_price_run(result: Any, quiet: bool = False) -> tuple[str, ChampionDecision]:
    """Log a :class:`handleval.train.PriceTrainResult`."""
    manifest = result.manifest
    params = flatten("config", manifest["config"])
    for source, info in manifest["training_data"].items():
        params[f"data.{source}.rows_train"] = info["rows_train"]
        params[f"data.{source}.rows_test"] = info["rows_test"]
        for f in info["files"]:
            params[f"data.{source}.{Path(f['file']).name}.sha256"] = f["sha256"]
    for name, fp in manifest["featurizer"].get("lexicons", {}).items():
        params[f"lexicon.{name}"] = fp if isinstance(fp, str) else str(fp)[:500]
    params["model.n_rounds"] = manifest["n_rounds"]
    params["model.chosen_params"] = manifest["chosen_params"]
    flat, _ = price_metrics(result.metrics)
    flat["train_seconds"] = result.seconds
    example = pd.DataFrame({"handle": ["pizza", "nike", "jdk_19927"], "platform": ["x", "x", "x"],
                            "suffix": ["", "", ""], "venue": ["", "", ""], "as_of": ["", "", ""]})
    artifacts = [*result.plots, result.bundle_dir / "MODEL_CARD.md"]
    return log_training_run("price", params, flat, "primary.mean_rmse_ln", False, result.bundle_dir, artifacts,
                            example, quiet=quiet)


def _metric_key(text: str) -> str:
    """MLflow metric names allow letters, digits, ``_ - . / `` and spaces."""
    return "".join(c if c.isalnum() or c in "_-./ :" else "_" for c in text).replace("  ", " ").strip()


def accounts_metrics(metrics: dict[str, Any]) -> tuple[dict[str, float], float]:
    """``lodo.<held-out set>.auc`` etc., out-of-fold and calibration numbers; primary: mean LODO AUC."""
    flat: dict[str, float] = {}
    aucs = []
    for row in metrics["lodo"]:
        unit = _metric_key(str(row["held_out"]))
        for key, value in row.items():
            if isinstance(value, int | float) and key != "held_out":
                flat[f"lodo.{unit}.{_metric_key(key).replace('@', '_at_')}"] = float(value)
        if row.get("auc") == row.get("auc"):
            aucs.append(float(row["auc"]))
    for key, value in metrics.get("out_of_fold", {}).items():
        flat[f"out_of_fold.{key}"] = float(value)
    for key in ("ece_uncalibrated", "ece_calibrated", "lodo_min_auc"):
        if key in metrics:
            flat[key] = float(metrics[key])
    for row in metrics.get("dormancy", []):
        unit = _metric_key(str(row.get("held_out", row.get("set", "all"))))
        for key, value in row.items():
            if isinstance(value, int | float):
                flat[f"dormancy.{unit}.{_metric_key(key)}"] = float(value)
    primary = float(np.mean(aucs)) if aucs else float("nan")
    flat["primary.mean_lodo_auc"] = primary
    return flat, primary


def track_accounts_run(result: Any, quiet: bool = False) -> tuple[str, ChampionDecision]:
    """Log a :class:`handleval.accounts.train.AccountsTrainResult`."""
    manifest = result.manifest
    params = flatten("config", manifest["config"])
    for name, info in manifest.get("data", {}).items():
        if isinstance(info, dict):
            for key, value in flatten("", info).items():
                params[f"data.{name}.{key}"] = value
    params["threshold"] = manifest["threshold"]["threshold"]
    params["calibration.method"] = manifest["calibration"].get("method")
    flat, _ = accounts_metrics(result.metrics)
    flat["train_seconds"] = result.seconds
    example = pd.DataFrame({
        "screen_name": ["jack", "crypto_bot_48213"], "created_at": ["2006-03-21", "2019-05-01"],
        "statuses_count": [29000, 120000], "followers_count": [6_400_000, 12], "friends_count": [4500, 4900],
        "favourites_count": [35000, 0], "verified": [True, False], "observed_at": ["2020-08-01", "2020-08-01"],
    })
    artifacts = [*result.figures, result.bundle_dir / "MODEL_CARD.md"]
    return log_training_run("accounts", params, flat, "primary.mean_lodo_auc", True, result.bundle_dir,
                            artifacts, example, quiet=quiet)
