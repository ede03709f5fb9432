"""Check latency (click → verdict) and the time to execute the pilot notebook.

Run as root: python bench/bench_checks.py
Baseline in the same run: a bare Docker API ping through the same client, so the figure
shows what the check itself adds.
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DOCKERLEARN_CACHE", str(Path.home() / ".local/state/dockerlearn/cache"))
os.environ["DOCKERLEARN_HOME"] = tempfile.mkdtemp(prefix="dlb-", dir="/tmp")

from dockerlearn.checks import run_check  # noqa: E402
from dockerlearn.sandbox.lifecycle import Sandbox  # noqa: E402

TARGET_MS = 30.0


def median_ms(fn, n=50) -> float:
    fn()  # warm: first SDK call negotiates the API version
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples)


def main() -> int:
    sb = Sandbox("bench", quiet=True)
    try:
        sb.up()
        sb.run(["pull", "-q", "busybox:latest"], check=True)
        ping = median_ms(lambda: sb.client().ping())
        failing = median_ms(lambda: run_check("tag.add-tag", sb))
        sb.run(["tag", "busybox:latest", "mybusybox:v1"], check=True)
        passing = median_ms(lambda: run_check("tag.add-tag", sb))
        registry = median_ms(lambda: run_check("tag.registry-name", sb))
        print(f"API ping (baseline)            {ping:7.1f} ms")
        for label, ms in (("check tag.add-tag, failing", failing), ("check tag.add-tag, passing", passing),
                          ("check tag.registry-name", registry)):
            verdict = "PASS" if ms <= TARGET_MS else "FAIL"
            print(f"{label:30s} {ms:7.1f} ms  ({ms / ping:4.1f}x ping)  target ≤ {TARGET_MS:.0f} ms: {verdict}")

        from dockerlearn.course.notebook_builder import execute, render
        from dockerlearn.course.lessonfile import LESSONS_DIR, parse
        os.environ.update(sb.full_env())
        sb.reset()
        t = time.perf_counter()
        execute(render(parse(LESSONS_DIR / "02-tag.md")), sb)
        print(f"execute notebooks/02-tag (fresh sandbox, new kernel)  {time.perf_counter() - t:6.1f} s")
    finally:
        sb.destroy()
    return 0


if __name__ == "__main__":
    sys.exit(main())
