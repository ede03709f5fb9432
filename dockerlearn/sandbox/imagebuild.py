"""Assemble a Docker image (layers, config, manifest) from files, without a daemon.

This is what `docker build FROM scratch` + `ADD rootfs.tar /` produces, written
out directly so seeding needs no running engine and is reproducible.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable, Optional

MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"
CONFIG_V1 = "application/vnd.docker.container.image.v1+json"
LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"

Progress = Optional[Callable[[int], None]]


def sha256_bytes(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass
class Layer:
    path: Path          # the gzipped tar on disk
    digest: str         # sha256 of the gzipped bytes: the blob digest
    size: int
    diff_id: str        # sha256 of the uncompressed tar: what the image config lists


@dataclass
class Image:
    repository: str                 # e.g. library/busybox
    tags: list[str]
    layers: list[Layer]
    config: bytes
    manifest: bytes = b""

    @property
    def config_digest(self) -> str:
        """Also the image ID that `docker images` shows after a pull."""
        return sha256_bytes(self.config)

    @property
    def manifest_digest(self) -> str:
        return sha256_bytes(self.manifest)


def gzip_tar(src: Path, dst: Path, progress: Progress = None, level: int = 6) -> Layer:
    """Compress src into dst, hashing both sides in one pass; mtime=0 keeps it reproducible."""
    raw = hashlib.sha256()
    packed = hashlib.sha256()
    tmp = dst.with_suffix(dst.suffix + ".part")

    class HashingFile(io.RawIOBase):
        def __init__(self, f):
            self.f = f

        def write(self, b):
            packed.update(b)
            return self.f.write(b)

        def writable(self):
            return True

    with open(src, "rb") as fin, open(tmp, "wb") as fout:
        hf = HashingFile(fout)
        with gzip.GzipFile(fileobj=hf, mode="wb", compresslevel=level, mtime=0, filename="") as gz:
            while True:
                chunk = fin.read(1 << 20)
                if not chunk:
                    break
                raw.update(chunk)
                gz.write(chunk)
                if progress:
                    progress(len(chunk))
    os.replace(tmp, dst)
    return Layer(dst, "sha256:" + packed.hexdigest(), dst.stat().st_size, "sha256:" + raw.hexdigest())


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def make_config(layers: list[Layer], *, created: float, env: list[str], cmd: list[str],
                history: Iterable[str], labels: Optional[dict] = None, arch: str = "amd64") -> bytes:
    """The image config. Its digest is the image ID."""
    history = list(history)
    cfg = {
        "architecture": arch,
        "os": "linux",
        "created": iso(created),
        "config": {"Env": env, "Cmd": cmd, "Labels": labels or None},
        "rootfs": {"type": "layers", "diff_ids": [l.diff_id for l in layers]},
        "history": [{"created": iso(created), "created_by": h} for h in history[:-1]]
                   + [{"created": iso(created), "created_by": history[-1], "empty_layer": True}],
    }
    return json.dumps(cfg, sort_keys=True, separators=(",", ":")).encode()


def make_manifest(config: bytes, layers: list[Layer]) -> bytes:
    m = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_V2,
        "config": {"mediaType": CONFIG_V1, "size": len(config), "digest": sha256_bytes(config)},
        "layers": [{"mediaType": LAYER_GZIP, "size": l.size, "digest": l.digest} for l in layers],
    }
    return json.dumps(m, indent=3).encode()


def add_entry(tar: tarfile.TarFile, name: str, *, kind: bytes = tarfile.DIRTYPE, mode: int = 0o755,
              data: bytes = b"", linkname: str = "", mtime: float = 0) -> None:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.mtime = int(mtime)
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    info.linkname = linkname
    if kind == tarfile.REGTYPE:
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    else:
        tar.addfile(info)


def save_image(img: Image, folder: Path) -> None:
    """Cache an assembled image: its blobs stay where they are, the rest goes to image.json."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_bytes(img.config)
    (folder / "manifest.json").write_bytes(img.manifest)
    meta = {
        "repository": img.repository, "tags": img.tags,
        "layers": [{"file": l.path.name, "digest": l.digest, "size": l.size, "diff_id": l.diff_id}
                   for l in img.layers],
    }
    tmp = folder / "image.json.part"
    tmp.write_text(json.dumps(meta, indent=2, ensure_ascii=False))
    os.replace(tmp, folder / "image.json")  # written last: its presence marks a complete cache


def layer_intact(layer: Layer) -> bool:
    """Whether the cached blob still has its digest. Hashed once per change of the file: a stamp
    beside it remembers the size and mtime that were last verified."""
    try:
        st = layer.path.stat()
    except OSError:
        return False
    if st.st_size != layer.size:
        return False
    stamp = layer.path.with_name(layer.path.name + ".verified")
    seen = f"{layer.digest} {st.st_size} {st.st_mtime_ns}"
    try:
        if stamp.read_text() == seen:
            return True
    except OSError:
        pass
    h = hashlib.sha256()
    with open(layer.path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    if "sha256:" + h.hexdigest() != layer.digest:
        return False
    try:
        stamp.write_text(seen)
    except OSError:
        pass  # a read-only cache still works: it is hashed again next time
    return True


def load_image(folder: Path) -> Optional[Image]:
    """A cached image, or None when it is missing or damaged (the caller rebuilds it)."""
    try:
        meta = json.loads((folder / "image.json").read_text())
        layers = [Layer(folder / l["file"], l["digest"], l["size"], l["diff_id"]) for l in meta["layers"]]
        if not all(layer_intact(l) for l in layers):
            return None
        return Image(meta["repository"], meta["tags"], layers, (folder / "config.json").read_bytes(),
                     (folder / "manifest.json").read_bytes())
    except (OSError, ValueError, KeyError):
        return None


def crc_of_file(path: Path) -> str:
    """A cheap identity for a source file (e.g. /bin/busybox) to key the cache on."""
    h = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h = zlib.crc32(chunk, h)
    return f"{h:08x}"
