"""Layer assembly without a daemon (dockerlearn/sandbox/imagebuild.py): the same files give the same
bytes, so the same digests and image ID on every machine and every run; any change in content
changes them. Pure Python, no daemon."""
from __future__ import annotations

import gzip
import json
import os
import tarfile
import time

from dockerlearn.sandbox import imagebuild
from dockerlearn.sandbox.imagebuild import Image, add_entry, gzip_tar, make_config, make_manifest

MTIME = 1_700_000_000  # what a seed uses: the source's own mtime, never the clock


def build(folder, files: dict[str, bytes], mtime: float = MTIME) -> Image:
    """A one-layer image the way seeds.py assembles one: add_entry, gzip_tar, config, manifest."""
    folder.mkdir(parents=True, exist_ok=True)
    raw = folder / "layer.tar"
    with tarfile.open(raw, "w", format=tarfile.GNU_FORMAT) as tar:
        for d in ("bin", "etc", "tmp"):
            add_entry(tar, d, mode=0o1777 if d == "tmp" else 0o755, mtime=mtime)
        for name, data in files.items():
            add_entry(tar, name, kind=tarfile.REGTYPE, mode=0o644, data=data, mtime=mtime)
        add_entry(tar, "bin/sh", kind=tarfile.SYMTYPE, linkname="busybox", mtime=mtime)
    layer = gzip_tar(raw, folder / "layer.tar.gz")
    config = make_config([layer], created=mtime, env=["PATH=/bin"], cmd=["sh"],
                         history=["ADD rootfs.tar /", 'CMD ["sh"]'], labels={"dockerlearn.seed": "true"})
    return Image("library/test", ["latest"], [layer], config, make_manifest(config, [layer]))


FILES = {"bin/busybox": b"\x7fELF" + bytes(range(256)) * 64, "etc/passwd": b"root:x:0:0:root:/root:/bin/sh\n"}


def test_the_same_files_give_the_same_digests(tmp_path):
    old_umask = os.umask(0o077)  # a different umask, directory and wall clock for the second build
    try:
        first = build(tmp_path / "a", FILES)
    finally:
        os.umask(old_umask)
    time.sleep(1.01 - time.time() % 1)  # into the next second: a header that read the clock would differ
    second = build(tmp_path / "elsewhere" / "b", FILES)
    assert first.layers[0].path.read_bytes() == second.layers[0].path.read_bytes()
    assert (first.layers[0].digest, first.layers[0].diff_id, first.layers[0].size) == \
        (second.layers[0].digest, second.layers[0].diff_id, second.layers[0].size)
    assert first.config_digest == second.config_digest  # the image ID
    assert first.manifest_digest == second.manifest_digest


def test_digests_are_of_the_bytes_on_disk(tmp_path):
    img = build(tmp_path, FILES)
    layer = img.layers[0]
    packed = layer.path.read_bytes()
    assert layer.digest == imagebuild.sha256_bytes(packed) and layer.size == len(packed)
    assert layer.diff_id == imagebuild.sha256_bytes(gzip.decompress(packed))
    config = json.loads(img.config)
    assert config["rootfs"] == {"type": "layers", "diff_ids": [layer.diff_id]}
    manifest = json.loads(img.manifest)
    assert manifest["config"] == {"mediaType": imagebuild.CONFIG_V1, "size": len(img.config),
                                  "digest": img.config_digest}
    assert manifest["layers"] == [{"mediaType": imagebuild.LAYER_GZIP, "size": layer.size, "digest": layer.digest}]


def test_headers_carry_nothing_of_the_machine(tmp_path):
    img = build(tmp_path, FILES)
    packed = img.layers[0].path.read_bytes()
    # gzip header: magic, method, flags (no FNAME: the temporary file's name stays out), mtime 0.
    assert packed[:3] == b"\x1f\x8b\x08" and packed[3] & 0x08 == 0
    assert int.from_bytes(packed[4:8], "little") == 0
    with tarfile.open(img.layers[0].path) as tar:
        members = tar.getmembers()
    assert [m.name for m in members] == ["bin", "etc", "tmp", "bin/busybox", "etc/passwd", "bin/sh"]
    for m in members:
        assert (m.uid, m.gid, m.uname, m.gname) == (0, 0, "root", "root"), m.name
        assert m.mtime == MTIME, m.name
    assert {m.name: oct(m.mode) for m in members}["tmp"] == "0o1777"
    created = json.loads(img.config)["created"]
    assert created == "2023-11-14T22:13:20Z"  # the source's mtime, in UTC


def test_a_changed_file_changes_the_digests(tmp_path):
    base = build(tmp_path / "base", FILES)
    changed = {**FILES, "etc/passwd": FILES["etc/passwd"].replace(b"/bin/sh", b"/bin/ash")}
    flipped = {**FILES, "bin/busybox": FILES["bin/busybox"][:100] + b"\x00" + FILES["bin/busybox"][101:]}
    added = {**FILES, "etc/group": b"root:x:0:\n"}
    images = [base, build(tmp_path / "changed", changed), build(tmp_path / "flipped", flipped),
              build(tmp_path / "added", added), build(tmp_path / "touched", FILES, mtime=MTIME + 1)]
    for attr in ("digest", "diff_id"):
        values = [getattr(img.layers[0], attr) for img in images]
        assert len(set(values)) == len(values), attr
    ids = [img.config_digest for img in images]
    assert len(set(ids)) == len(ids)
