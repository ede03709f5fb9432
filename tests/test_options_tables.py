"""The options tables in lessons/options/ must match what the installed docker CLIs print."""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere, no install needed

from dockerlearn.course.option_tables import (  # noqa: E402
    VERSIONS, Option, OptionsTable, all_slugs, load, render_markdown,
)
from tests.cli_help import cli_version, help_text, parse_help, parse_usage  # noqa: E402

def _sandbox_cli() -> str:
    from dockerlearn.sandbox.engine import cli_path
    from dockerlearn.errors import DockerlearnError
    try:
        return cli_path()
    except DockerlearnError as e:
        return f"(missing: {e.message})"


# The sandbox's own CLI (Debian's docker.io 20.10, paired with its dockerd) is what the course
# runs on: always checked. A newer CLI elsewhere on the machine (28.x in /usr/local/bin on the
# developers' machines) is what the tables teach as knowledge: checked when it is there.
SANDBOX_CLI = _sandbox_cli()
NEWER_CLI = "/usr/local/bin/docker"
CLIS = [SANDBOX_CLI, NEWER_CLI]

EXPECTED_SLUGS = {
    "pull", "images", "inspect", "image-inspect", "history", "search", "tag", "rmi", "image-prune",
    "commit", "import", "build", "save", "load", "push", "login", "logout", "version", "info",
}

_versions: dict[str, str] = {}


def version_of(docker: str) -> str:
    if docker == SANDBOX_CLI and not os.access(docker, os.X_OK):
        pytest.fail(f"the sandbox's docker CLI is not installed {docker}: run bash scripts/setup")
    if not os.access(docker, os.X_OK):
        pytest.skip(f"{docker} is not installed here: the newer-CLI columns are checked only where it is")
    if docker not in _versions:
        _versions[docker] = cli_version(docker)
    label = _versions[docker]
    if docker == SANDBOX_CLI:
        assert label == "20.10", f"the sandbox's CLI {docker} is Docker {label}; the tables are written for 20.10"
    elif label != "28.x":
        pytest.skip(f"{docker} is Docker {label}; the tables describe 28.x as the newer CLI")
    return label


def spelling_cases():
    for slug in all_slugs():
        for spelling in load(slug).spellings:
            for docker, kind in ((SANDBOX_CLI, "sandbox"), (NEWER_CLI, "newer")):
                yield pytest.param(slug, spelling, docker, id=f"{slug}:{spelling[7:]}:{kind}")


# --- the tables against the real CLIs ----------------------------------------------------

def test_every_command_has_a_table():
    assert set(all_slugs()) == EXPECTED_SLUGS


def test_sandbox_cli_is_the_daemons_own():
    """The CLI the course hands out has dockerd's version, even with another docker first on PATH."""
    from dockerlearn.sandbox.engine import dockerd_path, version_of as program_version
    assert os.access(SANDBOX_CLI, os.X_OK), SANDBOX_CLI
    assert program_version(SANDBOX_CLI) == program_version(dockerd_path())


@pytest.mark.parametrize("slug,spelling,docker", list(spelling_cases()))
def test_table_lists_exactly_the_cli_options(slug, spelling, docker):
    version = version_of(docker)
    table = load(slug)
    cli = parse_help(help_text(spelling.split()[1:], docker))
    by_long = {o.long: o for o in table.options}
    problems = []
    for long, seen in sorted(cli.items()):
        opt = by_long.get(long)
        if opt is None:
            problems.append(f"`{spelling}` ({docker}, {version}) lists {long} but lessons/options/{slug}.json lacks it")
        elif not opt.in_version(version):
            problems.append(f"{slug}.json marks {long} as {opt.versions!r}, but {docker} ({version}) lists it")
        elif (opt.short, opt.type) != (seen.short, seen.type):
            problems.append(f"{slug}.json has {opt.flags!r} type {opt.type!r}; {docker} prints "
                            f"short {seen.short!r} type {seen.type!r}")
    for opt in table.options:
        if opt.in_version(version) and opt.long not in cli:
            problems.append(f"{slug}.json lists {opt.long} ({opt.versions}) but `{spelling}` on {docker} "
                            f"({version}) does not")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("slug", sorted(EXPECTED_SLUGS))
@pytest.mark.parametrize("docker", CLIS, ids=["sandbox", "newer"])
def test_help_text_is_verbatim(slug, docker):
    # `help` is the sandbox CLI's text; `help_new` the 28.x text where it differs.
    version = version_of(docker)
    table = load(slug)
    cli = parse_help(help_text(table.command.split()[1:], docker))
    own = [o for o in table.options if o.in_version(version)]
    # An option missing from the CLI is reported by test_table_lists_exactly_the_cli_options.
    wrong = [f"{o.long}: table {o.help_in(version)!r} != CLI {cli[o.long].help!r}"
             for o in own if o.long in cli and cli[o.long].help != o.help_in(version)]
    assert not wrong, f"{slug}.json vs {docker}:\n" + "\n".join(wrong)
    stale = [o.long for o in table.options if o.help_new and o.help_new == o.help]
    assert not stale, f"{slug}.json: help_new repeats help for {stale}"


@pytest.mark.parametrize("slug", sorted(EXPECTED_SLUGS))
@pytest.mark.parametrize("docker", CLIS, ids=["sandbox", "newer"])
def test_usage_is_verbatim(slug, docker):
    version = version_of(docker)
    table = load(slug)
    want = table.usage_new if (version != "20.10" and table.usage_new) else table.usage
    assert want == parse_usage(help_text(table.command.split()[1:], docker))


@pytest.mark.parametrize("slug", sorted(EXPECTED_SLUGS))
def test_table_is_well_formed(slug):
    table = load(slug)
    assert table.command.startswith("docker ") and all(a.startswith("docker ") for a in table.aliases)
    longs = [o.long for o in table.options]
    assert len(longs) == len(set(longs)), f"duplicate options in {slug}.json"
    assert "--help" not in longs
    for o in table.options:
        assert re.fullmatch(r"(-\w, )?--[\w-]+", o.flags), o.flags
        assert o.versions in VERSIONS
        assert o.help and o.help == o.help.strip()
        assert re.search(r"[\u4e00-\u9fff]", o.zh), f"{slug} {o.long}: zh must be Chinese"


# --- parse_help on captured texts ------------------------------------------------------------

PULL_28 = """\
Usage:  docker image pull [OPTIONS] NAME[:TAG|@DIGEST]

Download an image from a registry

Aliases:
  docker image pull, docker pull

Options:
  -a, --all-tags                Download all tagged images in the repository
      --disable-content-trust   Skip image verification (default true)
      --platform string         Set platform if server is multi-platform
                                capable
  -q, --quiet                   Suppress verbose output
"""

IMAGE_LS_2010 = """
Usage:  docker image ls [OPTIONS] [REPOSITORY[:TAG]]

List images

Aliases:
  ls, list

Options:
  -a, --all             Show all images (default hides intermediate images)
      --digests         Show digests
  -f, --filter filter   Filter output based on conditions provided
      --format string   Pretty-print images using a Go template
      --no-trunc        Don't truncate output
  -q, --quiet           Only show image IDs
"""

# Real 28.x/20.10 fragments, plus a continuation starting with "--" / "-1" that must not become a flag.
BUILD_MIXED = """\
DEPRECATED: The legacy builder is deprecated and will be removed in a future release.
            Install the buildx component to build images with BuildKit:
            https://docs.docker.com/go/buildx/

Usage:  docker build [OPTIONS] PATH | URL | -

Options:
      --memory-swap bytes       Swap limit equal to memory plus swap:
                                '-1' to enable unlimited swap
  -t, --tag list                Name and optionally a tag in the
                                "name:tag" format
      --weird                   Wrapped just before a flag-like word
                                --like-this or
                                -1 like that
"""

TAG_NO_OPTIONS = """\
Usage:  docker image tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]

Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE

Aliases:
  docker image tag, docker tag
"""

COBRA_FLAGS = """\
Usage:
  tool thing [flags]

Flags:
  -h, --help          help for thing
      --limit int     Max number of search results (default 25)

Global Flags:
      --debug   ignored: not this command's own
"""


def test_parse_help_28x_with_wrapped_line():
    opts = parse_help(PULL_28)
    assert list(opts) == ["--all-tags", "--disable-content-trust", "--platform", "--quiet"]
    assert opts["--all-tags"] == ("-a", "", "Download all tagged images in the repository")
    assert opts["--platform"] == (None, "string", "Set platform if server is multi-platform capable")
    assert opts["--quiet"].short == "-q"
    assert parse_usage(PULL_28) == "docker image pull [OPTIONS] NAME[:TAG|@DIGEST]"


def test_parse_help_2010_ignores_aliases_section():
    opts = parse_help(IMAGE_LS_2010)
    assert set(opts) == {"--all", "--digests", "--filter", "--format", "--no-trunc", "--quiet"}
    assert opts["--filter"] == ("-f", "filter", "Filter output based on conditions provided")
    assert opts["--digests"] == (None, "", "Show digests")


def test_parse_help_continuations_and_banner():
    opts = parse_help(BUILD_MIXED)
    assert set(opts) == {"--memory-swap", "--tag", "--weird"}
    assert opts["--memory-swap"] == (None, "bytes", "Swap limit equal to memory plus swap: '-1' to enable unlimited swap")
    assert opts["--tag"] == ("-t", "list", 'Name and optionally a tag in the "name:tag" format')
    assert opts["--weird"].help == "Wrapped just before a flag-like word --like-this or -1 like that"


def test_parse_help_without_options_section():
    assert parse_help(TAG_NO_OPTIONS) == {}
    assert parse_usage(TAG_NO_OPTIONS) == "docker image tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]"


def test_parse_help_cobra_flags_section_skips_help_and_globals():
    assert parse_help(COBRA_FLAGS) == {"--limit": (None, "int", "Max number of search results (default 25)")}


# --- render_markdown -----------------------------------------------------------------------

def _row_cells(line: str) -> list[str]:
    return re.split(r"(?<!\\)\|", line)[1:-1]


def test_render_markdown_lists_every_flag_of_every_table():
    for slug in all_slugs():
        table = load(slug)
        md = render_markdown(table)
        assert f"```\n{table.usage}\n```" in md
        for o in table.options:
            cell = f"`{o.flags} {o.type}`" if o.type else f"`{o.flags}`"
            assert cell in md, (slug, o.flags)
        rows = [line for line in md.splitlines() if line.startswith("| `")]
        assert len(rows) == len(table.options)
        assert all(len(_row_cells(r)) == 3 for r in rows), slug
        if not table.options:
            assert "没有选项" in md


def test_render_markdown_escapes_pipes_and_html_and_notes_versions():
    table = OptionsTable("docker thing", ["docker t"], "docker thing [OPTIONS] A|B", [
        Option("-f, --filter", "filter", 'Filter "a|b" (e.g. "until=<timestamp>")', "用 `a|b` 过滤，显示为 `<none>`", "all"),
        Option("--new", "", "New thing", "新选项", "28.x only"),
        Option("--old", "string", "Old thing", "旧选项", "20.10 only"),
    ])
    md = render_markdown(table)
    assert "docker thing [OPTIONS] A|B" in md  # inside the code block the usage stays as is
    assert "别名：`docker t`" in md
    row = next(line for line in md.splitlines() if "--filter" in line)
    assert "`-f, --filter filter`" in row
    assert 'Filter "a\\|b" (e.g. "until=&lt;timestamp&gt;")' in row
    assert "`a\\|b`" in row and "`<none>`" in row  # code spans keep "<", only "|" is escaped
    assert len(_row_cells(row)) == 3
    assert "新选项（仅 Docker 28.x 客户端）" in md
    assert "旧选项（仅 Docker 20.10 客户端）" in md
    assert "`--old string`" in md and "`--new`" in md


def test_render_markdown_shows_the_newer_wording_beside_the_sandbox_one():
    table = OptionsTable("docker thing", [], "docker thing [OPTIONS]", [
        Option("--format", "string", "Pretty-print images using a Go template", "用模板控制输出", "all",
               help_new="Format output using a custom template: 'json': Print in JSON format"),
    ])
    row = next(line for line in render_markdown(table).splitlines() if "--format" in line)
    assert "Pretty-print images using a Go template<br>Docker 28：Format output" in row
    assert len(_row_cells(row)) == 3
