"""A learner's path in a real browser: JupyterLab on 127.0.0.1, Debian's chromium driven by
Playwright. Open the pilot notebook, run it, answer an exercise, click 检查, see ✅."""
from __future__ import annotations

import os
import shutil
import sys
import time

import pytest

from dockerlearn.build import NOTEBOOKS_DIR
from dockerlearn.procs import free_port
from dockerlearn.lessonfile import REPO_ROOT
from tests.lab_server import running_lab

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = REPO_ROOT / "test-artifacts"
# Chromium must not phone home: this machine (and the rule) allows loopback traffic only.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-default-apps", "--disable-extensions"]
LAB_CONFIG = """
c.LabApp.news_url = None
c.LabApp.check_for_updates_class = "jupyterlab.NeverCheckForUpdate"
c.LabApp.extension_manager = "readonly"
c.LabApp.expose_app_in_browser = True
c.ServerApp.ip = "127.0.0.1"
c.ServerApp.open_browser = False
"""

pytestmark = [pytest.mark.browser, pytest.mark.daemon]


@pytest.fixture
def lab(fresh_sandbox, tmp_path):
    if not os.path.exists(CHROMIUM):
        pytest.fail("chromium is missing: bash scripts/setup --browser installs it")
    root = tmp_path / "nb"
    root.mkdir()
    # A copy: the browser autosaves, and the committed notebook must stay as built.
    shutil.copy(NOTEBOOKS_DIR / "02-tag.ipynb", root / "02-tag.ipynb")
    (tmp_path / "lab_config.py").write_text(LAB_CONFIG)
    port, token = free_port(), "dockerlearn-test"
    env = fresh_sandbox.full_env()
    env.update({"JUPYTER_RUNTIME_DIR": str(tmp_path / "rt"), "JUPYTER_CONFIG_DIR": str(tmp_path / "cfg"),
                "JUPYTER_DATA_DIR": str(tmp_path / "data"), "IPYTHONDIR": str(tmp_path / "ipy")})
    argv = [sys.executable, "-m", "jupyter", "lab", f"--config={tmp_path / 'lab_config.py'}", f"--port={port}",
            f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", "--allow-root"]
    with running_lab(argv, env, port, token, tmp_path / "lab.log") as base:
        yield f"{base}/lab/tree/02-tag.ipynb?token={token}"


def test_learner_runs_the_pilot_and_gets_a_tick(lab, fresh_sandbox):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(lab)
            page.wait_for_function("() => window.jupyterapp && document.querySelector('.jp-Notebook .jp-Cell')",
                                   timeout=60_000)
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000)
            page.locator(".jp-Notebook .jp-Cell").first.click()  # run-all acts on the focused notebook
            first_code = page.locator(".jp-Notebook .jp-CodeCell").first.locator(".jp-InputArea-prompt")
            for _ in range(5):  # the command is lost if the kernel session is still settling
                page.wait_for_function("() => window.jupyterapp.commands.isEnabled('notebook:run-all-cells')")
                page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
                try:
                    page.wait_for_function("e => /\\[[0-9*]+\\]/.test(e.textContent)", arg=first_code.element_handle(),
                                           timeout=5_000)
                    break
                except PlaywrightTimeout:
                    time.sleep(1)
            panel = page.locator(".dockerlearn-panel", has_text="tag.add-tag")
            panel.wait_for(timeout=120_000)
            page.locator(".dockerlearn-panel", has_text="tag.registry-name").wait_for(timeout=120_000)

            # The learner's answer goes in the empty cell just above the panel.
            cells = page.locator(".jp-Notebook .jp-Cell")
            sources = cells.locator(".jp-InputArea-editor").all_inner_texts()
            index = next(i for i, s in enumerate(sources) if 'check("tag.add-tag")' in s)
            answer = cells.nth(index - 1)
            answer.locator(".jp-InputArea-editor").click()
            page.keyboard.type("%docker tag busybox:latest mybusybox:v1")
            page.keyboard.press("Shift+Enter")
            answer.locator(".jp-InputArea-prompt", has_text="[").filter(has_not_text="*").wait_for(timeout=60_000)
            deadline = time.monotonic() + 30
            while fresh_sandbox.run(["image", "inspect", "mybusybox:v1"]).returncode != 0:
                assert time.monotonic() < deadline, "the typed command never reached the sandbox"
                time.sleep(0.2)

            panel.get_by_role("button", name="检查").click()
            verdict = panel.locator(".dockerlearn-verdict")
            verdict.wait_for(timeout=30_000)
            page.wait_for_function(
                "() => [...document.querySelectorAll('.dockerlearn-verdict')].some(e => e.textContent.includes('✅'))",
                timeout=30_000)
            assert "✅" in verdict.inner_text()
            assert "mybusybox:v1" in verdict.inner_text()
            panel.get_by_role("button", name="提示 (0/2)").click()
            assert "docker tag" in panel.locator(".dockerlearn-hints").inner_text()
            panel.scroll_into_view_if_needed()
            panel.screenshot(path=str(ARTIFACTS / "check-panel.png"))
            page.screenshot(path=str(ARTIFACTS / "pilot-notebook.png"))
        except (PlaywrightTimeout, AssertionError):
            page.screenshot(path=str(ARTIFACTS / "failure.png"), full_page=True)
            raise
        finally:
            browser.close()
    assert (ARTIFACTS / "check-panel.png").stat().st_size > 1000
