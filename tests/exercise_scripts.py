"""Run an exercise's setup, wrong answer or solution the way a learner would: bash in the sandbox."""
from __future__ import annotations

import subprocess


def run_script(sandbox, script: str, *, must_succeed: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(["bash", "-eo", "pipefail", "-c", script], env=sandbox.full_env(),
                          cwd=sandbox.work_dir, capture_output=True, text=True, timeout=600)
    if must_succeed:
        assert proc.returncode == 0, f"script failed ({proc.returncode}):\n{script}\n--- output ---\n{proc.stdout}\n{proc.stderr}"
    return proc
