"""The layers of local images, as `show_layers` draws them: each build step from `docker history`,
tied to its filesystem layer from `docker inspect` (RootFS.Layers), and which layers images share.

History lists every step (newest first) with the size of the layer it made, but not which
steps made a layer at all: a metadata-only step (ENV, CMD…) and a step whose layer holds no
file bytes (a `rm`, which leaves only a whiteout) are both 0 B. The steps that made a layer are
found from the counts the daemon does know: the image's RootFS.Layers, and for every step that
still has a local image (the legacy builder's intermediate images, a commit's parent), that
image's own RootFS.Layers. Between two such points, steps with bytes made a layer; the rest of
the count goes to 0 B steps that change files (RUN, COPY, a commit), then to WORKDIR (a layer when
it creates its directory), never to the other metadata instructions. Exact for the legacy builder
and commit, whose steps keep their images; for BuildKit and pulled images, this order.

Two images share a layer when they share its chain ID: the same layer (diff ID) on the same
layers below it, which is what the daemon stores once.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Optional

from ..errors import DockerlearnError, docker_error_kind

# Dockerfile instructions that only change the image's configuration.
METADATA = {"ENV", "CMD", "LABEL", "EXPOSE", "USER", "ARG", "ENTRYPOINT", "VOLUME", "STOPSIGNAL",
            "HEALTHCHECK", "SHELL", "ONBUILD", "MAINTAINER", "WORKDIR"}
SHORT = 60


@dataclass
class Step:
    """One line of `docker history`, oldest first in ImageLayers.steps."""
    created_by: str
    size: int
    comment: str = ""
    history_id: str = "<missing>"
    diff_id: Optional[str] = None   # None: this step made no layer (metadata only)
    chain_id: Optional[str] = None
    number: int = 0                 # 1 for the bottom layer, 0 for a step without a layer

    @property
    def empty(self) -> bool:
        return self.diff_id is None

    @property
    def instruction(self) -> str:
        return instruction(self.created_by, self.comment)

    @property
    def short(self) -> str:
        return shorten(self.instruction)


@dataclass
class ImageLayers:
    ref: str
    id: str
    size: int
    steps: list[Step] = field(default_factory=list)  # oldest (bottom) first

    @property
    def layers(self) -> list[Step]:
        return [s for s in self.steps if not s.empty]


def instruction(created_by: str, comment: str = "") -> str:
    """The Dockerfile-like instruction behind a history line: `ENV A=1`, `RUN apt-get …`."""
    text = " ".join((created_by or "").split())
    if text.endswith("# buildkit"):
        text = text[:-len("# buildkit")].rstrip()
    if text.startswith("|"):  # legacy RUN with build args: "|1 NAME=value /bin/sh -c cmd"
        head, _, rest = text.partition(" /bin/sh -c ")
        if rest:
            text = "/bin/sh -c " + rest
    for prefix in ("/bin/sh -c #(nop) ", "/bin/sh -c #(nop)"):
        if text.startswith(prefix):
            return text[len(prefix):].strip()
    if text.startswith("/bin/sh -c "):
        return "RUN " + text[len("/bin/sh -c "):]
    if text.startswith("RUN /bin/sh -c "):  # BuildKit
        return "RUN " + text[len("RUN /bin/sh -c "):]
    if not text:
        return comment.strip() or "(没有记录)"
    return text


def shorten(text: str, limit: int = SHORT) -> str:
    """At most `limit` characters; the legacy builder's `COPY file:<64 hex> in /x` keeps 12 of the hex."""
    text = re.sub(r"\b(file|dir|multi):([0-9a-f]{12})[0-9a-f]{52}\b", r"\1:\2…", text)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _unlikely_layer(step: Step) -> int:
    """0 for a step that changes files (RUN, COPY, a commit), 1 for WORKDIR (a layer when it creates
    the directory), 2 for the other metadata instructions, which never make a layer."""
    word = step.instruction.split(" ", 1)[0].upper()
    return 0 if word not in METADATA else 1 if word == "WORKDIR" else 2


def chain_ids(diff_ids: list[str]) -> list[str]:
    """The chain ID of each layer: sha256 of "parent-chain diff", the first layer's is its diff ID."""
    chains: list[str] = []
    for d in diff_ids:
        chains.append(d if not chains else "sha256:" + hashlib.sha256(f"{chains[-1]} {d}".encode()).hexdigest())
    return chains


def _inspect(api, ref: str) -> Optional[dict]:
    import docker.errors
    try:
        return api.inspect_image(ref)
    except docker.errors.APIError as e:
        if docker_error_kind(e) == "missing":
            return None
        raise


def missing(ref: str) -> DockerlearnError:
    return DockerlearnError(f"本地没有镜像 {ref}", term="no such image",
                            hint=f"用 docker images 看看本地有哪些镜像；需要的话先 docker pull {ref}。")


def image_layers(api, ref: str) -> ImageLayers:
    """The steps and layers of one local image (api: a docker APIClient of the sandbox)."""
    if not isinstance(ref, str) or not ref.strip():
        raise DockerlearnError(f"镜像名字不对：{ref!r}", term="image reference",
                               hint='写成字符串，例如 show_layers("busybox:latest")。')
    img = _inspect(api, ref)
    if img is None:
        raise missing(ref)
    diffs = (img.get("RootFS") or {}).get("Layers") or []
    steps = [Step(created_by=h.get("CreatedBy") or "", size=int(h.get("Size") or 0), comment=h.get("Comment") or "",
                  history_id=h.get("Id") or "<missing>") for h in reversed(api.history(img["Id"]))]
    # How many layers lie at or below a step, where the daemon can tell.
    counts: dict[int, int] = {}
    for i, s in enumerate(steps):
        if s.history_id not in ("", "<missing>"):
            known = img if s.history_id == img["Id"] else _inspect(api, s.history_id)
            if known is not None:
                counts[i] = len((known.get("RootFS") or {}).get("Layers") or [])
    if steps:
        counts[len(steps) - 1] = len(diffs)
    makes_layer = [False] * len(steps)
    prev_i, prev_c = -1, 0
    for i in sorted(counts):
        if counts[i] < prev_c:
            continue
        segment = range(prev_i + 1, i + 1)
        need = counts[i] - prev_c
        chosen = [j for j in segment if steps[j].size > 0][:need]
        rest = sorted((j for j in segment if steps[j].size == 0), key=lambda j: (_unlikely_layer(steps[j]), -j))
        chosen += rest[:max(0, need - len(chosen))]
        for j in chosen:
            makes_layer[j] = True
        prev_i, prev_c = i, counts[i]
    chains = chain_ids(diffs)
    k = 0
    for s, made in zip(steps, makes_layer):
        if made and k < len(diffs):
            s.diff_id, s.chain_id, s.number = diffs[k], chains[k], k + 1
            k += 1
    return ImageLayers(ref=ref, id=img["Id"], size=int(img.get("Size") or 0), steps=steps)


def shared_layers(images: list[ImageLayers]) -> dict[str, list[int]]:
    """chain ID → the indexes of the images that have this layer, for layers in two or more images."""
    seen: dict[str, list[int]] = {}
    for n, im in enumerate(images):
        for s in im.layers:
            where = seen.setdefault(s.chain_id, [])
            if n not in where:
                where.append(n)
    return {c: where for c, where in seen.items() if len(where) > 1}


def compare(api, refs: list[str]) -> list[ImageLayers]:
    return [image_layers(api, r) for r in refs]


def human_size(n: int) -> str:
    """Sizes as docker prints them (decimal units, three significant digits): 524kB, 2.16MB."""
    size = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            text = f"{size:.3g}"
            return f"{text}{unit}" if "e" not in text else f"{size:.0f}{unit}"
        size /= 1000
    return f"{n}B"
