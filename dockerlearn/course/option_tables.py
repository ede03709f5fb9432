"""Options tables of docker commands: load them and render them for a lesson.

Each table lives in lessons/options/<slug>.json (JSON rather than YAML so that no
dependency is needed). `help` is the CLI's English text with its line wrapping
undone, exactly as the sandbox's own CLI (Debian's docker.io 20.10) prints it; `help_new` keeps
the newer CLI's wording where it differs. `versions` says which CLI lists the option ("all",
"28.x only", "20.10 only"): newer Docker is taught as knowledge, the sandbox's CLI is what runs.
tests/test_options_tables.py keeps the tables honest against the sandbox's CLI always, and
against a newer CLI when one is installed (tests/cli_help.py reads the real CLI's --help).
"""
from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from typing import Optional

from ..paths import course_dir

OPTIONS_DIR = course_dir(required=False) / "lessons" / "options"
VERSIONS = ("all", "28.x only", "20.10 only")
VERSION_NOTES = {"28.x only": "（仅 Docker 28.x 客户端）", "20.10 only": "（仅 Docker 20.10 客户端）"}


@dataclass(frozen=True)
class Option:
    flags: str  # "-a, --all-tags" or "--platform", as the CLI prints them
    type: str  # value type ("string", "list", ...), "" for a boolean
    help: str
    zh: str
    versions: str = "all"
    help_new: str = ""  # the 28.x CLI's text, where it differs from the sandbox's 20.10 one

    @property
    def long(self) -> str:
        return self.flags.split(", ")[-1]

    @property
    def short(self) -> Optional[str]:
        parts = self.flags.split(", ")
        return parts[0] if len(parts) == 2 else None

    def in_version(self, version: str) -> bool:
        """Should the CLI of `version` ("28.x" or "20.10") list this option?"""
        return self.versions in ("all", f"{version} only")

    def help_in(self, version: str) -> str:
        """The English help line as the CLI of `version` prints it."""
        if version == "20.10" or not self.help_new:
            return self.help
        return self.help_new


@dataclass(frozen=True)
class OptionsTable:
    command: str
    aliases: list[str]
    usage: str
    options: list[Option]
    usage_new: str = ""

    @property
    def spellings(self) -> list[str]:
        return [self.command, *self.aliases]


def all_slugs() -> list[str]:
    return sorted(p.stem for p in OPTIONS_DIR.glob("*.json"))


def load(slug: str) -> OptionsTable:
    path = OPTIONS_DIR / f"{slug}.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    options = [Option(**o) for o in data["options"]]
    for o in options:
        # Fail at load time, not silently in a rendered lesson.
        if o.versions not in VERSIONS:
            raise ValueError(f"{path}: {o.flags}: versions must be one of {VERSIONS}, not {o.versions!r}")
    return OptionsTable(data["command"], list(data.get("aliases", [])), data["usage"], options,
                        data.get("usage_new", ""))


# --- Markdown --------------------------------------------------------------------------

_CODE_SPAN = re.compile(r"(`[^`]*`)")


def _cell(text: str) -> str:
    # Jupyter drops unknown HTML tags, so "<timestamp>" is escaped, but not inside `code`
    # where entities are shown literally; a bare "|" would split the cell anywhere.
    parts = _CODE_SPAN.split(" ".join(text.split()))  # odd indexes are code spans
    text = "".join(p if i % 2 else html.escape(p, quote=False) for i, p in enumerate(parts))
    return text.replace("|", "\\|")


def render_markdown(table: OptionsTable) -> str:
    """A Chinese lesson fragment: usage, aliases, and the options table."""
    out = ["**用法**", "", "```", table.usage, "```", ""]
    if table.aliases:
        out += ["别名：" + "、".join(f"`{a}`" for a in table.aliases), ""]
    if not table.options:
        out.append("这个命令没有选项（`--help` 除外）。")
        return "\n".join(out) + "\n"
    out += ["| 选项 | 说明 (English) | 中文解释 |", "| --- | --- | --- |"]
    for o in table.options:
        flag = f"{o.flags} {o.type}" if o.type else o.flags
        # GFM splits rows on "|" before parsing code spans, so "\|" is right even inside backticks.
        flag = "`" + flag.replace("|", "\\|") + "`"
        zh = o.zh + VERSION_NOTES.get(o.versions, "")
        english = _cell(o.help)
        if o.help_new:
            english += "<br>Docker 28：" + _cell(o.help_new)
        out.append(f"| {flag} | {english} | {_cell(zh)} |")
    return "\n".join(out) + "\n"
