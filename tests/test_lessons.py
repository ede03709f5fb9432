"""The lesson sources: well-formed, same skeleton everywhere, notebooks built from the current text."""
from __future__ import annotations

import re

import pytest

from dockerlearn.course import notebook_builder as builder
from dockerlearn.course.lessonfile import LessonFormatError, load_all, parse
from dockerlearn.course.option_tables import all_slugs

LESSONS = load_all()


@pytest.mark.parametrize("lesson", LESSONS, ids=[l.slug for l in LESSONS])
def test_notebook_is_up_to_date(lesson):
    reason = builder.stale(lesson)
    assert reason is None, f"{reason}：请运行 dockerlearn build --lesson {lesson.slug} 并提交 notebooks/"


def test_no_notebook_without_a_lesson():
    slugs = {l.slug for l in LESSONS}
    orphans = [p.name for p in builder.NOTEBOOKS_DIR.glob("*.ipynb") if p.stem not in slugs]
    assert not orphans, f"notebooks without a lesson source: {orphans}"


@pytest.mark.parametrize("lesson", LESSONS, ids=[l.slug for l in LESSONS])
def test_skeleton_summary_and_exercises(lesson):
    text = lesson.path.read_text(encoding="utf-8")
    assert re.search(r"^## 小结$", text, re.M), "每节课要有 ## 小结"
    assert re.search(r"^## 练习$", text, re.M), "每节课要有 ## 练习"
    assert text.index("## 小结") < text.index("## 练习")
    assert lesson.exercises, "每节课至少有一个练习"
    assert "todo" not in text.lower(), "课程里不能留 todo"


@pytest.mark.parametrize("lesson", LESSONS, ids=[l.slug for l in LESSONS])
def test_one_sentence_per_line(lesson):
    """Chinese prose: a line never holds two sentences (diffs stay readable)."""
    bad = []
    in_code = False
    for n, line in enumerate(lesson.path.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("```"):
            in_code = not in_code
            continue
        if in_code or line.startswith("|"):
            continue
        # A sentence end (。！？) followed by more Chinese text on the same line.
        if re.search(r"[。！？][^）)」』”\s]", line):
            bad.append(f"{lesson.path.name}:{n}: {line.strip()[:60]}")
    assert not bad, "一行只写一句：\n" + "\n".join(bad)


@pytest.mark.parametrize("lesson", LESSONS, ids=[l.slug for l in LESSONS])
def test_options_placeholders_exist(lesson):
    text = lesson.path.read_text(encoding="utf-8")
    for slug in re.findall(r"\{\{options ([a-z0-9-]+)\}\}", text):
        assert slug in all_slugs(), f"{{{{options {slug}}}}}: lessons/options/{slug}.json does not exist"


def test_exercise_ids_are_unique_and_prefixed():
    ids = [ex.id for l in LESSONS for ex in l.exercises]
    assert len(ids) == len(set(ids))
    for l in LESSONS:
        assert all(ex.id.startswith(l.id + ".") for ex in l.exercises)


def test_bad_lesson_sources_are_refused(tmp_path):
    bad = tmp_path / "99-bad.md"
    bad.write_text("no front matter\n")
    with pytest.raises(LessonFormatError):
        parse(bad)
    bad.write_text("---\nid: bad\n---\n```exercise\nid: other.x-y\nprompt: p\nhints: [h]\nsolution: s\n```\n")
    with pytest.raises(LessonFormatError, match="must look like bad"):
        parse(bad)
    bad.write_text("---\nid: bad\n---\n```docker\npull busybox\n")
    with pytest.raises(LessonFormatError, match="never closed"):
        parse(bad)


def test_wrong_answers_and_also_answers(tmp_path):
    src = tmp_path / "99-ok.md"
    head = "---\nid: ok\n---\n```exercise\nid: ok.do-it\nprompt: p\nhints: [h]\nsolution: s\n"
    src.write_text(head + "wrong: |\n  w1\n```\n")
    ex = parse(src).exercises[0]
    assert ex.wrong == "w1" and [(w.script, w.says) for w in ex.wrongs] == [("w1", "")] and ex.also == []
    src.write_text(head + "wrong:\n  - w1\n  - run: |\n      w2\n    says: 找到了\nalso:\n  - a1\n```\n")
    ex = parse(src).exercises[0]
    assert ex.wrong == "w1" and [(w.script, w.says) for w in ex.wrongs] == [("w1", ""), ("w2", "找到了")]
    assert ex.also == ["a1"]
    src.write_text(head + "wrong:\n  - says: no script\n```\n")
    with pytest.raises(LessonFormatError, match="each 'wrong' answer"):
        parse(src)
    src.write_text(head + "also: a1\n```\n")
    with pytest.raises(LessonFormatError, match="'also' is a list"):
        parse(src)


def test_render_turns_blocks_into_cells(tmp_path):
    src = tmp_path / "98-demo.md"
    src.write_text("---\nid: demo\ntitle: 演示\n---\n# 演示\n\n正文。\n\n```docker\ndocker pull busybox\n```\n\n"
                   "```docker ignore-output\nimages\nps -a\n```\n\n```docker no-run\nrun -it busybox\n```\n\n"
                   "```file demo/Dockerfile\nFROM busybox\n```\n\n```bash\necho hi | wc -c\n```\n\n"
                   "```exercise\nid: demo.do-it\nprompt: 做。\nhints: [h]\nsolution: docker pull busybox\nwrong: 'true'\n```\n",
                   encoding="utf-8")
    nb = builder.render(parse(src))
    sources = [c.source for c in nb.cells]
    assert sources[1] == '%load_ext dockerlearn\nstart_lesson("98-demo")'  # a fresh start (lessonstart.py)
    assert "%docker pull busybox" in sources
    assert "%%docker\nimages\nps -a" in sources
    assert "%%writefile demo/Dockerfile\nFROM busybox" in sources
    assert "%%bash\necho hi | wc -c" in sources
    assert 'check("demo.do-it")' in sources
    ignored = [c for c in nb.cells if "nbval-ignore-output" in c.metadata.get("tags", [])]
    assert [c.source for c in ignored] == ["%%docker\nimages\nps -a"]
    shown = [c.source for c in nb.cells if c.cell_type == "markdown" and "run -it busybox" in c.source]
    assert shown and "```bash" in shown[0]


def test_every_nbval_sanitizer_is_read():
    """nbval silently skips a pair it cannot parse (e.g. `replace:` without its space)."""
    from nbval.plugin import get_sanitize_patterns
    text = (builder.REPO_ROOT / "tests" / "nbval_sanitize.cfg").read_text()
    sections = re.findall(r"^\[[\w-]+\]$", text, re.M)
    assert len(get_sanitize_patterns(text)) == len(sections)


def _copy_lesson(tmp_path, slug: str, edit=lambda md: md, edit_checks=lambda py: py):
    """A copy of a real lesson (and its checks file) in tmp_path, edited."""
    from dockerlearn.course.lessonfile import REPO_ROOT
    src = REPO_ROOT / "lessons" / f"{slug}.md"
    md, py = tmp_path / src.name, tmp_path / f"{slug}.py"
    md.write_text(edit(src.read_text(encoding="utf-8")), encoding="utf-8")
    py.write_text(edit_checks(src.with_suffix(".py").read_text(encoding="utf-8")), encoding="utf-8")
    return parse(md)


def test_a_prose_edit_keeps_the_recorded_outputs(tmp_path):
    """Staleness per code cell: a sentence changed re-renders the notebook with its outputs kept."""
    import nbformat
    committed = nbformat.read(builder.NOTEBOOKS_DIR / "02-tag.ipynb", as_version=4)
    lesson = _copy_lesson(tmp_path, "02-tag", lambda md: md.replace("把其中两个标签拉取到本地：", "把其中两个标签（tag）拉取到本地：", 1))
    fresh = builder.render(lesson)
    assert builder.cell_signature(fresh) != builder.cell_signature(committed), "the edit changed a sentence"
    assert builder.carry_outputs(fresh, committed)
    code = [c for c in fresh.cells if c.cell_type == "code"]
    assert [c.outputs for c in code] == [c.outputs for c in committed.cells if c.cell_type == "code"]
    assert any(c.outputs for c in code)


@pytest.mark.parametrize("what, edit, edit_checks", [
    ("a command", lambda md: md.replace("docker images busybox:latest\n", "docker images busybox\n", 1), lambda py: py),
    ("a check", lambda md: md, lambda py: py + "\n# a changed check\n"),
    ("an exercise's setup", lambda md: md.replace("setup:", "setup:\n  true", 1), lambda py: py),
])
def test_a_code_edit_calls_for_execution(tmp_path, what, edit, edit_checks):
    import nbformat
    committed = nbformat.read(builder.NOTEBOOKS_DIR / "02-tag.ipynb", as_version=4)
    same = builder.render(_copy_lesson(tmp_path, "02-tag"))
    assert same.metadata["dockerlearn"]["code_sha256"] == committed.metadata["dockerlearn"]["code_sha256"]
    lesson = _copy_lesson(tmp_path, "02-tag", edit, edit_checks)
    fresh = builder.render(lesson)
    assert fresh.metadata["dockerlearn"]["code_sha256"] != committed.metadata["dockerlearn"]["code_sha256"], what
    assert not builder.carry_outputs(fresh, committed), what


def _runs_inside(short: list[str], long: list[str]) -> bool:
    return any(long[i:i + len(short)] == short for i in range(len(long) - len(short) + 1))


def test_no_setup_copies_a_visible_cell():
    """A preparation the learner sees as a cell is that exercise's setup by reference (prepares=ID),
    so the 准备 button and the cell can never drift apart."""
    copies = []
    for lesson in load_all():
        cells = [p.text.strip().splitlines() for p in lesson.parts if p.kind in ("bash", "docker")]
        for part in lesson.parts:
            ex = part.exercise
            if ex and ex.setup and not ex.setup_cell:
                lines = ex.setup.splitlines()
                if any((len(lines) > 1 and _runs_inside(lines, cell)) or lines == cell for cell in cells):
                    copies.append(ex.id)
    assert not copies, f"setup: copies a cell of its lesson; flag that cell prepares=ID instead: {copies}"


def test_a_cell_that_prepares_an_exercise_is_its_setup(tmp_path):
    head = "---\nid: demo\ntitle: Demo\n---\n# Demo\n\n"
    exercise = ("```exercise\nid: demo.do-it\ntitle: T\nprompt: P\nhints: [H]\nsolution: docker tag a b\n{setup}```\n\n"
                "## 小结\n\n- s\n\n## 练习\n\n1. e\n")
    good = tmp_path / "01-demo.md"
    good.write_text(head + "```docker prepares=demo.do-it\npull -q busybox\ndocker images busybox\n```\n\n"
                    + exercise.format(setup=""), encoding="utf-8")
    ex = next(p.exercise for p in parse(good).parts if p.exercise)
    assert ex.setup == "docker pull -q busybox\ndocker images busybox" and ex.setup_cell
    nb = builder.render(parse(good))
    assert all("prepares" not in str(c.metadata) for c in nb.cells), "the flag is not shown to learners"
    for body, says in [("```bash prepares=demo.nothing\ntrue\n```\n\n" + exercise.format(setup=""), "no exercise"),
                       ("```bash prepares=demo.do-it\ntrue\n```\n\n" + exercise.format(setup="setup: true\n"), "keep one")]:
        bad = tmp_path / "02-demo.md"
        bad.write_text(head + body, encoding="utf-8")
        with pytest.raises(LessonFormatError, match=says):
            parse(bad)
