"""The classroom roster: nbgrader's CSV, every bad input refused in Chinese, and a plan that is
idempotent (pure Python: no daemon, no account is created)."""
from __future__ import annotations

import os
import stat

import pytest

from dockerlearn.classroom import roster
from dockerlearn.classroom.roster import ExistingState, RosterError, Student

HEADER = "id,last_name,first_name,email\n"
GOOD = HEADER + "s01,张,三,zhangsan@example.edu\ns02,李,四,\ns03,Wang,Wu,wu@example.edu\n"
# What a machine has before the classroom: system users, the teacher, someone else's account.
MACHINE = {"root": 0, "daemon": 1, "www-data": 33, "nobody": 65534, "teacher": 1000, "alice": 1001}


def write(tmp_path, text, name="roster.csv", encoding="utf-8"):
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


def refused(tmp_path, text, *expected, encoding="utf-8"):
    with pytest.raises(RosterError) as err:
        roster.load(write(tmp_path, text, encoding=encoding))
    msg = err.value.render()
    assert msg.startswith("错误：") and "invalid roster" in msg or "not UTF-8" in msg, msg
    assert "没有做任何改动" in msg, msg
    for text_ in expected:
        assert text_ in msg, msg
    return msg


def test_load_good_roster_with_chinese_names(tmp_path):
    students = roster.load(write(tmp_path, GOOD))
    assert [s.id for s in students] == ["s01", "s02", "s03"]
    assert students[0] == Student("s01", "张", "三", "zhangsan@example.edu")
    assert students[0].display_name == "张三" and students[2].display_name == "Wu Wang"
    assert students[1].email == ""


def test_bom_crlf_quotes_and_column_order(tmp_path):
    """Excel's "CSV UTF-8": a BOM, CRLF line ends, quoted fields, columns in any order."""
    text = '\ufeffemail,first_name,last_name,id\r\n"a@b.cn","三, 小",张,s01\r\n\r\n'
    students = roster.load(write(tmp_path, text))
    assert students == [Student("s01", "张", "三, 小", "a@b.cn")]


def test_extra_columns_are_ignored_and_reported(tmp_path):
    notes: list = []
    students = roster.load(write(tmp_path, "id,last_name,first_name,email,lms_user_id\ns01,张,三,,42\n"), notes)
    assert students == [Student("s01", "张", "三", "")]
    assert notes and "lms_user_id" in notes[0] and "ignored columns" in notes[0]


@pytest.mark.parametrize("text,expected", [
    ("", "empty file"),
    (HEADER, "no students"),
    ("s01,张,三,a@b.cn\n", "missing column"),  # no header at all
    ("id,last_name,first_name\ns01,张,三\n", "missing column"),
    ("id,surname,first_name,email\ns01,张,三,\n", "last_name"),
    ("id,id,last_name,first_name,email\ns01,s01,张,三,\n", "duplicate column"),
    (HEADER + "s01,张,三\n", "wrong number of fields"),
    (HEADER + "s01,张,三,,extra\n", "wrong number of fields"),
    (HEADER + "s01,张,三,\ns02,李,四,\ns01,王,五,\n", "duplicate id"),
    (HEADER + "s01,张,三,not-an-email\n", "invalid email"),
])
def test_bad_roster_is_refused(tmp_path, text, expected):
    refused(tmp_path, text, expected)


@pytest.mark.parametrize("sid", ["Student1", "1student", "zhang san", "张三", "s01;rm", "-s01", "a" * 33,
                                 "s.01", "../etc", "s0\n1", "s01$"])
def test_invalid_unix_user_name_is_refused(tmp_path, sid):
    # A quoted field keeps an embedded newline, so "s0<newline>1" really reaches the name check (spaces around an id are trimmed).
    refused(tmp_path, HEADER + f'"{sid}",张,三,\n', "invalid user name")


def test_valid_unix_user_names(tmp_path):
    ids = ["_s", "s", "c1-s01", "a_b-c", "a" * 32]
    students = roster.load(write(tmp_path, HEADER + "".join(f"{i},,,\n" for i in ids)))
    assert [s.id for s in students] == ids


def test_every_problem_is_listed_once(tmp_path):
    msg = refused(tmp_path, HEADER + "Bad,张,三,\ns01,,,\ns01,,,\n", "第 2 行", "第 4 行")
    assert msg.count("invalid user name") == 1 and msg.count("duplicate id") == 1


def test_not_utf8(tmp_path):
    refused(tmp_path, GOOD, "not UTF-8", "GBK", encoding="gbk")


def test_unreadable_roster(tmp_path):
    for path in (tmp_path / "missing.csv", tmp_path):
        with pytest.raises(RosterError) as err:
            roster.load(path)
        assert "cannot read roster" in err.value.render()


# ---------------------------------------------------------------- the plan
def students(*ids):
    return [Student(i) for i in ids]


@pytest.mark.parametrize("sid,term", [("root", "existing system user"), ("daemon", "existing system user"),
                                      ("www-data", "existing system user"), ("nobody", "existing system user"),
                                      ("alice", "existing user not created by the classroom"),
                                      ("teacher", "existing user not created by the classroom")])
def test_someone_elses_account_is_refused(sid, term):
    with pytest.raises(RosterError) as err:
        roster.plan(students("s01", sid), ExistingState(MACHINE))
    msg = err.value.render()
    assert term in msg and sid in msg and "没有做任何改动" in msg


def test_first_run_adds_everyone():
    p = roster.plan(students("s01", "s02"), ExistingState(MACHINE))
    assert [s.id for s in p.add] == ["s01", "s02"] and not p.keep and not p.remove and not p.noop
    assert p.accounts() == ["s01", "s02"]


def test_rerun_with_the_same_roster_is_a_noop():
    made = {**MACHINE, "s01": 1002, "s02": 1003}
    p = roster.plan(students("s01", "s02"), ExistingState(made, frozenset({"s01", "s02"})))
    assert p.noop and not p.add and [s.id for s in p.keep] == ["s01", "s02"]
    assert "新增 (add) 0 个" in p.render()


def test_adding_a_student_keeps_the_others():
    made = {**MACHINE, "s01": 1002}
    p = roster.plan(students("s01", "s02"), ExistingState(made, frozenset({"s01"})))
    assert [s.id for s in p.add] == ["s02"] and [s.id for s in p.keep] == ["s01"]


def test_removal_is_explicit():
    made = {**MACHINE, "s01": 1002, "s02": 1003}
    state = ExistingState(made, frozenset({"s01", "s02"}))
    p = roster.plan(students("s01"), state)
    assert p.noop and p.missing == ["s02"] and not p.remove
    assert "--remove-missing" in p.render() and p.accounts() == ["s01", "s02"]
    p = roster.plan(students("s01"), state, remove_missing=True)
    assert p.remove == ["s02"] and not p.missing and p.accounts() == ["s01"]


def test_recorded_account_deleted_by_hand_is_added_again():
    p = roster.plan(students("s01"), ExistingState(MACHINE, frozenset({"s01"})))
    assert [s.id for s in p.add] == ["s01"]
    assert roster.plan(students(), ExistingState(MACHINE, frozenset({"s01"})), True).remove == []


def test_record_round_trip_and_bad_record(tmp_path):
    rec = tmp_path / "accounts.json"
    assert roster.read_record(rec) == []
    roster.write_record(rec, ["s02", "s01", "s01"])
    assert roster.read_record(rec) == ["s01", "s02"]
    assert stat.S_IMODE(rec.stat().st_mode) == 0o600
    rec.write_text("{not json")
    with pytest.raises(RosterError) as err:
        roster.read_record(rec)
    assert "unreadable classroom record" in err.value.render()


def test_scan_sees_this_machines_system_users(tmp_path):
    state = ExistingState.scan(tmp_path / "accounts.json")
    assert state.users["root"] == 0
    with pytest.raises(RosterError):
        roster.plan(students("root"), state)


# ---------------------------------------------------------------- initial passwords
def test_initial_passwords_private_and_stable(tmp_path):
    path = tmp_path / "teacher" / "passwords.csv"
    first = roster.initial_passwords(roster.plan(students("s01", "s02"), ExistingState(MACHINE)), path)
    assert set(first) == {"s01", "s02"} and first["s01"] != first["s02"]
    assert all(len(pw) == 12 and pw.isalnum() for pw in first.values())
    st = path.stat()
    assert stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == os.geteuid()
    assert path.read_text() == f"s01,{first['s01']}\ns02,{first['s02']}\n"
    # Re-run after the accounts exist, plus one new student: the others keep their passwords.
    made = ExistingState({**MACHINE, "s01": 1002, "s02": 1003}, frozenset({"s01", "s02"}))
    second = roster.initial_passwords(roster.plan(students("s01", "s02", "s03"), made), path)
    assert list(second) == ["s03"]
    assert roster.read_passwords(path) == {**first, **second}
    # A run that stopped before creating s03's account gives s03 the same password again.
    again = roster.initial_passwords(roster.plan(students("s01", "s02", "s03"), made), path)
    assert again == second
    # Removing s02 (explicitly) drops its line.
    made = ExistingState({**MACHINE, "s01": 1002, "s02": 1003, "s03": 1004}, frozenset({"s01", "s02", "s03"}))
    roster.initial_passwords(roster.plan(students("s01", "s03"), made, remove_missing=True), path)
    assert set(roster.read_passwords(path)) == {"s01", "s03"}


def test_password_file_mode_ignores_umask(tmp_path):
    old = os.umask(0)
    try:
        path = tmp_path / "pw.csv"
        roster.initial_passwords(roster.plan(students("s01"), ExistingState(MACHINE)), path)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not list(tmp_path.glob(".*part"))


@pytest.mark.skipif(os.geteuid() != 0, reason="creates a Unix account (root only)")
def test_a_real_account_made_outside_the_classroom_is_refused(tmp_path):
    """A real ordinary account (made the way the bench makes learners) is someone else's until the
    classroom's record names it."""
    import subprocess
    from dockerlearn.sandbox.rootless import provision_user
    name = "dlc-roster"
    provision_user(name)
    try:
        rec = tmp_path / "accounts.json"
        with pytest.raises(RosterError) as err:
            roster.plan(students(name), ExistingState.scan(rec))
        assert "existing user not created by the classroom" in err.value.render()
        roster.write_record(rec, [name])
        p = roster.plan(students(name), ExistingState.scan(rec))
        assert p.noop and [s.id for s in p.keep] == [name]
    finally:
        subprocess.run(["userdel", "-r", name], capture_output=True)
