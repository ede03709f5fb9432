"""Reading what a docker CLI prints for `--help` and `--version`: what test_options_tables compares
the option tables in lessons/options/ with. Only the tests read the real CLI's help."""
from __future__ import annotations

import os
import re
import subprocess
import tempfile
from typing import NamedTuple, Optional, Sequence


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
