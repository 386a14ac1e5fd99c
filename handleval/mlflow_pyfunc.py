"""MLflow models-from-code entry point: serves a handleval bundle through ``mlflow.pyfunc``.

MLflow copies this file into the logged model and runs it at load time; the bundle itself travels as an
artifact (LightGBM text + JSON), so nothing is pickled. ``model_config={"kind": "price" | "accounts"}`` picks
the loader. ``predict`` returns exactly what ``handleval predict`` / ``handleval flag`` write.
"""

from __future__ import annotations

from typing import Any

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel


class HandlevalModel(PythonModel):
    def load_context(self, context: Any) -> None:
        kind = (context.model_config or {}).get("kind", "price")
        bundle = context.artifacts["bundle"]
        self.kind = kind
        if kind == "price":
            from handleval.predict import load

            self.scorer = load(bundle)
        else:
            from handleval.accounts import load_accounts

            self.scorer = load_accounts(bundle)

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        if self.kind == "price":
            return self.scorer.value_many(frame)
        return self.scorer.flag(frame)


mlflow.models.set_model(HandlevalModel())
