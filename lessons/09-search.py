"""Checks for lesson 09: 搜寻镜像 search."""

from dockerlearn.checks import check


def _pulled(c, repository, tag):
    """The first local name for library/<repository>:<tag>: the Docker Hub name or a sandbox address."""
    names = [f"{repository}:{tag}",
             f"{c.sandbox.mirror_address}/library/{repository}:{tag}",
             f"{c.sandbox.registry_address}/library/{repository}:{tag}"]
    for name in names:
        if c.find_image(name) is not None:
            return name
    return None


def _local_repositories(c):
    return sorted({t.rsplit(":", 1)[0].split("/")[-1] for img in c.images() for t in (img.get("RepoTags") or [])})


@check("search.pull-popular")
def pull_popular(c):
    name = _pulled(c, "debian", "latest")
    if name is None:
        have = _local_repositories(c)
        if "busybox" in have and "debian" not in have:
            c.fail("你拉取的是 busybox，它只有 3 颗星；用 --filter stars=4 搜索，看看剩下的是哪一个")
        c.fail("没有找到 debian:latest：先用 docker search --filter stars=4 搜索，再拉取搜到的镜像的 latest 标签")
    c.expect(c.image(name)["Id"] == c.sandbox.state.seeded.get("debian:latest"),
             f"{name} 不是沙箱仓库服务里的 debian:latest")
    return f"收藏数至少为 4 的只有 library/debian（5 颗星），{name} 已拉取。"


@check("search.match-description")
def match_description(c):
    name = _pulled(c, "busybox", "glibc")
    if name is None:
        if _pulled(c, "busybox", "latest") or _pulled(c, "busybox", "1.35.0-glibc"):
            c.fail("找对了仓库 busybox，但要拉取的是标签 glibc")
        if "debian" in _local_repositories(c):
            c.fail("debian 的描述里没有 static；用 docker search $REGISTRY/static 再搜一次")
        c.fail("没有找到 busybox:glibc：先搜索描述里含有 static 的镜像，再拉取它的 glibc 标签")
    c.expect(c.image(name)["Id"] == c.sandbox.state.seeded.get("busybox:glibc"),
             f"{name} 不是沙箱仓库服务里的 busybox:glibc")
    return f"描述里含有 static 的是 library/busybox（Debian busybox-static），{name} 已拉取。"
