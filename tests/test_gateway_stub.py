"""The gateway (`python -m dockerlearn.sandbox.gateway CONFIG`) against a stub backend standing in for
docker-registry: no daemon, no registry, under a second. tests/test_gateway.py covers the same
front door with the real registry and the docker CLI; this file pins down what the gateway
itself does to each request: which port may write, whose credentials reach the backend,
what is refused, and what the public view lets through."""
from __future__ import annotations

import base64
import http.client
import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from dockerlearn.sandbox import gateway as gateway_module
from dockerlearn.sandbox import procs
from dockerlearn.sandbox.gateway import OFFLINE_REASON, PUBLIC_REASON, READ_ONLY_REASON

SERVICE_AUTH = "Basic " + base64.b64encode(b"dockerlearn-service:s3rvice").decode()
CLIENT_AUTH = "Basic " + base64.b64encode(b"student:secret").decode()
MANIFEST = b'{"schemaVersion": 2}'
CATALOG = ["library/busybox", "library/debian", "library/private", "tools/busybox-extras"]
TAGS = {"library/busybox": ["latest", "1.36.1", "1", "glibc", "1.36"],
        "library/debian": ["latest", "bookworm", "12", "bookworm-slim"],
        "library/private": ["1"]}
SEARCH_META = {"library/busybox": {"description": "BusyBox 静态程序", "stars": 3, "official": True},
               "library/debian": {"description": "Debian bookworm 基础镜像", "stars": 5, "official": True}}


class StubRegistry(BaseHTTPRequestHandler):
    """Answers like docker-registry would, and remembers every request it was sent."""
    protocol_version = "HTTP/1.1"
    seen: list = []

    def log_message(self, *args):
        pass

    def handle_any(self):
        body = b""
        if "chunked" in self.headers.get("Transfer-Encoding", ""):
            while (size := int(self.rfile.readline().strip() or b"0", 16)):
                body += self.rfile.read(size)
                self.rfile.readline()
            self.rfile.readline()
        elif self.headers.get("Content-Length"):
            body = self.rfile.read(int(self.headers["Content-Length"]))
        self.seen.append({"method": self.command, "path": self.path, "body": body,
                          "auth": self.headers.get_all("Authorization") or [],
                          "accept": self.headers.get_all("Accept") or []})
        path = self.path.split("?")[0]
        if path == "/v2/_catalog":
            return self.answer(200, json.dumps({"repositories": CATALOG}).encode())
        if path.endswith("/tags/list"):
            repo = path[len("/v2/"):-len("/tags/list")]
            if repo not in TAGS:
                return self.answer(404, b'{"errors":[{"code":"NAME_UNKNOWN"}]}')
            return self.answer(200, json.dumps({"name": repo, "tags": TAGS[repo]}).encode())
        if "/manifests/" in path and path.split("/manifests/")[0][len("/v2/"):] not in CATALOG:
            return self.answer(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN"}]}')
        if "/manifests/" in path and self.command in ("GET", "HEAD"):
            return self.answer(200, MANIFEST, {"Docker-Content-Digest": "sha256:" + "a" * 64})
        if self.command in ("PUT", "POST", "PATCH"):
            return self.answer(201, b"")
        self.answer(200, b"{}")

    def answer(self, status, body, headers=None):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = handle_any


@pytest.fixture(scope="module")
def stub():
    handler = type("Stub", (StubRegistry,), {"seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    handler.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield handler
    server.shutdown()
    server.server_close()


def answers(port: int) -> bool:
    """Ready when a whole answer comes back (procs.http_ready hangs up after five bytes, which
    the gateway logs as a broken connection when the backend is down)."""
    try:
        request(port, "GET", "/v2/")
        return True
    except OSError:
        return False


def start_gateway(tmp, backend_port: int, seeded: dict | None = None, **extra):
    """The gateway as the sandbox starts it; returns (process, {role: port})."""
    ports = {"mirror": procs.free_port(), "registry": procs.free_port(), "public": procs.free_port()}
    state = tmp / "state.json"
    state.write_text(json.dumps({"seeded": seeded or {}}))
    meta = tmp / "search.json"
    meta.write_text(json.dumps(SEARCH_META, ensure_ascii=False))
    config = {"backend_port": backend_port, "mirror_port": ports["mirror"], "registry_port": ports["registry"],
              "public_mirror_port": ports["public"], "state_file": str(state), "search_meta": str(meta),
              "service_auth": SERVICE_AUTH, **extra}
    (tmp / "gateway.json").write_text(json.dumps(config))
    proc = subprocess.Popen([sys.executable, "-m", "dockerlearn.sandbox.gateway", str(tmp / "gateway.json")],
                            stderr=open(tmp / "gateway.log", "w"))
    try:
        for port in ports.values():
            procs.wait_until(lambda: answers(port), what="gateway", timeout=10, log=tmp / "gateway.log", proc=proc)
    except BaseException:
        proc.kill()
        raise
    return proc, ports


@pytest.fixture(scope="module")
def gateway(stub, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gateway")
    seeded = {"busybox:latest": "sha256:1", "busybox:1": "sha256:1", "debian:bookworm": "sha256:2"}
    proc, ports = start_gateway(tmp, stub.port, seeded)
    ports["state"] = tmp / "state.json"
    yield ports
    proc.terminate()
    proc.wait(10)


@pytest.fixture(autouse=True)
def _clean(request):
    if "stub" in request.fixturenames:
        request.getfixturevalue("stub").seen.clear()


def request(port: int, method: str, path: str, headers=(), body: bytes | None = None, chunked=False):
    """One raw request: headers as a list, so a header may repeat (Docker sends several Accept)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for k, v in headers:
            conn.putheader(k, v)
        if body is not None and not chunked:
            conn.putheader("Content-Length", str(len(body)))
        if chunked:
            conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        if body is not None:
            if chunked:
                for i in range(0, len(body), 7):
                    part = body[i:i + 7]
                    conn.send(b"%x\r\n%s\r\n" % (len(part), part))
                conn.send(b"0\r\n\r\n")
            else:
                conn.send(body)
        resp = conn.getresponse()
        return resp.status, resp.reason, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def utf8(reason: str) -> str:
    """http.client decodes the status line as latin-1; the gateway writes it in UTF-8."""
    return reason.encode("latin-1").decode("utf-8")


# ---------------------------------------------------------------- the mirror: read-only, service auth
@pytest.mark.parametrize("method", ["PUT", "POST", "PATCH", "DELETE"])
@pytest.mark.parametrize("role", ["mirror", "public"])
def test_mirror_is_read_only(stub, gateway, role, method):
    path = "/v2/library/busybox/manifests/latest" if method in ("PUT", "DELETE") else "/v2/library/busybox/blobs/uploads/"
    status, _, _, body = request(gateway[role], method, path, [("Authorization", CLIENT_AUTH)], body=b"{}")
    assert status == 405
    error = json.loads(body)["errors"][0]
    assert error["code"] == "UNSUPPORTED" and error["message"] == READ_ONLY_REASON
    assert stub.seen == []  # refused at the door: the backend never heard of it


@pytest.mark.parametrize("client_auth", [[], [CLIENT_AUTH], ["Bearer forged"]])
def test_mirror_reads_with_the_service_credentials(stub, gateway, client_auth):
    accept = ["application/vnd.docker.distribution.manifest.v2+json", "application/vnd.oci.image.index.v1+json"]
    headers = [("Authorization", a) for a in client_auth] + [("Accept", a) for a in accept]
    status, _, resp_headers, body = request(gateway["mirror"], "GET", "/v2/library/busybox/manifests/latest", headers)
    assert status == 200 and body == MANIFEST
    assert resp_headers["docker-content-digest"] == "sha256:" + "a" * 64
    (seen,) = stub.seen
    assert seen["method"] == "GET" and seen["path"] == "/v2/library/busybox/manifests/latest"
    assert seen["auth"] == [SERVICE_AUTH]  # the client's header is replaced, never added to
    assert seen["accept"] == accept  # every Accept header survives, in order


def test_mirror_head_forwards_without_body(stub, gateway):
    status, _, headers, body = request(gateway["mirror"], "HEAD", "/v2/library/busybox/manifests/latest")
    assert status == 200 and body == b"" and headers["content-length"] == str(len(MANIFEST))
    assert [s["method"] for s in stub.seen] == ["HEAD"]


# ---------------------------------------------------------------- the registry: the client's own credentials
@pytest.mark.parametrize("client_auth", [[], [CLIENT_AUTH]])
def test_registry_passes_the_clients_authorization_through(stub, gateway, client_auth):
    headers = [("Authorization", a) for a in client_auth]
    assert request(gateway["registry"], "GET", "/v2/", headers)[0] == 200
    (seen,) = stub.seen
    assert seen["auth"] == client_auth  # no service credentials slipped in, none dropped


@pytest.mark.parametrize("chunked", [False, True])
def test_registry_forwards_writes_with_their_body(stub, gateway, chunked):
    layer = bytes(range(256)) * 40 + b"tail"
    status = request(gateway["registry"], "PATCH", "/v2/app/blobs/uploads/abc", [("Authorization", CLIENT_AUTH)],
                     body=layer, chunked=chunked)[0]
    assert status == 201
    (seen,) = stub.seen
    assert seen["method"] == "PATCH" and seen["body"] == layer and seen["auth"] == [CLIENT_AUTH]


# ---------------------------------------------------------------- the proxy that keeps the daemon offline
@pytest.mark.parametrize("role", ["mirror", "registry", "public"])
def test_the_way_out_is_refused(stub, gateway, role):
    conn = http.client.HTTPConnection("127.0.0.1", gateway[role], timeout=10)
    try:
        conn.putrequest("CONNECT", "registry-1.docker.io:443", skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", "registry-1.docker.io:443")
        conn.endheaders()
        resp = conn.getresponse()
        assert resp.status == 403 and utf8(resp.reason) == OFFLINE_REASON
        assert resp.getheader("Content-Type") == "text/plain; charset=utf-8"
        assert resp.read().decode("utf-8") == OFFLINE_REASON
    finally:
        conn.close()
    for url in ("http://registry-1.docker.io/v2/", "https://example.com/"):
        status, reason, _, body = request(gateway[role], "GET", url)
        assert status == 403 and utf8(reason) == OFFLINE_REASON and "沙箱离线" in body.decode("utf-8")
    assert stub.seen == []


def refusal(port: int, target: str) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.putrequest("CONNECT", target, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", target)
        conn.endheaders()
        return utf8(conn.getresponse().reason)
    finally:
        conn.close()


def test_the_refusal_says_why_the_mirror_failed(stub, tmp_path, monkeypatch):
    """The daemon asks the mirror, then falls back to Docker Hub through us: the refusal of that
    fallback says what the mirror found, when it was moments before, and only for Docker Hub."""
    proc, ports = start_gateway(tmp_path, stub.port)
    try:
        mirror = ports["mirror"]
        assert request(mirror, "GET", "/v2/library/nginx/manifests/latest")[0] == 404
        missing = gateway_module.MISSING_REASON.format(repo="nginx")
        assert refusal(mirror, "registry-1.docker.io:443") == missing
        assert refusal(mirror, "ghcr.io:443") == OFFLINE_REASON  # another registry: not the mirror's miss
        assert refusal(mirror, "index.docker.io:443") == OFFLINE_REASON  # docker search goes there directly
    finally:
        proc.terminate()
        proc.wait(10)
    # The registry behind the gateway stopped: the pull's fallback says so.
    proc, ports = start_gateway(tmp_path, procs.free_port())
    try:
        assert request(ports["mirror"], "GET", "/v2/library/busybox/manifests/latest")[0] == 502
        assert refusal(ports["mirror"], "registry-1.docker.io:443") == gateway_module.DOWN_REASON
    finally:
        proc.terminate()
        proc.wait(10)


def test_only_the_registry_api_lives_here(stub, gateway):
    status, _, _, body = request(gateway["registry"], "GET", "/index.html")
    assert status == 404 and json.loads(body)["errors"][0]["code"] == "NOT_FOUND"
    assert stub.seen == []


# ---------------------------------------------------------------- v1 search and sorted tags
@pytest.mark.parametrize("role", ["mirror", "registry"])
def test_v1_search_answers_from_the_catalog(stub, gateway, role):
    status, _, headers, body = request(gateway[role], "GET", "/v1/search?q=busybox&n=25")
    assert status == 200 and headers["content-type"] == "application/json"
    data = json.loads(body)
    assert data["query"] == "busybox" and data["page_size"] == 25
    # A match by name, with or without a description; most stars first, then by name.
    assert [r["name"] for r in data["results"]] == ["library/busybox", "tools/busybox-extras"]
    assert data["results"][0] == {"name": "library/busybox", "description": "BusyBox 静态程序", "star_count": 3,
                                  "is_official": True, "is_automated": False}
    assert data["num_results"] == 2
    # The catalog is read with the service's credentials, whichever port was asked.
    assert [(s["path"].split("?")[0], s["auth"]) for s in stub.seen] == [("/v2/_catalog", [SERVICE_AUTH])]
    # A description matches too; n limits; a bad n falls back to 25.
    data = json.loads(request(gateway[role], "GET", "/v1/search?q=%E5%9F%BA%E7%A1%80&n=5")[3])
    assert [r["name"] for r in data["results"]] == ["library/debian"]
    data = json.loads(request(gateway[role], "GET", "/v1/search?q=library&n=1")[3])
    assert [r["name"] for r in data["results"]] == ["library/debian"] and data["num_results"] == 1
    assert json.loads(request(gateway[role], "GET", "/v1/search?q=library&n=many")[3])["page_size"] == 25
    status, _, headers, _ = request(gateway[role], "GET", "/v1/_ping")
    assert status == 200 and headers["x-docker-registry-standalone"] == "true"


def test_searches_are_recorded_with_their_client(stub, tmp_path):
    """Lesson 09's checks ask whether the learner searched: the gateway notes each search, with the
    client dockerd names last in its user agent (the checks' own searches say dockerlearn)."""
    log = tmp_path / "searches.jsonl"
    proc, ports = start_gateway(tmp_path, stub.port, search_log=str(log))
    try:
        daemon = "docker/20.10.24 go/go1.19.8 os/linux UpstreamClient(Docker-Client/20.10.24 \\(linux\\))"
        request(ports["mirror"], "GET", "/v1/search?q=&n=25", headers=[("User-Agent", daemon)])
        request(ports["registry"], "GET", "/v1/search?q=busybox&n=1", headers=[("User-Agent", "docker/20.10 UpstreamClient(dockerlearn)")])
        lines = [json.loads(line) for line in log.read_text().splitlines()]
        assert lines[0] == {"term": "", "names": ["library/debian", "library/busybox", "library/private", "tools/busybox-extras"],
                            "everything": True, "client": "Docker-Client/20.10.24 (linux)"}
        assert lines[1] == {"term": "busybox", "names": ["library/busybox"], "everything": False, "client": "dockerlearn"}
        assert (log.stat().st_mode & 0o777) == 0o600
        # A full log stops growing; the search itself still answers.
        log.write_text("x" * (gateway_module.SEARCH_LOG_LIMIT + 1))
        assert request(ports["mirror"], "GET", "/v1/search?q=debian")[0] == 200
        assert log.stat().st_size == gateway_module.SEARCH_LOG_LIMIT + 1
        # Where the log cannot be written (a directory here, a full disk for a learner), the search still answers.
        log.unlink()
        log.mkdir()
        assert request(ports["mirror"], "GET", "/v1/search?q=debian")[0] == 200
        assert "search not recorded" in (tmp_path / "gateway.log").read_text()
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.parametrize("role", ["mirror", "registry"])
def test_tags_are_listed_sorted(stub, gateway, role):
    status, _, _, body = request(gateway[role], "GET", "/v2/library/busybox/tags/list", [("Authorization", CLIENT_AUTH)])
    assert status == 200
    assert json.loads(body) == {"name": "library/busybox", "tags": sorted(TAGS["library/busybox"])}
    # An unknown repository keeps the registry's own answer.
    status, _, _, body = request(gateway[role], "GET", "/v2/nobody/tags/list")
    assert status == 404 and json.loads(body)["errors"][0]["code"] == "NAME_UNKNOWN"


# ---------------------------------------------------------------- the public view: seeds only
def test_public_view_shows_only_the_seeds(stub, gateway):
    public = gateway["public"]
    status, _, _, body = request(public, "GET", "/v2/_catalog")
    assert status == 200 and body == b'{"repositories":["library/busybox","library/debian"]}\n'
    assert json.loads(request(public, "GET", "/v2/library/busybox/tags/list")[3]) == \
        {"name": "library/busybox", "tags": ["1", "latest"]}
    for path in ("/v2/library/private/tags/list", "/v2/library/private/manifests/1",
                 "/v2/tools/busybox-extras/blobs/sha256:" + "b" * 64):
        status, _, _, body = request(public, "GET", path)
        assert status == 404 and json.loads(body)["errors"][0] == \
            {"code": "NAME_UNKNOWN", "message": PUBLIC_REASON, "detail": None}, path
    # A seeded repository, but a tag that is not a seed (a learner's push under library/).
    status, _, _, body = request(public, "GET", "/v2/library/busybox/manifests/1.36.1")
    assert status == 404 and json.loads(body)["errors"][0]["code"] == "MANIFEST_UNKNOWN"
    assert stub.seen == []  # none of that reached the registry
    # Seeded tags, digests and blobs of seeded repositories pass, with the service's credentials.
    for path in ("/v2/", "/v2/library/busybox/manifests/latest", "/v2/library/debian/manifests/sha256:" + "c" * 64,
                 "/v2/library/debian/blobs/sha256:" + "d" * 64):
        assert request(public, "GET", path, [("Authorization", CLIENT_AUTH)])[0] == 200, path
    assert [(s["path"], s["auth"]) for s in stub.seen] == [
        ("/v2/", [SERVICE_AUTH]), ("/v2/library/busybox/manifests/latest", [SERVICE_AUTH]),
        ("/v2/library/debian/manifests/sha256:" + "c" * 64, [SERVICE_AUTH]),
        ("/v2/library/debian/blobs/sha256:" + "d" * 64, [SERVICE_AUTH])]


def test_public_view_follows_the_state_file(stub, gateway):
    """A reset re-seeds while the gateway runs: the state is read per request."""
    state = gateway["state"]
    before = state.read_text()
    try:
        state.write_text(json.dumps({"seeded": {"busybox:latest": "sha256:1"}}))
        assert json.loads(request(gateway["public"], "GET", "/v2/_catalog")[3]) == {"repositories": ["library/busybox"]}
        state.write_text("{damaged")
        assert json.loads(request(gateway["public"], "GET", "/v2/_catalog")[3]) == {"repositories": []}
        assert request(gateway["public"], "GET", "/v2/library/busybox/manifests/latest")[0] == 404
    finally:
        state.write_text(before)
    # The sandbox's own mirror was never limited to the seeds.
    assert request(gateway["mirror"], "GET", "/v2/library/private/manifests/1")[0] == 200


# ---------------------------------------------------------------- a backend that is down
def test_backend_down_gives_502_in_chinese(tmp_path):
    proc, ports = start_gateway(tmp_path, procs.free_port())  # nothing listens there
    try:
        for role in ("mirror", "registry", "public"):
            status, _, _, body = request(ports[role], "GET", "/v2/library/busybox/manifests/latest"
                                         if role != "public" else "/v2/")
            assert status == 502, role
            error = json.loads(body)["errors"][0]
            assert error["code"] == "UNAVAILABLE"
            assert error["message"].startswith("沙箱的本地镜像仓库没有响应 (registry not answering)")
            assert "dockerlearn up" in error["message"]
    finally:
        proc.terminate()
        proc.wait(10)
    log = (tmp_path / "gateway.log").read_text()
    assert "the local registry is not answering" in log and "Traceback" not in log


def test_a_burst_of_connections_is_not_kept_waiting(stub, gateway):
    """Docker opens several connections at once for a pull's layers; 50 at once are all answered.
    A listen queue of 5 answered them too, but kept some waiting for SYN retries (seconds): the
    queue must hold a burst (how long it takes is bench/, not a timed test)."""
    import socket
    assert gateway_module.Server.request_queue_size >= 64
    conns = [socket.create_connection(("127.0.0.1", gateway["mirror"]), timeout=10) for _ in range(50)]
    try:
        for c in conns:
            c.sendall(b"GET /v1/_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answers = [c.recv(64) for c in conns]
    finally:
        for c in conns:
            c.close()
    assert all(a.startswith(b"HTTP/1.1 200") for a in answers)
