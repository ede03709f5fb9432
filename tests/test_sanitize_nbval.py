"""tests/nbval_sanitize.cfg end to end: a fixture notebook run by nbval with the course's
sanitizers, in a pytest of its own, as `pytest --nbval` runs the saved notebooks.

Each cell prints what a lesson's command prints today, and carries as its saved output what the
notebook recorded. Cells whose outputs differ only in what truly varies between two machines
(an image ID, a digest, a size, a time, column padding) must pass; cells whose outputs differ in
what a lesson is about (a tag, a verdict, an ID's form, the number of layers or lines, an error
message) must fail. test_outputs_stable.py checks the regexes one by one; this checks that nbval
applies them the way we think. Plain print() cells: the kernel needs no docker. No daemon."""
from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

SANITIZE_CFG = Path(__file__).resolve().parent / "nbval_sanitize.cfg"

ID1, ID2 = "3f57d9401f8d", "a416a98b71e2"
D1, D2 = "sha256:" + "3f57d9401f8d" * 5 + "abcd", "sha256:" + "0" * 64
IMAGES_HEADER = "REPOSITORY   TAG       IMAGE ID       CREATED        SIZE"

# name -> (what the cell prints now, what the notebook recorded)
SAME = {
    "image-id-age-size": (f"{IMAGES_HEADER}\nbusybox      latest    {ID1}   2 weeks ago    4.26MB",
                          f"{IMAGES_HEADER}\nbusybox      latest    {ID2}   3 days ago     4.3MB"),
    "column-padding": (f"REPOSITORY    TAG\nmyapp         1.0\n{'busybox':<14}latest",
                       f"REPOSITORY   TAG\nmyapp        1.0\n{'busybox':<13}latest"),
    "pull-digest": (f"latest: Pulling from library/busybox\n{ID1}: Pulling fs layer\n{ID1}: Pull complete\n"
                    f"Digest: {D1}\nStatus: Downloaded newer image for busybox:latest",
                    f"latest: Pulling from library/busybox\n{ID2}: Pull complete\n"
                    f"Digest: {D2}\nStatus: Downloaded newer image for busybox:latest"),
    "inspect-time-and-long-id": (f'"Id": "{D1}",\n"Created": "2026-11-29T08:59:01.123456789Z"',
                                 f'"Id": "{D2}",\n"Created": "2025-01-02T03:04:05Z"'),
    "build-elapsed": ("#5 [2/2] RUN echo hi\n#5 DONE 0.4s\nSuccessfully tagged myapp:1.0",
                      "#5 [2/2] RUN echo hi\n#5 DONE 12.7s\nSuccessfully tagged myapp:1.0"),
    # Known and wanted: a push's per-layer state lines are dropped (they depend on timing), so the
    # layer count of a push shows only in the manifest's size on the digest line, which stays compared.
    "push-layer-lines": (f"{ID1}: Pushed\n1.0: digest: {D1} size: 527",
                         f"{ID1}: Pushed\n{ID2}: Layer already exists\n1.0: digest: {D2} size: 527"),
    "verdict-with-id": (f"✅ 通过：myapp:1.0 的镜像 ID {ID1}", f"✅ 通过：myapp:1.0 的镜像 ID {ID2}"),
}
DIFFERENT = {
    "tag": (f"{IMAGES_HEADER}\nbusybox      1.36      {ID1}   2 weeks ago    4.26MB",
            f"{IMAGES_HEADER}\nbusybox      latest    {ID1}   2 weeks ago    4.26MB"),
    "tag-in-a-status-line": ("Status: Downloaded newer image for busybox:1.36",
                             "Status: Downloaded newer image for busybox:latest"),
    "verdict": ("❌ 未通过：没有找到镜像 myapp:1.0", "✅ 通过：找到了镜像 myapp:1.0"),
    "exit-code": ("（命令失败，退出码 exit code 125）", "（命令失败，退出码 exit code 1）"),
    "id-form": (f"{D1[7:]}", f"{ID1}"),  # --no-trunc forgotten or added: a 64-hex ID is not a 12-hex one
    "id-prefix": (f"{D1}", f"{D1[7:]}"),  # sha256: shown or not
    "one-layer-more": (f"{ID1}: Pull complete\n{ID2}: Pull complete\nDigest: {D1}",
                       f"{ID1}: Pull complete\nDigest: {D1}"),
    "one-line-more": (f"{IMAGES_HEADER}\nbusybox      latest    {ID1}   2 weeks ago    4.26MB\n"
                      f"debian       12        {ID2}   2 weeks ago    117MB",
                      f"{IMAGES_HEADER}\nbusybox      latest    {ID1}   2 weeks ago    4.26MB"),
    "size-gone": (f"busybox      latest    {ID1}   2 weeks ago", f"busybox      latest    {ID1}   2 weeks ago    4.26MB"),
    "push-manifest-size": (f"1.0: digest: {D1} size: 739", f"1.0: digest: {D1} size: 527"),
    "error-message": ("Error response from daemon: No such image: myapp:1.0",
                      "Error response from daemon: conflict: unable to remove repository reference"),
    "stream": ("stderr!Error: No such container: web", "Error: No such container: web"),
}


# `python -m pytest`, minus one import: jsonschema (under nbformat) loads rfc3987_syntax, whose
# grammar takes 1-2 s to build on this machine, only to check "iri" formats nbformat never uses
# (jsonschema skips that checker when the import fails).
RUN_PYTEST = "import sys; sys.modules['rfc3987_syntax'] = None; import pytest; sys.exit(pytest.main(sys.argv[1:]))"


def cell(now: str, recorded: str) -> dict:
    """A code cell in nbformat 4 (written by hand: importing nbformat here costs more than the test)."""
    if now.startswith("stderr!"):  # printed to stderr now, recorded on stdout
        source = f"import sys\nprint({now[len('stderr!'):]!r}, file=sys.stderr)"
    else:
        source = f"print({now!r})"
    return {"cell_type": "code", "execution_count": 1, "metadata": {}, "source": source,
            "outputs": [{"output_type": "stream", "name": "stdout", "text": recorded + "\n"}]}


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory):
    """{case: "passed" | "failed"} from one nbval run over one fixture notebook (one kernel)."""
    tmp = tmp_path_factory.mktemp("nbval")
    cases = {**SAME, **DIFFERENT}
    nb = {"nbformat": 4, "nbformat_minor": 4, "cells": [cell(*cases[name]) for name in cases],
          "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}}
    (tmp / "fixture.ipynb").write_text(json.dumps(nb, ensure_ascii=False, indent=1))
    # An ini of its own: the course's conftest.py (which resets a sandbox before each notebook) stays out.
    (tmp / "pytest.ini").write_text("[pytest]\n")
    proc = subprocess.run([sys.executable, "-c", RUN_PYTEST, "fixture.ipynb", "--nbval", "--nbval-sanitize-with",
                           str(SANITIZE_CFG), "-p", "no:cacheprovider", "-c", str(tmp / "pytest.ini"),
                           "--rootdir", str(tmp), "--junitxml", str(tmp / "result.xml"), "-q"],
                          cwd=tmp, capture_output=True, text=True, timeout=120)
    assert (tmp / "result.xml").exists(), proc.stdout + proc.stderr
    results = {}
    for case in ET.parse(tmp / "result.xml").iter("testcase"):
        # nbval names cell items "fixture.ipynb::Cell N".
        index = int(case.get("name").rsplit(" ", 1)[1])
        outcome = "failed" if case.find("failure") is not None or case.find("error") is not None else \
            "skipped" if case.find("skipped") is not None else "passed"
        results[list(cases)[index]] = outcome
    assert len(results) == len(cases), proc.stdout
    return results


@pytest.mark.parametrize("case", list(SAME))
def test_what_varies_between_machines_passes(verdicts, case):
    assert verdicts[case] == "passed"


@pytest.mark.parametrize("case", list(DIFFERENT))
def test_a_real_change_fails(verdicts, case):
    assert verdicts[case] == "failed"

