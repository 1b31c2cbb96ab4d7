#!/usr/bin/env python3
"""skyforge's LocalStack harness: install, start, stop, status, run.

    python3 integration-tests/emulator/emulator.py install   # idempotent
    python3 integration-tests/emulator/emulator.py start     # waits for readiness
    python3 integration-tests/emulator/emulator.py status
    python3 integration-tests/emulator/emulator.py stop
    python3 integration-tests/emulator/emulator.py run -- CMD...  # install, start, CMD, stop (always)

The virtualenv lives in $SKYFORGE_EMULATOR_HOME (default ~/.cache/skyforge-emulator), keyed by
the pin set, so clones share it. All runtime state (PID file, log, LocalStack's filesystem root)
lives in $SKYFORGE_EMULATOR_STATE (default <repo>/target/emulator). Only 127.0.0.1 is bound.
"""
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
REQS = HERE / "requirements-localstack.txt"
HOST = os.environ.get("SKYFORGE_EMULATOR_HOST", "127.0.0.1")
PORT = int(os.environ.get("SKYFORGE_EMULATOR_PORT", "4566"))
ENDPOINT = f"http://{HOST}:{PORT}"
HOME = Path(os.environ.get("SKYFORGE_EMULATOR_HOME", Path.home() / ".cache" / "skyforge-emulator"))
STATE = Path(os.environ.get("SKYFORGE_EMULATOR_STATE", REPO / "target" / "emulator"))
PIDFILE = STATE / "localstack.pid"
LOG = STATE / "localstack.log"

ENTRY_POINTS = """\
[localstack.aws.provider]
application-autoscaling:default = skyforge_localstack.providers:application_autoscaling
dynamodb:skyforge = skyforge_localstack.providers:dynamodb
ec2:skyforge = skyforge_localstack.providers:ec2
ecr:default = skyforge_localstack.providers:ecr
ecs:default = skyforge_localstack.providers:ecs
elasticache:default = skyforge_localstack.providers:elasticache
elbv2:default = skyforge_localstack.providers:elbv2
rds:default = skyforge_localstack.providers:rds
s3:skyforge = skyforge_localstack.providers:s3
servicediscovery:default = skyforge_localstack.providers:servicediscovery

[localstack.hooks.on_infra_start]
install_skyforge_harness = skyforge_localstack.hooks:install_skyforge_harness

[localstack.runtime.server]
skyforge-loopback = skyforge_localstack.server:LoopbackServerPlugin
"""


def log(msg):
    print(f"[emulator] {msg}", file=sys.stderr, flush=True)


def venv_dir() -> Path:
    key = hashlib.sha256(REQS.read_bytes() + sys.version.encode()).hexdigest()[:12]
    return HOME / f"venv-{key}"


def venv_python() -> Path:
    return venv_dir() / "bin" / "python"


def site_packages() -> Path:
    out = subprocess.check_output(
        [str(venv_python()), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True
    )
    return Path(out.strip())


def install():
    """Create the venv from the pins (once), register the plugin, pre-build the service catalog."""
    venv = venv_dir()
    marker = venv / ".skyforge-installed"
    t0 = time.monotonic()
    if not marker.exists():
        if venv.exists():
            shutil.rmtree(venv)
        HOME.mkdir(parents=True, exist_ok=True)
        log(f"creating {venv}")
        subprocess.check_call([sys.executable, "-m", "venv", str(venv)])
        subprocess.check_call(
            [str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", "-r", str(REQS)]
        )
        marker.write_text(json.dumps({"installed_seconds": round(time.monotonic() - t0, 1)}))
        log(f"installed LocalStack in {time.monotonic() - t0:.1f} s")
    # The plugin is registered on every install call so a moved checkout is picked up.
    sp = site_packages()
    (sp / "skyforge-harness.pth").write_text(str(HERE) + "\n")
    dist = sp / "skyforge_localstack-0.1.0.dist-info"
    dist.mkdir(exist_ok=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: skyforge-localstack\nVersion: 0.1.0\n")
    (dist / "entry_points.txt").write_text(ENTRY_POINTS)
    (dist / "RECORD").write_text("")
    catalog_marker = STATE / "fs" / ".skyforge-catalog"  # lives under FILESYSTEM_ROOT, like the catalog
    if not catalog_marker.exists():
        t1 = time.monotonic()
        code = (
            "import os\n"
            "from localstack import config\n"
            "from localstack.aws import spec\n"
            "path = os.path.join(config.dirs.static_libs, spec._get_catalog_filename())\n"
            "os.makedirs(os.path.dirname(path), exist_ok=True)\n"
            "spec.build_service_index_cache(path)\n"
            "print(path)\n"
        )
        subprocess.check_call([str(venv_python()), "-c", code], env=runtime_env())
        catalog_marker.write_text("ok")
        log(f"service catalog built in {time.monotonic() - t1:.1f} s")


def runtime_env():
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    fs = STATE / "fs"
    env.update(
        {
            "GATEWAY_LISTEN": f"{HOST}:{PORT}",
            "LOCALSTACK_HOST": f"{HOST}:{PORT}",
            "GATEWAY_SERVER": "skyforge-loopback",
            "DNS_ADDRESS": "0",
            "SKIP_SSL_CERT_DOWNLOAD": "1",
            "DISABLE_EVENTS": "1",
            "OVERRIDE_IN_DOCKER": "0",
            "FILESYSTEM_ROOT": str(fs),
            "PROVIDER_OVERRIDE_DYNAMODB": "skyforge",
            "PROVIDER_OVERRIDE_EC2": "skyforge",
            "PROVIDER_OVERRIDE_S3": "skyforge",
            "SKIP_INFRA_DOWNLOADS": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def read_pid():
    try:
        pid = int(PIDFILE.read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    # Make sure the PID is still ours (not reused by another program).
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return pid if b"localstack.runtime.main" in cmd else None


def healthy():
    try:
        with urllib.request.urlopen(f"{ENDPOINT}/_localstack/health", timeout=2) as r:
            return r.status == 200
    except Exception:
        return False


def log_tail(n=40):
    try:
        return "\n".join(LOG.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "(no log)"


def start(timeout=90):
    pid = read_pid()
    if pid and healthy():
        log(f"already running (pid {pid}) at {ENDPOINT}")
        return
    if pid:
        stop()
    STATE.mkdir(parents=True, exist_ok=True)
    (STATE / "fs").mkdir(exist_ok=True)
    t0 = time.monotonic()
    with open(LOG, "wb") as out:
        proc = subprocess.Popen(
            [str(venv_python()), "-m", "localstack.runtime.main"],
            env=runtime_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=str(STATE),
        )
    PIDFILE.write_text(str(proc.pid))
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            log(f"LocalStack exited with {proc.returncode}; log tail:\n{log_tail()}")
            sys.exit(1)
        if healthy() and "Ready." in LOG.read_text(errors="replace"):
            log(f"ready at {ENDPOINT} (pid {proc.pid}) in {time.monotonic() - t0:.1f} s")
            return
        time.sleep(0.2)
    log(f"not ready after {timeout} s; log tail:\n{log_tail()}")
    stop()
    sys.exit(1)


def process_tree(pid):
    """PIDs of `pid` and its descendants (from /proc)."""
    children = {}
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            ppid = int((p / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(p.name))
    out, todo = [], [pid]
    while todo:
        x = todo.pop()
        out.append(x)
        todo.extend(children.get(x, []))
    return out


def listening_sockets(pids):
    """(address, port) of every TCP socket in LISTEN state owned by `pids`."""
    inodes = set()
    for pid in pids:
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                try:
                    target = os.readlink(fd)
                except OSError:
                    continue
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            continue
    out = []
    for table, v6 in (("/proc/net/tcp", False), ("/proc/net/tcp6", True)):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if f[3] != "0A" or f[9] not in inodes:  # 0A = LISTEN
                continue
            addr_hex, port_hex = f[1].split(":")
            if v6:
                addr = "::1" if addr_hex == "00000000000000000000000001000000" else addr_hex
            else:
                b = bytes.fromhex(addr_hex)[::-1]
                addr = ".".join(str(x) for x in b)
            out.append((addr, int(port_hex, 16)))
    return out


def check_loopback_only(pid):
    socks = listening_sockets(process_tree(pid))
    bad = [s for s in socks if not (s[0].startswith("127.") or s[0] == "::1")]
    if bad:
        log(f"FAIL: the emulator listens on non-loopback addresses: {bad}")
        return False
    log(f"listening sockets of the emulator: {sorted(set(socks))} (loopback only)")
    return True


def stop():
    pid = read_pid()
    if not pid:
        PIDFILE.unlink(missing_ok=True)
        log("not running")
        return True
    tree = process_tree(pid)
    t0 = time.monotonic()
    os.kill(pid, signal.SIGTERM)
    while time.monotonic() - t0 < 15:
        try:
            os.kill(pid, 0)
            # Reap it if it is our child (start and stop in one `run`).
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        log("still alive after SIGTERM; sending SIGKILL")
        for p in tree:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
    left = [p for p in tree if Path(f"/proc/{p}").exists() and b"Z" not in Path(f"/proc/{p}/stat").read_bytes().split(b")")[-1][:3]]
    PIDFILE.unlink(missing_ok=True)
    if left:
        log(f"FAIL: emulator processes left behind: {left}")
        return False
    log(f"stopped (pid {pid}) in {time.monotonic() - t0:.1f} s; no emulator process left")
    return True


def rss_mib(pid):
    total = 0
    for p in process_tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def run(cmd):
    install()
    start()
    pid = read_pid()
    env = dict(os.environ)
    env.update(
        {
            "AWS_ENDPOINT_URL": ENDPOINT,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    for k in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_PROFILE"):
        env.pop(k, None)
    rc = 1
    ok = True
    try:
        rc = subprocess.call(cmd, env=env)
    finally:
        if pid:
            log(f"emulator memory after the run: {rss_mib(pid):.0f} MiB RSS")
            ok = check_loopback_only(pid)
        ok = stop() and ok
    if not ok:
        rc = rc or 1
    return rc


def main(argv):
    if not argv:
        print(__doc__)
        return 2
    cmd = argv[0]
    if cmd == "install":
        install()
    elif cmd == "start":
        install()
        start()
    elif cmd == "stop":
        return 0 if stop() else 1
    elif cmd == "status":
        pid = read_pid()
        print(json.dumps({"running": bool(pid), "pid": pid, "healthy": healthy(), "endpoint": ENDPOINT,
                          "rss_mib": round(rss_mib(pid)) if pid else None}))
    elif cmd == "run":
        rest = argv[1:]
        if rest and rest[0] == "--":
            rest = rest[1:]
        return run(rest)
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
