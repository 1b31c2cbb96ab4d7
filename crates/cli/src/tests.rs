//! The command line's parsing: options anywhere, defaults, the region chain, refusals.

use clap::Parser;
use skyforge::core::Stage;

use crate::{Cli, Command, options};

fn parse(args: &[&str], region: Option<&str>) -> Result<crate::Options, String> {
    let cli = Cli::try_parse_from(std::iter::once("tool").chain(args.iter().copied()))
        .map_err(|e| e.to_string())?;
    options(cli, "shop", Stage::Staging, region.map(String::from))
}

#[test]
fn options_stand_before_or_after_the_subcommand() {
    let a = parse(
        &[
            "--stage",
            "prod",
            "apply",
            "--auto-approve",
            "--owner",
            "chuong",
        ],
        Some("us-west-1"),
    )
    .unwrap();
    assert_eq!(a.command, Command::Apply);
    assert_eq!(a.env.prefix(), "shop-prod-chuong");
    assert_eq!(a.env.region_name(), Some("us-west-1"));
    assert!(a.auto_approve);
    let p = parse(
        &["plan", "--detailed-exitcode", "--region", "eu-west-1"],
        Some("us-west-1"),
    )
    .unwrap();
    assert!(p.detailed_exitcode && !p.auto_approve);
    assert_eq!(
        p.env.region_name(),
        Some("eu-west-1"),
        "--region wins over the profile's"
    );
}

#[test]
fn subcommands_carry_their_arguments() {
    let d = parse(
        &[
            "deploy",
            "--image",
            "v2",
            "--service",
            "api",
            "--service",
            "web",
        ],
        Some("us-east-1"),
    )
    .unwrap();
    assert_eq!(d.release.image.as_deref(), Some("v2"));
    assert_eq!(d.release.services.len(), 2);
    let r = parse(&["rollback", "--service", "api"], Some("us-east-1")).unwrap();
    assert_eq!(
        (r.service.as_deref(), r.cluster.as_str()),
        (Some("api"), "main")
    );
    let u = parse(&["force-unlock", "5f1c"], Some("us-east-1")).unwrap();
    assert_eq!(u.unlock_id.as_deref(), Some("5f1c"));
    let demo = parse(&["demo"], Some("us-east-1")).unwrap();
    assert!(
        demo.auto_approve && demo.env.is_ephemeral(),
        "a demo is ephemeral and asks nothing"
    );
}

#[test]
fn bad_command_lines_are_refused_with_the_reason() {
    let e = parse(&["apply"], None).unwrap_err();
    assert!(e.contains("no AWS region"), "{e}");
    let e = parse(&["deploy"], Some("us-east-1")).unwrap_err();
    assert!(e.contains("--image"), "{e}");
    let e = parse(&["apply", "--lock-table", "locks"], Some("us-east-1")).unwrap_err();
    assert!(e.contains("--state-bucket"), "{e}");
    let e = parse(&["plan", "--stage", "Prod!"], Some("us-east-1")).unwrap_err();
    assert!(e.contains("Prod!"), "{e}");
    let e = parse(&[], Some("us-east-1")).unwrap_err();
    assert!(e.contains("Usage"), "{e}");
}
