"""Checks for lesson 13: 创建镜像（二）：从模板导入 import."""

import json

from dockerlearn.checks import exercise_check

CMD_OK = (["cat", "/etc/motd"], ["/bin/sh", "-c", "cat /etc/motd"])


@exercise_check("import.rootfs")
def rootfs(c):
    img = c.image("mini:1.0")
    layers = c.layers(img)
    history = c.history("mini:1.0")
    if len(layers) != 1 or len(history) != 1:
        c.fail(f"mini:1.0 有 {len(history)} 条历史、{len(layers)} 层，不像是导入的镜像："
               "docker import 得到的镜像只有一层、一条历史。")
    if c.image_text("mini:1.0", "/etc/motd") != "made by docker import":
        c.fail("mini:1.0 里的 /etc/motd 不是练习准备的那个文件：请导入 import-lab/exercise/rootfs.tar。")
    cmd = c.config(img).get("Cmd")
    if cmd not in CMD_OK:
        if not cmd:
            c.fail("mini:1.0 没有默认命令，docker run 会报 No command specified："
                   "导入时加 -c 'CMD [\"cat\", \"/etc/motd\"]'。")
        c.fail(f"mini:1.0 的默认命令是 {json.dumps(cmd)}，应该是 [\"cat\", \"/etc/motd\"]。")
    comment = img.get("Comment") or ""
    if comment != "imported from rootfs.tar":
        c.fail(f"mini:1.0 的说明是 {comment!r}，应该是 'imported from rootfs.tar'：导入时用 -m 指定。")
    return "mini:1.0 是从 rootfs.tar 导入的，默认命令 cat /etc/motd，说明也写好了。"
