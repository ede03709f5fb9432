"""`dockerlearn lab`: each learner works in their own copies of the notebooks."""
from __future__ import annotations

from dockerlearn.build import NOTEBOOKS_DIR
from pathlib import Path

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
            assert not sb.status().dockerd and not procs.pids_matching(str(sb.paths.exec_root))
        finally:
            bystander.kill()
            bystander.wait()
    finally:
        sb.destroy()
