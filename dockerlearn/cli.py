"""The `dockerlearn` command. Errors print as Chinese messages, never as tracebacks."""
from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

from .errors import DockerlearnError, SandboxDown, as_error


def _sandbox(args, **kw):
    from .sandbox.lifecycle import Sandbox
    return Sandbox(args.name, **kw)


def cmd_up(args) -> int:
    sb = _sandbox(args, bridge=args.bridge, debian=not args.no_debian, quiet=args.quiet)
    sb.up()
    if not args.quiet:
        print(sb.status().render())
        print(f'\n在 shell 里使用沙箱：eval "$(dockerlearn env{_name_flag(args)})"')
    return 0


def cmd_down(args) -> int:
    _sandbox(args).down()
    print(f"沙箱 {args.name} 已停止，镜像和数据都保留着。再次启动：dockerlearn up{_name_flag(args)}")
    return 0


def cmd_status(args) -> int:
    st = _sandbox(args).status()
    print(st.render())
    return 0 if st.running else 1


def cmd_env(args) -> int:
    sb = _sandbox(args)
    if not sb.paths.state_file.exists():
        raise DockerlearnError(f"沙箱 {args.name} 还不存在", term="no such sandbox",
                               hint=f"先运行 dockerlearn up{_name_flag(args)} 创建并启动它。")
    if not sb.status().running:
        print("# " + SandboxDown(args.name).render().replace("\n", "\n# "), file=sys.stderr)
    for var in sb.UNPINNED:
        print(f"unset {var}")
    for key, value in sb.env().items():
        print(f"export {key}={shlex.quote(value)}")
    # The sandbox's own docker CLI (and dockerlearn) first, whatever else is installed.
    print(f'export PATH={shlex.quote(str(sb.ensure_bin()))}:"$PATH"')
    return 0


def cmd_reset(args) -> int:
    import time
    t0 = time.monotonic()
    _sandbox(args).reset()
    print(f"沙箱 {args.name} 已恢复到刚播种的状态（{time.monotonic() - t0:.1f} 秒）：没有容器和本地镜像，镜像仓库里只有种子镜像。学习进度和工作目录里的文件都保留着。")
    return 0


def cmd_destroy(args) -> int:
    from .paths import progress_dir
    _sandbox(args).destroy()
    print(f"沙箱 {args.name} 已删除：进程、镜像、镜像仓库数据，以及沙箱目录里的 notebook 副本和工作目录。"
          f"学习进度保留在 {progress_dir()}。")
    return 0


def cmd_beside(args) -> int:
    """Run a program where the sandbox's daemon is: rootless, the daemon has a network of its
    own, and a server on the host's 127.0.0.1 is out of its reach."""
    from .errors import SandboxDown
    sb = _sandbox(args)
    argv = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
    if not argv:
        raise DockerlearnError("缺少要运行的命令", term="missing command",
                               hint="用法：dockerlearn beside [--publish 端口] -- 命令 参数…")
    if not sb.status().running:
        raise SandboxDown(args.name)
    argv = sb.beside(argv, publish=args.publish)
    os.execvpe(argv[0], argv, sb.full_env())


def cmd_classroom(args) -> int:
    from .classroom import provision
    config = provision.setup(args.roster, args.teacher, Path(args.dir), args.port, args.remove_missing)
    if args.setup_only:
        print(f"账户和配置已就绪；启动：sudo dockerlearn classroom {args.roster} "
              + " ".join(f"--teacher {t}" for t in args.teacher))
        return 0
    provision.start(config, args.port)
    return 0


def cmd_singleuser(args) -> int:
    from .classroom.singleuser import main as singleuser
    return singleuser(args.argv)


def cmd_prepare(args) -> int:
    """Build the seed images into the cache (the slow, networked part of the first `up`)."""
    from .sandbox import seeds
    images = seeds.all_images(with_debian=not args.no_debian)
    for ref in sorted(seeds.seed_refs(images)):
        print(ref)
    return 0


def cmd_lab(args) -> int:
    from .lab import learner_notebooks, prepare
    sb = _sandbox(args)
    sb.up()
    notebooks = learner_notebooks(sb)
    config, env = prepare(sb, notebooks)
    argv = lab_argv(notebooks, args.port, args.no_browser, config)
    print(f"正在启动 JupyterLab（沙箱 {args.name}）：每个内核和终端里的 docker 都指向沙箱。\n"
          f"你的 notebook 副本在 {notebooks}，从 01-sandbox.ipynb 开始；终端和 work/ 文件夹就是你的工作目录。")
    os.chdir(notebooks)  # a terminal opened "here" resolves relative paths against the notebooks
    os.execvpe(argv[0], argv, env)


def lab_argv(notebooks: Path, port: int, no_browser: bool, config=None) -> list[str]:
    from .lab import lab_argv as argv
    return argv(notebooks, port, no_browser, config)


# ---------------------------------------------------------------- course commands
def cmd_check(args) -> int:
    from .checks import run_check
    from .sandbox.lifecycle import Sandbox
    verdict = run_check(args.exercise_id, Sandbox(args.name, quiet=True))
    print(verdict)
    return 0 if verdict.ok else 1


def cmd_answer(args) -> int:
    from .checks import submit
    from .sandbox.lifecycle import Sandbox
    verdict = submit(Sandbox(args.name, quiet=True), args.exercise_id, " ".join(args.value))
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
    from .learner_progress import ProgressDB
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
    from .course.notebook_builder import build
    from .sandbox.lifecycle import Sandbox
    name = args.name if args.name != "default" else "build"  # build resets its sandbox: never the learner's
    build(Sandbox(name, quiet=True), args.lesson or None, run=not args.no_run, rerun=args.rerun)
    return 0


def cmd_bundle(args) -> int:
    from .classroom import bundle
    from pathlib import Path
    course = Path(args.course_dir) if args.course_dir else None
    if args.action == "export":
        bundle.export(args.file, course=course)
    else:
        bundle.import_(args.file, course=course)
    return 0


def _name_flag(args) -> str:
    return "" if args.name == "default" else f" --name {args.name}"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dockerlearn", description="dockerlearn：在独立沙箱里动手学 Docker 镜像")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name, func, help_text):
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--name", default=os.environ.get("DOCKERLEARN_NAME", "default"),
                       help="沙箱名称（默认 default；教室里每个学生一个）")
        p.set_defaults(func=func)
        return p

    p = add("up", cmd_up, "启动沙箱（已在运行则直接复用）")
    p.add_argument("--bridge", action="store_true", help="为网络演示启用沙箱自己的网桥（默认无容器网络）")
    p.add_argument("--no-debian", action="store_true", help="只播种 busybox，不构建 debian")
    p.add_argument("-q", "--quiet", action="store_true", help="只输出错误")
    add("down", cmd_down, "停止沙箱，保留数据")
    add("status", cmd_status, "显示沙箱状态：进程、地址、种子镜像")
    add("env", cmd_env, '输出环境变量，用法：eval "$(dockerlearn env)"')
    add("reset", cmd_reset, "恢复到刚播种的状态（删除容器和非种子镜像，还原仓库）")
    add("destroy", cmd_destroy, "删除沙箱的一切（学习进度除外）")
    p = add("beside", cmd_beside, "在沙箱守护进程所在的网络里运行一个程序（例如供守护进程拉取的镜像仓库服务）")
    p.add_argument("--publish", type=int, action="append", default=[], metavar="PORT",
                   help="把程序监听的这个端口也开放到本机的 127.0.0.1（可重复）")
    p.add_argument("argv", nargs=argparse.REMAINDER, help="要运行的命令，写在 -- 后面")
    p = add("classroom", cmd_classroom, "（root）从名单 CSV 建立教室：每个学生一个账户和无 root 沙箱，用 JupyterHub 登录，老师有进度面板")
    p.add_argument("roster", help="名单 CSV，列为 id,last_name,first_name,email（nbgrader 的格式）")
    p.add_argument("--teacher", action="append", default=[], metavar="USER", help="老师的用户名（可重复；不存在时自动创建）")
    p.add_argument("--dir", default="/var/lib/dockerlearn/classroom", help="教室目录：账户记录、初始密码、JupyterHub 的数据库")
    p.add_argument("--port", type=int, default=8000, help="JupyterHub 的端口（只监听 127.0.0.1）")
    p.add_argument("--remove-missing", action="store_true", help="删除名单里已经没有的学生账户（连同家目录和沙箱）")
    p.add_argument("--setup-only", action="store_true", help="只建立账户和配置，不启动 JupyterHub")
    p = add("singleuser", cmd_singleuser, "（由教室的 JupyterHub 以学生身份运行）启动学生自己的沙箱，再启动 JupyterLab")
    p.add_argument("argv", nargs=argparse.REMAINDER, help="交给 jupyterhub-singleuser 的参数")
    p = add("prepare", cmd_prepare, "预先构建种子镜像缓存（第一次需要访问 Debian 软件源）")
    p.add_argument("--no-debian", action="store_true", help="只构建 busybox")
    p = add("lab", cmd_lab, "启动沙箱，然后在 notebooks/ 上打开 JupyterLab")
    p.add_argument("--port", type=int, default=8888, help="JupyterLab 端口（只监听 127.0.0.1）")
    p.add_argument("--no-browser", action="store_true", help="不自动打开浏览器")
    p = add("check", cmd_check, "检查一个练习，输出结论；通过时退出码为 0")
    p.add_argument("exercise_id", help="练习编号，如 tag.add-tag（dockerlearn exercises 可列出全部）")
    p = add("answer", cmd_answer, "交回从命令输出里查到的值（摘要、数量、架构……），并立即检查；通过时退出码为 0")
    p.add_argument("exercise_id", help="练习编号，如 inspect.arch")
    p.add_argument("value", nargs="+", help="查到的值，如 amd64")
    add("exercises", cmd_exercises, "列出所有练习的编号和题目")
    p = add("progress", cmd_progress, "显示学习进度，或导出为 CSV/JSON 给老师")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table", help="输出格式")
    p.add_argument("-o", "--output", help="导出到文件")
    p = add("build", cmd_build, "把 lessons/ 生成为 notebooks/，并在沙箱里执行（默认用名为 build 的沙箱）")
    p.add_argument("--lesson", action="append", help="只生成这一课（slug 或 id，可重复）")
    p.add_argument("--no-run", action="store_true", help="只生成单元格，不执行（仅用于调试，测试会要求有输出）")
    p.add_argument("--rerun", action="store_true",
                   help="全部重新执行，即使代码没变（改了沙箱本身以后用）；默认只执行代码变了的课，只改了文字的课保留原有输出")
    p = add("bundle", cmd_bundle, "离线教室包：export 导出种子镜像缓存和课程，import 校验 sha256 后导入")
    p.add_argument("action", choices=["export", "import"], help="export（在准备好的机器上）或 import（在教室的机器上）")
    p.add_argument("file", help="离线包文件，例如 dockerlearn-classroom.tar")
    p.add_argument("--course-dir", help="课程（lessons/、notebooks/）所在的目录，默认是这份 dockerlearn 仓库")
    return parser



def main(argv=None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and getattr(args, "func", None) is cmd_singleuser:
        args.argv = [*args.argv, *extra]  # JupyterHub's own options, for jupyterhub-singleuser
    elif extra:
        parser.error("unrecognized arguments: " + " ".join(extra))
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args) or 0
    except KeyboardInterrupt:
        print("\n已中断 (interrupted)。", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `dockerlearn status | head`: the reader has what it wanted. Python would complain again
        # when it flushes stdout at exit, so stdout goes to /dev/null first.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except (Exception, SystemExit) as e:
        # The one error boundary (errors.as_error): a known failure prints a Chinese message with
        # the English term and exits non-zero; only a real bug shows a traceback.
        error = as_error(e, getattr(args, "name", "default"))
        if error is None:
            raise
        print(error.render(), file=sys.stderr)
        return error.exit_code


if __name__ == "__main__":
    sys.exit(main())
