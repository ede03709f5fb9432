"""The teacher's dashboard: a JupyterHub service, behind the hub's OAuth.

Run by the hub (`python -m dockerlearn.classroom.dashboard CLASS_JSON`). Only users whose token
carries access:services!service=dashboard get in: the hub grants it to the teachers group alone.
Pages: the class table (refreshing itself), grades.csv, and each student's CSV/JSON.
"""
from __future__ import annotations

import html
import json
import os
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

from tornado import ioloop, web

from jupyterhub.services.auth import HubOAuthCallbackHandler, HubOAuthenticated
from jupyterhub.utils import url_path_join

from .grades import ClassTable, class_table, idle_minutes, load_class, student_export

REFRESH_SECONDS = 3
IDLE_AFTER_MINUTES = 15

STYLE = """
body { font-family: "WenQuanYi Micro Hei", "Noto Sans CJK SC", sans-serif; margin: 1.5em; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 3px 6px; text-align: center; white-space: nowrap; }
th.lesson { background: #eef; } td.name { text-align: left; }
td.pass { background: #dfd; } td.fail { background: #fdd; } td.idle { color: #a00; }
small { color: #555; }
"""


def hub_activity() -> dict[str, str]:
    """user → last activity the hub saw (ISO time), read with the service's own token."""
    api, token = os.environ.get("JUPYTERHUB_API_URL"), os.environ.get("JUPYTERHUB_API_TOKEN")
    if not api or not token:
        return {}
    req = urllib.request.Request(url_path_join(api, "users"), headers={"Authorization": f"token {token}"})
    try:
        with urllib.request.urlopen(req, timeout=2) as resp:
            users = json.loads(resp.read())
    except (OSError, ValueError):
        return {}
    if isinstance(users, dict):  # paginated answer
        users = users.get("items", [])
    return {u["name"]: u.get("last_activity") or "" for u in users}


def render(table: ClassTable, activity: dict[str, str], prefix: str) -> str:
    esc = html.escape
    head1 = ['<th rowspan="2">学生 student</th><th rowspan="2">完成 passed</th><th rowspan="2">最后一次检查 last check</th>']
    head2 = []
    for lesson, title, ids in table.lessons:
        head1.append(f'<th class="lesson" colspan="{len(ids) + 1}">{esc(lesson)} {esc(title)}</th>')
        head2.append('<th title="本课完成 lesson completion">本课</th>')
        head2 += [f'<th title="{esc(ex)}">{esc(ex.split(".", 1)[-1])}</th>' for ex in ids]
    rows = []
    now = time.time()
    for p in table.students:
        sid = esc(p.student.id)
        name = esc(f"{p.student.last_name}{p.student.first_name}".strip())
        links = (f'<a href="{prefix}students/{sid}.csv">csv</a> '
                 f'<a href="{prefix}students/{sid}.json">json</a>')
        idle = idle_minutes(p, now)
        idle_text = "还没有检查过" if idle is None else f"{idle} 分钟前"
        idle_cls = "idle" if idle is None or idle >= IDLE_AFTER_MINUTES else ""
        if activity.get(p.student.id):
            idle_text += f"<br><small>hub: {esc(activity[p.student.id][:19].replace('T', ' '))}</small>"
        cells = [f'<td class="name">{sid} {name}<br><small>{links}</small></td>',
                 f'<td>{p.passed}/{len(table.exercise_ids)}</td>', f'<td class="{idle_cls}">{idle_text}</td>']
        if p.error:
            cells.append(f'<td colspan="{len(head2)}">{esc(p.error)}</td>')
        else:
            by_id = {r.exercise_id: r for r in p.rows}
            done = table.lesson_completion(p)
            for lesson, _, ids in table.lessons:
                n, total = done[lesson]
                cells.append(f"<td>{n}/{total}</td>")
                for ex in ids:
                    r = by_id.get(ex)
                    if r is None or not r.tries:
                        cells.append("<td>·</td>")
                    elif r.passed:
                        cells.append(f'<td class="pass" title="首次通过 first pass {esc(r.first_pass or "")}">✅ {r.tries}'
                                     f'<br><small>{esc((r.first_pass or "")[11:16])}</small></td>')
                    else:
                        cells.append(f'<td class="fail" title="尝试 tries">❌ {r.tries}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    summary = ["<tr><th>学生 student</th><th>完成 passed</th>"
               + "".join(f'<th title="{esc(title)}">{esc(lesson[:2])}</th>' for lesson, title, _ in table.lessons)
               + "</tr>"]
    for p in table.students:
        done = table.lesson_completion(p) if not p.error else {}
        cells = "".join(
            f'<td class="{"pass" if done.get(lesson, (0, 1))[0] == len(ids) else ""}">'
            f'{done.get(lesson, (0, len(ids)))[0]}/{len(ids)}</td>' for lesson, _, ids in table.lessons)
        summary.append(f'<tr><td class="name">{esc(p.student.id)}</td><td>{p.passed}/{len(table.exercise_ids)}</td>'
                       f"{cells}</tr>")
    return f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="{REFRESH_SECONDS}"><title>dockerlearn 班级进度</title><style>{STYLE}</style></head>
<body><h1>班级进度 (class progress)</h1>
<p>共 {len(table.students)} 名学生，{len(table.exercise_ids)} 个练习。每 {REFRESH_SECONDS} 秒刷新。
单元格：✅ 通过（尝试次数，首次通过的时间）、❌ 尝试过还没通过、· 还没有尝试。
<a href="{prefix}grades.csv">下载 grades.csv</a></p>
<h2>每课完成情况 (lessons)</h2>
<table id="summary">{''.join(summary)}</table>
<h2>每个练习 (exercises)</h2>
<table id="class"><tr>{''.join(head1)}</tr><tr>{''.join(head2)}</tr>{''.join(rows)}</table></body></html>"""


class Base(HubOAuthenticated, web.RequestHandler):
    def initialize(self, class_file: Path):
        self.class_file = class_file

    def table(self) -> ClassTable:
        students, _ = load_class(self.class_file)
        return class_table(students)


class ClassPage(Base):
    @web.authenticated
    def get(self):
        prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/")
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.write(render(self.table(), hub_activity(), prefix))


class GradesCsv(Base):
    @web.authenticated
    def get(self):
        self.set_header("Content-Type", "text/csv; charset=utf-8")
        self.set_header("Content-Disposition", 'attachment; filename="grades.csv"')
        self.write(self.table().grades_csv())


class StudentExport(Base):
    @web.authenticated
    def get(self, student_id: str, fmt: str):
        progress = self.table().student(student_id)
        if progress is None:
            raise web.HTTPError(404, f"没有学生 {student_id} (no such student)")
        self.set_header("Content-Type", "application/json; charset=utf-8" if fmt == "json" else "text/csv; charset=utf-8")
        self.write(student_export(progress, fmt))


def make_app(class_file: Path) -> web.Application:
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/")
    kw = {"class_file": class_file}
    return web.Application([
        (prefix, ClassPage, kw),
        (url_path_join(prefix, "grades.csv"), GradesCsv, kw),
        (url_path_join(prefix, r"students/([a-z_][a-z0-9_-]*)\.(csv|json)"), StudentExport, kw),
        (url_path_join(prefix, "oauth_callback"), HubOAuthCallbackHandler),
    ], cookie_secret=os.urandom(32))


def main(argv=None) -> int:
    argv = argv if argv is not None else sys.argv[1:]
    url = urlparse(os.environ["JUPYTERHUB_SERVICE_URL"])
    make_app(Path(argv[0])).listen(url.port, url.hostname)
    ioloop.IOLoop.current().start()
    return 0


if __name__ == "__main__":
    sys.exit(main())
