"""Checks for lesson 04: 用过的镜像：读懂官方镜像."""

from dockerlearn.checks import check


@check("official.build-slim-based")
def build_slim_based(c):
    img = c.image("mysite:1.0")
    layers = c.layers(img)
    for base in ("debian:bookworm-slim", "debian:bookworm", "busybox:latest"):
        data = c.find_image(base)
        if data and layers[:len(c.layers(data))] == c.layers(data):
            c.expect(base == "debian:bookworm-slim",
                     f"mysite:1.0 的基础镜像是 {base}，不是 debian:bookworm-slim；检查 FROM 那一行")
            break
    else:
        c.fail("mysite:1.0 不是建在 debian:bookworm-slim 上的；检查 FROM 那一行")
    config = c.config(img)
    workdir = config.get("WorkingDir") or ""
    c.expect(workdir == "/var/www/html",
             f"mysite:1.0 的工作目录是 {workdir or '（未设置）'}，应该用 WORKDIR 设为 /var/www/html")
    ports = sorted((config.get("ExposedPorts") or {}).keys())
    c.expect("80/tcp" in ports,
             f"mysite:1.0 声明的端口是 {', '.join(ports) or '（没有）'}，应该用 EXPOSE 80 声明 80 端口")
    return "mysite:1.0 建在 debian:bookworm-slim 上，工作目录 /var/www/html，声明了 80 端口。"


@check("official.tag-aliases")
def tag_aliases(c):
    c.image("myapp:2.5.1")
    missing = [t for t in ("myapp:2.5", "myapp:2", "myapp:latest") if c.find_image(t) is None]
    c.expect(not missing, "还缺少标签：" + "、".join(missing))
    for t in ("myapp:2.5", "myapp:2", "myapp:latest"):
        c.same_image(t, "myapp:2.5.1")
    return "myapp:2.5.1、2.5、2、latest 四个标签指向同一个镜像，和官方镜像的做法一样。"
