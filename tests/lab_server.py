"""Start a JupyterLab server for a test, wait until it answers, and always stop it."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Optional

import pytest

from dockerlearn.sandbox import procs
from dockerlearn.errors import StartFailed


@contextmanager
def running_lab(argv: list[str], env: Optional[dict], port: int, token: str, log_path: Path, *,
                own_session: bool = False, timeout: float = 60):
    """Yield the base URL of a JupyterLab started with argv, once /api/status answers.
    own_session: argv starts a group (runuser, the lab, its kernels), stopped as a whole."""
    log = open(log_path, "w")
    proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, cwd="/" if own_session else None,
                            start_new_session=own_session)
    stop = (lambda sig: os.killpg(proc.pid, sig)) if own_session else proc.send_signal
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            procs.wait_until(lambda: procs.url_ready(f"{base}/api/status?token={token}"), what="JupyterLab",
                             timeout=timeout, log=log_path, proc=proc)
        except StartFailed as e:
            pytest.fail(e.render())
        yield base
    finally:
        stop(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            stop(signal.SIGKILL)
            proc.wait()
        log.close()


@contextmanager
def chromium_page(url: str, failure_png: Path):
    """A page of Debian's chromium (headless, loopback only) at url; on a timeout or a failed
    assertion inside the block, a full-page screenshot goes to failure_png first."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    from tests.test_browser import CHROMIUM, CHROMIUM_ARGS
    failure_png.parent.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(url)
            try:
                yield page
            except (PlaywrightTimeout, AssertionError):
                page.screenshot(path=str(failure_png), full_page=True)
                raise
        finally:
            browser.close()


@contextmanager
def dockerlearn_lab(sandbox, tmp_path: Path, token: str, *, expose_app: bool = False):
    """`dockerlearn lab` for sandbox, started as a learner starts it, with Jupyter's own folders in
    tmp_path; yields its base URL. expose_app: the test drives JupyterLab through window.jupyterapp."""
    cfg = tmp_path / "cfg"
    cfg.mkdir(exist_ok=True)
    if expose_app:
        for name in ("jupyter_server_config.py", "jupyter_lab_config.py"):
            (cfg / name).write_text("c.LabApp.expose_app_in_browser = True\n")
    port = procs.free_port()
    env = dict(os.environ, JUPYTER_TOKEN=token, JUPYTER_RUNTIME_DIR=str(tmp_path / "rt"),
               JUPYTER_CONFIG_DIR=str(cfg), JUPYTER_DATA_DIR=str(tmp_path / "data"))
    argv = [sys.executable, "-m", "dockerlearn", "lab", "--name", sandbox.name, "--no-browser", "--port", str(port)]
    with running_lab(argv, env, port, token, tmp_path / "lab.log") as base:
        yield base


# ---------------------------------------------------------------- driving the lab in chromium
def run_command(page, command: str) -> None:
    """Start a JupyterLab command without waiting for its promise (run-all resolves only when every
    cell has run; a restart only when its dialog is answered)."""
    page.evaluate(f"() => {{ window.jupyterapp.commands.execute('{command}'); }}")


def open_dialog_text(page) -> str:
    dialog = page.locator(".jp-Dialog")
    return dialog.first.inner_text() if dialog.count() else "(no dialog open)"


def settle_dialogs(page) -> None:
    """Answer the kernel-choice dialog the way a learner would (its default, Python 3): a slow
    server can ask before the notebook's kernel is known. Any other dialog fails the test, with
    its text."""
    dialog = page.locator(".jp-Dialog")
    if not dialog.count():
        return
    text = dialog.first.inner_text()
    if "内核" in text or "Kernel" in text:
        dialog.first.locator(".jp-Dialog-button.jp-mod-accept").click()
        dialog.first.wait_for(state="detached", timeout=30_000)
        return
    raise AssertionError(f"an unexpected dialog is open: {text}")


def run_all(page, timeout_s: float = 420) -> None:
    """Run All in the notebook that is open, then wait until every code cell has run."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    page.wait_for_function("() => window.jupyterapp && document.querySelector('.jp-Notebook .jp-Cell')",
                           timeout=120_000)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=120_000)
    settle_dialogs(page)
    page.locator(".jp-Notebook .jp-Cell").first.click()  # run-all acts on the focused notebook
    # A notebook opens with its recorded outputs (numbered prompts): Run All has started when a
    # prompt shows [*], and has finished when none does and the kernel is idle again.
    running = ("() => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputArea-prompt')]"
               ".some(e => e.textContent.includes('*'))")
    for _ in range(5):  # the command is lost while the kernel session is still settling
        page.wait_for_function("() => window.jupyterapp.commands.isEnabled('notebook:run-all-cells')")
        run_command(page, "notebook:run-all-cells")
        try:
            page.wait_for_function(running, timeout=10_000)
            break
        except PlaywrightTimeout:
            settle_dialogs(page)
            time.sleep(1)
    else:
        # The recorded outputs (panels included) are on the page either way: without this, a
        # test would go on against outputs that were never produced in this run.
        raise AssertionError("Run All never started (no cell showed [*]): " + open_dialog_text(page))
    page.wait_for_function(f"() => !({running})()", timeout=int(timeout_s * 1000))
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=120_000)


def type_answer(page, exercise_id: str, command: str) -> None:
    """Type command into the learner's answer cell (the one just above check("exercise_id")),
    replacing what is there, run it with Shift+Enter and wait until it has run."""
    cells = page.locator(".jp-Notebook .jp-Cell")
    sources = cells.locator(".jp-InputArea-editor").all_inner_texts()
    answer = cells.nth(next(i for i, s in enumerate(sources) if f'check("{exercise_id}")' in s) - 1)
    settle_dialogs(page)
    answer.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Control+A")
    page.keyboard.type(command)
    page.keyboard.press("Shift+Enter")
    answer.locator(".jp-InputArea-prompt", has_text="[").filter(has_not_text="*").wait_for(timeout=60_000)
