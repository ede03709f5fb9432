"""Checks for lesson 12: 创建镜像（一）：从容器提交 commit."""

import json

from dockerlearn.checks import exercise_check

AUTHOR = "Student <student@example.com>"


def _greeting(c, ref):
    text = c.image_text(ref, "/greeting.txt")
    if text is None:
        c.fail(f"{ref} 里没有 /greeting.txt：先在容器 notepad 里创建这个文件，再提交。")
    if text != "hello docker":
        c.fail(f"{ref} 里的 /greeting.txt 内容是 {text!r}，应该是 'hello docker'。")


def _from_notepad(c, ref, img):
    """Fail unless the image was committed from the container notepad (not built, not another container)."""
    source = c.committed_from(img)
    notepad = c.container("notepad")
    other = c.container(source) if source else None
    if other is not None:  # a build's step containers are gone; a committed container usually is not
        if notepad is not None and other["Id"] == notepad["Id"]:
            return
        name = (other.get("Names") or ["?"])[0].lstrip("/")
        c.fail(f"{ref} 是从容器 {name}（{other.get('Image')}）提交的，不是从容器 notepad 提交的："
               f"docker commit 的第一个参数写容器的名字 notepad。")
    steps = [h.get("CreatedBy") or "" for h in c.history(ref)]
    if steps and ("#(nop)" in steps[0] or steps[0].startswith(("/bin/sh -c", "|"))):
        c.fail(f"{ref} 最新的一层是 Dockerfile 的指令（{steps[0][:60]}）：它是用 docker build 构建的，"
               "不是从容器 notepad 提交的。这道题要用 docker commit notepad ...。")
    if source and notepad is not None and source != notepad["Id"]:
        c.fail(f"{ref} 是从另一个容器（ID {source[:12]}，现在已经删除）提交的，不是从正在运行的容器 notepad 提交的："
               "docker commit 的第一个参数写容器的名字 notepad。")


@exercise_check("commit.add-file")
def add_file(c):
    img = c.image("notepad:1.0")
    _from_notepad(c, "notepad:1.0", img)
    _greeting(c, "notepad:1.0")
    author = img.get("Author") or ""
    if author != AUTHOR:
        if not author:
            c.fail(f"notepad:1.0 没有作者信息：提交时用 -a \"{AUTHOR}\" 指定。")
        c.fail(f"notepad:1.0 的作者是 {author!r}，应该是 {AUTHOR!r}。")
    comment = img.get("Comment") or ""
    if comment != "add greeting":
        if not comment:
            c.fail("notepad:1.0 没有提交说明：提交时用 -m \"add greeting\" 指定。")
        c.fail(f"notepad:1.0 的提交说明是 {comment!r}，应该是 'add greeting'。")
    return f"notepad:1.0 里有 /greeting.txt，作者是 {AUTHOR}，提交说明是 add greeting。"


CMD_OK = (["cat", "/greeting.txt"], ["/bin/sh", "-c", "cat /greeting.txt"])


@exercise_check("commit.change-cmd")
def change_cmd(c):
    img = c.image("notepad:2.0")
    _from_notepad(c, "notepad:2.0", img)
    config = c.config(img)
    cmd = config.get("Cmd")
    if cmd not in CMD_OK:
        c.fail(f"notepad:2.0 的默认命令是 {json.dumps(cmd)}，应该是 [\"cat\", \"/greeting.txt\"]。"
               "提交时用 -c 'CMD [\"cat\", \"/greeting.txt\"]' 修改它。")
    env = config.get("Env") or []
    if "GREETING_LANG=en" not in env:
        c.fail("notepad:2.0 里没有环境变量 GREETING_LANG=en：再加一个 -c 'ENV GREETING_LANG=en'。")
    _greeting(c, "notepad:2.0")
    return "notepad:2.0 的默认命令是 cat /greeting.txt，环境变量 GREETING_LANG=en 也设置好了。"
