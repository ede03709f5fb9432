"""`dockerlearn classroom` refuses a bad roster in Chinese, with the English term, and changes
nothing: no account, no class directory. Root only (it is the command's own precondition)."""
from __future__ import annotations

import os
import pwd
import subprocess
import sys

import pytest

HEADER = "id,last_name,first_name,email\n"
CASES = {
    "duplicate id": (HEADER + "dlcli-a,王,一,a@example.com\ndlcli-a,李,二,b@example.com\n", "duplicate"),
    "bad column": ("id,surname,first_name,email\ndlcli-a,王,一,a@example.com\n", "column"),
    "not a Unix user name": (HEADER + "Zhang San,张,三,z@example.com\n", "user name"),
    "existing system user": (HEADER + "daemon,系,统,d@example.com\n", "existing system user"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_roster_is_refused_and_nothing_changes(case, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("dockerlearn classroom runs as root")
    text, term = CASES[case]
    (tmp_path / "roster.csv").write_text(text)
    users_before = {p.pw_name for p in pwd.getpwall()}
    r = subprocess.run([sys.executable, "-m", "dockerlearn", "classroom", str(tmp_path / "roster.csv"),
                        "--teacher", "dlcli-teacher", "--dir", str(tmp_path / "class"), "--setup-only"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "Traceback" not in r.stderr and "没有做任何改动" in r.stderr
    assert term in r.stderr.lower(), r.stderr
    assert not (tmp_path / "class").exists()
    assert {p.pw_name for p in pwd.getpwall()} == users_before


def test_classroom_needs_root(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("checks the message an ordinary user gets")
    (tmp_path / "roster.csv").write_text(HEADER + "dlcli-a,王,一,a@example.com\n")
    r = subprocess.run([sys.executable, "-m", "dockerlearn", "classroom", str(tmp_path / "roster.csv"),
                        "--teacher", "t", "--dir", str(tmp_path / "class")], capture_output=True, text=True)
    assert r.returncode != 0 and "root" in r.stderr and "Traceback" not in r.stderr
