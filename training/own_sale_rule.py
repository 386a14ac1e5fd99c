"""The own-sale rule against its alternatives on held-out repeat sales (docs/models.md, "An own sale averaged in
dollars").

    python training/own_sale_rule.py [--config configs/price.yaml]

Trains the config into a temporary folder (the committed bundle and MLflow are untouched; ~1 min), then takes the
held-out sales of names that sold before in the same market (the time split) and prices each from the learned price
and the name's last earlier sale (same name and platform): the learned price alone, the last sale alone, and the
average of the two in log prices and in dollars, the sale's weight halving every 1, 3 or 6 years. Prints within 2x,
median and mean absolute error (ln), the actual price and every prediction capped.
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
    from handleval.config import load_markets
    from handleval.data import load_sales
    from handleval.price.train import load_price_config, train_price

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=None)
    cfg = load_price_config(parser.parse_args().config)
    with tempfile.TemporaryDirectory() as tmp:
        test = train_price(cfg, Path(tmp) / "price", quiet=True).test_predictions
    sales, _ = load_sales(cfg.sources, markets=load_markets(cfg.markets_config), extra=cfg.extra_sources)
    sales = sales.assign(key=sales["handle"].str.lower()).sort_values("sold_at")
    again = test[test["own_sale"]]
    last, age = [], []
    for row in again.itertuples():
        earlier = sales[(sales["key"] == row.handle.lower()) & (sales["platform"] == row.platform)
                        & (sales["sold_at"] < row.sold_at)]
        last.append(np.log(earlier["price_usd"].iloc[-1]) if len(earlier) else np.nan)
        age.append((row.sold_at - earlier["sold_at"].iloc[-1]).days / 365.25 if len(earlier) else np.nan)
    again = again.assign(last=last, age=age).dropna(subset=["last"])
    cap, y, learned, sale, years = (np.log(cfg.cap_usd), again["y"].to_numpy(), again["learned"].to_numpy(),
                                    again["last"].to_numpy(), again["age"].to_numpy())

    def scores(pred: np.ndarray) -> list[str]:
        error = np.abs(np.minimum(pred, cap) - y)
        return [f"{np.mean(error <= np.log(2)):.3f}", f"{np.median(error):.3f}", f"{np.mean(error):.3f}"]

    rows = {"learned price alone": scores(learned), "last sale alone": scores(sale)}
    for half_life in (1, 3, 6):
        w = 0.5 ** (years / half_life)
        rows[f"log average, half-life {half_life}"] = scores(w * sale + (1 - w) * learned)
        rows[f"dollar average, half-life {half_life}"] = scores(np.log(w * np.exp(sale) + (1 - w) * np.exp(learned)))
    print(f"{len(again)} held-out repeat sales ({again['source'].value_counts().to_dict()})\n")
    table = pd.DataFrame([[rule, *cells] for rule, cells in rows.items()],
                         columns=["own-sale rule", "within 2x", "median abs. error, ln", "mean abs. error, ln"])
    print(to_markdown(table))
