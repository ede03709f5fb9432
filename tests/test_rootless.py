"""Rootless sandboxes: an ordinary user's dockerd runs in a user namespace (rootlesskit), and a
container's root is not the machine's root. Run as root: the tests create the Unix users."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.unix_users import as_user, ensure_user, user_processes

pytestmark = pytest.mark.daemon


@pytest.fixture(scope="module")
def learner():
    user = ensure_user("dlt-rootless")
    yield user
    as_user(user, "dockerlearn destroy --name rl >/dev/null 2>&1 || true")


def test_rootless_sandbox_runs_and_is_a_boundary(learner):
    # /usr/local is root's and not copied up into rootlesskit's namespace (/etc and /run are: a
    # write there lands in the namespace's private copy, and the host never sees it).
    canary = Path("/usr/local/dockerlearn-rootless-canary")
    etc_canary = Path("/etc/dockerlearn-rootless-canary")
    canary.unlink(missing_ok=True)
    etc_canary.unlink(missing_ok=True)
    r = as_user(learner, """
        set -e
        dockerlearn up --name rl --no-debian -q
        dockerlearn status --name rl | grep -q 'dockerd：         运行中' && echo DOCKERD-KNOWN
        eval "$(dockerlearn env --name rl)"
        docker info --format 'OPTS {{.SecurityOptions}}'
        docker run --rm busybox sh -c 'echo "UIDMAP $(head -n 1 /proc/self/uid_map)"'
        docker run --rm -v /:/host busybox sh -c 'touch /host/usr/local/dockerlearn-rootless-canary' && echo WROTE || echo REFUSED
        docker run --rm -v /:/host busybox sh -c 'touch /host/etc/dockerlearn-rootless-canary' || true
        docker run --rm -v /:/host busybox sh -c 'cat /host/etc/shadow' >/dev/null 2>&1 && echo READ-SHADOW || echo NO-SHADOW
        docker run --name keeper busybox sh -c 'mkdir -p /data && echo x > /data/f && chown 1234 /data/f'
        echo DONE
    """)
    out = r.stdout + r.stderr
    assert r.returncode == 0 and "DONE" in out, out
    assert "name=rootless" in out, "the daemon runs in rootless mode"
    assert "DOCKERD-KNOWN" in out, "the daemon under rootlesskit is known as ours (its pidfile and start time)"
    uidmap = next(l for l in out.splitlines() if l.startswith("UIDMAP")).split()
    assert uidmap[1:3] == ["0", str(learner.pw_uid)], f"container root is the learner's own uid: {uidmap}"
    assert "REFUSED" in out and not canary.exists(), "a container must not write a root-owned host file"
    assert not etc_canary.exists(), "nor reach the host's /etc through the namespace's copy"
    assert "NO-SHADOW" in out
    assert "Traceback" not in out


def test_rootless_down_and_destroy_leave_nothing(learner):
    r = as_user(learner, "dockerlearn up --name rl --no-debian -q && dockerlearn down --name rl")
    assert r.returncode == 0, r.stdout + r.stderr
    left = [l for l in user_processes(learner) if "rootlesskit" in l or "dockerd" in l or "containerd" in l
            or "docker-registry" in l or "dockerlearn.sandbox.gateway" in l]
    assert not left, f"down left processes behind: {left}"
    # destroy removes files that a container's users (subordinate ids) own, too.
    root = Path(learner.pw_dir) / ".local/state/dockerlearn/sandboxes/rl"
    assert root.exists()
    r = as_user(learner, "dockerlearn destroy --name rl")
    assert r.returncode == 0, r.stdout + r.stderr
    assert not root.exists(), f"destroy left {sorted(str(p) for p in root.rglob('*'))[:5]}"


def test_user_without_subordinate_ids_gets_a_clear_error():
    user = ensure_user("dlt-nosubid")
    for path in ("/etc/subuid", "/etc/subgid"):
        lines = [l for l in Path(path).read_text().splitlines() if not l.startswith(user.pw_name + ":")]
        Path(path).write_text("".join(l + "\n" for l in lines))
    r = as_user(user, "dockerlearn up --name x --no-debian")
    assert r.returncode == 3, r.stdout + r.stderr
    assert "从属用户 ID" in r.stderr and "no subordinate id range for rootless mode" in r.stderr
    assert "sudo bash scripts/setup" in r.stderr and "Traceback" not in r.stderr
    assert not (Path(user.pw_dir) / ".local/state/dockerlearn/sandboxes/x").exists()


def test_two_learners_cannot_reach_each_others_sandbox(learner):
    """Learner B tries A's socket, state, registry and notebooks: every attempt is refused."""
    other = ensure_user("dlt-rootless-b")
    a_root = Path(learner.pw_dir) / ".local/state/dockerlearn/sandboxes/rl"
    r = as_user(learner, "dockerlearn up --name rl --no-debian -q && eval \"$(dockerlearn env --name rl)\" && "
                         "docker pull -q busybox >/dev/null && docker tag busybox \"$REGISTRY/a/app:1\" && "
                         "echo \"$REGISTRY_PASSWORD\" | docker login -u student --password-stdin \"$REGISTRY\" >/dev/null 2>&1 && "
                         "docker push -q \"$REGISTRY/a/app:1\" && docker tag busybox \"$REGISTRY/library/secret:1\" && "
                         "docker push -q \"$REGISTRY/library/secret:1\" && "
                         "{ dockerlearn check tag.add-tag --name rl >/dev/null || true; } && "  # a progress DB of A's
                         "echo \"A_REGISTRY=$REGISTRY\" && echo \"A_MIRROR=$MIRROR\"")
    assert r.returncode == 0, r.stdout + r.stderr
    registry = next(l.split("=", 1)[1] for l in r.stdout.splitlines() if l.startswith("A_REGISTRY="))
    mirror = next(l.split("=", 1)[1] for l in r.stdout.splitlines() if l.startswith("A_MIRROR="))
    a_progress = Path(learner.pw_dir) / ".local/state/dockerlearn/progress"
    assert list(a_progress.glob("*.sqlite")), "A has a progress DB for B to try"
    attempt = as_user(other, f"""
        docker -H unix://{a_root}/docker.sock images >/dev/null 2>&1 && echo SOCKET-OPEN || echo SOCKET-REFUSED
        cat {a_root}/sandbox.json >/dev/null 2>&1 && echo STATE-READ || echo STATE-REFUSED
        ls {a_root}/notebooks >/dev/null 2>&1 && echo NOTEBOOKS-READ || echo NOTEBOOKS-REFUSED
        cat {a_progress}/*.sqlite >/dev/null 2>&1 && echo PROGRESS-READ || echo PROGRESS-REFUSED
        curl -s "http://{mirror}/v1/search?q=" | grep -q secret && echo MIRROR-SEARCH-LEAKS || echo MIRROR-SEARCH-SEEDS
        curl -s -o /dev/null -w 'CATALOG-%{{http_code}}\\n' http://{registry}/v2/_catalog
        curl -s -o /dev/null -w 'GUESS-%{{http_code}}\\n' -u student:dockerlearn http://{registry}/v2/_catalog
        curl -s -o /dev/null -w 'DELETE-%{{http_code}}\\n' -X DELETE -u student:dockerlearn \\
             http://{registry}/v2/a/app/manifests/1
        echo "MIRROR-CATALOG $(curl -s http://{mirror}/v2/_catalog)"
        curl -s -o /dev/null -w 'MIRROR-SECRET-%{{http_code}}\\n' http://{mirror}/v2/library/secret/tags/list
        curl -s -o /dev/null -w 'MIRROR-APP-%{{http_code}}\\n' http://{mirror}/v2/a/app/manifests/1
        dockerlearn up --name b --no-debian -q && eval "$(dockerlearn env --name b)"
        echo "$REGISTRY_PASSWORD" | docker login -u student --password-stdin {registry} >/dev/null 2>&1 \\
             && echo LOGIN-OK || echo LOGIN-REFUSED
        # B's daemon has a network of its own: A's mirror and registry are out of its reach.
        docker pull -q {mirror}/library/busybox:latest >/dev/null 2>&1 && echo DAEMON-MIRROR-OK || echo DAEMON-MIRROR-REFUSED
        docker pull -q {registry}/library/secret:1 >/dev/null 2>&1 && echo DAEMON-REGISTRY-OK || echo DAEMON-REGISTRY-REFUSED
        docker pull -q busybox >/dev/null
        # Nor can a container on the daemon's network reach the host's loopback (slirp's 10.0.2.2).
        docker run --rm --network host busybox nc -z -w 2 10.0.2.2 {registry.rsplit(":", 1)[1]} \\
             && echo HOST-LOOPBACK-OPEN || echo HOST-LOOPBACK-REFUSED
        dockerlearn destroy --name b >/dev/null
    """)
    out = attempt.stdout
    catalog = next(l for l in out.splitlines() if l.startswith("MIRROR-CATALOG"))
    assert "library/busybox" in catalog and "secret" not in catalog and "a/app" not in catalog, catalog
    for expected in ("SOCKET-REFUSED", "STATE-REFUSED", "NOTEBOOKS-REFUSED", "PROGRESS-REFUSED",
                     "MIRROR-SEARCH-SEEDS", "CATALOG-401", "GUESS-401",
                     "DELETE-401", "LOGIN-REFUSED", "MIRROR-SECRET-404", "MIRROR-APP-404",
                     "DAEMON-MIRROR-REFUSED", "DAEMON-REGISTRY-REFUSED", "HOST-LOOPBACK-REFUSED"):
        assert expected in out, f"{expected} missing:\n{out}\n{attempt.stderr}"
    check = as_user(learner, "eval \"$(dockerlearn env --name rl)\" && "
                             "curl -s -u \"student:$REGISTRY_PASSWORD\" http://$REGISTRY/v2/a/app/tags/list")
    assert '"1"' in check.stdout, "A's pushed image is still there"
