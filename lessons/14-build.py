"""Checks for lesson 14: 创建镜像（三）：用 Dockerfile 构建 build."""

from dockerlearn.checks import exercise_check


@exercise_check("build.tag-file")
def tag_file(c):
    img = c.find_image("greeter:1.0")
    if img is None:
        built = c.images(label="dockerlearn.exercise=build-greeter")
        if built:
            names = "、".join(c.tags(label="dockerlearn.exercise=build-greeter")) or "一个没有标签的镜像"
            c.fail(f"没有找到 greeter:1.0。用 app.Dockerfile 构建出来的是 {names}：-f 用对了，但少了 -t greeter:1.0。"
                   "-t 可以写多次，一次构建同时写 -t greeter:1.0 -t greeter:latest。")
        c.fail("没有找到 greeter:1.0，也没有用 app.Dockerfile 构建出来的镜像。"
               "Dockerfile 不叫 Dockerfile 时，要用 -f 指定它：-f build-lab/ex-greeter/app.Dockerfile。")
    labels = c.labels(img)
    if labels.get("dockerlearn.exercise") != "build-greeter":
        c.fail("greeter:1.0 不是用 build-lab/ex-greeter/app.Dockerfile 构建的（还没准备练习的话，先运行准备单元格）。")
    if c.find_image("greeter:latest") is None:
        c.fail("没有找到 greeter:latest：-t 可以写多次，一次构建打上两个标签。")
    c.same_image("greeter:latest", "greeter:1.0")
    if labels.get("team") != "docs":
        c.fail("greeter:1.0 没有 label team=docs：构建时加上 --label team=docs。")
    return "greeter:1.0 和 greeter:latest 是同一次构建的结果，带有 label team=docs。"


@exercise_check("build.build-arg")
def build_arg(c):
    c.image("greeter:bonjour")
    text = c.image_text("greeter:bonjour", "/greeting.txt")
    if text is None:
        c.fail("greeter:bonjour 里没有 /greeting.txt：请用 build-lab/ex-args 构建。")
    if text == "hello, docker":
        c.fail("/greeting.txt 的内容还是默认的 hello, docker：构建参数没有生效。"
               "--build-arg 的名字要和 ARG 完全一样（区分大小写），构建输出里的 [Warning] 会提示没有用上的参数。")
    if text != "bonjour, docker":
        c.fail(f"/greeting.txt 的内容是 {text!r}，应该是 'bonjour, docker'。")
    # The value must come from --build-arg, not from an edited default: the builder records the ARG
    # instruction with its default ("#(nop)  ARG GREETING=hello"); the Dockerfile itself is a fallback.
    steps = [h.get("CreatedBy") or "" for h in c.history("greeter:bonjour")]
    defaults = [step.split("ARG ", 1)[1].strip() for step in steps if "#(nop)" in step and " ARG " in step]
    dockerfile = c.work_path("build-lab/ex-args/Dockerfile")
    text = dockerfile.read_text(errors="replace") if dockerfile.is_file() else ""
    changed = [d for d in defaults if d.startswith("GREETING=") and d != "GREETING=hello"]
    if changed or "ARG GREETING=bonjour" in text:
        seen = (f"docker history --no-trunc greeter:bonjour 里那一步是 ARG {changed[0]}" if changed
                else "build-lab/ex-args/Dockerfile 里写的是 ARG GREETING=bonjour")
        c.fail(f"/greeting.txt 是 bonjour, docker，但 ARG 的默认值被改掉了（{seen}）。"
               "题目要的是不改 Dockerfile：把默认值改回 hello，构建时用 --build-arg GREETING=bonjour 覆盖它。")
    return "greeter:bonjour 输出 bonjour, docker：构建参数 GREETING 生效了。"


@exercise_check("build.target")
def target(c):
    c.image("report:test")
    if c.image_text("report:test", "/src/report.sha256") is None:
        c.fail("report:test 里没有 /src/report.sha256，不是 build-lab/ex-multi 里 build 或 test 阶段的结果"
               "（不加 --target 时得到的是最后的 final 阶段）。")
    if c.image_text("report:test", "/src/test-passed") is None:
        c.fail("report:test 里没有 /src/test-passed：这是 build 阶段的镜像，要构建到 test 阶段。")
    return "report:test 是 test 阶段的镜像，/src/test-passed 在里面。"


@exercise_check("build.dockerignore")
def dockerignore(c):
    img = c.find_image("site:1")
    if img is None:
        c.fail("没有找到 site:1：写好 build-lab/ex-ctx/.dockerignore 以后，用 docker build -t site:1 build-lab/ex-ctx 构建。")
    labels = (img.get("Config") or {}).get("Labels") or {}
    if labels.get("dockerlearn.exercise") != "build-dockerignore":
        c.fail("site:1 不是用 build-lab/ex-ctx 里的 Dockerfile 构建的（还没准备练习的话，先运行准备单元格）。")
    if c.image_file("site:1", "/site/start.sh") is None:
        c.fail("site:1 里没有 /site/start.sh：.dockerignore 把要用的文件也排除掉了，只排除 .env 和 logs。")
    leaked = [p for p in ("/site/.env", "/site/logs") if c.image_file("site:1", p) is not None]
    if leaked:
        c.fail(f"site:1 里还有 {'、'.join(leaked)}：COPY . /site/ 把{'它' if len(leaked) == 1 else '它们'}也复制进去了。"
               "在 build-lab/ex-ctx/.dockerignore 里每行写一个要排除的名字（.env 和 logs），再重新构建 site:1。")
    ctx = c.work_path("build-lab/ex-ctx")
    gone = [n for n in (".env", "logs") if not (ctx / n).exists()]
    if gone:
        c.fail(f"site:1 里确实没有它们，但 build-lab/ex-ctx 里的 {'、'.join(gone)} 被删掉了。"
               "练习要的是留着这些文件、用 .dockerignore 排除它们：重新运行准备单元格，再写 .dockerignore 构建。")
    if not (ctx / ".dockerignore").is_file():
        c.fail("build-lab/ex-ctx 里没有 .dockerignore：在构建上下文的最上层写一个，每行一个要排除的名字。")
    return "site:1 里有 /site/start.sh，没有 .env 和 logs：它们在构建上下文里就被 .dockerignore 排除了。"
