"""What `dockerlearn lab` sets up around JupyterLab, all inside the sandbox's own folder
(<sandbox>/jupyter), never in the learner's ~/.jupyter or ~/.ipython:

- every kernel loads dockerlearn by itself (an IPython startup file, via IPYTHONDIR), so after a
  kernel restart `%docker` and `check()` work at once;
- terminals are bash with the sandbox's PATH (its own docker and dockerlearn first, even after a
  login profile or ~/.bashrc) and start in the learner's work directory, which the file browser
  shows as work/ beside the notebooks;
- the interface is in Chinese (jupyterlab-language-pack-zh-cn) and never asks about Jupyter news;
- a saved notebook keeps the readable text of each exercise panel, not a widget reference that
  shows "Error displaying widget: model not found" once the kernel is gone;
- the lab loads the course's own extension, dockerlearn-panels (built from labextension/, shipped
  in dockerlearn/labextension/): after a kernel restart it re-runs only the cells that show an
  exercise panel or the progress bar, so 检查 answers again without the learner re-running anything.
"""
from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
from pathlib import Path

from .paths import course_dir

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
LABEXTENSIONS = Path(__file__).resolve().parent / "labextension"  # holds dockerlearn-panels/

OVERRIDES = {
    "@jupyterlab/translation-extension:plugin": {"locale": "zh_CN"},
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
}

STARTUP = '''\
# dockerlearn: every course kernel is attached to the sandbox from its first cell on.
# The notebook's own `%load_ext dockerlearn` runs the same code again and says so.
try:
    from dockerlearn.notebook.magics import load as _dockerlearn_load
    _dockerlearn_load(get_ipython(), quiet=True)
    del _dockerlearn_load
except Exception as _e:  # never stop a kernel from starting
    import sys as _sys
    print(f"dockerlearn 没有自动加载：{_e}\\n提示：运行 %reload_ext dockerlearn", file=_sys.stderr)
'''


def jupyter_dir(sb) -> Path:
    return sb.paths.root / "jupyter"


def strip_widget_views(model=None, **_kw) -> None:
    """pre_save_hook: a saved output keeps its text, not a reference to a widget of this kernel."""
    if not model or model.get("type") != "notebook":
        return
    strip_notebook(model["content"])


def strip_notebook(nb) -> None:
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            data = out.get("data") or {}
            if WIDGET_VIEW in data and len(data) > 1:
                del data[WIDGET_VIEW]
    nb.get("metadata", {}).pop("widgets", None)


def bashrc(sb) -> str:
    env = sb.env()
    keep = {k: env[k] for k in ("DOCKER_HOST", "DOCKER_CONFIG", "DOCKERLEARN_NAME", "DOCKERLEARN_WORK")}
    lines = ["# dockerlearn: the course's terminal (written by dockerlearn lab; rewritten on every start)",
             "[ -f /etc/bash.bashrc ] && . /etc/bash.bashrc",
             "[ -f ~/.bashrc ] && . ~/.bashrc",
             "# The sandbox's docker and dockerlearn come first, whatever the files above did.",
             *(f"unset {v}" for v in sb.UNPINNED),
             *(f"export {k}={shlex.quote(v)}" for k, v in keep.items()),
             f'export PATH={shlex.quote(str(sb.ensure_bin()))}:"$PATH"',
             "# Start in the learner's work directory (or stay in a folder inside it).",
             'case "$PWD/" in "$DOCKERLEARN_WORK"/*) ;; *) cd "$DOCKERLEARN_WORK" ;; esac']
    return "\n".join(lines) + "\n"


def prepare(sb, notebooks: Path) -> tuple[Path, dict]:
    """Write the lab's configuration into <sandbox>/jupyter; return the config file and the
    environment for the server (and so for its kernels and terminals)."""
    root = jupyter_dir(sb)
    startup = root / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True, exist_ok=True)
    (startup / "00-dockerlearn.py").write_text(STARTUP)
    settings = root / "settings"
    settings.mkdir(exist_ok=True)
    (settings / "overrides.json").write_text(json.dumps(OVERRIDES, indent=2) + "\n")
    rc = root / "bashrc"
    rc.write_text(bashrc(sb))
    link = notebooks / "work"
    if not link.is_symlink() and not link.exists():
        link.symlink_to(sb.work_dir)  # the file browser shows the work directory beside the lessons
    bash = shutil.which("bash") or "/bin/bash"
    config = {
        "LabApp.app_settings_dir": str(settings),
        "LabApp.user_settings_dir": str(root / "user-settings"),
        "LabApp.workspaces_dir": str(root / "workspaces"),
        "LabApp.extra_labextensions_path": [str(LABEXTENSIONS)],
        "LabApp.news_url": None,
        "LabApp.check_for_updates_class": "jupyterlab.NeverCheckForUpdate",
        "ServerApp.terminado_settings": {"shell_command": [bash, "--rcfile", str(rc), "-i"]},
        "FileContentsManager.pre_save_hook": "dockerlearn.lab.strip_widget_views",
    }
    cfg = root / "jupyter_lab_config.py"
    cfg.write_text("# Written by dockerlearn lab on every start.\n"
                   + "".join(f"c.{k} = {v!r}\n" for k, v in config.items()))
    env = sb.full_env()
    env["IPYTHONDIR"] = str(root / "ipython")
    return cfg, env


def lab_argv(notebooks: Path, port: int, no_browser: bool, config: Path | None = None) -> list[str]:
    """JupyterLab on loopback only: a classroom machine must not serve students' sandboxes to the LAN."""
    argv = [sys.executable, "-m", "jupyter", "lab", f"--notebook-dir={notebooks}",
            "--ServerApp.ip=127.0.0.1", f"--port={port}"]
    if config is not None:
        argv.append(f"--config={config}")
    if os.geteuid() == 0:
        argv.append("--allow-root")
    if no_browser:
        argv.append("--no-browser")
    return argv


def learner_notebooks(sb) -> Path:
    """The learner's own copies of the notebooks: several students on one machine never share one,
    and a course update adds new lessons without overwriting a notebook someone has worked in."""
    target = sb.paths.root / "notebooks"
    target.mkdir(parents=True, exist_ok=True)
    for nb in sorted((course_dir() / "notebooks").glob("*.ipynb")):
        if not (target / nb.name).exists():
            # Each panel as its readable text: the widgets of the build's kernel are long gone.
            content = json.loads(nb.read_text(encoding="utf-8"))
            strip_notebook(content)
            part = target / f".{nb.name}.part"
            part.write_text(json.dumps(content, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
            part.replace(target / nb.name)
    return target
