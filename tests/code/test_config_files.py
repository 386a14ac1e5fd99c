"""A config file of your own changes what it names and nothing else."""

from __future__ import annotations

import pytest

from handleval.accounts.train import load_accounts_config
from handleval.config import load_markets
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
    mine.write_text("# nothing yet\n", encoding="utf-8")  # an empty file is the shipped config; a list is no config
    assert load(mine).model_dump() == shipped.model_dump()
    mine.write_text("- seed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="must hold a mapping"):
        load(mine)
    mine.write_text("sede: 7\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="sede"):
        load(mine)


def test_a_markets_file_of_rates_alone_keeps_the_shipped_market_rules(tmp_path):
    """It had dropped every venue floor, X's rare-handle pricing and the own-sale rule: a training with it priced
    famous X names from Telegram's proxy alone, and said nothing."""
    shipped = load_markets()
    mine = tmp_path / "markets.yaml"
    mine.write_text("rates:\n" + "".join(f"  {c}: {{usd_per_unit: {r.usd_per_unit * 2}, as_of: now}}\n"
                                         for c, r in shipped.rates.items()), encoding="utf-8")
    loaded = load_markets(mine)
    assert loaded.rates["TON"].usd_per_unit == 2 * shipped.rates["TON"].usd_per_unit
    assert loaded.floors == shipped.floors and loaded.rare_handles == shipped.rare_handles and shipped.floors


def test_other_sets_without_a_lodo_of_their_own_say_whose_lodo_it_is(tmp_path):
    """The shipped lodo holds out sets a file of other sets does not train: the message named no file of the user's."""
    mine = tmp_path / "accounts.yaml"
    mine.write_text("sets: [cresci2017, cresci2015_bas, kaggle_bots_2017]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"not trained on: twitter_human_bots_2020_subset \(set lodo too.* \(the "
                                          r"keys .*accounts\.yaml leaves out are .*configs/accounts\.yaml's\)"):
        load_accounts_config(mine)
    mine.write_text("sets: [cresci2017, cresci2015_bas, kaggle_bots_2017]\nlodo: {}\n", encoding="utf-8")
    assert load_accounts_config(mine).lodo == {}


def test_a_config_that_cannot_be_read_says_why_in_one_line(tmp_path):
    """A YAML error's lines were joined by a line break the terminal showed as '?' ("while parsing a flow
    node?expected the node content"), and a folder given as the config was "config file not found"."""
    from handleval.config import read_yaml
    from handleval.errors import ConfigError

    bad = tmp_path / "bad.yaml"
    bad.write_text("seed: [1, 2\nmax_rounds: 3\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        read_yaml(bad)
    assert "\n" not in str(caught.value) and "; " in str(caught.value) and "^" not in str(caught.value), caught.value
    with pytest.raises(ConfigError, match="is a folder; a config is a YAML file"):
        read_yaml(tmp_path)


def test_an_edit_of_the_shipped_markets_config_is_said_to_wait_for_a_retrain(tmp_path):
    """X's rare-handle floor raised from $2,500 to $3,000 in configs/markets.yaml changed no price and said nothing:
    the committed bundle prices by the copy it was trained with. ``value`` now says so."""
    import shutil

    from handleval.config import CONFIGS_DIR
    from tests._helpers import run_cli

    configs = tmp_path / "configs"
    shutil.copytree(CONFIGS_DIR, configs)
    same = run_cli("value", "okay", env={"HANDLEVAL_CONFIGS": str(configs)})
    assert same.returncode == 0 and "differs from the copy" not in same.stderr, same.stderr
    text = (configs / "markets.yaml").read_text(encoding="utf-8")
    assert text.count("usd: 2500") == 1
    (configs / "markets.yaml").write_text(text.replace("usd: 2500", "usd: 3000"), encoding="utf-8")
    edited = run_cli("value", "okay", env={"HANDLEVAL_CONFIGS": str(configs)})
    assert edited.returncode == 0 and edited.stdout == same.stdout
    assert "markets.yaml differs from the copy" in " ".join(edited.stderr.split())
    assert "(keys: rare_handles)" in edited.stderr and "run `handleval train price` to apply" in edited.stderr
