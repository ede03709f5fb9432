"""The dockerlearn-panels lab extension (labextension/) ships built in dockerlearn/labextension/:
the build is up to date with its sources, `dockerlearn lab` points JupyterLab at it, and JupyterLab
lists it as enabled next to the Chinese language pack. Its behaviour in a browser is in
tests/test_restart.py."""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

from dockerlearn import lab

REPO = Path(__file__).resolve().parents[1]
BUILT = lab.LABEXTENSIONS / "dockerlearn-panels"


def _build_script():
    spec = importlib.util.spec_from_file_location("labextension_build", REPO / "labextension" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_built_extension_is_up_to_date_with_its_sources():
    meta = json.loads((BUILT / "package.json").read_text())
    recorded = meta.get("dockerlearn", {}).get("source_sha256")
    assert recorded == _build_script().source_sha256(), (
        "dockerlearn/labextension/ is older than labextension/: rebuild it with "
        "`cd labextension && npm install && ../.venv/bin/python build.py` and commit the result")
    load = BUILT / meta["jupyterlab"]["_build"]["load"]
    assert load.is_file(), f"{load} is missing"


def test_the_build_tags_exactly_the_panel_cells():
    """The extension re-runs cells by this tag: the progress bar and each check() cell, nothing else."""
    from dockerlearn.course.notebook_builder import PANEL_TAG, render
    from dockerlearn.course.lessonfile import load_all
    source = (REPO / "labextension" / "src" / "index.js").read_text()
    assert f"'{PANEL_TAG}'" in source
    for lesson in load_all():
        nb = render(lesson)
        tagged = [c.source for c in nb.cells if PANEL_TAG in c.get("metadata", {}).get("tags", [])]
        assert tagged[0] == f'from dockerlearn import check, lesson_progress\nlesson_progress("{lesson.id}")'
        assert tagged[1:] == [f'check("{ex.id}")' for ex in lesson.exercises]
        assert PANEL_TAG not in nb.cells[1].get("metadata", {}).get("tags", [])  # never start_lesson


def test_jupyterlab_lists_the_extension_enabled(tmp_path):
    """`jupyter labextension list` reads LabApp's config from the config path: with dockerlearn lab's
    setting there, it lists dockerlearn-panels as enabled, beside the widgets' own extension. (The
zh_CN language pack is not a lab extension; tests/test_restart.py sees the lab in Chinese with it.)"""
    cfg = tmp_path / "cfg"
    cfg.mkdir()
    (cfg / "jupyter_lab_config.py").write_text(f"c.LabApp.extra_labextensions_path = [{str(lab.LABEXTENSIONS)!r}]\n")
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(cfg), JUPYTER_DATA_DIR=str(tmp_path / "data"))
    out = subprocess.run([sys.executable, "-m", "jupyter", "labextension", "list"], env=env,
                         capture_output=True, text=True, timeout=120)
    text = out.stdout + out.stderr
    line = next((l for l in text.splitlines() if "dockerlearn-panels" in l), "")
    assert "enabled" in line and "OK" in line, text
    assert str(lab.LABEXTENSIONS) in text, text
    widgets = next((l for l in text.splitlines() if "@jupyter-widgets/jupyterlab-manager" in l), "")
    assert "enabled" in widgets, text
