"""How long ``import handleval`` takes in a fresh interpreter, and which heavy modules it pulls in.

Run: ``python benchmarks/bench_import.py``. Target: under 0.5 s, and none of mlflow, dask, matplotlib,
lightgbm loaded by the import.
"""

from __future__ import annotations

import json
import platform
import statistics
import subprocess
import sys
from datetime import date

PROBE = (
    "import sys, time; t = time.perf_counter(); import handleval; dt = time.perf_counter() - t; "
    "import json; print(json.dumps({'seconds': dt, 'heavy': sorted(m for m in ('mlflow', 'dask', 'matplotlib', "
    "'lightgbm', 'sklearn', 'distributed') if m in sys.modules)}))"
)


def measure(repeats: int = 7) -> dict[str, object]:
    runs = [json.loads(subprocess.check_output([sys.executable, "-c", PROBE], text=True)) for _ in range(repeats)]
    return {"median_s": statistics.median(r["seconds"] for r in runs), "heavy": runs[0]["heavy"]}


if __name__ == "__main__":
    result = measure()
    print(f"| {date.today()} | {platform.machine()} {platform.python_version()} | import handleval "
          f"| {result['median_s']:.3f} s median of 7 | heavy modules loaded: {result['heavy'] or 'none'} |")
