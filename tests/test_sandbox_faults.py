"""Faults a learner meets, through the `dockerlearn` command as they would run it:
each ends in a clear Chinese message and no traceback, or is recovered from."""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

from dockerlearn import paths
from dockerlearn.sandbox import procs
from dockerlearn.errors import BadName
from dockerlearn.sandbox.lifecycle import REQUIRED, Sandbox
from tests.sandbox_helpers import (REPO, assert_clean_error, cgroup_members, cli, leftovers,  # noqa: F401
                                   make_sandbox, wait_dead)

pytestmark = pytest.mark.daemon


def ok(proc: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert proc.returncode == 0, f"{proc.args}\nstdout: {proc.stdout}\nstderr: {proc.stderr}"
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def cli_up(sb: Sandbox) -> subprocess.CompletedProcess:
    proc = ok(cli("up", "--name", sb.name, "--no-debian", "-q"))
    assert proc.stdout == "" and proc.stderr == "", "up -q should print nothing"
    return proc


@contextlib.contextmanager
def squat(port: int, timeout: float = 10):
    """Listen on port, as another program would. A port just freed may be held for a moment
    (a connection being torn down, another program's outgoing connection): retry until it binds."""
    deadline = time.monotonic() + timeout
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers do; TIME_WAIT remains
        while True:
            try:
                s.bind(("127.0.0.1", port))
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        s.listen()
        yield s


# ---------------------------------------------------------------- refused before anything starts
@pytest.mark.parametrize("name", ["../x", "a/b", "Default", "-x", "x" * 33, ""])
def test_bad_name_refused(name):
    with pytest.raises(BadName):
        Sandbox(name)
    home = paths.home()
    decoy = home / "x" / "keep-me"  # what `destroy --name ../x` would reach
    decoy.parent.mkdir(parents=True, exist_ok=True)
    decoy.write_text("mine")
    sandboxes = home / "sandboxes"
    before = sorted(os.listdir(sandboxes)) if sandboxes.exists() else []
    try:
        for command in ("up", "destroy", "reset", "status"):
            proc = cli(command, f"--name={name}")
            assert_clean_error(proc, "沙箱名称", "不合法", "invalid sandbox name", code=1)
        assert decoy.read_text() == "mine"
        assert (sorted(os.listdir(sandboxes)) if sandboxes.exists() else []) == before
    finally:
        shutil.rmtree(decoy.parent)


def test_missing_program_names_its_package(tmp_path):
    """PATH with everything of the usual PATH but docker-registry (symlinks)."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for folder in os.environ["PATH"].split(os.pathsep):
        if not os.path.isdir(folder):
            continue
        for entry in os.scandir(folder):
            target = bindir / entry.name
            if entry.name != "docker-registry" and not target.exists() and os.access(entry.path, os.X_OK):
                target.symlink_to(entry.path)
    env = {**os.environ, "PATH": str(bindir)}
    assert shutil.which("docker-registry", path=env["PATH"]) is None
    for program in REQUIRED:
        if program != "docker-registry":
            assert shutil.which(program, path=env["PATH"]), program
    sb = Sandbox("t-nopkg")
    proc = cli("up", "--name", sb.name, env=env)
    assert_clean_error(proc, "找不到程序 docker-registry", "apt-get install docker-registry", code=3)
    assert not sb.paths.root.exists()
    assert leftovers(sb) == {}


def _python_for(uid: int) -> list[str]:
    """An interpreter that uid can run, importing this checkout (the pyenv one may sit under /root)."""
    for python in (sys.executable, "/usr/bin/python3"):
        probe = subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                                python, "-c", "import dockerlearn.cli"],
                               capture_output=True, env={**os.environ, "PYTHONPATH": str(REPO)}, cwd="/")
        if probe.returncode == 0:
            return [python]
    pytest.skip("no Python interpreter runnable by an unprivileged user")


def test_ordinary_user_without_rootless_setup_refused():
    """nobody has no subordinate id range: a rootless sandbox cannot start, and says why."""
    if not shutil.which("setpriv"):
        pytest.skip("setpriv (util-linux) missing")
    nobody = 65534
    python = _python_for(nobody)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    sb = Sandbox("t-notroot")
    proc = cli("up", "--name", sb.name, env=env, python=python[0],
               prefix=("setpriv", f"--reuid={nobody}", f"--regid={nobody}", "--clear-groups"))
    assert_clean_error(proc, "从属用户 ID", "no subordinate id range for rootless mode", "sudo bash scripts/setup", code=3)
    assert not sb.paths.root.exists()


# ---------------------------------------------------------------- crashes and recovery
def test_kill9_stale_pidfile_and_socket_recovered(make_sandbox):
    sb = make_sandbox("kill9")
    cli_up(sb)
    ok(sb.run(["pull", "busybox"]))
    ok(sb.run(["tag", "busybox", "kept:1"]))
    pid = sb.dockerd_pid()
    os.kill(pid, signal.SIGKILL)
    wait_dead(pid)
    assert sb.paths.pidfile.read_text().strip() == str(pid), "kill -9 should leave the pidfile behind"
    assert sb.paths.socket.exists(), "kill -9 should leave the socket behind"

    t0 = time.monotonic()
    cli_up(sb)
    took = time.monotonic() - t0
    assert sb.dockerd_pid() not in (None, pid)
    assert ok(sb.run(["images", "-q", "kept:1"])).stdout.strip()
    assert ok(sb.run(["run", "--rm", "kept:1", "echo", "ok"])).stdout == "ok\n"
    assert took < 5, f"up after kill -9 took {took:.1f}s"
    # One containerd, the new daemon's.
    containerds = [p for p in procs.pids_mentioning(str(sb.paths.exec_root)) if "containerd --config" in procs.cmdline(p)]
    assert len(containerds) == 1


def test_stale_dockerd_pidfile_naming_another_process(make_sandbox):
    """After a kill -9, the pid in dockerd's pidfile may be reused by any process. It is not taken
    for the sandbox's daemon: not even one with the daemon's config on its command line (the start
    time we remembered tells), and `up` starts a real one and leaves the other process alone."""
    sb = make_sandbox("stalepid")
    cli_up(sb)
    pid = sb.dockerd_pid()
    st = sb.state
    assert (st.dockerd_pid, st.dockerd_start) == (pid, procs.start_time(pid)), "dockerd's identity is remembered"
    os.kill(pid, signal.SIGKILL)
    wait_dead(pid)

    def stopped() -> None:
        assert sb.dockerd_pid() is None and not sb._alive("dockerd")
        status = cli("status", "--name", sb.name)
        assert status.returncode == 1 and "dockerd：         已停止 (stopped)" in status.stdout, status.stdout

    lookalike = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)",
                                  "dockerd", "--config-file", sb.dockerd_marker])
    other = subprocess.Popen(["sleep", "600"])
    try:
        deadline = time.monotonic() + 10
        while not procs.alive(lookalike.pid, sb.dockerd_marker):
            assert time.monotonic() < deadline, procs.cmdline(lookalike.pid)
            time.sleep(0.05)
        sb.paths.pidfile.write_text(f"{lookalike.pid}\n")
        stopped()
        lookalike.kill()
        lookalike.wait()
        sb.paths.pidfile.write_text(f"{other.pid}\n")
        stopped()

        cli_up(sb)
        new = sb.dockerd_pid()
        assert new not in (None, pid, other.pid)
        assert "dockerd：         运行中 (running)" in ok(cli("status", "--name", sb.name)).stdout
        assert other.poll() is None, "up stopped a process that was not the sandbox's"
        assert ok(sb.run(["version", "--format", "{{.Server.Version}}"])).stdout.strip()
    finally:
        for proc in (lookalike, other):
            proc.kill()
            proc.wait()


def test_daemon_killed_mid_lesson(make_sandbox):
    """dockerd dies while a container runs: status says so (exit 1), up brings it back with the images."""
    sb = make_sandbox("midlesson")
    cli_up(sb)
    ok(sb.run(["pull", "busybox"]))
    ok(sb.run(["tag", "busybox", "lesson:1"]))
    cid = ok(sb.run(["run", "-d", "busybox", "sleep", "600"])).stdout.strip()
    pid = sb.dockerd_pid()
    os.kill(pid, signal.SIGKILL)
    wait_dead(pid)

    status = cli("status", "--name", sb.name)
    assert status.returncode == 1, status.stdout + status.stderr
    assert "Traceback" not in status.stderr
    assert "dockerd：         已停止 (stopped)" in status.stdout
    assert "dockerlearn up" in status.stdout
    proc = sb.run(["images"])
    assert proc.returncode != 0  # the CLI says it cannot connect, as Docker would

    t0 = time.monotonic()
    cli_up(sb)
    took = time.monotonic() - t0
    assert ok(cli("status", "--name", sb.name)).stdout.count("运行中 (running)") == 3
    assert ok(sb.run(["images", "-q", "lesson:1"])).stdout.strip()
    assert "Exited" in ok(sb.run(["ps", "-a", "--filter", f"id={cid}", "--format", "{{.Status}}"])).stdout
    assert cgroup_members({cid}) == [], "the old container should not run on unseen"
    assert ok(sb.run(["run", "--rm", "busybox", "echo", "ok"])).stdout == "ok\n"
    assert took < 5, f"up after the crash took {took:.1f}s"


@pytest.mark.parametrize("service", ["registry", "gateway"])
def test_registry_or_gateway_killed(make_sandbox, service):
    sb = make_sandbox(f"kill-{service}")
    cli_up(sb)
    st = sb.state
    pid = st.registry_pid if service == "registry" else st.gateway_pid
    os.kill(pid, signal.SIGKILL)
    wait_dead(pid)
    status = cli("status", "--name", sb.name)
    assert status.returncode == 1 and "已停止 (stopped)" in status.stdout
    # A pull in the notebook says which service stopped and how to restart it, not only "offline"
    # (the registry's case comes from the gateway; the gateway's from %docker, dockerd's words being
    # "proxyconnect tcp: … connection refused").
    import io

    from dockerlearn.notebook.magics import run_docker
    out = io.StringIO()
    assert run_docker(["pull", "busybox"], sb.full_env(), "/", stream=out) != 0
    said = {"registry": "registry not answering", "gateway": "沙箱的网关停止了 (gateway stopped)"}[service]
    assert said in out.getvalue() and "dockerlearn up" in out.getvalue(), out.getvalue()
    dockerd = sb.dockerd_pid()
    cli_up(sb)
    assert sb.status().running
    assert sb.dockerd_pid() == dockerd, "a registry restart should not restart dockerd"
    assert (sb.state.mirror_port, sb.state.registry_port) == (st.mirror_port, st.registry_port)
    ok(sb.run(["pull", "busybox"]))


@pytest.mark.parametrize("service", ["registry", "gateway"])
def test_service_killed_and_its_port_taken(make_sandbox, service):
    """The registry (or gateway) dies and something else takes its port before `up`: what depends on
    that port (the gateway, or dockerd's mirror and proxy) must follow it to the new one."""
    sb = make_sandbox(f"move-{service}")
    cli_up(sb)
    ok(sb.run(["pull", "busybox"]))
    st = sb.state
    pid, port = (st.registry_pid, st.backend_port) if service == "registry" else (st.gateway_pid, st.mirror_port)
    os.kill(pid, signal.SIGKILL)
    wait_dead(pid)
    with squat(port):
        cli_up(sb)
        assert sb.status().running
        new = sb.state
        assert (new.backend_port if service == "registry" else new.mirror_port) != port
        ok(sb.run(["rmi", "busybox"]))
        t0 = time.monotonic()
        ok(sb.run(["pull", "busybox"], timeout=60))
        assert time.monotonic() - t0 < 5
        ok(sb.run(["login", "-u", "student", "--password-stdin", sb.registry_address], input=sb.state.student_password + "\n"))
        ok(sb.run(["tag", "busybox", f"{sb.registry_address}/moved/app:1"]))
        ok(sb.run(["push", f"{sb.registry_address}/moved/app:1"]))


def test_port_taken_while_down(make_sandbox):
    sb = make_sandbox("port")
    cli_up(sb)
    old = sb.state
    old_ports = {old.backend_port, old.mirror_port, old.registry_port}
    ok(cli("down", "--name", sb.name))
    with contextlib.ExitStack() as stack:
        for port in sorted(old_ports):
            stack.enter_context(squat(port))
        cli_up(sb)
        new = sb.state
        assert not {new.backend_port, new.mirror_port, new.registry_port} & old_ports
        assert sb.status().running
        # Both new ports work: pull through the mirror, login and push to the registry.
        ok(sb.run(["pull", "busybox"]))
        ok(sb.run(["login", "-u", "student", "--password-stdin", sb.registry_address], input=sb.state.student_password + "\n"))
        ok(sb.run(["tag", "busybox", f"{sb.registry_address}/moved/app:1"]))
        ok(sb.run(["push", f"{sb.registry_address}/moved/app:1"]))


def test_up_twice_reuses_and_down_twice(make_sandbox):
    sb = make_sandbox("again")
    cli_up(sb)
    pids = (sb.dockerd_pid(), sb.state.registry_pid, sb.state.gateway_pid)
    ok(cli("up", "--name", sb.name, "-q"))
    assert (sb.dockerd_pid(), sb.state.registry_pid, sb.state.gateway_pid) == pids
    first = ok(cli("down", "--name", sb.name))
    second = ok(cli("down", "--name", sb.name))
    assert "已停止" in first.stdout and "已停止" in second.stdout
    assert leftovers(sb) == {}
    status = cli("status", "--name", sb.name)
    assert status.returncode == 1 and "Traceback" not in status.stderr
    # A sandbox that never existed: down is quiet, status says how to create it.
    ok(cli("down", "--name", "t-never"))
    never = cli("status", "--name", "t-never")
    assert never.returncode == 1 and "还不存在" in never.stdout


# ---------------------------------------------------------------- what is ours, and what is not
def test_interrupted_seeding_is_not_a_running_sandbox(make_sandbox):
    """`up` killed while seeding leaves services up and no seeds: status says so, and up repairs it."""
    sb = make_sandbox("seedless")
    cli_up(sb)
    st = sb.state
    st.seeded = {}  # what a kill during seeding leaves behind
    st.save(sb.paths.state_file)
    status = cli("status", "--name", sb.name)
    assert status.returncode == 1 and "种子镜像还没有准备好" in status.stdout
    cli_up(sb)
    assert sb.state.seeded and sb.status().running
    ok(sb.run(["pull", "busybox"]))


def test_seeds_gone_from_the_registry_is_not_a_running_sandbox(make_sandbox):
    """A `reset` killed after it wiped the registry's repositories (or a learner deleting them):
    the state still lists the seeds, the registry has none. status says so, and up re-seeds."""
    sb = make_sandbox("wiped")
    cli_up(sb)
    shutil.rmtree(sb.paths.registry_storage / "docker" / "registry" / "v2" / "repositories")
    assert sb.state.seeded
    status = cli("status", "--name", sb.name)
    assert status.returncode == 1 and "种子镜像还没有准备好" in status.stdout, status.stdout
    cli_up(sb)
    assert sb.status().running
    ok(sb.run(["pull", "busybox"]))


def test_down_spares_processes_that_only_mention_the_sandbox(make_sandbox, tmp_path):
    """A `tail -f` of a log, and another home's sandbox of the same name, are not ours to stop."""
    sb = make_sandbox("bystanders")
    cli_up(sb)
    log = sb.paths.registry_dir / "registry.log"
    other = tmp_path / "other-home" / str(sb.paths.root).lstrip("/")  # ends with our path
    bystanders = [subprocess.Popen(["tail", "-f", str(log)]),
                  subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)",
                                    str(other / "registry" / "config.yml"), str(other / "gateway.json")])]
    try:
        ok(cli("down", "--name", sb.name))
        assert not sb.status().dockerd and not sb.status().registry
        assert all(p.poll() is None for p in bystanders), "down stopped a process that is not the sandbox's"
    finally:
        for p in bystanders:
            p.kill()
            p.wait()


@pytest.mark.parametrize("flag", ["--notebook-dir=", "--ServerApp.root_dir="])  # dockerlearn lab; classroom, k8s
def test_destroy_refuses_while_jupyterlab_serves_the_notebooks(make_sandbox, flag):
    sb = make_sandbox("labbusy")
    cli_up(sb)
    notebooks = sb.paths.root / "notebooks"
    notebooks.mkdir(exist_ok=True)
    (notebooks / "mine.ipynb").write_text("{}")
    lab = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", f"{flag}{notebooks}"])
    try:
        proc = cli("destroy", "--name", sb.name)
        assert_clean_error(proc, "JupyterLab", "sandbox in use", code=3)
        assert (notebooks / "mine.ipynb").exists(), "the learner's notebook is still there"
    finally:
        lab.kill()
        lab.wait()
    ok(cli("destroy", "--name", sb.name))
    assert not sb.paths.root.exists()


def _busybox_blob(storage):
    """The busybox layer blob in a registry's storage (the largest blob of a busybox-only sandbox)."""
    blobs = sorted((storage / "docker/registry/v2/blobs").rglob("data"), key=lambda p: p.stat().st_size)
    return blobs[-1]


def _damage(path):
    """Same size, other bytes: what a size check cannot see."""
    with open(path, "r+b") as f:
        f.seek(path.stat().st_size // 2)
        f.write(b"\0" * 4096)


def test_a_damaged_blob_stays_in_its_sandbox_and_reset_repairs_it(make_sandbox):
    a, b = make_sandbox("poison-a"), make_sandbox("poison-b")
    cli_up(a)
    cli_up(b)
    blob = _busybox_blob(a.paths.registry_storage)
    assert blob.stat().st_ino != _busybox_blob(b.paths.registry_storage).stat().st_ino, "never shared"
    _damage(blob)
    assert a.run(["pull", "busybox"]).returncode != 0, "the damage is real"
    ok(b.run(["pull", "busybox"]))  # the other sandbox is untouched
    ok(cli("reset", "--name", a.name))
    ok(a.run(["pull", "busybox"]))  # and reset repaired this one


def test_a_damaged_seed_cache_repairs_itself(make_sandbox, tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKERLEARN_CACHE", str(tmp_path / "cache"))
    a = make_sandbox("cache-a")
    cli_up(a)  # builds busybox into the private cache
    layer = next((tmp_path / "cache" / "seeds").rglob("layer.tar.gz"))
    _damage(layer)
    b = make_sandbox("cache-b")
    cli_up(b)
    ok(b.run(["pull", "busybox"]))


def test_up_killed_after_spawning_leaves_no_duplicate(make_sandbox):
    """A registry whose pid never reached the state file is stopped, not run twice."""
    sb = make_sandbox("orphan")
    cli_up(sb)
    st = sb.state
    port, orphan = st.backend_port, st.registry_pid
    st.registry_pid = 0  # as if `up` was killed between spawning and saving
    st.save(sb.paths.state_file)
    cli_up(sb)
    assert procs.pids_matching(sb.registry_marker) == [sb.state.registry_pid]
    assert not procs.alive(orphan, sb.registry_marker)
    assert sb.state.backend_port == port, "the registry keeps its port"
    ok(sb.run(["pull", "busybox"]))


def test_a_sandbox_as_a_context_manager_cleans_up_when_its_start_fails(make_sandbox, monkeypatch):
    """`with Sandbox(...)`: a start that fails after dockerd and the registry are up (here, seeding
    interrupted by Ctrl-C) leaves no process, mount or socket behind."""
    sb = make_sandbox("ctx")

    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(sb, "_seed", interrupted)
    with pytest.raises(KeyboardInterrupt):
        with sb:
            pytest.fail("the body never runs when the start failed")
    assert leftovers(sb) == {}
    monkeypatch.undo()
    with sb as running:
        assert running.status().running
    assert leftovers(sb) == {}
