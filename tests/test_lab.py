"""`dockerlearn lab`: each learner works in their own copies of the notebooks."""
from __future__ import annotations

from pathlib import Path

import pytest

from dockerlearn.course.notebook_builder import NOTEBOOKS_DIR

from dockerlearn.cli import build_parser, lab_argv
from dockerlearn.lab import learner_notebooks
from dockerlearn.sandbox.lifecycle import Sandbox


def test_learner_gets_own_copies_and_keeps_their_work():
    sb = Sandbox("t-lab", quiet=True)
    target = learner_notebooks(sb)
    assert target == sb.paths.root / "notebooks"
    names = sorted(p.name for p in target.glob("*.ipynb"))
    assert names == sorted(p.name for p in NOTEBOOKS_DIR.glob("*.ipynb")) and names
    mine = target / names[0]
    mine.write_text('{"my": "work"}')
    (target / names[1]).unlink()
    learner_notebooks(sb)
    assert mine.read_text() == '{"my": "work"}', "a notebook the learner worked in is never overwritten"
    assert (target / names[1]).exists(), "a missing (or newly added) lesson is copied in"
    copy = (target / names[1]).read_text()
    assert "application/vnd.jupyter.widget-view+json" not in copy, "a copy opens with readable panels"
    assert "text/plain" in copy


def test_lab_binds_loopback_and_serves_the_learners_copies():
    args = build_parser().parse_args(["lab", "--name", "student01", "--no-browser", "--port", "8890"])
    argv = lab_argv(Path("/x/notebooks"), args.port, args.no_browser)
    assert "--ServerApp.ip=127.0.0.1" in argv and "--port=8890" in argv and "--no-browser" in argv
    assert "--notebook-dir=/x/notebooks" in argv and argv[1:4] == ["-m", "jupyter", "lab"]


@pytest.mark.daemon
def test_down_leaves_the_learners_jupyterlab_alone():
    """`down` stops the sandbox's own services only, not a process that merely names its folder."""
    import subprocess
    import sys

    from dockerlearn.sandbox import procs
    sb = Sandbox("t-labdown", quiet=True, debian=False)
    try:
        sb.up()
        nbdir = learner_notebooks(sb)
        bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", f"--notebook-dir={nbdir}"])
        try:
            sb.down()
            assert bystander.poll() is None, "down killed a process that is not the sandbox's"
            assert not sb.status().dockerd and not procs.pids_mentioning(str(sb.paths.exec_root))
        finally:
            bystander.kill()
            bystander.wait()
    finally:
        sb.destroy()


def test_lab_config_lives_in_the_sandbox(tmp_path):
    """prepare() writes the lab's settings into <sandbox>/jupyter, never the learner's home."""
    import json

    from dockerlearn.lab import prepare
    sb = Sandbox("t-labcfg", quiet=True)
    nbdir = learner_notebooks(sb)
    config, env = prepare(sb, nbdir)
    root = sb.paths.root / "jupyter"
    assert config.parent == root and env["IPYTHONDIR"] == str(root / "ipython")
    assert (root / "ipython/profile_default/startup/00-dockerlearn.py").exists()
    overrides = json.loads((root / "settings/overrides.json").read_text())
    assert overrides["@jupyterlab/translation-extension:plugin"]["locale"] == "zh_CN"
    assert overrides["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"
    text = config.read_text()
    assert "strip_widget_views" in text and str(root / "bashrc") in text and "news_url = None" in text
    assert (nbdir / "work").resolve() == sb.work_dir.resolve()
    assert env["PATH"].split(":")[0] == str(sb.paths.bin_dir)
    prepare(sb, nbdir)  # again: the same files, no error on the existing work/ link
    argv = lab_argv(nbdir, 8891, True, config)
    assert f"--config={config}" in argv


@pytest.mark.daemon
def test_course_kernel_loads_dockerlearn_itself(sandbox, tmp_path):
    """A kernel of `dockerlearn lab` (a fresh one, as after a restart) has %docker and check() at once."""
    from jupyter_client.manager import start_new_kernel

    from dockerlearn.lab import prepare
    config, env = prepare(sandbox, learner_notebooks(sandbox))
    env.update(JUPYTER_RUNTIME_DIR=str(tmp_path / "rt"), DOCKER_HOST="unix:///nonexistent.sock")
    env["DOCKER_HOST"] = "unix:///nonexistent.sock"  # the kernel must pin itself, not inherit
    km, kc = start_new_kernel(kernel_name="python3", env=env, cwd=str(tmp_path))
    try:
        out = []

        def run(code):
            reply = kc.execute_interactive(code, timeout=60, output_hook=lambda m: out.append(m))
            return reply["content"]["status"]

        assert run("import os, shutil; print('CWD', os.getcwd()); print('CHECK', check.__module__); "
                   "print('DL', shutil.which('dockerlearn')); print('DOCKER', shutil.which('docker'))") == "ok"
        assert run("%docker info --format 'ROOT={{.DockerRootDir}}'") == "ok"
        text = "".join(m["content"].get("text", "") for m in out if m["msg_type"] == "stream")
        assert f"CWD {sandbox.work_dir}" in text and "CHECK dockerlearn" in text
        assert f"DL {sandbox.paths.bin_dir}/dockerlearn" in text and f"DOCKER {sandbox.paths.bin_dir}/docker" in text
        assert f"ROOT={sandbox.paths.data_root}" in text
        out.clear()
        assert run("%load_ext dockerlearn") == "ok"  # the notebook's first cell: its usual line, no "already loaded"
        text = "".join(m["content"].get("text", "") for m in out if m["msg_type"] == "stream")
        assert "已连接 dockerlearn 沙箱" in text and "already loaded" not in text
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_lab_terminal_runs_docker_in_the_sandbox(sandbox, tmp_path):
    """`dockerlearn lab` serves JupyterLab on loopback; a terminal opened in it talks to the sandbox,
    starts in the learner's work directory and finds dockerlearn; the lab speaks Chinese, asks
    nothing about news, shows work/ and saves panels as text."""
    import json
    import os
    import sys
    import urllib.request

    import nbformat

    from dockerlearn.lab import WIDGET_VIEW
    from dockerlearn.sandbox.procs import free_port
    from tests.lab_server import running_lab

    from tornado.ioloop import IOLoop
    from tornado.websocket import websocket_connect

    port = free_port()
    token = "dockerlearn-lab-test"
    env = dict(os.environ, JUPYTER_TOKEN=token, JUPYTER_RUNTIME_DIR=str(tmp_path / "rt"),
               JUPYTER_CONFIG_DIR=str(tmp_path / "cfg"), DOCKER_HOST="unix:///nonexistent.sock",
               PATH="/usr/bin:/bin")  # dockerlearn itself is not on the PATH it is started with
    argv = [sys.executable, "-m", "dockerlearn", "lab", "--name", sandbox.name, "--no-browser", "--port", str(port)]

    def api(base, path, data=None, method="GET"):
        body = json.dumps(data).encode() if data is not None else (b"" if method == "POST" else None)
        req = urllib.request.Request(f"{base}{path}?token={token}", data=body, method=method,
                                     headers={"Content-Type": "application/json"})
        return json.load(urllib.request.urlopen(req))

    with running_lab(argv, env, port, token, tmp_path / "lab.log") as base:
        for body in (None, {"cwd": ""}):  # the launcher sends the file browser's folder, "" at the top
            name = api(base, "/api/terminals", body, "POST")["name"]

            async def run_in_terminal() -> str:
                ws = await websocket_connect(f"ws://127.0.0.1:{port}/terminals/websocket/{name}?token={token}")
                ws.write_message(json.dumps(["stdin", "docker info --format 'ROOT={{.DockerRootDir}}'; echo PWD=$PWD; "
                                                      "echo DL=$(command -v dockerlearn); echo END-$((6*7))\r"]))
                out = ""
                while "END-42" not in out:
                    msg = await ws.read_message()
                    assert msg is not None, out
                    kind, *rest = json.loads(msg)
                    if kind == "stdout":
                        out += rest[0]
                ws.close()
                return out

            out = IOLoop.current().run_sync(run_in_terminal, timeout=60)
            assert f"ROOT={sandbox.paths.data_root}" in out
            assert f"PWD={sandbox.work_dir}" in out, out
            assert f"DL={sandbox.paths.bin_dir}/dockerlearn" in out, out

        # The work directory is in the file browser.
        (sandbox.work_dir / "seen-in-browser.txt").write_text("x")
        listing = api(base, "/api/contents/work")
        assert "seen-in-browser.txt" in [c["name"] for c in listing["content"]]
        # Chinese by default, and no news prompt.
        settings = api(base, "/lab/api/settings/@jupyterlab/translation-extension:plugin")
        assert settings["schema"]["properties"]["locale"]["default"] == "zh_CN"
        assert "zh_CN" in api(base, "/lab/api/translations")["data"]
        news = api(base, "/lab/api/settings/@jupyterlab/apputils-extension:notification")
        assert news["schema"]["properties"]["fetchNews"]["default"] == "false"
        # A saved notebook keeps each panel's text, not a widget reference.
        view = {"model_id": "abc", "version_major": 2, "version_minor": 0}
        nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
            {"cell_type": "code", "id": "c1", "metadata": {}, "source": 'check("tag.add-tag")', "execution_count": 1,
             "outputs": [{"output_type": "execute_result", "execution_count": 1, "metadata": {},
                          "data": {WIDGET_VIEW: view, "text/plain": "面板的文字"}}]}]}
        api(base, "/api/contents/saved.ipynb", {"type": "notebook", "format": "json", "content": nb}, "PUT")
        saved = sandbox.paths.root / "notebooks" / "saved.ipynb"
        try:
            assert nbformat.read(saved, as_version=4).cells[0].outputs[0].data == {"text/plain": "面板的文字"}
        finally:
            saved.unlink()
