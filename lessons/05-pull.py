"""Checks for lesson 05: 获取镜像 pull."""

from dockerlearn.checks import check


@check("pull.pull-tag")
def pull_tag(c):
    if c.find_image("debian:12.15-slim") is None:
        have = sorted(t for img in c.images(reference="debian") for t in (img.get("RepoTags") or []))
        if have:
            c.fail(f"本地的 debian 标签有 {', '.join(have)}，但没有 debian:12.15-slim；标签要写完整，包括 -slim")
        c.fail("没有找到标签 debian:12.15-slim")
    seeded = c.sandbox.state.seeded.get("debian:12.15-slim")
    c.expect(c.image("debian:12.15-slim")["Id"] == seeded, "debian:12.15-slim 不是从加速器拉取的那个镜像")
    return "debian:12.15-slim 已拉取；它和 debian:bookworm-slim、debian:12-slim 是同一个镜像。"


@check("pull.all-tags")
def all_tags(c):
    tags = sorted(c.registry_tags("library/debian"))
    c.expect(tags, "沙箱的 debian 仓库是空的：运行 dockerlearn reset 恢复沙箱")
    missing = [t for t in tags if c.find_image(f"debian:{t}") is None]
    if missing:
        c.fail(f"debian 仓库有 {len(tags)} 个标签，本地还缺少 {len(missing)} 个："
               + "、".join(f"debian:{t}" for t in missing))
    ids = {c.image(f"debian:{t}")["Id"] for t in tags}
    return f"debian 的 {len(tags)} 个标签都已拉取，它们只对应 {len(ids)} 个不同的镜像。"
