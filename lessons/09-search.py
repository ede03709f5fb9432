"""Checks for lesson 09: 搜寻镜像 search."""

from dockerlearn.checks import exercise_check


def _local_repositories(c):
    return sorted({t.rsplit(":", 1)[0].split("/")[-1] for t in c.tags()})


@exercise_check("search.pull-popular")
def pull_popular(c):
    # The registry has two repositories: without a search, pulling debian is a guess. A search of all
    # images has a term every name contains ("" or "library"); debian also finds busybox, by its
    # description, and the lesson above searches it.
    c.expect(any(s["everything"] and all(s["term"].strip().lower() in n for n in s["names"]) for s in c.searches()),
             "还没有搜索过全部镜像：先运行 docker search --filter stars=4 $REGISTRY/ ，再从结果里挑出要拉取的镜像")
    name = c.pulled_name("debian", "latest")
    have = _local_repositories(c)
    c.expect(name or "busybox" not in have or "debian" in have,
             "你拉取的是 busybox，它只有 3 颗星；用 --filter stars=4 搜索，看看剩下的是哪一个")
    c.expect(name, "没有找到 debian:latest：先用 docker search --filter stars=4 搜索，再拉取搜到的镜像的 latest 标签")
    c.expect_seed(name, "debian:latest")
    return f"收藏数至少为 4 的只有 library/debian，{name} 已拉取。"


@exercise_check("search.match-description")
def match_description(c):
    # A search whose term is in busybox's description but not in its name: a search by description.
    c.expect(any("library/busybox" in s["names"] and s["term"].strip().lower() not in "library/busybox"
                 for s in c.searches()),
             "还没有按描述搜索过：先运行 docker search --no-trunc $REGISTRY/static ，看看描述里含有 static 的是哪个镜像")
    name = c.pulled_name("busybox", "glibc")
    if name is None:  # another glibc tag of the same image (busybox:1.35.0-glibc) is as good
        glibc = c.seed_id("busybox:glibc")
        name = next((t for t in c.tags() if t.rsplit(":", 1)[0].split("/")[-1] == "busybox"
                     and "glibc" in t.rsplit(":", 1)[1] and c.image(t)["Id"] == glibc), None)
    if name is None:
        if c.pulled_name("busybox", "latest"):
            c.fail("找对了仓库 busybox，但要拉取的是标签 glibc")
        if "debian" in _local_repositories(c):
            c.fail("debian 的描述里没有 static；用 docker search $REGISTRY/static 再搜一次")
        c.fail("没有找到 busybox:glibc：先搜索描述里含有 static 的镜像，再拉取它的 glibc 标签")
    c.expect_seed(name, "busybox:glibc")
    return f"描述里含有 static 的是 library/busybox（Debian busybox-static），{name} 已拉取。"


@exercise_check("search.read-stars")
def read_stars(c):
    given = c.answer()
    stars = {r["name"]: r["star_count"] for r in c.search("library")}
    want = stars.get("library/debian")
    c.expect(want is not None, "沙箱的镜像仓库服务里搜不到 library/debian：沙箱的种子镜像出了问题，运行 dockerlearn reset。")
    c.expect(given.isdigit(), f"答案应该是一个数，你交回的是 {given}。")
    if int(given) == want:
        return f"对，library/debian 有 {want} 颗星（沙箱里的演示值；Docker Hub 上的收藏数要多得多）。"
    others = [name for name, n in stars.items() if n == int(given) and name != "library/debian"]
    if others:
        c.fail(f"{given} 是 {others[0].split('/')[-1]} 的收藏数（{others[0]}），要的是 library/debian 那一行的 STARS。")
    c.fail(f"library/debian 的收藏数不是 {given}：docker search $REGISTRY/debian，看 STARS 列。")
