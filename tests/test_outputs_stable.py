"""What keeps saved notebook outputs from drifting between machines (pure: no daemon)."""
from __future__ import annotations

import re
from types import SimpleNamespace

from nbval.plugin import get_sanitize_patterns

from dockerlearn.course.notebook_builder import REPO_ROOT, SHOWN_ROOT, scrub
from dockerlearn.sandbox.seeds import debian_point_release

SANITIZE = get_sanitize_patterns((REPO_ROOT / "tests" / "nbval_sanitize.cfg").read_text())


def sanitize(text: str) -> str:
    for regex, replacement in SANITIZE:
        text = re.sub(regex, replacement, text)
    return text


def test_debian_point_release_comes_from_the_seeds():
    seeded = {"debian:bookworm": "a", "debian:12": "a", "debian:12.9": "a", "debian:12.9-slim": "b",
              "busybox:1.35": "c"}
    assert debian_point_release(seeded) == "12.9"
    assert debian_point_release({"busybox:latest": "c"}) == ""


def test_scrub_drops_colours_machine_warnings_and_build_host_paths():
    sb = SimpleNamespace(paths=SimpleNamespace(root="/root/.local/state/dockerlearn/sandboxes/build"))
    raw = ("\x1b[91mE\x1b[0m: Unable to locate package\n"
           "WARNING: IPv4 forwarding is disabled. Networking will not work.\n"
           " ---> [Warning] IPv4 forwarding is disabled. Networking will not work.\n"
           " ---> Running in 0123456789ab\n"
           '"UpperDir": "/root/.local/state/dockerlearn/sandboxes/build/data/overlay2/x/diff"\n')
    out = scrub(raw, sb)
    assert "\x1b" not in out and "IPv4" not in out and "/root/" not in out
    assert out.startswith("E: Unable to locate package\n ---> Running in")
    assert f'"UpperDir": "{SHOWN_ROOT}/data/overlay2/x/diff"' in out


def test_sanitizers_equate_what_varies_between_machines():
    a = ("Ign:1 http://deb.debian.org/debian bookworm InRelease\nErr:1 x\n"
         'time="2026-11-29T08:59:01Z" level=error msg="error waiting for container: context canceled"\n'
         "运行失败，退出码 127\n"
         "WARNING: IPv4 forwarding is disabled. Networking will not work.\n"
         "0123456789ab: Pushed\ndebian:12.9-slim\n/tmp/dlt-abc/sandboxes/pytest/docker-config\n")
    b = ("Ign:1 http://deb.debian.org/debian bookworm InRelease\nIgn:1 http://deb.debian.org/debian bookworm InRelease\n"
         "Err:1 x\n运行失败，退出码 127\nba9876543210: Layer already exists\ndebian:12.15-slim\n"
         f"{SHOWN_ROOT}/docker-config\n")
    assert sanitize(a) == sanitize(b)


def test_sanitizers_keep_what_a_lesson_is_about():
    # A changed verdict, tag, exit code or message must still fail nbval.
    for a, b in [("Untagged: busybox:latest\n", "Deleted: busybox:latest\n"),
                 ("debian:12.9-slim\n", "debian:12.9\n"),
                 ("（命令失败，退出码 exit code 1）\n", ""),
                 ("unknown flag: --platform\n", "requires API version 1.46\n"),
                 ("v1: digest: sha256:" + "a" * 64 + " size: 527\n", "unsupported: the mirror is read-only\n")]:
        assert sanitize(a) != sanitize(b), (a, b)


def test_the_build_sandboxs_password_never_reaches_a_notebook():
    from base64 import b64encode
    pw = "Zq3_rT9-kLm2Xy7w"
    sb = SimpleNamespace(paths=SimpleNamespace(root="/r"), state=SimpleNamespace(student_password=pw))
    raw = f'"auth": "{b64encode(f"student:{pw}".encode()).decode()}"\nstudent:{pw}\n'
    out = scrub(raw, sb)
    assert pw not in out and b64encode(f"student:{pw}".encode()).decode() not in out
    assert sanitize(out) == sanitize(raw) == '"auth": "AUTH"\nstudent:PASSWORD\n'
