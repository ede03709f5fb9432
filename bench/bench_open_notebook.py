"""How long a learner waits after opening a notebook: from the click (page load of the notebook's
URL) to a usable page (cells shown and the kernel idle, so Shift+Enter runs at once).

A real `dockerlearn lab` setup (lab.prepare: self-loading kernels, Chinese interface) on
127.0.0.1, Debian's chromium through Playwright, every lesson opened RUNS times in a fresh tab.

    sudo .venv/bin/python bench/bench_open_notebook.py [--runs 3]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("DOCKERLEARN_HOME", tempfile.mkdtemp(prefix="dl-bench-open-", dir="/tmp"))

from dockerlearn.sandbox import procs  # noqa: E402
from dockerlearn.lab import learner_notebooks, prepare  # noqa: E402
from dockerlearn.sandbox.procs import free_port  # noqa: E402
from dockerlearn.sandbox.lifecycle import Sandbox  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-default-apps", "--disable-extensions"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright
    sb = Sandbox("bench-open", quiet=True)
    sb.up()
    notebooks = learner_notebooks(sb)
    config, env = prepare(sb, notebooks)
    port, token = free_port(), "bench"
    argv = [sys.executable, "-m", "jupyter", "lab", f"--config={config}", f"--notebook-dir={notebooks}",
            "--ServerApp.ip=127.0.0.1", f"--port={port}", "--no-browser", f"--IdentityProvider.token={token}"]
    if os.geteuid() == 0:
        argv.append("--allow-root")
    log = open(Path(os.environ["DOCKERLEARN_HOME"]) / "lab.log", "w")
    lab = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=notebooks)
    base = f"http://127.0.0.1:{port}"
    times: dict[str, list[float]] = {}
    try:
        procs.wait_until(lambda: procs.url_ready(f"{base}/api/status?token={token}"), what="JupyterLab",
                         timeout=120, log=Path(os.environ["DOCKERLEARN_HOME"]) / "lab.log", proc=lab)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            ctx = browser.new_context(viewport={"width": 1280, "height": 900})
            ctx.new_page().goto(f"{base}/lab?token={token}")  # log in once, as a learner would
            for run in range(args.runs):
                for nb in sorted(notebooks.glob("*.ipynb")):
                    page = ctx.new_page()
                    t0 = time.monotonic()
                    page.goto(f"{base}/lab/tree/{nb.name}?reset")
                    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
                    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=120_000)
                    times.setdefault(nb.stem, []).append(time.monotonic() - t0)
                    page.close()
            browser.close()
    finally:
        lab.terminate()
        lab.wait(30)
        sb.destroy()
    everything = [t for ts in times.values() for t in ts]
    print(f"dockerlearn bench: opening a notebook until it is usable (cells shown, kernel idle), "
          f"{args.runs} runs of {len(times)} notebooks")
    for name, ts in times.items():
        print(f"  {name:22s} median {statistics.median(ts):5.2f} s   max {max(ts):5.2f} s")
    print(f"  all notebooks: median {statistics.median(everything):.2f} s, "
          f"90th percentile {sorted(everything)[int(len(everything) * 0.9) - 1]:.2f} s, max {max(everything):.2f} s")


if __name__ == "__main__":
    main()
