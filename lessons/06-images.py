"""Checks for lesson 06: 查看镜像 images / image ls."""

from dockerlearn.checks import check


@check("images.filter-dangling")
def filter_dangling(c):
    old = c.image("demo:old")
    current = c.find_image("demo:v1")
    if current is not None and old["Id"] == current["Id"]:
        c.fail("demo:old 指向的是现在的 demo:v1，不是悬空镜像；用 docker images -f dangling=true 找出没有名字的那个")
    version = c.labels(old).get("demo.version")
    c.expect(version == "1",
             f"demo:old 不是旧的 demo:v1（它的 label demo.version 是 {version or '空的'}，旧版本应该是 1）")
    return "demo:old 找回了旧的 demo:v1（demo.version=1），它不再是悬空镜像了。"


@check("images.filter-label")
def filter_label(c):
    keep = c.images(label="stage=keep")
    c.expect(keep, "没有找到 label 为 stage=keep 的镜像 keep-c:1，它应该保留"
                   "（如果还没有构建这几个镜像，先运行练习前面的那个单元格）")
    left = c.images(label="stage=tmp")
    if left:
        names = [c.tags_of(img) or ["<none>"] for img in left]
        c.fail(f"还有 {len(left)} 个 label 为 stage=tmp 的镜像：{'、'.join(sorted(t for n in names for t in n))}")
    return "label 为 stage=tmp 的镜像都删掉了，stage=keep 的镜像还在。"
