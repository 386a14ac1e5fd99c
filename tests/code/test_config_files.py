"""A config file of your own changes what it names and nothing else."""

from __future__ import annotations

import pytest

from handleval.accounts.train import load_accounts_config
from handleval.errors import ConfigError
from handleval.price.train import load_price_config


@pytest.mark.parametrize("load", [load_price_config, load_accounts_config])
def test_a_partial_config_is_the_shipped_one_with_its_keys_replaced(tmp_path, load):
    """A file of ``seed: 7`` alone trained a model of the code's bare defaults: no monotone constraints, one point
    model, other trees, no targets (so the champion rule promoted it without a bar)."""
    shipped = load()
    mine = tmp_path / "mine.yaml"
    mine.write_text("seed: 7\n", encoding="utf-8")
    assert load(mine).model_dump() == shipped.model_copy(update={"seed": 7}).model_dump()
    assert shipped.seed != 7 and shipped.targets, "the shipped config sets targets and another seed"
    mine.write_text("targets: []\n", encoding="utf-8")  # a key replaces the shipped one whole, a list by a list
    assert load(mine).targets == [] and load(mine).goals == shipped.goals
    mine.write_text("", encoding="utf-8")
    with pytest.raises(ConfigError, match="must hold a mapping"):
        load(mine)
    mine.write_text("sede: 7\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="sede"):
        load(mine)
