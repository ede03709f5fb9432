"""The offline classroom bundle: the seed cache and the course in one tar, every file checked by sha256.

`export` runs on one prepared machine; `import_` on each classroom machine, which then seeds
its sandboxes from the imported images without the Debian mirror (mmdebstrap) or Docker Hub.

The bundle is a plain tar (the layers are gzip already) whose first member, MANIFEST.json,
lists each file's size and sha256; the second, SHA256SUMS, says the same for `sha256sum --check`. Import unpacks into a staging folder beside the cache and
checks every file against the manifest before it installs anything: a damaged, truncated or
altered bundle is refused and the machine's cache and course stay exactly as they were.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Optional

from .. import paths
from ..errors import DockerlearnError
from ..sandbox.imagebuild import load_image
from ..terminal_bars import Bar, step

FORMAT = "dockerlearn-bundle"
VERSION = 1
MANIFEST = "MANIFEST.json"
SUMS = "SHA256SUMS"  # the manifest's hashes for `sha256sum --check`, where Python is not at hand (Dockerfile)
COURSE_DIRS = ("lessons", "notebooks")
CHUNK = 1 << 20


class BundleError(DockerlearnError):
    exit_code = 2


@dataclass
class Result:
    images: int
    course_files: int
    bytes: int


def _sums(files: dict) -> bytes:
    return "".join(f"{v['sha256']}  {name}\n" for name, v in files.items()).encode()


def _sha256(path: Path, bar: Optional[Bar] = None) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
            if bar:
                bar.update(len(chunk))
    return h.hexdigest()


# ---------------------------------------------------------------- export
def _seed_files(cache: Path) -> tuple[list[tuple[str, Path]], int]:
    """Every file of each complete, intact cached image (not the verification stamps)."""
    files, images = [], 0
    seed_root = cache / "seeds"
    for image_json in sorted(seed_root.rglob("image.json")):
        folder = image_json.parent
        if load_image(folder) is None:
            continue  # incomplete or damaged: never shipped to a classroom
        images += 1
        for f in sorted(folder.iterdir()):
            if f.is_file() and not f.name.endswith((".verified", ".part")):
                files.append((f"cache/{f.relative_to(cache).as_posix()}", f))
    return files, images


def _course_files(course: Path) -> list[tuple[str, Path]]:
    files = []
    for d in COURSE_DIRS:
        for f in sorted((course / d).rglob("*")):
            rel = f.relative_to(course)
            if f.is_file() and not f.is_symlink() and "__pycache__" not in rel.parts \
                    and ".ipynb_checkpoints" not in rel.parts:
                files.append((f"course/{rel.as_posix()}", f))
    return files


def export(target, cache: Optional[Path] = None, course: Optional[Path] = None, progress: bool = True) -> Result:
    cache = Path(cache or paths.cache_dir())
    course = Path(course) if course else paths.course_dir()
    target = Path(target)
    files, images = _seed_files(cache)
    if not any("/debian-" in name for name, _ in files):
        raise BundleError(f"种子缓存 {cache} 里没有完整的 debian 镜像，打包出来的教室还是要访问 Debian 软件源",
                          term="seed cache not prepared",
                          hint="先在这台机器上运行 dockerlearn prepare（需要访问 Debian 软件源），再导出。")
    course_files = _course_files(course)
    if not course_files:
        raise BundleError(f"在 {course} 下找不到课程（lessons/、notebooks/）", term="no course to export")
    files += course_files
    total = sum(p.stat().st_size for _, p in files)
    bar = Bar("计算 sha256", total) if progress else None
    entries = {name: {"size": p.stat().st_size, "sha256": _sha256(p, bar)} for name, p in files}
    if bar:
        bar.close()
    manifest = json.dumps({"format": FORMAT, "version": VERSION, "created": int(time.time()),
                           "images": images, "files": entries}, indent=1, ensure_ascii=False).encode()
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    bar = Bar(f"写入 {target.name}", total) if progress else None
    try:
        with tarfile.open(part, "w", format=tarfile.PAX_FORMAT) as tar:
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime, info.mode = len(manifest), int(time.time()), 0o644
            tar.addfile(info, io.BytesIO(manifest))
            sums = _sums(entries)
            info = tarfile.TarInfo(SUMS)
            info.size, info.mtime, info.mode = len(sums), int(time.time()), 0o644
            tar.addfile(info, io.BytesIO(sums))
            for name, p in files:
                info = tar.gettarinfo(str(p), arcname=name)
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                with open(p, "rb") as f:
                    tar.addfile(info, f)
                if bar:
                    bar.update(info.size)
        os.replace(part, target)
    finally:
        part.unlink(missing_ok=True)
    if bar:
        bar.close()
        step(f"已导出 {target}：{images} 个种子镜像，{len(course_files)} 个课程文件，{total / 1e6:.0f} MB")
    return Result(images, len(course_files), total)


# ---------------------------------------------------------------- import
def _damaged(bundle: Path, detail: str) -> BundleError:
    return BundleError(f"离线包 {bundle} 已损坏或不完整：{detail}。没有安装任何东西，本机原有的缓存和课程保持不变",
                       term="damaged bundle",
                       hint="重新复制一次离线包（比较两边的 sha256sum），或者在准备好的机器上重新运行 dockerlearn bundle export。")


def _safe_name(name: str) -> bool:
    p = PurePosixPath(name)
    return not p.is_absolute() and ".." not in p.parts and p.parts[:1] in (("cache",), ("course",)) \
        and (p.parts[0] != "cache" or p.parts[1:2] == ("seeds",))


def _read_manifest(tar: tarfile.TarFile, bundle: Path) -> dict:
    first = tar.next()
    if first is None or first.name != MANIFEST or not first.isfile():
        raise _damaged(bundle, f"第一个文件不是 {MANIFEST}")
    try:
        manifest = json.loads(tar.extractfile(first).read())  # type: ignore[union-attr]
        files = manifest["files"]
        ok = manifest.get("format") == FORMAT and isinstance(files, dict) and all(
            isinstance(v.get("sha256"), str) and isinstance(v.get("size"), int) for v in files.values())
    except (ValueError, KeyError, TypeError, AttributeError):
        ok = False
    if not ok:
        raise _damaged(bundle, f"{MANIFEST} 读不出来")
    if manifest.get("version") != VERSION:
        raise BundleError(f"离线包 {bundle} 的格式版本是 {manifest.get('version')}，这个 dockerlearn 只认识版本 {VERSION}",
                          term="unsupported bundle version", hint="在两台机器上使用同一版本的 dockerlearn。")
    bad = [n for n in files if not _safe_name(n)]
    if bad:
        raise _damaged(bundle, f"含有不允许的路径 {bad[0]!r}")
    return manifest


def _unpack_verified(bundle: Path, stage: Path, progress: bool) -> dict:
    """Unpack into `stage`, hashing each file; raise unless everything matches the manifest."""
    try:
        tar = tarfile.open(bundle, "r:")
    except FileNotFoundError:
        raise BundleError(f"找不到离线包 {bundle}", term="no such file") from None
    except (tarfile.TarError, OSError) as e:
        raise _damaged(bundle, f"不是 tar 文件（{e}）") from None
    with tar:
        try:
            manifest = _read_manifest(tar, bundle)
            files = manifest["files"]
            bar = Bar(f"校验并解开 {bundle.name}", sum(v["size"] for v in files.values())) if progress else None
            seen = set()
            while (member := tar.next()) is not None:  # after the manifest, in order
                if member.name == SUMS and SUMS not in seen and member.isfile():
                    if tar.extractfile(member).read() != _sums(files):  # type: ignore[union-attr]
                        raise _damaged(bundle, f"{SUMS} 和清单不符 (sha256 mismatch)")
                    seen.add(SUMS)
                    continue
                want = files.get(member.name)
                if want is None or member.name in seen or not member.isfile():
                    raise _damaged(bundle, f"含有清单 (manifest) 里没有的文件 {member.name!r}")
                dest = stage / member.name
                dest.parent.mkdir(parents=True, exist_ok=True)
                h, size = hashlib.sha256(), 0
                src = tar.extractfile(member)
                with open(dest, "wb") as out:
                    while chunk := src.read(CHUNK):  # type: ignore[union-attr]
                        h.update(chunk)
                        out.write(chunk)
                        size += len(chunk)
                        if bar:
                            bar.update(len(chunk))
                if size != want["size"] or h.hexdigest() != want["sha256"]:
                    raise _damaged(bundle, f"{member.name} 的 sha256 和清单不符 (sha256 mismatch)")
                os.utime(dest, (member.mtime, member.mtime))
                seen.add(member.name)
        except (tarfile.TarError, EOFError) as e:  # an OSError (disk full, permissions) is not the bundle's fault
            raise _damaged(bundle, f"读到一半出错（{type(e).__name__}: {e}），可能被截断了 (truncated)") from None
    missing = sorted(set(files) - seen) + ([SUMS] if SUMS not in seen else [])
    if missing:
        raise _damaged(bundle, f"缺少 {len(missing)} 个文件，例如 {missing[0]}，可能被截断了 (truncated)")
    if bar:
        bar.close()
        step(f"{bundle.name}：{len(files)} 个文件的 sha256 全部正确")
    return manifest


def _install_seeds(staged: Path, cache: Path) -> int:
    """Each staged image folder replaces a missing or damaged one; an intact one is left alone."""
    count = 0
    for image_json in sorted(staged.rglob("image.json")):
        folder = image_json.parent
        dest = cache / folder.relative_to(staged.parent)
        if load_image(dest) is None:
            dest.parent.mkdir(parents=True, exist_ok=True)
            old = dest.with_name(dest.name + ".old")
            shutil.rmtree(old, ignore_errors=True)
            if dest.exists():
                os.replace(dest, old)
            os.replace(folder, dest)
            shutil.rmtree(old, ignore_errors=True)
        count += 1
    return count


def _install_course(staged: Path, course: Path) -> int:
    """Course files that differ are replaced; files the bundle does not have are left in place."""
    changed = 0
    for f in sorted(p for p in staged.rglob("*") if p.is_file()):
        dest = course / f.relative_to(staged)
        if dest.is_file() and dest.stat().st_size == f.stat().st_size and _sha256(dest) == _sha256(f):
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(f, dest)
        changed += 1
    return changed


def import_(bundle, cache: Optional[Path] = None, course: Optional[Path] = None, progress: bool = True) -> Result:
    """Verify the whole bundle, then install it. Whatever the caller's umask, what is installed is
    readable by every user: a classroom shares one cache (DOCKERLEARN_CACHE) that root imports and
    each student's sandbox reads."""
    old = os.umask(0o022)
    try:
        return _import(Path(bundle), cache, course, progress)
    finally:
        os.umask(old)


def _import(bundle: Path, cache: Optional[Path], course: Optional[Path], progress: bool) -> Result:
    cache = Path(cache or paths.cache_dir())
    course = Path(course) if course else paths.course_dir()
    # Staged in (or beside) the cache, on its file system: installing is a rename. Removed whatever
    # happens, and a refused bundle does not even leave an empty cache folder behind.
    if not cache.is_dir():
        cache.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".bundle-import-", dir=cache if cache.is_dir() else cache.parent))
    try:
        manifest = _unpack_verified(bundle, stage, progress)
        cache.mkdir(parents=True, exist_ok=True)
        images = _install_seeds(stage / "cache" / "seeds", cache) if (stage / "cache" / "seeds").is_dir() else 0
        course_files = _install_course(stage / "course", course) if (stage / "course").is_dir() else 0
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    total = sum(v["size"] for v in manifest["files"].values())
    if progress:
        step(f"已导入：{images} 个种子镜像到 {cache}，课程文件更新了 {course_files} 个（{course}）。")
    return Result(images, course_files, total)

