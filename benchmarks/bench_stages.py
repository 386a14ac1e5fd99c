"""Where one core's time goes in ``Valuer.value_many``: CPU µs per handle for each stage (issue 7).

    python benchmarks/bench_stages.py [--rows 40000] [--bundle models/price]

Real-looking handles (``bench_features.real_looking_handles``), thread pools pinned to one thread, CPU time of
this process (``time.process_time``, best of two), in process: no file reading or writing (``bench_predict.py``
measures end to end). Also prints exact TreeSHAP per handle, and how two copies of a pure-Python loop scale
on this machine (the ceiling for a 1 -> 2 worker speed-up).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

def cpu_loop(iterations: int) -> str:
    """A fixed CPU-bound pure-Python program (for ``python -c``): the machine-speed yardstick of the benchmarks."""
    return f"s = 0\nfor i in range({iterations}):\n    s += i * i % 7\n"


LOOP = cpu_loop(30_000_000)


def cpu_us(n: int, work: Callable[[], Any]) -> tuple[Any, float]:
    """``(result, best CPU µs per row of two runs)``."""
    best, result = float("inf"), None
    for _ in range(2):
        start = time.process_time()
        result = work()
        best = min(best, time.process_time() - start)
    return result, best / n * 1e6


def two_process_scaling() -> float:
    """Throughput of two concurrent copies of a CPU-bound loop relative to one copy (wall clock)."""
    def run(copies: int) -> float:
        start = time.perf_counter()
        procs = [subprocess.Popen([sys.executable, "-c", LOOP], stdout=subprocess.DEVNULL) for _ in range(copies)]
        for p in procs:
            p.wait()
        return time.perf_counter() - start
    return 2 * run(1) / run(2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=40_000)
    parser.add_argument("--bundle", default=None)
    args = parser.parse_args()
    from bench_features import real_looking_handles

    from handleval.price.predict import load
    from handleval.price.premium import apply_rules

    started = time.perf_counter()
    valuer = load(args.bundle)
    print(f"load: {time.perf_counter() - started:.1f} s wall")
    frame = real_looking_handles(args.rows, 3)
    n = len(frame)
    (parsed, errors), parse = cpu_us(n, lambda: valuer._parse(frame, "x"))
    ok = np.array([e is None for e in errors])
    rows = parsed[ok].reset_index(drop=True)
    (x_h, _, matches), features = cpu_us(n, lambda: valuer.featurizer.transform_with_matches(rows))
    x, market = cpu_us(n, lambda: pd.concat([x_h.reset_index(drop=True), valuer.market.transform(rows)
                                             .reset_index(drop=True)], axis=1)[valuer.features]
                       .to_numpy(dtype=np.float64))
    k = len(valuer.points)
    _, lightgbm = cpu_us(n, lambda: [m.predict(x) for m in valuer.boosters])
    _, plain = cpu_us(n, lambda: valuer.forest.predict(x, explain=False))
    (scores, summed), paths = cpu_us(n, lambda: valuer.forest.predict(x))
    raw = scores[:, :k].mean(axis=1)
    contrib = summed / k
    ruled, rules = cpu_us(n, lambda: apply_rules(rows, x_h.reset_index(drop=True), raw, valuer.markets, valuer.cap,
                                                 matches))
    _, text = cpu_us(n, lambda: valuer._reasons(rows, x, contrib, raw, ruled, matches, x_h.reset_index(drop=True)))
    _, total = cpu_us(n, lambda: valuer.value_many(frame))
    _, bare = cpu_us(n, lambda: valuer.value_many(frame, reasons=False))
    sample = x[:2000]
    _, shap = cpu_us(len(sample), lambda: [m.predict(sample, pred_contrib=True) for m in valuer.points])
    print(f"{n:,} handles ({ok.sum():,} valid), CPU µs per handle, best of 2:")
    for name, value in (("parse", parse), ("features (with matches kept)", features), ("market codes", market),
                        ("point + quantile models, LightGBM predict", lightgbm),
                        ("point + quantile models, compiled forest", plain),
                        ("... with path attributions", paths), ("market rules", rules), ("reason text", text),
                        ("value_many with reasons", total), ("value_many without reasons", bare),
                        ("exact TreeSHAP (per valid handle)", shap)):
        print(f"  {name:<40} {value:8.1f}")
    print(f"two copies of a CPU loop vs one: {two_process_scaling():.2f}x")


if __name__ == "__main__":
    main()
