"""Process side of the harness, run under the harness's virtualenv (``emulator.py`` hands over to
it once the venv is installed): start LocalStack on 127.0.0.1, wait for readiness, check that
it listens on loopback only, report its memory, stop it and everything it spawned.

    python -m skyforge_localstack.harness start | stop | status | catalog | run -- CMD...

Processes are handled through psutil: the PID file is trusted only while the process it names
still runs ``localstack.runtime.main``, and only that process tree is ever signalled.
"""

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil

HOST = os.environ.get("SKYFORGE_EMULATOR_HOST", "127.0.0.1")
PORT = int(os.environ.get("SKYFORGE_EMULATOR_PORT", "4566"))
ENDPOINT = f"http://{HOST}:{PORT}"
# emulator.py sets it to <repo>/target/emulator (this module runs from the venv's copy).
STATE = Path(os.environ.get("SKYFORGE_EMULATOR_STATE") or Path.cwd() / "target" / "emulator")
PIDFILE = STATE / "localstack.pid"
LOG = STATE / "localstack.log"
MAIN_MODULE = "localstack.runtime.main"


def log(msg):
    print(f"[emulator] {msg}", file=sys.stderr, flush=True)


# The AWS services skyforge's crates and tests call.
SERVICES = (
    "application-autoscaling cloudwatch dynamodb ec2 ecr ecs elasticache elbv2 iam kms logs rds "
    "resourcegroupstaggingapi s3 secretsmanager servicediscovery sns ssm sts"
).split()


def runtime_env():
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        {
            "GATEWAY_LISTEN": f"{HOST}:{PORT}",
            "LOCALSTACK_HOST": f"{HOST}:{PORT}",
            "GATEWAY_SERVER": "skyforge-loopback",
            "DNS_ADDRESS": "0",
            "SKIP_SSL_CERT_DOWNLOAD": "1",
            "DISABLE_EVENTS": "1",
            "OVERRIDE_IN_DOCKER": "0",
            "FILESYSTEM_ROOT": str(STATE / "fs"),
            "PROVIDER_OVERRIDE_DYNAMODB": "skyforge",
            "PROVIDER_OVERRIDE_EC2": "skyforge",
            "PROVIDER_OVERRIDE_S3": "skyforge",
            "PROVIDER_OVERRIDE_CLOUDWATCH": "skyforge",
            "PROVIDER_OVERRIDE_SNS": "skyforge",
            "PROVIDER_OVERRIDE_RESOURCEGROUPSTAGGINGAPI": "skyforge",
            "SKIP_INFRA_DOWNLOADS": "1",
            "PYTHONUNBUFFERED": "1",
            # Load every service the crates use before "Ready.", one after the other: loaded
            # lazily by concurrent first requests, moto's modules (logs imports s3) can hit
            # Python's import-lock deadlock detection and fail those requests with InternalError.
            "EAGER_SERVICE_LOADING": "1",
            "SERVICES": ",".join(SERVICES),
        }
    )
    return env


def build_catalog():
    """Pre-build LocalStack's service catalog once (it lives under FILESYSTEM_ROOT)."""
    marker = STATE / "fs" / ".skyforge-catalog"
    if marker.exists():
        return
    t0 = time.monotonic()
    code = (
        "import os\n"
        "from localstack import config\n"
        "from localstack.aws import spec\n"
        "path = os.path.join(config.dirs.static_libs, spec._get_catalog_filename())\n"
        "os.makedirs(os.path.dirname(path), exist_ok=True)\n"
        "spec.build_service_index_cache(path)\n"
    )
    subprocess.check_call([sys.executable, "-c", code], env=runtime_env())
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text("ok")
    log(f"service catalog built in {time.monotonic() - t0:.1f} s")


def emulator_process():
    """The LocalStack process named by the PID file, if it is still that process."""
    try:
        pid = int(PIDFILE.read_text().strip())
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
        if any(MAIN_MODULE in part for part in proc.cmdline()):
            return proc
    except (OSError, ValueError, psutil.Error):
        pass
    return None


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
    """Start LocalStack and wait for it; True when this call started it, False when one was
    already running and healthy."""
    proc = emulator_process()
    if proc and healthy():
        log(f"already running (pid {proc.pid}) at {ENDPOINT}")
        return False
    if proc:
        stop()
    (STATE / "fs").mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    with open(LOG, "wb") as out:
        child = subprocess.Popen(
            [sys.executable, "-m", MAIN_MODULE],
            env=runtime_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=str(STATE),
        )
    PIDFILE.write_text(str(child.pid))
    while time.monotonic() - t0 < timeout:
        if child.poll() is not None:
            log(f"LocalStack exited with {child.returncode}; log tail:\n{log_tail()}")
            sys.exit(1)
        if healthy() and "Ready." in LOG.read_text(errors="replace"):
            log(f"ready at {ENDPOINT} (pid {child.pid}) in {time.monotonic() - t0:.1f} s")
            return True
        time.sleep(0.2)
    log(f"not ready after {timeout} s; log tail:\n{log_tail()}")
    stop()
    sys.exit(1)


def tree(proc):
    """`proc` and every process it spawned."""
    try:
        return [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def listening(procs):
    """(address, port) of every TCP socket in LISTEN state owned by `procs`."""
    out = set()
    for p in procs:
        try:
            conns = p.net_connections(kind="tcp")
        except psutil.Error:
            continue
        out.update((c.laddr.ip, c.laddr.port) for c in conns if c.status == psutil.CONN_LISTEN)
    return sorted(out)


def check_loopback_only(proc):
    socks = listening(tree(proc))
    bad = [s for s in socks if not (s[0].startswith("127.") or s[0] == "::1")]
    if bad:
        log(f"FAIL: the emulator listens on non-loopback addresses: {bad}")
        return False
    log(f"listening sockets of the emulator: {socks} (loopback only)")
    return True


def alive(procs):
    left = []
    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                left.append(p.pid)
        except psutil.NoSuchProcess:
            pass
    return left


def stop():
    proc = emulator_process()
    if not proc:
        PIDFILE.unlink(missing_ok=True)
        log("not running")
        return True
    procs = tree(proc)
    t0 = time.monotonic()
    proc.terminate()
    _, still = psutil.wait_procs([proc], timeout=15)
    if still:
        log("still alive after SIGTERM; sending SIGKILL to its process tree")
        for p in procs:
            try:
                p.kill()
            except psutil.NoSuchProcess:
                pass
    psutil.wait_procs(procs, timeout=5)
    left = alive(procs)
    PIDFILE.unlink(missing_ok=True)
    if left:
        log(f"FAIL: emulator processes left behind: {left}")
        return False
    log(f"stopped (pid {proc.pid}) in {time.monotonic() - t0:.1f} s; no emulator process left")
    return True


def rss_mib(proc):
    total = 0
    for p in tree(proc):
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total / (1024 * 1024)


def client_env():
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
    return env


def run(cmd):
    """Run `cmd` against the emulator: one already running (`start` earlier) is used and left
    running, with its state; otherwise one is started and stopped whatever happens."""
    started = start()
    proc = emulator_process()
    rc, ok = 1, True
    try:
        rc = subprocess.call(cmd, env=client_env())
    finally:
        if proc:
            log(f"emulator memory after the run: {rss_mib(proc):.0f} MiB RSS")
            ok = check_loopback_only(proc)
        if started:
            ok = stop() and ok
        else:
            log("left running: this run did not start it (`emulator.py stop` stops it)")
    return rc if ok else (rc or 1)


def status():
    proc = emulator_process()
    print(
        json.dumps(
            {
                "running": bool(proc),
                "pid": proc.pid if proc else None,
                "healthy": healthy(),
                "endpoint": ENDPOINT,
                "rss_mib": round(rss_mib(proc)) if proc else None,
            }
        )
    )


def main(argv):
    cmd, rest = (argv[0], argv[1:]) if argv else ("", [])
    if cmd == "catalog":
        build_catalog()
    elif cmd == "start":
        build_catalog()
        start()
    elif cmd == "stop":
        return 0 if stop() else 1
    elif cmd == "status":
        status()
    elif cmd == "run":
        build_catalog()
        return run(rest[1:] if rest[:1] == ["--"] else rest)
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
