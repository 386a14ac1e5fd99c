"""The price-model configurations compared in benchmarks/RESULTS.md (issue 7: fewer trees, same accuracy).

    python benchmarks/bench_price_configs.py [--only NAME ...]

Each trains ``configs/price.yaml`` with a few overrides into a temporary directory (the committed bundle is not
touched; ~30-60 s each on 2 cores) and prints one markdown row: trees per prediction, then RMSE ln vs the
market median / Spearman rho / 10-90% coverage per market on the time split.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

SEARCH_31 = [{"num_leaves": 31, "min_child_samples": 20},
             {"num_leaves": 31, "min_child_samples": 50, "lambda_l2": 5.0}]
ROUND_1 = {"params": {"learning_rate": 0.05}, "point_seeds": 3, "quantile_params": {}}
CONFIGS: dict[str, dict[str, Any]] = {
    "round-1 bundle: 3 point models at lr 0.05, quantiles alike": ROUND_1,
    "1 point model at lr 0.1, quantiles alike": {"quantile_params": {}},
    "1 point model at lr 0.2, quantiles alike": {"params": {"learning_rate": 0.2}, "quantile_params": {}},
    "committed: lr 0.1, quantiles at lr 0.3": {},
    "committed, seed 7": {"seed": 7},
    "quantiles with 7 leaves": {"quantile_params": {"learning_rate": 0.3, "num_leaves": 7}},
    "2 point models averaged": {"point_seeds": 2},
    "2 point models averaged, seed 7": {"point_seeds": 2, "seed": 7},
    "31 leaves": {"search": SEARCH_31},
}


def train(overrides: dict[str, Any]) -> str:
    import lightgbm as lgb

    from handleval.price.train import load_price_config, train_price

    cfg = load_price_config()
    update = {**overrides}
    if "params" in overrides:
        update["params"] = {**cfg.params, **overrides["params"]}
    with tempfile.TemporaryDirectory() as tmp:
        result = train_price(cfg.model_copy(update=update), output_dir=Path(tmp) / "price", quiet=True)
        files = [*result.manifest["point_models"], "quantile_low.txt", "quantile_high.txt"]
        trees = sum(lgb.Booster(model_file=str(Path(tmp) / "price" / f)).num_trees() for f in files)
    model, median = result.metrics["model"], result.metrics["baseline_market_median"]
    cells = [f"{model[m]['rmse_ln'] / median[m]['rmse_ln'] - 1:+.1%} / {model[m]['spearman']:.3f} / "
             f"{model[m]['coverage_10_90']:.1%}" for m in ("fragment_telegram", "dash_email", "namebio_domains")]
    return f"{trees:,} | " + " | ".join(cells) + f" | {result.seconds:.0f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="names (prefixes) of the configurations to run")
    args = parser.parse_args()
    print("| configuration | trees | Fragment | DASH | NameBio | training |")
    print("|---|---|---|---|---|---|")
    for name, overrides in CONFIGS.items():
        if args.only and not any(name.startswith(p) for p in args.only):
            continue
        print(f"| {name} | {train(overrides)} |", flush=True)


if __name__ == "__main__":
    sys.exit(main())
