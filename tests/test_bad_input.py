"""Bad input on the command line: a Chinese message with the English term, a non-zero exit code,
no traceback, and nothing of the learner's lost. No daemon is started here."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from dockerlearn.errors import BadName
from dockerlearn.paths import SandboxPaths, check_name
from dockerlearn.learner_progress import ProgressDB

REPO = Path(__file__).resolve().parent.parent


def run(*args, env=None, cwd=None):
    return subprocess.run([sys.executable, "-m", "dockerlearn", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, cwd=cwd or REPO, timeout=120)


def clean_error(proc, *texts):
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "Traceback" not in out, out
    assert "错误：" in proc.stderr, out
    for t in texts:
        assert t in proc.stderr, out


@pytest.fixture
def home(tmp_path):
    """A home with one learner's progress in it."""
    h = tmp_path / "home"
    ProgressDB(h / "progress" / "alice.sqlite", "alice").record("tag.add-tag", True)
    return h


def test_name_with_a_trailing_newline_is_refused():
    with pytest.raises(BadName):
        check_name("alice\n")
    assert check_name("alice") == "alice"


def test_socket_limit_counts_bytes_not_characters(tmp_path, monkeypatch):
    # 33 Chinese characters are 99 bytes in UTF-8: under 108 characters, over 108 bytes.
    monkeypatch.setenv("DOCKERLEARN_HOME", str(tmp_path / ("沙" * 33)))
    with pytest.raises(BadName) as err:
        SandboxPaths.for_name("alice").ensure()
    assert "108 字节" in err.value.render()


@pytest.mark.parametrize("target", ["missing-dir/out.csv", "."], ids=["missing-dir", "a-directory"])
def test_progress_output_that_cannot_be_written(home, tmp_path, target):
    proc = run("progress", "--name", "alice", "--format", "csv", "-o", str(tmp_path / target),
               env={"DOCKERLEARN_HOME": str(home)})
    clean_error(proc, "无法写入", "cannot write output file")


def test_progress_table_goes_to_the_output_file_too(home, tmp_path):
    out = tmp_path / "alice.txt"
    proc = run("progress", "--name", "alice", "-o", str(out), env={"DOCKERLEARN_HOME": str(home)})
    assert proc.returncode == 0, proc.stderr
    assert "tag.add-tag" in out.read_text() and "✅" in out.read_text() and proc.stdout == ""


def test_progress_name_cannot_leave_the_home(home, tmp_path):
    proc = run("progress", "--name", "../../x", "--format", "csv", env={"DOCKERLEARN_HOME": str(home)})
    clean_error(proc, "invalid sandbox name")
    assert not list(tmp_path.rglob("x.sqlite")) and not (home.parent.parent / "x.sqlite").exists()


def test_progress_of_a_mistyped_name_says_so(home):
    proc = run("progress", "--name", "alcie", "--format", "csv", env={"DOCKERLEARN_HOME": str(home)})
    clean_error(proc, "alcie", "no progress recorded", "alice")


def test_env_for_a_missing_sandbox_fails_and_creates_nothing(tmp_path):
    h = tmp_path / "home"
    proc = run("env", "--name", "ghost", env={"DOCKERLEARN_HOME": str(h)})
    clean_error(proc, "还不存在", "no such sandbox")
    assert not (h / "sandboxes" / "ghost").exists()


@pytest.mark.parametrize("kind", ["a-file", "read-only"])
def test_home_that_cannot_hold_a_sandbox(tmp_path, kind):
    if os.geteuid() == 0 and kind == "read-only":
        pytest.skip("root writes through read-only permissions")
    h = tmp_path / "home"
    if kind == "a-file":
        h.write_text("not a folder")
    else:
        h.mkdir(mode=0o500)
    proc = run("up", "--name", "x", "--no-debian", env={"DOCKERLEARN_HOME": str(h)})
    clean_error(proc, "dockerlearn home not usable", "DOCKERLEARN_HOME")


def test_a_closed_pipe_ends_quietly():
    """`dockerlearn exercises | head -1`: the reader stops early; no 'Broken pipe' error, no traceback."""
    import subprocess
    import sys
    proc = subprocess.Popen([sys.executable, "-m", "dockerlearn", "exercises"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.close()  # before the command writes anything
    err = proc.stderr.read().decode()
    assert proc.wait() == 141 and err == "", err
