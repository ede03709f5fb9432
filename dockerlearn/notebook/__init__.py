"""The notebook side: what runs in the learner's kernel (the names it offers are in dockerlearn/__init__.py).

- magics.py: `%load_ext dockerlearn`, the kernel pinned to the sandbox, `%docker` and `%%docker`;
- widgets.py: the 检查 panel of each exercise and the progress bar of each lesson;
- lessonstart.py: a lesson's first cell and an exercise's 准备 button bring the sandbox to a known state;
- layers.py, layerview.py: `show_layers`, an image's layers read from the daemon and drawn;
- course_view.py: `course_progress()`, the whole course on one page.
"""
