"""%load_ext dockerlearn and the %docker magics, in a real IPython shell against the sandbox."""
from __future__ import annotations

import os

import pytest

from dockerlearn.notebook.magics import explain_interactive, split_command


@pytest.mark.parametrize("line", ["run -it busybox sh", "run -ti busybox", "run --rm -i -t busybox",
                                  "container run --interactive busybox", "exec -it c1 sh", "attach c1",
                                  "start -ai c1"])
def test_interactive_commands_are_explained(line):
    text = explain_interactive(split_command(line))
    assert text is not None and "终端" in text and f"docker {line}" in text


@pytest.mark.parametrize("line", ["run --rm busybox ls -it", "images -a", "run --rm -d busybox sleep 1",
                                  "pull busybox", "build -t x ."])
def test_plain_commands_are_not_interactive(line):
    assert explain_interactive(split_command(line)) is None


def test_split_command_drops_a_leading_docker():
    assert split_command("docker images --format '{{.ID}}'") == ["images", "--format", "{{.ID}}"]


@pytest.fixture(scope="module")
def shell(sandbox):
    from IPython.testing.globalipapp import start_ipython
    ip = start_ipython()
    cwd = os.getcwd()
    ip.run_line_magic("load_ext", "dockerlearn")
    yield ip
    os.chdir(cwd)


def test_load_ext_pins_the_kernel_to_the_sandbox(shell, sandbox, capfd):
    assert os.environ["DOCKER_HOST"] == f"unix://{sandbox.paths.socket}"
    assert os.environ["DOCKER_CONFIG"] == str(sandbox.paths.docker_config)
    assert shell.user_ns["REGISTRY"] == sandbox.registry_address
    # A plain !docker goes to the sandbox too: its data root is the sandbox's.
    shell.system("docker info")
    assert f"Docker Root Dir: {sandbox.paths.data_root}" in capfd.readouterr().out
    # ...and it is the daemon's own CLI, even where another docker comes first on the machine's PATH.
    # (IPython's ! expands {x}: quadruple braces reach docker as {{x}}.)
    shell.system("docker version --format 'PAIR {{{{.Client.Version}}}} {{{{.Server.Version}}}}'")
    pair = next(l for l in capfd.readouterr().out.splitlines() if l.startswith("PAIR "))
    _, client, server = pair.split()
    assert client == server, pair


def test_docker_line_and_cell_magics_stream_output(shell, sandbox, capfd):
    shell.run_line_magic("docker", "pull -q busybox:1.35")
    shell.run_cell_magic("docker", "", "images busybox --format '{{.Repository}}:{{.Tag}}'\ntag busybox:1.35 $REGISTRY/m/b:1")
    out = capfd.readouterr().out
    assert "busybox:1.35" in out and "$ docker tag" in out
    assert sandbox.run(["image", "inspect", f"{sandbox.registry_address}/m/b:1"]).returncode == 0


def test_failing_command_shows_docker_error_and_exit_code_not_traceback(shell, capfd):
    shell.run_line_magic("docker", "image inspect no-such-image:nope")
    shell.run_line_magic("docker", "tagg busybox x")
    out = capfd.readouterr()
    text = out.out + out.err
    assert "No such image" in text
    assert "退出码 exit code 1" in text
    assert "Traceback" not in text


def test_interactive_command_does_not_hang(shell, capfd):
    shell.run_line_magic("docker", "run -it busybox sh")
    assert "交互式终端" in capfd.readouterr().out


def test_cell_stops_at_first_failure(shell, capfd):
    shell.run_cell_magic("docker", "", "image inspect nope:nope\nversion")
    out = capfd.readouterr().out
    assert "$ docker version" not in out


def test_load_ext_without_a_sandbox_never_reaches_another_daemon(tmp_path):
    """If the sandbox cannot start, the kernel's docker points nowhere rather than at the user's Docker."""
    import subprocess
    import sys
    code = ("import os\n"
            "os.environ['DOCKER_HOST'] = 'unix:///var/run/docker.sock'\n"
            "from IPython.testing.globalipapp import start_ipython\n"
            "ip = start_ipython()\n"
            "ip.run_line_magic('load_ext', 'dockerlearn')\n"
            "print('HOST=' + os.environ['DOCKER_HOST'])\n"
            "ip.run_line_magic('docker', 'version')\n")
    env = dict(os.environ, DOCKERLEARN_NAME="../bad")  # a name the sandbox refuses
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert "沙箱名称 '../bad' 不合法" in r.stderr
    assert "HOST=unix:///nonexistent/" in r.stdout
    assert "Traceback" not in r.stdout + r.stderr


def test_bash_failures_read_like_docker_failures(shell, capfd):
    """A failing %%bash shows the command's own error and the exit code in Chinese, no traceback."""
    result = shell.run_cell("%%bash\necho before\nls /no/such/dir\nexit 3")
    out = capfd.readouterr()
    assert result.error_in_exec is None and "Traceback" not in out.out + out.err
    assert "before" in out.out and "No such file" in out.err
    assert "（命令失败，退出码 exit code 3）" in out.out
    shell.run_cell("%%bash\necho fine")
    assert "fine" in capfd.readouterr().out
    shell.run_line_magic("reload_ext", "dockerlearn")  # loading twice wraps once
    shell.run_cell("%%bash\nexit 4")
    assert capfd.readouterr().out.count("exit code 4") == 1


def test_load_ext_provides_check_and_lesson_progress(shell):
    import dockerlearn
    assert shell.user_ns["check"] is dockerlearn.check
    assert shell.user_ns["lesson_progress"] is dockerlearn.lesson_progress


def test_sandbox_down_advice_is_reload_ext():
    from dockerlearn.errors import SandboxDown
    text = SandboxDown("default").render()
    assert "%reload_ext dockerlearn" in text and "%load_ext" not in text.replace("%reload_ext", "")


def test_a_stopped_sandbox_is_explained_in_chinese(shell, sandbox, capfd, monkeypatch):
    """%docker against a sandbox that is not running: docker's own error, then what helps."""
    from dockerlearn.notebook import magics
    from dockerlearn.sandbox.lifecycle import Sandbox
    stopped = Sandbox("t-never-started", quiet=True)
    monkeypatch.setattr(magics, "_sandbox", stopped)
    monkeypatch.setitem(os.environ, "DOCKER_HOST", f"unix://{stopped.paths.socket}")
    shell.run_line_magic("docker", "images")
    out = capfd.readouterr().out
    assert "沙箱 t-never-started 没有在运行" in out and "%reload_ext dockerlearn" in out
    assert "dockerlearn up --name t-never-started" in out


def test_load_ext_provides_show_layers(shell, sandbox):
    """%load_ext dockerlearn puts show_layers in the namespace; a cell ending with it shows the picture."""
    import dockerlearn
    from dockerlearn.notebook.layerview import LayerView
    assert shell.user_ns["show_layers"] is dockerlearn.show_layers
    sandbox.run(["pull", "-q", "busybox:latest"], check=True)
    result = shell.run_cell('show_layers("busybox:latest")')
    assert result.success and isinstance(result.result, LayerView)
    assert [im.ref for im in result.result.images] == ["busybox:latest"]
