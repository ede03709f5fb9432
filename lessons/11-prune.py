"""Checks for lesson 11: 清理镜像 image prune."""

from dockerlearn.checks import check


@check("prune.remove-dangling")
def remove_dangling(c):
    if c.find_image("site:latest") is None:
        c.fail("没有找到 site:latest：这道题只删除悬空镜像，有标签的镜像要保留。"
               "docker image prune -a 会把没有容器使用的有标签镜像也删掉（还没准备练习的话，先运行准备单元格）。")
    dangling = c.images(dangling=True)
    if dangling:
        c.fail(f"还有 {len(dangling)} 个悬空镜像（docker images --filter dangling=true 可以看到）。")
    return "悬空镜像都清理掉了，site:latest 还在。"


@check("prune.filter-label")
def filter_label(c):
    tmp = c.images(label="purpose=tmp")
    if tmp:
        names = c.tags(label="purpose=tmp")
        what = "、".join(names) if names else f"{len(tmp)} 个镜像"
        c.fail(f"带 purpose=tmp 的 {what} 还在。"
               "它们有标签名，不是悬空镜像：不加 -a 时，prune 只清理悬空镜像。")
    for ref in ("report:1", "busybox:latest"):
        if c.find_image(ref) is None:
            c.fail(f"没有找到 {ref}：只清理带 purpose=tmp 的镜像，其他镜像要保留。"
                   "用 --filter label=purpose=tmp 限定范围（还没准备练习的话，先运行准备单元格）。")
    return "带 purpose=tmp 的镜像都清理掉了，report:1 和 busybox:latest 还在。"
