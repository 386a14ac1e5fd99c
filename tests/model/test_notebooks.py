"""The notebooks execute top to bottom (nbclient) from notebooks/, where Jupyter starts, and show their plots inline:
the review notebook against a small model in a temporary MLflow store, the ledger notebook training its own."""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

from tests._helpers import ROOT, checkout_env

pytestmark = pytest.mark.slow
NOTEBOOKS = ROOT / "notebooks"


def _execute(name: str, monkeypatch: pytest.MonkeyPatch) -> nbformat.NotebookNode:
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"), \
        f"{name} must be stored without outputs"
    monkeypatch.delenv("MPLBACKEND", raising=False)  # CI sets Agg; the notebooks choose inline themselves
    monkeypatch.setenv("PYTHONPATH", checkout_env()["PYTHONPATH"])
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    return notebook


def _outputs(notebook: nbformat.NotebookNode) -> list[dict]:
    return [o for c in notebook.cells for o in c.get("outputs", [])]


def _inline_images(notebook: nbformat.NotebookNode) -> int:
    return sum("image/png" in o.get("data", {}) for o in _outputs(notebook))


def test_explore_sales_notebook_runs(monkeypatch):
    notebook = _execute("01_explore_sales.ipynb", monkeypatch)
    text = "\n".join(str(o.get("data", {}).get("text/plain", "")) for o in _outputs(notebook))
    assert "fragment_telegram" in text
    assert _inline_images(notebook) >= 1


def test_model_review_notebook_reviews_the_newest_version_without_a_champion(store, tmp_path, monkeypatch):
    """The review notebook against a store with a price champion (its description, summary table and plots) and
    an account run that misses a target (as the committed config's does), so no champion: the notebook stopped
    there with "alias champion not found"; it reviews the newest version and says so. Without a store it says what
    to run (it made an empty mlflow.db)."""
    import shutil

    from mlflow import MlflowClient

    shutil.copy(store["root"] / "mlflow.db", tmp_path / "mlflow.db")  # artifacts stay where the runs logged them
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    MlflowClient(uri, registry_uri=uri).delete_registered_model_alias("handleval-accounts", "champion")
    notebook = _execute("02_model_review.ipynb", monkeypatch)
    text = "\n".join(str(o.get("text", "")) for o in _outputs(notebook))
    assert "handleval-accounts has no champion (its versions missed a target): reviewing its newest, v1" in text
    assert "handleval-accounts v1: threshold" in text
    assert "handleval-price v" in text
    shown = "\n".join(str(o.get("data", {}).get("text/markdown", "")) + str(o.get("data", {}).get("text/plain", ""))
                      for o in _outputs(notebook))
    assert "Champion decision" in shown  # the version's description
    assert "RMSE ln, median baseline" in shown  # the run's summary table
    assert _inline_images(notebook) >= 2
    missing = tmp_path / "none" / "mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{missing}")
    with pytest.raises(Exception, match="run `handleval train price` and `handleval train accounts` at the"):
        _execute("02_model_review.ipynb", monkeypatch)
    assert not missing.exists()


def test_own_ledger_notebook_retrains_and_values_before_and_after(monkeypatch):
    notebook = _execute("03_own_ledger.ipynb", monkeypatch)
    text = "\n".join(str(o.get("data", {}).get("text/plain", "")) for o in _outputs(notebook))
    assert "X sales (n=400)" in text  # after: X priced from the made-up ledger
    assert "proxy: Telegram sales (X has no public sales)" in text  # before
    assert "proxy: Telegram sales (Instagram has no public sales)" in text
    assert "my_x_sales" in text and "coverage_10_90" in text
