"""Checks for lesson 15: 存出与载入 save / load."""

from dockerlearn.checks import check


@check("save.roundtrip")
def roundtrip(c):
    ids = c.archive_ids("save-lab/mytool.tar")
    tags = ["mytool:1.0", "mytool:2.0"]
    missing = [t for t in tags if t not in ids]
    if missing:
        hint = "（按镜像 ID 存出会丢掉标签，要写标签）" if not ids else ""
        c.fail(f"save-lab/mytool.tar 里没有 {'、'.join(missing)}{hint}：两个镜像要存进同一个文件。")
    c.expect_loaded("save-lab/mytool.tar", tags)
    return "mytool:1.0 和 mytool:2.0 已从 save-lab/mytool.tar 载入，标签和镜像 ID 都和存出时一样。"


@check("save.load-archive")
def load_archive(c):
    ids = c.archive_ids("save-lab/archive.tar.gz")
    if "legacy-app:1.0" not in ids:
        c.fail("save-lab/archive.tar.gz 里没有 legacy-app:1.0：先运行准备单元格。")
    c.expect_loaded("save-lab/archive.tar.gz", ["legacy-app:1.0"])
    return "legacy-app:1.0 载入了，镜像 ID 和存档里的完全一样。"
