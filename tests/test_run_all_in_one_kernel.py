"""Issue 10: a learner's day. All 17 notebooks run with Run All, in order and then in reverse order,
in ONE kernel, with no reset between them other than what each lesson's own first cell does
(start_lesson). Whatever earlier lessons left behind, every cell must behave as recorded:

- no cell raises (no error output, no Python traceback on stderr);
- every exercise panel and progress bar renders (a widget view; its text is widgets.py's fixed
  fallback, so it is not compared);
- every code cell whose source is the same as in the committed notebook (notebooks/*.ipynb) and
  that is not tagged nbval-ignore-output prints what was recorded, after the sanitizers of
  tests/nbval_sanitize.cfg (as nbval compares them). The first cell (the extension and
  start_lesson) is left out: `%load_ext` says "already loaded" when one kernel runs many notebooks.

Slow (about 5 minutes): it is a daemon test and runs in the full suite.
"""
from __future__ import annotations

import re
import time

import nbformat
import pytest

from dockerlearn.course import notebook_builder as builder
from dockerlearn.course.lessonfile import load_all

pytestmark = [pytest.mark.daemon, pytest.mark.course_walk]
SANITIZE = None
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def _sanitize(text: str) -> str:
    global SANITIZE
    if SANITIZE is None:
        from nbval.plugin import get_sanitize_patterns
        SANITIZE = get_sanitize_patterns((builder.REPO_ROOT / "tests" / "nbval_sanitize.cfg").read_text())
    for regex, replacement in SANITIZE:
        text = re.sub(regex, replacement, text)
    return text


def _texts(outputs, sandbox) -> list[tuple[str, str]]:
    """(kind, sanitized text) of a cell's outputs, streams merged as the build stores them."""
    found = []
    for out in builder.coalesce_streams([nbformat.from_dict(dict(o)) for o in outputs]):
        if out.output_type == "stream":
            found.append((out.name, _sanitize(builder.scrub(out.text, sandbox))))
        elif out.output_type in ("execute_result", "display_data"):
            found.append(("result", _sanitize(builder.scrub(out.get("data", {}).get("text/plain", ""), sandbox))))
        elif out.output_type == "error":
            found.append(("error", f"{out.ename}: {out.evalue}"))
    return found


@pytest.mark.daemon
def test_run_all_forward_then_backward_in_one_kernel(sandbox, tmp_path):
    from nbclient import NotebookClient
    lessons = load_all()
    assert len(lessons) == 17
    sandbox.reset(clear_work=True)  # the learner's first day; nothing is reset after this
    order = lessons + lessons[::-1]
    big = nbformat.v4.new_notebook()
    big.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for n, lesson in enumerate(order):
        nb = builder.render(lesson)
        for cell in nb.cells:
            cell = nbformat.from_dict(dict(cell))
            cell["id"] = f"p{n}-{cell['id']}"
            big.cells.append(cell)
    t0 = time.monotonic()
    client = NotebookClient(big, timeout=900, kernel_name="python3", allow_errors=True, store_widget_state=False,
                            resources={"metadata": {"path": str(sandbox.work_dir)}})
    client.execute()
    seconds = time.monotonic() - t0
    nbformat.write(big, tmp_path / "run-all.ipynb")  # to read what happened
    print(f"executed notebook: {tmp_path / 'run-all.ipynb'}")

    problems, compared, panels = misbehaving(big, order, sandbox)
    print(f"34 notebooks in one kernel: {seconds:.0f} s, {compared} outputs compared, {panels} widget cells")
    assert not problems, f"{len(problems)} cells misbehave:\n\n" + "\n\n".join(problems)


def misbehaving(big, order, sandbox) -> tuple[list[str], int, int]:
    """What went wrong in the executed notebook `big` (the cells of `order`'s lessons, one after
    another): (problems, outputs compared with the recorded ones, widget cells)."""
    lessons = load_all()
    recorded = {l.slug: nbformat.read(builder.notebook_path(l), as_version=4) for l in lessons}
    problems, compared, panels = [], 0, 0
    i = 0
    for n, lesson in enumerate(order):
        cells = builder.render(lesson).cells
        saved = {c["id"]: c for c in recorded[lesson.slug].cells}
        for k, fresh in enumerate(cells):
            ran = big.cells[i]
            i += 1
            if ran.cell_type != "code":
                continue
            where = f"{'forward' if n < 17 else 'backward'} {lesson.slug} cell {k}: {(ran.source.splitlines() or ['(answer cell)'])[0][:60]}"
            got = _texts(ran.outputs, sandbox)
            for kind, text in got:
                if kind == "error" or (kind == "stderr" and "Traceback" in text):
                    problems.append(f"{where}: {text[-400:]}")
            if ran.source.startswith(("check(", "from dockerlearn import check")):
                views = [o for o in ran.outputs if WIDGET_VIEW in o.get("data", {})]
                if not views:
                    problems.append(f"{where}: no widget rendered")
                panels += 1
                continue  # a widget's text is widgets.py's fixed fallback, not the lesson's output
            old = saved.get(fresh["id"])
            if (k == 1 or old is None or old.source != fresh.source
                    or builder.IGNORE_OUTPUT in fresh.metadata.get("tags", [])):
                continue
            compared += 1
            want = _texts(old.outputs, sandbox)
            if got != want:
                problems.append(f"{where}: differs from the recorded output\n--- recorded\n"
                                + "".join(t for _, t in want)[-600:] + "\n--- now\n" + "".join(t for _, t in got)[-600:])
    return problems, compared, panels
