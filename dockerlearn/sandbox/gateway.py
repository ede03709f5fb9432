"""The sandbox's front door to its registry, run as `python -m dockerlearn.sandbox.gateway CONFIG`.

It listens on two loopback ports, both backed by one docker-registry:
- the *mirror* port is the daemon's --registry-mirror: anonymous and read-only, like
  pulling a public image from Docker Hub;
- the *registry* port is a private registry: every request passes through with the
  client's own credentials, so `docker login` and `docker push` meet real htpasswd auth.
- the *public view* of the mirror (rootless mode only): what the host's 127.0.0.1 sees at
  the mirror's port number (rootlesskit publishes it there). It shows only the seeds, the
  same public images on every machine; what a learner pushed under library/ stays visible
  to their own daemon alone.
Both answer Docker's v1 search API (`/v1/search`) from the registry catalog, which the
distribution registry lacks. The mirror port is also the daemon's HTTPS proxy: any
attempt to reach Docker Hub is refused here at once, so nothing leaves the machine.
Standard library only, to start fast and stay small.
"""
from __future__ import annotations

import http.client
import json
import os
import re
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
              "trailers", "transfer-encoding", "upgrade"}
CHUNK = 1 << 16
TAGS_LIST_RE = re.compile(r"^/v2/.+/tags/list(\?.*)?$")
# Shown by docker to the learner (as the reason of the proxy's refusal), so in Chinese first.
OFFLINE_REASON = ("沙箱离线 (sandbox is offline)：只能访问沙箱自己的镜像仓库服务；"
                  "镜像加速器里没有的镜像拉取不到。运行 dockerlearn status 查看沙箱的服务，并检查磁盘空间")
# The daemon asks the mirror first and comes to the proxy only when the mirror failed: the refusal
# then says why the mirror failed, when that happened moments before.
MISSING_REASON = ("沙箱离线 (sandbox is offline)：沙箱里没有镜像 {repo} (not found)，拉取不到。"
                  "沙箱里只有种子镜像 busybox、debian 和推送到 $REGISTRY 的镜像；用 docker search $REGISTRY/ 查看")
DOWN_REASON = ("沙箱离线 (sandbox is offline)：沙箱的镜像仓库服务没有响应 (registry not answering)。"
               "运行 dockerlearn up 重新启动它（镜像和数据都还在）；还不行就运行 dockerlearn status，并检查磁盘空间")
ERROR_REASON = ("沙箱离线 (sandbox is offline)：沙箱的镜像仓库服务出错了 (registry error {status})，"
                "常见的原因是磁盘已满：检查磁盘空间，运行 dockerlearn status 查看网关日志 gateway.log")
RECENT = 10.0  # seconds: a mirror failure this recent explains the refusal that follows it
_last_failure: list = [0.0, ""]  # [monotonic time, reason]; one gateway serves one daemon


def mirror_failed(reason: str) -> None:
    _last_failure[:] = [time.monotonic(), reason]


HUB_HOSTS = ("registry-1.docker.io",)  # where a pull falls back to after a mirror miss (search goes to index.docker.io)


def offline_reason(target: str) -> str:
    """Why the way out to target (a CONNECT's host:port, or a URL) is refused, as the learner reads it."""
    when, reason = _last_failure
    host = urlsplit(target if "//" in target else "//" + target).hostname or ""
    if reason and host in HUB_HOSTS and time.monotonic() - when < RECENT:
        return reason
    return OFFLINE_REASON


READ_ONLY_REASON = "加速器是只读的 (the mirror is read-only)：请推送到沙箱的镜像仓库服务 $REGISTRY"
PUBLIC_REASON = "从沙箱外只能看到加速器里的种子镜像 (only the seeds are public)"
REPO_PATH_RE = re.compile(r"^/v2/(?P<repo>.+)/(?P<kind>manifests|blobs|tags)/(?P<ref>[^?]*)")


def seeded_tags(config: dict) -> dict[str, list[str]]:
    """{"library/busybox": ["1", "latest", ...]} from the sandbox's state (read per request:
    a reset re-seeds while the gateway runs)."""
    try:
        seeded = json.loads(Path(config["state_file"]).read_text()).get("seeded") or {}
    except (OSError, ValueError, KeyError):
        seeded = {}
    found: dict[str, list[str]] = {}
    for ref in seeded:
        name, _, tag = ref.rpartition(":")
        found.setdefault(f"library/{name}", []).append(tag)
    return {repo: sorted(tags) for repo, tags in found.items()}


def peer_is_process(peer: tuple, local_port: int, pid: int) -> bool:
    """Whether the TCP connection from peer (ip, port) to our local_port belongs to process pid:
    the peer's socket inode (/proc/net/tcp) among the process's open files. Root mode's mirror
    listens on the machine's 127.0.0.1, where any user and any other sandbox's daemon can connect."""
    want = f"{socket.inet_aton(peer[0])[::-1].hex().upper()}:{peer[1]:04X}"
    inode = None
    try:
        with open("/proc/net/tcp") as f:
            next(f)
            for line in f:
                fields = line.split()
                if fields[1] == want and fields[2].endswith(f":{local_port:04X}"):
                    inode = fields[9]
                    break
        if inode is None:
            return False
        fds = f"/proc/{pid}/fd"
        target = f"socket:[{inode}]"
        for fd in os.listdir(fds):
            try:
                if os.readlink(f"{fds}/{fd}") == target:
                    return True
            except OSError:  # closed meanwhile
                continue
    except (OSError, ValueError, StopIteration):
        return False
    return False


def daemon_pid(config: dict) -> int:
    try:
        return int(Path(config["daemon_pidfile"]).read_text().strip())
    except (OSError, ValueError, KeyError):
        return 0


def log(text: str) -> None:
    """One line to gateway.log: why a request failed, for `dockerlearn status` and for teachers."""
    print(time.strftime("%Y-%m-%d %H:%M:%S"), text, file=sys.stderr, flush=True)


def search(config: dict, query: str, limit: int, agent: str = "", only: set | None = None) -> dict:
    """Answer /v1/search the way Docker Hub's v1 API did, from the registry catalog (only: the
    repositories the public view shows)."""
    from .registry import RegistryClient  # shared with the package; imported on first search only
    client = RegistryClient(f"127.0.0.1:{config['backend_port']}")
    client.auth = config["service_auth"]
    repos = [r for r in client.catalog() if only is None or r in only]
    try:
        meta = json.loads(Path(config["search_meta"]).read_text())
    except (OSError, ValueError):
        meta = {}
    term = query.lower().strip()
    results = []
    for repo in repos:
        info = meta.get(repo, {})
        desc = info.get("description", "")
        if term in repo.lower() or (term and term in desc.lower()):
            results.append({"name": repo, "description": desc, "star_count": int(info.get("stars", 0)),
                            "is_official": bool(info.get("official", False)), "is_automated": False})
    results.sort(key=lambda r: (-r["star_count"], r["name"]))
    results = results[:limit]
    record_search(config, query, [r["name"] for r in results], len(results) == len(repos), agent)
    return {"num_pages": 1, "num_results": len(results), "page": 1, "page_size": limit,
            "query": query, "results": results}


SEARCH_LOG_LIMIT = 256 * 1024  # a few thousand searches; a loop of searches must not fill the disk


def record_search(config: dict, query: str, names: list[str], everything: bool, agent: str) -> None:
    """Note a search in the sandbox (searches.jsonl, emptied by reset): the exercises of lesson 09
    ask for a search, and a pull alone must not pass them."""
    path = config.get("search_log")
    if not path:
        return
    client = re.search(r"UpstreamClient\((.*)\)\s*$", agent)  # dockerd's user agent names its own client last
    line = json.dumps({"term": query, "names": names, "everything": everything,
                       "client": client.group(1).replace("\\", "") if client else agent}, ensure_ascii=False) + "\n"
    try:
        if os.path.getsize(path) > SEARCH_LOG_LIMIT:
            return
    except OSError:  # none yet
        pass
    try:  # one short append: whole lines even with concurrent requests
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode("utf-8"))
        finally:
            os.close(fd)
    except OSError as e:  # a full disk must not turn a search into an error
        log(f"search not recorded: {e}")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "dockerlearn-gateway"
    config: dict = {}
    mirror = False  # set per port by the subclass
    public = False  # the mirror as seen from outside the sandbox's network (seeds only)

    def log_message(self, fmt, *args):  # one line per error only; access logs would grow forever
        pass

    def send_response_only(self, code, message=None):
        # http.server writes the status line in latin-1; docker shows our reason phrase, in Chinese.
        if message is None:
            message = self.responses.get(code, ("",))[0]
        if self.request_version != "HTTP/0.9":
            if not hasattr(self, "_headers_buffer"):
                self._headers_buffer = []
            self._headers_buffer.append(f"{self.protocol_version} {code} {message}\r\n".encode("utf-8"))

    # ---- helpers ----
    def reply(self, status: int, body: bytes, ctype="application/json", reason=None, extra=None):
        try:
            self.send_response(status, reason)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Docker-Distribution-Api-Version", "registry/2.0")
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
        except OSError:  # the client hung up (a readiness probe reads 5 bytes): nothing to tell it
            self.close_connection = True

    def registry_error(self, status: int, code: str, message: str):
        body = json.dumps({"errors": [{"code": code, "message": message, "detail": None}]}).encode()
        self.reply(status, body)

    def body_chunks(self):
        """Yield the request body, decoding chunked transfer encoding (Docker uploads use it)."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return
                left = size
                while left:
                    data = self.rfile.read(min(left, CHUNK))
                    if not data:
                        return
                    left -= len(data)
                    yield data
                self.rfile.readline()
        else:
            left = int(self.headers.get("Content-Length") or 0)
            while left > 0:
                data = self.rfile.read(min(left, CHUNK))
                if not data:
                    return
                left -= len(data)
                yield data

    # ---- dispatch ----
    def handle_any(self):
        if self.command == "CONNECT" or self.path.startswith(("http://", "https://")):
            # We are the daemon's proxy: refuse every way out of the machine.
            self.close_connection = True
            reason = offline_reason(self.path)
            log(f"refused the way out: {self.command} {self.path}" + ("" if reason is OFFLINE_REASON else f" ({reason})"))
            return self.reply(403, reason.encode(), "text/plain; charset=utf-8", reason=reason)
        url = urlsplit(self.path)
        if self.mirror and not self.public and self.config.get("daemon_pidfile") and not self.from_daemon():
            self.public = True  # this connection only: anyone but the sandbox's dockerd sees the seeds
        if url.path.startswith("/v1/"):
            return self.v1(url)
        if not url.path.startswith("/v2"):
            return self.registry_error(404, "NOT_FOUND", "only the registry API lives here")
        if self.mirror and self.command not in ("GET", "HEAD"):
            return self.registry_error(405, "UNSUPPORTED", READ_ONLY_REASON)
        if self.public:
            return self.public_view(url.path)
        self.forward()

    def from_daemon(self) -> bool:
        """Whether this connection is the sandbox's own dockerd's (asked once per connection)."""
        if not hasattr(self, "_from_daemon"):
            pid = daemon_pid(self.config)
            self._from_daemon = bool(pid) and peer_is_process(self.client_address, self.server.server_address[1], pid)
        return self._from_daemon

    def note_mirror_failure(self, reason: str) -> None:
        """What the daemon's own mirror request met: its Docker Hub fallback is refused with this."""
        if self.mirror and not self.public:
            mirror_failed(reason)

    def public_view(self, path: str):
        """Only the seeds: the catalog and tag lists name nothing else, and a manifest by tag is
        served only for a seeded tag (a digest is something the asker already knows)."""
        seeds = seeded_tags(self.config)
        if path.rstrip("/") == "/v2":
            return self.forward()
        if path == "/v2/_catalog":
            # Worded exactly as the registry itself would answer.
            return self.reply(200, json.dumps({"repositories": sorted(seeds)}, separators=(",", ":")).encode() + b"\n")
        m = REPO_PATH_RE.match(path)
        if not m or m["repo"] not in seeds:
            return self.registry_error(404, "NAME_UNKNOWN", PUBLIC_REASON)
        if m["kind"] == "tags":
            return self.reply(200, json.dumps({"name": m["repo"], "tags": seeds[m["repo"]]}).encode())
        if m["kind"] == "manifests" and not m["ref"].startswith("sha256:") and m["ref"] not in seeds[m["repo"]]:
            return self.registry_error(404, "MANIFEST_UNKNOWN", PUBLIC_REASON)
        self.forward()

    def v1(self, url):
        if url.path in ("/v1/_ping", "/v1/_ping/"):
            return self.reply(200, b'{"standalone": true}', extra={"X-Docker-Registry-Standalone": "true"})
        if url.path.rstrip("/") == "/v1/search":
            q = parse_qs(url.query)
            try:
                limit = max(1, min(100, int(q.get("n", ["25"])[0])))
            except ValueError:
                limit = 25
            result = search(self.config, q.get("q", [""])[0], limit, self.headers.get("User-Agent", ""),
                            only=set(seeded_tags(self.config)) if self.public else None)
            return self.reply(200, json.dumps(result).encode())
        return self.registry_error(404, "NOT_FOUND", "v1 API: only _ping and search")

    def forward(self):
        # A list, not a dict: Docker sends one Accept header per manifest type it takes.
        headers = [(k, v) for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP]
        if self.mirror:
            headers = [(k, v) for k, v in headers if k.lower() != "authorization"]
            headers.append(("Authorization", self.config["service_auth"]))
        has_body = "Content-Length" in self.headers or "chunked" in self.headers.get("Transfer-Encoding", "")
        conn = http.client.HTTPConnection("127.0.0.1", self.config["backend_port"], timeout=300)
        try:
            conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for k, v in headers:
                conn.putheader(k, v)
            chunked = has_body and "Content-Length" not in self.headers
            if chunked:
                conn.putheader("Transfer-Encoding", "chunked")
            conn.endheaders()
            if has_body:
                for data in self.body_chunks():
                    conn.send(b"%x\r\n%s\r\n" % (len(data), data) if chunked else data)
                if chunked:
                    conn.send(b"0\r\n\r\n")
            resp = conn.getresponse()
        except OSError as e:
            self.close_connection = True
            log(f"{'mirror' if self.mirror else 'registry'}: the local registry is not answering: {e}")
            self.note_mirror_failure(DOWN_REASON)
            return self.registry_error(502, "UNAVAILABLE", f"沙箱的本地镜像仓库没有响应 (registry not answering)：{e}；"
                                                           "运行 dockerlearn up 重新启动它")
        if resp.status >= 500:
            log(f"{'mirror' if self.mirror else 'registry'}: {self.command} {self.path} -> {resp.status} "
                "(see registry.log; a full disk is the usual cause)")
            self.note_mirror_failure(ERROR_REASON.format(status=resp.status))
        elif resp.status == 404:
            m = REPO_PATH_RE.match(urlsplit(self.path).path)
            if m and m["kind"] == "manifests":
                self.note_mirror_failure(MISSING_REASON.format(repo=m["repo"].removeprefix("library/")))
        if resp.status == 200 and self.command == "GET" and TAGS_LIST_RE.match(self.path):
            return self.sorted_tags(resp, conn)
        try:
            self.send_response(resp.status, resp.reason)
            length = resp.getheader("Content-Length")
            for k, v in resp.getheaders():
                if k.lower() not in HOP_BY_HOP:
                    self.send_header(k, v)
            stream_chunked = length is None and self.command != "HEAD" and resp.status not in (204, 304)
            if stream_chunked:
                self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            if self.command == "HEAD":
                return
            while True:
                data = resp.read(CHUNK)
                if not data:
                    break
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data) if stream_chunked else data)
            if stream_chunked:
                self.wfile.write(b"0\r\n\r\n")
        except OSError:
            self.close_connection = True
        finally:
            conn.close()

    def sorted_tags(self, resp, conn):
        """Tags in a stable order (the filesystem driver lists them in directory order)."""
        try:
            data = json.loads(resp.read())
            data["tags"] = sorted(data.get("tags") or [])
        finally:
            conn.close()
        self.reply(200, json.dumps(data).encode())

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_CONNECT = handle_any


class Server(ThreadingHTTPServer):
    request_queue_size = 128  # a burst of parallel layer requests must not wait on a backlog of 5


def serve(config: dict) -> None:
    servers = []
    ports = [(config["mirror_port"], True, False), (config["registry_port"], False, False)]
    if config.get("public_mirror_port"):
        ports.append((config["public_mirror_port"], True, True))
    for port, mirror, public in ports:
        handler = type("H", (Handler,), {"config": config, "mirror": mirror, "public": public})
        server = Server(("127.0.0.1", port), handler)
        server.daemon_threads = True
        servers.append(server)
    for server in servers[1:]:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    servers[0].serve_forever()


def main(argv=None) -> int:
    argv = argv if argv is not None else sys.argv[1:]
    config = json.loads(Path(argv[0]).read_text())
    try:
        serve(config)
    except OSError as e:  # most likely a port taken between our check and the bind
        print(f"gateway: cannot listen: {e}", file=sys.stderr, flush=True)
        return 2
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
