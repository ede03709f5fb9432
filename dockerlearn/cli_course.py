"""Course commands of `dockerlearn`: check, exercises, progress, build."""
from __future__ import annotations

import sys


def cmd_check(args) -> int:
    from .checks import run_check
    from .sandbox import Sandbox
    verdict = run_check(args.exercise_id, Sandbox(args.name, quiet=True))
    print(verdict)
    return 0 if verdict.ok else 1


def cmd_exercises(args) -> int:
    from .checks import exercises
    for ex in exercises().values():
        prompt = " ".join(ex.prompt.split())
        print(f"{ex.id:28s} {ex.title}\n{'':28s} {prompt}")
    return 0


def cmd_progress(args) -> int:
    from .checks import exercises
    from .errors import DockerlearnError
    from .paths import check_name, progress_dir
    from .progress_db import ProgressDB
    check_name(args.name)  # never a path outside the home (../../x)
    db = ProgressDB.for_sandbox(args.name)
    if not db.path.exists():
        known = sorted(p.stem for p in progress_dir().glob("*.sqlite")) if progress_dir().is_dir() else []
        raise DockerlearnError(f"还没有学习者 {args.name} 的进度记录", term="no progress recorded",
                               hint=("已有记录的学习者：" + "、".join(known)) if known
                               else "做完一个练习并点击 检查 之后，才会有进度记录。")
    ids = list(exercises())
    if args.format in ("csv", "json"):
        out = db.export(args.format, ids)
    else:
        rows = db.rows(ids)
        lines = [f"学习者 (learner)：{args.name}", f"{'练习 exercise':30s} {'状态':6s} {'尝试':>4s}  首次通过 first pass"]
        for r in rows:
            state = "✅" if r.passed else ("❌" if r.tries else "·")
            lines.append(f"{r.exercise_id:30s} {state:6s} {r.tries:4d}  {r.first_pass or ''}")
        done = sum(r.passed for r in rows)
        out = "\n".join(lines) + f"\n\n共完成 {done}/{len(rows)} 个练习。"
    if not args.output:
        print(out)
        return 0
    try:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(out if out.endswith("\n") else out + "\n")
    except OSError as e:
        reason = {IsADirectoryError: "这是一个目录", FileNotFoundError: "所在的目录不存在",
                  PermissionError: "没有写入权限"}.get(type(e), e.strerror or str(e))
        raise DockerlearnError(f"无法写入 {args.output}：{reason}", term="cannot write output file",
                               hint="换一个文件名，或者先创建它所在的目录。") from None
    print(f"已导出到 {args.output}", file=sys.stderr)
    return 0


def cmd_build(args) -> int:
    from .build import build
    from .sandbox import Sandbox
    name = args.name if args.name != "default" else "build"  # build resets its sandbox: never the learner's
    build(Sandbox(name, quiet=True), args.lesson or None, run=not args.no_run)
    return 0


def cmd_bundle(args) -> int:
    from . import bundle
    from pathlib import Path
    course = Path(args.course_dir) if args.course_dir else None
    if args.action == "export":
        bundle.export(args.file, course=course)
    else:
        bundle.import_(args.file, course=course)
    return 0


def register(add) -> None:
    p = add("check", cmd_check, "检查一个练习，输出结论；通过时退出码为 0")
    p.add_argument("exercise_id", help="练习编号，如 tag.add-tag（dockerlearn exercises 可列出全部）")
    add("exercises", cmd_exercises, "列出所有练习的编号和题目")
    p = add("progress", cmd_progress, "显示学习进度，或导出为 CSV/JSON 给老师")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table", help="输出格式")
    p.add_argument("-o", "--output", help="导出到文件")
    p = add("build", cmd_build, "把 lessons/ 生成为 notebooks/，并在沙箱里执行（默认用名为 build 的沙箱）")
    p.add_argument("--lesson", action="append", help="只生成这一课（slug 或 id，可重复）")
    p.add_argument("--no-run", action="store_true", help="只生成单元格，不执行（仅用于调试，测试会要求有输出）")
    p = add("bundle", cmd_bundle, "离线教室包：export 导出种子镜像缓存和课程，import 校验 sha256 后导入")
    p.add_argument("action", choices=["export", "import"], help="export（在准备好的机器上）或 import（在教室的机器上）")
    p.add_argument("file", help="离线包文件，例如 dockerlearn-classroom.tar")
    p.add_argument("--course-dir", help="课程（lessons/、notebooks/）所在的目录，默认是这份 dockerlearn 仓库")
