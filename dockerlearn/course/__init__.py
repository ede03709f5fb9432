"""Course tooling: from the lesson sources in lessons/ to the notebooks in notebooks/.

- lessonfile.py: parse a lesson (lessons/NN-slug.md, format in lessons/FORMAT.md) into prose, cells, exercises;
- notebook_builder.py: `dockerlearn build`, a lesson rendered and executed into its notebook;
- option_tables.py: the options tables of docker commands (lessons/options/*.json).

The checks of each lesson live beside it (lessons/NN-slug.py); their API is dockerlearn.checks.
"""
