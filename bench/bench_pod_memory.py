#!/usr/bin/env python3
"""What one student costs in memory: a sandbox, a JupyterLab server and one kernel that has run a check.

    sudo python bench/bench_pod_memory.py

The figure behind deploy/k8s/README.md's cost per student. In a Kubernetes pod nothing is shared
with other students' processes except the node's page cache, so RSS (not PSS) is what the pod's
memory request has to cover; PSS and USS are printed beside it. Works in a throwaway
DOCKERLEARN_HOME and the machine's seed cache; destroys what it made.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

# bench_sandbox sets up the throwaway DOCKERLEARN_HOME (and the cache) when it is imported.
from bench_sandbox import HOME, smaps  # noqa: E402
from dockerlearn.cli import lab_argv  # noqa: E402
from dockerlearn.lab import learner_notebooks  # noqa: E402
from dockerlearn.sandbox.lifecycle import Sandbox  # noqa: E402

KERNEL_CODE = 'from dockerlearn import check\n%load_ext dockerlearn\n%docker pull busybox\ncheck("tag.add-tag")'


def tree_smaps(pid: int) -> tuple[float, float, float]:
    """RSS, PSS, USS of a process and its descendants (jupyter's kernels are children)."""
    pids, frontier = [pid], [pid]
    while frontier:
        parent = frontier.pop()
        try:
            kids = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
        except OSError:
            kids = []
        pids += [int(k) for k in kids]
        frontier += [int(k) for k in kids]
    totals = [0.0, 0.0, 0.0]
    for p in pids:
        try:
            for i, v in enumerate(smaps(p)):
                totals[i] += v
        except (OSError, KeyError):
            pass
    return tuple(totals)  # type: ignore[return-value]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    sb = Sandbox("pod", quiet=True)
    lab = None
    try:
        t0 = time.monotonic()
        sb.up()
        print(f"sandbox up (debian seeded): {time.monotonic() - t0:.2f} s")
        from jupyter_client.manager import start_new_kernel
        km, kc = start_new_kernel(kernel_name="python3", env=sb.full_env(), cwd=str(sb.work_dir))
        reply = kc.execute_interactive(KERNEL_CODE, timeout=120, output_hook=lambda msg: None)
        content = reply["content"]
        print(f"kernel ran a check: {content['status']} {content.get('ename', '')} {content.get('evalue', '')}")
        port = free_port()
        argv = lab_argv(learner_notebooks(sb), port, no_browser=True) + ["--IdentityProvider.token=bench"]
        lab = subprocess.Popen(argv, env=sb.full_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(120):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token=bench", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        time.sleep(5)  # idle, as a student reading a lesson
        st = sb.state
        rows = [("dockerd + containerd (+ shims)", *tree_smaps(sb.dockerd_pid())),
                ("registry", *tree_smaps(st.registry_pid)), ("gateway", *tree_smaps(st.gateway_pid))]
        rss, pss, uss = (sum(row[i] for row in rows) for i in (1, 2, 3))
        rows.append(("jupyter lab server", *tree_smaps(lab.pid)))
        rows.append(("kernel (after %load_ext + check)", *tree_smaps(km.provisioner.process.pid)))
        print(f"{'process':36s} {'RSS':>8s} {'PSS':>8s} {'USS':>8s}  (MB)")
        for role, r, p, u in rows:
            print(f"{role:36s} {r:8.1f} {p:8.1f} {u:8.1f}")
        tr, tp, tu = (sum(row[i] for row in rows) for i in (1, 2, 3))
        print(f"{'one student, total':36s} {tr:8.1f} {tp:8.1f} {tu:8.1f}")
        print(f"  (the sandbox alone: RSS {rss:.1f}, PSS {pss:.1f}, USS {uss:.1f}; mode: "
              f"{'root' if os.geteuid() == 0 else 'rootless'})")
        du = subprocess.run(["du", "-sm", str(sb.paths.root)], capture_output=True, text=True).stdout.split()[0]
        print(f"disk: the sandbox's state directory (data-root, registry, notebooks) holds {du} MB")
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    finally:
        if lab:
            lab.terminate()
            lab.wait(timeout=30)
        sb.destroy()
        shutil.rmtree(HOME, ignore_errors=True)


if __name__ == "__main__":
    main()
