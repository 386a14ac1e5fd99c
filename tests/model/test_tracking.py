"""MLflow tracking with a real SQLite store: run contents, registry, champion rule, pyfunc parity, serving."""

from __future__ import annotations

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
        assert metrics[f"test.{market}.rmse_ln"] == pytest.approx(small_price.metrics["model"][market]["rmse_ln"])
        assert f"baseline_market_median.{market}.rmse_ln" in metrics
        assert f"baseline_length_pattern.{market}.spearman" in metrics
    assert "primary.mean_rmse_ln" in metrics
    assert len(tags["git_commit"]) >= 7 and tags["git_dirty"] in ("true", "false")
    assert tags["champion_decision"] == "promoted"
    names = {a.path for a in client.list_artifacts(store["run_id"])}
    assert {"plots", "bundle", "MODEL_CARD.md"} <= names
    plots = {a.path for a in client.list_artifacts(store["run_id"], "plots")}
    assert {"plots/predicted_vs_actual.png", "plots/residuals_by_length.png", "plots/feature_importance.png",
            "plots/interval_coverage.png"} <= plots


def test_worse_model_does_not_become_champion(store):
    from mlflow import MlflowClient

    from handleval.tracking import decide_champion

    client = MlflowClient(store["uri"])
    champion = client.get_model_version_by_alias("handleval-price", "champion")
    best = client.get_run(champion.run_id).data.metrics["primary.mean_rmse_ln"]
    worse = decide_champion(client, "handleval-price", champion.version, "primary.mean_rmse_ln", best + 0.5, False)
    assert not worse.promoted
    assert client.get_model_version_by_alias("handleval-price", "champion").version == champion.version


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


def test_served_model_answers_over_http(store, tmp_path):
    port = free_port()
    # mlflow starts its web server (uvicorn) by name: the interpreter's own bin/ must be on PATH even when the
    # environment was not activated (`.venv/bin/python -m pytest`)
    env = {**os.environ, "MLFLOW_TRACKING_URI": store["uri"],
           "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
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
                                               "data": [["pizza", "x"], ["bad handle!", "x"]]}}).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{port}/invocations", data=body,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = json.loads(response.read())
        rows = answer["predictions"]
        def null(value: object) -> bool:  # JSON null, or NaN as MLflow's serializer writes missing values
            return value is None or value != value

        assert rows[0]["price_usd"] > 0 and null(rows[0]["error"])
        assert isinstance(rows[1]["error"], str) and "not allowed" in rows[1]["error"] and null(rows[1]["price_usd"])
    finally:
        leftover = stop_group(server)
    assert leftover == []  # nothing of the server's process group is left running


def test_accounts_run_has_lodo_metrics_plots_and_champion(store, small_accounts):
    from mlflow import MlflowClient

    client = MlflowClient(store["uri"])
    run = client.get_run(store["accounts_run_id"])
    metrics = run.data.metrics
    lodo = small_accounts.lodo.set_index("held_out")
    assert metrics["lodo.cresci2017.auc"] == pytest.approx(lodo.loc["cresci2017", "auc"])
    assert metrics["primary.mean_lodo_auc"] == pytest.approx(lodo["auc"].mean())
    assert run.data.params["config.precision_target"] == str(small_accounts.manifest["config"]["precision_target"])
    assert run.data.tags["champion_decision"] == "promoted"
    plots = {a.path for a in client.list_artifacts(store["accounts_run_id"], "plots")}
    assert {"plots/roc_by_held_out_set.png", "plots/calibration_by_held_out_set.png"} <= plots
    assert client.get_model_version_by_alias("handleval-accounts", "champion").run_id == store["accounts_run_id"]


def test_accounts_pyfunc_matches_flag_command(store, small_accounts, tmp_path):
    import mlflow

    mlflow.set_tracking_uri(store["uri"])
    model = mlflow.pyfunc.load_model("models:/handleval-accounts@champion")
    accounts = pd.DataFrame({
        "screen_name": ["jack", "crypto_bot_48213", ""], "created_at": ["2006-03-21", "2019-05-01", "2019-05-01"],
        "statuses_count": [29000, 120000, 5], "followers_count": [6_400_000, 12, 1],
        "friends_count": [4500, 4900, 1], "favourites_count": [35000, 0, 0], "observed_at": ["2020-08-01"] * 3,
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
