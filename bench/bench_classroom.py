"""Classroom bench: N students log in to one JupyterHub at the same moment.

Prints the time until every student's server (JupyterLab, with their own rootless sandbox
started first) answers, and the memory (PSS) of each student's processes and in total.
Real logins over HTTP (the hub's login form, PAM), real spawns, on 127.0.0.1 only.

    sudo .venv/bin/python bench/bench_classroom.py [--students 30]

It makes Unix accounts dlbench-sNN and a teacher dlbench-t, and removes them at the end.
"""
from __future__ import annotations

import argparse
import http.cookiejar
import os
import pwd
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from dockerlearn.sandbox import procs  # noqa: E402


def pss_of_user(uid: int) -> float:
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.stat(f"/proc/{entry}").st_uid != uid:
                continue
            for row in Path(f"/proc/{entry}/smaps_rollup").read_text().splitlines():
                if row.startswith("Pss:"):
                    total += int(row.split()[1])
        except OSError:
            pass
    return total / 1024


def remove(users: list[str]) -> None:
    for user in users:
        try:
            pwd.getpwnam(user)
        except KeyError:
            continue
        subprocess.run(["runuser", "-u", user, "--", sys.executable, "-m", "dockerlearn", "destroy", "--name", "default"],
                       capture_output=True, cwd="/")
        subprocess.run(["pkill", "-KILL", "-u", user], capture_output=True)
        time.sleep(0.1)
        subprocess.run(["userdel", "--remove", user], capture_output=True)


def login_and_wait(base: str, user: str, password: str, results: dict, t0: float) -> None:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    try:
        opener.open(f"{base}/hub/login", timeout=30).read()
        xsrf = next(c.value for c in jar if c.name == "_xsrf")
        form = urllib.parse.urlencode({"username": user, "password": password, "_xsrf": xsrf}).encode()
        opener.open(f"{base}/hub/login?next=", data=form, timeout=300).read()  # follows to spawn-pending
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            try:
                # The student's own page, through the OAuth redirects a browser would follow.
                with opener.open(f"{base}/user/{user}/lab", timeout=30) as resp:
                    if resp.status == 200 and f"/user/{user}/lab" in resp.geturl():
                        results[user] = time.monotonic() - t0
                        return
            except OSError:
                pass
            time.sleep(1)
        results[user] = None
    except (OSError, StopIteration) as e:
        results[user] = None
        print(f"  {user}: {e}", file=sys.stderr)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--students", type=int, default=30)
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: the bench makes Unix accounts")
    students = [f"dlbench-s{i:02d}" for i in range(1, args.students + 1)]
    teacher = "dlbench-t"
    remove([*students, teacher])
    work = Path(tempfile.mkdtemp(prefix="dl-bench-class-"))
    (work / "roster.csv").write_text("id,last_name,first_name,email\n"
                                     + "".join(f"{s},学生,{s[-2:]},{s}@example.com\n" for s in students))
    base_port = procs.free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKERLEARN_")}
    hub = None
    try:
        t = time.monotonic()
        subprocess.run([sys.executable, "-m", "dockerlearn", "classroom", str(work / "roster.csv"), "--teacher", teacher,
                        "--dir", str(work / "class"), "--port", str(base_port), "--setup-only"],
                       check=True, env=env, capture_output=True)
        setup_s = time.monotonic() - t
        passwords = dict(l.split(",", 1) for l in (work / "class" / "initial-passwords.csv").read_text().splitlines())
        log = open(work / "hub.log", "w")
        hub = subprocess.Popen([sys.executable, "-m", "jupyterhub", "-f", str(work / "class" / "jupyterhub_config.py")],
                               cwd=work / "class", env=env, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{base_port}"
        procs.wait_until(lambda: procs.url_ready(f"{base}/hub/api"), what="JupyterHub", timeout=120,
                         log=work / "hub.log", proc=hub)
        results: dict = {}
        t0 = time.monotonic()
        threads = [threading.Thread(target=login_and_wait, args=(base, s, passwords[s], results, t0)) for s in students]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        ready = [v for v in results.values() if v is not None]
        time.sleep(5)  # let the servers settle before measuring memory
        per = [pss_of_user(pwd.getpwnam(s).pw_uid) for s in students]
        print(f"dockerlearn classroom bench: {len(students)} students log in at once (one JupyterHub, PAM, "
              f"LocalProcessSpawner, a rootless sandbox each)")
        print(f"  accounts and hub config (dockerlearn classroom --setup-only): {setup_s:.1f} s")
        print(f"  servers ready: {len(ready)}/{len(students)}")
        if ready:
            print(f"  time until the first / median / last server answered: "
                  f"{min(ready):.1f} / {statistics.median(ready):.1f} / {max(ready):.1f} s")
        print(f"  memory (PSS) per student: median {statistics.median(per):.0f} MB, max {max(per):.0f} MB")
        print(f"  memory (PSS) of all students: {sum(per):.0f} MB; the hub, proxy and dashboard (root): not included")
    finally:
        if hub:
            hub.terminate()
            try:
                hub.wait(120)
            except subprocess.TimeoutExpired:
                hub.kill()
        remove([*students, teacher])


if __name__ == "__main__":
    main()
