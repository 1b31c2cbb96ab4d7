//! What adding one area crate costs to build: the AWS SDK crates it pulls in (`cargo tree`), and
//! with `--cold-builds` its build alone in an empty target directory.

use std::process::Command;
use std::time::Instant;

/// The area crates.
pub const AREAS: [&str; 12] = [
    "skyforge-network",
    "skyforge-secrets",
    "skyforge-registry",
    "skyforge-state",
    "skyforge-iam",
    "skyforge-database",
    "skyforge-cache",
    "skyforge-loadbalancing",
    "skyforge-compute",
    "skyforge-storage",
    "skyforge-logs",
    "skyforge-monitoring",
];

/// One crate's figures.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BuildCost {
    /// The crate.
    pub krate: String,
    /// The `aws-sdk-*` crates among its normal dependencies.
    pub sdk_crates: Vec<String>,
    /// Its cold build alone, seconds (with `--cold-builds`).
    pub cold_seconds: Option<f64>,
}

fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The `aws-sdk-*` crates `krate` depends on.
pub fn sdk_crates(krate: &str) -> Vec<String> {
    let out = Command::new(env!("CARGO"))
        .args([
            "tree", "-p", krate, "-e", "normal", "--prefix", "none", "--format", "{p}",
        ])
        .current_dir(workspace_root())
        .output()
        .expect("run cargo tree");
    let mut v: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.starts_with("aws-sdk-"))
        .map(str::to_string)
        .collect();
    v.sort();
    v.dedup();
    v
}

/// `cargo build -p krate` in a fresh target directory, seconds.
pub fn cold_build(krate: &str) -> f64 {
    let dir = std::env::temp_dir().join(format!("skyforge-bench-build-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    let t0 = Instant::now();
    let status = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "-p", krate])
        .env("CARGO_TARGET_DIR", &dir)
        .current_dir(workspace_root())
        .status()
        .expect("run cargo build");
    let secs = t0.elapsed().as_secs_f64();
    std::fs::remove_dir_all(&dir).ok();
    assert!(status.success(), "cargo build -p {krate} failed");
    secs
}

/// Every area crate's figures.
pub fn run(cold: bool) -> Vec<BuildCost> {
    AREAS
        .iter()
        .map(|k| BuildCost {
            krate: k.to_string(),
            sdk_crates: sdk_crates(k),
            cold_seconds: cold.then(|| cold_build(k)),
        })
        .collect()
}
