"""The lab as an ordinary learner has it after `sudo bash scripts/setup`: `dockerlearn lab` run by a
user who is not root, with that user's rootless sandbox; Debian's chromium drives it. The server
and its kernel run as the learner, a check passes on the learner's own daemon, and root's sandbox
never sees the learner's image."""
from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from dockerlearn.sandbox import procs
from tests.lab_server import chromium_page, run_all, running_lab, type_answer
from tests.test_browser import ARTIFACTS, CHROMIUM
from tests.unix_users import as_user, as_user_argv, ensure_user, user_processes

pytestmark = [pytest.mark.browser, pytest.mark.daemon]
NAME = "lab"  # the learner's sandbox


@pytest.fixture
def learner_lab(tmp_path):
    if not os.path.exists(CHROMIUM):
        pytest.fail("chromium is missing: bash scripts/setup --browser installs it")
    user = ensure_user("dlt-lab")
    # The test drives JupyterLab through window.jupyterapp (run all), which a config of the learner's exposes.
    cfg = "~/.dl-test-jupyter"
    r = as_user(user, f"mkdir -p {cfg} && for f in jupyter_server_config.py jupyter_lab_config.py; do "
                      f"echo 'c.LabApp.expose_app_in_browser = True' > {cfg}/$f; done && dockerlearn up --name {NAME} -q")
    assert r.returncode == 0, r.stdout + r.stderr
    # The learner's copy of 02-tag as dockerlearn lab makes it (a copy from an earlier run may hold answers).
    copy = Path(user.pw_dir) / f".local/state/dockerlearn/sandboxes/{NAME}/notebooks/02-tag.ipynb"
    copy.unlink(missing_ok=True)
    port, token = procs.free_port(), "dockerlearn-learner"
    argv = as_user_argv(user, f"exec dockerlearn lab --name {NAME} --no-browser --port {port}", JUPYTER_TOKEN=token,
                        JUPYTER_CONFIG_DIR=f"{user.pw_dir}/.dl-test-jupyter")
    try:
        with running_lab(argv, None, port, token, tmp_path / "lab.log", own_session=True, timeout=90) as base:
            yield user, f"{base}/lab/tree/02-tag.ipynb?token={token}"
    finally:
        r = as_user(user, f"dockerlearn destroy --name {NAME}")
        assert r.returncode == 0, r.stdout + r.stderr


def test_an_ordinary_user_runs_the_lab_and_gets_a_tick(learner_lab, fresh_sandbox):
    user, url = learner_lab
    with chromium_page(url, ARTIFACTS / "learner-lab-failure.png") as page:
        run_all(page)
        panel = page.locator(".dockerlearn-panel", has_text="tag.add-tag")
        panel.wait_for(timeout=120_000)
        # A wrong answer first, then the right one, typed into the answer cell above the panel.
        verdicts = []
        for command in ("%docker tag busybox:latest mybusybox:v2", "%docker tag busybox:latest mybusybox:v1"):
            type_answer(page, "tag.add-tag", command)
            time.sleep(1)  # the cell's prompt number is set just before its output lands
            verdict = panel.locator(".dockerlearn-verdict")
            before = verdict.inner_text() if verdict.count() else ""
            panel.get_by_role("button", name="检查").click()
            deadline = time.monotonic() + 30
            while True:
                text = verdict.inner_text() if verdict.count() else ""
                if text != before and ("✅" in text or "❌" in text):
                    break
                assert time.monotonic() < deadline, f"no new verdict after 检查: {text!r}"
                time.sleep(0.3)
            verdicts.append(text)
        panel.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "learner-lab.png"))
    assert "❌" in verdicts[0] and "✅" in verdicts[1] and "mybusybox:v1" in verdicts[1], verdicts

    # Everything ran as the learner: the server and its kernel, in a rootless sandbox.
    mine = user_processes(user)
    assert any("jupyter" in line and "lab" in line for line in mine), mine
    assert any("ipykernel" in line for line in mine), f"the kernel is not the learner's: {mine}"
    assert not [l for l in subprocess.run(["ps", "-u", "0", "-o", "args="], capture_output=True, text=True).stdout.splitlines()
                if "ipykernel" in l and f"sandboxes/{NAME}/" in l], "a kernel of the learner's lab runs as root"
    r = as_user(user, f'eval "$(dockerlearn env --name {NAME})" && docker info --format "{{{{.SecurityOptions}}}}" '
                      f"&& docker image inspect --format ok mybusybox:v1")
    assert r.returncode == 0 and "rootless" in r.stdout and r.stdout.strip().endswith("ok"), r.stdout + r.stderr
    # Root's own sandbox (reset before the test: another test may have made this tag) is another
    # daemon: the learner's tag is not there.
    assert fresh_sandbox.run(["image", "inspect", "mybusybox:v1"]).returncode != 0
