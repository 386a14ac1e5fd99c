"""Peak memory of ``Valuer.value_many`` on one call of many handles (it prices ``VALUE_MANY_CHUNK`` rows at a time).

    python benchmarks/bench_value_many_memory.py [--rows 250000] [--chunk 100000]

Handles: English words (wordfreq's 50,000 commonest) with a common ending, seeded; every 97th is ``elonmusk``; half
on X, half on Telegram, one valuation time. Prints the seconds and this process's peak resident memory (the load
included); ``--chunk`` above ``--rows`` prices them in one go, as before the chunks.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's handleval

if __name__ == "__main__":
    import pandas as pd
    from wordfreq import top_n_list

    from handleval.price import predict

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=250_000)
    parser.add_argument("--chunk", type=int, default=predict.VALUE_MANY_CHUNK)
    args = parser.parse_args()
    predict.VALUE_MANY_CHUNK = args.chunk
    valuer = predict.load()
    rng = random.Random(1)
    words = [w for w in top_n_list("en", 50_000) if w.isalpha()]
    handles = [rng.choice(words) + rng.choice(["", "1", "_", "x", "2024", "official"]) for _ in range(args.rows)]
    handles[::97] = ["elonmusk"] * len(handles[::97])
    platforms = (["x", "telegram"] * (args.rows // 2 + 1))[:args.rows]
    frame = pd.DataFrame({"handle": handles, "platform": platforms})
    started = time.perf_counter()
    valuer.value_many(frame, as_of="2026-12-01")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(f"{args.rows:,} handles, chunks of {args.chunk:,}: {time.perf_counter() - started:.0f} s, peak {peak:,} MB")
