"""The offline classroom bundle: export from this machine's seed cache, import into an empty one,
and `up` seeds from it without the Debian mirror; a damaged or truncated bundle changes nothing."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from dockerlearn.classroom import bundle
from dockerlearn import paths
from dockerlearn.sandbox import seeds
from dockerlearn.classroom.bundle import BundleError

REPO = Path(__file__).resolve().parent.parent
UNREACHABLE_MIRROR = "http://127.0.0.1:9/debian"  # mmdebstrap would fail at once, were it run


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    seeds.all_images(progress=False)  # this machine's cache: built once (the slow, networked part)
    target = tmp_path_factory.mktemp("bundle") / "classroom.tar"
    result = bundle.export(target, progress=False)
    assert result.images >= 3 and result.course_files > 10
    return target


def snapshot(*roots: Path) -> dict:
    """Every file under the roots, with its content hash: "nothing changed" made checkable
    (the cache's own ".verified" stamps, written when an image is checked, are bookkeeping)."""
    found = {}
    for root in roots:
        for p in sorted(root.rglob("*")):
            if p.name.endswith(".verified"):
                continue
            found[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
    return found


def offset_of(bundle_file: Path, suffix: str) -> int:
    with tarfile.open(bundle_file) as tar:
        member = next(m for m in tar if m.name.endswith(suffix))
        return member.offset_data + member.size // 2


def flip(src: Path, dst: Path, offset: int) -> Path:
    shutil.copyfile(src, dst)
    with open(dst, "r+b") as f:
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0x01]))
    return dst


def test_sha256sum_checks_the_unpacked_bundle(exported, tmp_path):
    """Without Python (the Dockerfile): tar and coreutils' sha256sum check the same hashes."""
    subprocess.run(["tar", "-xf", str(exported), "-C", str(tmp_path)], check=True)
    ok = subprocess.run(["sha256sum", "--check", "--quiet", "--strict", "SHA256SUMS"], cwd=tmp_path,
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    layer = next(tmp_path.glob("cache/seeds/busybox-*/layer.tar.gz"))
    flip(layer, tmp_path / "x", layer.stat().st_size // 2)
    os.replace(tmp_path / "x", layer)
    bad = subprocess.run(["sha256sum", "--check", "--quiet", "SHA256SUMS"], cwd=tmp_path, capture_output=True, text=True)
    assert bad.returncode == 1 and "FAILED" in bad.stdout


def test_manifest_covers_every_file(exported):
    with tarfile.open(exported) as tar:
        names = tar.getnames()
        import json
        manifest = json.loads(tar.extractfile(names[0]).read())
    assert names[:2] == ["MANIFEST.json", "SHA256SUMS"] and sorted(names[2:]) == sorted(manifest["files"])
    assert any(n.startswith("cache/seeds/debian-") and n.endswith("layer.tar.gz") for n in names)
    assert "course/lessons/FORMAT.md" in names and any(n.startswith("course/notebooks/") for n in names)
    assert not any(n.endswith(".verified") or "rootfs" in n for n in names)


def test_import_into_an_empty_cache(exported, tmp_path):
    cache, course = tmp_path / "cache", tmp_path / "course"
    result = bundle.import_(exported, cache=cache, course=course, progress=False)
    assert result.images >= 3
    assert (course / "lessons" / "FORMAT.md").read_bytes() == (REPO / "lessons" / "FORMAT.md").read_bytes()
    assert not (cache / "rootfs").exists() and not list(cache.glob(".bundle-import-*"))
    os.environ["DOCKERLEARN_CACHE"], saved = str(cache), os.environ["DOCKERLEARN_CACHE"]
    try:
        images = seeds.imported_debian_images()
    finally:
        os.environ["DOCKERLEARN_CACHE"] = saved
    assert images and {"bookworm", "bookworm-slim"} <= {t for img in images for t in img.tags}
    # Importing again changes nothing: the intact images and the same course stay as they are.
    before = snapshot(cache, course)
    again = bundle.import_(exported, cache=cache, course=course, progress=False)
    assert again.course_files == 0 and snapshot(cache, course) == before


@pytest.mark.parametrize("damage", ["layer", "manifest", "sums", "course", "truncated", "empty", "not-a-tar"])
def test_damaged_bundle_is_refused_and_nothing_changes(exported, tmp_path, damage):
    cache, course = tmp_path / "cache", tmp_path / "course"
    # A machine that already has a cache and a course (an older bundle, a learner's lesson edits).
    (cache / "seeds" / "busybox-old").mkdir(parents=True)
    (cache / "seeds" / "busybox-old" / "image.json").write_text("{}")
    (course / "lessons").mkdir(parents=True)
    (course / "lessons" / "FORMAT.md").write_text("an older course\n")
    before = snapshot(cache, course)
    bad = tmp_path / "bad.tar"
    if damage == "layer":
        flip(exported, bad, offset_of(exported, "full/layer.tar.gz"))
    elif damage == "manifest":
        flip(exported, bad, offset_of(exported, "MANIFEST.json"))
    elif damage == "sums":
        flip(exported, bad, offset_of(exported, "SHA256SUMS"))
    elif damage == "course":
        flip(exported, bad, offset_of(exported, "lessons/FORMAT.md"))
    elif damage == "truncated":
        with open(exported, "rb") as src, open(bad, "wb") as dst:
            dst.write(src.read(exported.stat().st_size * 2 // 3))
    elif damage == "empty":
        bad.write_bytes(b"")
    else:
        bad.write_bytes(b"PK\x03\x04 this is a zip, not a bundle" * 100)
    with pytest.raises(BundleError) as err:
        bundle.import_(bad, cache=cache, course=course, progress=False)
    msg = err.value.render()
    assert "damaged bundle" in msg and "没有安装任何东西" in msg, msg
    assert snapshot(cache, course) == before
    assert not list(cache.glob(".bundle-import-*"))


def test_cli_refuses_in_chinese_without_traceback(exported, tmp_path):
    bad = flip(exported, tmp_path / "bad.tar", offset_of(exported, "slim/layer.tar.gz"))
    env = {**os.environ, "DOCKERLEARN_CACHE": str(tmp_path / "cache")}
    proc = subprocess.run([sys.executable, "-m", "dockerlearn", "bundle", "import", str(bad),
                           "--course-dir", str(tmp_path / "course")], capture_output=True, text=True, env=env)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "错误：" in proc.stderr and "sha256 mismatch" in proc.stderr and "damaged bundle" in proc.stderr
    assert not (tmp_path / "course").exists() and not (tmp_path / "cache").exists()
    assert not list(tmp_path.glob(".bundle-import-*"))


@pytest.mark.daemon
def test_up_seeds_from_an_imported_cache_without_the_mirror(exported, tmp_path):
    """A classroom machine with an empty cache: import, then `up` (debian included) works with the
    Debian mirror unreachable, and the sandbox serves debian:bookworm."""
    cache, course = tmp_path / "cache", tmp_path / "course"
    home = Path(paths.home())  # the test session's throwaway home
    env = {**os.environ, "DOCKERLEARN_CACHE": str(cache), "DOCKERLEARN_DEBIAN_MIRROR": UNREACHABLE_MIRROR,
           "DOCKERLEARN_HOME": str(home)}
    proc = subprocess.run([sys.executable, "-m", "dockerlearn", "bundle", "import", str(exported),
                           "--course-dir", str(course)], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "sha256 全部正确" in proc.stderr
    up = [sys.executable, "-m", "dockerlearn"]
    try:
        proc = subprocess.run(up + ["up", "--name", "t-bundle", "-q"], capture_output=True, text=True, env=env,
                              timeout=180)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "mmdebstrap" not in proc.stderr and not (cache / "rootfs").exists()
        status = subprocess.run(up + ["status", "--name", "t-bundle"], capture_output=True, text=True, env=env)
        assert "debian:bookworm" in status.stdout, status.stdout
        from dockerlearn.sandbox.lifecycle import Sandbox
        os.environ["DOCKERLEARN_CACHE"], saved = str(cache), os.environ["DOCKERLEARN_CACHE"]
        try:
            pulled = Sandbox("t-bundle", quiet=True).run(["docker", "run", "--rm", "debian:bookworm-slim",
                                                          "cat", "/etc/debian_version"])
        finally:
            os.environ["DOCKERLEARN_CACHE"] = saved
        assert pulled.returncode == 0 and pulled.stdout.strip().startswith("12."), pulled
    finally:
        subprocess.run(up + ["destroy", "--name", "t-bundle"], capture_output=True, env=env, timeout=120)


@pytest.mark.daemon
@pytest.mark.skipif(os.geteuid() != 0, reason="creates a Unix account (root only)")
def test_a_student_seeds_from_a_cache_root_imported(exported):
    """The classroom layout: root imports once into a shared cache (under a strict umask), and an
    ordinary student's rootless sandbox seeds debian from it, with the Debian mirror unreachable."""
    from dockerlearn.sandbox.rootless import provision_user
    import tempfile
    probe = subprocess.run(["runuser", "-u", "nobody", "--", sys.executable, "-c", "import dockerlearn.cli"],
                           capture_output=True, cwd="/")
    if probe.returncode:
        pytest.skip(f"{sys.executable} is not readable by other users here (e.g. a checkout in /root)")
    shared = Path(tempfile.mkdtemp(prefix="dlc-shared-", dir="/var/tmp"))  # pytest's tmp_path is root's alone
    os.chmod(shared, 0o755)
    old = os.umask(0o077)
    try:
        bundle.import_(exported, cache=shared / "cache", course=shared / "course", progress=False)
    finally:
        os.umask(old)
    user = "dlc-bundle"
    home = Path(f"/tmp/{user}")  # short: the socket path limit
    provision_user(user)
    try:
        home.mkdir(exist_ok=True)
        shutil.chown(home, user, user)
        env = ["env", "-i", f"HOME=/home/{user}", f"USER={user}", "LANG=C.UTF-8", "PATH=/usr/local/bin:/usr/bin:/bin",
               f"DOCKERLEARN_HOME={home}", f"DOCKERLEARN_CACHE={shared / 'cache'}",
               f"DOCKERLEARN_DEBIAN_MIRROR={UNREACHABLE_MIRROR}"]
        as_student = ["runuser", "-u", user, "--", *env]
        dl = [sys.executable, "-m", "dockerlearn"]
        up = subprocess.run(as_student + dl + ["up", "-q"], capture_output=True, text=True, timeout=180, cwd="/")
        assert up.returncode == 0, up.stdout + up.stderr
        run = subprocess.run(as_student + ["sh", "-c", f'eval "$({" ".join(dl)} env)" && '
                                           "docker run --rm debian:bookworm-slim cat /etc/debian_version && "
                                           "docker info --format '{{.SecurityOptions}}'"],
                             capture_output=True, text=True, timeout=120, cwd="/")
        assert run.returncode == 0 and run.stdout.startswith("12.") and "rootless" in run.stdout, run.stdout + run.stderr
    finally:
        subprocess.run(["runuser", "-u", user, "--", *env, *dl, "destroy"], capture_output=True, timeout=120, cwd="/")
        subprocess.run(["userdel", "--remove", user], capture_output=True)
        shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(shared, ignore_errors=True)
