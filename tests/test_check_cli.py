"""`dockerlearn check`, `exercises` and `progress` on the command line, with their bad inputs."""
from __future__ import annotations

import json
import subprocess
import sys
import threading

import pytest

from dockerlearn.checks import run_check
from dockerlearn.learner_progress import ProgressDB


def cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "dockerlearn", *args], capture_output=True, text=True, **kw)


def test_unknown_exercise_lists_the_closest_ids():
    r = cli("check", "tag.ad-tag")
    assert r.returncode == 2
    assert "没有编号为 'tag.ad-tag' 的练习" in r.stderr and "tag.add-tag" in r.stderr
    assert "Traceback" not in r.stderr


def test_exercises_lists_every_id():
    r = cli("exercises")
    assert r.returncode == 0 and "tag.add-tag" in r.stdout and "tag.registry-name" in r.stdout


def test_check_on_a_stopped_sandbox_says_how_to_start_it():
    r = cli("check", "tag.add-tag", "--name", "never-started")
    assert r.returncode == 1
    assert "没有在运行" in r.stdout and "dockerlearn up --name never-started" in r.stdout
    assert "Traceback" not in r.stdout + r.stderr


@pytest.mark.daemon
def test_check_verdicts_and_progress_export(fresh_sandbox):
    name = fresh_sandbox.name
    r = cli("check", "tag.add-tag", "--name", name)
    assert r.returncode == 1 and "❌" in r.stdout and "没有找到标签 mybusybox:v1" in r.stdout
    fresh_sandbox.run(["pull", "-q", "busybox:latest"], check=True)
    fresh_sandbox.run(["tag", "busybox", "mybusybox:v1"], check=True)
    r = cli("check", "tag.add-tag", "--name", name)
    assert r.returncode == 0 and "✅" in r.stdout
    data = json.loads(cli("progress", "--name", name, "--format", "json").stdout)
    row = next(x for x in data if x["exercise_id"] == "tag.add-tag")
    assert row["passed"] and row["tries"] >= 2 and row["first_pass"]
    assert "tag.add-tag" in cli("progress", "--name", name).stdout
    # Progress outlives a reset of the sandbox.
    fresh_sandbox.reset()
    assert ProgressDB.for_sandbox(name).rows(["tag.add-tag"])[0].passed


@pytest.mark.daemon
def test_wrong_target_names_the_image(fresh_sandbox):
    fresh_sandbox.run(["pull", "-q", "busybox:latest"], check=True)
    fresh_sandbox.run(["pull", "-q", "debian:bookworm-slim"], check=True)
    fresh_sandbox.run(["tag", "debian:bookworm-slim", "mybusybox:v1"], check=True)
    v = run_check("tag.add-tag", fresh_sandbox, record=False)
    assert not v.ok and v.message == "标签 mybusybox:v1 指向的镜像不是 busybox:latest"


@pytest.mark.daemon
def test_two_checks_at_once_are_both_right_and_both_recorded(fresh_sandbox):
    fresh_sandbox.run(["pull", "-q", "busybox:latest"], check=True)
    fresh_sandbox.run(["tag", "busybox", "mybusybox:v1"], check=True)
    db = ProgressDB.for_sandbox(fresh_sandbox.name)
    before = {r.exercise_id: r.tries for r in db.rows(["tag.add-tag", "tag.registry-name"])}
    results = {}

    def go(ex_id):
        results[ex_id] = run_check(ex_id, fresh_sandbox)

    threads = [threading.Thread(target=go, args=(e,)) for e in ("tag.add-tag", "tag.registry-name")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results["tag.add-tag"].ok and not results["tag.registry-name"].ok
    after = {r.exercise_id: r.tries for r in db.rows(["tag.add-tag", "tag.registry-name"])}
    assert after["tag.add-tag"] == before["tag.add-tag"] + 1
    assert after["tag.registry-name"] == before["tag.registry-name"] + 1


@pytest.mark.daemon
def test_verdict_is_shown_when_progress_cannot_be_saved(fresh_sandbox):
    """The progress DB is a directory (or immutable, or on a full disk): the check still answers."""
    db = ProgressDB.for_sandbox(fresh_sandbox.name)
    aside = db.path.with_name(db.path.name + ".aside")
    if db.path.exists():
        db.path.rename(aside)
    db.path.mkdir(parents=True)
    try:
        r = cli("check", "tag.add-tag", "--name", fresh_sandbox.name)
        assert r.returncode == 1 and "❌" in r.stdout and "没有找到标签 mybusybox:v1" in r.stdout
        assert "没有保存" in r.stdout and "Traceback" not in r.stdout + r.stderr
    finally:
        db.path.rmdir()
        if aside.exists():
            aside.rename(db.path)
