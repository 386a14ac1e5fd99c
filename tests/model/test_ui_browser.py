"""The MLflow UI, started by ``handleval ui``, opened in a real headless Chromium (Debian's chromium)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.model.test_tracking import free_port, stop_group, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.browser]
SCREENSHOT_DIR = Path(os.environ.get("HANDLEVAL_SCREENSHOTS", Path(__file__).resolve().parents[2] / "artifacts"))


def _driver():
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not driver:
        pytest.skip("no browser: Debian's chromium and chromium-driver are not installed (.ci/run installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1600,1000"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(driver), options=options)


def _wait_text(browser, text: str, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if text in browser.find_element("tag name", "body").text:
            return
        time.sleep(0.5)
    raise AssertionError(f"{text!r} not shown; page says: {browser.find_element('tag name', 'body').text[:800]}")


def test_ui_shows_run_metrics_and_registered_model(store):
    import mlflow

    port = free_port()
    env = {**os.environ, "MLFLOW_TRACKING_URI": store["uri"]}
    server = subprocess.Popen([sys.executable, "-m", "handleval", "ui", "--port", str(port)], env=env,
                              cwd=store["root"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)  # its own process group: the server's workers too
    browser = None
    try:
        wait_for(f"http://127.0.0.1:{port}/health", timeout=120)
        browser = _driver()
        mlflow.set_tracking_uri(store["uri"])
        experiment = mlflow.get_experiment_by_name("handleval-price")
        run = mlflow.get_run(store["run_id"])
        browser.get(f"http://127.0.0.1:{port}/#/experiments/{experiment.experiment_id}/runs/{store['run_id']}")
        _wait_text(browser, run.info.run_name)
        _wait_text(browser, "test.fragment_telegram.rmse_ln")
        _wait_text(browser, "handleval-price")  # registered model shown on the run page
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(SCREENSHOT_DIR / "mlflow_run.png"))
        browser.get(f"http://127.0.0.1:{port}/#/models/handleval-price")
        _wait_text(browser, "champion")
        browser.save_screenshot(str(SCREENSHOT_DIR / "mlflow_registry.png"))
        assert (SCREENSHOT_DIR / "mlflow_run.png").stat().st_size > 10_000
    finally:
        if browser is not None:
            browser.quit()
        leftover = stop_group(server)
    assert leftover == []  # nothing of the server's process group is left running
