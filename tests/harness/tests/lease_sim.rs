//! The smoke of the lease simulation (`make bench` runs it at 10,000 items and 200 claimers):
//! 400 items, 40 claimers, short leases, claimers dying with their lease; every lease transition
//! checked and every item completed exactly once.

use std::time::Duration;

use backfill_harness::lease_sim::{run, SimConfig};
use backfill_harness::DynamoDbLocal;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forty_claimers_that_die_now_and_then_never_share_a_live_lease() {
    let dynamodb = DynamoDbLocal::start().expect("DynamoDB Local (run `make harness`)");
    let client =
        aws_sdk_dynamodb::Client::new(&backfill_harness::sdk_config(&dynamodb.endpoint).await);
    let cfg = SimConfig {
        items: 400,
        claimers: 40,
        lease: Duration::from_millis(500),
        max_work: Duration::from_millis(150),
        death_rate: 0.05,
        seed: 7,
    };
    let r = run(client, "lease-smoke", &cfg).await;
    assert!(r.violations.is_empty(), "{:?}", r.violations);
    assert!(r.completions_wrong.is_empty(), "{:?}", r.completions_wrong);
    // The run exercised what it checks: deaths, and their items claimed again.
    assert!(r.deaths > 0 && r.reclaims > 0, "{r:?}");
    assert_eq!(
        r.status_requests.0, r.status_requests.1,
        "status grows with the work done"
    );
}
