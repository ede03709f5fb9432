#!/usr/bin/env python3
"""Rootless mode and root mode side by side, in one run, through the `dockerlearn` command.

    sudo .venv/bin/python bench/bench_modes.py [--users 30] [--runs 3]

For each mode: cold `up` (a new sandbox, seeds already in the cache), warm `up`, `reset` after a
small lesson (debian pulled, a container run, an image built and pushed), `down` with a running
container, the idle memory (PSS) of one sandbox; then N sandboxes of N Unix users started
together (rootless), against N sandboxes of root (root mode): the time until all are ready and
their total memory. Root mode is the baseline: ratios are rootless / root.
Creates the users dlbench01… (kept) and throwaway homes; destroys every sandbox it made.
Prints figures, and the issue's targets beside the two that have one (reset after a lesson and
down with a running container, 2 s each): it exits 1 when a median misses its target.
"""
from __future__ import annotations

import argparse
import os
import pwd
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from dockerlearn.sandbox import rootless  # noqa: E402

PY = sys.executable
TARGETS = {"reset after a lesson (s)": 2.0, "down, a container running (s)": 2.0}  # issue 9
LESSON = """
docker pull -q debian:bookworm-slim >/dev/null
docker pull -q busybox >/dev/null
docker run --rm debian:bookworm-slim true 2>/dev/null
mkdir -p "$DOCKERLEARN_WORK/b" && printf 'FROM busybox\\nRUN echo x > /x\\n' > "$DOCKERLEARN_WORK/b/Dockerfile"
docker build -q -t lesson:1 "$DOCKERLEARN_WORK/b" >/dev/null 2>&1
echo "$REGISTRY_PASSWORD" | docker login -u student --password-stdin "$REGISTRY" >/dev/null 2>&1
docker tag lesson:1 "$REGISTRY/s/lesson:1" && docker push -q "$REGISTRY/s/lesson:1" >/dev/null
"""


class Mode:
    """How to run `dockerlearn` as root (root mode) or as an ordinary user (rootless mode)."""

    def __init__(self, user: str | None):
        self.user = user
        self.home = Path(tempfile.mkdtemp(prefix="dlbm-", dir="/tmp"))
        if user:
            info = pwd.getpwnam(user)
            os.chown(self.home, info.pw_uid, info.pw_gid)
            self.name = "rootless"
        else:
            self.name = "root"

    def argv(self, script: str) -> list[str]:
        env = [f"DOCKERLEARN_HOME={self.home}", "LANG=C.UTF-8", f"DLPY={PY}",
               f"PATH={Path(PY).parent}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"]
        prelude = 'dl() { "$DLPY" -m dockerlearn "$@"; }; '
        if self.user:
            home = pwd.getpwnam(self.user).pw_dir
            return ["runuser", "-u", self.user, "--", "env", "-i", f"HOME={home}", f"USER={self.user}", *env,
                    "bash", "-c", prelude + script]
        return ["env", "-i", "HOME=/root", *env, f"DOCKERLEARN_CACHE={Path.home() / '.local/state/dockerlearn/cache'}",
                "bash", "-c", prelude + script]

    def sh(self, script: str, check: bool = True) -> float:
        t0 = time.perf_counter()
        r = subprocess.run(self.argv(script), capture_output=True, text=True, cwd="/", timeout=600)
        took = time.perf_counter() - t0
        if check and r.returncode:
            raise SystemExit(f"[{self.name}] failed ({r.returncode}): {script}\n{r.stdout}\n{r.stderr}")
        return took

    def cleanup(self) -> None:
        for root in sorted((self.home / "sandboxes").glob("*")) if (self.home / "sandboxes").exists() else []:
            self.sh(f"dl destroy --name {root.name} >/dev/null", check=False)
        shutil.rmtree(self.home, ignore_errors=True)


def pss_of(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for row in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if row.startswith("Pss:"):
                    total += int(row.split()[1])
        except OSError:
            pass
    return total / 1024


def sandbox_pids(home: Path) -> list[int]:
    """Every process of the sandboxes under home: the services by their paths, and their descendants."""
    parents: dict[int, int] = {}
    roots = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        try:
            parents[pid] = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
            if str(home) in Path(f"/proc/{pid}/cmdline").read_bytes().decode("utf-8", "replace"):
                roots.append(pid)
        except (OSError, IndexError, ValueError):
            pass
    found = set(roots)
    changed = True
    while changed:
        changed = False
        for pid, ppid in parents.items():
            if ppid in found and pid not in found:
                found.add(pid)
                changed = True
    return sorted(found)


def med(xs: list[float]) -> float:
    return statistics.median(xs)


def single(mode: Mode, runs: int) -> dict[str, float]:
    mode.sh("dl prepare >/dev/null 2>&1")  # seeds in the cache: not part of any figure
    cold = [mode.sh(f"dl up -q --name cold{i}") for i in range(runs)]
    for i in range(runs):
        mode.sh(f"dl destroy --name cold{i} >/dev/null")
    mode.sh("dl up -q --name main")
    warm = [mode.sh("dl up -q --name main") for _ in range(runs + 2)]
    resets, downs = [], []
    for _ in range(runs):
        mode.sh(f'eval "$(dl env --name main)"; {LESSON}', check=False)
        resets.append(mode.sh("dl reset --name main >/dev/null"))
    time.sleep(1)
    memory = pss_of(sandbox_pids(mode.home))
    for _ in range(runs):
        mode.sh('eval "$(dl env --name main)"; docker run -d busybox sleep 1000 >/dev/null 2>&1')
        downs.append(mode.sh("dl down --name main >/dev/null"))
        mode.sh("dl up -q --name main")
    mode.sh("dl destroy --name main >/dev/null")
    return {"cold up (s)": med(cold), "warm up (s)": med(warm), "reset after a lesson (s)": med(resets),
            "down, a container running (s)": med(downs), "idle PSS of one sandbox (MB)": memory}


def crowd(modes: dict[str, list[Mode]]) -> dict[str, dict[str, float]]:
    out = {}
    for name, ms in modes.items():
        for i, m in enumerate(ms):
            m.sh("dl prepare --no-debian >/dev/null 2>&1")
        t0 = time.perf_counter()
        with ThreadPoolExecutor(max_workers=len(ms)) as pool:
            list(pool.map(lambda im: im[1].sh(f"dl up -q --no-debian --name c{im[0]:02d}"), enumerate(ms)))
        took = time.perf_counter() - t0
        time.sleep(1)
        memory = sum(pss_of(sandbox_pids(m.home)) for m in ms)
        for i, m in enumerate(ms):
            m.sh(f"dl destroy --name c{i:02d} >/dev/null", check=False)
        out[name] = {"all ready (s)": took, "total PSS (MB)": memory, "PSS per sandbox (MB)": memory / len(ms)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=30)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root: it creates the bench users")
    rootless.provision_user("dlbench00")
    modes = {"root": Mode(None), "rootless": Mode("dlbench00")}
    crowds: dict[str, list[Mode]] = {"root": [], "rootless": []}
    try:
        print(f"dockerlearn bench: rootless vs root mode, {args.runs} runs each (median)", flush=True)
        figures = {name: single(m, args.runs) for name, m in modes.items()}
        print(f"  {'figure':<34} {'root (baseline)':>16} {'rootless':>10} {'ratio':>7}  target")
        missed = []
        for key in figures["root"]:
            r, u = figures["root"][key], figures["rootless"][key]
            target = TARGETS.get(key)
            verdict = "" if target is None else (f"  ≤ {target:g} ok" if max(r, u) <= target else f"  ≤ {target:g} MISSED")
            if target is not None and max(r, u) > target:
                missed.append(key)
            print(f"  {key:<34} {r:>16.3f} {u:>10.3f} {u / r if r else float('nan'):>7.2f}{verdict}", flush=True)
        for i in range(1, args.users + 1):
            rootless.provision_user(f"dlbench{i:02d}")
        crowds["root"] = [Mode(None) for _ in range(args.users)]
        crowds["rootless"] = [Mode(f"dlbench{i:02d}") for i in range(1, args.users + 1)]
        result = crowd(crowds)
        print(f"\n  {args.users} sandboxes started together (busybox seeds only):")
        print(f"  {'figure':<34} {'root (baseline)':>16} {'rootless':>10} {'ratio':>7}")
        for key in result["root"]:
            r, u = result["root"][key], result["rootless"][key]
            print(f"  {key:<34} {r:>16.2f} {u:>10.2f} {u / r if r else float('nan'):>7.2f}", flush=True)
        print("  (rootless: one Unix user per sandbox; root: one root sandbox per student, same machine)")
    finally:
        for m in [*modes.values(), *crowds["root"], *crowds["rootless"]]:
            m.cleanup()
    if missed:
        raise SystemExit(f"missed the target: {', '.join(missed)}")


if __name__ == "__main__":
    main()
