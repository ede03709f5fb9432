"""`dockerlearn classroom ROSTER`: the accounts, the class directory and the hub's configuration.

Safe to run again: accounts already made are left exactly as they are (their work, their
password), new roster lines become new accounts, and an account is removed only with
--remove-missing. Everything is checked before anything changes.
"""
from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
from pathlib import Path

from . import accounts, roster
from .. import paths
from ..sandbox import rootless
from ..errors import DockerlearnError
from .hub import SYSTEM_CACHE

DEFAULT_DIR = Path("/var/lib/dockerlearn/classroom")


def _as_user(user: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(["runuser", "-u", user, "--", sys.executable, "-m", "dockerlearn", *args],
                          capture_output=True, text=True, timeout=timeout, cwd="/")


def _check_teachers(teachers: list[str], students: list[roster.Student]) -> None:
    problems = [f"老师 {t}：{why}" for t in teachers if (why := roster.bad_user_name(t))]
    ids = {s.id for s in students}
    problems += [f"{t} 既是老师又在学生名单里 (teacher listed as a student)" for t in teachers if t in ids]
    if not teachers:
        problems.append("至少要有一位老师 (no teacher)：用 --teacher 用户名 指定")
    if problems:
        raise roster.RosterError("不能建立教室，没有做任何改动：\n  " + "\n  ".join(problems),
                                 term="bad teacher", hint="老师可以是本机已有的用户，也可以是新用户（会自动创建）。")


def _exists(user: str) -> bool:
    try:
        pwd.getpwnam(user)
        return True
    except KeyError:
        return False


def _set_password(user: str, password: str) -> None:
    subprocess.run(["chpasswd"], input=f"{user}:{password}\n", text=True, check=True, capture_output=True)


def prepare_system_cache() -> Path:
    """The seed images once for the whole machine, readable by every student: their first `up`
    copies them instead of building debian again (and needs no Debian mirror)."""
    own = paths.cache_dir()
    if own != SYSTEM_CACHE and own.is_dir() and not (SYSTEM_CACHE / "seeds").is_dir():
        shutil.copytree(own, SYSTEM_CACHE, dirs_exist_ok=True)
    env = dict(os.environ, DOCKERLEARN_CACHE=str(SYSTEM_CACHE))
    done = subprocess.run([sys.executable, "-m", "dockerlearn", "prepare"], env=env, capture_output=True, text=True)
    if done.returncode:
        raise DockerlearnError("准备种子镜像缓存失败", term="seed cache not prepared",
                               hint=(done.stderr or done.stdout).strip()[-800:])
    for root, dirs, files in os.walk(SYSTEM_CACHE):
        for name in dirs:
            os.chmod(os.path.join(root, name), 0o755)
        for name in files:
            os.chmod(os.path.join(root, name), 0o644)
    os.chmod(SYSTEM_CACHE, 0o755)
    return SYSTEM_CACHE


def write_hub_config(class_dir: Path) -> Path:
    config = class_dir / "jupyterhub_config.py"
    config.write_text("# Written by `dockerlearn classroom`: the settings are in dockerlearn/classroom/hub.py.\n"
                      "from dockerlearn.classroom.hub import configure\n"
                      f"configure(c, {str(class_dir)!r})  # noqa: F821 (c is JupyterHub's config object)\n")
    return config


def setup(roster_path: str, teachers: list[str], class_dir: Path = DEFAULT_DIR, port: int = 8000,
          remove_missing: bool = False) -> Path:
    """Accounts, passwords, class file and hub config. Returns the hub config file."""
    if os.geteuid() != 0:
        raise DockerlearnError("dockerlearn classroom 需要 root 权限（它要创建学生的 Unix 账户）", term="root required",
                               hint="sudo dockerlearn classroom 名单.csv --teacher 老师的用户名")
    students = roster.load(roster_path)
    _check_teachers(teachers, students)
    record = class_dir / "accounts.json"
    plan = roster.plan(students, roster.ExistingState.scan(record), remove_missing=remove_missing)
    print(plan.render())
    # Only now that everything is checked does anything change.
    class_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(class_dir, 0o700)  # passwords, the hub's database and secrets: the teacher's (root's) alone

    fresh = roster.initial_passwords(plan, class_dir / "initial-passwords.csv")
    for sid in plan.remove:  # their sandbox first: an account with running processes is not removed
        _as_user(sid, "destroy", "--name", "default")
    accounts.apply(plan, fresh, record)

    # Teachers log in too. An existing account (the teacher's own) is left as it is; a new one
    # gets a password in the same file as the students'.
    new_teachers = [roster.Student(t) for t in teachers if not _exists(t)]
    if new_teachers:
        passwords = roster.initial_passwords(roster.Plan(add=new_teachers), class_dir / "initial-passwords.csv")
        for t in new_teachers:
            rootless.provision_user(t.id)
            _set_password(t.id, passwords[t.id])

    data = {"students": [{"id": s.id, "last_name": s.last_name, "first_name": s.first_name, "email": s.email}
                         for s in students],
            "teachers": teachers, "port": port}
    (class_dir / "class.json").write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n")
    prepare_system_cache()
    return write_hub_config(class_dir)


def start(config: Path, port: int) -> None:
    print(f"教室已就绪：http://127.0.0.1:{port}/ （只监听本机；对外提供服务时在前面放一个带 TLS 的反向代理）\n"
          f"学生的初始密码在 {config.parent / 'initial-passwords.csv'}（只有 root 能读）。按 Ctrl+C 停止。", flush=True)
    os.chdir(config.parent)
    argv = [sys.executable, "-m", "jupyterhub", "-f", str(config)]
    os.execvp(argv[0], argv)
