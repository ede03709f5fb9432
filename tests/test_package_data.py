"""`pip install .` (not editable) carries the course: lessons/, their checks, the options tables and
the notebooks ship as package data (dockerlearn/data/), and the installed command finds them
from any directory. $DOCKERLEARN_COURSE points elsewhere, with a Chinese error when it is wrong."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The wheel built from a copy of the source tree, and a folder it was installed into."""
    tmp = tmp_path_factory.mktemp("pkg")
    src = tmp / "src"
    src.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    for name in ("dockerlearn", "lessons", "notebooks"):
        shutil.copytree(REPO / name, src / name, ignore=ignore)
    pip = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check", "--no-input"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", str(src), "-w", str(tmp / "dist")],
                   check=True, capture_output=True, cwd=tmp)
    wheel = next((tmp / "dist").glob("dockerlearn-*.whl"))
    subprocess.run([*pip, "install", "--no-deps", "--no-index", "--target", str(tmp / "site"), str(wheel)],
                   check=True, capture_output=True, cwd=tmp)
    return wheel, tmp / "site"


def run_installed(site: Path, *args, env_extra=None):
    """The installed package only: no site (so no editable finder), its dependencies from this venv."""
    env = {k: v for k, v in os.environ.items() if k != "DOCKERLEARN_COURSE"}
    env["PYTHONPATH"] = os.pathsep.join([str(site), sysconfig.get_paths()["purelib"]])
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-S", *args], capture_output=True, text=True, env=env, cwd=site.parent)


def test_wheel_holds_the_whole_course(installed):
    wheel, _ = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    want = ["lessons/FORMAT.md", "lessons/TERMINOLOGY.md"]
    want += [f"lessons/{p.name}" for p in (REPO / "lessons").glob("[0-9][0-9]-*.*")]
    want += [f"lessons/options/{p.name}" for p in (REPO / "lessons" / "options").glob("*.json")]
    want += [f"notebooks/{p.name}" for p in (REPO / "notebooks").glob("*.ipynb")]
    missing = [w for w in want if f"dockerlearn/data/{w}" not in names]
    assert not missing, f"not in the wheel: {missing}"
    assert len(want) > 60
    # Every module of the package, its subpackages (classroom/) too.
    modules = [p.relative_to(REPO).as_posix() for p in (REPO / "dockerlearn").rglob("*.py")
               if "data" not in p.relative_to(REPO / "dockerlearn").parts]
    absent = [m for m in modules if m not in names]
    assert not absent, f"modules not in the wheel: {absent}"
    # The built lab extension (lab.py points JupyterLab at it): its package.json and every file it loads.
    built = REPO / "dockerlearn" / "labextension" / "dockerlearn-panels"
    want = [p.relative_to(REPO).as_posix() for p in [built / "package.json", *(built / "static").iterdir()]]
    missing = [w for w in want if w not in names]
    assert not missing and len(want) > 2, f"not in the wheel: {missing}"


def test_installed_command_finds_the_course(installed):
    _, site = installed
    where = run_installed(site, "-c", "from dockerlearn.paths import course_dir; print(course_dir())")
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()) == site / "dockerlearn" / "data"
    r = run_installed(site, "-m", "dockerlearn", "exercises")
    assert r.returncode == 0, r.stderr
    assert "tag.add-tag" in r.stdout and "capstone.save-load" in r.stdout
    # lab copies the installed notebooks into the learner's folder.
    code = ("from dockerlearn.lab import learner_notebooks; from types import SimpleNamespace as N; from pathlib import Path; "
            f"print(len(list(learner_notebooks(N(paths=N(root=Path({str(site.parent / 'learner')!r})))).glob('*.ipynb'))))")
    r = run_installed(site, "-c", code)
    assert r.returncode == 0 and int(r.stdout) == len(list((REPO / "notebooks").glob("*.ipynb"))) > 0, r.stderr
    # check loads the installed lessons' check functions; the sandbox is not running, and says so.
    r = run_installed(site, "-m", "dockerlearn", "check", "tag.add-tag", "--name", "never-started",
                      env_extra={"DOCKERLEARN_HOME": str(site.parent / "home")})
    assert r.returncode == 1 and "没有在运行" in r.stdout and "Traceback" not in r.stdout + r.stderr


def test_course_variable_that_points_nowhere(installed, tmp_path):
    _, site = installed
    r = run_installed(site, "-m", "dockerlearn", "exercises", env_extra={"DOCKERLEARN_COURSE": str(tmp_path)})
    assert r.returncode == 3
    assert "找不到课程文件" in r.stderr and "course files not found" in r.stderr and "DOCKERLEARN_COURSE" in r.stderr
    assert "Traceback" not in r.stderr


def test_course_variable_with_a_broken_lesson(tmp_path):
    """$DOCKERLEARN_COURSE is obeyed, and a course bug is a message with its English term (CLI route)."""
    (tmp_path / "lessons").mkdir()
    shutil.copy2(REPO / "lessons" / "FORMAT.md", tmp_path / "lessons" / "FORMAT.md")
    (tmp_path / "lessons" / "01-bad.md").write_text("no front matter\n")
    env = dict(os.environ, DOCKERLEARN_COURSE=str(tmp_path))
    r = subprocess.run([sys.executable, "-m", "dockerlearn", "exercises"], capture_output=True, text=True, env=env)
    assert r.returncode == 1
    assert "课程源文件格式有误：01-bad.md" in r.stderr and "lesson format error" in r.stderr
    assert "Traceback" not in r.stderr
