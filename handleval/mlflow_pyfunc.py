"""MLflow models-from-code entry point: serves a handleval bundle through ``mlflow.pyfunc``.

MLflow copies this file into the logged model and runs it at load time; the bundle itself travels as an
artifact (LightGBM text + JSON), so nothing is pickled. ``model_config={"kind": "price" | "accounts"}`` picks
the loader. A price model also carries ``data`` (its sales history as Parquet, checked against the sha256 in its
``model_config``, and the reference files of its lexicons, checked by the bundle): it serves without a data
directory. ``predict`` returns exactly what ``handleval predict`` /
``handleval flag`` write.
"""

from __future__ import annotations

from typing import Any

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel

from handleval.errors import BundleError
from handleval.trees.bundle import sha256_file


class HandlevalModel(PythonModel):
    def load_context(self, context: Any) -> None:
        kind = (context.model_config or {}).get("kind", "price")
        bundle = context.artifacts["bundle"]
        self.kind = kind
        if kind == "price":
            from pathlib import Path

            from handleval.price.predict import load

            data = context.artifacts.get("data")
            if data is None:  # logged before models carried their data: read the data directory
                self.scorer = load(bundle)
            else:
                history_file = Path(data) / "sales_history.parquet"
                expected = (context.model_config or {}).get("sales_sha256")  # none in a model logged before it
                if expected is not None and sha256_file(history_file) != expected:
                    raise BundleError(f"{history_file} does not match the sha256 it was logged with: the sales this "
                                      "model prices from were edited or damaged in the artifact store")
                history = pd.read_parquet(history_file)
                self.scorer = load(bundle, history=history, data_dir=data)
        else:
            from handleval.accounts import load_accounts

            self.scorer = load_accounts(bundle)

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        if self.kind == "price":
            return self.scorer.value_many(frame)
        return self.scorer.flag(frame)


mlflow.models.set_model(HandlevalModel())
