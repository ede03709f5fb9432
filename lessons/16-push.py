"""Checks for lesson 16: 推送镜像 push."""

from dockerlearn.checks import exercise_check


@exercise_check("push.login")
def login(c):
    registry, mirror = c.registry_address, c.mirror_address
    saved = c.saved_login(registry)
    if saved is None:
        if c.saved_login(mirror) is not None:
            c.fail(f"你登录的是 {mirror}，那是只读的加速器 $MIRROR；要登录的是镜像仓库服务 $REGISTRY（{registry}）。")
        c.fail(f"还没有登录 $REGISTRY（{registry}）：config.json 里没有它的凭据。"
               "登录失败时 docker login 会报错（unauthorized 表示用户名或密码不对）；"
               "用户名是 student，密码用 echo \"$REGISTRY_PASSWORD\" | docker login $REGISTRY -u student --password-stdin 传入。")
    user, password = saved
    if user != "student":
        c.fail(f"config.json 里保存的 {registry} 的用户名是 {user!r}，应该是 student：用 -u student 重新登录。")
    if password != c.registry_password():
        c.fail(f"config.json 里保存的 {registry} 的密码和 $REGISTRY_PASSWORD 不一样："
               "用 echo \"$REGISTRY_PASSWORD\" | docker login ... --password-stdin 重新登录（变量要写 $，放在双引号里）。")
    return f"已登录 {registry}，凭据保存在沙箱自己的 DOCKER_CONFIG/config.json 里。"


@exercise_check("push.push-image")
def push_image(c):
    registry = c.registry_address
    target = f"{registry}/student/hello:1.0"
    pushed = c.registry_image_id("student/hello", "1.0")
    if pushed is None:
        if c.find_image(target) is not None:
            c.fail(f"本地已经有标签 {target}，但镜像仓库服务里还没有：用 docker push 推送它（推送前要先登录）。")
        c.fail(f"镜像仓库服务里还没有 student/hello:1.0：先 docker tag busybox:latest {target}，再 docker push。")
    local = c.image("busybox:latest")
    if pushed != local["Id"]:
        c.fail("镜像仓库服务里的 student/hello:1.0 不是 busybox:latest：推送的镜像不对。")
    return f"{target} 已经在镜像仓库服务里了，它的配置摘要就是 busybox:latest 的镜像 ID。"


@exercise_check("push.all-tags")
def all_tags(c):
    wanted = {"1.0", "1.1", "latest"}
    have = set(c.registry_tags("student/multi"))
    missing = sorted(wanted - have)
    if missing:
        if have:
            why = ("不写标签的 docker push 只推送 latest" if have == {"latest"}
                   else "一条 docker push 名字:标签 只推送这一个标签")
            c.fail(f"镜像仓库服务里的 student/multi 只有 {', '.join(sorted(have))}，还缺 {', '.join(missing)}："
                   f"{why}；加 -a（--all-tags）、不写标签，一次推送所有标签。")
        c.fail("镜像仓库服务里还没有 student/multi（推送前要先登录）。")
    return "student/multi 的 1.0、1.1、latest 三个标签都推送上去了。"
