"""Exercise checks: small functions that judge the daemon's state, not the typed text.

A check receives a CheckContext `c` and calls its helpers; the first unmet expectation
raises CheckFailed with a Chinese reason, which is the learner's feedback. A check that
returns normally passes; the string it returns (if any) is shown with the ✅.
"""
from __future__ import annotations

import difflib
import html
import importlib.util
import io
import json
import tarfile
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

from .errors import DockerlearnError, SandboxDown, UnknownExercise

CheckFn = Callable[["CheckContext"], Optional[str]]
_CHECKS: dict[str, CheckFn] = {}


def check(exercise_id: str):
    """Register a check function for an exercise id (used in lessons/NN-slug.py)."""
    def register(fn: CheckFn) -> CheckFn:
        _CHECKS[exercise_id] = fn
        return fn
    return register


def last_tag_time(img: dict):
    """When a tag was last set on an image (inspect data), as UTC; None if never (after pull or load)."""
    from datetime import datetime, timezone
    import re
    raw = (img.get("Metadata") or {}).get("LastTagTime") or ""
    if not raw or raw.startswith("0001-01-01"):
        return None
    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)?", raw)
    if not m:
        return None
    tz = m.group(3) or "Z"  # Go prints nanoseconds; Python's fromisoformat takes six digits
    stamp = datetime.fromisoformat(m.group(1) + (m.group(2) or ".0")[:7] + ("+00:00" if tz == "Z" else tz))
    return stamp.astimezone(timezone.utc)


class CheckFailed(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class Verdict:
    exercise_id: str
    ok: bool
    message: str
    seconds: float = 0.0
    notices: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        mark = "✅ 通过" if self.ok else "❌ 未通过"
        text = f"{mark}  {self.exercise_id}：{self.message}"
        return "\n".join([text, *self.notices])

    def _repr_html_(self) -> str:
        color = "#1a7f37" if self.ok else "#cf222e"
        mark = "✅ 通过" if self.ok else "❌ 未通过"
        notes = "".join(f"<div style='color:#9a6700'>{html.escape(n)}</div>" for n in self.notices)
        return (f"<div class='dockerlearn-verdict' style='color:{color}'><b>{mark}</b> "
                f"{html.escape(self.message)}</div>{notes}")


class CheckContext:
    """What a check may look at: the sandbox's images, containers and registry."""

    def __init__(self, sandbox):
        self.sandbox = sandbox
        self.client = sandbox.client()
        self.api = self.client.api

    # ---- generic ----
    def expect(self, condition, reason: str) -> None:
        if not condition:
            raise CheckFailed(reason)

    def fail(self, reason: str):
        raise CheckFailed(reason)

    # ---- images ----
    def find_image(self, ref: str) -> Optional[dict]:
        """The inspect data of an image (by name:tag, ID or ID prefix), or None."""
        import docker.errors
        try:
            return self.api.inspect_image(ref)
        except docker.errors.ImageNotFound:
            return None
        except docker.errors.APIError as e:  # e.g. an invalid reference format
            if e.status_code in (400, 404):
                return None
            raise

    def image(self, ref: str) -> dict:
        data = self.find_image(ref)
        if data is None:
            what = "标签" if ":" in ref and not ref.startswith("sha256:") else "镜像"
            raise CheckFailed(f"没有找到{what} {ref}")
        return data

    def same_image(self, ref: str, other: str) -> None:
        a, b = self.image(ref), self.image(other)
        if a["Id"] != b["Id"]:
            raise CheckFailed(f"标签 {ref} 指向的镜像不是 {other}")

    def tags_of(self, ref: str) -> list[str]:
        return sorted(self.image(ref).get("RepoTags") or [])

    def images(self, **filters) -> list[dict]:
        return self.api.images(filters=filters or None)

    def image_file(self, ref: str, path: str) -> Optional[bytes]:
        """Contents of a file inside an image, read through a created (never started) container."""
        import docker.errors
        self.image(ref)
        cid = self.api.create_container(ref, command=["true"], labels={"dockerlearn.check": "1"})["Id"]
        try:
            stream, _ = self.api.get_archive(cid, path)
            data = b"".join(stream)
        except docker.errors.NotFound:
            return None
        finally:
            self.api.remove_container(cid, force=True)
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            member = tar.next()
            if member is None or not member.isfile():
                return b"" if member is not None else None
            f = tar.extractfile(member)
            return f.read() if f else b""

    def saved_archive_manifest(self, relpath: str):
        """(manifest.json, path) of a `docker save` archive, plain or compressed, in the work directory."""
        path = self.sandbox.work_dir / relpath
        if not path.exists():
            raise CheckFailed(f"没有找到文件 {relpath}。")
        try:
            with tarfile.open(path, "r:*") as tar:
                return json.load(tar.extractfile("manifest.json")), path
        except (tarfile.TarError, KeyError, ValueError, TypeError):
            raise CheckFailed(f"{relpath} 不是 docker save 存出的镜像存档（里面没有 manifest.json）。") from None

    # ---- seeds ----
    def seed_id(self, ref: str) -> Optional[str]:
        """The image ID the sandbox seeded for a Docker Hub name like debian:bookworm-slim."""
        return self.sandbox.state.seeded.get(ref)

    def debian_version(self) -> str:
        """The seeded Debian point release ("12.8"): it follows the Debian mirror, never hard-coded."""
        from .seeds import debian_point_release
        version = debian_point_release(self.sandbox.state.seeded)
        self.expect(version, "沙箱里没有带完整版本号的 debian 种子镜像：运行 dockerlearn reset 恢复沙箱")
        return version

    # ---- containers ----
    def containers(self, all: bool = True, **filters) -> list[dict]:
        found = self.api.containers(all=all, filters=filters or None)
        return [c for c in found if (c.get("Labels") or {}).get("dockerlearn.check") != "1"]

    # ---- registry ----
    @property
    def registry(self):
        return self.sandbox.registry_client()

    def registry_password(self) -> str:
        """The learner's password for this sandbox's registry (user student)."""
        return self.sandbox.state.student_password

    def registry_tags(self, repository: str) -> list[str]:
        return self.registry.tags(repository)

    def registry_image_id(self, repository: str, tag: str) -> Optional[str]:
        """The image ID (config digest) a registry tag points at, or None."""
        found = self.registry.manifest(repository, tag)
        if not found:
            return None
        return (found[1].get("config") or {}).get("digest")


# ---------------------------------------------------------------- running checks
def load_checks() -> dict[str, CheckFn]:
    """Import every lessons/NN-slug.py once; their @check decorators fill the table."""
    from .lessonfile import lesson_paths
    for md in lesson_paths():
        py = md.with_suffix(".py")
        mod_name = f"dockerlearn_lesson_{md.stem.replace('-', '_')}"
        if py.exists() and mod_name not in _LOADED:
            spec = importlib.util.spec_from_file_location(mod_name, py)
            assert spec and spec.loader
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            _LOADED.add(mod_name)
    return _CHECKS


_LOADED: set[str] = set()
_EXERCISES: dict = {}


def exercises() -> dict:
    """Every exercise of the course, by id, in lesson order."""
    if not _EXERCISES:
        from .lessonfile import load_all
        for lesson in load_all():
            for ex in lesson.exercises:
                _EXERCISES[ex.id] = ex
    return _EXERCISES


def get_exercise(exercise_id: str):
    all_ex = exercises()
    if exercise_id not in all_ex:
        close = difflib.get_close_matches(exercise_id, list(all_ex), n=3, cutoff=0.4)
        hint = ("你是不是想找：" + "、".join(close)) if close else "运行 dockerlearn exercises 查看所有练习编号。"
        raise UnknownExercise(f"没有编号为 {exercise_id!r} 的练习", term="unknown exercise id", hint=hint)
    return all_ex[exercise_id]


def run_check(exercise_id: str, sandbox=None, record: bool = True) -> Verdict:
    """Judge one exercise against the sandbox and record the attempt in the learner's progress."""
    from .sandbox import current
    get_exercise(exercise_id)
    fn = load_checks().get(exercise_id)
    if fn is None:
        raise UnknownExercise(f"练习 {exercise_id} 还没有检查函数", term="missing check",
                              hint="这是课程的缺陷，请告诉老师或维护者。")
    sandbox = sandbox or current()
    t0 = time.perf_counter()
    try:
        ctx = CheckContext(sandbox)
        message = fn(ctx) or "完成了！"
        verdict = Verdict(exercise_id, True, message)
    except CheckFailed as e:
        verdict = Verdict(exercise_id, False, e.reason)
    except SandboxDown as e:
        return Verdict(exercise_id, False, e.message + "。" + e.hint, time.perf_counter() - t0)
    except DockerlearnError as e:
        return Verdict(exercise_id, False, e.render(), time.perf_counter() - t0)
    except _docker_unreachable() as e:  # the daemon died between ping and check
        down = SandboxDown(sandbox.name, str(e)[:120])
        return Verdict(exercise_id, False, down.message + "。" + down.hint, time.perf_counter() - t0)
    verdict.seconds = time.perf_counter() - t0
    if record:
        from .progress_db import ProgressDB
        # The verdict is the learner's answer: it is shown even when progress cannot be saved.
        try:
            notice = ProgressDB.for_sandbox(sandbox.name).record(exercise_id, verdict.ok, verdict.message)
        except DockerlearnError as e:
            notice = "⚠️ " + e.render()
        if notice:
            verdict.notices.append(notice)
    return verdict


def _docker_unreachable() -> tuple:
    import requests.exceptions
    return (requests.exceptions.ConnectionError,)
