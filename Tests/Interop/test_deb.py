"""The Debian package: build/quench_<version>_<arch>.deb (made by `make deb`, which `make test` runs first).

Checks the package as built (lintian clean, the files and fields it must have, /etc/default/quench naming
every flag), then installs it on this machine with apt-get, runs the INSTALLED /usr/bin/quench against a
python-socketio client, and purges it: no file of the package may be left behind.

Needs root (apt-get) and dpkg, as CI has; skipped otherwise. Installing touches the machine: the test refuses
to run when a quench package is already installed, and purges what it installed even when it fails.
"""

import glob
import os
import pathlib
import re
import shutil
import signal
import subprocess
import time

import pytest

from conftest import POLL_S, START_DEADLINE_S, QuenchServer, free_port, _port_accepts, wait_until
from interop_helpers import CONNECTED, SioClient

pytestmark = [
    pytest.mark.skipif(shutil.which("dpkg") is None, reason="dpkg is absent: not a Debian system"),
    pytest.mark.skipif(os.geteuid() != 0, reason="installing the .deb with apt-get needs root"),
]

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
VERSION_SWIFT = REPO_ROOT / "Sources" / "QuenchApp" / "Version.swift"
INSTALLED_BIN = "/usr/bin/quench"
DEFAULT_FILE = "/etc/default/quench"
BASH_COMPLETION = "/usr/share/bash-completion/completions/quench"
UNIT = "/lib/systemd/system/quench.service"
# The template for several processes on one port (quench --reuse-port), one instance per core.
TEMPLATE_UNIT = "/lib/systemd/system/quench@.service"
WANTS_LINK = "/etc/systemd/system/multi-user.target.wants/quench.service"
# deb-systemd-helper's record of the enablement, which purge must drop with the symlink.
DSH_STATE = ("/var/lib/systemd/deb-systemd-helper-enabled/quench.service.dsh-also",
             "/var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants/quench.service")
# apt-get waits this long for the dpkg lock when another apt run holds it.
APT = ["apt-get", "-y", "-q", "-o", "DPkg::Lock::Timeout=120"]
APT_ENV = dict(os.environ, DEBIAN_FRONTEND="noninteractive")

# Every file the package ships (directories aside).
EXPECTED_FILES = {
    INSTALLED_BIN,
    "/usr/share/man/man1/quench.1.gz",
    "/usr/share/doc/quench/copyright",
    "/usr/share/doc/quench/changelog.Debian.gz",
    "/usr/share/lintian/overrides/quench",
    UNIT,
    TEMPLATE_UNIT,
    DEFAULT_FILE,
    BASH_COMPLETION,
    "/usr/share/zsh/vendor-completions/_quench",
    "/usr/share/fish/vendor_completions.d/quench.fish",
}


def sh(*argv, timeout=60, check=True, env=None):
    """Run argv, return the CompletedProcess; with check, a non-zero exit fails with its output."""
    try:
        r = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, env=env,
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"{' '.join(argv)} did not finish within {timeout}s (stdout={e.stdout!r}, stderr={e.stderr!r})")
    if check and r.returncode != 0:
        pytest.fail(f"{' '.join(argv)} exited {r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}")
    return r


def source_version() -> str:
    m = re.search(r'static let string = "([^"]+)"', VERSION_SWIFT.read_text())
    assert m, f"no version string in {VERSION_SWIFT}"
    return m.group(1)


def installed_status() -> str:
    """dpkg's two-letter status of quench ("ii", "rc", ...), or "" when it is not on the machine at all."""
    r = sh("dpkg-query", "-W", "-f=${db:Status-Abbrev}", "quench", check=False)
    status = r.stdout.strip() if r.returncode == 0 else ""
    return "" if len(status) < 2 or status[1] == "n" else status  # "un"/"pn": known, but not installed


def flags_of_help(help_text: str) -> set:
    """The long options `quench --help` lists, less --help and --version (no server options)."""
    return set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", help_text)) - {"--help", "--version"}


@pytest.fixture(scope="module")
def deb() -> pathlib.Path:
    """The .deb of this source tree's version (QUENCH_DEB overrides)."""
    if os.environ.get("QUENCH_DEB"):
        path = pathlib.Path(os.environ["QUENCH_DEB"]).resolve()
    else:
        arch = sh("dpkg", "--print-architecture").stdout.strip()
        found = sorted(glob.glob(str(REPO_ROOT / "build" / f"quench_{source_version()}-*_{arch}.deb")))
        if not found:
            pytest.fail(f"no build/quench_{source_version()}-*_{arch}.deb: run `make deb` (make test does)")
        path = pathlib.Path(found[-1])
    assert path.is_file(), f"{path} does not exist"
    return path


@pytest.fixture(scope="module")
def extracted(deb, tmp_path_factory) -> pathlib.Path:
    """The package's file tree, unpacked without installing (dpkg-deb -x)."""
    root = tmp_path_factory.mktemp("deb-root")
    sh("dpkg-deb", "-x", str(deb), str(root))
    return root


def test_lintian_reports_no_error_or_warning(deb):
    if shutil.which("lintian") is None:
        pytest.fail("lintian is not installed (apt-get install lintian; `make deb` installs it)")
    r = sh("lintian", "--fail-on", "error,warning", str(deb), timeout=300, check=False)
    bad = [line for line in r.stdout.splitlines() if re.match(r"[EW]: ", line)]
    assert r.returncode == 0 and not bad, f"lintian exited {r.returncode}:\n{r.stdout}\n{r.stderr}"


def test_package_fields_and_files(deb):
    fields = sh("dpkg-deb", "--field", str(deb), "Package", "Version", "Depends").stdout
    assert re.search(rf"^Version: {re.escape(source_version())}-\d+$", fields, re.M), fields
    depends = re.search(r"^Depends: (.*)$", fields, re.M)
    assert depends, f"no Depends field:\n{fields}"
    for lib in ("libwebsockets17", "librabbitmq4", "libc6"):
        assert re.search(rf"\b{lib}\b", depends.group(1)), f"Depends lacks {lib}: {depends.group(1)}"
    assert "swift" not in depends.group(1).lower(), f"the Swift runtime must be inside the binary: {depends.group(1)}"

    listing = sh("dpkg-deb", "--contents", str(deb)).stdout
    files = {"/" + line.split()[-1].lstrip("./") for line in listing.splitlines() if not line.startswith("d")}
    assert files == EXPECTED_FILES, f"unexpected package contents: extra {files - EXPECTED_FILES}, " \
                                    f"missing {EXPECTED_FILES - files}"
    for line in listing.splitlines():
        assert " root/root " in line, f"not owned by root: {line}"

    conffiles = sh("dpkg-deb", "--info", str(deb), "conffiles").stdout.split()
    assert conffiles == [DEFAULT_FILE], f"conffiles: {conffiles}"


def test_binary_is_stripped_and_carries_the_swift_runtime(extracted):
    binary = extracted / "usr" / "bin" / "quench"
    sections = sh("readelf", "-SW", str(binary)).stdout
    assert not re.search(r"\] \.(symtab|debug_\w+) ", sections), f"{binary} is not stripped:\n{sections}"
    needed = sh("readelf", "-d", str(binary)).stdout
    assert not re.search(r"NEEDED.*(libswift|libFoundation|libdispatch)", needed), needed
    assert sh(str(binary), "--version").stdout.strip() == source_version()


def test_default_file_names_every_flag_and_no_other(extracted):
    help_text = sh(str(extracted / "usr" / "bin" / "quench"), "--help").stdout
    documented = (extracted / "etc" / "default" / "quench").read_text()
    in_help = flags_of_help(help_text)
    in_default = flags_of_help(documented)
    assert in_help, f"no flags found in --help:\n{help_text}"
    assert in_help <= in_default, f"/etc/default/quench does not mention {sorted(in_help - in_default)}"
    assert in_default <= in_help, f"/etc/default/quench mentions flags quench lacks: {sorted(in_default - in_help)}"
    # Only comments and the one variable the unit passes on.
    settings = [line for line in documented.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert settings == ['QUENCH_OPTS=""'], f"/etc/default/quench should set only QUENCH_OPTS=\"\": {settings}"


def test_shell_completions_complete_flags_and_values(extracted):
    """The completions the package ships are quench's own (generated from its flags): bash completes a flag
    and the levels of --log-level; zsh's and fish's name the command."""
    if shutil.which("bash") is None:
        pytest.fail("bash is not installed")
    script = extracted / BASH_COMPLETION.lstrip("/")
    assert not script.read_text().startswith("#!"), "a sourced completion needs no #! line (lintian)"

    def complete(*words):
        """COMPREPLY for `quench WORDS...` with the cursor at the end of the last word, as bash would ask."""
        line = " ".join(("quench",) + words)
        previous = (("quench",) + words)[-2]
        program = (f'source "{script}"; COMP_LINE={line!r}; COMP_POINT=${{#COMP_LINE}}; '
                   f'COMP_WORDS=(quench {" ".join(repr(w) for w in words)}); COMP_CWORD={len(words)}; '
                   f'_quench quench {words[-1]!r} {previous!r}; printf "%s\\n" "${{COMPREPLY[@]}}"')
        return sh("bash", "-c", program).stdout.split()

    assert complete("--dra") == ["--drain-time"]
    assert "--metrics" in complete("--me")
    assert complete("--log-level", "") == ["error", "warn", "info", "debug"]
    zsh = (extracted / "usr/share/zsh/vendor-completions/_quench").read_text()
    assert zsh.startswith("#compdef quench") and "--metrics" in zsh
    fish = (extracted / "usr/share/fish/vendor_completions.d/quench.fish").read_text()
    assert "complete -c 'quench'" in fish and "drain-time" in fish


def test_unit_runs_the_installed_binary_unprivileged(extracted):
    unit = (extracted / UNIT.lstrip("/")).read_text()
    for line in ("Type=notify", "NotifyAccess=main", "WatchdogSec=30s", "DynamicUser=yes", "Restart=on-failure", "EnvironmentFile=-/etc/default/quench",
                 "ExecStart=/usr/bin/quench $QUENCH_OPTS", "NoNewPrivileges=yes", "ProtectSystem=strict",
                 "ProtectHome=yes", "PrivateTmp=yes", "WantedBy=multi-user.target"):
        assert re.search(rf"^{re.escape(line)}$", unit, re.M), f"{UNIT} lacks {line!r}:\n{unit}"


def test_template_unit_runs_instances_on_a_shared_port(extracted):
    """quench@.service: the hardening of quench.service, every instance with --reuse-port, the shared options
    and its own, and one named dynamic user for all (the kernel shares a port only among one user's sockets)."""
    unit = (extracted / TEMPLATE_UNIT.lstrip("/")).read_text()
    main = (extracted / UNIT.lstrip("/")).read_text()
    for line in ("Type=notify", "NotifyAccess=main", "WatchdogSec=30s", "DynamicUser=yes", "User=quench", "Restart=on-failure",
                 "EnvironmentFile=-/etc/default/quench", "EnvironmentFile=-/etc/default/quench-%i",
                 "ExecStart=/usr/bin/quench --reuse-port $QUENCH_OPTS $QUENCH_INSTANCE_OPTS", "WantedBy=multi-user.target"):
        assert re.search(rf"^{re.escape(line)}$", unit, re.M), f"{TEMPLATE_UNIT} lacks {line!r}:\n{unit}"

    def settings(text):
        return {line for line in text.splitlines() if line and not line.startswith("#")}

    # Apart from what makes it a template, the same lines as the main unit: no hardening left out.
    different = {"Description", "EnvironmentFile", "ExecStart", "User"}
    kept = lambda text: {line for line in settings(text) if line.split("=", 1)[0] not in different}
    assert kept(unit) == kept(main), f"{TEMPLATE_UNIT} and {UNIT} differ: {kept(unit) ^ kept(main)}"


def start_installed(tmp_path) -> QuenchServer:
    """Start /usr/bin/quench on a free loopback port; return once it accepts TCP."""
    for _ in range(3):  # a free port can be taken by someone else between pick and bind
        port = free_port()
        log_path = tmp_path / f"installed-quench-{port}.log"
        argv = [INSTALLED_BIN, "--host", "127.0.0.1", "--port", str(port), "--log-level", "debug"]
        with open(log_path, "wb") as log_file:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        server = QuenchServer(proc, port, log_path, argv)
        deadline = time.monotonic() + START_DEADLINE_S
        while time.monotonic() < deadline and proc.poll() is None:
            if _port_accepts(port):
                return server
            time.sleep(POLL_S)
        server.kill()
        if not re.search(r"in use|EADDRINUSE|bind", server.log_text(), re.I):
            pytest.fail(f"installed quench did not start on port {port} (exit {proc.returncode}); "
                        f"log:\n{server.log_text()}")
    pytest.fail("installed quench could not bind a free port in 3 attempts")


@pytest.mark.deadline(600)
def test_install_serve_and_purge(deb, tmp_path):
    status = installed_status()
    if status:
        pytest.fail(f"a quench package is already installed (dpkg status {status!r}); this test would purge "
                    f"it: `apt-get purge quench` first")
    systemd_booted = os.path.isdir("/run/systemd/system")
    port_5000_taken = _port_accepts(5000)

    sh(*APT, "install", str(deb), timeout=480, env=APT_ENV)
    server = None
    try:
        assert installed_status() == "ii", f"after apt-get install, dpkg status is {installed_status()!r}"
        owned = [p for p in sh("dpkg", "-L", "quench").stdout.splitlines() if p.strip() and p != "/."]
        assert EXPECTED_FILES <= set(owned), f"dpkg -L lacks {EXPECTED_FILES - set(owned)}"

        r = sh(INSTALLED_BIN, "--version")
        assert r.stdout.strip() == source_version(), f"installed quench --version: {r.stdout!r}"

        if shutil.which("man") is None:
            pytest.fail("man is not installed (apt-get install man-db; `make deb` installs it)")
        r = sh("man", "-w", "quench", check=False)
        assert r.returncode == 0 and r.stdout.strip() == "/usr/share/man/man1/quench.1.gz", \
            f"man -w quench: exit {r.returncode}, {r.stdout!r} {r.stderr!r} (does a dpkg path-exclude drop man pages?)"

        # postinst enabled the unit as dh_installsystemd does, with or without a running systemd.
        assert os.path.islink(WANTS_LINK) and os.readlink(WANTS_LINK) == UNIT, \
            f"{WANTS_LINK} should link to {UNIT} after install"
        if shutil.which("systemd-analyze"):
            r = sh("systemd-analyze", "verify", UNIT, check=False)
            assert r.returncode == 0, f"systemd-analyze verify {UNIT}: exit {r.returncode}\n{r.stdout}{r.stderr}"
            # A template is verified through an instance of it.
            r = sh("systemd-analyze", "verify", "quench@1.service", check=False)
            assert r.returncode == 0, f"systemd-analyze verify quench@1.service: exit {r.returncode}\n{r.stdout}{r.stderr}"
        if systemd_booted and not port_5000_taken:
            active = lambda: sh("systemctl", "is-active", "quench", check=False).stdout.strip() == "active"
            wait_until(active, 15, "quench.service did not become active (journalctl -u quench)")

        server = start_installed(tmp_path)
        client = SioClient(server)
        try:
            client.connect(transports=None)  # polling, then the upgrade to WebSocket
            got = client.get(client.system, timeout=10, what="system_message from the installed quench")
            assert got == CONNECTED, f"system_message: {got!r}"
        finally:
            client.disconnect()
        code = server.stop(signal.SIGTERM)
        assert code == 0, f"installed quench exited {code} on SIGTERM; log:\n{server.log_text()}"
    finally:
        if server is not None:
            server.kill()
        purge = sh(*APT, "purge", "quench", timeout=300, check=False, env=APT_ENV)

    assert purge.returncode == 0, f"apt-get purge quench exited {purge.returncode}:\n{purge.stdout}\n{purge.stderr}"
    assert installed_status() == "", f"after purge, dpkg still knows quench: {installed_status()!r}"
    left = []
    for path in owned:
        if not os.path.lexists(path):
            continue
        if os.path.isdir(path):  # (/lib may be a symlink to usr/lib: merged /usr)
            # A shared directory (/usr/bin, /etc/default, ...) stays when another package owns it or it holds
            # other files; the package's own directories must be gone.
            shared = sh("dpkg-query", "-S", path, check=False).returncode == 0 or os.listdir(path)
            if shared:
                continue
        left.append(path)
    assert not left, f"apt-get purge left files of the package behind: {left}"
    for path in (DEFAULT_FILE, WANTS_LINK, *DSH_STATE):
        assert not os.path.lexists(path), f"{path} is still there after purge"
