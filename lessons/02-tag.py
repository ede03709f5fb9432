"""Checks for lesson 02: 标签 tag."""

from dockerlearn.checks import exercise_check


@exercise_check("tag.add-tag")
def add_tag(c):
    c.image("mybusybox:v1")
    c.same_image("mybusybox:v1", "busybox:latest")
    return "mybusybox:v1 和 busybox:latest 是同一个镜像，镜像 ID 相同。"


@exercise_check("tag.registry-name")
def registry_name(c):
    target = f"{c.registry_address}/student/busybox:1.35"
    if c.find_image(target) is None:
        near = [t for t in c.tags() if t.endswith("student/busybox:1.35")]
        if near:
            first = near[0].split("/", 1)[0]
            host = "." in first or ":" in first or first == "localhost"
            if not host:
                c.fail(f"找到了 {near[0]}，但名字里缺少镜像仓库服务的地址；应该是 {target}")
            if first == c.mirror_address:
                c.fail(f"找到了 {near[0]}：名字开头的 {first} 是加速器 $MIRROR 的地址，不是镜像仓库服务 $REGISTRY 的地址。"
                       f"加速器是只读的，推不上去；应该是 {target}，用 docker tag busybox:1.35.0 {target}。")
            c.fail(f"找到了 {near[0]}：名字开头的地址是 {first}，不是镜像仓库服务 $REGISTRY 的地址 {c.registry_address}；"
                   f"应该是 {target}。")
        c.fail(f"没有找到标签 {target}")
    c.same_image(target, "busybox:1.35.0")
    return f"{target} 指向 busybox:1.35.0，推送时它会去往 {c.registry_address}。"
