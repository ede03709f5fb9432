"""Checks for lesson 04: 用过的镜像：读懂官方镜像."""

from dockerlearn.checks import exercise_check


@exercise_check("official.build-slim-based")
def build_slim_based(c):
    img = c.image("mysite:1.0")
    layers = c.layers(img)
    if not layers:
        c.fail("mysite:1.0 一层也没有（FROM scratch 又没有添加文件？）："
               "基础镜像应该是 debian:bookworm-slim，检查 Dockerfile 的 FROM 那一行。")
    # The base is the local image whose layers are the longest start of mysite's: judged by
    # image ID, so debian:12-slim (the same image as bookworm-slim) is as good as its other name.
    base, base_layers = None, []
    for other in c.images():
        other_layers = c.layers(other["Id"])
        if other["Id"] != img["Id"] and len(base_layers) < len(other_layers) <= len(layers) \
                and layers[:len(other_layers)] == other_layers:
            base, base_layers = other, other_layers
    slim = c.seed_id("debian:bookworm-slim")
    if base is None:
        c.fail("mysite:1.0 的各层和本地任何一个镜像的开头都对不上，看不出它建在 debian:bookworm-slim 上："
               "检查 FROM 那一行，写 FROM debian:bookworm-slim。")
    if base["Id"] != slim:
        names = "、".join(c.tags_of(base["Id"])) or base["Id"][7:19]
        c.fail(f"mysite:1.0 的基础镜像是 {names}，不是 debian:bookworm-slim；检查 FROM 那一行。")
    config = c.config(img)
    workdir = config.get("WorkingDir") or ""
    c.expect(workdir.rstrip("/") == "/var/www/html",
             f"mysite:1.0 的工作目录是 {workdir or '（未设置）'}，应该用 WORKDIR 设为 /var/www/html")
    ports = sorted((config.get("ExposedPorts") or {}).keys())
    c.expect("80/tcp" in ports,
             f"mysite:1.0 声明的端口是 {', '.join(ports) or '（没有）'}，应该用 EXPOSE 80 声明 80 端口")
    return "mysite:1.0 建在 debian:bookworm-slim 上，工作目录 /var/www/html，声明了 80 端口。"


@exercise_check("official.tag-aliases")
def tag_aliases(c):
    c.image("myapp:2.5.1")
    missing = [t for t in ("myapp:2.5", "myapp:2", "myapp:latest") if c.find_image(t) is None]
    c.expect(not missing, "还缺少标签：" + "、".join(missing))
    for t in ("myapp:2.5", "myapp:2", "myapp:latest"):
        c.same_image(t, "myapp:2.5.1")
    return "myapp:2.5.1、2.5、2、latest 四个标签指向同一个镜像，和官方镜像的做法一样。"
