"""README, `quench --help` and man/quench.1 agree: every flag the binary takes is documented in both,
and neither documents a flag that does not exist. The man page renders without warnings."""

import pathlib
import re
import shutil
import subprocess

import pytest
from conftest import REPO_ROOT, run_cli

MAN = REPO_ROOT / "man" / "quench.1"
README = REPO_ROOT / "README.md"


def help_flags():
    result = run_cli("--help")
    assert result.returncode == 0
    return set(re.findall(r"(?<![\w-])--([a-z][a-z0-9-]+)", result.stdout)) - {"help"}


def man_flags():
    text = MAN.read_text()
    return set(re.findall(r"^\.It Fl Fl ([a-z][a-z0-9-]+)", text, re.M))


def test_man_page_documents_exactly_the_flags_of_help():
    in_help, in_man = help_flags(), man_flags()
    assert in_help, "no flags found in --help"
    assert in_help - in_man == set(), f"flags missing from man/quench.1: {sorted(in_help - in_man)}"
    assert in_man - in_help - {"help"} == set(), f"man page documents flags quench does not take: {sorted(in_man - in_help)}"


def test_readme_options_table_lists_every_flag():
    # The first cell of each table row that starts with a flag, e.g. "| `--tls-cert`, `--tls-key` |".
    cells = re.findall(r"^\| (`--[^|]*)\|", README.read_text(), re.M)
    documented = {flag for cell in cells for flag in re.findall(r"`--([a-z][a-z0-9-]+)`", cell)}
    missing = help_flags() - documented - {"version"}
    assert missing == set(), f"README options table misses: {sorted(missing)}"


def test_man_page_renders_without_warnings():
    if shutil.which("mandoc"):
        result = subprocess.run(["mandoc", "-T", "lint", "-W", "warning", str(MAN)], capture_output=True, text=True, timeout=30)
        assert result.returncode == 0 and result.stdout == "" and result.stderr == "", result.stdout + result.stderr
    elif shutil.which("groff"):
        result = subprocess.run(["groff", "-mandoc", "-ww", "-z", str(MAN)], capture_output=True, text=True, timeout=30)
        assert result.returncode == 0 and result.stderr == "", result.stderr
    else:
        pytest.skip("neither mandoc nor groff is installed")


def test_man_page_version_is_the_binary_version():
    version = run_cli("--version").stdout.strip()
    assert re.search(rf"^\.Os quench {re.escape(version)}$", MAN.read_text(), re.M), f"man page .Os does not say {version}"


def test_man_page_quotes_render_unnested():
    """Quoted words in parentheses (`(‘25’, ‘1.5’)`) render as separate quotes: an mdoc `.Pq Ql a , Ql b`
    line nests the second quote inside the first (`(‘25, ‘1.5’’)`)."""
    if shutil.which("mandoc") is None:
        pytest.fail("mandoc is not installed (apt-get install mandoc; `make test` installs it)")
    text = subprocess.run(["mandoc", "-T", "utf8", str(MAN)], capture_output=True, text=True, timeout=30, check=True).stdout
    plain = re.sub(r".\x08", "", text)  # drop the overstrike bold/underline
    nested = re.findall(r"‘[^’\n]*‘", plain)
    assert nested == [], f"nested quotes in the rendered man page: {nested}"
    assert "(‘25’, ‘1.5’)" in plain and "(‘500ms’, ‘30s’, ‘2m’)" in plain
