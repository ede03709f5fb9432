"""The seed cache (dockerlearn/sandbox/seeds.py, imagebuild.layer_intact): a cached seed is reused while
its source and the builder stay the same, rebuilt when either changes, and never trusted once
its blob is damaged. A stand-in busybox (a shell script answering like the real one) keeps this
fast and independent of the machine's busybox-static. No daemon."""
from __future__ import annotations

import os
import zlib

import pytest

from dockerlearn.sandbox import imagebuild, seeds
from dockerlearn.sandbox.imagebuild import layer_intact, load_image

FAKE_BUSYBOX = """#!/bin/sh
# A stand-in for Debian's busybox-static: the version banner and the applet list.
case "$1" in
  --list-full) printf 'bin/busybox\\nbin/sh\\nbin/ls\\nusr/bin/env\\nsbin/init\\n' ;;
  *) echo "BusyBox v1.36.1 (Debian 1:1.36.1-9) multi-call binary." ;;
esac
"""


@pytest.fixture
def busybox(tmp_path, monkeypatch):
    binary = tmp_path / "busybox"
    binary.write_text(FAKE_BUSYBOX)
    binary.chmod(0o755)
    os.utime(binary, (1_700_000_000, 1_700_000_000))
    monkeypatch.setattr(seeds, "find_busybox", lambda: binary)
    monkeypatch.setenv("DOCKERLEARN_CACHE", str(tmp_path / "cache"))
    return binary


def cached_keys() -> list[str]:
    return sorted(p.name for p in seeds.seed_dir().iterdir())


def test_the_key_names_version_crc_and_builder(busybox):
    img = seeds.busybox_image(progress=False)
    crc = f"{zlib.crc32(busybox.read_bytes()):08x}"
    assert imagebuild.crc_of_file(busybox) == crc
    assert cached_keys() == [f"busybox-1.36.1-{crc}-b{seeds.BUILDER_VERSION}"]
    assert img.tags[:4] == ["latest", "1.36.1", "1.36", "1"]


def test_an_unchanged_binary_reuses_the_cache(busybox):
    first = seeds.busybox_image(progress=False)
    blob = first.layers[0].path
    blob_mtime = blob.stat().st_mtime_ns
    # Neither a new mtime on the source nor a later run makes a new key or rewrites the blob.
    os.utime(busybox, (1_800_000_000, 1_800_000_000))
    again = seeds.busybox_image(progress=False)
    assert len(cached_keys()) == 1
    assert again.config_digest == first.config_digest and again.layers[0].digest == first.layers[0].digest
    assert blob.stat().st_mtime_ns == blob_mtime


def test_a_changed_binary_makes_a_new_key(busybox):
    first = seeds.busybox_image(progress=False)
    busybox.write_text(FAKE_BUSYBOX + "# patched by a Debian point release\n")
    os.utime(busybox, (1_700_000_000, 1_700_000_000))  # same mtime: only the content tells them apart
    second = seeds.busybox_image(progress=False)
    keys = cached_keys()
    assert len(keys) == 2 and keys[0].rsplit("-", 2)[0] == keys[1].rsplit("-", 2)[0] == "busybox-1.36.1"
    assert second.layers[0].digest != first.layers[0].digest
    assert second.config_digest != first.config_digest


def test_a_new_builder_version_makes_a_new_key(busybox, monkeypatch):
    first = seeds.busybox_image(progress=False)
    monkeypatch.setattr(seeds, "BUILDER_VERSION", str(int(seeds.BUILDER_VERSION) + 1))
    seeds.busybox_image(progress=False)
    keys = cached_keys()
    assert len(keys) == 2
    assert {k.rsplit("-", 1)[1] for k in keys} == {f"b{seeds.BUILDER_VERSION}", f"b{int(seeds.BUILDER_VERSION) - 1}"}
    # The builder is deterministic: a rebuild from the same source gives the same image.
    assert load_image(seeds.seed_dir() / keys[0]).config_digest == first.config_digest
    assert load_image(seeds.seed_dir() / keys[1]).config_digest == first.config_digest


def flip_one_byte(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def test_a_damaged_blob_is_detected_and_rebuilt(busybox):
    img = seeds.busybox_image(progress=False)
    layer = img.layers[0]
    stamp = layer.path.with_name(layer.path.name + ".verified")
    assert not stamp.exists()  # written by the first check, not by the build
    assert layer_intact(layer)
    assert stamp.read_text().startswith(layer.digest + f" {layer.size} ")
    flip_one_byte(layer.path)  # same size; the old stamp is still there
    assert layer.path.stat().st_size == layer.size
    assert not layer_intact(layer)
    assert load_image(layer.path.parent) is None
    # The next seed rebuilds it, byte for byte as before.
    again = seeds.busybox_image(progress=False)
    assert again.layers[0].digest == layer.digest and layer_intact(again.layers[0])


def test_the_stamp_is_trusted_only_for_the_file_it_saw(busybox):
    img = seeds.busybox_image(progress=False)
    layer = img.layers[0]
    stamp = layer.path.with_name(layer.path.name + ".verified")
    assert layer_intact(layer)
    seen = stamp.read_text()
    # Unchanged: the stamp answers, the blob is not read again (a stamp naming the file is enough).
    assert layer_intact(layer) and stamp.read_text() == seen
    # Changed, even back to the right bytes: hashed again, and the stamp follows the new mtime.
    data = layer.path.read_bytes()
    layer.path.write_bytes(data)
    os.utime(layer.path, ns=(1, 1))
    assert layer_intact(layer) and stamp.read_text() == f"{layer.digest} {layer.size} 1"
    # A stamp for other bytes of the same size is not believed: damage after a check is caught.
    flip_one_byte(layer.path)
    os.utime(layer.path, ns=(2, 2))
    assert not layer_intact(layer)
    assert stamp.read_text() == f"{layer.digest} {layer.size} 1"  # a failed check writes no stamp
    # A truncated blob fails on its size alone; a missing one fails too.
    layer.path.write_bytes(data[:-1])
    assert not layer_intact(layer)
    layer.path.unlink()
    assert not layer_intact(layer)


def test_debian_carries_the_official_apt_sources_not_the_build_machines(tmp_path, monkeypatch):
    """mmdebstrap leaves the build machine's sources in the rootfs, named after how it got them
    (0000debian.sources; 00000000debian.sources on a root mmdebstrap made): the image has the
    official debian.sources instead, so every machine seeds the same file."""
    import io
    import tarfile
    monkeypatch.setenv("DOCKERLEARN_CACHE", str(tmp_path / "cache"))
    rootfs = tmp_path / "rootfs.tar"
    with tarfile.open(rootfs, "w") as tar:
        for name, text in [("./etc/debian_version", "12.9\n"), ("./etc/apt/sources.list", "deb http://mirror.example/debian bookworm main\n"),
                           ("./etc/apt/sources.list.d/00000000debian.sources", "URIs: http://mirror.example/debian\n"),
                           ("./usr/share/doc/bash/README", "docs\n")]:
            info = tarfile.TarInfo(name)
            info.size = len(text)
            tar.addfile(info, io.BytesIO(text.encode()))
    monkeypatch.setattr(seeds, "debian_rootfs", lambda progress=True: rootfs)
    full, slim = seeds.debian_images(progress=False)
    for img in (full, slim):
        with tarfile.open(img.layers[0].path) as layer:
            apt = sorted(n for n in layer.getnames() if n.startswith("etc/apt/"))
            assert apt == ["etc/apt/sources.list.d/debian.sources"], img.tags
            sources = layer.extractfile("etc/apt/sources.list.d/debian.sources").read().decode()
        assert "URIs: http://deb.debian.org/debian\n" in sources and "mirror.example" not in sources
        assert "Suites: bookworm-security" in sources
    assert "12.9" in full.tags and "12.9-slim" in slim.tags


def test_builders_started_together_take_turns(busybox, tmp_path):
    """Sandboxes started at once on a cold cache (a classroom, parallel test workers): one builds,
    the others wait on the cache's lock and then use what it built; no .part file is shared."""
    import subprocess
    import sys
    script = (f"from dockerlearn.sandbox import seeds; from pathlib import Path; "
              f"seeds.find_busybox = lambda: Path({str(busybox)!r}); "
              f"img = seeds.all_images(with_debian=False, progress=False)[0]; print(img.manifest_digest)")
    env = dict(os.environ, DOCKERLEARN_CACHE=str(tmp_path / "cache"))
    runs = [subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True) for _ in range(4)]
    results = [(p.wait(60), *p.communicate()) for p in runs]
    assert all(code == 0 for code, _, _ in results), results
    assert len({out for _, out, _ in results}) == 1, "every builder got the same image"
    assert cached_keys() and not list((tmp_path / "cache").rglob("*.part*"))
    image = load_image(seeds.seed_dir() / cached_keys()[0])
    assert all(layer_intact(layer) for layer in image.layers)
