"""Checks for lesson 01: 准备：沙箱与镜像加速."""

from dockerlearn.checks import exercise_check


@exercise_check("sandbox.pull-from-mirror")
def pull_from_mirror(c):
    mirror = c.mirror_address
    target = f"{mirror}/library/debian:bookworm-slim"
    found = c.find_image(target)
    if found is None:
        near = [t for t in c.tags() if t.startswith(mirror + "/") and "debian" in t]
        if near:
            c.fail(f"找到了 {near[0]}，但要的是 {target}（标签 bookworm-slim）")
        if c.find_image("debian:bookworm-slim") is not None:
            c.fail(f"本地有 debian:bookworm-slim，但它是经过 Docker Hub 的名字拉取的；"
                   f"这次要把加速器地址写进名字：{target}")
        c.fail(f"没有找到 {target}。注意官方镜像在仓库服务里的路径是 library/debian，不能省略 library/")
    c.expect(found["Id"] == c.seed_id("debian:bookworm-slim"),
             f"{target} 不是加速器里的 debian:bookworm-slim")
    if not c.came_from(found, f"{mirror}/library/debian"):
        c.fail(f"本地有 {target}，但它不是从加速器拉取的：它没有 {mirror}/library/debian 的摘要（RepoDigests），"
               "这个名字是用 docker tag 打上去的。"
               f"docker tag 只是给已有的镜像再起一个名字；请用 docker rmi {target} 删掉这个标签，再 docker pull {target}。")
    return f"{target} 已从加速器拉取，和 debian:bookworm-slim 是同一个镜像。"


@exercise_check("sandbox.same-image")
def same_image(c):
    mirror = c.mirror_address
    hub_name = "debian:12-slim"
    mirror_name = f"{mirror}/library/debian:12-slim"
    c.image(hub_name)
    if c.find_image(mirror_name) is None:
        c.fail(f"有了 {hub_name}，还缺直接从加速器拉取的 {mirror_name}")
    c.same_image(mirror_name, hub_name)
    if not c.came_from(mirror_name, f"{mirror}/library/debian"):
        c.fail(f"本地有 {mirror_name}，但它不是从加速器拉取的：它没有 {mirror}/library/debian 的摘要（RepoDigests），"
               "这个名字是用 docker tag 打上去的。"
               f"请用 docker rmi {mirror_name} 删掉这个标签，再 docker pull {mirror_name}。")
    return f"{hub_name} 和 {mirror_name} 的镜像 ID 相同：加速器提供的就是 Docker Hub 名字对应的镜像。"
