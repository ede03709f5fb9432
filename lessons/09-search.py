"""Checks for lesson 09: 搜寻镜像 search."""

from dockerlearn.checks import check


def _local_repositories(c):
    return sorted({t.rsplit(":", 1)[0].split("/")[-1] for t in c.tags()})


@check("search.pull-popular")
def pull_popular(c):
    name = c.pulled_name("debian", "latest")
    if name is None:
        have = _local_repositories(c)
        if "busybox" in have and "debian" not in have:
            c.fail("你拉取的是 busybox，它只有 3 颗星；用 --filter stars=4 搜索，看看剩下的是哪一个")
        c.fail("没有找到 debian:latest：先用 docker search --filter stars=4 搜索，再拉取搜到的镜像的 latest 标签")
    c.expect(c.image(name)["Id"] == c.seed_id("debian:latest"),
             f"{name} 不是沙箱仓库服务里的 debian:latest")
    return f"收藏数至少为 4 的只有 library/debian（5 颗星），{name} 已拉取。"


@check("search.match-description")
def match_description(c):
    name = c.pulled_name("busybox", "glibc")
    if name is None:  # another glibc tag of the same image (busybox:1.35.0-glibc) is as good
        glibc = c.seed_id("busybox:glibc")
        name = next((t for t in c.tags() if t.rsplit(":", 1)[0].split("/")[-1] == "busybox"
                     and "glibc" in t.rsplit(":", 1)[1] and c.image(t)["Id"] == glibc), None)
    if name is None:
        if c.pulled_name("busybox", "latest"):
            c.fail("找对了仓库 busybox，但要拉取的是标签 glibc")
        if "debian" in _local_repositories(c):
            c.fail("debian 的描述里没有 static；用 docker search $REGISTRY/static 再搜一次")
        c.fail("没有找到 busybox:glibc：先搜索描述里含有 static 的镜像，再拉取它的 glibc 标签")
    c.expect(c.image(name)["Id"] == c.seed_id("busybox:glibc"),
             f"{name} 不是沙箱仓库服务里的 busybox:glibc")
    return f"描述里含有 static 的是 library/busybox（Debian busybox-static），{name} 已拉取。"
