"""Lesson 14 shows the build's cgroup limits as output that varies by machine (a rootless daemon
on cgroup v1 cannot set them). Here, in root mode, they must really be in force."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.daemon


def test_build_resource_limits_reach_the_build_container(sandbox, tmp_path):
    if sandbox.state.rootless:
        pytest.skip("a rootless daemon sets cgroup limits only with cgroup v2 delegation")
    (tmp_path / "Dockerfile").write_text(
        "FROM busybox:latest\n"
        "RUN cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes\n")
    sandbox.run(["pull", "-q", "busybox:latest"], check=True)
    r = sandbox.run(["build", "--no-cache", "-m", "256m", "--memory-swap", "512m", "-t", "limits-test:1",
                     str(tmp_path)])
    assert r.returncode == 0, r.stdout + r.stderr
    assert "268435456" in r.stdout, r.stdout
    sandbox.run(["rmi", "-f", "limits-test:1"])
