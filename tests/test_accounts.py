"""A roster carried out on real Unix accounts (throwaway dlc-* users, deleted at the end):
re-running is a no-op that keeps a student's work and password, adding is safe, removing is explicit."""
from __future__ import annotations

import os
import pwd
import subprocess
import warnings

import pytest

from dockerlearn.classroom import accounts, roster
from dockerlearn.classroom.roster import ExistingState
from dockerlearn.sandbox.rootless import subid_range

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="creates Unix accounts (root only)")
IDS = ["dlc-a1", "dlc-a2", "dlc-a3"]


@pytest.fixture
def machine(tmp_path):
    yield tmp_path
    for name in IDS:
        subprocess.run(["userdel", "--remove", name], capture_output=True)


def run(tmp_path, rows: str, remove_missing: bool = False) -> tuple[roster.Plan, dict]:
    """What `dockerlearn classroom` does with a roster: load, plan, passwords, apply."""
    path = tmp_path / "roster.csv"
    path.write_text("id,last_name,first_name,email\n" + rows, encoding="utf-8")
    record = tmp_path / "teacher" / "accounts.json"
    p = roster.plan(roster.load(path), ExistingState.scan(record), remove_missing)
    fresh = roster.initial_passwords(p, tmp_path / "teacher" / "passwords.csv")
    accounts.apply(p, fresh, record, quiet=True)
    return p, fresh


def password_ok(name: str, password: str) -> bool:
    shadow = subprocess.run(["getent", "shadow", name], capture_output=True, text=True).stdout.split(":")[1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt
    return crypt.crypt(password, shadow) == shadow


def test_add_rerun_add_remove(machine):
    p, fresh = run(machine, "dlc-a1,张,三,\ndlc-a2,李,四,\n")
    assert [s.id for s in p.add] == ["dlc-a1", "dlc-a2"]
    a1 = pwd.getpwnam("dlc-a1")
    assert a1.pw_uid >= 1000 and a1.pw_gecos == "张三 (dockerlearn classroom)" and os.path.isdir(a1.pw_dir)
    assert subid_range("/etc/subuid", user="dlc-a1", uid=a1.pw_uid), "rootless sandboxes need subordinate ids"
    assert password_ok("dlc-a1", fresh["dlc-a1"]) and not password_ok("dlc-a1", fresh["dlc-a2"])
    assert roster.read_record(machine / "teacher" / "accounts.json") == ["dlc-a1", "dlc-a2"]

    # The student works; the teacher runs the same roster again: nothing changes.
    work = os.path.join(a1.pw_dir, "my-notes.txt")
    with open(work, "w") as f:
        f.write("学生的作业\n")
    p, again = run(machine, "dlc-a1,张,三,\ndlc-a2,李,四,\n")
    assert p.noop and again == {}
    assert open(work).read() == "学生的作业\n" and password_ok("dlc-a1", fresh["dlc-a1"])

    # A new student: only that account is made.
    p, third = run(machine, "dlc-a1,张,三,\ndlc-a2,李,四,\ndlc-a3,王,五,\n")
    assert [s.id for s in p.add] == ["dlc-a3"] and list(third) == ["dlc-a3"]
    assert open(work).read() == "学生的作业\n" and password_ok("dlc-a2", fresh["dlc-a2"])

    # A row dropped: reported, not removed, until asked for.
    p, _ = run(machine, "dlc-a1,张,三,\ndlc-a3,王,五,\n")
    assert p.missing == ["dlc-a2"] and pwd.getpwnam("dlc-a2")
    p, _ = run(machine, "dlc-a1,张,三,\ndlc-a3,王,五,\n", remove_missing=True)
    assert p.remove == ["dlc-a2"]
    with pytest.raises(KeyError):
        pwd.getpwnam("dlc-a2")
    assert not os.path.exists("/home/dlc-a2")
    assert roster.read_record(machine / "teacher" / "accounts.json") == ["dlc-a1", "dlc-a3"]
    assert set(roster.read_passwords(machine / "teacher" / "passwords.csv")) == {"dlc-a1", "dlc-a3"}


def test_an_account_in_use_is_not_removed(machine):
    run(machine, "dlc-a1,,,\n")
    sleeper = subprocess.Popen(["sleep", "60"], user="dlc-a1", group="dlc-a1", extra_groups=[])
    try:
        with pytest.raises(accounts.AccountError) as err:
            run(machine, "dlc-a3,,,\n", remove_missing=True)
        assert "account in use" in err.value.render()
        assert pwd.getpwnam("dlc-a1")
        with pytest.raises(KeyError):
            pwd.getpwnam("dlc-a3")  # refused before anything changed
    finally:
        sleeper.kill()
        sleeper.wait()
