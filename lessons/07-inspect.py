"""Checks for lesson 07: inspect 查看镜像详细信息."""

from dockerlearn.checks import exercise_check


@exercise_check("inspect.read-env")
def read_env(c):
    source = c.image("mystery:1")
    version = c.env(source).get("MYSTERY_VERSION")
    c.expect(version, "mystery:1 里没有环境变量 MYSTERY_VERSION：重新运行练习前面那个构建镜像的单元格")
    target = f"mystery:{version}"
    c.expect_new_tag(target, "mystery:1",
                     wrong="mystery:1 现在的标签有 {wrong}，但标签应该是环境变量 MYSTERY_VERSION 的值",
                     missing="mystery:1 还没有新的标签；先用 docker inspect -f '{{.Config.Env}}' mystery:1 找到 MYSTERY_VERSION")
    return f"{target} 和 mystery:1 是同一个镜像：MYSTERY_VERSION 就是 {version}。"


@exercise_check("inspect.find-workdir")
def find_workdir(c):
    found = c.image("web:found")
    workdir = c.config(found).get("WorkingDir") or ""
    c.expect(workdir == "/srv/www",
             f"web:found 指向的镜像工作目录是 {workdir or '/'}，不是 /srv/www；逐个查看 .Config.WorkingDir")
    c.same_image("web:found", "app-b:1")
    return "web:found 就是 app-b:1，它的工作目录是 /srv/www。"


@exercise_check("inspect.arch")
def arch(c):
    given = c.answer()
    img = c.image("busybox:latest")
    want, os_name = img.get("Architecture") or "", img.get("Os") or ""
    if given == want:
        return f"对，busybox:latest 是为 {want} 构建的（操作系统是 {os_name}）。"
    if given == os_name:
        c.fail(f"{given} 是操作系统（.Os），要的是 CPU 架构：.Architecture。")
    c.fail(f"busybox:latest 的架构不是 {given}：docker inspect -f '{{{{.Architecture}}}}' busybox:latest")
