"""What X's famous accounts change on X (docs/pricing.md, rule 3 and "Lookalikes are a risk, not a brand").

    python training/x_accounts_check.py [--model models/price]

Prices every handle of the ``x_account`` lexicon on X and on Telegram with the bundle and prints how many there
are, how many are famous enough to count (popularity 0.5 or more), how many X prices at $2,500 or more and under it,
how many carry a risk on X and on Telegram, then how many of the account sets' own handles (ordinary accounts,
the famous ones aside) get "could impersonate X account", and how many names the account-fame lift raises.
About 10 s.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's handleval

if __name__ == "__main__":
    import numpy as np

    from handleval.data.accounts import load_account_table
    from handleval.price.predict import load

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    args = parser.parse_args()
    valuer = load(args.model)
    accounts = valuer.x_accounts
    handles = sorted(accounts.popularity)
    famous = np.array([accounts.popularity[h] for h in handles]) >= 0.5
    on_x = valuer.value_many(handles, reasons=False)
    on_telegram = valuer.value_many(handles, platform="telegram", reasons=False)
    print(f"famous X accounts: {len(handles):,}; popularity 0.5 or more: {famous.sum():,}; below: {(~famous).sum():,}")
    cheap = (on_x["price_usd"] < 2_500).to_numpy()
    print(f"on X: $2,500 or more {(~cheap).sum():,}, under {cheap.sum():,} (of those below 0.5: "
          f"{(cheap & ~famous).sum():,}); with a risk on X "
          f"{on_x['risk'].notna().sum():,} ({', '.join(on_x.loc[on_x['risk'].notna(), 'handle'])}), on Telegram "
          f"{on_telegram['risk'].notna().sum():,}")
    table, _ = load_account_table()
    ordinary = sorted(set(table["screen_name"].dropna().str.replace('"', "").str.lower()) - set(handles))
    risks = valuer.value_many(ordinary, reasons=False)["risk"].fillna("")
    copies = risks.str.startswith("could impersonate X account")
    print(f"the account sets' other handles: {len(ordinary):,}; 'could impersonate X account': {copies.sum():,}")
    print(f"names the account-fame lift raises on X: {len(valuer._account_fame):,}")
