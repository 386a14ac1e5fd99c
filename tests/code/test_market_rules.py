"""Market rules on made-up rows: X's published rare-handle pricing holds while X is priced by proxy, never once X is
a market of its own (trained with X sales of its own)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from handleval.config import load_markets
from handleval.price.premium import apply_rules


def test_rare_handle_pricing_lifts_proxied_x_only():
    markets = load_markets()
    frame = pd.DataFrame({"handle": ["ab", "ab", "ab"], "platform": ["telegram", "x", "telegram"],
                          "requested": ["x", "x", "telegram"]})
    # two letters: rare by length on X (short_letters[2] in configs/markets.yaml)
    features = pd.DataFrame({"len__length": [2.0] * 3, "len__is_all_letters": [1.0] * 3})
    learned = np.log(np.full(3, 40.0))
    ruled = apply_rules(frame, features, learned, markets, np.log(50_000))
    rare = next(step.delta_ln for step in ruled.steps if step.name == "rare")
    assert rare[0] > 0 and "X rare-handle pricing" in ruled.basis[0]  # X priced by proxy as Telegram
    assert rare[1] == 0 and ruled.basis[1] == "" and ruled.ln[1] == learned[1]  # X as its own market
    assert rare[2] == 0  # Telegram never had the rule (its 4-character minimum is another rule)
