"""Rule 4 ("added characters add no value") on the held-out sales (docs/pricing.md, rule 4).

    python training/added_characters_rule.py [--model models/price]

Takes each market's held-out sales (the config's time split, without the sales a venue's minimum priced), prices
them with the bundle as of each sale's own time, with the rule and without it, and prints per market the sales the
rule changed, RMSE ln and Spearman of both against the actual (capped) price. Training's own test predictions do
not apply the rule (it needs the valuer to price each core); this is its check. ~3 minutes.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's handleval

if __name__ == "__main__":
    import numpy as np
    import pandas as pd
    from scipy.stats import spearmanr

    import handleval.price.predict as predict
    from handleval._markdown import to_markdown
    from handleval.config import load_markets
    from handleval.data import load_sales
    from handleval.price.premium import price_set_by_rule
    from handleval.price.train import load_price_config, time_split

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    valuer = predict.load(parser.parse_args().model)
    cfg = load_price_config(None)
    markets = load_markets(cfg.markets_config)
    sales, _ = load_sales(cfg.sources, markets=markets, extra=cfg.extra_sources)
    sales = sales.sort_values(["source", "sold_at"], kind="stable").reset_index(drop=True)
    test = sales[time_split(sales, cfg.test_fraction) & ~price_set_by_rule(sales, markets)].copy()
    test["y"] = np.minimum(np.log(test["price_usd"]), np.log(valuer.manifest["cap_usd"]))
    rows = pd.DataFrame({"handle": test["handle"].to_numpy(), "platform": test["platform"].to_numpy(),
                         "suffix": test["suffix"].to_numpy(), "venue": test["venue"].to_numpy(),
                         "as_of": test["sold_at"].astype(str).to_numpy()})
    test["with"] = np.log(valuer.price_columns(rows, reasons=False, with_risk=False)["price_usd"].to_numpy())
    rule = predict.junk_affix_cores
    predict.junk_affix_cores = lambda *args: (np.array([], dtype=np.int64), [])  # the rule off: no core applies
    try:
        test["without"] = np.log(valuer.price_columns(rows, reasons=False, with_risk=False)["price_usd"].to_numpy())
    finally:
        predict.junk_affix_cores = rule
    table = []
    for source, g in test.dropna(subset=["with", "without"]).groupby("source"):
        rmse = {c: float(np.sqrt(np.mean((g[c] - g["y"]) ** 2))) for c in ("without", "with")}
        rho = {c: float(spearmanr(g[c], g["y"]).statistic) for c in ("without", "with")}
        table.append({"market": source, "n": len(g), "changed": int((np.abs(g["with"] - g["without"]) > 1e-9).sum()),
                      "rmse_ln without": round(rmse["without"], 4), "rmse_ln with": round(rmse["with"], 4),
                      "spearman without": round(rho["without"], 4), "spearman with": round(rho["with"], 4)})
    print(to_markdown(pd.DataFrame(table)))
