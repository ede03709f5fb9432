"""Exercise prompts render in JupyterLab exactly as written: no LaTeX from $VAR, no vanished <none>.

JupyterLab renders markdown, then lets MathJax typeset any $...$ it finds in one text node of the
page; raw <tags> are sanitized away. Here a CommonMark renderer stands in for JupyterLab's (the
browser test reads the real page), and MathJax's rule is checked on the HTML it produces.
"""
from __future__ import annotations

import re
from html.parser import HTMLParser

import mistune
import pytest

from dockerlearn.course.notebook_builder import escape_dollars, literal_markdown, render
from dockerlearn.checks import exercises
from dockerlearn.course.lessonfile import load_all


class _Text(HTMLParser):
    """The page text of rendered markdown, and the text nodes MathJax would scan."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.text, self.nodes, self.stack = [], [], []

    def handle_starttag(self, tag, attrs):
        if tag == "br":
            self.text.append("\n")
            self.nodes.append("")
        else:
            self.stack.append(tag)
            self.nodes.append("")

    def handle_endtag(self, tag):
        if tag in self.stack:
            del self.stack[len(self.stack) - 1 - self.stack[::-1].index(tag):]
        self.nodes.append("")

    def handle_data(self, data):
        data = data.replace("\n", " ")  # a newline in HTML is a space; a line break is <br>
        self.text.append(data)
        if not {"code", "pre"} & set(self.stack):
            self.nodes[-1:] = [(self.nodes[-1] if self.nodes else "") + data]


def page_text(markdown: str) -> tuple[str, list[str]]:
    parser = _Text()
    parser.feed(mistune.html(markdown))
    text = re.sub(" *\n *", "\n", "".join(parser.text)).strip()
    return text, [n for n in parser.nodes if n]


def typeset_by_mathjax(nodes: list[str]) -> list[str]:
    """Text nodes in which MathJax would find a formula ($...$ or \\(...\\))."""
    return [n for n in nodes if n.count("$") >= 2 or "\\(" in n]


ALL = list(exercises().values())


@pytest.mark.parametrize("ex", ALL, ids=[e.id for e in ALL])
def test_prompt_and_title_render_as_written(ex):
    for source in (ex.prompt, ex.title):
        text, nodes = page_text(literal_markdown(source))
        assert text == "\n".join(l.strip() for l in source.splitlines())
        assert not typeset_by_mathjax(nodes), nodes


@pytest.mark.parametrize("source", [
    "$REGISTRY … $MIRROR", "<none> <edition>", "Student <student@example.com>", "a*b*c _x_ `y` [z](w)",
    "1. not a list\n- nor this\n# nor a heading", "\\(x\\) \\$y\\$ & &amp; $(docker images -q)", "a | b ~~c~~"])
def test_literal_markdown_of_awkward_text(source):
    text, nodes = page_text(literal_markdown(source))
    assert text == source and not typeset_by_mathjax(nodes)


def test_the_exercise_cell_shows_the_prompt_as_written():
    lesson = next(l for l in load_all() if l.id == "push")
    cell = next(c for c in render(lesson).cells if "push.login" in c.source and c.cell_type == "markdown")
    text, nodes = page_text(cell.source)
    assert exercises()["push.login"].prompt.splitlines()[0] in text and not typeset_by_mathjax(nodes)


def test_dollars_in_lesson_prose_stay_dollars():
    text, nodes = page_text(escape_dollars("变量 $REGISTRY 和 $MIRROR，代码里 `$REGISTRY/x` 不变"))
    assert text == "变量 $REGISTRY 和 $MIRROR，代码里 $REGISTRY/x 不变" and not typeset_by_mathjax(nodes)
