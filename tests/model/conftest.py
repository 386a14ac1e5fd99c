"""A small price model trained once per session on the real data (a subsample, fewer rounds)."""

from __future__ import annotations

import pytest

from handleval.price.train import PriceConfig, load_price_config


def small_price_config(**overrides) -> PriceConfig:
    base = load_price_config().model_dump()
    base.update(max_rows_per_source=1500, cv_folds=2, max_rounds=300, early_stopping_rounds=30,
                search=[{"num_leaves": 15, "min_child_samples": 20}],
                targets=[])  # a toy model (1,500 sales per market) is not held to the production targets
    base.update(overrides)
    return PriceConfig.model_validate(base)


@pytest.fixture(scope="session")
def small_price(tmp_path_factory):
    from handleval.price.train import train_price

    out = tmp_path_factory.mktemp("bundles") / "price"
    return train_price(small_price_config(), out, quiet=True)


@pytest.fixture(scope="session")
def small_valuer(small_price):
    from handleval.price.predict import load

    return load(small_price.bundle_dir)


@pytest.fixture(scope="session")
def small_accounts(tmp_path_factory):
    """A reduced account training run (subsampled sets, fewer trees) into a temp bundle."""
    import yaml

    from handleval.accounts import train_accounts
    from handleval.config import CONFIGS_DIR

    root = tmp_path_factory.mktemp("accounts")
    cfg = yaml.safe_load((CONFIGS_DIR / "accounts.yaml").read_text(encoding="utf-8"))
    cfg["max_rows_per_set"] = 700
    cfg["lgbm"]["num_boost_round"] = 80
    cfg["dormancy"]["num_boost_round"] = 60
    cfg["targets"] = []  # a toy model is not held to the production targets
    path = root / "small.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return train_accounts(path, root / "bundle")


@pytest.fixture(scope="session")
def store(tmp_path_factory, small_price, small_accounts):
    """A fresh SQLite MLflow store in a temp dir holding one tracked price run (env points at it)."""
    import os

    from handleval import tracking

    root = tmp_path_factory.mktemp("mlflow")
    saved = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_URI", "HANDLEVAL_ARTIFACT_ROOT")}
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{root / 'mlflow.db'}"
    os.environ["HANDLEVAL_ARTIFACT_ROOT"] = (root / "mlartifacts").as_uri()
    try:
        run_id, decision = tracking.track_price_run(small_price, quiet=True)
        accounts_run_id, _ = tracking.track_accounts_run(small_accounts, quiet=True)
        yield {"root": root, "uri": os.environ["MLFLOW_TRACKING_URI"], "run_id": run_id, "decision": decision,
               "accounts_run_id": accounts_run_id}
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
