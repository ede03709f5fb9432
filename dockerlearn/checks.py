"""Exercise checks: small functions that judge the daemon's state, not the typed text.

A check receives a CheckContext `c` and calls its helpers; the first unmet expectation
raises CheckFailed with a Chinese reason, which is the learner's feedback. A check that
returns normally passes; the string it returns (if any) is shown with the ✅.
"""
from __future__ import annotations

import base64
import difflib
import html
import importlib.util
import io
import json
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from .errors import DockerlearnError, UnknownExercise, as_error, docker_error_kind

CheckFn = Callable[["CheckContext"], Optional[str]]
_CHECKS: dict[str, CheckFn] = {}


def exercise_check(exercise_id: str):
    """Register the check function of an exercise id (used in lessons/NN-slug.py). Not to be
    confused with dockerlearn.check(), which shows an exercise's panel in a notebook."""
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
    """What a check may look at: the sandbox's images, containers, registry and work directory.

    This is the whole check API: lessons/NN-slug.py files use these methods and nothing else
    (tests/test_check_api.py greps for reaches around it). Methods that take `img` accept a
    reference (name:tag, ID or ID prefix) or the inspect data already fetched. The table of
    methods is in lessons/FORMAT.md.
    """

    def __init__(self, sandbox, exercise_id: str = ""):
        self._sandbox = sandbox
        self._api = sandbox.client().api
        self.exercise_id = exercise_id

    # ---- a value the learner gives back ----
    def answer(self) -> str:
        """What the learner gave back with answer("ID", "…") (or `dockerlearn answer ID …`); fails
        with how to give it when nothing was given since the last reset."""
        from .answers import given
        value = given(self._sandbox, self.exercise_id)
        if value is None:
            self.fail(f'还没有交回答案：在上面的单元格里运行 answer("{self.exercise_id}", "你查到的值")，'
                      f"或者在终端里运行 dockerlearn answer {self.exercise_id} 你查到的值。")
        return value

    # ---- generic ----
    def expect(self, condition, reason: str) -> None:
        """Fail with `reason` unless `condition` holds."""
        if not condition:
            raise CheckFailed(reason)

    def fail(self, reason: str):
        """Fail with `reason` (the learner's feedback)."""
        raise CheckFailed(reason)

    # ---- addresses ----
    @property
    def registry_address(self) -> str:
        """$REGISTRY: the sandbox's registry with login, like 127.0.0.1:41234."""
        return self._sandbox.registry_address

    @property
    def mirror_address(self) -> str:
        """$MIRROR: the read-only registry mirror of the sandbox's daemon."""
        return self._sandbox.mirror_address

    # ---- images ----
    def find_image(self, ref: str) -> Optional[dict]:
        """The inspect data of an image (by name:tag, ID or ID prefix), or None."""
        import docker.errors
        try:
            return self._api.inspect_image(ref)
        except docker.errors.APIError as e:  # not there, or an invalid reference format
            if docker_error_kind(e) == "missing":
                return None
            raise

    def image(self, ref: str) -> dict:
        """The inspect data of an image; fails with "没有找到标签/镜像 REF" when it is absent."""
        data = self.find_image(ref)
        if data is None:
            what = "标签" if ":" in ref and not ref.startswith("sha256:") else "镜像"
            raise CheckFailed(f"没有找到{what} {ref}")
        return data

    def _inspect(self, img) -> dict:
        return self.image(img) if isinstance(img, str) else img

    def same_image(self, ref: str, other: str) -> None:
        """Fail unless both references name the same image ID."""
        a, b = self.image(ref), self.image(other)
        if a["Id"] != b["Id"]:
            raise CheckFailed(f"标签 {ref} 指向的镜像不是 {other}")

    def expect_new_tag(self, target: str, source: str, *, wrong: str, missing: str) -> None:
        """target must be a tag of the same image as source. When it is not there, the other tags of
        that image in target's repository are what the learner typed instead: `wrong` names them
        ({wrong}: all of them, {first}: the first), else `missing` says what to do."""
        if self.find_image(target) is None:
            repository = target.rsplit(":", 1)[0]
            others = [t for t in self.tags_of(source) if t.rsplit(":", 1)[0] == repository and t not in (source, target)]
            if others:
                self.fail(wrong.format(wrong=", ".join(others), first=others[0]))
            self.fail(missing)
        self.same_image(target, source)

    def images(self, all: bool = False, **filters) -> list[dict]:
        """`docker images [-a] --filter KEY=VALUE`: e.g. images(label="stage=tmp"), images(dangling=True)."""
        return self._api.images(all=all, filters=filters or None)

    def tags_of(self, img) -> list[str]:
        """The repo:tags of one image, sorted; [] for an untagged (<none>) image."""
        return sorted(t for t in (self._inspect(img).get("RepoTags") or []) if t != "<none>:<none>")

    def tags(self, **filters) -> list[str]:
        """Every local repo:tag, sorted, of the images that match the filters (as images())."""
        return sorted(t for img in self.images(**filters) for t in self.tags_of(img))

    def config(self, img) -> dict:
        """The image's Config: Cmd, Env, WorkingDir, ExposedPorts, Labels…"""
        return self._inspect(img).get("Config") or {}

    def labels(self, img) -> dict:
        """The image's labels (LABEL, --label)."""
        return self.config(img).get("Labels") or {}

    def env(self, img) -> dict:
        """The image's environment variables, as a dict."""
        return dict(e.split("=", 1) for e in (self.config(img).get("Env") or []) if "=" in e)

    def layers(self, img) -> list[str]:
        """The image's layer diff IDs (RootFS.Layers), base first."""
        return (self._inspect(img).get("RootFS") or {}).get("Layers") or []

    def history(self, ref: str) -> list[dict]:
        """`docker history`: one dict per step, newest first (Id, CreatedBy, Comment…)."""
        self.image(ref)
        return self._api.history(ref)

    def image_file(self, ref: str, path: str) -> Optional[bytes]:
        """Contents of a file inside an image, read through a created (never started) container."""
        import docker.errors
        self.image(ref)
        cid = self._api.create_container(ref, command=["true"], labels={"dockerlearn.check": "1"})["Id"]
        try:
            stream, _ = self._api.get_archive(cid, path)
            data = b"".join(stream)
        except docker.errors.NotFound:
            return None
        finally:
            self._api.remove_container(cid, force=True)
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            member = tar.next()
            if member is None or not member.isfile():
                return b"" if member is not None else None
            f = tar.extractfile(member)
            return f.read() if f else b""

    def image_text(self, ref: str, path: str) -> Optional[str]:
        """A text file inside an image, decoded and stripped; None when it is not there."""
        data = self.image_file(ref, path)
        return None if data is None else data.decode("utf-8", "replace").strip()

    # ---- where an image came from ----
    def last_tag_time(self, img):
        """When a tag was last set on the image (tag, build, commit, import), as UTC; None after a pull or load."""
        return last_tag_time(self._inspect(img))

    def pulled_from(self, img, repository: str) -> bool:
        """Whether the image came from a pull of `repository` (it has its RepoDigest) and was not tagged since."""
        data = self._inspect(img)
        digests = data.get("RepoDigests") or []
        return self.last_tag_time(data) is None and any(d.startswith(repository + "@") for d in digests)

    def repo_digests(self, img) -> list[str]:
        """The image's RepoDigests (REPOSITORY@sha256:…): the repositories it was pulled from or pushed to.

        `docker tag` never adds one, so a name that was only tagged has no digest of its own."""
        return list(self._inspect(img).get("RepoDigests") or [])

    def came_from(self, img, repository: str) -> bool:
        """Whether the image was ever pulled from (or pushed to) `repository`: it has a RepoDigest REPOSITORY@…."""
        return any(d.startswith(repository + "@") for d in self.repo_digests(img))

    def named_by(self, ref: str) -> Optional[str]:
        """How ref last got its name, from the daemon's recent events: "pull" (docker pull ref) or
        "tag" (docker tag, docker build -t); None when the events no longer tell (the daemon keeps
        only the last few hundred), so a check gives the benefit of the doubt."""
        last = None
        for event in self._api.events(since=1, until=int(time.time()) + 1, filters={"type": "image"}, decode=True):
            action, actor = event.get("Action") or event.get("status"), event.get("Actor") or {}
            if action == "pull" and actor.get("ID") == ref:
                last = "pull"
            elif action == "tag" and (actor.get("Attributes") or {}).get("name") == ref:
                last = "tag"
        return last

    def pulled_name(self, repository: str, tag: str) -> Optional[str]:
        """The first local name of Docker Hub's library/REPOSITORY:TAG: the Hub name, or through $MIRROR or $REGISTRY."""
        for name in (f"{repository}:{tag}", f"{self.mirror_address}/library/{repository}:{tag}",
                     f"{self.registry_address}/library/{repository}:{tag}"):
            if self.find_image(name) is not None:
                return name
        return None

    # ---- the learner's work directory ----
    def work_path(self, relpath: str) -> Path:
        """A path in the learner's work directory (where lesson cells write their files)."""
        return self._sandbox.work_dir / relpath

    # ---- docker save archives (in the work directory) ----
    def _archive(self, relpath: str):
        path = self._sandbox.work_dir / relpath
        for suffix in (".gz", ".bz2", ".xz"):  # gunzip ARCHIVE.tar.gz leaves ARCHIVE.tar: the same archive
            if not path.exists() and relpath.endswith(suffix) and path.with_suffix("").exists():
                path = path.with_suffix("")
        if not path.exists():
            raise CheckFailed(f"没有找到文件 {relpath}。")
        try:
            with tarfile.open(path, "r:*") as tar:
                return json.load(tar.extractfile("manifest.json")), path
        except (tarfile.TarError, KeyError, ValueError, TypeError):
            raise CheckFailed(f"{relpath} 不是 docker save 存出的镜像存档（里面没有 manifest.json）。") from None

    def archive_ids(self, relpath: str) -> dict[str, str]:
        """{repo:tag: image ID} of a `docker save` archive (plain or compressed, docker or OCI layout)."""
        return _ids_by_tag(self._archive(relpath)[0])

    def _work_file(self, relpath: str) -> Path:
        path = self.work_path(relpath)
        if not path.is_file():
            self.fail(f"没有找到文件 {relpath}。")
        return path

    def compression(self, relpath: str) -> Optional[str]:
        """"gzip", "bzip2" or "xz" by the file's first bytes (not its name), or None; fails when the
        file is missing."""
        with open(self._work_file(relpath), "rb") as f:
            head = f.read(6)
        for magic, kind in ((b"\x1f\x8b", "gzip"), (b"BZh", "bzip2"), (b"\xfd7zXZ", "xz")):
            if head.startswith(magic):
                return kind
        return None

    def tar_names(self, relpath: str) -> list[str]:
        """The member names of a tar file in the work directory (plain or compressed), without "./"."""
        try:
            with tarfile.open(self._work_file(relpath), "r:*") as tar:
                return [n[2:] if n.startswith("./") else n for n in tar.getnames()]
        except tarfile.TarError:
            self.fail(f"{relpath} 不是一个 tar 归档。")

    def tar_text(self, relpath: str, member: str) -> Optional[str]:
        """The text of one file inside a tar in the work directory, or None when it is not there."""
        path = self.work_path(relpath)
        try:
            with tarfile.open(path, "r:*") as tar:
                for name in (member, "./" + member):
                    try:
                        f = tar.extractfile(name)
                    except KeyError:
                        continue
                    if f is not None:
                        return f.read().decode("utf-8", "replace")
        except (OSError, tarfile.TarError):
            pass
        return None

    def search(self, term: str) -> list[dict]:
        """`docker search $REGISTRY/TERM` through the daemon: [{"name", "description", "star_count", ...}]."""
        return self._api.search(f"{self.registry_address}/{term}")

    def searches(self) -> list[dict]:
        """The learner's searches of the sandbox's registry since the last reset, oldest first:
        [{"term", "names": [repositories in the results], "everything": the results were every
        repository}]. The checks' own c.search() calls are left out."""
        from .sandbox.lifecycle import CLIENT_AGENT
        try:
            lines = self._sandbox.paths.searches_file.read_text(encoding="utf-8").splitlines()
        except OSError:  # no search yet
            return []
        found = []
        for line in lines:
            try:
                entry = json.loads(line)
            except ValueError:  # a line cut short by a full disk
                continue
            if isinstance(entry, dict) and not str(entry.get("client", "")).startswith(CLIENT_AGENT):
                found.append({"term": str(entry.get("term", "")), "names": list(entry.get("names") or []),
                              "everything": bool(entry.get("everything"))})
        return found

    def disk_usage(self) -> dict:
        """What `docker system df` summarizes: {"Images": [...], "Containers": [...], ...} (its API form)."""
        return self._api.df()

    def expect_loaded(self, relpath: str, tags: list[str]) -> None:
        """Fail unless every tag is local, with the archive's image ID, and came back by a load after the save."""
        manifest, path = self._archive(relpath)
        ids = _ids_by_tag(manifest)
        from datetime import datetime, timezone
        saved_at = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
        for tag in tags:
            img = self.find_image(tag)
            if img is None:
                self.fail(f"本地没有 {tag}：从 {relpath} 载入了吗？")
            if img["Id"] != ids.get(tag):
                history = self._api.history(tag)
                if len(history) == 1 and (history[0].get("Comment") or "").startswith("Imported"):
                    self.fail(f"{tag} 是用 docker import 导入的新镜像，镜像 ID 和存档里的不同。"
                              "import 把存档当成一个文件系统；docker save 的存档要用 docker load 载入。")
                self.fail(f"{tag} 的镜像 ID 和 {relpath} 里的不一样。")
            others = [t for t in self.tags_of(img) if t not in ids]
            if others:
                self.fail(f"{tag} 的镜像还有 {relpath} 里没有的标签 {'、'.join(others)}：只要还有一个标签，"
                          f"docker rmi {tag} 只删除这个名字，镜像本身一直留在本地，载入时并没有从存档里回来。"
                          f"先 docker rmi {' '.join([*others, tag])}，让镜像真正从本地消失，再 docker load -i {relpath}。")
            tagged = self.last_tag_time(img)
            if tagged is not None and tagged <= saved_at:
                self.fail(f"{tag} 从存出到现在一直都在本地，并没有被删除再载入：先 docker rmi，再 docker load。")

    # ---- seeds ----
    def seed_id(self, ref: str) -> Optional[str]:
        """The image ID the sandbox seeded for a Docker Hub name like debian:bookworm-slim."""
        return self._sandbox.state.seeded.get(ref)

    def expect_seed(self, ref: str, seed: str) -> None:
        """Fail unless the local ref is the image the sandbox seeded as seed (a Docker Hub name)."""
        if self.image(ref)["Id"] != self.seed_id(seed):
            self.fail(f"{ref} 不是沙箱仓库服务里的 {seed}")

    def debian_version(self) -> str:
        """The seeded Debian point release ("12.8"): it follows the Debian mirror, never hard-coded."""
        from .sandbox.seeds import debian_point_release
        version = debian_point_release(self._sandbox.state.seeded)
        self.expect(version, "沙箱里没有带完整版本号的 debian 种子镜像：运行 dockerlearn reset 恢复沙箱")
        return version

    # ---- containers ----
    def containers(self, all: bool = True, **filters) -> list[dict]:
        """`docker ps -a --filter KEY=VALUE`, without the check's own helper containers."""
        found = self._api.containers(all=all, filters=filters or None)
        return [c for c in found if (c.get("Labels") or {}).get("dockerlearn.check") != "1"]

    def container(self, name_or_id: str) -> Optional[dict]:
        """One container (`docker ps -a` row) by exact name or ID (prefix), or None."""
        for found in self.containers():
            names = [n.lstrip("/") for n in found.get("Names") or []]
            if name_or_id in names or (len(name_or_id) >= 12 and found["Id"].startswith(name_or_id)):
                return found
        return None

    def committed_from(self, img) -> Optional[str]:
        """The ID of the container an image was made in (inspect's Container: the committed container,
        or a build's last step container); None when the daemon does not say."""
        return self._inspect(img).get("Container") or None

    # ---- registry ----
    @property
    def registry(self):
        """A RegistryClient for $REGISTRY, logged in as the sandbox's service user."""
        return self._sandbox.registry_client()

    def registry_password(self) -> str:
        """The learner's password for this sandbox's registry (user student)."""
        return self._sandbox.state.student_password

    def registry_tags(self, repository: str) -> list[str]:
        """The tags of a repository in $REGISTRY, like registry_tags("student/multi"); [] if none."""
        return self.registry.tags(repository)

    def registry_image_id(self, repository: str, tag: str) -> Optional[str]:
        """The image ID (config digest) a registry tag points at, or None."""
        found = self.registry.manifest(repository, tag)
        if not found:
            return None
        return (found[1].get("config") or {}).get("digest")

    def saved_login(self, address: str) -> Optional[tuple[str, str]]:
        """(user, password) that `docker login ADDRESS` saved in the sandbox's DOCKER_CONFIG, or None."""
        path = self._sandbox.paths.docker_config / "config.json"
        try:
            auths = json.loads(path.read_text()).get("auths") or {}
        except (OSError, ValueError, AttributeError):
            return None
        entry = auths.get(address) or auths.get(f"http://{address}")
        if entry is None:
            return None
        try:
            user, _, password = base64.b64decode((entry or {}).get("auth") or "").decode().partition(":")
        except ValueError:
            return "", ""
        return user, password


def _ids_by_tag(manifest: list) -> dict[str, str]:
    return {tag: archive_config_id(entry) for entry in manifest for tag in (entry.get("RepoTags") or [])}


def archive_config_id(entry: dict) -> str:
    """Image ID from a save manifest entry: "abc….json" (docker-archive) or "blobs/sha256/abc…" (OCI)."""
    name = entry["Config"].rsplit("/", 1)[-1]
    return "sha256:" + (name[:-len(".json")] if name.endswith(".json") else name)


# ---------------------------------------------------------------- running checks
def load_checks() -> dict[str, CheckFn]:
    """Import every lessons/NN-slug.py once; their @check decorators fill the table."""
    from .course.lessonfile import lesson_paths
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
        from .course.lessonfile import load_all
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


def check_bug_message(e: BaseException) -> str:
    """The verdict for an exception the check did not expect: a bug in the course, not the learner's mistake."""
    import traceback
    frames = traceback.extract_tb(e.__traceback__)
    where = next((f"{Path(f.filename).name}:{f.lineno}" for f in reversed(frames)
                  if "/lessons/" in f.filename.replace("\\", "/")), "")
    if not where and frames:
        where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}"
    detail = f"{type(e).__name__}: {e}"[:300]
    return (f"检查程序自己出错了（bug in the check）：{detail}"
            f"{f'（{where}）' if where else ''}。"
            "这是课程的缺陷，不是你的错：你的操作可能已经是对的。"
            "请把这条消息告诉老师或课程维护者；可以先继续做下一题。")


def run_check(exercise_id: str, sandbox=None, record: bool = True) -> Verdict:
    """Judge one exercise against the sandbox and record the attempt in the learner's progress."""
    from .sandbox.lifecycle import current
    get_exercise(exercise_id)
    fn = load_checks().get(exercise_id)
    if fn is None:
        raise UnknownExercise(f"练习 {exercise_id} 还没有检查函数", term="missing check",
                              hint="这是课程的缺陷，请告诉老师或维护者。")
    sandbox = sandbox or current()
    t0 = time.perf_counter()
    try:
        ctx = CheckContext(sandbox, exercise_id)
        message = fn(ctx) or "完成了！"
        verdict = Verdict(exercise_id, True, message)
    except CheckFailed as e:
        verdict = Verdict(exercise_id, False, e.reason)
    except Exception as e:  # the daemon died meanwhile, refused a request, a course bug…
        error = as_error(e, sandbox.name)
        message = error.render() if error is not None else check_bug_message(e)
        return Verdict(exercise_id, False, message, time.perf_counter() - t0)
    verdict.seconds = time.perf_counter() - t0
    if record:
        from .learner_progress import ProgressDB
        # The verdict is the learner's answer: it is shown even when progress cannot be saved.
        try:
            notice = ProgressDB.for_sandbox(sandbox.name).record(exercise_id, verdict.ok, verdict.message)
        except DockerlearnError as e:
            notice = "⚠️ " + e.render()
        if notice:
            verdict.notices.append(notice)
    return verdict


def submit(sandbox, exercise_id: str, value) -> Verdict:
    """Keep value as the learner's answer to exercise_id and judge it: the verdict the learner sees,
    for both answer() in a notebook and `dockerlearn answer` in a terminal."""
    from .answers import give
    get_exercise(exercise_id)  # an unknown id is refused before anything is written
    give(sandbox, exercise_id, value)
    return run_check(exercise_id, sandbox)
