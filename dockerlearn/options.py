"""Options tables of docker commands: load them, render them for a lesson, read the real CLI's --help.

Each table lives in lessons/options/<slug>.json (JSON rather than YAML so that no
dependency is needed). `help` is the CLI's English text with its line wrapping
undone, exactly as the sandbox's own CLI (Debian's docker.io 20.10) prints it; `help_new` keeps
the newer CLI's wording where it differs. `versions` says which CLI lists the option ("all",
"28.x only", "20.10 only"): newer Docker is taught as knowledge, the sandbox's CLI is what runs.
tests/test_options_tables.py keeps the tables honest against the sandbox's CLI always, and
against a newer CLI when one is installed.
"""
from __future__ import annotations

import html
import json
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from typing import NamedTuple, Optional, Sequence

from .paths import course_dir

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


# --- reading the real CLI ----------------------------------------------------------------

class CliOption(NamedTuple):
    short: Optional[str]
    type: str
    help: str


# pflag prints "  -a, --all-tags  help" or "      --platform string  help"; continuation
# lines are indented to the help column, so they never look like this.
_FLAG_LINE = re.compile(r"^  (?:(-\w), |    )(--[\w-]+)(?: (\w+))?(?:\s{2,}(.*))?$")
_SECTION = re.compile(r"^(\S[^:]*):\s*$")


def parse_help(text: str) -> dict[str, CliOption]:
    """Map long flag -> (short flag or None, type, help) from `docker X --help` output.

    Wrapped help lines are joined and whitespace collapsed, so the result does not
    depend on the terminal width the CLI wrapped for. `--help` itself is left out.
    """
    found: dict[str, list] = {}
    in_options, current = False, None
    for line in text.splitlines():
        if not line.strip():
            in_options, current = False, None  # a blank line ends a section
            continue
        header = _SECTION.match(line)
        if header:
            in_options, current = header.group(1) in ("Options", "Flags"), None
            continue
        if not in_options:
            continue
        m = _FLAG_LINE.match(line)
        if m:
            short, long, typ, help_ = m.groups()
            current = found[long] = [short, typ or "", [help_ or ""]]
        elif current is not None and line[0].isspace():
            current[2].append(line)
    found.pop("--help", None)
    return {k: CliOption(s, t, " ".join(" ".join(h).split())) for k, (s, t, h) in found.items()}


def parse_usage(text: str) -> Optional[str]:
    m = re.search(r"^Usage:\s+(.+)$", text, re.M)
    return m.group(1).strip() if m else None


def _run_isolated(argv: Sequence[str]) -> subprocess.CompletedProcess:
    """Run a docker CLI so that it neither touches nor depends on the user's setup.

    A throwaway DOCKER_CONFIG keeps ~/.docker untouched; DOCKER_HOST points at a
    socket that does not exist, because a reachable daemon makes the CLI hide
    options it thinks that daemon lacks; other DOCKER_* variables (DOCKER_BUILDKIT,
    DOCKER_CONTEXT...) also change what help shows, so they are dropped.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    with tempfile.TemporaryDirectory(prefix="dockerlearn-help-") as cfg:
        env["DOCKER_CONFIG"] = cfg
        env["DOCKER_HOST"] = f"unix://{cfg}/no-daemon.sock"
        return subprocess.run(list(argv), capture_output=True, text=True, env=env,
                              stdin=subprocess.DEVNULL, timeout=60)


def help_text(argv: Sequence[str], docker: str = "docker") -> str:
    """stdout of `docker *argv --help` (the legacy builder's DEPRECATED banner goes to stderr)."""
    proc = _run_isolated([docker, *argv, "--help"])
    if proc.returncode != 0:
        raise RuntimeError(f"{docker} {' '.join(argv)} --help exited {proc.returncode}: {proc.stderr.strip()}")
    return proc.stdout


def cli_version(docker: str = "docker") -> str:
    """The label `versions` uses: "20.10", or "<major>.x" from 23 on (e.g. "28.x")."""
    out = _run_isolated([docker, "--version"]).stdout
    m = re.search(r"version (\d+)\.(\d+)", out)
    if not m:
        raise RuntimeError(f"cannot read the version of {docker}: {out!r}")
    major, minor = m.groups()
    if major == "20" and minor == "10":
        return "20.10"
    return f"{major}.x" if int(major) >= 23 else f"{major}.{minor}"
