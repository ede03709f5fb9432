"""Checks for lesson 15: 存出与载入 save / load."""

from dockerlearn.checks import exercise_check


@exercise_check("save.roundtrip")
def roundtrip(c):
    ids = c.archive_ids("save-lab/mytool.tar")
    tags = ["mytool:1.0", "mytool:2.0"]
    missing = [t for t in tags if t not in ids]
    if missing:
        hint = "（按镜像 ID 存出会丢掉标签，要写标签）" if not ids else ""
        c.fail(f"save-lab/mytool.tar 里没有 {'、'.join(missing)}{hint}：两个镜像要存进同一个文件。")
    c.expect_loaded("save-lab/mytool.tar", tags)
    return "mytool:1.0 和 mytool:2.0 已从 save-lab/mytool.tar 载入，标签和镜像 ID 都和存出时一样。"


@exercise_check("save.load-archive")
def load_archive(c):
    ids = c.archive_ids("save-lab/archive.tar.gz")
    if "legacy-app:1.0" not in ids:
        c.fail("save-lab/archive.tar.gz 里没有 legacy-app:1.0：先运行准备单元格。")
    c.expect_loaded("save-lab/archive.tar.gz", ["legacy-app:1.0"])
    return "legacy-app:1.0 载入了，镜像 ID 和存档里的完全一样。"


@exercise_check("save.gzip")
def gzip_archive(c):
    path = "save-lab/busybox.tar.gz"
    kind = c.compression(path)
    if kind != "gzip":
        c.fail(f"{path} 没有压缩（{kind or '是普通的 tar'}）：docker save 从不压缩，文件名叫 .tar.gz 也只是名字。"
               f"让 docker save 写到标准输出，再经过 gzip：docker save busybox:latest | gzip > {path}")
    ids = c.archive_ids(path)
    c.expect("busybox:latest" in ids, f"{path} 里没有 busybox:latest，里面是：{', '.join(sorted(ids)) or '没有带标签的镜像'}。")
    c.expect(ids["busybox:latest"] == c.image("busybox:latest")["Id"], f"{path} 里的 busybox:latest 和本地的不是同一个镜像。")
    return f"{path} 是 gzip 压缩的镜像存档，docker load -i 可以直接载入它。"


@exercise_check("save.export-container")
def export_container(c):
    path = "save-lab/writer.tar"
    names = c.tar_names(path)
    if "manifest.json" in names:
        c.fail(f"{path} 是 docker save 存出的镜像存档（里面有 manifest.json）：它装的是镜像的层和配置，"
               "没有容器 writer 写下的 /note.txt。要导出容器的文件系统，用 docker export。")
    note = c.tar_text(path, "note.txt")
    if note is None or "written by the writer container" not in note:
        c.fail(f"{path} 里没有 writer 写下的 /note.txt：它不是容器 writer 的文件系统。docker export 后面写容器名 writer。")
    return f"{path} 是容器 writer 的整个文件系统（{len(names)} 个条目），连同 /note.txt；它没有层，也没有镜像配置。"
