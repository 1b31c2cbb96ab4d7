//! The example binaries' shared driver is `skyforge-cli`; this crate re-exports it so each
//! binary stays a stack definition and one `main_with` call. Copy a binary as the starting point
//! of your own deploy tool.

pub use skyforge_cli::*;
