"""MLflow tracking: one run per ``handleval train``, the model registry and the ``champion`` alias.

Default store: ``sqlite:///mlflow.db`` in the working directory with artifacts in ``./mlartifacts`` beside it;
``MLFLOW_TRACKING_URI`` (e.g. ``postgresql://user@host/mlflow`` or ``http://mlflow.internal:5000``) overrides it
without code changes.

What a reviewer sees: experiments open as model-training experiments; a run is named for its model, data, seed
and date; its metrics are grouped by prefix, the headline per market first (``1_headline/``, then ``2_model/``,
``3_baseline_median/`` ...); its description and ``review/summary_table.json`` hold one market x metric table
with the baselines; its registered version describes its headline metrics, training data and champion decision.

The champion rule: the alias ``champion`` moves to a new version only when it meets every target in its config
and beats the current champion by more than noise (:func:`decide_champion`).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import subprocess
import tempfile
import time
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from handleval._markdown import to_markdown
from handleval.config import PROJECT_ROOT, ExtraSource, Promotion, Target
from handleval.errors import HandlevalError
from handleval.price.evaluate import bar_values, price_headline

EXPERIMENTS = {"price": "handleval-price", "accounts": "handleval-accounts"}
REGISTERED = {"price": "handleval-price", "accounts": "handleval-accounts"}
PYFUNC_CODE = Path(__file__).with_name("mlflow_pyfunc.py")
#: Opens the experiment in the UI's model-training view (runs, charts), not the GenAI one (traces).
EXPERIMENT_KIND = ("mlflow.experimentKind", "custom_model_development")
HEADLINE = "1_headline/"
PREDICTIONS_ARTIFACT = "review/test_predictions.parquet"
#: Columns that identify a test row across runs (the paired bootstrap joins on them).
ROW_KEY = ["source", "handle", "suffix", "sold_at"]
#: Summary-table columns left out of the descriptions (narrow in the UI); ``review/summary_table.json`` has them.
DETAIL_COLUMNS = ("Spearman, length baseline", "within 2x")


def tracking_uri() -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path.cwd() / 'mlflow.db'}"


def check_store() -> None:
    """One sentence when the tracking store cannot be read (a corrupt ``mlflow.db``, a server that is not running):
    checked before training, so that a run is not lost after its minutes of work, and before the UI starts."""
    from unittest import mock

    import mlflow

    uri = tracking_uri()
    database = sqlite_path(uri)
    in_memory = uri.rstrip("/").lower() == "sqlite:" or str(database) in (".", ":memory:") \
        or "mode=memory" in uri.lower()
    problem = "an in-memory store keeps nothing once this process ends (runs, versions, the champion)" if in_memory \
        else _sqlite_problem(database, uri) if database is not None else None
    if problem:  # said at once: SQLite's retries took two minutes on a folder, a read-only file failed after training
        raise HandlevalError(f"the MLflow tracking store {uri} cannot be used: {problem} (fix or move it, set "
                             "MLFLOW_TRACKING_URI, or train with --no-track)")
    # a server that does not answer: said in seconds, not after MLflow's retries (~4 minutes)
    quick = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "10"}
    try:
        with quiet_mlflow(), mock.patch.dict(os.environ, quick):  # the environment as it was afterwards
            mlflow.MlflowClient(uri).search_experiments(max_results=1)
    except _store_errors() as exc:
        raise HandlevalError(f"the MLflow tracking store {uri} cannot be used: {_first_line(exc)} (fix or move it, "
                             "set MLFLOW_TRACKING_URI, or train with --no-track)") from None


def _sqlite_problem(database: Path, uri: str = "") -> str | None:
    """Why an SQLite store file cannot hold runs (a folder in its place, no write permission, opened read-only by
    its URI), else None."""
    from urllib.parse import parse_qs

    options = {k.lower(): v[-1].lower() for k, v in parse_qs(uri.partition("?")[2]).items()}
    if options.get("mode") == "ro" or options.get("immutable") in ("1", "true", "yes", "on"):
        return f"{uri.partition('?')[2]} opens it read-only"
    if database.is_dir():
        return f"{database} is a folder, not a database file"
    if database.is_file() and not os.access(database, os.W_OK):
        return f"{database} cannot be written"
    if not database.exists() and database.parent.is_dir() and not os.access(database.parent, os.W_OK):
        return f"cannot make {database} in {database.parent}"
    return None


def _store_errors() -> tuple[type[BaseException], ...]:
    """What a tracking store that cannot be used raises: MLflow's errors, a corrupt or locked SQLite store's (they
    come through unwrapped), the file system's, and a missing database driver (``postgresql://`` without one)."""
    from mlflow.exceptions import MlflowException
    from sqlalchemy.exc import SQLAlchemyError

    return MlflowException, SQLAlchemyError, OSError, ImportError


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]


def sqlite_path(uri: str) -> Path | None:
    """The file of an SQLite store URI (``sqlite:///mlflow.db``, or SQLite's URI form
    ``sqlite:///file:/path/mlflow.db?mode=ro&uri=true``), None for another store."""
    if not uri.startswith("sqlite:///"):
        return None
    path = uri.removeprefix("sqlite:///")
    return Path(path.removeprefix("file:").split("?", 1)[0]) if path.startswith("file:") else Path(path)


def artifact_root() -> str:
    """Where new experiments keep their artifacts: ``HANDLEVAL_ARTIFACT_ROOT``, else ``mlartifacts`` beside the
    SQLite store (the working directory for any other store)."""
    if os.environ.get("HANDLEVAL_ARTIFACT_ROOT"):
        return os.environ["HANDLEVAL_ARTIFACT_ROOT"]
    database = sqlite_path(tracking_uri())
    beside = database.parent if database is not None else Path.cwd()
    return (beside.absolute() / "mlartifacts").as_uri()


def ui_path(experiment_id: str, run_id: str | None = None) -> str:
    """The UI's address of an experiment or run in its model-training view (MLflow 3.17 opens experiments in its
    GenAI view unless the address asks for ``workflowType=machine_learning``)."""
    run = f"/runs/{run_id}" if run_id else ""
    return f"#/experiments/{experiment_id}{run}?workflowType=machine_learning"


def configure() -> Any:
    """Point MLflow at the project's store; create experiments with artifacts beside the SQLite file."""
    import mlflow

    mlflow.set_tracking_uri(tracking_uri())
    mlflow.set_registry_uri(tracking_uri())
    return mlflow


@contextlib.contextmanager
def quiet_mlflow() -> Iterator[None]:
    """Training prints handleval's own progress only: no artifact download bars, registry chatter (MLflow prints
    it to stderr), INFO logs or schema warnings from MLflow while a run is logged. What MLflow wrote to stderr is
    shown after all when something fails."""
    import io
    import sys

    import mlflow  # noqa: F401  # its import configures the "mlflow" logger: import first, then quieten it

    saved_env = os.environ.get("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR")
    os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"
    logger = logging.getLogger("mlflow")
    saved_level = logger.level
    logger.setLevel(logging.ERROR)
    captured = io.StringIO()
    try:
        with warnings.catch_warnings(), contextlib.redirect_stderr(captured):
            warnings.filterwarnings("ignore", module=r"mlflow(\.|$)")
            warnings.filterwarnings("ignore", message=r"(?i).*(mlflow|schema|signature|input example).*")
            yield
    except BaseException:
        sys.stderr.write(captured.getvalue())
        raise
    finally:
        logger.setLevel(saved_level)
        if saved_env is None:
            os.environ.pop("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", None)
        else:
            os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = saved_env


def _experiment(mlflow: Any, kind: str) -> str:
    name = EXPERIMENTS[kind]
    found = mlflow.get_experiment_by_name(name)
    if found is None:
        location = None if os.environ.get("MLFLOW_TRACKING_URI", "").startswith("http") else artifact_root()
        return mlflow.create_experiment(name, artifact_location=location, tags=dict([EXPERIMENT_KIND]))
    if found.tags.get(EXPERIMENT_KIND[0]) != EXPERIMENT_KIND[1]:  # made before the tag existed
        mlflow.MlflowClient().set_experiment_tag(found.experiment_id, *EXPERIMENT_KIND)
    return found.experiment_id


def mark_experiments() -> dict[str, str]:
    """Tag the project's existing experiments as model-training ones (``handleval ui`` calls this before it starts
    the UI, for experiments made by older versions); returns their ids by name."""
    mlflow = configure()
    found_ids = {}
    with quiet_mlflow():
        for name in EXPERIMENTS.values():
            found = mlflow.get_experiment_by_name(name)
            if found is None:
                continue
            found_ids[name] = found.experiment_id
            if found.tags.get(EXPERIMENT_KIND[0]) != EXPERIMENT_KIND[1]:
                mlflow.MlflowClient().set_experiment_tag(found.experiment_id, *EXPERIMENT_KIND)
    return found_ids


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


# ------------------------------------------------------------------------------------------- the champion rule
@dataclass
class Candidate:
    """What the champion rule judges: headline metrics (names without ``1_headline/``), the primary one among
    them, and for the price model the per-row test predictions (``ROW_KEY`` + ``y`` + ``pred``)."""

    headline: dict[str, float]
    primary: str
    higher_is_better: bool
    targets: list[Target] = field(default_factory=list)
    promotion: Promotion = field(default_factory=Promotion)
    predictions: pd.DataFrame | None = None
    #: headline names whose mean is the primary metric, one per held-out unit (accounts: ``<set>.auc``): compared
    #: with a champion on the units both were tested on
    parts: list[str] = field(default_factory=list)
    #: the config's goals: reported beside the decision, gating nothing
    goals: list[Target] = field(default_factory=list)

    @property
    def value(self) -> float:
        return float(self.headline[self.primary])


@dataclass
class TargetCheck:
    target: Target
    value: float | None

    @property
    def met(self) -> bool:
        return self.target.met(self.value)

    def text(self) -> str:
        return self.target.verdict(self.value)


@dataclass
class ChampionDecision:
    promoted: bool
    version: str
    metric: str
    new_value: float
    old_value: float | None
    champion_version: str | None = None
    checks: list[TargetCheck] = field(default_factory=list)
    #: How "better by more than noise" was judged, in words (bootstrap share or margin).
    noise: str = ""
    better: bool = True
    reason: str = ""
    goals: list[TargetCheck] = field(default_factory=list)

    def sentence(self) -> str:
        old = "none" if self.old_value is None else f"{self.old_value:.4f}"
        verdict = f"version {self.version} promoted to champion" if self.promoted else \
            f"champion kept (version {self.champion_version}); version {self.version} not promoted" \
            if self.champion_version else f"no champion yet; version {self.version} not promoted"
        return f"{verdict}: {self.reason}. {self.metric} new {self.new_value:.4f} vs champion {old}"

    def markdown(self) -> str:
        lines = [f"**Champion decision: {'promoted' if self.promoted else 'not promoted'}** — {self.reason}.", "",
                 f"- {self.metric}: {self.new_value:.4f} (champion "
                 f"{'none' if self.old_value is None else f'v{self.champion_version}: {self.old_value:.4f}'})"]
        if self.noise:
            lines.append(f"- better than noise: {self.noise}")
        lines += [f"- target {c.text()}" for c in self.checks]
        lines += [f"- goal (reported, gates nothing) {c.target.verdict(c.value, 'goal')}" for c in self.goals]
        return "\n".join(lines)

    def tags(self) -> dict[str, str]:
        missed = [c.target.metric for c in self.checks if not c.met]
        return {"champion_decision": "promoted" if self.promoted else "kept" if self.champion_version else "none",
                "champion_reason": self.reason[:5000],
                "champion_metric": self.metric, "champion_metric_new": f"{self.new_value:.6f}",
                "champion_metric_old": "none" if self.old_value is None else f"{self.old_value:.6f}",
                "champion_compared_to": self.champion_version or "none",
                "champion_noise": self.noise[:5000] or "none",
                "targets_met": f"{len(self.checks) - len(missed)}/{len(self.checks)}",
                "targets_missed": ", ".join(missed) or "none",
                "goals_met": f"{sum(c.met for c in self.goals)}/{len(self.goals)}",
                "goals_missed": ", ".join(c.target.metric for c in self.goals if not c.met) or "none"}


def shared_markets(new: pd.DataFrame, old: pd.DataFrame) -> set[str]:
    """The markets (``source``) both runs' test predictions cover: the only ones a comparison of the two counts."""
    return set(new["source"].astype(str)) & set(old["source"].astype(str))


def _keyed(frame: pd.DataFrame, markets: set[str]) -> pd.DataFrame:
    """The test rows of ``markets``, indexed by :data:`ROW_KEY` (and the n-th repeat of a key), in key order: the
    same sale lines up in two runs."""
    frame = frame.astype({c: str for c in ROW_KEY})
    frame = frame[frame["source"].isin(markets)]
    return frame.assign(nth=frame.groupby(ROW_KEY).cumcount()).set_index([*ROW_KEY, "nth"]).sort_index()


def paired_bootstrap(new: pd.DataFrame, old: pd.DataFrame, rounds: int, seed: int = 0) -> np.ndarray | None:
    """Differences new − old in mean RMSE ln over markets on ``rounds`` resamples of the same test rows (each
    market's rows drawn with replacement, the same draws for both). Only the markets both runs were tested on
    count, so a market one of them adds (a sales ledger) cannot carry the decision. None when those markets' test
    rows differ, or when the two runs share no market."""

    shared = shared_markets(new, old)
    if not shared:
        return None
    new_k, old_k = _keyed(new, shared), _keyed(old, shared)
    if len(new_k) != len(old_k) or not new_k.index.equals(old_k.index):
        return None
    rng = np.random.default_rng(seed)
    new_err, old_err = ((k["pred"].to_numpy() - k["y"].to_numpy()) ** 2 for k in (new_k, old_k))
    markets = new_k.index.get_level_values("source").to_numpy()
    diffs = np.zeros(rounds)
    for market in np.unique(markets):
        rows = np.flatnonzero(markets == market)
        draws = rng.choice(rows, size=(rounds, len(rows)))
        diffs += np.sqrt(new_err[draws].mean(axis=1)) - np.sqrt(old_err[draws].mean(axis=1))
    return diffs / len(np.unique(markets))


def targets_differ(new: pd.DataFrame, old: pd.DataFrame) -> bool:
    """Whether the two runs' test rows of their shared markets carry other prices (another ``cap_usd`` clips them
    otherwise): then neither their rows nor their metrics can be compared."""
    shared = shared_markets(new, old)
    new_y, old_y = _keyed(new, shared)["y"], _keyed(old, shared)["y"]
    both = new_y.index.intersection(old_y.index)
    return not np.allclose(new_y[both].to_numpy(), old_y[both].to_numpy())


def _champion_predictions(client: Any, run_id: str) -> tuple[pd.DataFrame | None, str]:
    """The champion run's test predictions, or None and why they cannot be read (an older run without them, a
    store moved away from its artifacts, a damaged file): the decision then says so."""
    with tempfile.TemporaryDirectory() as tmp:
        try:
            return pd.read_parquet(client.download_artifacts(run_id, PREDICTIONS_ARTIFACT, tmp)), ""
        except Exception as exc:  # MLflow, the filesystem or pyarrow: any of them means "unread"
            return None, " ".join(f"{type(exc).__name__}: {exc}".split())[:300]


def decide_champion(client: Any, name: str, version: str, candidate: Candidate) -> ChampionDecision:
    """Move ``champion`` to ``version`` only if the candidate meets every target and beats the current champion
    by more than noise: better in at least ``confidence`` of paired bootstrap resamples of the same test rows and
    by more than the configured margin (resampling rows does not see a seed's noise: a model that differs by its
    seed alone can be better in nearly every resample), or,
    when the two were tested on different rows, better by more than the margin."""
    from mlflow.exceptions import MlflowException

    checks = [TargetCheck(t, candidate.headline.get(t.metric)) for t in candidate.targets]
    missed = [c for c in checks if not c.met]
    rule = candidate.promotion
    metric = HEADLINE + candidate.primary
    try:
        current = client.get_model_version_by_alias(name, "champion")
    except MlflowException:
        current = None
    old_value = old_run = None
    if current is not None:
        try:
            old_run = client.get_run(current.run_id)
        except MlflowException:  # deleted for good (mlflow gc): the alias points at a version without its run
            pass
        else:
            old_value = old_run.data.metrics.get(metric)
    decision = ChampionDecision(False, version, metric, candidate.value, old_value,
                                None if current is None else str(current.version), checks,
                                goals=[TargetCheck(g, candidate.headline.get(g.metric)) for g in candidate.goals])
    sign = 1.0 if candidate.higher_is_better else -1.0  # > 0: the candidate is better
    if current is not None and old_run is None:
        decision.better = False
        decision.reason = (f"champion v{current.version}'s run {current.run_id} is no longer in the store: nothing "
                           "to compare with; a reviewer moves the alias")
    elif current is None or old_value is None or not np.isfinite(old_value):
        decision.better, decision.reason = True, "no champion yet"
    else:
        diffs, old_predictions, unread = None, None, ""
        if candidate.predictions is not None:
            old_predictions, unread = _champion_predictions(client, current.run_id)
            if old_predictions is not None:
                diffs = paired_bootstrap(candidate.predictions, old_predictions, rule.bootstrap_rounds)
        old_parts = {p: old_run.data.metrics.get(HEADLINE + p) for p in candidate.parts}
        shared_parts = [p for p, v in old_parts.items() if v is not None and np.isfinite(v)]
        if old_predictions is not None and targets_differ(candidate.predictions, old_predictions):
            decision.noise = ("the champion's test prices differ from this run's on the same sales (another "
                              "cap_usd?): neither rows nor metrics compare; a reviewer moves the alias")
            decision.better = False
        elif diffs is None and candidate.parts:
            gain = sign * (float(np.mean([candidate.headline[p] for p in shared_parts]))
                           - float(np.mean([old_parts[p] for p in shared_parts]))) if shared_parts else float("nan")
            left = sorted(set(candidate.parts) - set(shared_parts))
            decision.noise = (f"compared on the {len(shared_parts)} held-out sets both were tested on"
                              + (f" ({', '.join(left)} left out)" if left else "")
                              + f": better by {gain:+.4f} (needs more than the margin {rule.margin:g})")
            decision.better = bool(gain > rule.margin)
        elif diffs is not None:
            share = float(np.mean(sign * diffs > 0))
            low, high = np.quantile(diffs, [0.025, 0.975])
            markets = candidate.predictions["source"].astype(str)
            shared = markets.isin(shared_markets(candidate.predictions, old_predictions))
            only_new = sorted(set(markets[~shared]))
            decision.noise = (f"paired bootstrap on the same {int(shared.sum())} test rows"
                              + (f" (markets the champion was not tested on left out: {', '.join(only_new)})"
                                 if only_new else "") + ": better in "
                              f"{share:.1%} of {rule.bootstrap_rounds} resamples (needs {rule.confidence:.0%}); "
                              f"difference {float(np.mean(diffs)):+.4f}, 95% interval [{low:+.4f}, {high:+.4f}] "
                              f"(needs better by more than the margin {rule.margin:g}: resampling rows does not see "
                              "the noise of another seed)")
            decision.better = share >= rule.confidence and sign * float(np.mean(diffs)) > rule.margin
        else:
            gain = sign * (candidate.value - old_value)
            why = f"the champion's test predictions could not be read ({unread})" if unread \
                else "not tested on the same rows as the champion"
            decision.noise = (f"{why}: compared on the logged metric, "
                              f"better by {gain:+.4f} (needs more than the margin {rule.margin:g})")
            decision.better = gain > rule.margin
        decision.reason = f"better than champion v{current.version} by more than noise" if decision.better \
            else f"not better than champion v{current.version} by more than noise"
    if missed:
        names = ", ".join(c.target.metric for c in missed)
        decision.reason = f"missed {len(missed)} of {len(checks)} targets ({names})" \
            + ("" if decision.better else "; " + decision.reason)
    elif checks:
        decision.reason = f"met all {len(checks)} targets; " + decision.reason
    decision.promoted = decision.better and not missed
    if decision.promoted:
        client.set_registered_model_alias(name, "champion", version)
    return decision


# --------------------------------------------------------------------------------------------------- a run
@dataclass
class DatasetInput:
    """One training set as an input of the run: the UI's "Datasets used" names it with a digest of its files, so a
    reviewer sees what a model learnt from and whether two runs read the same files."""

    name: str
    #: the manifest's ``{"file": path relative to root, "sha256": ...}`` records
    files: list[dict[str, Any]]
    root: Path | None
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def digest(self) -> str:
        """The first 16 hex digits of the sha256 of its files' sha256s, in the manifest's order."""
        return hashlib.sha256("".join(f["sha256"] for f in self.files).encode()).hexdigest()[:16]

    @property
    def uri(self) -> str:
        """Its file, or the folder holding its files, on the machine that trained."""
        paths = [Path(f["file"]) for f in self.files]
        where = paths[0] if len(paths) == 1 else Path(os.path.commonpath(paths))
        return str((self.root / where) if self.root else where)


def _log_datasets(mlflow: Any, datasets: list[DatasetInput]) -> None:
    import json

    from mlflow.data.dataset_source_registry import get_dataset_source_from_json
    from mlflow.data.meta_dataset import MetaDataset

    for d in datasets:  # MLflow registers its "local" source class at run time: it is looked up, not imported
        source = get_dataset_source_from_json(json.dumps({"uri": d.uri}), source_type="local")
        dataset = MetaDataset(source, name=d.name, digest=d.digest)
        mlflow.log_input(dataset, context="training", tags=d.tags)


@dataclass
class Review:
    """Everything one training run logs besides its bundle: the reviewer's view of it."""

    kind: str
    run_name: str
    params: dict[str, Any]
    metrics: dict[str, float]
    summary: pd.DataFrame
    training_data: str
    candidate: Candidate
    artifacts: list[Path]
    input_example: pd.DataFrame
    extra_tags: dict[str, str] = field(default_factory=dict)
    datasets: list[DatasetInput] = field(default_factory=list)
    #: how long training took: the run starts that long before it is logged (the UI's Duration is the training's)
    train_seconds: float = 0.0
    #: each training set's licence note from its SOURCE.txt (several are research or evaluation use only)
    licences: dict[str, str] = field(default_factory=dict)

    def licence_text(self) -> str:
        """The licences as one Markdown line for the run's and the version's description (empty without any)."""
        if not self.licences:
            return ""
        return "**Licences (each set's SOURCE.txt):** " + "; ".join(f"{k}: {v}" for k, v in self.licences.items())


def log_training_run(review: Review, bundle_dir: Path, quiet: bool = False,
                     registered_name: str | None = None) -> tuple[str, ChampionDecision]:
    """Log one training run, log + register the model (models-from-code), apply the champion rule and write the
    decision onto the run and the version."""
    from handleval._console import Console

    console = Console(quiet=quiet)
    try:
        with quiet_mlflow():
            experiment_id, run_id, decision = _log(review, bundle_dir, registered_name or REGISTERED[review.kind])
    except _store_errors() as exc:  # a store locked or gone since it was checked
        raise HandlevalError(f"the bundle is trained and saved in {bundle_dir}, but the MLflow tracking store "
                             f"{tracking_uri()} failed while its run was logged: {_first_line(exc)}; train again "
                             "once the store is free to record it") from None
    uri = tracking_uri()
    address = ui_path(experiment_id, run_id)
    where = f"{uri.rstrip('/')}/{address}" if uri.startswith("http") else \
        f"`handleval ui`, then http://127.0.0.1:5000/{address} (5000 or the port given to --port)"
    console.print(f"MLflow run {review.run_name!r} in {uri}", soft_wrap=True)
    console.print(f"  review it: {where}", soft_wrap=True)
    console.print(decision.sentence(), soft_wrap=True)
    for check in decision.checks:
        console.print(f"  target {check.text()}", soft_wrap=True)
    if decision.noise:
        console.print(f"  {decision.noise}", soft_wrap=True)
    return run_id, decision


def _log(review: Review, bundle_dir: Path, registered_name: str) -> tuple[str, str, ChampionDecision]:
    mlflow = configure()
    from mlflow import MlflowClient
    from mlflow.models import infer_signature
    from mlflow.tracking.context.registry import resolve_tags

    from handleval.trees.bundle import own_files, sha256_file

    kind = review.kind
    tags = git_tags()
    began = int((time.time() - review.train_seconds) * 1000)
    made = MlflowClient().create_run(_experiment(mlflow, kind), start_time=began, run_name=review.run_name,
                                     tags=resolve_tags())  # the user and source start_run adds to a run it makes
    with mlflow.start_run(run_id=made.info.run_id) as run, tempfile.TemporaryDirectory() as tmp:
        mlflow.set_tags({**tags, "kind": kind, **review.extra_tags})
        clean = {_metric_key(k): (str(v)[:6000] if v is not None else "null") for k, v in review.params.items()}
        items = list(clean.items())
        for i in range(0, len(items), 100):
            mlflow.log_params(dict(items[i:i + 100]))
        mlflow.log_metrics({k: float(v) for k, v in review.metrics.items() if v is not None and np.isfinite(v)})
        _log_datasets(mlflow, review.datasets)
        mlflow.log_table(review.summary, "review/summary_table.json")
        for path in dict.fromkeys(review.artifacts):
            mlflow.log_artifact(str(path), artifact_path="plots" if path.suffix == ".png" else None)
        published = Path(tmp) / "bundle"  # the files training wrote, not a user's notes or ledger kept beside them
        for name in own_files(bundle_dir):
            (published / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(bundle_dir / name, published / name)
        mlflow.log_artifacts(str(published), artifact_path="bundle")
        if review.candidate.predictions is not None:
            path = Path(tmp) / Path(PREDICTIONS_ARTIFACT).name
            review.candidate.predictions.to_parquet(path, index=False)
            mlflow.log_artifact(str(path), artifact_path=str(Path(PREDICTIONS_ARTIFACT).parent))

        artifacts, config = {"bundle": str(published)}, {"kind": kind}
        if kind == "price":
            artifacts["data"] = str(price_data_snapshot(bundle_dir, Path(tmp) / "data"))
            config["sales_sha256"] = sha256_file(Path(artifacts["data"]) / "sales_history.parquet")
        sample_output = _predict_with_bundle(kind, bundle_dir, review.input_example, artifacts.get("data"))
        signature = _served_inputs(infer_signature(review.input_example, sample_output), kind)
        info = mlflow.pyfunc.log_model(
            name="model", python_model=str(PYFUNC_CODE), artifacts=artifacts,
            model_config=config, signature=signature, input_example=review.input_example,
            registered_model_name=registered_name, pip_requirements=[f"handleval=={tags['handleval_version']}"],
        )
        client = MlflowClient()
        version = str(info.registered_model_version)
        decision = decide_champion(client, registered_name, version, review.candidate)
        mlflow.set_tags({**decision.tags(), "registered_version": version})
        table = to_markdown(review.summary[[c for c in review.summary if c not in DETAIL_COLUMNS]], missing="–")
        mlflow.set_tag("mlflow.note.content", "\n\n".join(part for part in [
            table, decision.markdown(), f"**Training data:** {review.training_data}", review.licence_text(),
            f"Registered as `{registered_name}` version {version}. The full table: `review/summary_table.json`."]
            if part))
        client.update_model_version(registered_name, version, description="\n\n".join(part for part in [
            f"**{review.run_name}**", table, f"**Training data:** {review.training_data}", review.licence_text(),
            f"Run `{run.info.run_id}`; commit `{tags['git_commit'][:12]}`"
            f"{' (uncommitted changes)' if tags['git_dirty'] == 'true' else ''}.", decision.markdown()] if part))
        for key, value in decision.tags().items():
            client.set_model_version_tag(registered_name, version, key, value)
    return run.info.experiment_id, run.info.run_id, decision


def price_data_snapshot(bundle_dir: Path, out: Path) -> Path:
    """What the price model reads at prediction time besides its bundle, copied for the logged model: the sales
    history for comparables (``sales_history.parquet``) and the reference files of its lexicons
    (``reference/...``) and the account tables of X's famous accounts (``accounts/...``). It goes to the MLflow
    artifact store only, never into the repository."""
    from handleval.config import data_dir
    from handleval.features.lexicons import lexicon_files
    from handleval.price.predict import sales_history
    from handleval.trees.bundle import read_manifest

    manifest = read_manifest(bundle_dir, "price")
    out.mkdir(parents=True, exist_ok=True)
    sales_history(manifest).to_parquet(out / "sales_history.parquet", index=False)
    data = data_dir()
    names = [*manifest["featurizer"].get("lexicons", {}), "x_account"]  # the market rules read X's famous accounts
    files = {rel for name in names for rel in lexicon_files(name, data)}
    for rel in sorted(files):  # each once: the celebrity lexicon reads the brand files too
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(data / rel, out / rel)
    return out


def _served_inputs(signature: Any, kind: str) -> Any:
    """The served schema's inputs: every column the command reads, of any type, so that the served model answers as
    the command does (MLflow drops the columns a schema does not name: with only the example's, an account lost
    its description and last activity, and X API v2 objects or counts given as text were refused). Only a price
    model's ``handle`` is required; an account needs ``screen_name`` or v2's ``username``, which ``flag`` checks."""
    from mlflow.models import ModelSignature
    from mlflow.types.schema import AnyType, ColSpec, Schema

    if kind == "price":
        from handleval.price.predict import INPUT_COLUMNS

        names, required = list(INPUT_COLUMNS), "handle"
    else:
        from handleval.accounts.features import COLUMN_ALIASES

        names, required = [*dict.fromkeys(a for aliases in COLUMN_ALIASES.values() for a in aliases),
                           "public_metrics"], ""
    inputs = Schema([ColSpec(AnyType(), name, required=name == required) for name in names])
    return ModelSignature(inputs=inputs, outputs=signature.outputs)


def _predict_with_bundle(kind: str, bundle_dir: Path, frame: pd.DataFrame, data: str | None = None) -> pd.DataFrame:
    """The bundle's output for ``frame``, which the logged model's signature is read off. A price model is loaded
    with no sales history (nothing to read or fit): its comparables are then missing, its columns and their
    types are the same."""
    if kind == "price":
        from handleval.price.predict import load

        history = pd.DataFrame({"handle": pd.Series(dtype=object), "platform": pd.Series(dtype=object),
                                "suffix": pd.Series(dtype=object), "price_usd": pd.Series(dtype=float),
                                "sold_at": pd.Series(dtype="datetime64[ns]")})
        return load(bundle_dir, history=history, data_dir=data).value_many(frame)
    from handleval.accounts import load_accounts

    return load_accounts(bundle_dir).flag(frame)


def _metric_key(text: str) -> str:
    """MLflow metric names allow letters, digits, ``_ - . / `` and spaces: "+" reads "and", parentheses go, any
    other character is "_" ("cresci family (2015 + 2017)" → "cresci family 2015 and 2017", was "cresci family _2015
    _ 2017_")."""
    text = text.replace("+", " and ").replace("(", " ").replace(")", " ")
    return " ".join("".join(c if c.isalnum() or c in "_-./ :" else "_" for c in text).split())


# --------------------------------------------------------------------------------------------- price runs
PRICE_GROUPS = {"model": "2_model", "baseline_market_median": "3_baseline_median",
                "baseline_length_pattern": "4_baseline_length"}


def price_metrics(metrics: dict[str, dict[str, dict[str, float]]]) -> tuple[dict[str, float], float]:
    """MLflow metric names grouped by prefix, headline first (``1_headline/fragment_telegram.rmse_vs_median``,
    ``2_model/dash_email.r2``, ``3_baseline_median/...``), and the primary metric: mean RMSE ln over markets."""
    headline = price_headline(metrics)
    flat = {HEADLINE + k: v for k, v in headline.items()}
    for model, markets in metrics.items():
        group = PRICE_GROUPS.get(model, f"5_{model}")
        for market, values in markets.items():
            for key, value in values.items():
                flat[f"{group}/{market}.{key}"] = value
    return flat, headline["mean_rmse_ln"]


def price_summary(metrics: dict[str, dict[str, dict[str, float]]]) -> pd.DataFrame:
    """One row per market (and all): the model's test metrics next to both baselines'."""
    model, median, length = (metrics[k] for k in ("model", "baseline_market_median", "baseline_length_pattern"))
    rows = []
    for m in [*(k for k in model if k != "all"), "all"]:
        rows.append({
            "market": m, "test rows": int(model[m]["n"]), "RMSE ln": model[m]["rmse_ln"],
            "RMSE ln, median baseline": median[m]["rmse_ln"], "RMSE ln, length baseline": length[m]["rmse_ln"],
            "vs median": f"{model[m]['rmse_ln'] / median[m]['rmse_ln'] - 1:+.1%}",
            "Spearman": model[m].get("spearman", float("nan")),
            "Spearman, length baseline": length[m].get("spearman", float("nan")),
            "within 2x": model[m].get("within_2x", float("nan")),
            "10-90% coverage": model[m].get("coverage_10_90", float("nan")),
        })
    return pd.DataFrame(rows)


def price_run_name(manifest: dict[str, Any]) -> str:
    """``price · lgbm 354 trees x 15 leaves · fragment+namebio+dash 29,302 sales · seed 42 · 2026-12-05 09:58``: each
    source by its first word, in full where two share it (``namebio_domains+namebio_2015_2020``)."""
    data = manifest["training_data"]
    rows = sum(int(d["rows_train"]) + int(d["rows_test"]) for d in data.values())
    first = [s.split("_")[0] for s in data]
    sources = "+".join(f if first.count(f) == 1 else s for f, s in zip(first, data, strict=True))
    leaves = manifest.get("chosen_params", {}).get("num_leaves", "?")
    when = str(manifest.get("trained_at", ""))[:16].replace("T", " ")
    return (f"price · lgbm {manifest['n_rounds']} trees x {leaves} leaves · {sources} {rows:,} sales · "
            f"seed {manifest['config']['seed']} · {when}")


def price_training_data(manifest: dict[str, Any]) -> str:
    parts = []
    for source, info in manifest["training_data"].items():
        first, last = (str(d)[:10] for d in info.get("sold_at", ["?", "?"]))
        files = ", ".join(f"{Path(f['file']).name} ({f['sha256'][:10]})" for f in info.get("files", []))
        parts.append(f"{source}: {info['rows_train']:,} train / {info['rows_test']:,} test sales, "
                     f"{first} to {last}; {files}")
    return "; ".join(parts)


def price_test_rows(test: pd.DataFrame) -> pd.DataFrame:
    """The test predictions the paired bootstrap compares: ``ROW_KEY`` as text, ``y`` and ``pred`` (ln USD)."""
    keys = pd.DataFrame({c: test.get(c, "") for c in ROW_KEY}).astype({c: str for c in ROW_KEY})
    return keys.reset_index(drop=True).assign(y=test["y"].to_numpy(float), pred=test["pred"].to_numpy(float))


def price_review(result: Any) -> Review:
    """The review of a :class:`handleval.price.train.PriceTrainResult`."""
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
    for group, values in manifest.get("checks", {}).items():  # premium names: tiers on X, high end, repeat sales
        for key, value in values.items():
            flat[f"{HEADLINE}premium.{group}.{key}"] = value
    flat["5_run/train_seconds"] = result.seconds
    if "cv_rmse_ln" in manifest:
        flat["5_run/cv_rmse_ln"] = manifest["cv_rmse_ln"]
    predictions = price_test_rows(result.test_predictions)
    config = manifest["config"]
    candidate = Candidate(bar_values(result.metrics, manifest.get("checks", {})), "mean_rmse_ln",
                          higher_is_better=False,
                          targets=[Target.model_validate(t) for t in config.get("targets", [])],
                          promotion=Promotion.model_validate(config.get("promotion", {})), predictions=predictions,
                          goals=[Target.model_validate(g) for g in config.get("goals", [])])
    example = pd.DataFrame({"handle": ["pizza", "nike", "jdk_19927"], "platform": ["x", "x", "x"],
                            "suffix": ["", "", ""], "venue": ["", "", ""], "as_of": ["", "", ""]})
    return Review("price", price_run_name(manifest), params, flat, price_summary(result.metrics),
                  price_training_data(manifest), candidate, [*result.plots, result.bundle_dir / "MODEL_CARD.md"],
                  example, datasets=_price_datasets(manifest, result.data_root), train_seconds=result.seconds,
                  licences=_licences(result.data_root, "sales", manifest["training_data"]))


def _price_datasets(manifest: dict[str, Any], data_root: Path | None) -> list[DatasetInput]:
    """Each market's sales as a run input: a public set's file under the data folder, a ledger's file where the
    config says it is (its fingerprint names the file alone)."""
    ledgers = {e.label: e.path for e in map(ExtraSource.model_validate, manifest["config"].get("extra_sources", []))}
    out = []
    for source, info in manifest["training_data"].items():
        if not info.get("files"):
            continue
        files = [{**f, "file": ledgers[source]} for f in info["files"]] if source in ledgers else info["files"]
        out.append(DatasetInput(source, files, None if source in ledgers else data_root,
                                {"rows_train": str(info["rows_train"]), "rows_test": str(info["rows_test"]),
                                 "split": "by time: the newest sales of each market are the test"}))
    return out


def track_price_run(result: Any, quiet: bool = False, registered_name: str | None = None,
                    ) -> tuple[str, ChampionDecision]:
    """Log a :class:`handleval.price.train.PriceTrainResult` and apply the champion rule."""
    return log_training_run(price_review(result), result.bundle_dir, quiet=quiet, registered_name=registered_name)


# ------------------------------------------------------------------------------------------ account runs
#: Leave-one-dataset-out columns at a raw 0.5 cut of the uncalibrated score: kept in the manifest, not shown in the
#: run, whose precision and recall are the ones the card and README give (at the calibrated flag threshold).
RAW_CUT_COLUMNS = ("precision", "recall", "f1")


def accounts_metrics(metrics: dict[str, Any]) -> tuple[dict[str, float], float]:
    """``1_headline/`` (mean and minimum leave-one-dataset-out AUC, AUC per held-out set), then ``2_lodo/<set>.*``,
    ``3_calibration/``, ``4_out_of_fold/`` and ``5_dormancy/``; primary: mean LODO AUC."""
    from handleval.accounts.train import bar_values

    flat: dict[str, float] = {}
    for row in metrics["lodo"]:
        unit = _metric_key(str(row["held_out"]))
        for key, value in row.items():
            if isinstance(value, int | float) and key != "held_out" and key not in RAW_CUT_COLUMNS:
                flat[f"2_lodo/{unit}.{_metric_key(key.replace('@', '_at_'))}"] = float(value)
        if row.get("auc") == row.get("auc"):
            flat[f"{HEADLINE}{unit}.auc"] = float(row["auc"])
    bars = bar_values(metrics)  # the summaries a target or goal may name, as the card reads them
    for key in ("mean_lodo_auc", "lodo_min_auc", "lodo_min_auc_two_class"):
        if key in bars:
            flat[HEADLINE + key] = bars[key]
    for key in ("ece_uncalibrated", "ece_calibrated"):
        if key in bars:
            flat[f"3_calibration/{key}"] = bars[key]
    for key, value in metrics.get("out_of_fold", {}).items():
        flat[f"4_out_of_fold/{key}"] = float(value)
    for row in metrics.get("dormancy", []):
        unit = _metric_key(str(row.get("held_out", row.get("set", "all"))))
        for key, value in row.items():
            if isinstance(value, int | float):
                flat[f"5_dormancy/{unit}.{_metric_key(key)}"] = float(value)
    return flat, bars["mean_lodo_auc"]


def accounts_review(result: Any) -> Review:
    """The review of a :class:`handleval.accounts.train.AccountsTrainResult`."""
    manifest = result.manifest
    params = flatten("config", manifest["config"])
    rows = 0
    for name, info in manifest.get("data", {}).items():
        if isinstance(info, dict):
            for key, value in flatten("", info).items():
                params[f"data.{name}.{key}"] = value
    params["threshold"] = manifest["threshold"]["threshold"]
    params["calibration.method"] = manifest["calibration"].get("method")
    flat, _ = accounts_metrics(result.metrics)
    flat["6_run/train_seconds"] = result.seconds
    summary = result.lodo.drop(columns=[c for c in ("published", *RAW_CUT_COLUMNS) if c in result.lodo])
    summary = summary.rename(columns={"held_out": "held-out set"})
    if "n" in summary:
        rows = int(pd.to_numeric(summary["n"], errors="coerce").fillna(0).sum())
    config = manifest["config"]
    headline = {k[len(HEADLINE):]: v for k, v in flat.items() if k.startswith(HEADLINE)}
    from handleval.accounts.train import bar_values

    candidate = Candidate(headline | bar_values(result.metrics), "mean_lodo_auc", higher_is_better=True,
                          targets=[Target.model_validate(t) for t in config.get("targets", [])],
                          promotion=Promotion.model_validate(config.get("promotion", {})),
                          parts=[k for k in headline if k.endswith(".auc")],
                          goals=[Target.model_validate(g) for g in config.get("goals", [])])
    when = str(manifest.get("trained_at", ""))[:16].replace("T", " ")
    trees = config.get("lgbm", {}).get("num_boost_round", "?")
    run_name = (f"accounts · lgbm {trees} trees · {len(config.get('sets', []))} sets · seed {config.get('seed')}"
                f" · {when}")
    training = (f"sets {', '.join(config.get('sets', []))}; {rows:,} held-out scores in leave-one-dataset-out (an "
                "account held out in more than one unit counts in each)")
    example = pd.DataFrame({
        "screen_name": ["jack", "crypto_bot_48213"], "created_at": ["2006-03-21", "2019-05-01"],
        "statuses_count": [29000, 120000], "followers_count": [6_400_000, 12], "friends_count": [4500, 4900],
        "favourites_count": [35000, 0], "verified": [True, False], "observed_at": ["2020-08-01", "2020-08-01"],
    })
    datasets = [DatasetInput(name, info["files"], result.data_root,
                             {"rows": str(info.get("rows", "")), "bots": str(info.get("bots", "")),
                              "humans": str(info.get("humans", "")), "split": "leave-one-dataset-out"})
                for name, info in manifest.get("data", {}).items() if isinstance(info, dict) and info.get("files")]
    return Review("accounts", run_name, params, flat, summary, training, candidate,
                  [*result.figures, result.bundle_dir / "MODEL_CARD.md"], example, datasets=datasets,
                  train_seconds=result.seconds,
                  licences=_licences(result.data_root, "accounts",
                                     [k for k, v in manifest.get("data", {}).items() if isinstance(v, dict)]))


def _licences(data_root: Path | None, kind: str, sets: Any) -> dict[str, str]:
    """Each set's licence note (its SOURCE.txt under ``data_root/kind``; a ledger of your own has none)."""
    from handleval.data.sales import source_note

    if data_root is None:
        return {}
    return {name: source_note(Path(data_root) / kind / name)["licence"] for name in sets
            if (Path(data_root) / kind / name / "SOURCE.txt").is_file()}


def track_accounts_run(result: Any, quiet: bool = False, registered_name: str | None = None,
                       ) -> tuple[str, ChampionDecision]:
    """Log a :class:`handleval.accounts.train.AccountsTrainResult` and apply the champion rule."""
    return log_training_run(accounts_review(result), result.bundle_dir, quiet=quiet,
                            registered_name=registered_name)
