"""Issue 10: "Restarting a kernel and pressing 检查 works." In Debian's chromium, in a real
`dockerlearn lab`: Run All in 02-tag, a wrong answer, then a kernel restart from the menu. The
dockerlearn-panels extension (labextension/) re-runs only the cells tagged dockerlearn-panel, so
without the learner re-running anything 检查 answers (❌ for the wrong answer), and a right answer
after the restart gets ✅. The lesson's first cell (start_lesson), the answer cells and every other
cell are not re-run, and no panel shows twice."""
from __future__ import annotations

import json
import os
import time

import nbformat
import pytest

from dockerlearn.course.notebook_builder import PANEL_TAG
from dockerlearn.course.lessonfile import load_all
from tests.lab_server import dockerlearn_lab, run_all, run_command
from tests.test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS

pytestmark = [pytest.mark.browser, pytest.mark.daemon]
SLUG = "02-tag"
WRONG = ("tag.add-tag", "%docker tag busybox:latest mybusybox:v2")
RIGHT = ("tag.add-tag", "%docker tag busybox:latest mybusybox:v1")

# Every code cell of the open notebook: its source, tags, execution count and state.
CELLS_JS = """() => {
  const nb = window.jupyterapp.shell.currentWidget.content;
  return nb.widgets.filter(w => w.model.type === 'code').map(w => ({
    source: w.model.sharedModel.getSource(),
    tags: w.model.getMetadata('tags') || [],
    count: w.model.executionCount,
    state: w.model.executionState}));
}"""


def cells(page) -> list[dict]:
    return page.evaluate(CELLS_JS)


def run_cell(page, index: int, new_source: str | None = None) -> None:
    """Click into the index-th code cell (optionally retype it), Shift+Enter, and wait until it has run."""
    count = cells(page)[index]["count"]
    cell = page.locator(".jp-Notebook .jp-CodeCell").nth(index)
    cell.locator(".jp-InputArea-editor").click()
    if new_source is not None:
        page.keyboard.press("Control+a")
        page.keyboard.type(new_source)
    page.keyboard.press("Shift+Enter")
    page.wait_for_function(f"() => {{ const c = ({CELLS_JS})()[{index}];"
                           f" return c.state !== 'running' && c.count !== null && c.count !== {json.dumps(count)}; }}",
                           timeout=120_000)


def press_check(page, exercise_id: str) -> str:
    """Press 检查 on the exercise's panel as it is now; the verdict it shows."""
    panel = page.locator(".dockerlearn-panel", has_text=exercise_id)
    panel.get_by_role("button", name="检查").click()
    verdict = panel.locator(".dockerlearn-verdict")
    verdict.wait_for(timeout=60_000)
    page.wait_for_function("e => !e.textContent.includes('正在检查')", arg=verdict.element_handle(), timeout=60_000)
    return verdict.inner_text()


def test_after_a_kernel_restart_check_answers_and_nothing_else_reruns(sandbox, tmp_path):
    from playwright.sync_api import sync_playwright

    from dockerlearn.lab import learner_notebooks
    if not os.path.exists(CHROMIUM):
        pytest.fail("chromium is missing: bash scripts/setup --browser installs it")
    lesson = next(l for l in load_all() if l.slug == SLUG)
    # A fresh copy: an earlier test (the learner walk) saved this notebook with its answers typed in,
    # and learner_notebooks never overwrites a copy someone has worked in.
    (learner_notebooks(sandbox) / f"{SLUG}.ipynb").unlink(missing_ok=True)
    committed = nbformat.read(learner_notebooks(sandbox) / f"{SLUG}.ipynb", as_version=4)
    tagged = [c.source for c in committed.cells if PANEL_TAG in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1 + len(lesson.exercises), (
        f"notebooks/{SLUG}.ipynb has no {PANEL_TAG} tags: rebuild it (dockerlearn build --lesson {SLUG})")
    sandbox.reset()
    token = "dockerlearn-restart"
    ARTIFACTS.mkdir(exist_ok=True)
    with dockerlearn_lab(sandbox, tmp_path, token, expose_app=True) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        try:
            page.goto(f"{base}/lab/tree/{SLUG}.ipynb?reset&token={token}")
            loaded = page.evaluate("() => JSON.parse(document.getElementById('jupyter-config-data').textContent)"
                                   ".federated_extensions.map(e => e.name)")
            assert "dockerlearn-panels" in loaded, loaded
            # Run All only once the notebook's kernel is there: run before it, JupyterLab asks for a kernel.
            page.wait_for_function("() => { const s = window.jupyterapp?.shell.currentWidget?.sessionContext;"
                                   " return s && s.isReady && s.session?.kernel?.status === 'idle'; }",
                                   timeout=120_000)
            run_all(page)
            if page.locator(".jp-Dialog").count():  # that question all the same: keep the running kernel
                page.keyboard.press("Escape")
                page.locator(".jp-Dialog").wait_for(state="detached", timeout=10_000)
            menu = page.locator("#jp-MainMenu").inner_text()
            assert "内核" in menu, menu  # the zh_CN language pack still applies
            ex_id, wrong = WRONG
            sources = [c["source"] for c in cells(page)]
            check_index = sources.index(f'check("{ex_id}")')
            answer_index = check_index - 1  # the empty cell above the panel
            run_cell(page, answer_index, wrong)  # the learner's wrong answer
            before = cells(page)
            assert before[0]["count"] is not None and "%load_ext dockerlearn" in before[0]["source"]
            assert before[answer_index]["source"] == wrong and before[answer_index]["count"] is not None

            # Restart the kernel from the menu's command, as a learner would.
            run_command(page, "kernelmenu:restart")
            page.locator(".jp-Dialog button.jp-mod-accept").click(timeout=30_000)
            # The extension re-runs every tagged cell: each gets a new count from the new kernel.
            panel_idx = [i for i, c in enumerate(before) if PANEL_TAG in c["tags"]]
            assert len(panel_idx) == 1 + len(lesson.exercises), before
            page.wait_for_function(
                f"() => {{ const c = ({CELLS_JS})(); const b = {[before[i]['count'] for i in panel_idx]};"
                f" return {panel_idx}.every((i, k) => c[i].count !== null && c[i].count !== b[k]"
                f" && c[i].state !== 'running'); }}", timeout=120_000)
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000)
            time.sleep(1)
            after = cells(page)
            rerun = [i for i, (b, a) in enumerate(zip(before, after)) if b["count"] != a["count"]]
            assert rerun == panel_idx, (
                f"re-run after the restart: {[after[i]['source'][:40] for i in rerun]}; expected only the panels")
            assert after[0]["count"] == before[0]["count"], "the first cell (start_lesson) ran again"
            assert after[answer_index]["count"] == before[answer_index]["count"], "the answer cell ran again"
            # New counts 1..n, in order: the new kernel ran nothing else before them.
            assert [after[i]["count"] for i in panel_idx] == list(range(1, len(panel_idx) + 1))
            assert page.locator(".dockerlearn-panel").count() == len(lesson.exercises)
            assert page.get_by_text("Error displaying widget").count() == 0

            # Without re-running anything, 检查 answers: the wrong answer gets a real ❌.
            verdict = press_check(page, ex_id)
            assert "❌" in verdict, verdict
            page.locator(".dockerlearn-panel", has_text=ex_id).screenshot(path=str(ARTIFACTS / "restart-check.png"))

            # The learner runs a panel cell by hand after the restart: still one panel, no harm.
            run_cell(page, check_index)
            assert page.locator(".dockerlearn-panel", has_text=ex_id).count() == 1
            assert page.locator(".dockerlearn-panel").count() == len(lesson.exercises)

            # Solving after the restart: the right answer, 检查, ✅.
            ex_id, right = RIGHT
            run_cell(page, answer_index, right)
            verdict = press_check(page, ex_id)
            assert "✅" in verdict, verdict
            # The progress bar re-run by the restart is live too: it counts the pass.
            label = page.locator(".jp-Notebook .widget-label", has_text="个练习已完成")
            assert label.count() == 1
            page.wait_for_function("e => !e.textContent.startsWith('0/')", arg=label.element_handle(), timeout=30_000)
            page.screenshot(path=str(ARTIFACTS / "restart-solved.png"))

            # "Restart and clear outputs": the panels come back, every other cell stays cleared.
            run_command(page, "notebook:restart-clear-output")
            page.locator(".jp-Dialog button.jp-mod-accept").click(timeout=30_000)
            page.wait_for_function(f"() => ({CELLS_JS})()[0].count === null", timeout=120_000)  # cleared
            page.wait_for_function(
                f"() => {{ const c = ({CELLS_JS})();"
                f" return {panel_idx}.every(i => c[i].count !== null && c[i].state !== 'running'); }}", timeout=120_000)
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000)
            cleared = cells(page)
            assert [i for i, c in enumerate(cleared) if c["count"] is not None] == panel_idx, cleared
            assert page.locator(".dockerlearn-panel").count() == len(lesson.exercises)

            # "Restart and run all": the notebook runs every cell itself, each once and in order; the
            # extension adds no second run of a panel cell.
            run_command(page, "notebook:restart-run-all")
            page.locator(".jp-Dialog button.jp-mod-accept").click(timeout=30_000)
            page.wait_for_function(
                f"() => {{ const c = ({CELLS_JS})(); return c.every(x => x.state !== 'running')"
                f" && c[{panel_idx[-1]}].count !== null && c[{panel_idx[-1]}].count > {len(panel_idx)}; }}",
                timeout=300_000)
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000)
            counts = [c["count"] for c in cells(page) if c["source"].strip()]
            assert counts == list(range(1, len(counts) + 1)), counts
            assert page.locator(".dockerlearn-panel").count() == len(lesson.exercises)
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "failure-restart.png"), full_page=True)
            raise
        finally:
            browser.close()
