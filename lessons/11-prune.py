"""Checks for lesson 11: 清理镜像 image prune."""

from dockerlearn.checks import exercise_check


@exercise_check("prune.remove-dangling")
def remove_dangling(c):
    if c.find_image("site:latest") is None:
        c.fail("没有找到 site:latest：这道题只删除悬空镜像，有标签的镜像要保留。"
               "docker image prune -a 会把没有容器使用的有标签镜像也删掉（还没准备练习的话，先运行准备单元格）。")
    dangling = c.images(dangling=True)
    if dangling:
        c.fail(f"还有 {len(dangling)} 个悬空镜像（docker images --filter dangling=true 可以看到）。")
    return "悬空镜像都清理掉了，site:latest 还在。"


@exercise_check("prune.filter-label")
def filter_label(c):
    keep = ("report:1", "busybox:latest")
    gone = [ref for ref in keep if c.find_image(ref) is None]
    tmp = c.images(label="purpose=tmp")
    if tmp:
        names = c.tags(label="purpose=tmp")
        what = "、".join(names) if names else f"{len(tmp)} 个镜像"
        used = [ct for img in tmp for ct in c.containers(ancestor=img["Id"])]
        if used:
            name = (used[0].get("Names") or ["?"])[0].lstrip("/")
            c.fail(f"带 purpose=tmp 的 {what} 还在：容器 {name} 还在使用它（docker ps -a 可以看到）。"
                   f"prune 不删除有容器使用的镜像，加了 -a 也一样：先 docker rm {name}，再清理。")
        if gone:
            c.fail(f"带 purpose=tmp 的 {what} 还在，{'、'.join(gone)} 却被删掉了：--filter 选中的不是 purpose=tmp 的镜像。"
                   "用 --filter label=purpose=tmp（不是 label!=…，也不是别的值）；"
                   "运行准备单元格重新构建这些镜像，再试一次。")
        c.fail(f"带 purpose=tmp 的 {what} 还在，其它镜像也都在：prune 什么也没有删除。"
               "它们有标签名，不是悬空镜像，所以要加 -a；"
               "在 notebook 里还要加 -f，因为没有地方回答 Are you sure? [y/N]；"
               "再检查 --filter label=purpose=tmp 的拼写（键=值，区分大小写）。")
    for ref in gone:
        c.fail(f"没有找到 {ref}：只清理带 purpose=tmp 的镜像，其他镜像要保留。"
               "用 --filter label=purpose=tmp 限定范围（还没准备练习的话，先运行准备单元格）。")
    return "带 purpose=tmp 的镜像都清理掉了，report:1 和 busybox:latest 还在。"
