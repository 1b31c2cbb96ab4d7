//! The latency model: how long AWS typically takes, per kind, at scale 1 (issue 21's figures: RDS
//! create ~8 min, Multi-AZ ~15 min, ElastiCache ~8 min, NAT ~2 min, ALB ~3 min, an ECS service's
//! steady state ~2 min; deletions and the Cloud Map namespace as the harness models them,
//! `integration-tests/emulator/skyforge_localstack/latency.py` and `ecs.py`); every other call
//! takes [`CALL`].

/// One mutating call and its settle time, seconds.
pub const CALL: f64 = 1.0;

/// What a kind takes: the create call, the wait until it serves its dependents, the wait until
/// it has settled, the deletion (call and wait).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timing {
    /// The create call.
    pub create: f64,
    /// From the create call's answer to serving its dependents (0 when at once).
    pub ready: f64,
    /// From serving to settled: waited for by the end of the apply, by no dependent (an RDS
    /// instance's first backup: its endpoint serves already). Terraform and CloudFormation wait
    /// for it before any dependent.
    pub settle: f64,
    /// The deletion, until gone.
    pub delete: f64,
}

impl Timing {
    const fn of(ready: f64, delete: f64) -> Timing {
        Timing {
            create: CALL,
            ready,
            settle: 0.0,
            delete,
        }
    }
    const fn settling(mut self, settle: f64) -> Timing {
        self.settle = settle;
        self
    }
    /// Create, serve and settle together (what a tool that awaits every resource until it is
    /// settled waits for).
    pub fn up(&self) -> f64 {
        self.create + self.ready + self.settle
    }
    /// Every figure times `scale`.
    pub fn scaled(&self, scale: f64) -> Timing {
        Timing {
            create: self.create * scale,
            ready: self.ready * scale,
            settle: self.settle * scale,
            delete: self.delete * scale,
        }
    }
}

/// The timing of `kind`; `multi_az` for a database instance in two zones.
pub fn timing(kind: &str, multi_az: bool) -> Timing {
    match kind {
        // creating 420 s, then backing-up 60 s (the endpoint serves); Multi-AZ about 15 minutes
        // in all; deleting 300 s.
        "db_instance" if multi_az => Timing::of(840.0, 300.0).settling(60.0),
        "db_instance" => Timing::of(420.0, 300.0).settling(60.0),
        "cache_replication_group" => Timing::of(480.0, 300.0),
        "nat_gateway" => Timing::of(120.0, 60.0),
        "load_balancer" => Timing::of(180.0, CALL),
        // Tasks provisioned and healthy (steady state); draining 20 s, tasks stopping 30 s.
        "ecs_service" => Timing::of(120.0, 50.0),
        "sd_namespace" => Timing::of(60.0, CALL),
        // Data sources and actions read or run once.
        "availability_zones" | "aws_account" => Timing {
            create: 0.0,
            ready: 0.0,
            settle: 0.0,
            delete: 0.0,
        },
        _ => Timing::of(0.0, CALL),
    }
}

/// The model as a table (kind, create, ready, delete), for the report.
pub fn table() -> Vec<(&'static str, Timing)> {
    [
        "db_instance",
        "cache_replication_group",
        "nat_gateway",
        "load_balancer",
        "ecs_service",
        "sd_namespace",
    ]
    .into_iter()
    .map(|k| (k, timing(k, false)))
    .chain([("db_instance (Multi-AZ)", timing("db_instance", true))])
    .collect()
}
