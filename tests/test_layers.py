"""show_layers: the layers of real images in the sandbox (which step made which layer, which layers
images share), and the picture drawn from them (HTML and its text form)."""
from __future__ import annotations

import re

import pytest

from dockerlearn.notebook.layers import chain_ids, human_size, image_layers, instruction, shared_layers
from dockerlearn.notebook.layerview import LayerView, show_layers

HISTORY_DEMO = """FROM busybox:latest
ENV DATA_DIR=/data
RUN mkdir -p "$DATA_DIR" && dd if=/dev/zero of="$DATA_DIR/blob.bin" bs=1024 count=512 2>/dev/null
RUN echo conf > "$DATA_DIR/app.conf"
RUN rm "$DATA_DIR/blob.bin"
CMD ["ls", "/data"]
"""


def build(sb, tmp_path, tag, dockerfile, *options, buildkit=False):
    ctx = tmp_path / tag.replace(":", "-")
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(dockerfile)
    env = sb.full_env()
    if buildkit:
        env["DOCKER_BUILDKIT"] = "1"
    import subprocess

    from dockerlearn.sandbox.lifecycle import docker_cli
    subprocess.run([docker_cli(), "build", "-q", *options, "-t", tag, str(ctx)], env=env, check=True,
                   capture_output=True, timeout=300)


def steps(im):
    """(number, size, instruction) newest first, as docker history lists them."""
    return [(s.number, s.size, s.instruction) for s in reversed(im.steps)]


# ---- pure functions ----

def test_instruction_reads_every_builder():
    assert instruction("/bin/sh -c #(nop)  ENV DATA_DIR=/data") == "ENV DATA_DIR=/data"
    assert instruction("/bin/sh -c #(nop) COPY file:abc in /x ") == "COPY file:abc in /x"
    assert instruction("/bin/sh -c rm /x") == "RUN rm /x"
    assert instruction("|1 VERSION=2 /bin/sh -c echo $VERSION") == "RUN echo $VERSION"
    assert instruction("RUN /bin/sh -c echo hi > /msg # buildkit") == "RUN echo hi > /msg"
    assert instruction("COPY hello.txt / # buildkit") == "COPY hello.txt /"
    assert instruction("touch /test") == "touch /test"  # a commit: the container's command
    assert instruction("", "Imported from -") == "Imported from -"


def test_copy_hashes_are_cut_to_twelve_digits():
    from dockerlearn.notebook.layers import shorten
    step = instruction("/bin/sh -c #(nop) COPY file:" + "ab12" * 16 + " in /usr/local/bin/hello ")
    assert shorten(step) == "COPY file:" + "ab12" * 3 + "… in /usr/local/bin/hello"
    assert shorten("RUN " + "x" * 100).endswith("…") and len(shorten("RUN " + "x" * 100)) == 60


def test_sizes_as_docker_prints_them():
    assert [human_size(n) for n in (0, 5, 524288, 1982736, 122074854, 1_500_000_000)] == \
        ["0B", "5B", "524kB", "1.98MB", "122MB", "1.5GB"]


def test_chain_ids_follow_the_layers_below():
    a, b = "sha256:" + "a" * 64, "sha256:" + "b" * 64
    assert chain_ids([a])[0] == a
    assert chain_ids([a, b])[1] != chain_ids([b, b])[1]
    assert chain_ids([a, b])[1].startswith("sha256:") and len(chain_ids([a, b])[1]) == 71


# ---- real images ----

def test_a_commit_adds_one_layer_on_the_shared_base(fresh_sandbox):
    sb = fresh_sandbox
    sb.run(["pull", "-q", "busybox:latest"], check=True)
    sb.run(["run", "--name", "newbee", "busybox:latest", "touch", "/test"], check=True)
    sb.run(["commit", "-m", "Added a new file", "newbee", "test:0.1"], check=True)
    api = sb.client().api
    base, committed = image_layers(api, "busybox:latest"), image_layers(api, "test:0.1")
    assert [s.diff_id for s in committed.layers] == api.inspect_image("test:0.1")["RootFS"]["Layers"]
    assert steps(base) == [(0, 0, 'CMD ["sh"]'), (1, base.size, base.steps[0].instruction)]
    assert base.steps[0].instruction.startswith("ADD ")
    # touch on a new empty file: a layer of 0 bytes, still a layer (it was committed).
    assert steps(committed)[0] == (2, 0, "touch /test")
    assert committed.steps[-1].comment == "Added a new file"
    shared = shared_layers([base, committed])
    assert shared == {base.layers[0].chain_id: [0, 1]}
    assert committed.layers[-1].chain_id not in shared


def test_legacy_build_steps_and_layers(fresh_sandbox, tmp_path):
    sb = fresh_sandbox
    sb.run(["pull", "-q", "busybox:latest"], check=True)
    build(sb, tmp_path, "history-demo:1", HISTORY_DEMO)
    api = sb.client().api
    im = image_layers(api, "history-demo:1")
    got = steps(im)
    assert [n for n, _, _ in got] == [0, 4, 3, 2, 0, 0, 1]
    assert got[0] == (0, 0, 'CMD ["ls" "/data"]')
    assert got[1] == (4, 0, 'RUN rm "$DATA_DIR/blob.bin"')  # a whiteout only: 0 B, and a layer
    assert got[3][1] == 524288 and got[3][2].startswith("RUN mkdir -p")
    assert got[4] == (0, 0, "ENV DATA_DIR=/data")
    assert [s.diff_id for s in im.layers] == api.inspect_image("history-demo:1")["RootFS"]["Layers"]
    assert sum(s.size for s in im.steps) == im.size


def test_buildkit_workdir_makes_a_layer_and_env_does_not(fresh_sandbox, tmp_path):
    """No intermediate images here: which 0 B steps made a layer follows from the count."""
    sb = fresh_sandbox
    sb.run(["pull", "-q", "busybox:latest"], check=True)
    build(sb, tmp_path, "bk:1", 'FROM busybox:latest\nWORKDIR /app\nENV A=1\nRUN echo hi > /app/x\n'
          'RUN rm /bin/vi\nCMD ["sh"]\n', "--network", "none", buildkit=True)
    im = image_layers(sb.client().api, "bk:1")
    assert [(n, i) for n, _, i in steps(im)] == [
        (0, 'CMD ["sh"]'), (4, "RUN rm /bin/vi"), (3, "RUN echo hi > /app/x"), (0, "ENV A=1"),
        (2, "WORKDIR /app"), (0, 'CMD ["sh"]'), (1, im.steps[0].instruction)]


def test_debian_variants_share_no_layer(fresh_sandbox):
    sb = fresh_sandbox
    for ref in ("debian:bookworm", "debian:bookworm-slim"):
        sb.run(["pull", "-q", ref], check=True)
    api = sb.client().api
    full, slim = image_layers(api, "debian:bookworm"), image_layers(api, "debian:bookworm-slim")
    assert len(full.layers) == len(slim.layers) == 1
    assert full.layers[0].size == full.size and slim.layers[0].size == slim.size
    assert slim.size < full.size
    assert shared_layers([full, slim]) == {}
    view = LayerView([full, slim])
    assert "这几个镜像没有共享的层。" in view.text() and "这几个镜像没有共享的层。" in view._repr_html_()
    assert "dockerlearn-shared" not in view._repr_html_()


# ---- the picture ----

def test_html_has_every_step_its_size_and_marks_shared_layers(fresh_sandbox, tmp_path):
    import html
    sb = fresh_sandbox
    sb.run(["pull", "-q", "busybox:latest"], check=True)
    build(sb, tmp_path, "history-demo:1", HISTORY_DEMO)
    view = show_layers("busybox:latest", "history-demo:1", sandbox=sb)
    assert isinstance(view, LayerView)
    page, text = view._repr_html_(), repr(view)
    for im in view.images:
        assert html.escape(im.ref) in page and im.ref in text
        for s in im.steps:
            assert html.escape(s.short) in page, s.short
            assert s.short in text
        for s in im.layers:
            assert human_size(s.size) in page and human_size(s.size) in text
    # One bar per image, one segment per layer; the busybox layer is marked shared in both.
    assert page.count("class='dockerlearn-layer-bar'") == 2
    assert page.count("dockerlearn-layer-seg") == 1 + 4
    assert page.count("dockerlearn-layer-seg dockerlearn-shared") == 2
    assert page.count("class='dockerlearn-shared-badge'") == 2
    assert "共享：history-demo:1" in page and "共享：busybox:latest" in page
    colour = view.colours[view.images[0].layers[0].chain_id]
    assert len(re.findall(f"background:{colour}", page)) == 4  # two segments, two row bars
    assert "共享：busybox:latest 也有这一层" in text and "共享的层：1 层" in text
    # Steps without a layer are thin grey lines, said in words.
    assert page.count("dockerlearn-layer-empty") == 1 + 3
    assert text.count("只改配置，没有层") == 1 + 3
    # The 512 KiB written then deleted is still there, as docker history says.
    assert "524kB" in page and 'RUN rm "$DATA_DIR/blob.bin"' in text
    # No script and nothing from the network: it renders offline and in a saved notebook.
    assert "<script" not in page and "http" not in page
    # The text form is what a saved notebook and nbval see.
    assert "text/plain" in _formats(view) and "text/html" in _formats(view)


def _formats(obj):
    from IPython.core.formatters import DisplayFormatter
    data, _ = DisplayFormatter().format(obj)
    return data


def test_bad_input_is_a_chinese_message(fresh_sandbox, capsys):
    assert show_layers("no-such-image:1", sandbox=fresh_sandbox) is None
    err = capsys.readouterr().err
    assert "本地没有镜像 no-such-image:1" in err and "no such image" in err and "Traceback" not in err
    assert show_layers(sandbox=fresh_sandbox) is None
    assert "没有给出镜像" in capsys.readouterr().err
    assert show_layers(42, sandbox=fresh_sandbox) is None
    assert "镜像名字不对" in capsys.readouterr().err
    assert show_layers("Bad Name!", sandbox=fresh_sandbox) is None
    assert "错误：" in capsys.readouterr().err


def test_check_panel_draws_layers(fresh_sandbox, monkeypatch):
    """看看层 (layers) in the check panel: opens with the images the prompt names, draws them,
    and says in Chinese when an image is not there."""
    from dockerlearn.notebook import magics
    from dockerlearn.notebook.widgets import panel
    monkeypatch.setattr(magics, "_sandbox", fresh_sandbox)
    fresh_sandbox.run(["pull", "-q", "busybox:latest"], check=True)
    box = panel("tag.add-tag")
    button = next(b for b in box.children[1].children if b.description == "看看层 (layers)")
    row = box.children[5]
    names, draw = row.children[0].children
    picture = row.children[1]
    assert button.description == "看看层 (layers)" and row.layout.display == "none"
    assert names.value == "busybox:latest mybusybox:v1"
    button.click()  # mybusybox:v1 is not there yet
    assert row.layout.display is None
    assert "本地没有镜像 mybusybox:v1" in picture.value and "Traceback" not in picture.value
    fresh_sandbox.run(["tag", "busybox:latest", "mybusybox:v1"], check=True)
    draw.click()
    assert "dockerlearn-layers" in picture.value and picture.value.count("dockerlearn-layer-image") == 2
    assert picture.value.count("dockerlearn-shared-badge") == 2
    names.value = ""
    draw.click()
    assert "没有给出镜像" in picture.value
    button.click()
    assert row.layout.display == "none"
