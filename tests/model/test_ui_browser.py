"""The MLflow UI, started by ``handleval ui``, opened in a real headless Chromium (Debian's chromium)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests._helpers import ROOT, checkout_env
from tests.model.test_tracking import free_port, stop_group, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.browser]
SCREENSHOT_DIR = Path(os.environ.get("HANDLEVAL_SCREENSHOTS", ROOT / "artifacts"))


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


def _image_shown(browser, timeout: float = 60) -> bool:
    """An <img> on the page has loaded with a real size (a plot, not a broken-image icon)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if browser.execute_script(
                "return [...document.images].some(i => i.complete && i.naturalWidth > 200 && i.offsetWidth > 0)"):
            return True
        time.sleep(0.5)
    return False


def _close_assistant(browser) -> None:
    """MLflow 3.17 opens its assistant panel on a browser's first visit; a reviewer closes it once (the browser
    remembers). Not part of what is checked."""
    for button in browser.find_elements("css selector", "button[aria-label='Close']"):
        if button.is_displayed():
            button.click()
            return


def test_ui_shows_the_review_run_table_plots_and_champion(store):
    import mlflow

    from handleval.tracking import ui_path

    port = free_port()
    env = checkout_env(MLFLOW_TRACKING_URI=store["uri"])
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
        root = f"http://127.0.0.1:{port}/"

        # The experiment, at the address `handleval ui` prints, opens in the model-training view: the runs table
        # with the run's name, no GenAI navigation (judges, evaluation runs).
        browser.get(root + ui_path(experiment.experiment_id))
        _wait_text(browser, run.info.run_name)
        assert "/runs" in browser.current_url and "Judges" not in browser.find_element("tag name", "body").text
        _close_assistant(browser)
        time.sleep(1)

        # The run page: its name, the summary table (market x metric with baselines) and the decision.
        browser.get(root + ui_path(experiment.experiment_id, store["run_id"]))
        _wait_text(browser, run.info.run_name)
        _wait_text(browser, "median baseline")
        _wait_text(browser, "fragment_telegram")
        for button in browser.find_elements("xpath", "//*[normalize-space(text())='Show more']"):
            button.click()  # the description is folded after the table
        _wait_text(browser, "Champion decision: promoted")
        _wait_text(browser, "Training data")
        browser.set_window_size(1600, 1250)
        time.sleep(1)
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(SCREENSHOT_DIR / "mlflow_run.png"))
        assert (SCREENSHOT_DIR / "mlflow_run.png").stat().st_size > 10_000
        base = f"{root}#/experiments/{experiment.experiment_id}"

        # Metric charts: the headline section comes first.
        browser.get(f"{base}/runs/{store['run_id']}/model-metrics?workflowType=machine_learning")
        _wait_text(browser, "1_headline")
        body = browser.find_element("tag name", "body").text
        assert body.index("1_headline") < body.index("2_model"), "the headline section is not listed first"
        browser.save_screenshot(str(SCREENSHOT_DIR / "mlflow_metrics.png"))

        # A plot, shown as an image in the artifact viewer.
        browser.get(f"{base}/runs/{store['run_id']}/artifactPath/plots/predicted_vs_actual.png"
                    "?workflowType=machine_learning")
        assert _image_shown(browser), "the plot predicted_vs_actual.png is not shown"
        browser.save_screenshot(str(SCREENSHOT_DIR / "mlflow_plot.png"))

        # The registry: the champion alias, and the champion version's description.
        browser.get(f"{root}#/models/handleval-price?workflowType=machine_learning")
        _wait_text(browser, "champion")
        version = run.data.tags["registered_version"]
        browser.get(f"{root}#/models/handleval-price/versions/{version}?workflowType=machine_learning")
        _wait_text(browser, "Champion decision: promoted")
        _wait_text(browser, "Training data")
        _wait_text(browser, "median baseline")
        browser.save_screenshot(str(SCREENSHOT_DIR / "mlflow_registry.png"))
    finally:
        if browser is not None:
            browser.quit()
        leftover = stop_group(server)
    assert leftover == []  # nothing of the server's process group is left running
