"""show_layers in JupyterLab, in Debian's chromium (no download, loopback only): two images side by
side, the bars visible, the shared layer marked in both. Saves test-artifacts/layer-view.png."""
from __future__ import annotations

import os
import sys

import pytest

from dockerlearn.sandbox.procs import free_port
from tests import test_browser as tb
from tests.lab_server import run_all, running_lab

pytestmark = [pytest.mark.browser, pytest.mark.daemon]

CELLS = ["%load_ext dockerlearn",
         'show_layers("busybox:latest", "test:0.1")',
         'check("tag.add-tag")']


@pytest.fixture
def layer_lab(fresh_sandbox, tmp_path):
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook
    if not os.path.exists(tb.CHROMIUM):
        pytest.fail("chromium is missing: bash scripts/setup --browser installs it")
    sb = fresh_sandbox
    sb.run(["pull", "-q", "busybox:latest"], check=True)
    sb.run(["run", "--name", "newbee", "busybox:latest", "sh", "-c", "echo hello > /hello.txt"], check=True)
    sb.run(["commit", "-m", "Added a new file", "newbee", "test:0.1"], check=True)
    sb.run(["tag", "busybox:latest", "mybusybox:v1"], check=True)
    root = tmp_path / "nb"
    root.mkdir()
    nb = new_notebook(cells=[new_code_cell(c) for c in CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, root / "layers.ipynb")
    (tmp_path / "lab_config.py").write_text(tb.LAB_CONFIG)
    tb.course_settings(tmp_path)
    port, token = free_port(), "dockerlearn-test"
    env = sb.full_env()
    env.update({"JUPYTER_RUNTIME_DIR": str(tmp_path / "rt"), "JUPYTER_CONFIG_DIR": str(tmp_path / "cfg"),
                "JUPYTER_DATA_DIR": str(tmp_path / "data"), "IPYTHONDIR": str(tmp_path / "ipy")})
    argv = [sys.executable, "-m", "jupyter", "lab", f"--config={tmp_path / 'lab_config.py'}", f"--port={port}",
            f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", "--allow-root",
            f"--LabApp.app_settings_dir={tmp_path / 'app-settings'}"]
    with running_lab(argv, env, port, token, tmp_path / "lab.log") as base:
        yield f"{base}/lab/tree/layers.ipynb?token={token}"


def test_show_layers_draws_two_images_in_jupyterlab(layer_lab):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright
    tb.ARTIFACTS.mkdir(exist_ok=True)
    shot = tb.ARTIFACTS / "layer-view.png"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=tb.CHROMIUM, args=tb.CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        try:
            page.goto(layer_lab)
            run_all(page)
            view = page.locator(".dockerlearn-layers")
            view.wait_for(timeout=120_000)
            cards = view.locator(".dockerlearn-layer-image")
            assert cards.count() == 2
            assert "busybox:latest" in cards.nth(0).inner_text() and "test:0.1" in cards.nth(1).inner_text()
            bars = view.locator(".dockerlearn-layer-bar")
            assert bars.count() == 2
            segments = view.locator(".dockerlearn-layer-seg")
            assert segments.count() == 1 + 2
            for i in range(segments.count()):
                assert segments.nth(i).is_visible()
            # The busybox layer: as wide in both bars, the same colour, marked shared in both.
            first = [segments.nth(i).bounding_box() for i in (0, 1)]
            assert all(b and b["width"] > 100 and b["height"] >= 20 for b in first), first
            assert abs(first[0]["width"] - first[1]["width"]) < 2
            colours = [segments.nth(i).evaluate("e => getComputedStyle(e).backgroundColor") for i in range(3)]
            assert colours[0] == colours[1] != colours[2]
            assert view.locator(".dockerlearn-layer-seg.dockerlearn-shared").count() == 2
            badges = view.locator(".dockerlearn-shared-badge")
            assert badges.count() == 2 and "test:0.1" in badges.nth(0).inner_text()
            # Every step is listed with its instruction; the commit's own step, and CMD as a thin line.
            text = view.inner_text()
            assert "echo hello > /hello.txt" in text and 'CMD ["sh"]' in text and "只改配置，没有层" in text
            assert "共享的层（1 层）" in text
            view.scroll_into_view_if_needed()
            view.screenshot(path=str(shot))
            # The check panel's 看看层 (layers): the images its prompt names, drawn in the panel.
            panel = page.locator(".dockerlearn-panel", has_text="tag.add-tag")
            panel.wait_for(timeout=60_000)
            panel.get_by_role("button", name="看看层 (layers)").click()
            drawn = panel.locator(".dockerlearn-layers")
            drawn.wait_for(timeout=30_000)
            assert drawn.locator(".dockerlearn-layer-seg.dockerlearn-shared").count() == 2
            assert "mybusybox:v1" in drawn.inner_text()
            panel.scroll_into_view_if_needed()
            panel.screenshot(path=str(tb.ARTIFACTS / "layer-panel.png"))
        except (PlaywrightTimeout, AssertionError):
            page.screenshot(path=str(tb.ARTIFACTS / "failure-layer-view.png"), full_page=True)
            raise
        finally:
            browser.close()
    assert shot.stat().st_size > 5000
