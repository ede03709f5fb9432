"""Build the dockerlearn-panels JupyterLab extension into the package (dockerlearn/labextension/).

    cd labextension && npm install && ../.venv/bin/python build.py

The built extension is committed, so learners and CI never need node. It records the sha256 of
its sources; tests/test_labextension.py fails when the committed build is older than them.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
NAME = "dockerlearn-panels"
OUTPUT = HERE.parent / "dockerlearn" / "labextension" / NAME


def sources() -> list[Path]:
    return [HERE / "package.json", *sorted((HERE / "src").glob("*.js"))]


def source_sha256() -> str:
    digest = hashlib.sha256()
    for path in sources():
        digest.update(path.relative_to(HERE).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def main() -> int:
    bin_dir = Path(sys.executable).parent
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    shutil.rmtree(OUTPUT, ignore_errors=True)
    subprocess.run([str(bin_dir / "jupyter-builder"), "build", "--development", "False", str(HERE)],
                   cwd=HERE, env=env, check=True)
    meta = OUTPUT / "package.json"
    data = json.loads(meta.read_text())
    data["dockerlearn"] = {"source_sha256": source_sha256(),
                           "built_by": "labextension/build.py (do not edit: rebuild)"}
    meta.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    print(f"{OUTPUT.relative_to(HERE.parent)}: {sorted(p.name for p in (OUTPUT / 'static').iterdir())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
