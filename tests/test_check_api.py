"""The check API (dockerlearn.checks.CheckContext) is the only thing lesson checks use,
and every method of it is documented in lessons/FORMAT.md."""
from __future__ import annotations

import ast
import base64
import inspect
import io
import json
import re
import sys
import tarfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from dockerlearn.checks import CheckContext, CheckFailed, archive_config_id

ROOT = Path(__file__).resolve().parents[1]
LESSON_CHECKS = sorted((ROOT / "lessons").glob("[0-9][0-9]-*.py"))
PUBLIC = sorted(n for n, _ in inspect.getmembers(CheckContext) if not n.startswith("_"))

# Reaches around the API: the docker client, the sandbox's state and paths, private members.
ESCAPES = re.compile(r"\bc\.(api|client|sandbox|_\w+)\b|\.sandbox\.(state|paths)\b|\bdocker\.(APIClient|from_env)")


@pytest.mark.parametrize("path", LESSON_CHECKS, ids=[p.stem for p in LESSON_CHECKS])
def test_lessons_use_only_the_check_api(path):
    text = path.read_text(encoding="utf-8")
    bad = [f"{path.name}:{n}: {line.strip()}" for n, line in enumerate(text.splitlines(), 1) if ESCAPES.search(line)]
    assert not bad, "检查函数只能用 CheckContext 的方法（见 lessons/FORMAT.md）：\n" + "\n".join(bad)
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.ImportFrom):
            if node.module == "dockerlearn.checks":
                assert [a.name for a in node.names] == ["exercise_check"], \
                    f"{path.name}: import only `exercise_check` from dockerlearn.checks"
            else:
                assert node.module and node.module.split(".")[0] in sys.stdlib_module_names, \
                    f"{path.name}: imports {node.module}; lessons import the check API and the standard library only"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                assert alias.name.split(".")[0] in sys.stdlib_module_names, \
                    f"{path.name}: imports {alias.name}; lessons import the check API and the standard library only"


def test_escape_pattern_catches_the_old_idioms():
    for line in ['for e in c.api.history("x"):', "c.sandbox.state.seeded.get(ref)",
                 'path = c.sandbox.paths.docker_config / "config.json"', "c.sandbox.registry_address", "c._api"]:
        assert ESCAPES.search(line), line
    for line in ["c.history(ref)", "c.seed_id(ref)", "c.registry_address", "c.images(label='a=b')"]:
        assert not ESCAPES.search(line), line


def test_every_method_is_documented_in_format_md():
    text = (ROOT / "lessons" / "FORMAT.md").read_text(encoding="utf-8")
    table = set(re.findall(r"^\| `c\.(\w+)", text, re.M))
    assert table, "lessons/FORMAT.md has no table of CheckContext methods"
    assert not set(PUBLIC) - table, f"undocumented in lessons/FORMAT.md: {sorted(set(PUBLIC) - table)}"
    assert not table - set(PUBLIC), f"documented but absent from CheckContext: {sorted(table - set(PUBLIC))}"


# ---- the helpers that need no daemon ----------------------------------------------------------
def _context(tmp_path) -> CheckContext:
    """A CheckContext over a work directory and DOCKER_CONFIG only: enough for archives and logins."""
    ctx = CheckContext.__new__(CheckContext)
    ctx._sandbox = SimpleNamespace(work_dir=tmp_path, paths=SimpleNamespace(docker_config=tmp_path / "cfg"))
    return ctx


def test_archive_config_id_docker_and_oci_layouts():
    assert archive_config_id({"Config": "abc123.json"}) == "sha256:abc123"
    assert archive_config_id({"Config": "blobs/sha256/abc123"}) == "sha256:abc123"


@pytest.mark.parametrize("mode", ["w", "w:gz"])
def test_archive_ids_reads_plain_and_compressed_archives(tmp_path, mode):
    manifest = [{"Config": "aa.json", "RepoTags": ["x:1", "x:2"], "Layers": []},
                {"Config": "blobs/sha256/bb", "RepoTags": None, "Layers": []}]
    data = json.dumps(manifest).encode()
    with tarfile.open(tmp_path / "a.tar", mode) as tar:
        info = tarfile.TarInfo("manifest.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    assert _context(tmp_path).archive_ids("a.tar") == {"x:1": "sha256:aa", "x:2": "sha256:aa"}


def test_archive_ids_fails_in_chinese(tmp_path):
    ctx = _context(tmp_path)
    with pytest.raises(CheckFailed, match="没有找到文件 missing.tar"):
        ctx.archive_ids("missing.tar")
    (tmp_path / "junk.tar").write_text("not a tar")
    with pytest.raises(CheckFailed, match="不是 docker save 存出的镜像存档"):
        ctx.archive_ids("junk.tar")


def test_saved_login(tmp_path):
    ctx = _context(tmp_path)
    assert ctx.saved_login("127.0.0.1:5000") is None  # no config.json yet
    (tmp_path / "cfg").mkdir()
    auth = base64.b64encode(b"student:s3cret").decode()
    (tmp_path / "cfg" / "config.json").write_text(json.dumps({"auths": {
        "127.0.0.1:5000": {"auth": auth}, "http://127.0.0.1:6000": {"auth": auth}, "127.0.0.1:7000": {"auth": "%%"}}}))
    assert ctx.saved_login("127.0.0.1:5000") == ("student", "s3cret")
    assert ctx.saved_login("127.0.0.1:6000") == ("student", "s3cret")
    assert ctx.saved_login("127.0.0.1:7000") == ("", "")
    assert ctx.saved_login("127.0.0.1:8000") is None
    (tmp_path / "cfg" / "config.json").write_text("[]")
    assert ctx.saved_login("127.0.0.1:5000") is None


# ---- an exception inside a check is a verdict, never a crash -----------------------------------
def test_an_unexpected_exception_in_a_check_is_a_failed_verdict(monkeypatch):
    from dockerlearn import checks

    def broken(c):
        return {"RootFS": {"Type": "layers"}}["RootFS"]["Layers"]  # the old FROM scratch crash

    checks.load_checks()
    monkeypatch.setitem(checks._CHECKS, "tag.add-tag", broken)
    sandbox = SimpleNamespace(name="pytest", client=lambda: SimpleNamespace(api=None))
    verdict = checks.run_check("tag.add-tag", sandbox, record=False)
    assert not verdict.ok
    assert "KeyError: 'Layers'" in verdict.message
    assert "bug in the check" in verdict.message and "不是你的错" in verdict.message
    assert "test_check_api.py:" in verdict.message  # where, for the maintainer
    assert "Traceback" not in verdict.message


def test_a_check_that_fails_on_purpose_is_not_called_a_bug(monkeypatch):
    from dockerlearn import checks
    checks.load_checks()
    monkeypatch.setitem(checks._CHECKS, "tag.add-tag", lambda c: c.fail("没有找到标签 mybusybox:v1"))
    sandbox = SimpleNamespace(name="pytest", client=lambda: SimpleNamespace(api=None))
    verdict = checks.run_check("tag.add-tag", sandbox, record=False)
    assert not verdict.ok and verdict.message == "没有找到标签 mybusybox:v1"



def test_the_notebook_panel_shows_a_broken_check_as_a_verdict(monkeypatch):
    """The check panel never stays on 正在检查… when a check has a bug."""
    from dockerlearn import checks
    from dockerlearn.notebook import magics, widgets

    def broken(c):
        raise KeyError("Layers")

    original = checks.run_check
    checks.load_checks()
    monkeypatch.setitem(checks._CHECKS, "tag.add-tag", broken)
    monkeypatch.setattr(checks, "run_check", lambda ex_id, sb, record=True: original(ex_id, sb, record=False))
    monkeypatch.setattr(magics, "_sandbox", SimpleNamespace(name="pytest", client=lambda: SimpleNamespace(api=None)))
    panel = widgets.panel("tag.add-tag")
    panel.children[1].children[0].click()
    shown = panel.children[2].value
    assert "bug in the check" in shown and "KeyError" in shown and "正在检查" not in shown
