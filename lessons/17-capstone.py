"""Checks for lesson 17: 综合练习：一个镜像的一生. One check per stage."""

from dockerlearn.checks import exercise_check

QUOTE = "Talk is cheap. Show me the code. (Linus Torvalds)"


def _quote_image(c):
    img = c.find_image("quote:1.0")
    if img is None:
        c.fail("本地没有 quote:1.0：它是第 1 步构建出来的；如果已经删除了，第 4 步用 docker pull quote:1.0 把它拉回来。")
    return img


def _target(c):
    return f"{c.registry_address}/library/quote:1.0"


def _keepers(c, img, names) -> str:
    """What keeps an image on the disk besides `names`: its other tags and the containers created
    from it, with the commands that clear them; "" when nothing does."""
    tags = [t for t in c.tags_of(img) if t not in names]
    boxes = sorted({n.lstrip("/") for k in c.containers(ancestor=img["Id"]) for n in (k.get("Names") or [])[:1]})
    found = []
    if boxes:
        found.append(f"容器 {', '.join(boxes)} 是用这个镜像创建的（删除：docker rm -f {' '.join(boxes)}）")
    if tags:
        found.append(f"它还有别的标签 {', '.join(tags)}（删除：docker rmi {' '.join(tags)}）")
    return "；".join(found)


@exercise_check("capstone.build")
def build(c):
    img = c.find_image("quote:1.0")
    if img is None:
        built = c.tags(label="quote.edition")
        unnamed = c.images(label="quote.edition")
        if built:
            c.fail(f"没有找到 quote:1.0。用 capstone 构建出来的镜像叫 {'、'.join(built)}：-t 后面写 quote:1.0。")
        if unnamed:
            c.fail("没有找到 quote:1.0。用 capstone 构建出来的镜像没有名字（<none>）：构建时加上 -t quote:1.0。")
        c.fail("没有找到 quote:1.0，也没有用 capstone 构建出来的镜像："
               "用 docker build --build-arg VERSION=1.0 -t quote:1.0 capstone 构建它。")
    labels = c.labels(img)
    if "quote.edition" not in labels:
        c.fail("quote:1.0 不是用 capstone/Dockerfile 构建的：它没有 label quote.edition。")
    version = labels.get("org.opencontainers.image.version")
    if version != "1.0":
        c.fail(f"quote:1.0 的版本 label 是 {version!r}，应该是 '1.0'：构建时用 --build-arg VERSION=1.0。")
    # The label must come from the build argument VERSION, not from --label or an edited Dockerfile.
    steps = [h.get("CreatedBy") or "" for h in c.history("quote:1.0")]
    own = next((i for i, step in enumerate(steps) if "quote.edition=" in step), len(steps))
    if any("LABEL" in step and "org.opencontainers.image.version=" in step for step in steps[:own]):
        c.fail("quote:1.0 的版本 label 是 1.0，但它是直接设置的：构建历史最后多了一步 LABEL org.opencontainers.image.version=1.0"
               "（docker history --no-trunc quote:1.0 可以看到），那是 --label 的结果。"
               "题目要的是构建参数：去掉 --label，用 --build-arg VERSION=1.0，Dockerfile 里的 LABEL 会用上它。")
    defaults = [step.split("ARG ", 1)[1].strip() for step in steps if "#(nop)" in step and " ARG VERSION" in step]
    if any(d != "VERSION=dev" for d in defaults):
        c.fail(f"quote:1.0 的版本 label 是 1.0，但 Dockerfile 里构建参数的默认值被改掉了（ARG {defaults[0]}）："
               "把它改回 ARG VERSION=dev，构建时用 --build-arg VERSION=1.0 覆盖默认值。")
    dockerfile = c.work_path("capstone/Dockerfile")
    text = dockerfile.read_text(errors="replace") if dockerfile.is_file() else ""
    if text and "$VERSION" not in text and "${VERSION}" not in text:
        c.fail("quote:1.0 的版本 label 是 1.0，但 capstone/Dockerfile 里的 LABEL 不再用 $VERSION，而是直接写了值。"
               "把 Dockerfile 改回 org.opencontainers.image.version=$VERSION，构建时用 --build-arg VERSION=1.0。")
    if (c.image_text("quote:1.0", "/quote.txt") or "") != QUOTE:
        c.fail("quote:1.0 里的 /quote.txt 不是项目里的那句名言：请用 capstone 目录做构建上下文。")
    return "quote:1.0 构建好了，版本 label 是 1.0。"


@exercise_check("capstone.tag")
def tag(c):
    _quote_image(c)
    target = _target(c)
    if c.find_image(target) is None:
        near = [t for t in c.tags() if t.endswith("quote:1.0") and t not in ("quote:1.0", target)]
        if near:
            first, _, rest = near[0].partition("/")
            # A wrong name keeps the image alive: step 4 could not remove it later.
            extra = f"多余的名字用 docker rmi {near[0]} 删除，不然它会让第 4 步删不掉这个镜像。"
            if first == c.mirror_address:
                c.fail(f"找到了 {near[0]}：开头的 {first} 是只读的加速器 $MIRROR，不是镜像仓库服务 $REGISTRY（{c.registry_address}）；"
                       f"名字应该是 {target}。" + extra)
            if first == c.registry_address:
                c.fail(f"找到了 {near[0]}：地址对了，但仓库是 {rest.rsplit(':', 1)[0]}，应该是 library/quote；"
                       f"名字应该是 {target}。" + extra)
            if "." in first or ":" in first or first == "localhost":
                c.fail(f"找到了 {near[0]}：开头的地址 {first} 不是镜像仓库服务 $REGISTRY（{c.registry_address}）；"
                       f"名字应该是 {target}。" + extra)
            c.fail(f"找到了 {near[0]}，但名字里没有镜像仓库服务的地址：名字应该是 {target}。" + extra)
        c.fail(f"没有找到标签 {target}：用 docker tag quote:1.0 {target} 打上它。")
    c.same_image(target, "quote:1.0")
    return f"{target} 和 quote:1.0 是同一个镜像。"


@exercise_check("capstone.push")
def push(c):
    pushed = c.registry_image_id("library/quote", "1.0")
    if pushed is None:
        target = _target(c)
        if c.find_image(target) is None:
            c.fail(f"镜像仓库服务里还没有 library/quote:1.0，本地也没有要推送的 {target}：先完成第 2 步打上这个标签，再登录、推送。")
        if c.saved_login(c.registry_address) is None:
            c.fail(f"镜像仓库服务里还没有 library/quote:1.0，也还没有登录 $REGISTRY（config.json 里没有它的凭据）："
                   f"先 echo \"$REGISTRY_PASSWORD\" | docker login $REGISTRY -u student --password-stdin，再 docker push {target}。")
        c.fail(f"已经登录了，但镜像仓库服务里还没有 library/quote:1.0：用 docker push {target} 推送。")
    local = _quote_image(c)
    if pushed != local["Id"]:
        c.fail("镜像仓库服务里的 library/quote:1.0 和本地的 quote:1.0 不是同一个镜像。")
    return "library/quote:1.0 已经推送到镜像仓库服务，和本地的 quote:1.0 是同一个镜像。"


@exercise_check("capstone.pull-back")
def pull_back(c):
    pushed = c.registry_image_id("library/quote", "1.0")
    if pushed is None:
        c.fail("镜像仓库服务里没有 library/quote:1.0：先完成第 3 步（推送）。")
    img = c.find_image("quote:1.0")
    if img is None:
        c.fail("本地没有 quote:1.0：删除以后，用 docker pull quote:1.0 把它拉回来。")
    if img["Id"] != pushed:
        c.fail("本地的 quote:1.0 和镜像仓库服务里的不是同一个镜像。")
    if c.find_image(_target(c)) is not None:
        keepers = _keepers(c, img, ["quote:1.0", _target(c)])
        c.fail(f"本地还有标签 {_target(c)}：两个标签都要删除，镜像才会从本地消失。" + (f"另外，{keepers}。" if keepers else ""))
    if not c.pulled_from(img, "quote"):
        keepers = _keepers(c, img, ["quote:1.0"])
        if keepers:
            c.fail(f"quote:1.0 的镜像一直没有从本地消失：{keepers}。"
                   "清理掉以后，再 docker rmi quote:1.0，然后 docker pull quote:1.0。")
        others = [t for t in c.tags_of(img) if t != "quote:1.0"]
        fix = (f"先用 docker rmi 删除它的所有标签（{'、'.join(['quote:1.0', *others])}），让镜像从本地消失，"
               "再 docker pull quote:1.0。")
        if c.came_from(img, "quote"):
            c.fail("本地的 quote:1.0 拉取过，但镜像从来没有从本地消失：quote:1.0 这个名字是构建或 docker tag 时打上的，"
                   "一直都在；docker pull 发现本地已经有这个镜像，只补上了摘要（RepoDigests）。" + fix)
        digests = [d.split("@", 1)[0] for d in c.repo_digests(img)]
        seen = f"只有 {'、'.join(digests)}@… 的摘要" if digests else "RepoDigests 是空的"
        c.fail(f"本地的 quote:1.0 不是用 docker pull quote:1.0 拉取回来的：它没有 quote@… 的摘要（{seen}），"
               "这个名字是 docker build 或 docker tag 打上的。" + fix)
    return "quote:1.0 是刚从加速器拉取回来的，镜像 ID 和推送时一样。"


@exercise_check("capstone.inspect")
def inspect(c):
    img = _quote_image(c)
    edition = c.labels(img).get("quote.edition")
    if not edition:
        c.fail("quote:1.0 没有 label quote.edition：它不是用 capstone/Dockerfile 构建的；回到第 1 步，用 capstone 目录重新构建。")
    ref = f"quote:{edition}"
    c.expect_new_tag(ref, "quote:1.0",
                     wrong="找到了 {first}，但标签应该是 label quote.edition 的值：用 docker inspect 查出来。"
                           "多余的标签用 docker rmi {first} 删除，不然它会让第 6 步删不掉这个镜像。",
                     missing="还没有以 quote.edition 的值为名的标签：用 docker inspect 查出这个 label 的值，再 docker tag。")
    return f"quote.edition 的值是 {edition}，{ref} 和 quote:1.0 是同一个镜像。"


@exercise_check("capstone.save-load")
def save_load(c):
    ids = c.archive_ids("capstone/quote.tar")
    edition_tags = sorted(t for t in ids if t.startswith("quote:") and t != "quote:1.0")
    if "quote:1.0" not in ids or not edition_tags:
        c.fail(f"capstone/quote.tar 里只有 {', '.join(sorted(ids)) or '没有标签的镜像'}："
               "quote:1.0 和 quote:<edition> 两个标签都要存进去。")
    img = c.find_image("quote:1.0")
    tagged = c.last_tag_time(img) if img is not None else None
    if tagged is not None and tagged.timestamp() <= c.work_path("capstone/quote.tar").stat().st_mtime:
        keepers = _keepers(c, img, list(ids))
        if keepers:  # the image was never removed, so the load brought nothing back
            c.fail(f"quote:1.0 的镜像一直没有从本地消失：{keepers}。"
                   f"清理掉以后，再 docker rmi {' '.join(['quote:1.0', *edition_tags])}，"
                   "然后 docker load -i capstone/quote.tar。")
    c.expect_loaded("capstone/quote.tar", ["quote:1.0", *edition_tags])
    return "quote 的两个标签从 capstone/quote.tar 载入回来了，镜像 ID 不变。恭喜你走完了一个镜像的一生！"
