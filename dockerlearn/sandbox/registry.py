"""The local registry: Debian's docker-registry (the real distribution registry), and a client for its API."""
from __future__ import annotations

import base64
import http.client
import json
import os
import secrets
import shutil
from pathlib import Path
from typing import Optional

from ..errors import RegistryError
from .imagebuild import MANIFEST_V2, Image

# Manifest types a pull may leave behind: Docker v2, OCI, and lists of both.
ACCEPT = ", ".join([
    MANIFEST_V2,
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
])

# bcrypt at its lowest cost: the registry checks the password on every request,
# and these accounts guard a practice registry on loopback, not real secrets.
BCRYPT_ROUNDS = 4

STUDENT_USER = "student"


def htpasswd_line(user: str, password: str) -> str:
    import bcrypt  # imported here: only setup needs it
    return f"{user}:{bcrypt.hashpw(password.encode(), bcrypt.gensalt(BCRYPT_ROUNDS)).decode()}"


def write_config(folder: Path, storage: Path, port: int, service_password: str, student_password: str) -> Path:
    """Config for `docker-registry serve`: loopback only, deletes on, htpasswd auth.

    The learner's password is the sandbox's own, made when it was created: another sandbox on
    the same machine (another learner) cannot log in to this registry."""
    htpasswd = folder / "htpasswd"
    htpasswd.write_text(htpasswd_line("dockerlearn-service", service_password) + "\n"
                        + htpasswd_line(STUDENT_USER, student_password) + "\n")
    htpasswd.chmod(0o600)
    import yaml  # here: the gateway imports this module and starts without it
    cfg = folder / "config.yml"
    cfg.write_text(yaml.safe_dump(registry_config(storage, port, htpasswd), sort_keys=False))
    return cfg


def registry_config(storage: Path, port: int, htpasswd: Path) -> dict:
    """docker-registry's configuration as data: yaml.safe_dump quotes any path (": ", "#", spaces)."""
    return {
        "version": 0.1,
        "log": {"level": "warn", "accesslog": {"disabled": True}},
        "storage": {"filesystem": {"rootdirectory": str(storage)}, "delete": {"enabled": True},
                    "maintenance": {"uploadpurging": {"enabled": False}}},
        "http": {"addr": f"127.0.0.1:{port}", "secret": secrets.token_hex(16)},
        "auth": {"htpasswd": {"realm": "dockerlearn", "path": str(htpasswd)}},
    }


class RegistryClient:
    """A small client for the Docker Registry HTTP API V2 over loopback."""

    def __init__(self, address: str, user: str = "", password: str = "", timeout: float = 30):
        self.address = address  # host:port
        host, _, port = address.rpartition(":")
        self.host, self.port = host, int(port)
        self.timeout = timeout
        self.auth = ("Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()) if user else ""

    def request(self, method: str, path: str, body=None, headers: Optional[dict] = None,
                ok=(200, 201, 202, 204)) -> tuple[int, dict, bytes]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        hdrs = dict(headers or {})
        if self.auth:
            hdrs["Authorization"] = self.auth
        try:
            conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            data = resp.read()
        except OSError as e:
            raise RegistryError(f"连不上本地镜像仓库 {self.address}：{e}", term="registry unreachable",
                                hint="运行 dockerlearn status 看看沙箱是否在运行。") from None
        finally:
            conn.close()
        headers_out = {k.lower(): v for k, v in resp.getheaders()}
        if ok and resp.status not in ok:
            raise RegistryError(f"镜像仓库对 {method} {path} 返回 {resp.status}：{data[:300].decode('utf-8', 'replace')}",
                                term="registry API error")
        return resp.status, headers_out, data

    # --- reading ---
    def catalog(self) -> list[str]:
        repos: list[str] = []
        path = "/v2/_catalog?n=1000"
        while path:
            _, headers, data = self.request("GET", path)
            repos += json.loads(data).get("repositories") or []
            link = headers.get("link", "")
            path = link[link.find("<") + 1:link.find(">")] if link else ""
        return repos

    def tags(self, repository: str) -> list[str]:
        status, _, data = self.request("GET", f"/v2/{repository}/tags/list", ok=(200, 404))
        return [] if status == 404 else sorted(json.loads(data).get("tags") or [])

    def manifest(self, repository: str, reference: str) -> Optional[tuple[str, dict]]:
        """(digest, manifest) or None when the tag is absent."""
        status, headers, data = self.request("GET", f"/v2/{repository}/manifests/{reference}",
                                             headers={"Accept": ACCEPT}, ok=(200, 404))
        if status == 404:
            return None
        return headers.get("docker-content-digest", ""), json.loads(data)


def copy_stamp(source: os.stat_result, copy: os.stat_result) -> str:
    """What a blob copy looked like when it was made: the cache file it came from (size, mtime)
    and the copy's own inode and ctime."""
    return f"{source.st_size} {source.st_mtime_ns} {copy.st_size} {copy.st_ino} {copy.st_ctime_ns}"


def write_storage(storage: Path, img: Image) -> None:
    """Put an assembled image straight into the registry's filesystem storage.

    The result is byte for byte what an HTTP push leaves there (the distribution layout:
    blobs by digest, and per repository the links for layers, revisions and tags), written as
    files, not uploaded: seeding takes a fraction of a second, not a second of uploading 100 MB
    over loopback. Blobs are copies, never hard links: damage in one sandbox's registry stays
    there, and a copy that changed since it was made is copied again, so `reset` repairs it.
    "Changed" is read from the inode's ctime, noted beside the storage when the copy was made:
    a write moves it, and unlike the mtime nobody can set it back.
    """
    v2 = storage / "docker" / "registry" / "v2"
    repo = v2 / "repositories" / img.repository
    stamps = storage / "dockerlearn-copies"  # outside docker/registry/v2: the registry never looks here

    def blob(digest: str, source: Optional[Path] = None, data: bytes = b"") -> None:
        hexd = digest.split(":", 1)[1]
        target = v2 / "blobs" / "sha256" / hexd[:2] / hexd / "data"
        stamp = stamps / hexd
        try:
            have = target.stat()
            if source is not None:
                want = source.stat()
                if stamp.read_text() == copy_stamp(want, have):
                    return
            elif have.st_size == len(data) and target.read_bytes() == data:
                return
        except OSError:
            pass
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name("data.part")
        tmp.unlink(missing_ok=True)
        if source is not None:
            shutil.copy2(source, tmp)
        else:
            tmp.write_bytes(data)
        os.replace(tmp, target)
        if source is not None:
            stamps.mkdir(exist_ok=True)
            stamp.write_text(copy_stamp(source.stat(), target.stat()))

    def link(path: Path, digest: str) -> None:
        path.mkdir(parents=True, exist_ok=True)
        (path / "link").write_text(digest)

    for layer in img.layers:
        blob(layer.digest, source=layer.path)
        link(repo / "_layers" / "sha256" / layer.digest.split(":")[1], layer.digest)
    blob(img.config_digest, data=img.config)
    link(repo / "_layers" / "sha256" / img.config_digest.split(":")[1], img.config_digest)
    digest = img.manifest_digest
    blob(digest, data=img.manifest)
    link(repo / "_manifests" / "revisions" / "sha256" / digest.split(":")[1], digest)
    for tag in img.tags:
        link(repo / "_manifests" / "tags" / tag / "current", digest)
        link(repo / "_manifests" / "tags" / tag / "index" / "sha256" / digest.split(":")[1], digest)
