"""Carry out a roster plan on this machine's Unix accounts (as root): add, set the initial password,
record; remove only what the plan removes. A kept account is never touched, so its home, its
sandbox and its progress stay exactly as the student left them.

The record (roster.write_record) is rewritten after each account, so a run that stops half way
leaves a record that names exactly the accounts the classroom made, and the next run finishes it.
"""
from __future__ import annotations

import os
import pwd
import subprocess
from pathlib import Path

from . import roster
from ..errors import DockerlearnError, NotRoot
from ..terminal_bars import step
from ..sandbox.rootless import provision_user

COMMENT = "dockerlearn classroom"


class AccountError(DockerlearnError):
    pass


def _gecos(student: roster.Student) -> str:
    """The account's comment: the student's name, without the characters that split /etc/passwd."""
    name = "".join(ch for ch in student.display_name if ch not in ":,=\n\r\\")
    return f"{name} ({COMMENT})" if name and name != student.id else COMMENT


def _run(argv: list[str], what: str, input: str | None = None) -> None:
    proc = subprocess.run(argv, input=input, capture_output=True, text=True)
    if proc.returncode != 0:
        raise AccountError(f"{what}失败", term=f"{argv[0]} exited {proc.returncode}",
                           hint="检查 /etc/passwd 和磁盘空间；已经建好的账户都记录下来了，修好后重新运行即可。",
                           log=proc.stderr)


def processes_of(uid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    found.append(int(entry))
            except OSError:
                pass
    return found


def apply(plan: roster.Plan, passwords: dict, record: Path, quiet: bool = False) -> None:
    """Create plan.add (with their passwords from initial_passwords), delete plan.remove."""
    if os.geteuid() != 0:
        raise NotRoot("创建和删除学生账户需要 root 权限", term="root required", hint="用 sudo 运行。")
    made = set(roster.read_record(record))
    for s in plan.remove:  # refused before anything changes when a student is still working
        try:
            busy = processes_of(pwd.getpwnam(s).pw_uid)
        except KeyError:
            continue
        if busy:
            raise AccountError(f"学生 {s} 还有 {len(busy)} 个进程在运行，没有删除任何账户",
                               term="account in use", hint="先停止这个学生的服务器和沙箱，再重新运行。")
    for s in plan.add:
        provision_user(s.id)  # useradd --create-home, and its own subordinate id ranges
        _run(["usermod", "--comment", _gecos(s), s.id], f"设置 {s.id} 的姓名")
        _run(["chpasswd"], f"设置 {s.id} 的初始密码", input=f"{s.id}:{passwords[s.id]}\n")
        made.add(s.id)
        roster.write_record(record, made)
        if not quiet:
            step(f"已创建账户 {s.id}（{s.display_name}）")
    for s in plan.remove:
        if s in {p.pw_name for p in pwd.getpwall()}:
            _run(["userdel", "--remove", s], f"删除账户 {s}")
        made.discard(s)
        roster.write_record(record, made)
        if not quiet:
            step(f"已删除账户 {s} 和它的家目录")
