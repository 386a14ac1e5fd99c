"""How much the price model's test metrics move with the seed alone (docs/models.md, "Seed spread").

    python training/seed_spread.py [--config configs/price.yaml] [--seeds 42 7 11 1 2]

Trains the config once per seed into a temporary folder (the committed bundle and MLflow are untouched) and
prints per market the RMSE ln (range and mean), the mean gain over the median baseline and Spearman's ρ, then the
mean RMSE ln over markets and the premium-name checks' means (tiers, held-out high end, repeat sales). About
45 s per seed on a quiet 2-core machine.
"""

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's handleval

if __name__ == "__main__":
    import numpy as np
    import pandas as pd

    from handleval._markdown import to_markdown
    from handleval.price.evaluate import price_headline
    from handleval.price.train import load_price_config, train_price

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=None)
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 7, 11, 1, 2])
    args = parser.parse_args()
    base = load_price_config(args.config)
    runs, checks = [], []
    for seed in args.seeds:
        with tempfile.TemporaryDirectory() as out:
            result = train_price(base.model_copy(update={"seed": seed}), out, quiet=True)
        runs.append(result.metrics)
        checks.append(result.manifest["checks"])
        print(f"seed {seed} done in {result.seconds:.0f} s", file=sys.stderr)
    headlines = [price_headline(r) for r in runs]
    rows = []
    for market in sorted(m for m in runs[0]["model"] if m != "all"):
        rmse, gain, rho = (np.array([h[f"{market}.{k}"] for h in headlines])
                           for k in ("rmse_ln", "rmse_vs_median", "spearman"))
        rows.append({"market": market, "RMSE ln min – max (mean)": f"{rmse.min():.3f} – {rmse.max():.3f} "
                     f"({rmse.mean():.3f})",
                     "vs median min – max (mean)": f"{gain.min():+.1%} – {gain.max():+.1%} ({gain.mean():+.1%})",
                     "Spearman ρ min – max (mean)": f"{rho.min():.3f} – {rho.max():.3f} ({rho.mean():.3f})"})
    over_markets = np.array([h["mean_rmse_ln"] for h in headlines])
    print(f"seeds {', '.join(map(str, args.seeds))}\n")
    print(to_markdown(pd.DataFrame(rows)))
    print("\nmean RMSE ln over the markets (what the champion rule compares): "
          f"{over_markets.min():.3f} – {over_markets.max():.3f} (mean {over_markets.mean():.3f})")
    premium = ", ".join(f"{group}.{name} {np.mean([c[group][name] for c in checks]):.3f}"
                        for group, name in (("tiers", "spearman"), ("high_end", "spearman"),
                                            ("repeat_sales", "within_2x")))
    print(f"premium-name checks, mean over the seeds: {premium}")
