"""A common-sense tier set of X handles, built by code from the reference lists, and how a price model ranks it.

Tiers, most valuable first: A famous brands and people (Interbrand's 2024 top 100 and the most-followed Instagram
accounts of 2022: the handles they use), B common English words of 4-8 letters (a random draw from wordfreq's
1,000 commonest, function words left out; verbs and adjectives included, as wordfreq has no parts of speech),
C pronounceable 3-4-letter non-words, D two common words run together, E random junk. The same reference lists
feed the brand and celebrity features, so tier A measures whether fame reaches the price, not whether the model
discovered fame: an easy test that a credible model must pass, not evidence of accuracy.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd

from handleval.config import data_dir
from handleval.features.words import FUNCTION_WORDS
from handleval.handles import is_x_handle

TIERS = ("A", "B", "C", "D", "E")
TIER_NAMES = {"A": "famous brands and people", "B": "common English words", "C": "short pronounceable non-words",
              "D": "two-word combinations", "E": "random junk"}
_VOWELS, _CONSONANTS = "aeiou", "bcdfghjklmnprstvz"


def _slug(text: str) -> str:
    from handleval.features.lexicons import slug

    return slug(text)


def famous_handles(root: Path, n: int) -> list[str]:
    """Interbrand's 2024 brands (rank order) interleaved with the most-followed Instagram accounts (Dec 2022)."""
    ref = root / "reference"
    with open(ref / "interbrand_2021_2024/interbrand_best_global_brands_2021_2024.csv", encoding="utf-8-sig") as fh:
        rows = [r for r in csv.DictReader(fh) if r["year"] == "2024"]
    brands = [_slug(r["brand"]) for r in sorted(rows, key=lambda r: int(r["rank"]))]
    with open(ref / "social_top1000_2022/Instagram/Instagram_Dec.csv", encoding="utf-8-sig") as fh:
        people = [r["AccountName"].strip().lower() for r in csv.DictReader(fh)]
    out: list[str] = []
    for pair in zip(brands, people, strict=False):
        for handle in pair:
            if is_x_handle(handle) and handle not in out:
                out.append(handle)
    return out[:n]


def common_words(n: int, exclude: set[str], top: int = 3000) -> list[str]:
    """The ``n`` commonest English words of 4-8 letters (wordfreq order), function words and ``exclude`` left out."""
    from wordfreq import top_n_list

    words = [w for w in top_n_list("en", top) if w.isascii() and w.isalpha() and 4 <= len(w) <= 8
             and w not in FUNCTION_WORDS and w not in exclude]
    return words[:n]


def tier_set(n_per_tier: int = 40, seed: int = 0, root: Path | None = None) -> pd.DataFrame:
    """``handle, tier`` for ``n_per_tier`` handles of each tier (deterministic for a seed and the data)."""
    from wordfreq import zipf_frequency

    rng = np.random.default_rng(seed)
    root = root or data_dir()
    famous = famous_handles(root, n_per_tier)
    candidates = common_words(1000, set(famous))
    words = [str(w) for w in rng.choice(candidates, n_per_tier, replace=False)]
    taken = set(famous) | set(words)

    def unused(make) -> list[str]:
        found: list[str] = []
        while len(found) < n_per_tier:
            text = make()
            if text not in taken and zipf_frequency(text, "en") == 0:
                taken.add(text)
                found.append(text)
        return found

    def pronounceable() -> str:
        shape = ["cvc", "cvcv", "cvvc", "vcvc"][rng.integers(4)]
        return "".join(rng.choice(list(_CONSONANTS if c == "c" else _VOWELS)) for c in shape)

    pool = common_words(600, set(), top=3000)

    def two_words() -> str:
        while True:
            a, b = rng.choice(pool, 2, replace=False)
            if len(a) + len(b) <= 15:
                return f"{a}{b}"

    def junk() -> str:
        return "".join(rng.choice(list("abcdefghijklmnopqrstuvwxyz0123456789"), rng.integers(8, 13)))

    tiers = {"A": famous, "B": words, "C": unused(pronounceable), "D": unused(two_words), "E": unused(junk)}
    return pd.DataFrame([(h, t) for t in TIERS for h in tiers[t]], columns=["handle", "tier"])


def tier_metrics(tiers: pd.DataFrame, price: np.ndarray) -> dict[str, float]:
    """Tier medians, Spearman between tier (A highest) and price, and the share of inversions: pairs from two
    different tiers where the lower tier is priced strictly above the higher one."""
    from scipy.stats import spearmanr

    rank = tiers["tier"].map({t: len(TIERS) - i for i, t in enumerate(TIERS)}).to_numpy()
    price = np.asarray(price, dtype=float)
    ok = np.isfinite(price)
    out: dict[str, float] = {"n": float(ok.sum()), "spearman": float(spearmanr(rank[ok], price[ok]).statistic)}
    for t in TIERS:
        out[f"median_{t}"] = float(np.median(price[ok & (tiers["tier"] == t).to_numpy()]))
    higher = rank[ok][:, None] > rank[ok][None, :]
    out["inversions"] = float((higher & (price[ok][:, None] < price[ok][None, :])).sum() / max(higher.sum(), 1))
    return out


__all__ = ["TIERS", "TIER_NAMES", "tier_metrics", "tier_set"]
