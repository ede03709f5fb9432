"""`dockerlearn lab`: each learner works in their own copies of the notebooks."""
from __future__ import annotations

from pathlib import Path

import pytest

from dockerlearn.build import NOTEBOOKS_DIR

from dockerlearn.cli import build_parser, lab_argv, learner_notebooks
from dockerlearn.sandbox import Sandbox


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

    from dockerlearn import procs
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


def test_lab_terminal_runs_docker_in_the_sandbox(sandbox, tmp_path):
    """`dockerlearn lab` serves JupyterLab on loopback; a terminal opened in it talks to the sandbox."""
    import json
    import os
    import sys
    import urllib.request

    from dockerlearn.procs import free_port
    from tests.lab_server import running_lab

    from tornado.ioloop import IOLoop
    from tornado.websocket import websocket_connect

    port = free_port()
    token = "dockerlearn-lab-test"
    env = dict(os.environ, JUPYTER_TOKEN=token, JUPYTER_RUNTIME_DIR=str(tmp_path / "rt"),
               JUPYTER_CONFIG_DIR=str(tmp_path / "cfg"), DOCKER_HOST="unix:///nonexistent.sock")
    argv = [sys.executable, "-m", "dockerlearn", "lab", "--name", sandbox.name, "--no-browser", "--port", str(port)]
    with running_lab(argv, env, port, token, tmp_path / "lab.log") as base:
        req = urllib.request.Request(f"{base}/api/terminals?token={token}", data=b"", method="POST")
        name = json.load(urllib.request.urlopen(req))["name"]

        async def run_in_terminal() -> str:
            ws = await websocket_connect(f"ws://127.0.0.1:{port}/terminals/websocket/{name}?token={token}")
            ws.write_message(json.dumps(["stdin", "docker info --format 'ROOT={{.DockerRootDir}}'; echo END-$((6*7))\r"]))
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
