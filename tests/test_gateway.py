"""The registry gateway: v1 search, the read-only anonymous mirror, the authenticated registry,
and the proxy that keeps the daemon offline. Raw HTTP where the protocol is the point,
the real docker CLI where the learner's command is."""
from __future__ import annotations

import base64
import http.client
import json

import pytest

from dockerlearn.sandbox.gateway import OFFLINE_REASON
from dockerlearn.sandbox.registry import STUDENT_USER

pytestmark = pytest.mark.daemon


@pytest.fixture(scope="module")
def gw(sandbox):
    """The shared sandbox, reset once: the registry holds only the seeds, so search results are known."""
    sandbox.reset()
    return sandbox


def request(address: str, method: str, path: str, headers: dict | None = None, body: bytes | None = None):
    host, port = address.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.reason, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def basic(user: str, password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def ok(proc):
    assert proc.returncode == 0, f"{proc.args}\nstdout: {proc.stdout}\nstderr: {proc.stderr}"
    return proc


# ---------------------------------------------------------------- v1 search
@pytest.mark.parametrize("port", ["mirror", "registry"])
def test_v1_search_format(gw, port):
    address = gw.mirror_address if port == "mirror" else gw.registry_address
    status, _, headers, body = request(address, "GET", "/v1/search?q=busybox&n=25")
    assert status == 200 and headers["content-type"] == "application/json"
    data = json.loads(body)
    assert data["query"] == "busybox" and data["num_results"] == len(data["results"]) == 1
    (hit,) = data["results"]
    assert set(hit) == {"name", "description", "star_count", "is_official", "is_automated"}
    assert hit["name"] == "library/busybox"
    assert isinstance(hit["description"], str) and "BusyBox" in hit["description"]
    assert hit["star_count"] == 3 and hit["is_official"] is True and hit["is_automated"] is False
    # Ordered by stars, limited by n.
    data = json.loads(request(address, "GET", "/v1/search?q=library&n=1")[3])
    assert [r["name"] for r in data["results"]] == ["library/debian"]
    assert json.loads(request(address, "GET", "/v1/search?q=nothing-like-this")[3])["results"] == []


def search(gw, *args: str) -> list[list[str]]:
    proc = ok(gw.run(["search", *args, "--format", "{{.Name}}\t{{.StarCount}}\t{{.IsOfficial}}\t{{.Description}}"]))
    return [line.split("\t") for line in proc.stdout.splitlines()]


def test_docker_search(gw):
    reg = gw.registry_address
    rows = search(gw, f"{reg}/busybox")
    assert [r[:3] for r in rows] == [["library/busybox", "3", "[OK]"]]
    assert "BusyBox" in rows[0][3]
    # Both seeds, most stars first; --limit keeps the first.
    assert [r[0] for r in search(gw, f"{reg}/library")] == ["library/debian", "library/busybox"]
    assert [r[0] for r in search(gw, f"{reg}/library", "--limit", "1")] == ["library/debian"]
    assert [r[0] for r in search(gw, f"{reg}/library", "--filter", "stars=4")] == ["library/debian"]
    assert search(gw, f"{reg}/busybox", "--filter", "stars=4") == []
    assert [r[0] for r in search(gw, f"{reg}/library", "--filter", "is-official=true")] \
        == ["library/debian", "library/busybox"]
    assert search(gw, f"{reg}/library", "--filter", "is-official=false") == []
    # The table a learner sees.
    table = ok(gw.run(["search", f"{reg}/busybox"])).stdout
    # The sandbox CLI (20.10) still prints the empty AUTOMATED column that 23.0 dropped.
    assert table.splitlines()[0].split() == ["NAME", "DESCRIPTION", "STARS", "OFFICIAL", "AUTOMATED"]
    assert "library/busybox" in table and "[OK]" in table


# ---------------------------------------------------------------- the mirror: anonymous, read-only
def test_mirror_is_anonymous_and_read_only(gw):
    mirror = gw.mirror_address
    assert request(mirror, "GET", "/v2/")[0] == 200
    status, _, _, body = request(mirror, "GET", "/v2/library/busybox/tags/list")
    assert status == 200 and "latest" in json.loads(body)["tags"]
    # Whatever credentials a client sends, the mirror reads with its own.
    assert request(mirror, "GET", "/v2/", basic("student", "wrong"))[0] == 200
    before = gw.registry_client().tags("library/busybox")
    for method, path in (("POST", "/v2/library/busybox/blobs/uploads/"),
                         ("PUT", "/v2/library/busybox/manifests/evil"),
                         ("PATCH", "/v2/library/busybox/blobs/uploads/x"),
                         ("DELETE", "/v2/library/busybox/manifests/latest")):
        status, _, _, body = request(mirror, method, path, basic(STUDENT_USER, gw.state.student_password), body=b"{}")
        assert status == 405, (method, path, status)
        assert json.loads(body)["errors"][0]["code"] == "UNSUPPORTED"
    assert gw.registry_client().tags("library/busybox") == before


@pytest.fixture
def public_view(gw, tmp_path):
    """A second gateway on the sandbox's registry, with the public view rootless mode publishes
    on the host (the daemon keeps the full mirror inside its own network)."""
    import subprocess
    import sys
    from dockerlearn.sandbox import procs
    cfg = json.loads((gw.paths.root / "gateway.json").read_text())
    ports = [procs.free_port() for _ in range(3)]
    cfg.update(mirror_port=ports[0], registry_port=ports[1], public_mirror_port=ports[2],
               state_file=str(gw.paths.state_file), daemon_pidfile="")  # rootless: the mirror port is the namespace's
    (tmp_path / "gw.json").write_text(json.dumps(cfg))
    proc = subprocess.Popen([sys.executable, "-m", "dockerlearn.sandbox.gateway", str(tmp_path / "gw.json")])
    try:
        procs.wait_until(lambda: procs.http_ready(ports[2]), what="gateway", timeout=10, log=tmp_path / "none")
        yield f"127.0.0.1:{ports[2]}", f"127.0.0.1:{ports[0]}"
    finally:
        proc.terminate()
        proc.wait(10)


def test_public_view_of_the_mirror_shows_only_the_seeds(gw, public_view):
    public, inside = public_view
    ok(gw.run("pull -q busybox"))
    ok(gw.run(["tag", "busybox", f"{gw.registry_address}/library/private:1"]))
    ok(gw.run(["login", "-u", STUDENT_USER, "--password-stdin", gw.registry_address],
              input=gw.state.student_password))
    ok(gw.run(["push", "-q", f"{gw.registry_address}/library/private:1"]))
    ok(gw.run(["tag", "busybox", f"{gw.registry_address}/library/busybox:pushed"]))
    ok(gw.run(["push", "-q", f"{gw.registry_address}/library/busybox:pushed"]))
    # The daemon's own mirror serves what the learner pushed under library/ ...
    assert "library/private" in json.loads(request(inside, "GET", "/v2/_catalog")[3])["repositories"]
    assert request(inside, "GET", "/v2/library/private/manifests/1")[0] == 200
    # ... the public view only the seeds, worded as the registry would.
    status, _, _, body = request(public, "GET", "/v2/_catalog")
    assert status == 200 and body == b'{"repositories":["library/busybox","library/debian"]}\n'
    assert request(public, "GET", "/v2/")[0] == 200
    assert request(public, "GET", "/v2/library/private/tags/list")[0] == 404
    assert request(public, "GET", "/v2/library/private/manifests/1")[0] == 404
    tags = json.loads(request(public, "GET", "/v2/library/busybox/tags/list")[3])["tags"]
    assert "latest" in tags and "pushed" not in tags
    accept = {"Accept": "application/vnd.docker.distribution.manifest.v2+json"}
    assert request(public, "GET", "/v2/library/busybox/manifests/latest", accept)[0] == 200
    assert request(public, "GET", "/v2/library/busybox/manifests/pushed", accept)[0] == 404
    assert request(public, "PUT", "/v2/library/busybox/manifests/x", body=b"{}")[0] == 405
    gw.reset()


@pytest.mark.parametrize("port", ["mirror", "registry"])
def test_proxy_refuses_the_way_out(gw, port):
    """The mirror is dockerd's HTTP(S) proxy: CONNECT and absolute URLs are refused, on both ports."""
    address = gw.mirror_address if port == "mirror" else gw.registry_address
    host, p = address.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(p), timeout=10)
    try:
        conn.putrequest("CONNECT", "registry-1.docker.io:443", skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", "registry-1.docker.io:443")
        conn.endheaders()
        resp = conn.getresponse()
        assert resp.status == 403
        assert resp.reason.encode("latin-1").decode("utf-8") == OFFLINE_REASON  # UTF-8 on the wire
        assert "sandbox is offline" in resp.read().decode("utf-8")
    finally:
        conn.close()
    status, reason, _, _ = request(address, "GET", "http://example.com/")
    assert status == 403 and reason.encode("latin-1").decode("utf-8") == OFFLINE_REASON


# ---------------------------------------------------------------- the registry: authenticated
def test_registry_requires_auth(gw):
    reg = gw.registry_address
    status, _, headers, _ = request(reg, "GET", "/v2/")
    assert status == 401
    assert headers["www-authenticate"].startswith("Basic ")
    assert 'realm="dockerlearn"' in headers["www-authenticate"]
    assert request(reg, "GET", "/v2/library/busybox/tags/list")[0] == 401
    assert request(reg, "GET", "/v2/", basic(STUDENT_USER, "wrong"))[0] == 401
    assert request(reg, "GET", "/v2/", basic(STUDENT_USER, gw.state.student_password))[0] == 200
    status, _, _, body = request(reg, "GET", "/v2/library/busybox/tags/list", basic(STUDENT_USER, gw.state.student_password))
    assert status == 200 and "latest" in json.loads(body)["tags"]


def test_push_after_login(gw):
    reg, mirror = gw.registry_address, gw.mirror_address
    ok(gw.run(["pull", "busybox"]))
    target = f"{reg}/gwpush/app:1"
    ok(gw.run(["tag", "busybox", target]))
    try:
        proc = gw.run(["push", target])
        assert proc.returncode != 0 and "no basic auth credentials" in proc.stderr
        bad = gw.run(["login", "-u", STUDENT_USER, "--password-stdin", reg], input="wrong\n")
        assert bad.returncode != 0
        ok(gw.run(["login", "-u", STUDENT_USER, "--password-stdin", reg], input=gw.state.student_password + "\n"))
        ok(gw.run(["push", target]))
        assert gw.registry_client().tags("gwpush/app") == ["1"]
        # What was pushed pulls back, through the registry and (anonymously) through the mirror.
        ok(gw.run(["rmi", target]))
        ok(gw.run(["pull", target]))
        ok(gw.run(["pull", f"{mirror}/gwpush/app:1"]))
        # Pushing to the mirror stays refused, logged in or not.
        ok(gw.run(["tag", "busybox", f"{mirror}/gwpush/app:2"]))
        proc = gw.run(["push", f"{mirror}/gwpush/app:2"])
        assert proc.returncode != 0 and "read-only" in proc.stderr
        assert gw.registry_client().tags("gwpush/app") == ["1"]
    finally:
        gw.run(["logout", reg])
        gw.run(["rmi", target, f"{mirror}/gwpush/app:1", f"{mirror}/gwpush/app:2"])
