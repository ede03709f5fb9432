"""Progress in SQLite: kept across resets, safe under concurrent checks, recovered when broken."""
from __future__ import annotations

import json
import multiprocessing
import sqlite3

import pytest

from dockerlearn.learner_progress import ProgressDB, ProgressUnavailable


def test_record_and_summarise(tmp_path):
    db = ProgressDB(tmp_path / "p.sqlite", "alice")
    db.record("tag.add-tag", False, "没有找到标签 mybusybox:v1")
    db.record("tag.add-tag", True, "ok")
    db.record("tag.add-tag", False, "later mistake")  # a pass stays a pass
    rows = {r.exercise_id: r for r in db.rows(["tag.add-tag", "tag.registry-name"])}
    assert rows["tag.add-tag"].tries == 3 and rows["tag.add-tag"].passed and rows["tag.add-tag"].first_pass
    assert rows["tag.registry-name"].tries == 0 and not rows["tag.registry-name"].passed
    assert db.passed(["tag.add-tag", "tag.registry-name"]) == 1
    exported = json.loads(db.export("json", ["tag.add-tag"]))
    assert exported[0]["learner"] == "alice" and exported[0]["tries"] == 3
    csv_text = db.export("csv", ["tag.add-tag"])
    assert csv_text.splitlines()[0] == "learner,exercise_id,tries,passed,first_pass,last_try"
    assert csv_text.splitlines()[1].startswith("alice,tag.add-tag,3,True,")


def test_corrupt_database_is_backed_up_and_recreated(tmp_path):
    path = tmp_path / "p.sqlite"
    path.write_bytes(b"this is not a database, just garbage " * 100)
    db = ProgressDB(path)
    notice = db.record("tag.add-tag", True)
    assert "已备份" in notice and "recreated" in notice
    backups = list(tmp_path.glob("p.*.bak"))
    assert len(backups) == 1 and backups[0].read_bytes().startswith(b"this is not a database")
    assert db.rows(["tag.add-tag"])[0].passed


def test_a_busy_database_is_never_thrown_away(tmp_path):
    """Another writer holding the lock longer than the timeout is contention, not corruption."""
    path = tmp_path / "p.sqlite"
    ProgressDB(path).record("tag.add-tag", True)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(ProgressUnavailable) as err:
            ProgressDB(path, busy_timeout=0.2).record("tag.registry-name", True)
    finally:
        holder.close()
    assert "database is locked" in err.value.render() and "占用" in err.value.render()
    assert not list(tmp_path.glob("p.*.bak")), "a healthy database is kept"
    assert ProgressDB(path).rows(["tag.add-tag"])[0].passed, "and so is the learner's progress"


@pytest.mark.parametrize("kind", ["directory", "file-as-parent"])
def test_unusable_database_gives_a_chinese_error(tmp_path, kind):
    if kind == "directory":
        path = tmp_path / "p.sqlite"
        path.mkdir()
    else:
        (tmp_path / "progress").write_text("not a folder")
        path = tmp_path / "progress" / "p.sqlite"
    with pytest.raises(ProgressUnavailable) as err:
        ProgressDB(path).record("tag.add-tag", True)
    text = err.value.render()
    assert text.startswith("错误：学习进度数据库") and "没有保存" in text and "（" in text


def _hammer(path, n, who):
    db = ProgressDB(path)
    for i in range(n):
        db.record(f"{who}.ex-{i % 3}", i % 2 == 0)


def test_concurrent_writers_lose_no_row(tmp_path):
    path = tmp_path / "p.sqlite"
    ProgressDB(path).rows()  # create the schema first
    procs = [multiprocessing.Process(target=_hammer, args=(path, 60, w)) for w in ("a", "b", "c")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    total = sum(r.tries for r in ProgressDB(path).rows())
    assert total == 180
    assert not list(tmp_path.glob("*.bak")), "contention is not corruption"


def _root_only():
    import os
    if os.geteuid() != 0:
        pytest.skip("mount and chattr need root")


def test_a_full_disk_is_named_as_such(tmp_path):
    """A 1 MiB tmpfs filled up: SQLite says "disk I/O error" or "database or disk is full"; the
    learner reads "disk full" either way, and the rows already saved are still there."""
    import subprocess
    _root_only()
    disk = tmp_path / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)], check=True)
    try:
        db = ProgressDB(disk / "p.sqlite")
        db.record("tag.add-tag", True)
        filler = disk / "filler"
        with open(filler, "wb") as f:
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError:
                pass
        with pytest.raises(ProgressUnavailable) as err:
            for i in range(200):  # until a write needs a page that is not there
                db.record("tag.add-tag", False, "x" * 4000)
        assert "disk full" in err.value.render() and "磁盘已满" in err.value.render(), err.value.render()
        filler.unlink()
        assert db.rows(["tag.add-tag"])[0].passed
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_an_immutable_database_is_named_as_such(tmp_path):
    import subprocess
    _root_only()
    path = tmp_path / "p.sqlite"
    ProgressDB(path).record("tag.add-tag", True)
    if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode:
        pytest.skip("this filesystem has no immutable flag")
    try:
        with pytest.raises(ProgressUnavailable) as err:
            ProgressDB(path).record("tag.add-tag", False)
        assert "database not writable" in err.value.render(), err.value.render()
    finally:
        subprocess.run(["chattr", "-i", str(path)])
    assert ProgressDB(path).rows(["tag.add-tag"])[0].passed
