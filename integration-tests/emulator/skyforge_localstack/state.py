"""Process-wide harness state: call counts, scripted and rate-based faults, latency scales.

Every request is attributed to an *app*: the `app/<name>` token the AWS SDK for Rust puts in its
user agent (`SdkConfig::app_name`). Tests give each run its own app name, so counts, faults and
latency settings of parallel tests never mix.
"""

import os
import random
import re
import threading
import time
from collections import Counter

_APP_RE = re.compile(r"(?:^|\s)app/([A-Za-z0-9!#$%&'*+\-.^_`|~]+)")

LOCK = threading.RLock()
CALLS: Counter = Counter()  # (app, service, operation) -> count
FAULTS: list = []  # scripted: dicts with app, service, operation, code, status, remaining
RATES: dict = {}  # service -> share of requests answered with a throttling error
APP_RATES: dict = {}  # app -> its own rates (instead of RATES), so parallel tests are unaffected
INJECTED: dict = {}  # app -> how many rate-based faults it was answered with
APP_LATENCY: dict = {}  # app -> scale
RNG = random.Random(int(os.environ.get("SKYFORGE_FAULT_SEED", "1")))


def _parse_rates(spec: str) -> dict:
    out = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        svc, _, rate = part.partition("=")
        out[svc.strip()] = float(rate)
    return out


RATES.update(_parse_rates(os.environ.get("SKYFORGE_FAULT_RATES", "")))
DEFAULT_SCALE = float(os.environ.get("SKYFORGE_LATENCY_SCALE", "0") or 0)


def app_of(headers) -> str:
    for h in ("x-amz-user-agent", "User-Agent"):
        m = _APP_RE.search(headers.get(h, "") or "")
        if m:
            return m.group(1)
    return "-"


def count(app: str, service: str, operation: str) -> None:
    with LOCK:
        CALLS[(app, service, operation)] += 1


def calls_of(app: str | None) -> list:
    with LOCK:
        return [
            {"app": a, "service": s, "operation": o, "count": n}
            for (a, s, o), n in sorted(CALLS.items())
            if app is None or a == app
        ]


def take_fault(app: str, service: str, operation: str):
    """The fault to answer this request with, if any."""
    with LOCK:
        for f in FAULTS:
            if f["remaining"] <= 0:
                continue
            if f.get("app") not in (None, app):
                continue
            if f.get("service") not in (None, service):
                continue
            if f.get("operation") not in (None, operation):
                continue
            f["remaining"] -= 1
            f["injected"] = f.get("injected", 0) + 1
            return f["code"], f.get("status", 400)
        rates = APP_RATES.get(app, RATES)
        rate = rates.get(service, rates.get("*", 0.0))
        if rate and RNG.random() < rate:
            INJECTED[app] = INJECTED.get(app, 0) + 1
            return RNG.choice([("Throttling", 400), ("RequestLimitExceeded", 503), ("ServiceUnavailable", 503)])
    return None


def scale_for(app: str) -> float:
    with LOCK:
        return APP_LATENCY.get(app, DEFAULT_SCALE)


def now() -> float:
    return time.monotonic()
