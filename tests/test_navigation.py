"""Every notebook opens with a note for the learner (not for maintainers) and ends with links to
the previous and the next lesson, and every link leads to a notebook that exists."""
from __future__ import annotations

import re

from dockerlearn.course.notebook_builder import render
from dockerlearn.course.lessonfile import load_all


def test_first_cell_speaks_to_the_learner_and_last_cell_links_the_neighbours():
    lessons = load_all()
    names = {f"{l.slug}.ipynb" for l in lessons}
    for i, lesson in enumerate(lessons):
        nb = render(lesson)
        first, last = nb.cells[0].source, nb.cells[-1].source
        assert "lessons/" not in first and "dockerlearn build" not in first, "a maintainer's note on the page"
        links = re.findall(r"\]\(([^)]+\.ipynb)\)", last)
        assert set(links) <= names, links
        expected = [f"{lessons[j].slug}.ipynb" for j in (i - 1, i + 1) if 0 <= j < len(lessons)]
        assert links == expected, (lesson.id, links)
    assert "course_progress()" in render(lessons[-1]).cells[-1].source
