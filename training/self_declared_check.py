"""How many accounts of each training set say they are bots (docs/models.md, triage's self-declared rule).

    python training/self_declared_check.py

Counts, per account set and class, the accounts whose screen name, name or description says the account is a bot
(``handleval.accounts.features.declares_automation``): triage never releases those for being a bot, so a set
whose bots often say so (botwiki's, by design) loses releasable bots, and humans who say so are kept. About 20 s.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's handleval

if __name__ == "__main__":
    import pandas as pd

    from handleval.accounts.features import declares_automation
    from handleval.data.accounts import load_account_table

    table, _ = load_account_table()
    said = pd.DataFrame({"set": table["source_set"], "class": table["label"],
                         "declared": declares_automation(table)})
    counts = said.groupby(["set", "class"])["declared"].agg(["sum", "size"])
    counts["share"] = counts["sum"] / counts["size"]
    print("accounts that say they are bots, per set and class")
    print(counts.rename(columns={"sum": "declared", "size": "accounts"}).to_string(
        formatters={"share": "{:.2%}".format}))
