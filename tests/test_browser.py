"""A learner's path in a real browser: JupyterLab on 127.0.0.1, Debian's chromium driven by
Playwright. Open the pilot notebook, run it, answer an exercise, click 检查, see ✅."""
from __future__ import annotations

import os
import shutil
import sys
import time

import pytest

from dockerlearn.course.notebook_builder import NOTEBOOKS_DIR
from dockerlearn.sandbox.procs import free_port
from dockerlearn.course.lessonfile import REPO_ROOT
from tests.lab_server import chromium_page, dockerlearn_lab, run_all, running_lab, type_answer

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


def course_settings(tmp_path):
    """The lab as dockerlearn lab sets it up (Chinese, no news prompt), for screenshots a learner
    would recognise."""
    import json

    from dockerlearn.lab import OVERRIDES
    (tmp_path / "app-settings").mkdir()
    (tmp_path / "app-settings" / "overrides.json").write_text(json.dumps(OVERRIDES))


@pytest.fixture
def lab(fresh_sandbox, tmp_path):
    if not os.path.exists(CHROMIUM):
        pytest.fail("chromium is missing: bash scripts/setup --browser installs it")
    root = tmp_path / "nb"
    root.mkdir()
    # A copy: the browser autosaves, and the committed notebook must stay as built.
    shutil.copy(NOTEBOOKS_DIR / "02-tag.ipynb", root / "02-tag.ipynb")
    (tmp_path / "lab_config.py").write_text(LAB_CONFIG)
    course_settings(tmp_path)
    port, token = free_port(), "dockerlearn-test"
    env = fresh_sandbox.full_env()
    env.update({"JUPYTER_RUNTIME_DIR": str(tmp_path / "rt"), "JUPYTER_CONFIG_DIR": str(tmp_path / "cfg"),
                "JUPYTER_DATA_DIR": str(tmp_path / "data"), "IPYTHONDIR": str(tmp_path / "ipy")})
    argv = [sys.executable, "-m", "jupyter", "lab", f"--config={tmp_path / 'lab_config.py'}", f"--port={port}",
            f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", "--allow-root",
            f"--LabApp.app_settings_dir={tmp_path / 'app-settings'}"]
    with running_lab(argv, env, port, token, tmp_path / "lab.log") as base:
        yield f"{base}/lab/tree/02-tag.ipynb?token={token}"


def test_learner_runs_the_pilot_and_gets_a_tick(lab, fresh_sandbox):
    with chromium_page(lab, ARTIFACTS / "failure.png") as page:
        run_all(page)
        panel = page.locator(".dockerlearn-panel", has_text="tag.add-tag")
        panel.wait_for(timeout=120_000)
        page.locator(".dockerlearn-panel", has_text="tag.registry-name").wait_for(timeout=120_000)
        # The panel shows its prompt as written: $REGISTRY stays $REGISTRY, no formula.
        from dockerlearn.checks import exercises
        shown = page.evaluate("""() => { const e = [...document.querySelectorAll('.dockerlearn-exercise')]
            .find(e => e.textContent.includes('tag.registry-name')).querySelector('div').cloneNode(true);
            e.querySelectorAll('br').forEach(b => b.replaceWith('\\n'));
            return [e.textContent, e.querySelectorAll('mjx-container').length]; }""")
        assert shown == [exercises()["tag.registry-name"].prompt, 0]

        # The learner's answer goes in the empty cell just above the panel.
        type_answer(page, "tag.add-tag", "%docker tag busybox:latest mybusybox:v1")
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
        panel.get_by_role("button", name="提示 (0/2)").wait_for(timeout=10_000)
        hint = panel.locator("button", has_text="提示")
        hint.click()
        assert "docker tag" in panel.locator(".dockerlearn-hints").inner_text()
        hint.click()
        hint.click()  # past the last hint: a visible end, and still not the answer
        panel.locator(".dockerlearn-no-more-hints").wait_for(timeout=10_000)
        assert "没有更多提示了" in panel.inner_text()
        assert "mybusybox:v1" not in panel.locator(".dockerlearn-hints").inner_text()
        panel.scroll_into_view_if_needed()
        panel.screenshot(path=str(ARTIFACTS / "check-panel.png"))
        page.screenshot(path=str(ARTIFACTS / "pilot-notebook.png"))
    assert (ARTIFACTS / "check-panel.png").stat().st_size > 1000


def test_every_prompt_renders_as_written(tmp_path):
    """Every exercise's prompt cell, as dockerlearn build writes it, in JupyterLab 4 itself: the page
    shows the prompt's own text ($VAR, <none>, e-mail addresses) and no formula."""
    import nbformat
    from nbformat.v4 import new_notebook
    from playwright.sync_api import sync_playwright

    from dockerlearn.course.notebook_builder import render
    from dockerlearn.checks import exercises
    from dockerlearn.course.lessonfile import load_all
    if not os.path.exists(CHROMIUM):
        pytest.fail("chromium is missing: bash scripts/setup --browser installs it")
    cells = [c for lesson in load_all() for c in render(lesson).cells
             if c.cell_type == "markdown" and c.source.startswith("### 练习 ")]
    assert len(cells) == len(exercises())
    root = tmp_path / "nb"
    root.mkdir()
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, root / "prompts.ipynb")
    # Every cell in the page at once, not only those scrolled into view.
    tracker = tmp_path / "settings" / "@jupyterlab" / "notebook-extension"
    tracker.mkdir(parents=True)
    (tracker / "tracker.jupyterlab-settings").write_text('{"windowingMode": "none"}')
    (tmp_path / "lab_config.py").write_text(LAB_CONFIG)
    port, token = free_port(), "dockerlearn-test"
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "rt"), JUPYTER_CONFIG_DIR=str(tmp_path / "cfg"),
               JUPYTER_DATA_DIR=str(tmp_path / "data"), IPYTHONDIR=str(tmp_path / "ipy"),
               JUPYTERLAB_SETTINGS_DIR=str(tmp_path / "settings"), JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "ws"))
    argv = [sys.executable, "-m", "jupyter", "lab", f"--config={tmp_path / 'lab_config.py'}", f"--port={port}",
            f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", "--allow-root"]
    ARTIFACTS.mkdir(exist_ok=True)
    with running_lab(argv, env, port, token, tmp_path / "lab.log") as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{base}/lab/tree/prompts.ipynb?token={token}")
            page.wait_for_function(f"() => document.querySelectorAll('.jp-RenderedMarkdown h3').length >= {len(cells)}",
                                   timeout=60_000)
            page.wait_for_timeout(2000)  # MathJax typesets after the markdown is in the page
            shown = page.evaluate("""() => [...document.querySelectorAll('.jp-RenderedMarkdown')].map(md => {
                const text = el => { const c = el.cloneNode(true);
                    c.querySelectorAll('br').forEach(b => b.replaceWith('\\n'));
                    c.querySelectorAll('.jp-InternalAnchorLink').forEach(a => a.remove());
                    return c.textContent.split('\\n').map(l => l.trim()).join('\\n').trim(); };
                return {title: text(md.querySelector('h3')), prompt: text(md.querySelector('h3 + p')),
                        math: md.querySelectorAll('mjx-container').length}; })""")
            page.screenshot(path=str(ARTIFACTS / "prompts.png"))
        finally:
            browser.close()
    assert len(shown) == len(cells)
    wrong = []
    for ex, got in zip(exercises().values(), shown):
        want = {"title": f"练习 {ex.id}：{ex.title}", "math": 0,
                "prompt": "\n".join(line.strip() for line in ex.prompt.splitlines())}
        if got != want:
            wrong.append((ex.id, got, want))
    assert not wrong, wrong


def test_dockerlearn_lab_in_chinese_and_a_saved_panel_reopens_readable(sandbox, tmp_path):
    """`dockerlearn lab` as a learner meets it: the interface in Chinese, no news prompt, work/ in the
    file browser; a kernel that never ran %load_ext shows a panel; a notebook run and saved in the
    lab (so trusted) reopens with the panel's text, not "Error displaying widget: model not found"."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook
    from playwright.sync_api import sync_playwright

    from dockerlearn.lab import learner_notebooks
    if not os.path.exists(CHROMIUM):
        pytest.fail("chromium is missing: bash scripts/setup --browser installs it")
    mine = learner_notebooks(sandbox) / "mine.ipynb"
    nb = new_notebook(cells=[new_code_cell('check("tag.add-tag")')])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, mine)
    token = "dockerlearn-test"
    ARTIFACTS.mkdir(exist_ok=True)
    with dockerlearn_lab(sandbox, tmp_path, token) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        try:
            page.goto(f"{base}/lab/tree/mine.ipynb?token={token}")
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000)
            page.wait_for_timeout(2000)  # a news prompt, had there been one, shows by now
            menu = page.locator("#jp-MainMenu").inner_text()
            assert "文件" in menu and "内核" in menu, menu
            assert page.get_by_text("Jupyter news").count() == 0
            assert page.locator(".jp-DirListing-item", has_text="work").count() == 1
            # Run before anything else: the kernel loaded dockerlearn itself.
            page.locator(".jp-Notebook .jp-Cell .jp-InputArea-editor").first.click()
            page.keyboard.press("Shift+Enter")
            page.locator(".dockerlearn-panel").first.wait_for(timeout=60_000)
            page.keyboard.press("Control+s")
            page.wait_for_timeout(1500)
            page.reload()
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000)
            page.wait_for_timeout(3000)
            assert page.get_by_text("Error displaying widget").count() == 0
            fallback = page.locator(".dockerlearn-fallback").first
            fallback.wait_for(timeout=30_000)
            assert "Shift+Enter" in fallback.inner_text() and "tag.add-tag" in fallback.inner_text()
            page.screenshot(path=str(ARTIFACTS / "lesson-reopened.png"))
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "failure-reopen.png"), full_page=True)
            raise
        finally:
            browser.close()
            mine.unlink()
