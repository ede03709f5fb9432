"""A learner's progress: every check attempt, in SQLite under the dockerlearn home.

It lives outside the sandbox directory, so `reset`, `destroy` and a daemon crash leave it be.
Several notebooks may check at once: WAL mode and a busy timeout keep every row.
A corrupt database is moved aside as a backup and recreated, and the learner is told.
A busy one (another writer holding its lock) is healthy: it is never thrown away. When the
progress cannot be read or written at all (a full disk, a read-only or odd file), the error
says so in Chinese, and a check still shows its verdict.
"""
from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

from . import paths
from .errors import DockerlearnError


class ProgressUnavailable(DockerlearnError):
    """The progress database cannot be used right now; nothing in it was changed or lost."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    exercise_id TEXT NOT NULL,
    at REAL NOT NULL,
    ok INTEGER NOT NULL,
    message TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS attempts_exercise ON attempts(exercise_id);
"""
BUSY_TIMEOUT = 10.0


@dataclass
class Row:
    exercise_id: str
    tries: int
    passed: bool
    first_pass: Optional[str]   # local time of the first ✅
    last_try: Optional[str]


class ProgressDB:
    def __init__(self, path: Path, learner: str = "", busy_timeout: float = BUSY_TIMEOUT):
        self.path = path
        self.learner = learner or path.stem
        self.busy_timeout = busy_timeout

    @classmethod
    def for_sandbox(cls, name: str) -> "ProgressDB":
        return cls(paths.progress_dir() / f"{name}.sqlite", name)

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None)
        for path, mode in ((self.path.parent, 0o700), (self.path, 0o600)):  # a learner's progress is theirs
            try:
                os.chmod(path, mode)
            except OSError:
                pass  # not ours to change (a teacher's copy): reading and writing still work
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(SCHEMA)
        return conn

    def _backup_and_recreate(self, why: str) -> str:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        backup = self.path.with_name(f"{self.path.stem}.{stamp}.bak")
        for suffix in ("", "-wal", "-shm"):
            src = Path(str(self.path) + suffix)
            if src.exists():
                os.replace(src, Path(str(backup) + suffix))
        return (f"⚠️ 学习进度数据库{why}，已备份为 {backup.name} 并重新创建 (progress database recreated)。"
                "之前的记录在备份里，老师可以帮你恢复。")

    def _run(self, fn):
        """Run fn(conn); on a corrupt file, back it up, recreate, run again."""
        notice = ""
        for attempt in range(2):
            try:
                conn = self._connect()
                try:
                    return fn(conn), notice
                finally:
                    conn.close()
            except sqlite3.DatabaseError as e:
                text = str(e).lower()
                if not attempt and ("malformed" in text or "not a database" in text or "file is encrypted" in text):
                    try:
                        notice = self._backup_and_recreate("已损坏")
                    except OSError as err:
                        raise self._unavailable(err) from None
                    continue
                raise self._unavailable(e) from None
            except OSError as e:
                raise self._unavailable(e) from None
        raise AssertionError("unreachable")

    def _disk_nearly_full(self) -> bool:
        import shutil
        try:
            return shutil.disk_usage(self.path.parent).free < 1 << 20
        except OSError:
            return False

    def _unavailable(self, err: Exception) -> ProgressUnavailable:
        text = str(err).lower()
        if "locked" in text or "busy" in text:
            why, term = f"正被另一个程序占用（超过 {self.busy_timeout:.0f} 秒）", "database is locked"
            hint = "数据库本身完好，稍后再试一次；如果一直这样，关掉其他正在检查的 notebook。"
        elif "full" in text or "no space" in text or ("disk i/o" in text and self._disk_nearly_full()):
            # SQLite reports a failed write on a full disk as "disk I/O error" when it cannot even
            # write its journal: the free space tells which it was.
            why, term = "所在的磁盘已满", "disk full"
            hint = "清理磁盘空间（例如 dockerlearn reset 或 docker image prune -a）后再试。"
        elif "readonly" in text or "read-only" in text or "permission" in text or "access" in text:
            why, term = "不能写入（只读、不可更改或没有权限）", "database not writable"
            hint = f"检查 {self.path} 和它所在目录的权限。"
        else:
            why, term = f"无法打开（{err}）", "database unavailable"
            hint = f"检查 {self.path}：它应该是一个普通文件。"
        return ProgressUnavailable(f"学习进度数据库 {self.path.name} {why}，这次的记录没有保存", term=term, hint=hint)

    def record(self, exercise_id: str, ok: bool, message: str = "") -> str:
        """Add one attempt. Returns a notice for the learner if the database had to be recreated."""
        _, notice = self._run(lambda c: c.execute(
            "INSERT INTO attempts(exercise_id, at, ok, message) VALUES (?, ?, ?, ?)",
            (exercise_id, time.time(), int(ok), message)))
        return notice

    def rows(self, exercise_ids: Optional[list[str]] = None) -> list[Row]:
        def query(c):
            return c.execute(
                "SELECT exercise_id, COUNT(*), MAX(ok), MIN(CASE WHEN ok THEN at END), MAX(at) "
                "FROM attempts GROUP BY exercise_id").fetchall()
        found, _ = self._run(query)
        by_id = {r[0]: r for r in found}
        ids = exercise_ids if exercise_ids is not None else sorted(by_id)
        out = []
        for ex in ids:
            r = by_id.get(ex)
            out.append(Row(ex, r[1] if r else 0, bool(r and r[2]),
                           _fmt(r[3]) if r and r[3] else None, _fmt(r[4]) if r else None))
        return out

    def passed(self, exercise_ids: list[str]) -> int:
        return sum(r.passed for r in self.rows(exercise_ids))

    def export(self, fmt: str, exercise_ids: Optional[list[str]] = None) -> str:
        return export_rows(self.learner, self.rows(exercise_ids), fmt)

    def last_activity(self) -> Optional[float]:
        """When the learner last pressed 检查 (seconds since the epoch), or None."""
        return self._run(lambda c: c.execute("SELECT MAX(at) FROM attempts").fetchone()[0])[0]


def export_rows(learner: str, rows: list[Row], fmt: str) -> str:
    """A learner's rows as CSV or JSON: what `dockerlearn progress` and the teacher's dashboard give."""
    data = [{"learner": learner, **asdict(r)} for r in rows]
    if fmt == "json":
        return json.dumps(data, ensure_ascii=False, indent=2)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=["learner", "exercise_id", "tries", "passed", "first_pass", "last_try"])
    writer.writeheader()
    writer.writerows(data)
    return buf.getvalue()


def _fmt(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))
