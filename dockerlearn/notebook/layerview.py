"""`show_layers("IMAGE", ...)`: an image's layers as a picture in the notebook.

Plain HTML and inline CSS (no script, no network): for each image, one bar of its whole size
made of its layers, and below it the steps newest first, as `docker history` lists them, each
with a bar as wide as its layer. A layer two images share has the same colour and number in
both, and says so. Steps that only changed the configuration are thin grey lines. The text/plain
form says the same in words, for saved notebooks and nbval.
"""
from __future__ import annotations

import html
import sys

from ..errors import as_error
from .layers import ImageLayers, compare, human_size, shared_layers

# Distinct, readable on white, and not red/green alone.
PALETTE = ["#4c78a8", "#f58518", "#54a24b", "#b279a2", "#e45756", "#72b7b2", "#eeca3b", "#9d755d",
           "#ff9da6", "#bab0ac"]
SHARED_MARK = "共享"


class LayerView:
    """What show_layers returns: IPython shows its HTML, a saved notebook keeps its text too."""

    def __init__(self, images: list[ImageLayers]):
        self.images = images
        self.shared = shared_layers(images)
        self.colours: dict[str, str] = {}
        for im in images:
            for s in im.layers:
                if s.chain_id not in self.colours:
                    self.colours[s.chain_id] = PALETTE[len(self.colours) % len(PALETTE)]

    def _others(self, n: int, chain: str) -> list[str]:
        return [self.images[i].ref for i in self.shared.get(chain, []) if i != n]

    # ---- text ----
    def text(self) -> str:
        lines = []
        for n, im in enumerate(self.images):
            lines.append(f"镜像 {im.ref}：{human_size(im.size)}，{len(im.layers)} 层，{len(im.steps)} 步"
                         "（从上往下是从新到旧，和 docker history 一样）")
            for s in reversed(im.steps):
                if s.empty:
                    lines.append(f"        ·  {'0B':>7}  {s.short}  （只改配置，没有层）")
                    continue
                note = ""
                others = self._others(n, s.chain_id)
                if others:
                    note = f"  （{SHARED_MARK}：{'、'.join(others)} 也有这一层）"
                lines.append(f"  第 {s.number} 层  {human_size(s.size):>7}  {s.short}{note}")
        if len(self.images) > 1:
            count = len(self.shared)
            lines.append(f"共享的层：{count} 层" if count else "这几个镜像没有共享的层。")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.text()

    def _repr_pretty_(self, p, cycle) -> None:
        p.text(self.text())

    # ---- html ----
    def _summary_bar(self, n: int, im: ImageLayers, biggest: int) -> str:
        parts = []
        for s in im.layers:
            pct = 100.0 * s.size / biggest if biggest else 0
            shared = bool(self._others(n, s.chain_id))
            label = str(s.number) if pct >= 3 else ""
            outline = ";outline:2px solid #111;outline-offset:-2px" if shared else ""
            title = html.escape(f"第 {s.number} 层 {human_size(s.size)}: {s.instruction}", quote=True)
            cls = "dockerlearn-layer-seg dockerlearn-shared" if shared else "dockerlearn-layer-seg"
            parts.append(f"<div class='{cls}' title='{title}' "
                         f"style='width:{max(pct, 0.4):.2f}%;background:{self.colours[s.chain_id]};height:100%;"
                         "box-sizing:border-box;border-right:1px solid #fff;color:#fff;font-size:11px;"
                         "text-align:center;overflow:hidden;line-height:22px"
                         f"{outline}'>{label}</div>")
        return ("<div class='dockerlearn-layer-bar' style='display:flex;height:22px;background:#f6f8fa;"
                f"border:1px solid #d0d7de;border-radius:3px;overflow:hidden'>{''.join(parts)}</div>")

    def _rows(self, n: int, im: ImageLayers, largest_layer: int) -> str:
        rows = []
        for s in reversed(im.steps):
            text = html.escape(s.short)
            full = html.escape(s.instruction, quote=True)
            if s.empty:
                rows.append("<div class='dockerlearn-layer-empty' style='display:flex;gap:8px;align-items:center;"
                            "color:#8c959f;font-size:11px;line-height:14px;border-top:1px dashed #d0d7de'>"
                            "<span style='flex:0 0 150px'></span><span style='flex:0 0 64px;text-align:right'>0B</span>"
                            f"<code title='{full}' style='background:none;color:#8c959f'>{text}</code>"
                            "<span>只改配置，没有层</span></div>")
                continue
            pct = 100.0 * s.size / largest_layer if largest_layer else 0
            others = self._others(n, s.chain_id)
            badge = (f"<br><span class='dockerlearn-shared-badge' style='background:#111;color:#fff;border-radius:3px;"
                     f"padding:0 4px;font-size:11px'>{SHARED_MARK}：{html.escape('、'.join(others))}</span>"
                     if others else "")
            rows.append("<div class='dockerlearn-layer-row' style='display:flex;gap:8px;align-items:center;"
                        "padding:2px 0;border-top:1px solid #d0d7de'>"
                        f"<span style='flex:0 0 52px;color:#57606a'>第 {s.number} 层</span>"
                        "<span style='flex:0 0 90px;height:14px;background:#f6f8fa'>"
                        f"<span style='display:block;height:100%;width:{max(pct, 1.0):.2f}%;"
                        f"background:{self.colours[s.chain_id]}'></span></span>"
                        f"<span class='dockerlearn-layer-size' style='flex:0 0 64px;text-align:right'>{human_size(s.size)}</span>"
                        f"<span style='flex:1 1 0;min-width:0'><code title='{full}' style='overflow-wrap:anywhere'>"
                        f"{text}</code>{badge}</span></div>")
        return "".join(rows)

    def _repr_html_(self) -> str:
        biggest = max((im.size for im in self.images), default=0) or 1
        largest_layer = max((s.size for im in self.images for s in im.layers), default=0) or 1
        cards = []
        for n, im in enumerate(self.images):
            cards.append("<div class='dockerlearn-layer-image' style='flex:1 1 360px;min-width:320px'>"
                         f"<div style='margin-bottom:4px'><b>{html.escape(im.ref)}</b> "
                         f"<span style='color:#57606a'>{human_size(im.size)}，{len(im.layers)} 层，"
                         f"{len(im.steps)} 步</span></div>"
                         f"{self._summary_bar(n, im, biggest)}"
                         "<div style='font-size:11px;color:#57606a;margin:6px 0 2px'>"
                         "从上往下是从新到旧（和 docker history 一样）；条的长度是层的大小：</div>"
                         f"{self._rows(n, im, largest_layer)}</div>")
        foot = ""
        if len(self.images) > 1:
            foot = ("<div style='margin-top:6px;color:#57606a'>"
                    + (f"黑框、颜色和编号相同的是共享的层（{len(self.shared)} 层）：守护进程只存一份。"
                       if self.shared else "这几个镜像没有共享的层。") + "</div>")
        return ("<div class='dockerlearn-layers' style='font-size:13px;font-family:var(--jp-ui-font-family, sans-serif)'>"
                f"<div style='display:flex;flex-wrap:wrap;gap:16px'>{''.join(cards)}</div>{foot}</div>")


def _view(images, sandbox) -> LayerView:
    from . import magics
    from ..errors import DockerlearnError
    if not images:
        raise DockerlearnError("没有给出镜像", term="no image",
                               hint='写出一个或几个镜像，例如 show_layers("debian:bookworm", "debian:bookworm-slim")。')
    sb = sandbox or magics.sandbox()
    return LayerView(compare(sb.client().api, list(images)))


def _sandbox_name(sandbox) -> str:
    from . import magics
    return sandbox.name if sandbox is not None else (magics._sandbox.name if magics._sandbox else "default")


def layers_html(images: list[str], sandbox=None) -> str:
    """The picture as HTML for the check panel; a known failure as its Chinese message."""
    try:
        return _view(images, sandbox)._repr_html_()
    except Exception as e:
        error = as_error(e, _sandbox_name(sandbox))
        if error is None:
            raise
        lines = "<br>".join(html.escape(l) for l in error.render().splitlines())
        return f"<div class='dockerlearn-layers-error' style='color:#cf222e'>{lines}</div>"


def show_layers(*images: str, sandbox=None):
    """Draw the layers of one or more local images (`show_layers("busybox:latest", "test:0.1")`).

    Bad input or a missing image prints a Chinese message and returns None, no traceback."""
    try:
        return _view(images, sandbox)
    except Exception as e:
        error = as_error(e, _sandbox_name(sandbox))
        if error is None:
            raise
        print(error.render(), file=sys.stderr)
        return None
