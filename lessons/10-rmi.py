"""Checks for lesson 10: 删除镜像 rmi."""

from dockerlearn.checks import exercise_check


@exercise_check("rmi.remove-tag")
def remove_tag(c):
    if c.find_image("mybox:v1") is not None:
        c.fail("标签 mybox:v1 还在。删除时要写完整的 名字:标签；只写 mybox 时 Docker 找的是 mybox:latest。")
    if c.find_image("mybox:v2") is None:
        c.fail("没有找到标签 mybox:v2：这道题只删除 mybox:v1，mybox:v2 要保留（还没准备练习的话，先运行准备单元格）。")
    if c.find_image("busybox:latest") is None:
        c.fail("没有找到 busybox:latest：这道题只删除 mybox:v1 这一个名字。")
    c.same_image("mybox:v2", "busybox:latest")
    return "mybox:v1 删掉了，镜像和它的标签 mybox:v2、busybox:latest 都还在：删除标签只去掉名字。"


@exercise_check("rmi.remove-by-id")
def remove_by_id(c):
    if not c.work_path("rmi-lab/legacy/Dockerfile").exists():  # busybox alone is no proof of a removal
        c.fail("还没有准备这个练习：先运行准备单元格（或点面板里的 准备），它会构建 legacy:1.0 和另外两个标签。")
    left = c.images(label="dockerlearn.exercise=rmi-by-id")
    if left:
        tags = c.tags(label="dockerlearn.exercise=rmi-by-id")
        if len(tags) >= 3:
            c.fail(f"镜像还在，三个标签 {', '.join(tags)} 也都在：什么都没有删除。"
                   "按 ID 删除有多个标签的镜像时，不加 -f 会被拒绝（image is referenced in multiple repositories）："
                   "用 docker rmi -f 加镜像 ID。")
        if tags:
            c.fail(f"镜像还在，它还有标签 {', '.join(tags)}。"
                   "按标签删除每次只去掉一个名字；按镜像 ID 删除才会一次去掉所有标签（镜像有多个标签时要加 -f）。")
        c.fail("legacy 的标签没了，但镜像本身还在（显示为 <none>）。用 docker images -a 找到它的 ID，按 ID 删除。")
    if c.find_image("busybox:latest") is None:
        c.fail("没有找到 busybox:latest：这道题只删除 legacy 镜像，busybox 要保留（还没准备练习的话，先运行准备单元格）。")
    return "legacy:1.0、legacy:stable、archive/legacy:1.0 和镜像本身都删除了，busybox:latest 还在。"


@exercise_check("rmi.in-use")
def in_use(c):
    if c.find_image("web:v2") is None:
        c.fail("没有找到 web:v2：新版本要保留（还没准备练习的话，先运行准备单元格）。")
    if c.containers(name="^/web-old$"):
        if c.find_image("web:v1") is not None:
            c.fail("容器 web-old 还在，web:v1 也还在：容器在用这个镜像时，docker rmi web:v1 会被拒绝"
                   "（image is being used by running container）。先 docker rm -f web-old 删除容器，再 docker rmi web:v1。")
        c.fail("容器 web-old 还在，web:v1 这个名字却没了：docker rmi -f 只会去掉镜像的名字，容器还在用这个镜像。"
               "应该先删除容器（docker rm -f web-old），再删除镜像（这时它显示为 <none>，按 ID 删除）。")
    old = c.images(label=["app=web", "version=1"])
    if old:
        tags = c.tags(label=["app=web", "version=1"])
        if tags:
            c.fail(f"镜像 {tags[0]} 还在：删除容器之后，再用 docker rmi 删除它。")
        c.fail("web:v1 的镜像还在，只是没有了名字（<none> 悬空镜像）：这是先用 -f 去掉标签的后果。"
               "用 docker images 找到它的 ID，再 docker rmi <ID>。")
    return "容器 web-old 和镜像 web:v1 都删除干净了，web:v2 还在：先删容器，再删镜像。"


@exercise_check("rmi.keep-parents")
def keep_parents(c):
    if c.find_image("cache-demo:1") is not None:
        c.fail("cache-demo:1 还在：用 docker rmi 删除它，加 --no-prune 保留它没有标签的父镜像。")
    parents = c.images(all=True, label="dockerlearn.exercise=no-prune")
    untagged = [img for img in parents if not c.tags_of(img)]
    if not untagged:
        c.fail("cache-demo:1 没有留下任何没有标签的父镜像：默认的 docker rmi 会把它们一起清理掉，"
               "加 --no-prune 才会保留（还没准备练习的话，先运行准备单元格）。")
    return f"cache-demo:1 删除了，它的 {len(untagged)} 个父镜像还在（docker images -a 可以看到），下次构建可以直接复用。"


@exercise_check("rmi.by-digest")
def by_digest(c):
    img = c.find_image("busybox:latest")
    if img is None:
        c.fail("busybox:latest 不在了：docker rmi busybox:latest 删掉的是标签，最后一个标签没了，镜像也跟着删除了。"
               "要删的只是摘要引用 busybox@sha256:…。先 docker pull busybox:latest，再试一次。")
    left = c.repo_digests(img)
    if left:
        c.fail(f"busybox:latest 还有摘要引用 {left[0]}：用 docker rmi {left[0]} 删除它。")
    return "摘要引用删除了，busybox:latest 和镜像都还在：docker images --digests busybox 的 DIGEST 列成了 <none>。"
