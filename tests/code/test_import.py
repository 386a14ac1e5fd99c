"""``import handleval`` stays light: heavy libraries are loaded lazily (speed itself is in benchmarks/)."""

import json
import subprocess
import sys


def test_import_does_not_load_heavy_libraries():
    probe = ("import sys, json, handleval; print(json.dumps(sorted(m for m in ('mlflow', 'dask', 'matplotlib', "
             "'lightgbm', 'distributed') if m in sys.modules)))")
    loaded = json.loads(subprocess.check_output([sys.executable, "-c", probe], text=True))
    assert loaded == []


def test_lazy_public_api_resolves():
    import handleval

    assert callable(handleval.parse_handle)
    try:
        handleval.no_such_name  # noqa: B018
    except AttributeError as exc:
        assert "no_such_name" in str(exc)
    else:
        raise AssertionError("unknown attribute must raise AttributeError")


def _loaded_after(statement: str, prefix: str) -> list[str]:
    probe = (f"import sys, json; {statement}; "
             f"print(json.dumps(sorted(m for m in sys.modules if m.startswith({prefix!r}))))")
    return json.loads(subprocess.check_output([sys.executable, "-c", probe], text=True))


def test_the_two_models_are_independent_and_triage_composes_them():
    """The account model never loads the price model (nor the reverse); only ``handleval.release`` joins them."""
    assert _loaded_after("import handleval.accounts.flag, handleval.accounts.train", "handleval.price") == []
    assert _loaded_after("import handleval.price.predict, handleval.price.train", "handleval.accounts") == []
    import handleval
    from handleval.release import triage

    assert handleval.triage is triage
