"""Throughput of the full HandleFeaturizer (all four families, real sales history) on 200,000 real-looking handles.

One process, one core (thread pools pinned to 1). Handles: top-site labels (Tranco), English words (wordfreq),
first+last name combinations (US Census names) with the usual separators and digits, and random strings; 80% X,
10% Telegram, 10% .com domains. Prints a markdown table row; the target is >= 40,000 handles/s.

    python benchmarks/bench_features.py [--n 200000] [--seed 0]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import string  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def real_looking_handles(n: int, seed: int) -> pd.DataFrame:
    """A mix of the kinds of names people price, drawn from the real reference data and word lists."""
    from wordfreq import top_n_list

    from handleval.config import data_dir
    from handleval.features.lexicons import domain_label
    from handleval.features.words import census_names

    rng = np.random.default_rng(seed)
    with open(data_dir() / "reference/tranco_100k/tranco_top_100k.csv", encoding="utf-8") as fh:
        labels = [lab for lab in (domain_label(line) for line in fh) if lab]
    words = [w for w in top_n_list("en", 50_000) if w.isascii() and w.isalnum()]
    first, last = (list(d) for d in census_names())
    n_sites, n_words, n_names = int(n * 0.35), int(n * 0.30), int(n * 0.20)
    n_random = n - n_sites - n_words - n_names
    names = []
    for f, s, style, num in zip(rng.choice(first[:2000], n_names), rng.choice(last[:20000], n_names),
                                rng.integers(0, 4, n_names), rng.integers(0, 2025, n_names), strict=True):
        names.append([f + s, f"{f}_{s}", f"{f}{num}", f"{f[0]}{s}{num % 100}"][style])
    alphabet = np.array(list(string.ascii_lowercase + string.digits + "_"))
    randoms = ["".join(rng.choice(alphabet, k)) for k in rng.integers(4, 13, n_random)]
    handles = [*rng.choice(labels, n_sites), *rng.choice(words, n_words), *names, *randoms]
    rng.shuffle(handles)
    platforms = rng.choice(["x", "telegram", "domain"], n, p=[0.8, 0.1, 0.1])
    return pd.DataFrame({"handle": handles, "platform": platforms,
                         "suffix": np.where(platforms == "domain", "com", "")})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from handleval.data import load_sales
    from handleval.features import HandleFeaturizer

    handles = real_looking_handles(args.n, args.seed)
    sales, _ = load_sales()
    t0, c0 = time.perf_counter(), time.process_time()
    featurizer = HandleFeaturizer().fit(sales)
    fit_s, fit_cpu = time.perf_counter() - t0, time.process_time() - c0
    t0, c0 = time.perf_counter(), time.process_time()
    features, errors = featurizer.transform_with_errors(handles)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    rate = len(handles) / seconds
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    unique = handles["handle"].nunique()
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"features: {features.shape[1]}, rows: {len(handles):,} ({unique:,} distinct), "
          f"errors: {int(errors.notna().sum())}, history: {len(sales):,} sales, fit {fit_s:.1f} s "
          f"({fit_cpu:.1f} s CPU), load average {load}")
    # CPU seconds of this process are the steadier measure on a shared machine (wall time includes waiting)
    print("| date | machine | handles | distinct | seconds | handles/s | CPU s | handles/CPU-s | peak RSS (MB) "
          "| fit (s) | fit CPU (s) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    print(f"| {dt.date.today().isoformat()} | {machine} | {len(handles):,} | {unique:,} | {seconds:.1f} | "
          f"{rate:,.0f} | {cpu:.2f} | {len(handles) / cpu:,.0f} | {peak_mb:,.0f} | {fit_s:.1f} | {fit_cpu:.2f} |")
    if rate < 40_000:
        print(f"below the 40,000 handles/s target ({rate:,.0f})")

if __name__ == "__main__":
    main()
