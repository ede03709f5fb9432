"""Run by JupyterHub's spawner as the student (`dockerlearn singleuser`): the student's own
rootless sandbox is started and their notebook copies are made before JupyterLab starts, so
the first notebook they open already talks to their own daemon."""
from __future__ import annotations

import os
import sys
from typing import Sequence


def main(argv: Sequence[str]) -> int:
    from ..cli import learner_notebooks
    from ..sandbox import current
    sb = current()
    sb.quiet = True
    sb.up()
    notebooks = learner_notebooks(sb)
    env = sb.full_env()
    cmd = [sys.executable, "-m", "jupyterhub.singleuser", f"--ServerApp.root_dir={notebooks}", *argv]
    os.chdir(notebooks)
    os.execvpe(cmd[0], cmd, env)
