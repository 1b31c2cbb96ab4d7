#!/usr/bin/env python3
"""skyforge's LocalStack harness: install, start, stop, status, run.

    python3 integration-tests/emulator/emulator.py install   # idempotent
    python3 integration-tests/emulator/emulator.py start     # waits for readiness
    python3 integration-tests/emulator/emulator.py status
    python3 integration-tests/emulator/emulator.py stop
    python3 integration-tests/emulator/emulator.py run -- CMD...  # install, start, CMD, stop (always)
    python3 integration-tests/emulator/emulator.py lint      # ruff over the harness
    python3 integration-tests/emulator/emulator.py audit STACK --stage S  # secure-defaults audit

This file only bootstraps: it makes the virtualenv in $SKYFORGE_EMULATOR_HOME (default
~/.cache/skyforge-emulator), keyed by the pin set so clones share it, installs LocalStack from
the pins, the lint tools from requirements-dev.txt and the harness's own package
(skyforge-localstack, pyproject.toml beside this file; installed again whenever one of its files
changes) with pip, then hands every other command
to `python -m skyforge_localstack.harness` inside that venv. Runtime state (PID file, log,
LocalStack's filesystem root) lives in $SKYFORGE_EMULATOR_STATE (default <repo>/target/emulator).
Only 127.0.0.1 is bound.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REQS = HERE / "requirements-localstack.txt"
DEV_REQS = HERE / "requirements-dev.txt"
PYPROJECT = HERE / "pyproject.toml"
HOME = Path(os.environ.get("SKYFORGE_EMULATOR_HOME", Path.home() / ".cache" / "skyforge-emulator"))


def log(msg):
    print(f"[emulator] {msg}", file=sys.stderr, flush=True)


def venv_dir() -> Path:
    key = hashlib.sha256(REQS.read_bytes() + sys.version.encode()).hexdigest()[:12]
    return HOME / f"venv-{key}"


def venv_bin(name) -> Path:
    return venv_dir() / "bin" / name


def pip(*args):
    subprocess.check_call([str(venv_bin("pip")), "install", "--quiet", "--disable-pip-version-check", *args])


def once(marker_name, key, action):
    """Run `action` unless the venv's marker `marker_name` already records `key`."""
    marker = venv_dir() / marker_name
    if marker.exists() and marker.read_text() == key:
        return
    action()
    marker.write_text(key)


def install():
    """Create the venv from the pins (once), then the lint tools and the harness package (each
    again only when its pins or its files changed)."""
    venv = venv_dir()
    if not (venv / ".skyforge-installed").exists():
        t0 = time.monotonic()
        if venv.exists():
            shutil.rmtree(venv)
        HOME.mkdir(parents=True, exist_ok=True)
        log(f"creating {venv}")
        subprocess.check_call([sys.executable, "-m", "venv", str(venv)])
        pip("-r", str(REQS))
        (venv / ".skyforge-installed").write_text(json.dumps({"installed_seconds": round(time.monotonic() - t0, 1)}))
        log(f"installed LocalStack in {time.monotonic() - t0:.1f} s")
    drop_legacy_registration(venv)
    once(".skyforge-dev", hashlib.sha256(DEV_REQS.read_bytes()).hexdigest(), lambda: pip("-r", str(DEV_REQS)))
    # Installed as a built package (LocalStack's plux breaks setuptools' editable installs), so
    # it is installed again whenever a file of it changes; built from a copy, so the checkout
    # gets no build directories.
    once(".skyforge-plugin", package_digest(), install_package)


def package_digest():
    h = hashlib.sha256(PYPROJECT.read_bytes())
    for f in sorted((HERE / "skyforge_localstack").glob("*.py")):
        h.update(f.name.encode() + f.read_bytes())
    return h.hexdigest()


def install_package():
    with tempfile.TemporaryDirectory(prefix="skyforge-localstack-") as tmp:
        src = Path(tmp) / "src"
        shutil.copytree(
            HERE / "skyforge_localstack", src / "skyforge_localstack", ignore=shutil.ignore_patterns("__pycache__")
        )
        shutil.copy(PYPROJECT, src / "pyproject.toml")
        pip("--no-deps", "--no-build-isolation", "--force-reinstall", str(src))
    log("installed the harness package (skyforge-localstack)")


def drop_legacy_registration(venv):
    """Remove the hand-written registration of harness versions before 0.2 (a .pth file and a
    dist-info without a RECORD), which would register every entry point twice."""
    for sp in venv.glob("lib/python*/site-packages"):
        (sp / "skyforge-harness.pth").unlink(missing_ok=True)
        legacy = sp / "skyforge_localstack-0.1.0.dist-info"
        if legacy.exists():
            shutil.rmtree(legacy)
            (venv / ".skyforge-plugin").unlink(missing_ok=True)


def audit(argv):
    """The secure-defaults audit (skyforge_localstack.audit), a boto3 client in the venv."""
    python = str(venv_bin("python"))
    os.execv(python, [python, "-m", "skyforge_localstack.audit", *argv])


def harness(argv):
    """Hand the command to the harness module inside the venv (it has psutil); it runs from the
    venv's copy of the package, so it is told where the checkout's runtime state lives."""
    os.environ.setdefault("SKYFORGE_EMULATOR_STATE", str(HERE.parent.parent / "target" / "emulator"))
    python = str(venv_bin("python"))
    os.execv(python, [python, "-m", "skyforge_localstack.harness", *argv])


def lint():
    ruff = str(venv_bin("ruff"))
    for check in (["check"], ["format", "--check"]):
        rc = subprocess.call([ruff, *check, str(HERE)])
        if rc:
            return rc
    log("ruff: the harness is clean")
    return 0


def main(argv):
    cmd = argv[0] if argv else ""
    if cmd in ("stop", "status") and not venv_bin("python").exists():
        log("not installed, so not running")
        return 0 if cmd == "stop" else 1
    if cmd not in ("install", "start", "stop", "status", "run", "lint", "audit"):
        print(__doc__)
        return 2
    install()
    if cmd == "install":
        return harness(["catalog"])
    if cmd == "lint":
        return lint()
    if cmd == "audit":
        return audit(argv[1:])
    return harness(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
