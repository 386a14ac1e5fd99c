"""``python -m handleval`` runs the CLI."""

from handleval.cli import app

app(prog_name="handleval")
