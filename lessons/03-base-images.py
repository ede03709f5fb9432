"""Checks for lesson 03: 基础镜像."""

from dockerlearn.checks import check


@check("base.tag-smallest")
def tag_smallest(c):
    candidates = ["busybox:latest", "debian:bookworm", "debian:bookworm-slim"]
    for ref in candidates:
        c.expect(c.find_image(ref) is not None, f"本地还没有 {ref}，先把三个镜像都拉取下来再比较")
    sizes = {ref: c.image(ref)["Size"] for ref in candidates}
    smallest = min(sizes, key=sizes.get)
    tagged = c.image("smallest:latest")
    for ref in candidates:
        if ref != smallest and tagged["Id"] == c.image(ref)["Id"]:
            c.fail(f"smallest:latest 指向的是 {ref}（{sizes[ref] / 1e6:.0f}MB），还有更小的镜像；"
                   f"用 docker images 比较 SIZE 列")
    c.same_image("smallest:latest", smallest)
    return f"smallest:latest 指向 {smallest}，只有约 {sizes[smallest] / 1e6:.1f}MB。"


@check("base.pull-slim-variant")
def pull_slim_variant(c):
    if c.find_image("debian:12-slim") is None:
        if c.find_image("debian:12") is not None:
            c.fail("找到了 debian:12，但那是完整版；slim 变体的标签在末尾加 -slim")
        if c.find_image("debian:bookworm-slim") is not None:
            c.fail("找到了 debian:bookworm-slim，这次要用版本号 12 组成的标签")
        c.fail("没有找到标签 debian:12-slim")
    c.expect(c.image("debian:12-slim")["Id"] == c.seed_id("debian:12-slim"), "debian:12-slim 不是沙箱加速器里的 Debian 12 slim 镜像")
    return "debian:12-slim 已拉取；它和 debian:bookworm-slim 是同一个镜像，只是标签不同。"
