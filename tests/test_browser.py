"""A real browser drives a notebook widget in JupyterLab.

JupyterLab is served on localhost from a temporary copy of the notebooks
(it autosaves), with isolated config/settings/IPython dirs, a kernel that
imports this checkout (PYTHONPATH), ``autoStartDefaultKernel`` on and the
news pop-up off. Debian's Chromium, driven by Playwright's Python API (never
``playwright install``), opens notebook 02, runs all cells, moves the gap
slider of the degeneracy widget to 0 from the keyboard, waits for the
printed summary to show the final state (every key press re-runs the
callback, so it waits for the last text, not the first change) and checks
that the plot image changed. Screenshots go to
``test-artifacts/test_slider_updates_summary_and_plot/``;
with ``LINALGAD_UPDATE_README_IMG=1`` the widget cell is also saved as
``docs/img/notebook.png`` (the README picture).

Skipped when /usr/bin/chromium is missing, unless $CI is set (then it fails).
"""

import json
import os
import pathlib
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

pytestmark = pytest.mark.browser

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
NOTEBOOK = "02_degeneracy.ipynb"
START_TEXT = "gap=1e-03: relative error"     # DegeneracyModel's default summary
FINAL_TEXT = "gap=0: relative error"         # after moving the slider to its left end


def _require_browser():
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing and $CI is set: install Debian's chromium")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api")
    pytest.importorskip("jupyterlab")
    pytest.importorskip("ipywidgets")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_settings(settings):
    files = {
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings":
            {"autoStartDefaultKernel": True, "windowingMode": "none"},  # all cells stay in the DOM
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
            {"fetchNews": "false", "checkForUpdates": False},
    }
    for rel, content in files.items():
        path = settings / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content))


@pytest.fixture
def lab(tmp_path, artifacts_dir):
    """(base URL with token, notebook dir) of a JupyterLab server; stopped by PID."""
    _require_browser()
    nbdir = tmp_path / "notebooks"
    shutil.copytree(ROOT / "notebooks", nbdir)
    dirs = {name: tmp_path / name for name in ("config", "settings", "ipython", "runtime",
                                               "workspaces", "data")}
    for d in dirs.values():
        d.mkdir()
    _write_settings(dirs["settings"])
    token = "linalgad-browser-test"
    port = _free_port()
    env = dict(os.environ,
               JUPYTER_CONFIG_DIR=str(dirs["config"]), JUPYTERLAB_SETTINGS_DIR=str(dirs["settings"]),
               JUPYTERLAB_WORKSPACES_DIR=str(dirs["workspaces"]), IPYTHONDIR=str(dirs["ipython"]),
               JUPYTER_RUNTIME_DIR=str(dirs["runtime"]), JUPYTER_DATA_DIR=str(dirs["data"]),
               PYTHONPATH=os.pathsep.join([str(ROOT)] + [p for p in [os.environ.get("PYTHONPATH")] if p]),
               LINALGAD_NUM_THREADS="1")
    env.pop("MPLBACKEND", None)
    log = open(tmp_path / "jupyter.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root",
         "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={nbdir}",
         "--LabApp.news_url=", "--ServerApp.open_browser=False"],
        cwd=nbdir, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"jupyter lab exited ({proc.returncode}):\n"
                            + (tmp_path / "jupyter.log").read_text()[-3000:])
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("jupyter lab did not start in 90 s:\n"
                            + (tmp_path / "jupyter.log").read_text()[-3000:])
            time.sleep(0.5)
        yield base, token
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        shutil.copy(tmp_path / "jupyter.log", artifacts_dir / "jupyter.log")


def _run_all(page, expect, attempts=3):
    """Run > Run All Cells, until the first code cell shows it ran. A click
    right after the kernel connects is sometimes lost (the server may drop the
    first websocket while the kernel starts): retry."""
    first_prompt = page.locator(".jp-CodeCell .jp-InputPrompt").first
    for attempt in range(attempts):
        page.wait_for_timeout(1000)
        page.locator(".lm-MenuBar-item", has_text="Run").first.click()
        page.locator(".lm-Menu-item[data-command='runmenu:run-all']").click()
        try:
            expect(first_prompt).to_contain_text(re.compile(r"\[[0-9*]+\]"), timeout=20_000)
            return
        except AssertionError:
            if attempt == attempts - 1:
                raise


def test_slider_updates_summary_and_plot(lab, artifacts_dir):
    from playwright.sync_api import expect, sync_playwright

    base, token = lab
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            page.set_default_timeout(30_000)
            page.goto(f"{base}/lab/tree/{NOTEBOOK}?token={token}")
            page.locator(".jp-NotebookPanel").first.wait_for()
            expect(page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").first
                   ).to_be_attached(timeout=120_000)
            _run_all(page, expect)

            view = page.locator(".linalgad-view").first
            view.wait_for(timeout=180_000)
            summary = view.locator(".jp-OutputArea-output")
            expect(summary).to_contain_text(START_TEXT, timeout=120_000)
            image = view.locator("img").first
            image.wait_for()
            view.scroll_into_view_if_needed()
            page.wait_for_timeout(500)
            before = image.screenshot()
            page.screenshot(path=str(artifacts_dir / "01_before.png"))

            # the gap slider: keyboard to its left end (gap = 0); each key runs the callback
            handle = view.locator(".widget-slider .noUi-handle").first
            handle.focus()
            handle.press("Home")
            for _ in range(20):
                handle.press("ArrowLeft")
            expect(summary).to_contain_text(FINAL_TEXT, timeout=120_000)
            expect(summary).to_contain_text("strict raises DegeneracyError")
            after = image.screenshot()
            for _ in range(20):  # the image was sent before the text; allow the DOM to catch up
                if after != before:
                    break
                page.wait_for_timeout(500)
                after = image.screenshot()
            page.screenshot(path=str(artifacts_dir / "02_after.png"))
            cell = page.locator(".jp-CodeCell", has=page.locator(".linalgad-view")).first
            cell.screenshot(path=str(artifacts_dir / "widget_cell.png"))
            assert before != after, "the plot did not change when the slider moved"
            if os.environ.get("LINALGAD_UPDATE_README_IMG"):
                (ROOT / "docs" / "img").mkdir(parents=True, exist_ok=True)
                shutil.copy(artifacts_dir / "widget_cell.png", ROOT / "docs" / "img" / "notebook.png")
        except Exception:
            page.screenshot(path=str(artifacts_dir / "failure.png"))
            (artifacts_dir / "failure.html").write_text(page.content())
            raise
        finally:
            browser.close()
