"""Run by JupyterHub's spawner as the student (`dockerlearn singleuser`): the student's own
rootless sandbox is started and their notebook copies are made before JupyterLab starts, with
the same setup as `dockerlearn lab` (kernels that load dockerlearn themselves, terminals in the
work directory, the interface in Chinese), so the first notebook already talks to their daemon."""
from __future__ import annotations

import os
import sys
from typing import Sequence


def main(argv: Sequence[str]) -> int:
    from ..lab import learner_notebooks, prepare
    from ..sandbox.lifecycle import current
    sb = current()
    sb.quiet = True
    sb.up()
    notebooks = learner_notebooks(sb)
    config, env = prepare(sb, notebooks)
    cmd = [sys.executable, "-m", "jupyterhub.singleuser", f"--config={config}",
           f"--ServerApp.root_dir={notebooks}", *argv]
    os.chdir(notebooks)
    os.execvpe(cmd[0], cmd, env)
