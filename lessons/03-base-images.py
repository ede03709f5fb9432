"""Checks for lesson 03: 基础镜像."""

from dockerlearn.checks import exercise_check


@exercise_check("base.tag-smallest")
def tag_smallest(c):
    candidates = ["busybox:latest", "debian:bookworm", "debian:bookworm-slim"]
    tagged = c.find_image("smallest:latest")
    if tagged is None:
        c.fail("没有找到标签 smallest:latest：比较三个镜像的大小以后，用 docker tag 给最小的那个打上它。")
    # Judged by the seeds' image IDs: the learner may remove the other images once the tag is set,
    # and any other name of the same image (busybox:1, busybox:1.35…) is the same choice.
    which = next((ref for ref in candidates if tagged["Id"] == c.seed_id(ref)), None)
    size = f"{tagged['Size'] / 1e6:.1f}MB"
    if which is None:
        names = "、".join(t for t in c.tags_of(tagged) if t != "smallest:latest") or "一个没有别的标签的镜像"
        c.fail(f"smallest:latest 指向 {names}（{size}），不是 {'、'.join(candidates)} 之一；"
               "用 docker images 比较这三个镜像的 SIZE 列。")
    smallest = "busybox:latest"  # by far: a few MB against tens of MB for Debian
    if which != smallest:
        c.fail(f"smallest:latest 指向的是 {which}（{size}），还有更小的镜像；用 docker images 比较 SIZE 列")
    return f"smallest:latest 指向 {smallest}，只有约 {size}。"


@exercise_check("base.pull-slim-variant")
def pull_slim_variant(c):
    if c.find_image("debian:12-slim") is None:
        if c.find_image("debian:12") is not None:
            c.fail("找到了 debian:12，但那是完整版；slim 变体的标签在末尾加 -slim")
        if c.find_image("debian:bookworm-slim") is not None:
            c.fail("找到了 debian:bookworm-slim，这次要用版本号 12 组成的标签")
        c.fail("没有找到标签 debian:12-slim")
    c.expect_seed("debian:12-slim", "debian:12-slim")
    c.expect(c.named_by("debian:12-slim") != "tag",
             "debian:12-slim 这个名字是用 docker tag 起的，不是拉取来的：这个练习要你从加速器拉取这个标签，docker pull debian:12-slim。")
    return "debian:12-slim 已拉取；它和 debian:bookworm-slim 是同一个镜像，只是标签不同。"
