#!/usr/bin/env python3
"""Sandbox benchmarks: start-up times against a bare dockerd, reset, idle memory, ten side by side.

    sudo python bench/bench_sandbox.py [--quick]

Works in a throwaway DOCKERLEARN_HOME under /tmp and the machine's seed cache
(DOCKERLEARN_CACHE, by default ~/.local/state/dockerlearn/cache); destroys everything it made.
"Cold" means: a sandbox that never ran (new state directory, empty data-root), with the seed
images already built in the cache, as on every `up` after the first on a machine.
Prints figures and PASS/FAIL against the targets; asserts nothing.
"""
from __future__ import annotations

import argparse
import os
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

HOME = tempfile.mkdtemp(prefix="dlb-", dir="/tmp")
os.environ["DOCKERLEARN_HOME"] = HOME
os.environ.setdefault("DOCKERLEARN_CACHE", os.path.expanduser("~/.local/state/dockerlearn/cache"))
os.environ.pop("DOCKERLEARN_NAME", None)

from dockerlearn.sandbox import procs, seeds  # noqa: E402
from dockerlearn.sandbox.lifecycle import Sandbox  # noqa: E402
from dockerlearn.sandbox.baseline import BareDockerd  # noqa: E402

TARGETS = {"cold": 1.5, "ratio": 5.0, "warm": 0.3, "reset": 2.0, "memory": 150.0}
made: list[Sandbox] = []


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def line(label: str, value: str, target: str = "", ok=None) -> None:
    tail = f"   target {target}: {verdict(ok)}" if target else ""
    print(f"  {label:<52} {value:>14}{tail}", flush=True)


def med(xs) -> float:
    return statistics.median(xs)


def fmt_runs(xs, unit="s", digits=3) -> str:
    return ", ".join(f"{x:.{digits}f}" for x in xs) + f" {unit}"


def sandbox(name: str, debian: bool) -> Sandbox:
    sb = Sandbox(name, quiet=True, debian=debian)
    made.append(sb)
    return sb


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dockerlearn", *args], capture_output=True, text=True,
                          cwd=str(REPO))


def smaps(pid: int) -> tuple[float, float, float]:
    """(RSS, PSS, USS) in MB from /proc/PID/smaps_rollup; USS = private pages, what stopping it frees."""
    kb = {}
    for row in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        key, _, rest = row.partition(":")
        if rest.strip().endswith("kB"):
            kb[key] = int(rest.split()[0])
    return kb["Rss"] / 1024, kb["Pss"] / 1024, (kb["Private_Clean"] + kb["Private_Dirty"]) / 1024


def other_dockerds(sbs: list[Sandbox]) -> int:
    """dockerd processes on the machine besides ours: PSS shares their pages of the same binary with us."""
    ours = {sb.dockerd_pid() for sb in sbs}
    return sum(1 for e in os.listdir("/proc") if e.isdigit() and int(e) not in ours
               and procs.cmdline(int(e)).startswith("dockerd "))


def processes(sb: Sandbox) -> dict[str, int]:
    """The four long-lived processes of a running sandbox (containers excluded)."""
    st = sb.state
    found = {"dockerd": sb.dockerd_pid(), "registry": st.registry_pid, "gateway": st.gateway_pid}
    containerd = [p for p in procs.pids_matching(str(sb.paths.exec_root))
                  if procs.cmdline(p).startswith("containerd ")]
    found["containerd"] = containerd[0] if containerd else 0
    return found


def memory(sbs: list[Sandbox]) -> tuple[dict, float, float, float]:
    per: dict[str, list[tuple[float, float, float]]] = {}
    for sb in sbs:
        for role, pid in processes(sb).items():
            per.setdefault(role, []).append(smaps(pid) if pid else (0.0, 0.0, 0.0))
    rss, pss, uss = (sum(v[i] for vals in per.values() for v in vals) for i in range(3))
    return per, rss, pss, uss


def ok_run(sb: Sandbox, args: list[str], **kw) -> None:
    proc = sb.run(args, **kw)
    if proc.returncode:
        raise SystemExit(f"docker {' '.join(args)} failed: {proc.stderr}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3, help="repetitions of each cold measurement")
    ap.add_argument("--count", type=int, default=10, help="sandboxes side by side")
    args = ap.parse_args()
    runs = args.runs

    print(f"dockerlearn sandbox benchmark — {os.cpu_count()} CPUs, "
          f"{subprocess.run(['dockerd', '--version'], capture_output=True, text=True).stdout.strip()}")
    print(f"  DOCKERLEARN_HOME={HOME}  DOCKERLEARN_CACHE={os.environ['DOCKERLEARN_CACHE']}")
    t0 = time.monotonic()
    seeds.all_images(with_debian=True, progress=True)  # built once per machine; not what is measured
    print(f"  seed cache ready ({time.monotonic() - t0:.1f} s)\n")

    # ------------------------------------------------------------ baseline
    print("Baseline: bare dockerd (own data-root, exec-root, socket; --bridge=none --iptables=false), start → /_ping OK")
    bare = []
    for _ in range(runs):
        d = BareDockerd()
        try:
            bare.append(d.start())
        finally:
            d.stop()
    base = med(bare)
    line("bare dockerd start to ready (median)", f"{base:.3f} s")
    print(f"    runs: {fmt_runs(bare)}")

    # ------------------------------------------------------------ cold up
    print("\nCold up (never-run sandbox, seeds from the cache), Sandbox.up() in-process, to ready:")
    results = {}
    for label, debian in (("busybox only", False), ("busybox + debian (from cache)", True)):
        times = []
        for i in range(runs):
            sb = sandbox(f"cold-{'d' if debian else 'b'}{i}", debian)
            t = time.monotonic()
            sb.up()
            times.append(time.monotonic() - t)
            sb.destroy()
        results[label] = med(times)
        line(f"cold up, {label} (median)", f"{med(times):.3f} s", f"≤ {TARGETS['cold']} s",
             med(times) <= TARGETS["cold"])
        line("  ratio to bare dockerd", f"{med(times) / base:.2f} x", f"≤ {TARGETS['ratio']:.0f}x",
             med(times) / base <= TARGETS["ratio"])
        print(f"    runs: {fmt_runs(times)}")
    sb = sandbox("cold-cli", False)
    t = time.monotonic()
    proc = cli("up", "--name", sb.name, "--no-debian", "-q")
    took = time.monotonic() - t
    line("cold up via `python -m dockerlearn up -q --no-debian`", f"{took:.3f} s")
    if proc.returncode:
        print(proc.stderr)
    sb.down()
    t = time.monotonic()
    sb.up()
    line("restart after `down` (data kept), in-process", f"{time.monotonic() - t:.3f} s")
    sb.destroy()

    # ------------------------------------------------------------ warm up, reset, memory (one full sandbox)
    main_sb = sandbox("bench", True)
    main_sb.up()
    print("\nWarm up (everything already running):")
    warm_cli = []
    for _ in range(10):
        t = time.monotonic()
        cli("up", "--name", main_sb.name, "-q")
        warm_cli.append(time.monotonic() - t)
    line("`python -m dockerlearn up -q` (median of 10)", f"{med(warm_cli):.3f} s", f"≤ {TARGETS['warm']} s",
         med(warm_cli) <= TARGETS["warm"])
    warm_py = []
    for _ in range(100):
        t = time.monotonic()
        Sandbox(main_sb.name, quiet=True).up()
        warm_py.append(time.monotonic() - t)
    line("Sandbox(name).up() in-process (median of 100)", f"{med(warm_py) * 1000:.2f} ms", f"≤ {TARGETS['warm']} s",
         med(warm_py) <= TARGETS["warm"])

    print("\nReset (debian sandbox):")
    resets_busy, resets_idle = [], []
    ctx = Path(HOME) / "ctx"
    ctx.mkdir(exist_ok=True)
    (ctx / "Dockerfile").write_text("FROM busybox\nRUN echo hi > /f\n")
    reg = main_sb.registry_address
    for _ in range(runs):
        # A lesson's worth of state: pulls, containers, a build, a volume, a login and a push.
        for a in (["pull", "-q", "busybox"], ["pull", "-q", "debian:bookworm-slim"], ["run", "busybox", "true"],
                  ["run", "-d", "busybox", "sleep", "600"], ["build", "-q", "-t", "mine:1", str(ctx)],
                  ["volume", "create", "v1"], ["tag", "busybox", f"{reg}/mine/app:1"]):
            ok_run(main_sb, a)
        ok_run(main_sb, ["login", "-u", "student", "--password-stdin", reg], input="dockerlearn\n")
        ok_run(main_sb, ["push", f"{reg}/mine/app:1"])
        t = time.monotonic()
        main_sb.reset()
        resets_busy.append(time.monotonic() - t)
        t = time.monotonic()
        main_sb.reset()
        resets_idle.append(time.monotonic() - t)
    line("reset after a lesson's worth of state (median)", f"{med(resets_busy):.3f} s", f"≤ {TARGETS['reset']} s",
         med(resets_busy) <= TARGETS["reset"])
    print(f"    runs: {fmt_runs(resets_busy)}")
    line("reset of an already clean sandbox (median)", f"{med(resets_idle):.3f} s", f"≤ {TARGETS['reset']} s",
         med(resets_idle) <= TARGETS["reset"])

    print("\nIdle memory of one sandbox (debian seeded, after reset, 5 s idle), from /proc/PID/smaps_rollup:")
    time.sleep(5)
    per, rss, pss, uss = memory([main_sb])
    for role, [(r, p, u)] in per.items():
        line(f"{role}", f"RSS {r:6.1f}  PSS {p:6.1f}  USS {u:6.1f} MB")
    line("total", f"RSS {rss:6.1f}  PSS {pss:6.1f}  USS {uss:6.1f} MB")
    line("  total PSS", f"{pss:6.1f} MB", f"≤ {TARGETS['memory']:.0f} MB", pss <= TARGETS["memory"])
    line("  total RSS (counts shared pages in full)", f"{rss:6.1f} MB", f"≤ {TARGETS['memory']:.0f} MB",
         rss <= TARGETS["memory"])
    print(f"    PSS splits pages shared with other processes mapping the same files; {other_dockerds([main_sb])} "
          f"other dockerd process(es) ran on this machine meanwhile. USS = pages only this sandbox holds.")
    main_sb.destroy()

    # ------------------------------------------------------------ side by side
    n = args.count
    print(f"\n{n} sandboxes side by side (busybox only):")
    many = [sandbox(f"par{i:02d}", False) for i in range(n)]
    t = time.monotonic()
    with ThreadPoolExecutor(n) as pool:
        procs_ = list(pool.map(lambda sb: cli("up", "--name", sb.name, "--no-debian", "-q"), many))
    par_time = time.monotonic() - t
    failed = [sb.name for sb, p in zip(many, procs_) if p.returncode]
    ready = [sb for sb in many if sb.status().running and sb.dockerd_ready()]
    line(f"in parallel ({n} × `dockerlearn up` at once), all ready", f"{par_time:.2f} s")
    line("  ready", f"{len(ready)}/{n}", "all", len(ready) == n)
    if failed:
        print(f"    failed: {failed}: {procs_[0].stderr[-500:]}")
    socks = {sb.paths.socket for sb in many}
    ports = {p for sb in many for p in (sb.state.mirror_port, sb.state.registry_port, sb.state.backend_port)}
    line("  distinct sockets / ports", f"{len(socks)} / {len(ports)}", f"{n} / {3 * n}",
         len(socks) == n and len(ports) == 3 * n)
    t = time.monotonic()
    with ThreadPoolExecutor(n) as pool:
        pulls = list(pool.map(lambda sb: sb.run(["run", "--rm", "busybox", "echo", "ok"]).stdout, many))
    line("  `docker run --rm busybox echo ok` in each, in parallel", f"{time.monotonic() - t:.2f} s",
         "all ok", pulls == ["ok\n"] * n)
    time.sleep(3)
    per, rss, pss, uss = memory(many)
    line(f"  memory of {n} idle sandboxes, total", f"RSS {rss:6.0f}  PSS {pss:6.0f}  USS {uss:6.0f} MB")
    line("  per sandbox (PSS)", f"{pss / n:6.1f} MB", f"≤ {TARGETS['memory']:.0f} MB", pss / n <= TARGETS["memory"])
    for role, vals in per.items():
        tot = sum(v[1] for v in vals)
        print(f"    {role:<11} PSS {tot:6.1f} MB total, {tot / n:5.1f} MB each")
    t = time.monotonic()
    with ThreadPoolExecutor(n) as pool:
        list(pool.map(lambda sb: sb.destroy(), many))
    line(f"  destroy all {n}, in parallel", f"{time.monotonic() - t:.2f} s")

    t = time.monotonic()
    seq = [sandbox(f"seq{i:02d}", False) for i in range(n)]
    for sb in seq:
        sb.up()
    line(f"sequentially ({n} × Sandbox.up() in one process), all ready", f"{time.monotonic() - t:.2f} s")
    for sb in seq:
        sb.destroy()


if __name__ == "__main__":
    try:
        main()
    finally:
        for sb in made:
            try:
                sb.destroy()
            except Exception as e:  # keep cleaning the others
                print(f"destroy {sb.name}: {e}", file=sys.stderr)
        shutil.rmtree(HOME, ignore_errors=True)
        print("\ncleaned up: every benchmark sandbox destroyed, throwaway home removed")
