"""The one error boundary (errors.as_error): docker, requests, subprocess, course and OS errors
reach the learner as a Chinese message with the English term, by every route: the command line,
a check's verdict and the notebook. Only a real bug shows a traceback."""
from __future__ import annotations

import os
import subprocess
import sys
from types import SimpleNamespace

import docker
import docker.errors
import pytest
import requests

from dockerlearn import checks, cli
from dockerlearn.errors import (CommandFailed, DockerError, DockerlearnError, LessonFormatError, SandboxDown,
                                as_error, docker_error_kind)
from dockerlearn.course.lessonfile import parse

NO_SOCKET = "unix:///nonexistent/dockerlearn-test.sock"


def _called_process_error() -> subprocess.CalledProcessError:
    try:
        subprocess.run(["sh", "-c", "echo 'no space left on device' >&2; exit 3"], check=True, capture_output=True)
    except subprocess.CalledProcessError as e:
        return e
    raise AssertionError("sh did not fail")


def _connection_error() -> requests.exceptions.ConnectionError:
    client = docker.DockerClient(base_url=NO_SOCKET, version="1.41")  # no request until used
    try:
        client.api.inspect_image("busybox")
    except requests.exceptions.ConnectionError as e:
        return e
    raise AssertionError("a missing socket answered")


def _lesson_format_error(tmp_path) -> LessonFormatError:
    bad = tmp_path / "99-bad.md"
    bad.write_text("no front matter\n")
    with pytest.raises(LessonFormatError) as info:
        parse(bad)
    return info.value


def _api_error(status: int, explanation: str) -> docker.errors.APIError:
    response = requests.Response()
    response.status_code = status
    return docker.errors.APIError(f"{status} Server Error", response=response, explanation=explanation)


def test_docker_error_kinds():
    assert docker_error_kind(_api_error(404, "No such image: x:1")) == "missing"
    assert docker_error_kind(_api_error(400, "invalid reference format")) == "missing"
    assert docker_error_kind(_api_error(500, "unrecognized image ID sha256:ab")) == "missing"
    assert docker_error_kind(_api_error(409, "image is being used by running container")) == "conflict"
    assert docker_error_kind(_api_error(500, "driver failed")) == ""
    assert docker_error_kind(_connection_error()) == "unreachable"
    try:
        docker.DockerClient(base_url=NO_SOCKET, version="auto")
    except docker.errors.DockerException as e:
        assert docker_error_kind(e) == "unreachable"
    assert docker_error_kind(ValueError("x")) == ""


@pytest.mark.parametrize("make, cls, texts", [
    (lambda tmp: _called_process_error(), CommandFailed, ["命令执行失败（退出码 3）", "command failed", "no space left"]),
    (lambda tmp: _api_error(500, "driver failed"), DockerError, ["守护进程拒绝了请求：driver failed", "docker API error 500"]),
    (lambda tmp: _connection_error(), SandboxDown, ["沙箱 t-err 没有在运行", "sandbox is down", "dockerlearn up --name t-err"]),
    (lambda tmp: _lesson_format_error(tmp), LessonFormatError, ["课程源文件格式有误：99-bad.md", "lesson format error"]),
    (lambda tmp: SystemExit("没有这些课：x"), DockerlearnError, ["错误：没有这些课：x"]),
    (lambda tmp: subprocess.TimeoutExpired(["docker", "pull", "x"], 5), CommandFailed, ["命令超时（5 秒）", "command timed out"]),
    (lambda tmp: FileNotFoundError(2, "No such file or directory", "/x/y"), DockerlearnError, ["：/x/y", "OS error"]),
], ids=["CalledProcessError", "APIError", "ConnectionError", "LessonFormatError", "SystemExit", "TimeoutExpired", "OSError"])
def test_as_error_gives_chinese_and_the_english_term(tmp_path, make, cls, texts):
    error = as_error(make(tmp_path), "t-err")
    assert isinstance(error, cls)
    text = error.render()
    for t in texts:
        assert t in text, text
    assert "Traceback" not in text


def test_a_real_bug_is_not_dressed_up():
    assert as_error(KeyError("Id")) is None
    assert as_error(SystemExit(0)) is None  # an ordinary exit status is not an error message


# ---- route 1: the command line -----------------------------------------------------------------
@pytest.mark.parametrize("raise_it", [
    _called_process_error, lambda: _api_error(500, "driver failed"), _connection_error,
    lambda: LessonFormatError("01-x.md:3: code block is never closed"), lambda: SystemExit("没有这些课：x"),
], ids=["CalledProcessError", "APIError", "ConnectionError", "LessonFormatError", "SystemExit"])
def test_cli_prints_the_message_and_exits_non_zero(monkeypatch, capsys, raise_it):
    def boom(args):
        raise raise_it()
    monkeypatch.setattr(cli, "cmd_status", boom)
    code = cli.main(["status", "--name", "t-err"])
    err = capsys.readouterr().err
    assert code != 0
    assert err.startswith("错误：") and "（" in err and "Traceback" not in err, err
    assert err == as_error(raise_it(), "t-err").render() + "\n"


def test_cli_lets_a_real_bug_through(monkeypatch):
    def boom(args):
        raise KeyError("Id")
    monkeypatch.setattr(cli, "cmd_status", boom)
    with pytest.raises(KeyError):
        cli.main(["status", "--name", "t-err"])


def test_build_of_an_unknown_lesson_is_a_message_not_a_systemexit(tmp_path):
    r = subprocess.run([sys.executable, "-m", "dockerlearn", "build", "--lesson", "no-such-lesson", "--no-run"],
                       capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", "DOCKERLEARN_HOME": str(tmp_path)})
    assert r.returncode == 1
    assert "没有这些课：no-such-lesson" in r.stderr and "unknown lesson" in r.stderr and "Traceback" not in r.stderr


# ---- route 2: a check's verdict ----------------------------------------------------------------
def _unreachable_sandbox(name="t-err"):
    """A sandbox whose daemon died after the ping: its socket is gone."""
    return SimpleNamespace(name=name, client=lambda: docker.DockerClient(base_url=NO_SOCKET, version="1.41"))


def test_verdict_when_the_daemon_is_gone():
    verdict = checks.run_check("tag.add-tag", _unreachable_sandbox(), record=False)
    assert not verdict.ok
    assert verdict.message == SandboxDown("t-err", "守护进程没有响应").render()  # one format for SandboxDown


@pytest.mark.parametrize("raise_it, text", [
    (lambda: _api_error(500, "driver failed"), "docker API error 500"),
    (_called_process_error, "command failed"),
])
def test_verdict_when_a_check_meets_an_error(monkeypatch, raise_it, text):
    def check(c):
        raise raise_it()
    checks.load_checks()
    monkeypatch.setitem(checks._CHECKS, "tag.add-tag", check)
    verdict = checks.run_check("tag.add-tag", _unreachable_sandbox(), record=False)
    assert not verdict.ok and text in verdict.message and "Traceback" not in verdict.message


# ---- route 3: the notebook ---------------------------------------------------------------------
def test_notebook_check_button_shows_the_message(monkeypatch):
    from dockerlearn.notebook import magics, widgets
    monkeypatch.setattr(magics, "_sandbox", _unreachable_sandbox())
    panel = widgets.panel("tag.add-tag")
    check_btn = panel.children[1].children[0]
    check_btn.click()
    shown = panel.children[2].value
    assert "sandbox is down" in shown and "没有在运行" in shown and "Traceback" not in shown


def test_notebook_panel_of_an_unknown_id(capsys):
    from dockerlearn.notebook import widgets
    assert widgets.panel("tag.nope") is None
    err = capsys.readouterr().err
    assert "没有编号为 'tag.nope' 的练习" in err and "unknown exercise id" in err


def test_load_ext_when_up_fails_with_a_command_error(tmp_path):
    """%load_ext: a failing program under `up` is a message, and docker points nowhere."""
    code = ("import os, subprocess\n"
            "from dockerlearn.sandbox import lifecycle\n"
            "def up(self):\n"
            "    subprocess.run(['sh', '-c', 'echo dockerd broke >&2; exit 1'], check=True, capture_output=True)\n"
            "lifecycle.Sandbox.up = up\n"
            "from IPython.testing.globalipapp import start_ipython\n"
            "ip = start_ipython()\n"
            "ip.run_line_magic('load_ext', 'dockerlearn')\n"
            "print('HOST=' + os.environ['DOCKER_HOST'])\n")
    env = dict(os.environ, DOCKERLEARN_NAME="t-err", DOCKERLEARN_HOME=str(tmp_path / "home"))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert "命令执行失败（退出码 1）" in r.stderr and "command failed" in r.stderr and "dockerd broke" in r.stderr
    assert "HOST=unix:///nonexistent/" in r.stdout
    assert "Traceback" not in r.stdout + r.stderr


def test_a_full_disk_names_the_file_being_written(tmp_path):
    """shutil's copy reports ENOSPC with the source first: the learner is told where it was writing."""
    import errno

    from dockerlearn.errors import as_error
    e = OSError(errno.ENOSPC, "No space left on device", "/cache/seeds/layer.tar.gz", None, "/home/x/registry/data")
    text = as_error(e).render()
    assert "磁盘已满：/home/x/registry/data" in text and "/cache/seeds" not in text, text
    assert "磁盘已满：/tmp/f" in as_error(OSError(errno.ENOSPC, "No space left on device", "/tmp/f")).render()
