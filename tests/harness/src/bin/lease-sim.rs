//! The lease protocol at scale (`make bench`): many claimers against DynamoDB Local, short leases,
//! claimers dying with their lease; checks every lease transition and prints the figures.
//!
//!     lease-sim [--items 10000] [--claimers 200] [--lease-ms 2000] [--max-work-ms 400]
//!               [--death-rate 0.02] [--seed 20261207]
//!
//! Exits 1 if a check failed.

use std::time::Duration;

use backfill_harness::lease_sim::{run, SimConfig, SimReport};
use backfill_harness::DynamoDbLocal;

fn arg<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> T {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("lease-sim: {name} {v}: not a valid value"))
        })
        .unwrap_or(default)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cfg = SimConfig {
        items: arg(&args, "--items", 10_000),
        claimers: arg(&args, "--claimers", 200),
        lease: Duration::from_millis(arg(&args, "--lease-ms", 2_000)),
        max_work: Duration::from_millis(arg(&args, "--max-work-ms", 400)),
        death_rate: arg(&args, "--death-rate", 0.02),
        seed: arg(&args, "--seed", 20_261_207),
    };
    let dynamodb = DynamoDbLocal::start().unwrap_or_else(|e| panic!("lease-sim: {e}"));
    let sdk = backfill_harness::sdk_config(&dynamodb.endpoint).await;
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    // `status` at a hundred items, to compare with the run's.
    let small = run(
        client.clone(),
        "lease-sim-small",
        &SimConfig {
            items: 100,
            claimers: 10,
            death_rate: 0.0,
            ..cfg.clone()
        },
    )
    .await;
    let r = run(client, "lease-sim", &cfg).await;
    print(&r, &small, &cfg);
    if !r.violations.is_empty() || !r.completions_wrong.is_empty() {
        std::process::exit(1);
    }
}

fn print(r: &SimReport, small: &SimReport, cfg: &SimConfig) {
    let (p, pf) = (SimReport::percentile::<u64>, SimReport::percentile::<f64>);
    println!(
        "\nLease protocol at scale: {} work items, {} concurrent claimers (tasks of one process) against DynamoDB Local, \
         leases of {} ms, work of up to {} ms per item, {:.0}% of claims die holding the lease",
        r.items,
        r.claimers,
        cfg.lease.as_millis(),
        cfg.max_work.as_millis(),
        cfg.death_rate * 100.0
    );
    println!("| claims | re-claims | deaths | writes refused (lease lost) | requests per claim (median / p99) | claim latency ms (median / p99) | status requests (100 items / {} items, open / done) | violations | items not completed exactly once | seconds |", r.items);
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    println!(
        "| {} | {} | {} | {} | {} / {} | {:.0} / {:.0} | {} / {}, {} / {} | {} | {} | {:.1} |",
        r.claims,
        r.reclaims,
        r.deaths,
        r.lost_writes,
        p(&r.requests_per_claim, 0.5),
        p(&r.requests_per_claim, 0.99),
        pf(&r.claim_ms, 0.5),
        pf(&r.claim_ms, 0.99),
        small.status_requests.0,
        r.status_requests.0,
        small.status_requests.1,
        r.status_requests.1,
        r.violations.len(),
        r.completions_wrong.len(),
        r.wall.as_secs_f64()
    );
    for v in r.violations.iter().chain(&r.completions_wrong).take(20) {
        println!("  {v}");
    }
}
