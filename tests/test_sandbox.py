"""The sandbox against the real daemon: isolation, offline seeds, lifecycle, side by side, reset.

Faults (bad names, missing programs, crashes, taken ports) are in test_sandbox_faults.py,
the registry gateway in test_gateway.py.
"""
from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import pwd
import signal
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

from dockerlearn.sandbox import procs
from dockerlearn.sandbox.registry import STUDENT_USER
from tests.sandbox_helpers import (BareDockerd, cgroup_members, leftovers, make_sandbox,  # noqa: F401 (fixture)
                                   read_json, snapshot, wait_dead)

pytestmark = pytest.mark.daemon



def student_auth(sb) -> str:
    return base64.b64encode(f"{STUDENT_USER}:{sb.state.student_password}".encode()).decode()


def ok(proc: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert proc.returncode == 0, f"{proc.args}\nstdout: {proc.stdout}\nstderr: {proc.stderr}"
    return proc


def image_ids(sb) -> list[str]:
    return ok(sb.run(["images", "-aq", "--no-trunc"])).stdout.split()


def login(sb) -> None:
    ok(sb.run(["login", "-u", STUDENT_USER, "--password-stdin", sb.registry_address], input=sb.state.student_password + "\n"))


def build(sb, tmp_path: Path, base: str, tag: str) -> None:
    ctx = tmp_path / tag.replace(":", "_").replace("/", "_")
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(f"FROM {base}\nRUN echo hi > /f\n")
    ok(sb.run(["build", "-q", "-t", tag, str(ctx)]))
    assert ok(sb.run(["run", "--rm", tag, "cat", "/f"])).stdout.strip() == "hi"


# ---------------------------------------------------------------- isolation
@pytest.fixture
def user_docker():
    with BareDockerd() as bare:
        yield bare


def tiny_tar() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        data = b"the user's own image\n"
        info = tarfile.TarInfo("canary.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "<absent>"


def test_isolation_from_users_docker_and_config(fresh_sandbox, user_docker, tmp_path, monkeypatch):
    """A learner who already runs Docker: `image prune -a`, `rmi -f` of everything, `login` and `push`
    in the sandbox leave their daemon's images and their ~/.docker/config.json alone.

    The learner's shell is set up the way such a user's would be: HOME with a ~/.docker/config.json
    holding a Docker Hub login and a current context for their daemon, plus DOCKER_HOST and
    DOCKER_CONTEXT exported. Plain `docker` in that environment reaches their daemon (checked);
    the sandbox must not. HOME points at a temp dir so the canary can be read back byte for byte;
    the real ~/.docker (of the account running the tests) is checked unchanged as well.
    """
    sb = fresh_sandbox
    user = user_docker
    real_docker_dir = Path(pwd.getpwuid(os.getuid()).pw_dir) / ".docker"
    real_before = snapshot(real_docker_dir)
    key_before = sha(Path("/etc/docker/key.json"))

    # --- the user's own Docker: a canary image in their daemon
    tar = tmp_path / "canary.tar"
    tar.write_bytes(tiny_tar())
    canary_id = user.docker("import", str(tar), "canary:1").stdout.strip()
    assert canary_id.startswith("sha256:")

    # --- the user's CLI setup in a HOME of their own
    home = tmp_path / "home"
    home.mkdir()
    user_env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    user_env["HOME"] = str(home)
    for args in (["context", "create", "userctx", "--docker", f"host={user.host}"], ["context", "use", "userctx"]):
        ok(subprocess.run(["docker", *args], capture_output=True, text=True, env=user_env))
    config = home / ".docker" / "config.json"
    cfg = read_json(config)
    assert cfg["currentContext"] == "userctx"
    cfg["auths"] = {"https://index.docker.io/v1/": {"auth": base64.b64encode(b"canary:hunter2").decode()}}
    config.write_text(json.dumps(cfg, indent="\t"))
    home_before = snapshot(home)

    # The learner's shell: everything points at their own Docker.
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("DOCKER_HOST", user.host)
    monkeypatch.setenv("DOCKER_CONTEXT", "userctx")
    monkeypatch.delenv("DOCKER_CONFIG", raising=False)
    plain = ok(subprocess.run(["docker", "images", "-q", "--no-trunc", "canary:1"], capture_output=True, text=True))
    assert plain.stdout.strip() == canary_id, "the trap is not set: plain docker should reach the user's daemon"

    # --- through the sandbox
    ok(sb.run(["pull", "busybox"]))
    ok(sb.run(["image", "prune", "-a", "-f"]))
    assert image_ids(sb) == [], "prune -a should have removed the unused busybox"
    ok(sb.run(["pull", "busybox"]))
    ok(sb.run(["tag", "busybox", "mine:1"]))
    ids = image_ids(sb)
    assert ids
    ok(sb.run(["rmi", "-f", *ids]))
    assert image_ids(sb) == []
    login(sb)
    ok(sb.run(["pull", "busybox"]))
    target = f"{sb.registry_address}/isolation/busybox:1"
    ok(sb.run(["tag", "busybox", target]))
    ok(sb.run(["push", target]))
    assert "1" in sb.registry_client().tags("isolation/busybox")

    # --- the canaries
    assert user.docker("images", "-q", "--no-trunc", "canary:1").stdout.strip() == canary_id
    assert user.docker("image", "inspect", "canary:1").returncode == 0
    assert snapshot(home) == home_before, "the user's HOME changed (~/.docker written?)"
    assert config.read_bytes() == home_before[".docker/config.json"]
    assert snapshot(real_docker_dir) == real_before, f"{real_docker_dir} changed"
    assert sha(Path("/etc/docker/key.json")) == key_before, "/etc/docker/key.json (the user's daemon key) changed"
    # The two daemons are told apart: dockerd 20.10 derives its ID from its key.
    user_id = user.docker("info", "--format", "{{.ID}}").stdout.strip()
    sb_id = ok(sb.run(["info", "--format", "{{.ID}}"])).stdout.strip()
    assert user_id and sb_id and user_id != sb_id

    # --- and the login went where it belongs
    sb_cfg = read_json(sb.paths.docker_config / "config.json")
    assert sb_cfg["auths"][sb.registry_address]["auth"] == student_auth(sb)
    assert "hunter2" not in (sb.paths.docker_config / "config.json").read_text()


# ---------------------------------------------------------------- offline seeds
def test_offline_pull_run_build(fresh_sandbox, tmp_path):
    sb = fresh_sandbox
    ids = image_ids(sb)
    if ids:  # make the pulls below really transfer
        ok(sb.run(["rmi", "-f", *ids]))
    out = ok(sb.run(["pull", "busybox"])).stdout
    assert "Downloaded newer image for busybox:latest" in out
    ok(sb.run(["pull", "debian:bookworm-slim"]))
    assert ok(sb.run(["run", "--rm", "busybox", "echo", "ok"])).stdout == "ok\n"
    # The pulled images are the seeds, byte for byte (the image ID is the config digest).
    seeded = sb.state.seeded
    for ref in ("busybox:latest", "debian:bookworm-slim"):
        got = ok(sb.run(["image", "inspect", "-f", "{{.Id}}", ref])).stdout.strip()
        assert got == seeded[ref]
    # A build FROM every seed; debian:bookworm is not pulled yet, so the build pulls it itself.
    build(sb, tmp_path, "busybox", "from-busybox")
    build(sb, tmp_path, "debian:bookworm-slim", "from-slim")
    build(sb, tmp_path, "debian:bookworm", "from-debian")
    os_release = ok(sb.run(["run", "--rm", "from-debian", "cat", "/etc/os-release"])).stdout
    assert "bookworm" in os_release


@pytest.mark.parametrize("ref", ["ubuntu", "ghcr.io/example/app:1"])
def test_pull_of_unseeded_image_fails_fast(sandbox, ref):
    t0 = time.monotonic()
    proc = sandbox.run(["pull", ref], timeout=60)
    took = time.monotonic() - t0
    assert proc.returncode != 0
    assert "沙箱离线 (sandbox is offline)" in proc.stderr, proc.stderr
    if ref == "ubuntu":  # asked of the mirror first: the refusal says the sandbox has no such image
        assert "沙箱里没有镜像 ubuntu (not found)" in proc.stderr and "docker search" in proc.stderr, proc.stderr
    else:  # another registry: not the mirror's business, and not attributed to the miss just before
        assert "没有镜像" not in proc.stderr and "dockerlearn status" in proc.stderr, proc.stderr
    assert took < 5, f"pull {ref} took {took:.1f}s"



# ---------------------------------------------------------------- lifecycle and leaks
def test_up_twice_reuses_down_twice_is_quiet(make_sandbox):
    sb = make_sandbox("twice")
    sb.up()
    pid, st = sb.dockerd_pid(), sb.state
    t0 = time.monotonic()
    sb.up()
    assert time.monotonic() - t0 < 0.3
    assert (sb.dockerd_pid(), sb.state.registry_pid, sb.state.gateway_pid) == (pid, st.registry_pid, st.gateway_pid)
    sb.down()
    sb.down()
    assert not sb.status().running


def test_no_leaks_after_down_and_destroy(make_sandbox):
    sb = make_sandbox("leak")
    sb.up()
    ok(sb.run(["pull", "busybox"]))
    ok(sb.run(["run", "--rm", "busybox", "true"]))
    # A container still running at `down`: its shim, mounts and netns must go too.
    cid = ok(sb.run(["run", "-d", "busybox", "sleep", "600"])).stdout.strip()
    assert sb.mounts(), "a running container should have mounts under the sandbox"
    assert procs.pids_mentioning(str(sb.paths.exec_root))

    sb.down()
    assert leftovers(sb, {cid}) == {}
    assert sb.paths.data_root.is_dir(), "down keeps the data"

    sb.up()
    assert "Exited" in ok(sb.run(["ps", "-a", "--filter", f"id={cid}", "--format", "{{.Status}}"])).stdout
    # This one stops on SIGTERM: a container ignoring it (as above) holds `down` for its 10 s stop timeout.
    cid2 = ok(sb.run(["run", "-d", "busybox", "sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"])).stdout.strip()
    sb.destroy()
    assert leftovers(sb, {cid, cid2}) == {}
    assert not sb.paths.root.exists()
    assert not sb.paths.exec_root.exists()


def test_no_leaks_after_crash_and_down(make_sandbox):
    """dockerd killed with a container running: the shim and the container outlive it; down ends them."""
    sb = make_sandbox("crash")
    sb.up()
    ok(sb.run(["pull", "busybox"]))
    cid = ok(sb.run(["run", "-d", "busybox", "sleep", "600"])).stdout.strip()
    pid = sb.dockerd_pid()
    os.kill(pid, 9)
    wait_dead(pid)
    assert cgroup_members({cid}), "the container should outlive a killed dockerd"
    sb.down()
    assert leftovers(sb, {cid}) == {}


# ---------------------------------------------------------------- side by side
def test_two_sandboxes_side_by_side(sandbox, make_sandbox):
    a = sandbox
    b = make_sandbox("side")
    b.up()
    try:
        ok(a.run(["pull", "busybox"]))
        ok(a.run(["tag", "busybox", "only-in-a:1"]))
        ok(b.run(["pull", "busybox"]))
        ok(b.run(["tag", "busybox", "only-in-b:1"]))
        assert ok(a.run(["images", "-q", "only-in-b:1"])).stdout == ""
        assert ok(b.run(["images", "-q", "only-in-a:1"])).stdout == ""
        assert ok(a.run(["images", "-q", "only-in-a:1"])).stdout.strip()

        sa, sb_ = a.state, b.state
        assert a.paths.socket != b.paths.socket
        assert a.paths.exec_root != b.paths.exec_root
        assert a.paths.docker_config != b.paths.docker_config
        ports_a = {sa.backend_port, sa.mirror_port, sa.registry_port}
        ports_b = {sb_.backend_port, sb_.mirror_port, sb_.registry_port}
        assert len(ports_a) == len(ports_b) == 3 and not ports_a & ports_b
        assert a.dockerd_pid() != b.dockerd_pid()
        assert a.env()["DOCKER_HOST"] != b.env()["DOCKER_HOST"]

        # Registries too: a push to b's is not in a's.
        login(b)
        ok(b.run(["tag", "busybox", f"{b.registry_address}/side/app:1"]))
        ok(b.run(["push", f"{b.registry_address}/side/app:1"]))
        assert "side/app" in b.registry_client().catalog()
        assert "side/app" not in a.registry_client().catalog()
        # The mirror is b's daemon's alone: b pulls side/app through it by its short name, while
        # a's daemon and any other process on the machine see only the seeds there.
        ok(b.run(["rmi", f"{b.registry_address}/side/app:1"]))
        ok(b.run(["pull", "side/app:1"]))
        stolen = a.run(["pull", f"{b.mirror_address}/side/app:1"])
        assert stolen.returncode != 0, stolen.stdout
        outside = subprocess.run(["curl", "-s", f"http://{b.mirror_address}/v2/_catalog"], capture_output=True, text=True)
        assert "side/app" not in outside.stdout and "library/busybox" in outside.stdout, outside.stdout
        found = subprocess.run(["curl", "-s", f"http://{b.mirror_address}/v1/search?q=app"], capture_output=True, text=True)
        assert json.loads(found.stdout)["results"] == [], found.stdout

        # Each registry has its own password: a learner cannot log in to another's, nor read it.
        assert sa.student_password and sb_.student_password and sa.student_password != sb_.student_password
        assert "dockerlearn" not in (sa.student_password, sb_.student_password)
        refused = a.run(["login", "-u", STUDENT_USER, "--password-stdin", b.registry_address],
                        input=sa.student_password + "\n")
        assert refused.returncode != 0 and "401 Unauthorized" in refused.stderr, refused.stderr
        ok(a.run(["tag", "busybox", f"{b.registry_address}/side/app:1"]))
        poisoned = a.run(["push", f"{b.registry_address}/side/app:1"])
        assert poisoned.returncode != 0 and "no basic auth credentials" in poisoned.stdout + poisoned.stderr
        anonymous = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                                    f"http://{b.registry_address}/v2/_catalog"], capture_output=True, text=True)
        assert anonymous.stdout == "401"
        for path in (b.paths.root, b.paths.state_file.parent):
            assert path.stat().st_mode & 0o077 == 0, f"{path} is readable by other users"

        # Destroying one leaves the other running, with its images.
        b.destroy()
        assert a.status().running
        assert ok(a.run(["images", "-q", "only-in-a:1"])).stdout.strip()
    finally:
        a.run(["rmi", "only-in-a:1"])


# ---------------------------------------------------------------- reset
def test_reset(fresh_sandbox, tmp_path):
    sb = fresh_sandbox
    seeded = sb.state.seeded
    ok(sb.run(["pull", "busybox"]))
    ok(sb.run(["pull", "debian:bookworm-slim"]))
    ok(sb.run(["run", "--name", "stopped", "busybox", "true"]))
    ok(sb.run(["run", "-d", "--name", "running", "busybox", "sleep", "600"]))
    ok(sb.run(["volume", "create", "myvol"]))
    build(sb, tmp_path, "busybox", "mine:1")
    ok(sb.run(["tag", "busybox", "extra-tag-on-seed:1"]))       # an extra tag on a seed image
    ok(sb.run(["tag", "mine:1", "debian:bookworm-slim"]))       # a seed's tag pointing elsewhere
    login(sb)
    pushed = f"{sb.registry_address}/mine/app:1"
    ok(sb.run(["tag", "busybox", pushed]))
    ok(sb.run(["push", pushed]))
    # The student may overwrite a seed in the registry (the mirror then serves it) or add tags to it.
    for tag in ("latest", "extra"):
        ok(sb.run(["tag", "mine:1", f"{sb.registry_address}/library/busybox:{tag}"]))
        ok(sb.run(["push", f"{sb.registry_address}/library/busybox:{tag}"]))
    client = sb.registry_client()
    assert "mine/app" in client.catalog()

    t0 = time.monotonic()
    sb.reset()
    took = time.monotonic() - t0

    assert ok(sb.run(["ps", "-aq"])).stdout == ""
    assert ok(sb.run(["volume", "ls", "-q"])).stdout == ""
    images = sb.client().api.images(all=True)
    for img in images:  # whatever stays is a seed, under its own tags only
        assert img["Id"] in seeded.values(), img
        for tag in img.get("RepoTags") or []:
            assert seeded.get(tag) == img["Id"], f"{tag} survived reset"
    # As a fresh sandbox: the daemon holds no image at all, the seeds wait in the registry.
    assert images == []

    assert sorted(client.catalog()) == ["library/busybox", "library/debian"]
    assert client.tags("mine/app") == []
    assert set(client.tags("library/busybox")) == {r.split(":", 1)[1] for r in seeded if r.startswith("busybox:")}
    # Seeds pull again from the restored registry, as they were seeded (the overwritten latest too).
    for ref in ("busybox:latest", "debian:bookworm-slim"):
        ok(sb.run(["pull", ref]))
        assert ok(sb.run(["image", "inspect", "-f", "{{.Id}}", ref])).stdout.strip() == seeded[ref]
    # Logged out: the credentials are gone from DOCKER_CONFIG, and a push asks for them.
    cfg = read_json(sb.paths.docker_config / "config.json")
    assert not cfg.get("auths")
    ok(sb.run(["tag", "busybox", f"{sb.registry_address}/after/reset:1"]))
    proc = sb.run(["push", f"{sb.registry_address}/after/reset:1"])
    assert proc.returncode != 0 and "no basic auth credentials" in proc.stderr
    assert took < 10, f"reset took {took:.1f}s"
