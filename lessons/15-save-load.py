"""Checks for lesson 15: 存出与载入 save / load."""

import os
from datetime import datetime, timezone

from dockerlearn.checks import check, last_tag_time


def config_id(entry):
    """Image ID from a manifest entry: "abc….json" (docker-archive) or "blobs/sha256/abc…" (OCI)."""
    name = os.path.basename(entry["Config"])
    return "sha256:" + name[:-len(".json")] if name.endswith(".json") else "sha256:" + name


def ids_by_tag(manifest):
    return {tag: config_id(entry) for entry in manifest for tag in (entry.get("RepoTags") or [])}


def expect_loaded(c, tags, archive_ids, archive_path, archive_name):
    """Every tag is present locally, with the archive's image ID, and was (re)created by a load."""
    saved_at = datetime.fromtimestamp(archive_path.stat().st_mtime, timezone.utc)
    for tag in tags:
        img = c.find_image(tag)
        if img is None:
            c.fail(f"本地没有 {tag}：从 {archive_name} 载入了吗？")
        if img["Id"] != archive_ids[tag]:
            history = c.api.history(tag)
            if len(history) == 1 and (history[0].get("Comment") or "").startswith("Imported"):
                c.fail(f"{tag} 是用 docker import 导入的新镜像，镜像 ID 和存档里的不同。"
                       "import 把存档当成一个文件系统；docker save 的存档要用 docker load 载入。")
            c.fail(f"{tag} 的镜像 ID 和 {archive_name} 里的不一样。")
        tagged = last_tag_time(img)
        if tagged is not None and tagged <= saved_at:
            c.fail(f"{tag} 从存出到现在一直都在本地，并没有被删除再载入：先 docker rmi，再 docker load。")


@check("save.roundtrip")
def roundtrip(c):
    manifest, path = c.saved_archive_manifest("save-lab/mytool.tar")
    ids = ids_by_tag(manifest)
    tags = ["mytool:1.0", "mytool:2.0"]
    missing = [t for t in tags if t not in ids]
    if missing:
        hint = "（按镜像 ID 存出会丢掉标签，要写标签）" if not ids else ""
        c.fail(f"save-lab/mytool.tar 里没有 {'、'.join(missing)}{hint}：两个镜像要存进同一个文件。")
    expect_loaded(c, tags, ids, path, "save-lab/mytool.tar")
    return "mytool:1.0 和 mytool:2.0 已从 save-lab/mytool.tar 载入，标签和镜像 ID 都和存出时一样。"


@check("save.load-archive")
def load_archive(c):
    manifest, path = c.saved_archive_manifest("save-lab/archive.tar.gz")
    ids = ids_by_tag(manifest)
    if "legacy-app:1.0" not in ids:
        c.fail("save-lab/archive.tar.gz 里没有 legacy-app:1.0：先运行准备单元格。")
    expect_loaded(c, ["legacy-app:1.0"], ids, path, "save-lab/archive.tar.gz")
    return "legacy-app:1.0 载入了，镜像 ID 和存档里的完全一样。"
