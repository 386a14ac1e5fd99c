"""How long ``handleval.price.predict.load()`` takes in a fresh interpreter: what every ``handleval predict``,
``handleval value`` and Dask worker pays once.

Run: ``python benchmarks/bench_load.py [--runs 7] [--against /path/to/other/checkout]``. Each run is a new
process that imports what ``load()`` needs, then loads the default price bundle; CPU seconds of that process
(``time.process_time()``) are the steadier measure on a shared machine, wall seconds include waiting. With
``--against``, runs of that checkout (its ``handleval`` first on ``PYTHONPATH``) alternate with this one's.
The on-disk caches (``~/.cache/handleval``) are used as they are: run once before measuring a warm start.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
from datetime import date
from pathlib import Path

from _checkouts import ROOT, checkouts_from_args

PROBE = """
import json, time
w0, c0 = time.perf_counter(), time.process_time()
import handleval.price.predict, handleval.trees.bundle, handleval.data, handleval.features, handleval.price.market
w1, c1 = time.perf_counter(), time.process_time()
handleval.price.predict.load()
w2, c2 = time.perf_counter(), time.process_time()
print(json.dumps({"import_cpu": c1 - c0, "load_cpu": c2 - c1, "cpu": c2 - c0, "wall": w2 - w0,
                  "module": handleval.price.predict.__file__}))
"""


def run(checkout: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(checkout), "OMP_NUM_THREADS": "1"}  # with -P: not the cwd first
    env.setdefault("HANDLEVAL_MODELS", str(ROOT / "models"))  # the same bundle for both checkouts
    out = json.loads(subprocess.check_output([sys.executable, "-P", "-c", PROBE], text=True, env=env))
    module = out.pop("module")
    assert Path(module).is_relative_to(checkout), f"the probe imported {module}, not {checkout}"
    return out


def main() -> None:
    runs, checkouts = checkouts_from_args(__doc__.splitlines()[0])
    results: dict[str, list[dict[str, float]]] = {name: [] for name in checkouts}
    for _ in range(runs):
        for name, path in checkouts.items():
            results[name].append(run(path))
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"Seconds, min / median of {runs} fresh processes (load average {load}):")
    print("| date | machine | checkout | import CPU | load() CPU | total CPU | total wall |")
    for name, measured in results.items():
        cells = " | ".join(f"{min(r[k] for r in measured):.2f} / {statistics.median(r[k] for r in measured):.2f}"
                           for k in ("import_cpu", "load_cpu", "cpu", "wall"))
        print(f"| {date.today()} | {platform.machine()} {platform.python_version()} | {name} | {cells} |")


if __name__ == "__main__":
    main()
