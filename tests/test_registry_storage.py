"""`registry.write_storage`: seeding writes the registry's files directly instead of pushing.
The layout is distribution's (registry/storage/paths.go):

    <root>/docker/registry/v2/blobs/sha256/<hex[:2]>/<hex>/data
    <root>/docker/registry/v2/repositories/<name>/_layers/sha256/<hex>/link
    <root>/docker/registry/v2/repositories/<name>/_manifests/revisions/sha256/<hex>/link
    <root>/docker/registry/v2/repositories/<name>/_manifests/tags/<tag>/current/link
    <root>/docker/registry/v2/repositories/<name>/_manifests/tags/<tag>/index/sha256/<hex>/link

No daemon. When Debian's docker-registry is installed (it is on a course machine), the written
storage is also served by it, and compared file by file with what an HTTP push leaves there."""
from __future__ import annotations

import hashlib
import http.client
import json
import shutil
import subprocess
import tarfile

import pytest
import yaml

from dockerlearn.sandbox import procs
from dockerlearn.sandbox.imagebuild import Image, add_entry, gzip_tar, make_config, make_manifest
from dockerlearn.sandbox.registry import ACCEPT, write_storage

REGISTRY = shutil.which("docker-registry")
needs_registry = pytest.mark.skipif(not REGISTRY, reason="Debian's docker-registry is not installed")


def image(tmp_path, repository="library/tiny", tags=("latest", "1.0"), payloads=(b"hello\n", b"world\n")) -> Image:
    layers = []
    for i, data in enumerate(payloads):
        raw = tmp_path / f"layer{i}.tar"
        with tarfile.open(raw, "w", format=tarfile.GNU_FORMAT) as tar:
            add_entry(tar, f"file{i}", kind=tarfile.REGTYPE, mode=0o644, data=data, mtime=1_700_000_000)
        layers.append(gzip_tar(raw, tmp_path / f"layer{i}.tar.gz"))
    config = make_config(layers, created=1_700_000_000, env=["PATH=/bin"], cmd=["sh"],
                         history=[f"ADD layer{i}" for i in range(len(layers))] + ['CMD ["sh"]'])
    return Image(repository, list(tags), layers, config, make_manifest(config, layers))


def files(root):
    """Every file of the registry's layout under root, relative path -> bytes (write_storage's
    notes on its copies, in dockerlearn-copies/, are beside the layout, not in it)."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.relative_to(root).parts[0] == "dockerlearn-copies"}


def hexd(digest: str) -> str:
    return digest.split(":", 1)[1]


def test_layout_is_distributions(tmp_path):
    (tmp_path / "src").mkdir()
    img = image(tmp_path / "src")
    storage = tmp_path / "storage"
    write_storage(storage, img)
    v2 = storage / "docker" / "registry" / "v2"
    repo = "repositories/library/tiny"
    m = img.manifest_digest
    expected = {}
    for layer in img.layers:
        expected[f"blobs/sha256/{hexd(layer.digest)[:2]}/{hexd(layer.digest)}/data"] = layer.path.read_bytes()
        expected[f"{repo}/_layers/sha256/{hexd(layer.digest)}/link"] = layer.digest.encode()
    c = img.config_digest
    expected[f"blobs/sha256/{hexd(c)[:2]}/{hexd(c)}/data"] = img.config
    expected[f"{repo}/_layers/sha256/{hexd(c)}/link"] = c.encode()
    expected[f"blobs/sha256/{hexd(m)[:2]}/{hexd(m)}/data"] = img.manifest
    expected[f"{repo}/_manifests/revisions/sha256/{hexd(m)}/link"] = m.encode()
    for tag in ("latest", "1.0"):
        expected[f"{repo}/_manifests/tags/{tag}/current/link"] = m.encode()
        expected[f"{repo}/_manifests/tags/{tag}/index/sha256/{hexd(m)}/link"] = m.encode()
    assert files(v2) == expected
    assert files(storage).keys() == {f"docker/registry/v2/{k}" for k in expected}  # nothing beside v2
    # Every blob is stored under its own digest: the registry verifies nothing on read.
    for path, data in expected.items():
        if path.endswith("/data"):
            assert path.split("/")[3] == hashlib.sha256(data).hexdigest()


def test_blobs_are_copies_and_damage_is_repaired(tmp_path):
    (tmp_path / "src").mkdir()
    img = image(tmp_path / "src")
    storage = tmp_path / "storage"
    write_storage(storage, img)
    layer = img.layers[0]
    data = storage / "docker/registry/v2/blobs/sha256" / hexd(layer.digest)[:2] / hexd(layer.digest) / "data"
    assert data.stat().st_ino != layer.path.stat().st_ino  # a copy, never a hard link into the cache
    # Unchanged: left alone (seeding every reset costs nothing).
    before = data.stat().st_mtime_ns, data.stat().st_ino
    write_storage(storage, img)
    assert (data.stat().st_mtime_ns, data.stat().st_ino) == before
    # Damaged in place (same size, one byte flipped): the next write repairs it; the cache is untouched.
    original = layer.path.read_bytes()
    damaged = bytearray(original)
    damaged[len(damaged) // 2] ^= 0xFF
    data.write_bytes(bytes(damaged))
    write_storage(storage, img)
    assert data.read_bytes() == original and layer.path.read_bytes() == original
    # Damaged with its mtime set back afterwards: the ctime still tells, and it is repaired.
    import os
    stat = data.stat()
    data.write_bytes(bytes(damaged))
    os.utime(data, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    write_storage(storage, img)
    assert data.read_bytes() == original
    # A damaged manifest or a tag moved elsewhere is rewritten too.
    m = img.manifest_digest
    manifest = storage / "docker/registry/v2/blobs/sha256" / hexd(m)[:2] / hexd(m) / "data"
    manifest.write_bytes(img.manifest.replace(b"schemaVersion", b"schemaVersioN"))
    current = storage / "docker/registry/v2/repositories/library/tiny/_manifests/tags/latest/current/link"
    current.write_text("sha256:" + "0" * 64)
    write_storage(storage, img)
    assert manifest.read_bytes() == img.manifest and current.read_text() == m
    assert not list(storage.rglob("*.part"))


def test_a_second_image_shares_blobs(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = image(tmp_path / "a")
    second = image(tmp_path / "b", repository="library/other", tags=("v2",), payloads=(b"hello\n", b"other\n"))
    storage = tmp_path / "storage"
    write_storage(storage, first)
    write_storage(storage, second)
    v2 = storage / "docker/registry/v2"
    shared = first.layers[0].digest
    assert first.layers[0].digest == second.layers[0].digest  # same bytes, one blob
    blobs = {p.parent.name for p in (v2 / "blobs").rglob("data")}
    assert len(blobs) == 4 + 4 - 1  # two layers, a config and a manifest each; one layer shared
    assert (v2 / "repositories/library/other/_layers/sha256" / hexd(shared) / "link").read_text() == shared
    assert sorted(p.name for p in (v2 / "repositories/library/tiny/_manifests/tags").iterdir()) == ["1.0", "latest"]


# ---------------------------------------------------------------- checked against docker-registry itself
class Registry:
    def __init__(self, tmp, storage):
        self.port = procs.free_port()
        config = {"version": 0.1, "log": {"level": "error", "accesslog": {"disabled": True}},
                  "storage": {"filesystem": {"rootdirectory": str(storage)}, "delete": {"enabled": True},
                              "maintenance": {"uploadpurging": {"enabled": False}}},
                  "http": {"addr": f"127.0.0.1:{self.port}", "secret": "test"}}
        (tmp / "config.yml").write_text(yaml.safe_dump(config))
        self.log = tmp / "registry.log"
        self.proc = subprocess.Popen([REGISTRY, "serve", str(tmp / "config.yml")],
                                     stdout=open(self.log, "w"), stderr=subprocess.STDOUT)
        try:
            procs.wait_until(lambda: procs.http_ready(self.port), what="docker-registry", timeout=10,
                             log=self.log, proc=self.proc)
        except BaseException:
            self.stop()
            raise

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)

    def request(self, method, path, body=None, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()

    def push(self, img: Image):
        """What `docker push` does over HTTP: each blob by monolithic upload, then the manifest per tag."""
        blobs = [(l.digest, l.path.read_bytes()) for l in img.layers] + [(img.config_digest, img.config)]
        for digest, data in blobs:
            status, headers, _ = self.request("POST", f"/v2/{img.repository}/blobs/uploads/")
            assert status == 202, status
            location = headers["location"].replace(f"http://127.0.0.1:{self.port}", "")
            sep = "&" if "?" in location else "?"
            status, _, body = self.request("PUT", f"{location}{sep}digest={digest}", body=data,
                                           headers={"Content-Type": "application/octet-stream"})
            assert status == 201, (status, body)
        for tag in img.tags:
            status, headers, body = self.request("PUT", f"/v2/{img.repository}/manifests/{tag}", body=img.manifest,
                                                 headers={"Content-Type": json.loads(img.manifest)["mediaType"]})
            assert status == 201, (status, body)
            assert headers["docker-content-digest"] == img.manifest_digest


@needs_registry
def test_docker_registry_serves_the_written_storage(tmp_path):
    (tmp_path / "src").mkdir()
    img = image(tmp_path / "src")
    write_storage(tmp_path / "storage", img)
    reg = Registry(tmp_path, tmp_path / "storage")
    try:
        assert json.loads(reg.request("GET", "/v2/_catalog")[2]) == {"repositories": ["library/tiny"]}
        assert sorted(json.loads(reg.request("GET", "/v2/library/tiny/tags/list")[2])["tags"]) == ["1.0", "latest"]
        for ref in ("latest", "1.0", img.manifest_digest):
            status, headers, body = reg.request("GET", f"/v2/library/tiny/manifests/{ref}", headers={"Accept": ACCEPT})
            assert status == 200 and body == img.manifest, ref
            assert headers["docker-content-digest"] == img.manifest_digest
        for layer in img.layers:
            status, headers, body = reg.request("GET", f"/v2/library/tiny/blobs/{layer.digest}")
            assert status == 200 and body == layer.path.read_bytes()
        assert reg.request("GET", f"/v2/library/tiny/blobs/{img.config_digest}")[2] == img.config
        # A blob not linked into the repository is not served through it, as after a push.
        assert reg.request("HEAD", f"/v2/library/other/blobs/{img.config_digest}")[0] == 404
    finally:
        reg.stop()


@needs_registry
def test_write_storage_leaves_what_a_push_leaves(tmp_path):
    (tmp_path / "src").mkdir()
    img = image(tmp_path / "src")
    (tmp_path / "pushed").mkdir()
    reg = Registry(tmp_path / "pushed", tmp_path / "pushed" / "storage")
    try:
        reg.push(img)
    finally:
        reg.stop()
    write_storage(tmp_path / "written", img)
    pushed = {k: v for k, v in files(tmp_path / "pushed" / "storage").items() if "/_uploads/" not in k}
    assert files(tmp_path / "written") == pushed
