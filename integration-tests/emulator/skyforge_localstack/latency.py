"""Modeled AWS latencies: created and deleted resources pass through AWS's intermediate states
for scaled-down durations. Durations (seconds at scale 1.0) are documented in docs/testing.md."""

from . import state

# kind -> list of (state, seconds) phases before the final state.
CREATE_PHASES = {
    "rds": [("creating", 420.0), ("backing-up", 60.0)],
    "rds-modify": [("modifying", 120.0)],
    "cache-cluster": [("creating", 360.0)],
    "replication-group": [("creating", 420.0)],
    "replication-group-modify": [("modifying", 300.0)],
    "nat": [("pending", 90.0)],
    "alb": [("provisioning", 150.0)],
    "sd-namespace": [("SUBMITTED", 5.0), ("PENDING", 55.0)],
}
DELETE_SECONDS = {
    "rds": 300.0,
    "cache-cluster": 240.0,
    "replication-group": 300.0,
    "nat": 60.0,
}

_BORN: dict = {}  # (kind, id) -> (t0, scale)
_DYING: dict = {}  # (kind, id) -> (t0, scale, snapshot)


def born(kind: str, rid: str, app: str) -> None:
    scale = state.scale_for(app)
    with state.LOCK:
        _DYING.pop((kind, rid), None)
        if scale > 0:
            _BORN[(kind, rid)] = (state.now(), scale)


def create_phase(kind: str, rid: str):
    """The intermediate state the resource is in now, or None once it reached its final state;
    with the fraction of the whole creation already done."""
    with state.LOCK:
        entry = _BORN.get((kind, rid))
    if not entry:
        return None, 1.0
    t0, scale = entry
    elapsed = state.now() - t0
    total = sum(d for _, d in CREATE_PHASES[kind]) * scale
    acc = 0.0
    for name, dur in CREATE_PHASES[kind]:
        acc += dur * scale
        if elapsed < acc:
            return name, min(elapsed / total, 1.0) if total else 1.0
    return None, 1.0


def dying(kind: str, rid: str, app: str, snapshot) -> bool:
    """Record a deletion; returns whether a modeled 'deleting' window applies."""
    scale = state.scale_for(app)
    with state.LOCK:
        _BORN.pop((kind, rid), None)
        if scale > 0 and kind in DELETE_SECONDS:
            _DYING[(kind, rid)] = (state.now(), scale, snapshot)
            return True
    return False


def still_dying(kind: str):
    """Snapshots of resources of `kind` still inside their deletion window, by id."""
    out = {}
    t = state.now()
    with state.LOCK:
        for (k, rid), (t0, scale, snap) in list(_DYING.items()):
            if k != kind:
                continue
            if t - t0 < DELETE_SECONDS[k] * scale:
                out[rid] = snap
            else:
                del _DYING[(k, rid)]
    return out
