"""The base images every sandbox starts with, built on this machine from Debian packages.

- busybox: Debian's busybox-static binary with every applet linked in, CMD ["sh"].
- debian: a bookworm rootfs made by mmdebstrap (variant minbase), in two variants the
  way Docker's official images do it: the full one, and -slim with docs, man pages and
  translations removed (what debuerreotype's slimify does).
No distribution is ever relabelled as another: what cannot be built here is not seeded.
Built images are cached under the dockerlearn home, so only the first seed is slow.
"""
from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import subprocess
import tarfile
from fnmatch import fnmatch
from pathlib import Path

from .. import paths
from ..errors import MissingPackage, SeedFailed
from . import procs
from .imagebuild import Image, add_entry, crc_of_file, gzip_tar, load_image, make_config, make_manifest, save_image
from ..terminal_bars import Bar

BUILDER_VERSION = "2"  # bump to rebuild every cached seed (2: apt sources as in the official image)
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEBIAN_SUITE = "bookworm"
DEBIAN_MAJOR = "12"

# Shown by `docker search` against the sandbox registry. The local registry has no stars
# of its own: these demo values exist so that `--filter stars=N` has something to filter.
SEARCH_META = {
    "library/busybox": {"description": "BusyBox：两百多个常用 Unix 命令合成的一个静态程序（由 Debian busybox-static 离线构建）",
                        "stars": 3, "official": True},
    "library/debian": {"description": "Debian bookworm 基础镜像（由 mmdebstrap minbase 离线构建）",
                       "stars": 5, "official": True},
}

# The apt sources of Docker's official debian:bookworm image. mmdebstrap leaves the build
# machine's own sources in the rootfs, under a name that depends on how it was given them
# (0000debian.sources, or 00000000debian.sources on a root that mmdebstrap itself made):
# the image carries the official file instead, the same on every machine.
OFFICIAL_SOURCES = f"""Types: deb
URIs: http://deb.debian.org/debian
Suites: {DEBIAN_SUITE} {DEBIAN_SUITE}-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: {DEBIAN_SUITE}-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"""


def _build_machine_sources(name: str) -> bool:
    return name == "etc/apt/sources.list" or name.startswith("etc/apt/sources.list.d/")


# debuerreotype's slimify: what -slim images leave out, and what dpkg is told to skip later.
SLIM_EXCLUDE = ["usr/share/doc/*", "usr/share/info/*", "usr/share/linda/*",
                "usr/share/lintian/overrides/*", "usr/share/locale/*", "usr/share/man/*"]
SLIM_INCLUDE = ["usr/share/doc/*/copyright"]


def find_busybox() -> Path:
    """The static busybox; a dynamically linked one would not run in a scratch image."""
    for candidate in ("/bin/busybox", "/usr/bin/busybox"):
        p = Path(candidate)
        if p.exists() and _is_static(p):
            return p
    raise MissingPackage("busybox（静态链接版 static）", "busybox-static")


def _is_static(path: Path) -> bool:
    # An ELF with a PT_INTERP program header needs a dynamic loader.
    import struct
    with open(path, "rb") as f:
        head = f.read(64)
        if head[:4] != b"\x7fELF" or head[4] != 2:
            return False
        phoff, = struct.unpack_from("<Q", head, 32)
        phentsize, phnum = struct.unpack_from("<HH", head, 54)
        f.seek(phoff)
        table = f.read(phentsize * phnum)
    return all(struct.unpack_from("<I", table, i * phentsize)[0] != 3 for i in range(phnum))


def busybox_version(binary: Path) -> str:
    out = subprocess.run([str(binary)], capture_output=True, text=True).stdout + \
        subprocess.run([str(binary), "--help"], capture_output=True, text=True).stdout
    m = re.search(r"BusyBox v(\d+\.\d+\.\d+)", out)
    return m.group(1) if m else "unknown"


def debian_package_version(pkg: str) -> str:
    out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg], capture_output=True, text=True)
    return out.stdout.strip() or "unknown"


def seed_dir() -> Path:
    return paths.cache_dir() / "seeds"


# ---------------------------------------------------------------- busybox
BUSYBOX_PASSWD = """root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
sync:x:4:100:sync:/bin:/bin/sync
mail:x:8:8:mail:/var/spool/mail:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
operator:x:37:37:Operator:/var:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
"""
BUSYBOX_GROUP = """root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
wheel:x:10:root
mail:x:12:
www-data:x:33:
users:x:100:
nogroup:x:65534:
"""


def busybox_image(progress: bool = True) -> Image:
    binary = find_busybox()
    version = busybox_version(binary)
    key = f"busybox-{version}-{crc_of_file(binary)}-b{BUILDER_VERSION}"
    folder = seed_dir() / key
    cached = load_image(folder)
    if cached:
        return cached
    bar = Bar(f"构建 busybox:{version}（来自 Debian busybox-static）", unit="") if progress else None
    folder.mkdir(parents=True, exist_ok=True)
    mtime = binary.stat().st_mtime
    applets = subprocess.run([str(binary), "--list-full"], capture_output=True, text=True, check=True).stdout.split()
    raw = folder / "layer.tar"
    with tarfile.open(raw, "w", format=tarfile.GNU_FORMAT) as tar:
        dirs = {"bin", "dev", "etc", "home", "root", "tmp", "usr", "usr/bin", "usr/sbin", "sbin", "var",
                "var/spool", "var/spool/mail", "var/www"}
        dirs |= {os.path.dirname(a) for a in applets if os.path.dirname(a)}
        for d in sorted(dirs):
            mode = {"root": 0o700, "tmp": 0o1777}.get(d, 0o755)
            add_entry(tar, d, mode=mode, mtime=mtime)
        add_entry(tar, "bin/busybox", kind=tarfile.REGTYPE, data=binary.read_bytes(), mtime=mtime)
        for applet in sorted(applets):
            if applet != "bin/busybox":
                add_entry(tar, applet, kind=tarfile.LNKTYPE, linkname="bin/busybox", mtime=mtime)
        add_entry(tar, "etc/passwd", kind=tarfile.REGTYPE, mode=0o644, data=BUSYBOX_PASSWD.encode(), mtime=mtime)
        add_entry(tar, "etc/group", kind=tarfile.REGTYPE, mode=0o644, data=BUSYBOX_GROUP.encode(), mtime=mtime)
    layer = gzip_tar(raw, folder / "layer.tar.gz")
    raw.unlink()
    pkg = debian_package_version("busybox-static")
    config = make_config(
        [layer], created=mtime, env=[PATH_ENV], cmd=["sh"],
        history=[f"ADD busybox-{version}-rootfs.tar / # Debian busybox-static {pkg}, {len(applets)} applets",
                 'CMD ["sh"]'],
        labels={"org.opencontainers.image.title": "busybox",
                "org.opencontainers.image.version": version,
                "org.opencontainers.image.description": f"BusyBox {version} built offline by dockerlearn from Debian busybox-static {pkg}",
                "dockerlearn.seed": "true"},
    )
    major_minor = ".".join(version.split(".")[:2])
    tags = ["latest", version, major_minor, version.split(".")[0], "glibc", f"{version}-glibc"]
    img = Image("library/busybox", tags, [layer], config, make_manifest(config, [layer]))
    save_image(img, folder)
    if bar:
        bar.close(f"构建 busybox:{version} 完成：{len(applets)} 个命令，{layer.size / 1e6:.1f} MB（压缩后）")
    return img


# ---------------------------------------------------------------- debian
def host_sources() -> list[str]:
    """apt sources for the rootfs: the host's own when it runs the same suite, else built from its URIs."""
    release = {}
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            k, _, v = line.partition("=")
            release[k] = v.strip('"')
    except OSError:
        pass
    override = os.environ.get("DOCKERLEARN_DEBIAN_MIRROR")
    if override:
        return [override]
    files = [p for p in [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]
             if p.is_file() and p.suffix in (".list", ".sources") and p.stat().st_size
             and "debian" in p.read_text()]
    if release.get("VERSION_CODENAME") == DEBIAN_SUITE and files:
        return [str(p) for p in files]
    uris = []
    for p in files:
        uris += re.findall(r"(?:URIs:\s*|deb\s+(?:\[[^\]]*\]\s*)?)(\S+)", p.read_text())
    main = next((u for u in uris if "security" not in u), None)
    if not main:
        raise SeedFailed("找不到可用的 Debian 软件源，无法构建 debian 镜像", term="no apt sources",
                         hint="设置环境变量 DOCKERLEARN_DEBIAN_MIRROR 为一个 Debian 镜像站地址。")
    return [f"deb {main} {DEBIAN_SUITE} main", f"deb {main} {DEBIAN_SUITE}-updates main"]


def debian_rootfs(progress: bool = True) -> Path:
    """A bookworm minbase rootfs tarball, bootstrapped once per machine with mmdebstrap."""
    out = paths.cache_dir() / "rootfs" / f"debian-{DEBIAN_SUITE}-minbase.tar"
    if out.exists():
        return out
    tool = shutil.which("mmdebstrap")
    if not tool:
        raise MissingPackage("mmdebstrap", "mmdebstrap")
    out.parent.mkdir(parents=True, exist_ok=True)
    # mmdebstrap guesses the output format from the file name: keep the .tar ending on the
    # temporary name too, and say the format outright, or it writes a directory.
    part = out.with_name(out.stem + ".part.tar")
    if part.is_dir():
        shutil.rmtree(part)
    part.unlink(missing_ok=True)
    mode = "root" if os.geteuid() == 0 else "unshare"
    argv = [tool, "--variant=minbase", f"--mode={mode}", "--format=tar", DEBIAN_SUITE, str(part), *host_sources()]
    bar = Bar("用 mmdebstrap 构建 Debian bookworm 根文件系统（只在第一次需要，约 30 秒）", unit="") if progress else None
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "LC_ALL": "C.UTF-8"})
    lines = []
    assert proc.stdout
    for line in proc.stdout:
        lines.append(line.rstrip())
        if bar and line.startswith("I: "):
            bar.note("debian rootfs: " + line[3:].strip()[:70])
    if proc.wait() != 0:
        part.unlink(missing_ok=True)
        raise SeedFailed("mmdebstrap 构建 Debian 根文件系统失败", term="mmdebstrap failed",
                         hint="它需要能访问 Debian 软件源；检查 apt-get update 是否成功。",
                         log="\n".join(lines[-15:]))
    os.replace(part, out)
    if bar:
        bar.close("Debian bookworm 根文件系统已缓存")
    return out


def _slim_drop(name: str) -> bool:
    return any(fnmatch(name, p) for p in SLIM_EXCLUDE) and not any(fnmatch(name, p) for p in SLIM_INCLUDE)


def imported_debian_images() -> list[Image] | None:
    """The newest complete cached debian images, used when this machine has no rootfs of its own:
    an offline bundle (`dockerlearn bundle import`) carries the images, not the 160 MB rootfs."""
    if (paths.cache_dir() / "rootfs" / f"debian-{DEBIAN_SUITE}-minbase.tar").exists():
        return None  # the rootfs is the key: its own images (or a rebuild from it)
    for folder in sorted(seed_dir().glob(f"debian-{DEBIAN_SUITE}-*-b{BUILDER_VERSION}"), reverse=True):
        found = [load_image(folder / "full"), load_image(folder / "slim")]
        if all(found):
            return found  # type: ignore[return-value]
    return None


def debian_images(progress: bool = True) -> list[Image]:
    imported = imported_debian_images()
    if imported:
        return imported
    rootfs = debian_rootfs(progress)
    key = f"debian-{DEBIAN_SUITE}-{int(rootfs.stat().st_mtime)}-b{BUILDER_VERSION}"
    folders = [seed_dir() / key / "full", seed_dir() / key / "slim"]
    cached = [load_image(f) for f in folders]
    if all(cached):
        return cached  # type: ignore[return-value]
    for f in folders:
        f.mkdir(parents=True, exist_ok=True)
    mtime = rootfs.stat().st_mtime
    total = rootfs.stat().st_size
    bar = Bar("打包 debian 镜像层（full 与 slim）", total) if progress else None
    raws = [f / "layer.tar" for f in folders]
    version = ""
    with tarfile.open(rootfs) as src, tarfile.open(raws[0], "w", format=tarfile.GNU_FORMAT) as full, \
            tarfile.open(raws[1], "w", format=tarfile.GNU_FORMAT) as slim:
        done = 0
        for member in src:
            name = member.name[2:] if member.name.startswith("./") else member.name
            if name.startswith("dev/"):
                continue  # the engine provides /dev; device nodes have no place in a layer
            if _build_machine_sources(name.rstrip("/")):
                continue
            data = src.extractfile(member) if member.isfile() else None
            payload = data.read() if data else None
            if name == "etc/debian_version" and payload:
                version = payload.decode().strip()
            for out, keep in ((full, True), (slim, not _slim_drop(name))):
                if keep:
                    out.addfile(member, io.BytesIO(payload) if payload is not None else None)
            done += member.size + 512
            if bar:
                bar.update(member.size + 512)
        # dpkg keeps -slim slim: packages installed later skip the same paths.
        cfg = "".join(f"path-exclude /{p}\n" for p in SLIM_EXCLUDE) + \
              "".join(f"path-include /{p}\n" for p in SLIM_INCLUDE)
        add_entry(slim, "etc/dpkg/dpkg.cfg.d/docker", kind=tarfile.REGTYPE, mode=0o644, data=cfg.encode(), mtime=mtime)
        for out in (full, slim):
            add_entry(out, "etc/apt/sources.list.d/debian.sources", kind=tarfile.REGTYPE, mode=0o644,
                      data=OFFICIAL_SOURCES.encode(), mtime=mtime)
    if bar:
        bar.close("debian 镜像层已打包")
    images = []
    for folder, raw, variant in zip(folders, raws, ("full", "slim")):
        gbar = Bar(f"压缩 debian:{DEBIAN_SUITE}{'-slim' if variant == 'slim' else ''} 的层", raw.stat().st_size) if progress else None
        layer = gzip_tar(raw, folder / "layer.tar.gz", progress=gbar.update if gbar else None)
        if gbar:
            gbar.close()
        raw.unlink()
        suffix = "-slim" if variant == "slim" else ""
        tags = [f"{DEBIAN_SUITE}{suffix}", f"{DEBIAN_MAJOR}{suffix}"] + ([f"{version}{suffix}"] if version else [])
        if variant == "full":
            tags.append("latest")
        config = make_config(
            [layer], created=mtime, env=[PATH_ENV], cmd=["bash"],
            history=[f"ADD rootfs.tar / # mmdebstrap --variant=minbase {DEBIAN_SUITE}"
                     + (" + slimify (no docs, man pages, locales)" if suffix else ""), 'CMD ["bash"]'],
            labels={"org.opencontainers.image.title": "debian",
                    "org.opencontainers.image.version": f"{DEBIAN_SUITE}{suffix}",
                    "org.opencontainers.image.description": f"Debian {version or DEBIAN_MAJOR} ({DEBIAN_SUITE}{suffix}) built offline by dockerlearn with mmdebstrap minbase",
                    "dockerlearn.seed": "true"},
        )
        img = Image("library/debian", tags, [layer], config, make_manifest(config, [layer]))
        save_image(img, folder)
        images.append(img)
    return images


def all_images(with_debian: bool = True, progress: bool = True) -> list[Image]:
    with cache_lock():
        images = [busybox_image(progress)]
        if with_debian:
            images += debian_images(progress)
    return images


@contextlib.contextmanager
def cache_lock():
    """One builder of the seed cache at a time: sandboxes started together on a cold cache (a
    classroom, parallel tests) would otherwise write the same .part files. The others wait, then
    find the cache built. A cache they cannot write (a classroom's read-only one) needs no lock."""
    root = paths.cache_dir()
    try:
        root.mkdir(parents=True, exist_ok=True)
        f = open(root / ".lock", "a")
    except OSError:
        try:
            f = open(root / ".lock")
        except OSError:
            yield
            return
    with f, procs.exclusive(f):
        yield


def debian_point_release(seeded: dict) -> str:
    """"12.8" from seeded refs such as "debian:12.8-slim", or "" when debian is not seeded."""
    found = {m.group(1) for ref in seeded if (m := re.fullmatch(rf"debian:({DEBIAN_MAJOR}\.\d+)(-slim)?", ref))}
    return sorted(found)[-1] if found else ""


def seed_refs(images: list[Image]) -> dict[str, str]:
    """Short reference (as `docker images` shows it) → image ID, for every seeded tag."""
    refs = {}
    for img in images:
        short = img.repository.removeprefix("library/")
        for tag in img.tags:
            refs[f"{short}:{tag}"] = img.config_digest
    return refs
