"""Wall time of training the default price config (target: under 60 s on 2 cores), and the same-seed check.

Run: ``python benchmarks/bench_train.py [--repeat 2]``. Trains into a temporary directory (the committed bundle is
not touched), prints a markdown row with date, machine, seconds per run and whether two runs gave equal metrics.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import tempfile
import time
from datetime import date
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    from handleval.price.train import train_price

    seconds, metrics = [], []
    for i in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            result = train_price(output_dir=Path(tmp) / "price", quiet=True)
            seconds.append(time.perf_counter() - start)
            metrics.append(result.metrics)
            print(f"run {i + 1}: {seconds[-1]:.1f} s")
    same = all(m == metrics[0] for m in metrics)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    load = os.getloadavg()[0]
    print(f"| {date.today()} | {platform.machine()}, {os.cpu_count()} cores, load {load:.1f} | train price (default "
          f"config) | {min(seconds):.1f} s best, {max(seconds):.1f} s worst of {len(seconds)}; peak RSS "
          f"{rss:,.0f} MB; same metrics across runs: {same} |")


if __name__ == "__main__":
    main()
