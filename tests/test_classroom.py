"""The classroom end to end: `dockerlearn classroom` makes the accounts, a real JupyterHub logs
students in with PAM and starts each one's rootless sandbox, and the teacher's dashboard shows
the class. Driven with Playwright and Debian's chromium, on 127.0.0.1 only. Run as root."""
from __future__ import annotations

import csv
import io
import json
import os
import pwd
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dockerlearn.sandbox import procs
from dockerlearn.errors import StartFailed
from tests.lab_server import run_all, type_answer
from tests.test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS

pytestmark = [pytest.mark.browser, pytest.mark.daemon]
REPO = Path(__file__).resolve().parent.parent
# Names of this run only: two suites on one machine must never remove each other's accounts.
RUN = secrets.token_hex(2)
STUDENTS = [f"dlhub{RUN}-s{i}" for i in (1, 2, 3)]
TEACHER = f"dlhub{RUN}-t1"
ROSTER = "id,last_name,first_name,email\n" + "".join(
    f"{s},王,同学{i},{s}@example.com\n" for i, s in enumerate(STUDENTS, 1))


def remove_users() -> None:
    for user in [*STUDENTS, TEACHER]:
        try:
            pwd.getpwnam(user)
        except KeyError:
            continue
        subprocess.run(["runuser", "-u", user, "--", sys.executable, "-m", "dockerlearn", "destroy", "--name", "default"],
                       capture_output=True, cwd="/", timeout=120, env={"PATH": os.environ["PATH"], "LANG": "C.UTF-8"})
        subprocess.run(["pkill", "-KILL", "-u", user], capture_output=True)
        time.sleep(0.2)
        subprocess.run(["userdel", "--remove", user], capture_output=True)


def as_user(user: str, script: str) -> subprocess.CompletedProcess:
    env = {"PATH": f"{REPO}/.venv/bin:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "LANG": "C.UTF-8", "HOME": pwd.getpwnam(user).pw_dir}
    return subprocess.run(["runuser", "-u", user, "--", "bash", "-c", script], capture_output=True, text=True,
                          cwd="/", env=env, timeout=120)


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("the classroom makes Unix accounts: run as root")
    if not os.path.exists(CHROMIUM):
        pytest.fail("chromium is missing: bash scripts/setup --browser installs it")
    probe = subprocess.run(["runuser", "-u", "nobody", "--", sys.executable, "-c", "import dockerlearn.cli"],
                           capture_output=True, cwd="/")
    if probe.returncode:
        pytest.skip(f"{REPO} is not readable by other users here (e.g. a checkout in /root)")
    remove_users()
    work = tmp_path_factory.mktemp("classroom")
    class_dir = work / "class"
    (work / "roster.csv").write_text(ROSTER)
    port = procs.free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKERLEARN_")}
    env["DOCKERLEARN_CACHE"] = os.environ["DOCKERLEARN_CACHE"]  # root's cache, copied to the machine's
    setup = subprocess.run([sys.executable, "-m", "dockerlearn", "classroom", str(work / "roster.csv"),
                            "--teacher", TEACHER, "--dir", str(class_dir), "--port", str(port), "--setup-only"],
                           capture_output=True, text=True, env=env, timeout=600)
    assert setup.returncode == 0, setup.stdout + setup.stderr
    with open(class_dir / "jupyterhub_config.py", "a") as f:  # the test drives JupyterLab through its app object
        f.write("c.Spawner.args = ['--LabApp.expose_app_in_browser=True']\n")
    passwords = dict(line.split(",", 1) for line in (class_dir / "initial-passwords.csv").read_text().splitlines())
    log = open(work / "hub.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "jupyterhub", "-f", str(class_dir / "jupyterhub_config.py")],
                            cwd=class_dir, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            procs.wait_until(lambda: procs.url_ready(f"{base}/hub/api"), what="JupyterHub", timeout=60,
                             log=work / "hub.log", proc=proc)
        except StartFailed as e:
            pytest.fail(e.render())
        yield {"base": base, "passwords": passwords, "class_dir": class_dir, "work": work, "setup": setup}
    finally:
        proc.terminate()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        shutil.copy(work / "hub.log", ARTIFACTS / "classroom-hub.log") if ARTIFACTS.is_dir() else None
        remove_users()


def login(browser, hub, user: str):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{hub['base']}/hub/login")
    page.fill("#username_input", user)
    page.fill("#password_input", hub["passwords"][user])
    page.click("#login_submit")
    return context, page



def test_classroom_students_teacher_and_dashboard(hub):
    from playwright.sync_api import sync_playwright
    ARTIFACTS.mkdir(exist_ok=True)
    s1, s2 = STUDENTS[0], STUDENTS[1]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            # Student 1 logs in: their server starts with their own sandbox, and 02-tag works.
            ctx1, page = login(browser, hub, s1)
            page.wait_for_url(f"**/user/{s1}/lab**", timeout=300_000)
            page.goto(f"{hub['base']}/user/{s1}/lab/tree/02-tag.ipynb")
            run_all(page)
            panel = page.locator(".dockerlearn-panel", has_text="tag.add-tag")
            panel.wait_for(timeout=180_000)
            page.locator(".dockerlearn-panel", has_text="tag.registry-name").wait_for(timeout=180_000)
            type_answer(page, "tag.add-tag", "%docker tag busybox:latest mybusybox:v1")
            deadline = time.monotonic() + 60
            while True:
                panel.get_by_role("button", name="检查").click()
                time.sleep(1)
                if "✅" in panel.locator(".dockerlearn-verdict").inner_text():
                    break
                assert time.monotonic() < deadline, panel.inner_text()
            passed_at = time.monotonic()
            page.screenshot(path=str(ARTIFACTS / "classroom-student.png"))
            owner = as_user(s1, "stat -c %U ~/.local/state/dockerlearn/sandboxes/default/docker.sock; "
                                "ps -o user= -p $(cat ~/.local/state/dockerlearn/sandboxes/default/dockerd.pid 2>/dev/null "
                                "|| pgrep -u $USER -x dockerd | head -1)")
            assert owner.stdout.split() == [s1, s1], f"student 1's sandbox is rootless and theirs: {owner.stdout}{owner.stderr}"

            # The teacher sees the pass within 5 s, and grades.csv agrees with every progress DB.
            ctx_t, teacher = login(browser, hub, TEACHER)
            teacher.wait_for_url("**/hub/**", timeout=60_000)
            teacher.goto(f"{hub['base']}/services/dashboard/")
            row = teacher.locator("#class tr", has_text=s1)
            row.wait_for(timeout=30_000)
            teacher.wait_for_function(
                f"() => [...document.querySelectorAll('#class tr')].some(r => r.textContent.includes('{s1}')"
                " && r.textContent.includes('✅'))", timeout=10_000)
            seen_after = time.monotonic() - passed_at
            assert seen_after <= 5, f"the dashboard showed the pass after {seen_after:.1f} s"
            teacher.screenshot(path=str(ARTIFACTS / "classroom-teacher.png"), full_page=True)
            grades = teacher.request.get(f"{hub['base']}/services/dashboard/grades.csv")
            assert grades.status == 200
            rows = {r["id"]: r for r in csv.DictReader(io.StringIO(grades.text()))}
            assert set(rows) == set(STUDENTS)
            for student in STUDENTS:
                mine = as_user(student, "dockerlearn progress --name default --format csv 2>/dev/null || true").stdout
                passed = sum(r["passed"] == "True" for r in csv.DictReader(io.StringIO(mine))) if mine else 0
                assert int(rows[student]["passed"]) == passed, (student, rows[student], mine)
            assert rows[s1]["tag.add-tag"] == "1" and rows[s2]["tag.add-tag"] == "0"
            one = teacher.request.get(f"{hub['base']}/services/dashboard/students/{s1}.json")
            assert one.status == 200 and '"tag.add-tag"' in one.text()

            # Student 2 is refused everything of student 1's, and the dashboard too.
            ctx2, page2 = login(browser, hub, s2)
            page2.wait_for_url(f"**/user/{s2}/lab**", timeout=300_000)
            other = page2.goto(f"{hub['base']}/user/{s1}/lab")
            assert other.status == 403 or "403" in page2.content(), page2.url
            dash = page2.goto(f"{hub['base']}/services/dashboard/")
            assert dash.status == 403 or "403" in page2.content()
            page2.screenshot(path=str(ARTIFACTS / "classroom-refused.png"))
        finally:
            browser.close()
    home1 = pwd.getpwnam(s1).pw_dir
    state1 = json.loads(Path(f"{home1}/.local/state/dockerlearn/sandboxes/default/sandbox.json").read_text())
    registry1 = f"127.0.0.1:{state1['registry_port']}"
    tries = as_user(s2, f"""
        curl -s -o /dev/null -w 'REGISTRY-%{{http_code}}\\n' http://{registry1}/v2/_catalog
        curl -s -o /dev/null -w 'REGISTRY-GUESS-%{{http_code}}\\n' -u student:dockerlearn http://{registry1}/v2/_catalog
        ls {home1}/.local/state/dockerlearn/sandboxes/default/notebooks >/dev/null 2>&1 && echo NOTEBOOKS-READ || echo NOTEBOOKS-REFUSED
        docker -H unix://{home1}/.local/state/dockerlearn/sandboxes/default/docker.sock ps >/dev/null 2>&1 && echo SOCKET-OPEN || echo SOCKET-REFUSED
        cat {home1}/.local/state/dockerlearn/progress/default.sqlite >/dev/null 2>&1 && echo PROGRESS-READ || echo PROGRESS-REFUSED
    """)
    for expected in ("NOTEBOOKS-REFUSED", "SOCKET-REFUSED", "PROGRESS-REFUSED", "REGISTRY-401", "REGISTRY-GUESS-401"):
        assert expected in tries.stdout, tries.stdout + tries.stderr


def test_rerunning_the_classroom_changes_nothing(hub):
    """Same roster again: no account added or removed, no password changed, no work lost."""
    before = (hub["class_dir"] / "initial-passwords.csv").read_text()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKERLEARN_")}
    env["DOCKERLEARN_CACHE"] = os.environ["DOCKERLEARN_CACHE"]
    again = subprocess.run([sys.executable, "-m", "dockerlearn", "classroom", str(hub["work"] / "roster.csv"),
                            "--teacher", TEACHER, "--dir", str(hub["class_dir"]), "--setup-only"],
                           capture_output=True, text=True, env=env, timeout=600)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "新增 (add) 0 个" in again.stdout and "删除 (remove) 0 个" in again.stdout
    assert (hub["class_dir"] / "initial-passwords.csv").read_text() == before
    assert oct((hub["class_dir"] / "initial-passwords.csv").stat().st_mode & 0o777) == "0o600"
