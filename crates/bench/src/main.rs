//! `skyforge-bench [--quick] [--cold-builds]`: the benchmark tables (see the crate's docs).

use clap::Parser;
use skyforge_bench::{buildcost, makespan, missed_goals, noop, reference, scale};

/// skyforge's benchmarks: makespans under the latency model, the engine at scale, no-op plans,
/// build cost.
#[derive(Parser)]
struct Args {
    /// The form CI runs: 1,000 nodes for scale, one reference deploy's no-op plan.
    #[arg(long)]
    quick: bool,
    /// Build every area crate alone in an empty target directory (minutes each).
    #[arg(long)]
    cold_builds: bool,
}

fn main() -> std::process::ExitCode {
    reference::placeholder_inputs();
    let args = Args::parse();
    let systems = reference::systems();
    let (apply, destroy) = makespan::all(&systems);
    println!("## Apply makespan (minutes of modelled AWS time)\n");
    println!("{}", skyforge_bench::makespan_table(&apply));
    println!("Critical paths (minutes):\n");
    println!("{}", skyforge_bench::chains(&apply));
    println!("## Destroy makespan\n");
    println!("{}", skyforge_bench::makespan_table(&destroy));
    let sizes: &[usize] = if args.quick { &[1000] } else { &[1000, 5000] };
    println!("## Scale (fakes, no latency)\n");
    println!("{}", skyforge_bench::scale_table(&scale::run(sizes)));
    if std::env::var("AWS_ENDPOINT_URL").is_ok_and(|e| !e.is_empty()) {
        let rt = tokio::runtime::Runtime::new().expect("a runtime");
        let chosen: Vec<_> = systems
            .iter()
            // dougust's secrets have fixed names (`<stage>/dougust/jwt-secret`), which a
            // deleted secret keeps for its recovery window: a second run would meet the first's.
            .filter(|s| s.stage != "prod" && s.name != "dougust")
            .take(if args.quick { 1 } else { usize::MAX })
            .collect();
        let rows: Vec<noop::Noop> = chosen
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let project = format!("bn{}{i}", std::process::id() % 10_000);
                rt.block_on(noop::run(s, &project))
                    .unwrap_or_else(|e| panic!("{} {}: {e}", s.name, s.stage))
            })
            .collect();
        println!("## No-op plan against the emulator (dougust left out: fixed secret names)\n");
        println!("{}", skyforge_bench::noop_table(&rows));
        if !args.quick {
            let project = format!("bw{}", std::process::id() % 10_000);
            let stack = noop::wide(&project, 300).expect("a valid stack");
            let wide = rt.block_on(async {
                let ctx = skyforge_core::Context::load(stack.env().clone()).await?;
                noop::of_stack("300 resources (SSM, logs)".into(), &stack, &ctx).await
            });
            println!(
                "{}",
                skyforge_bench::noop_table(&[wide.expect("the wide stack")])
            );
        }
    } else {
        println!("(no AWS_ENDPOINT_URL: the no-op plans against the emulator are skipped)\n");
    }
    if !args.quick {
        println!("## Build cost\n");
        println!(
            "{}",
            skyforge_bench::build_table(&buildcost::run(args.cold_builds))
        );
    }
    let missed = missed_goals(&apply, &destroy);
    for m in &missed {
        eprintln!("goal missed: {m}");
    }
    if missed.is_empty() {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}
