"""Checks for lesson 08: history 查看镜像历史."""

from dockerlearn.checks import exercise_check


@exercise_check("history.read-full-command")
def read_full_command(c):
    code = None
    for entry in c.history("release:1"):
        text = entry.get("CreatedBy") or ""
        if "RELEASE_CODE=" in text:
            code = text.split("RELEASE_CODE=", 1)[1].split()[0].strip("\"'")
    c.expect(code, "release:1 的历史里没有 RELEASE_CODE：重新运行练习前面那个构建镜像的单元格")
    target = f"release:{code}"
    if c.find_image(target) is None:
        others = sorted(t for t in c.tags_of("release:1") if t != "release:1")
        if others:
            c.fail(f"release:1 现在的标签有 {', '.join(others)}，但标签应该是 RELEASE_CODE 的值；"
                   "默认输出把命令截断了，试试 --no-trunc")
        c.fail("release:1 还没有新的标签；用 docker history --no-trunc release:1 找到 RELEASE_CODE")
    c.same_image(target, "release:1")
    return f"{target} 和 release:1 是同一个镜像：完整的命令里写着 RELEASE_CODE={code}。"


@exercise_check("history.tag-intermediate")
def tag_intermediate(c):
    wanted = None
    for entry in c.history("steps:1"):
        if "stage-two" in (entry.get("CreatedBy") or ""):
            wanted = entry.get("Id")
    c.expect(wanted and wanted != "<missing>",
             "steps:1 的历史里找不到 stage-two 那一步的镜像：重新运行练习前面那个构建镜像的单元格")
    tagged = c.image("steps:two")
    if tagged["Id"] == c.image("steps:1")["Id"]:
        c.fail("steps:two 指向的是 steps:1 本身（最后一步 CMD 的结果），不是 echo stage-two 那一步")
    if tagged["Id"] != wanted:
        created_by = ""
        for entry in c.history("steps:1"):
            if entry.get("Id") == tagged["Id"]:
                created_by = entry.get("CreatedBy") or ""
        what = f"“{created_by.replace('/bin/sh -c ', '').strip()}”那一步" if created_by else "另一个镜像"
        c.fail(f"steps:two 指向的是{what}，不是 echo stage-two 那一步")
    return "steps:two 就是执行 echo stage-two 那一步留下的中间层镜像。"
