"""dockerlearn: a hands-on Chinese course on Docker images, checked against a real sandbox daemon.

In a notebook: `%load_ext dockerlearn`, then `%docker ...`, `check("id")`, `answer("id", value)`
and `show_layers("IMAGE")`.
Imports stay lazy: the gateway and the CLI start as fast as Python allows.
"""
__version__ = "0.1.0"


def load_ipython_extension(ipython):
    from .notebook.magics import load
    load(ipython)


def check(exercise_id: str):
    """Show the 检查 panel of one exercise (in a notebook), or return its verdict."""
    from .notebook.widgets import panel
    return panel(exercise_id)


def answer(exercise_id: str, value):
    """Give back a value read off a command's output (`answer("inspect.arch", "amd64")`), and see
    the verdict at once: the exercise's check compares it with what the daemon says."""
    from .checks import submit
    from .checks import Verdict
    from .errors import as_error
    from .sandbox.lifecycle import current
    try:
        return submit(current(), exercise_id, value)
    except Exception as e:  # the one error boundary: a known failure is a verdict in Chinese
        error = as_error(e)
        if error is None:
            raise
        return Verdict(exercise_id, False, error.render())


def lesson_progress(lesson_id: str):
    """Show the progress bar of one lesson's exercises."""
    from .notebook.widgets import lesson_progress as bar
    return bar(lesson_id)


def start_lesson(lesson: str, reset: bool = True):
    """A lesson's first cell: bring the sandbox to the state the lesson starts from (a fast reset
    that keeps the work directory and progress, then the lesson's own preparation)."""
    from .notebook.lessonstart import start_lesson as start
    return start(lesson, reset=reset)


def course_progress():
    """Every lesson and its exercises, with what you have passed: where am I in the course?"""
    from .notebook.course_view import course_progress as page
    return page()


def show_layers(*images: str, sandbox=None):
    """Draw the layers of local images as bars: size, the step that made each, and the layers
    they share (`show_layers("debian:bookworm", "debian:bookworm-slim")`)."""
    from .notebook.layerview import show_layers as draw
    return draw(*images, sandbox=sandbox)


def __getattr__(name):
    if name == "Sandbox":
        from .sandbox.lifecycle import Sandbox
        return Sandbox
    raise AttributeError(name)
