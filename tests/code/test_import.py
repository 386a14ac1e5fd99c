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
    assert set(handleval.__all__) <= set(dir(handleval))  # the lazy names too: tab completion shows load, triage
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


def test_pricing_with_a_warm_cache_imports_neither_scikit_learn_nor_lightgbm(tmp_path):
    """``value`` and ``predict`` score with the compiled forest read from the cache: scikit-learn (~1 s to import,
    half of a warm ``value``) and LightGBM stay unloaded; TreeSHAP reasons load them when asked for."""
    handles = tmp_path / "handles.csv"
    handles.write_text("handle\npizza\nelonmusk\n")
    heavy = "('sklearn', 'lightgbm', 'scipy.stats')"
    probe = ("import sys, json; from handleval.cli import app; "
             "app(sys.argv[1:], standalone_mode=False); "
             f"print(json.dumps(sorted(m for m in {heavy} if m in sys.modules)), file=sys.stderr)")

    def loaded(*args: str) -> list[str]:
        done = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, check=True)
        return json.loads(done.stderr.strip().splitlines()[-1])

    loaded("value", "pizza")  # fills the caches if this machine has not yet
    assert loaded("value", "pizza") == []
    assert loaded("predict", str(handles), "-o", str(tmp_path / "out"), "--quiet") == []
    assert loaded("value", "pizza", "--attribution", "shap") == ["lightgbm", "scipy.stats", "sklearn"]
