"""Issue 10: each lesson starts from a known state (start_lesson in its first cell), an exercise's
preparation is its own 准备 button, and the capstone names the leftovers of a wrong attempt."""
from __future__ import annotations

import pytest

from dockerlearn.course import notebook_builder as builder
from dockerlearn.notebook import magics
from dockerlearn.checks import exercises, run_check
from dockerlearn.course.lessonfile import LessonFormatError, load_all, parse
from dockerlearn.notebook.lessonstart import start_lesson
from dockerlearn.learner_progress import ProgressDB
from tests.exercise_scripts import run_script


def _lesson(tmp_path, front: str):
    src = tmp_path / "98-demo.md"
    src.write_text(f"---\nid: demo\ntitle: 演示\n{front}---\n# 演示\n\n正文。\n", encoding="utf-8")
    return parse(src)


def test_every_lesson_starts_fresh_in_its_first_cell():
    for lesson in load_all():
        nb = builder.render(lesson)
        assert nb.cells[1].source == f'%load_ext dockerlearn\nstart_lesson("{lesson.slug}")', lesson.slug


def test_state_keep_loads_only_and_a_bad_state_is_refused(tmp_path):
    assert builder.first_cell(_lesson(tmp_path, "state: keep\n")) == "%load_ext dockerlearn"
    with pytest.raises(LessonFormatError, match="state must be fresh or keep"):
        _lesson(tmp_path, "state: clean\n")


@pytest.mark.daemon
def test_start_lesson_resets_but_keeps_work_and_progress(sandbox, monkeypatch, capsys):
    monkeypatch.setattr(magics, "_sandbox", sandbox)
    sandbox.reset(clear_work=True)
    run_script(sandbox, "docker pull -q busybox:latest && docker tag busybox:latest leftover:1 "
                        "&& docker run -d --name stray busybox:latest sleep 600 && echo mine > notes.txt")
    ProgressDB.for_sandbox(sandbox.name).record("tag.add-tag", True, "ok")
    start_lesson("02-tag")
    out = capsys.readouterr()
    assert out.err == ""
    assert out.out.count("\n") == 1 and "沙箱已回到本课的起点" in out.out and 'start_lesson("02-tag", reset=False)' in out.out
    listed = run_script(sandbox, "docker images -q; docker ps -aq").stdout
    assert listed.strip() == ""
    assert (sandbox.work_dir / "notes.txt").read_text() == "mine\n"
    assert ProgressDB.for_sandbox(sandbox.name).passed(["tag.add-tag"]) == 1

    run_script(sandbox, "docker pull -q busybox:latest")
    start_lesson("tag", reset=False)  # the learner who keeps their images
    assert "没有重置" in capsys.readouterr().out
    assert run_script(sandbox, "docker images -q busybox").stdout.strip()

    start_lesson("no-such-lesson")
    err = capsys.readouterr().err
    assert "没有这一课" in err and "Traceback" not in err


@pytest.mark.daemon
def test_prepare_button_runs_the_setup_and_only_then(sandbox, monkeypatch):
    from dockerlearn.notebook.widgets import panel
    monkeypatch.setattr(magics, "_sandbox", sandbox)
    sandbox.reset(clear_work=True)
    box = panel("rmi.remove-tag")
    buttons = box.children[1].children
    assert [b.description for b in buttons][-1] == "准备"
    assert run_script(sandbox, "docker images -q mybox").stdout.strip() == ""  # showing the panel prepares nothing
    buttons[0].click()  # 检查 before 准备: says to prepare first
    assert "点 准备" in box.children[2].value
    buttons[-1].click()
    assert "准备好了" in box.children[2].value
    assert sorted(run_script(sandbox, "docker images --format '{{.Tag}}' mybox").stdout.split()) == ["v1", "v2"]
    no_setup = panel("push.login").children[1].children
    assert "准备" not in [b.description for b in no_setup]


def _capstone(ex_id: str) -> str:
    return exercises()[ex_id].setup


@pytest.mark.daemon
def test_capstone_names_the_wrong_tag_that_keeps_the_image(sandbox):
    """Issue 10: a wrong tag from step 2 kept the image; the reference answer then got
    "从来没有被删除过" without the name in the way."""
    sandbox.reset(clear_work=True)
    reg = sandbox.env()["REGISTRY"]
    run_script(sandbox, _capstone("capstone.tag"))
    run_script(sandbox, "docker tag quote:1.0 $REGISTRY/quote:1.0")  # step 2's typical wrong answer
    step2 = run_check("capstone.tag", sandbox, record=False)
    assert not step2.ok and f"docker rmi {reg}/quote:1.0" in step2.message
    for step in ("capstone.tag", "capstone.push", "capstone.pull-back"):
        run_script(sandbox, exercises()[step].solution)
    v = run_check("capstone.pull-back", sandbox, record=False)
    assert not v.ok and f"{reg}/quote:1.0" in v.message and f"docker rmi {reg}/quote:1.0" in v.message, v
    run_script(sandbox, "docker rmi $REGISTRY/quote:1.0 quote:1.0 && docker pull quote:1.0")
    assert run_check("capstone.pull-back", sandbox, record=False).ok


@pytest.mark.daemon
def test_capstone_names_a_container_that_keeps_the_image(sandbox):
    sandbox.reset(clear_work=True)
    run_script(sandbox, _capstone("capstone.pull-back"))
    run_script(sandbox, "docker run --name talker quote:1.0")
    run_script(sandbox, exercises()["capstone.pull-back"].solution, must_succeed=False)  # rmi refuses
    run_script(sandbox, "docker pull -q quote:1.0")
    v = run_check("capstone.pull-back", sandbox, record=False)
    assert not v.ok and "talker" in v.message and "docker rm -f talker" in v.message, v
    run_script(sandbox, "docker rm -f talker && docker rmi quote:1.0 $REGISTRY/library/quote:1.0 && docker pull quote:1.0")
    assert run_check("capstone.pull-back", sandbox, record=False).ok


@pytest.mark.daemon
def test_capstone_names_the_wrong_edition_tag_in_step_6(sandbox):
    sandbox.reset(clear_work=True)
    run_script(sandbox, _capstone("capstone.inspect"))
    run_script(sandbox, "docker tag quote:1.0 quote:edition")  # step 5's typical wrong answer
    step5 = run_check("capstone.inspect", sandbox, record=False)
    assert not step5.ok and "docker rmi quote:edition" in step5.message
    run_script(sandbox, exercises()["capstone.inspect"].solution)
    run_script(sandbox, exercises()["capstone.save-load"].solution)
    v = run_check("capstone.save-load", sandbox, record=False)
    assert not v.ok and "quote:edition" in v.message and "docker rmi quote:edition" in v.message, v
    run_script(sandbox, "docker rmi quote:edition quote:1.0 quote:lighthouse && docker load -i capstone/quote.tar")
    assert run_check("capstone.save-load", sandbox, record=False).ok
