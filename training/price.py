"""Train the price bundle (``models/price``): exactly ``handleval train price``, with the same options.

    python training/price.py [--config configs/price.yaml] [--output DIR] [--no-track] [--quiet]

It runs the CLI's own command (``handleval.cli``), which calls :func:`handleval.price.train.train_price` and then
:func:`handleval.tracking.track_price_run`: one code path, so the script and the command cannot drift apart.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's handleval trains its bundles

if __name__ == "__main__":
    import typer

    from handleval.cli import train_app

    typer.main.get_command(train_app).commands["price"].main(sys.argv[1:], prog_name="python training/price.py")
