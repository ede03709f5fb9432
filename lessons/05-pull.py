"""Checks for lesson 05: 获取镜像 pull."""

from dockerlearn.checks import exercise_check


@exercise_check("pull.pull-tag")
def pull_tag(c):
    version = c.debian_version()  # follows the seeds: Debian's point release moves on
    want = f"debian:{version}-slim"
    if c.find_image(want) is None:
        have = c.tags(reference="debian")
        if f"debian:{version}" in have:
            c.fail(f"本地有 debian:{version}，那是完整版；要的是 slim 变体 {want}，标签末尾要写 -slim")
        if have:
            c.fail(f"本地的 debian 标签有 {', '.join(have)}，但没有 {want}；"
                   f"完整版本号是 {version}，标签要写成 {version}-slim")
        c.fail(f"没有找到标签 {want}。先查出沙箱里 Debian 的完整版本号，再拉取它的 slim 变体")
    c.expect_seed(want, want)
    c.expect(c.named_by(want) != "tag",
             f"{want} 这个名字是用 docker tag 起的，不是拉取来的：这个练习要你从加速器拉取这个标签，docker pull {want}。")
    return f"{want} 已拉取；它和 debian:bookworm-slim、debian:12-slim 是同一个镜像。"


@exercise_check("pull.all-tags")
def all_tags(c):
    tags = sorted(c.registry_tags("library/debian"))
    c.expect(tags, "沙箱的 debian 仓库是空的：运行 dockerlearn reset 恢复沙箱")
    missing = [t for t in tags if c.find_image(f"debian:{t}") is None]
    if missing:
        c.fail(f"debian 仓库有 {len(tags)} 个标签，本地还缺少 {len(missing)} 个："
               + "、".join(f"debian:{t}" for t in missing))
    ids = {c.image(f"debian:{t}")["Id"] for t in tags}
    return f"debian 的 {len(tags)} 个标签都已拉取，它们只对应 {len(ids)} 个不同的镜像。"
