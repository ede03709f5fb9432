"""Checks for lesson 06: 查看镜像 images / image ls."""

from dockerlearn.checks import exercise_check


@exercise_check("images.filter-dangling")
def filter_dangling(c):
    old = c.image("demo:old")
    current = c.find_image("demo:v1")
    if current is not None and old["Id"] == current["Id"]:
        c.fail("demo:old 指向的是现在的 demo:v1，不是悬空镜像；用 docker images -f dangling=true 找出没有名字的那个")
    version = c.labels(old).get("demo.version")
    c.expect(version == "1",
             f"demo:old 不是旧的 demo:v1（它的 label demo.version 是 {version or '空的'}，旧版本应该是 1）")
    return "demo:old 找回了旧的 demo:v1（demo.version=1），它不再是悬空镜像了。"


@exercise_check("images.filter-label")
def filter_label(c):
    keep = c.images(label="stage=keep")
    c.expect(keep, "没有找到 label 为 stage=keep 的镜像 keep-c:1，它应该保留"
                   "（如果还没有构建这几个镜像，先运行练习前面的那个单元格）")
    left = c.images(label="stage=tmp")
    if left:
        names = [c.tags_of(img) or ["<none>"] for img in left]
        c.fail(f"还有 {len(left)} 个 label 为 stage=tmp 的镜像：{'、'.join(sorted(t for n in names for t in n))}")
    return "label 为 stage=tmp 的镜像都删掉了，stage=keep 的镜像还在。"


@exercise_check("images.digest")
def digest(c):
    given = c.answer()
    img = c.image("busybox:latest")
    digests = [d.split("@", 1)[1] for d in c.repo_digests(img)]
    c.expect(digests, "busybox:latest 没有摘要：它不是拉取来的。先 docker pull busybox:latest，再查。")
    if given == "<none>":
        c.fail("你交回的是 <none>：docker images --digests busybox:latest 带着标签时，20.10 的 DIGEST 列显示 <none>。"
               "只写仓库名再看：docker images --digests busybox。")
    value = given.split("@")[-1]
    if value in digests:
        return f"对，busybox:latest 的摘要是 {value}：它是镜像清单（manifest）的 sha256，拉取时由镜像仓库给出。"
    bare = value.removeprefix("sha256:")
    if len(bare) >= 12 and img["Id"].removeprefix("sha256:").startswith(bare):
        c.fail(f"{given} 是 busybox:latest 的镜像 ID（IMAGE ID 列），不是摘要。"
               "摘要要加 --digests 才显示，在 DIGEST 列。")
    c.fail(f"{given} 不是 busybox:latest 的摘要：用 docker images --digests busybox 查看 DIGEST 列。")


@exercise_check("images.count-ids")
def count_ids(c):
    given = c.answer()
    images = c.images()  # one entry per image, whatever its number of tags
    truth = len(images)
    rows = sum(max(1, len(c.tags_of(img))) for img in images)  # docker images: a row per tag
    c.expect(given.isdigit(), f"答案应该是一个数，你交回的是 {given}。")
    if int(given) == truth:
        return f"对，本地有 {truth} 个不同的镜像，docker images 却列出 {rows} 行：有的镜像有好几个标签。"
    if int(given) == rows:
        c.fail(f"{given} 是 docker images 的行数：同一个镜像有几个标签就出现几次，ID 也就重复几次。"
               "先用 sort -u 去掉重复的 ID 再数。")
    c.fail(f"本地不同的镜像不是 {given} 个：docker images -q | sort -u | wc -l 数一数。")


@exercise_check("images.df-active")
def df_active(c):
    given = c.answer()
    images = c.disk_usage().get("Images") or []
    active = sum(1 for img in images if (img.get("Containers") or 0) > 0)
    c.expect(given.isdigit(), f"答案应该是一个数，你交回的是 {given}。")
    if int(given) == active:
        return f"对，{active} 个镜像有容器在用；这些镜像在 docker image prune -a 时不会被删除。"
    if int(given) == len(images) and len(images) != active:
        c.fail(f"{given} 是 TOTAL 列，镜像的总数；要的是 ACTIVE 列：有容器在用的镜像有几个。")
    c.fail(f"有容器在用的镜像不是 {given} 个：看 docker system df 第一张表 Images 一行的 ACTIVE 列。")
