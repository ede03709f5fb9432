"""A classroom roster: nbgrader's CSV (`id,last_name,first_name,email`), checked before anything changes.

- The header is required and must name the four columns; other columns (nbgrader's own exports
  add `lms_user_id`) are ignored and reported, so a spreadsheet export needs no editing.
- UTF-8, with or without a byte-order mark (BOM); Chinese names are fine.
- Every id becomes a Unix user name (Debian's rule), so ids that are not valid user names,
  duplicates, system users (root, daemon, www-data …) and accounts the classroom did not
  create are refused, every problem listed at once, and nothing is changed.

`plan()` compares the roster with what exists: a re-run with the same roster is a no-op,
a new row is added, and a missing row is only reported unless removal is asked for.
"""
from __future__ import annotations

import csv
import io
import json
import os
import pwd
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional

from ..errors import DockerlearnError

COLUMNS = ("id", "last_name", "first_name", "email")
USER_RE = re.compile(r"[a-z_][a-z0-9_-]*")  # Debian's NAME_REGEX for useradd, used with fullmatch
USER_MAX = 32
EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
FIRST_UID, LAST_UID = 1000, 59999  # Debian: below 1000 and from 60000 up are system accounts
SHOWN = 10  # problems listed in one message; the rest are counted


class RosterError(DockerlearnError):
    """The roster cannot be used; nothing was changed."""

    exit_code = 2


@dataclass(frozen=True)
class Student:
    id: str
    last_name: str = ""
    first_name: str = ""
    email: str = ""

    @property
    def display_name(self) -> str:
        """Chinese order (family name first, no space) when either part is CJK, else "First Last"."""
        if any("\u3400" <= ch <= "\u9fff" for ch in self.last_name + self.first_name):
            return self.last_name + self.first_name
        return " ".join(p for p in (self.first_name, self.last_name) if p) or self.id


def _refuse(problems: list[str], source: str, hint: str) -> RosterError:
    shown = problems[:SHOWN]
    more = f"\n  ……还有 {len(problems) - SHOWN} 个问题" if len(problems) > SHOWN else ""
    return RosterError(f"名单{' ' + source + ' ' if source else ''}不能使用，没有做任何改动：\n  " + "\n  ".join(shown) + more,
                       term="invalid roster", hint=hint)


def bad_user_name(name: str) -> str:
    """Why `name` cannot be a Unix user name, or "" when it can."""
    if not name:
        return "为空"
    if len(name) > USER_MAX:
        return f"超过 {USER_MAX} 个字符"
    if not USER_RE.fullmatch(name):
        return "只能包含小写字母、数字、_ 和 -，并以小写字母或 _ 开头"
    return ""


def parse(text: str, source: str = "roster.csv", notes: Optional[list] = None) -> list[Student]:
    """Students of a roster's text (a BOM at the start is dropped). Raises RosterError."""
    text = text.removeprefix("\ufeff")
    hint = "名单的第一行必须是表头 id,last_name,first_name,email（nbgrader 的格式），每个学生一行。"
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as e:
        raise _refuse([f"不是合法的 CSV：{e}"], source, hint) from None
    while rows and not any(cell.strip() for cell in rows[0]):
        rows.pop(0)
    if not rows:
        raise _refuse(["文件是空的 (empty file)"], source, hint)
    header = [h.strip() for h in rows[0]]
    problems = []
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        problems.append("表头缺少列 (missing column)：" + ", ".join(missing) + f"；读到的表头是 {','.join(header)}")
    dup_cols = sorted({h for h in header if header.count(h) > 1})
    if dup_cols:
        problems.append("表头里有重复的列 (duplicate column)：" + ", ".join(dup_cols))
    if problems:
        raise _refuse(problems, source, hint)
    extra = [h for h in header if h not in COLUMNS]
    if extra and notes is not None:
        notes.append("名单里的这些列不会用到，已忽略 (ignored columns)：" + ", ".join(extra))
    index = {c: header.index(c) for c in COLUMNS}
    students: list[Student] = []
    first_line: dict[str, int] = {}
    for n, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue  # blank lines (a trailing one is common) are not students
        if len(row) != len(header):
            problems.append(f"第 {n} 行有 {len(row)} 列，表头有 {len(header)} 列 (wrong number of fields)")
            continue
        values = {c: row[i].strip() for c, i in index.items()}
        sid = values["id"]
        why = bad_user_name(sid)
        if why:
            problems.append(f"第 {n} 行：id {sid!r} 不是合法的 Unix 用户名 (invalid user name)：{why}")
            continue
        if sid in first_line:
            problems.append(f"第 {n} 行：id {sid} 重复了，第 {first_line[sid]} 行已经有它 (duplicate id)")
            continue
        if values["email"] and not EMAIL_RE.fullmatch(values["email"]):
            problems.append(f"第 {n} 行：email {values['email']!r} 不像电子邮件地址 (invalid email)")
            continue
        first_line[sid] = n
        students.append(Student(sid, values["last_name"], values["first_name"], values["email"]))
    if not problems and not students:
        problems.append("只有表头，没有学生 (no students)")
    if problems:
        raise _refuse(problems, source, hint)
    return students


def load(path, notes: Optional[list] = None) -> list[Student]:
    """Students of the roster file at `path`. Raises RosterError (in Chinese) on any problem."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        reason = {FileNotFoundError: "文件不存在", IsADirectoryError: "这是一个目录",
                  PermissionError: "没有读取权限"}.get(type(e), e.strerror or str(e))
        raise RosterError(f"无法读取名单 {path}：{reason}", term="cannot read roster",
                          hint="给出 nbgrader 格式的 CSV 文件路径，例如 roster.csv。") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise RosterError(f"名单 {path} 不是 UTF-8 编码（第 {e.start + 1} 个字节），没有做任何改动",
                          term="roster is not UTF-8",
                          hint="在表格软件里另存为“CSV UTF-8”；GBK 编码的文件可以用 iconv -f GBK -t UTF-8 转换。") from None
    return parse(text, str(path), notes)


# ---------------------------------------------------------------- what exists, and the plan
@dataclass(frozen=True)
class ExistingState:
    """What the machine has: every Unix user (name → uid), and the accounts the classroom made."""
    users: dict
    classroom: frozenset = frozenset()

    @classmethod
    def scan(cls, record: Path) -> "ExistingState":
        return cls({p.pw_name: p.pw_uid for p in pwd.getpwall()}, frozenset(read_record(record)))


def read_record(record: Path) -> list[str]:
    """The ids of accounts the classroom created (a JSON list kept by the teacher, root only)."""
    try:
        data = json.loads(Path(record).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as e:
        raise RosterError(f"教室的账户记录 {record} 读不出来：{e}", term="unreadable classroom record",
                          hint="不要手工修改这个文件；从备份恢复它，或者把它删掉后重新运行（已有账户会被当作别人的账户拒绝）。") from None
    if not isinstance(data, list) or not all(isinstance(x, str) for x in data):
        raise RosterError(f"教室的账户记录 {record} 格式不对", term="bad classroom record",
                          hint="它应该是一个 JSON 字符串列表。")
    return data


def write_record(record: Path, ids: Iterable[str]) -> None:
    """Replace the record atomically (mode 0600): a crash leaves the old or the new one."""
    _write_private(Path(record), json.dumps(sorted(set(ids)), ensure_ascii=False, indent=1) + "\n")


@dataclass
class Plan:
    add: list = field(default_factory=list)       # Student: create the account
    keep: list = field(default_factory=list)      # Student: exists, left exactly as it is
    remove: list = field(default_factory=list)    # id: delete (only with remove_missing)
    missing: list = field(default_factory=list)   # id: made by the classroom, not in the roster, left alone

    @property
    def noop(self) -> bool:
        return not (self.add or self.remove)

    def accounts(self) -> list[str]:
        """The classroom's accounts once the plan is applied (what write_record should hold)."""
        return sorted({s.id for s in self.add + self.keep} | set(self.missing))

    def render(self) -> str:
        lines = [f"新增 (add) {len(self.add)} 个，保留 (keep) {len(self.keep)} 个，删除 (remove) {len(self.remove)} 个。"]
        if self.add:
            lines.append("新增：" + "、".join(s.id for s in self.add))
        if self.remove:
            lines.append("删除（连同家目录和沙箱）：" + "、".join(self.remove))
        if self.missing:
            lines.append("名单里已经没有、但没有删除的账户 (not in roster, kept)：" + "、".join(self.missing)
                         + "；确实要删除时加上 --remove-missing。")
        return "\n".join(lines)


def is_system_uid(uid: int) -> bool:
    return uid < FIRST_UID or uid > LAST_UID


def plan(students: list[Student], existing: ExistingState, remove_missing: bool = False) -> Plan:
    """Which accounts to add, keep and remove. Raises RosterError when an id belongs to someone else."""
    problems = []
    result = Plan()
    for s in students:
        uid = existing.users.get(s.id)
        if uid is None:
            result.add.append(s)
        elif is_system_uid(uid):
            problems.append(f"id {s.id} 是本机的系统用户 (existing system user, uid {uid})")
        elif s.id not in existing.classroom:
            problems.append(f"id {s.id} 是本机已有的用户，不是教室创建的 (existing user not created by the classroom, uid {uid})")
        else:
            result.keep.append(s)
    if problems:
        raise _refuse(problems, "", "换一个 id（例如加上班级前缀 c1-），或者让管理员确认这些账户的归属。")
    in_roster = {s.id for s in students}
    gone = sorted(i for i in existing.classroom if i not in in_roster and i in existing.users)
    if remove_missing:
        result.remove = gone
    else:
        result.missing = gone
    return result


# ---------------------------------------------------------------- initial passwords
def new_password() -> str:
    """12 characters without look-alikes (0/O, 1/l/I): easy to read out in a classroom, ~70 bits."""
    alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(12))


def read_passwords(path: Path) -> dict:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    return {sid: pw for sid, _, pw in (line.partition(",") for line in text.splitlines()) if sid and pw}


def initial_passwords(p: Plan, path, owner: int = 0) -> dict:
    """A random password for each student the plan adds, written as `id,password` lines to `path`
    (mode 0600, owned by `owner`, the teacher: root). Returns {id: password} for the new students,
    to set with chpasswd. Students already in the file keep their line, and a student whose account
    was planned before (a run that stopped half way) gets the same password again."""
    path = Path(path)
    known = read_passwords(path)
    fresh = {s.id: known.get(s.id) or new_password() for s in p.add}
    merged = {**known, **fresh}
    if p.remove:
        merged = {k: v for k, v in merged.items() if k not in p.remove}
    _write_private(path, "".join(f"{k},{v}\n" for k, v in merged.items()), owner)
    return fresh


def _write_private(path: Path, text: str, owner: Optional[int] = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # whatever the umask
        if owner is not None and os.geteuid() == 0:
            os.fchown(fd, owner, owner)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            fd = -1
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if fd != -1:
            os.close(fd)
        tmp.unlink(missing_ok=True)
