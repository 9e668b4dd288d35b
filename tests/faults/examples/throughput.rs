//! Rough loopback throughput of the sink alone and of the proxy in front of it.
//!
//! `cargo run --release -p backfill-faults --example throughput -- [total MiB] [body MiB] [connections]`
//! (defaults 512, 8, 2). Prints MB/s of request bodies and documents/s for each setup.

use std::time::Instant;

use backfill_faults::{BulkSink, FaultPlan, FaultProxy};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;

/// Documents of about 1 KB, as the backfill's are on average.
fn bulk_body(target: usize) -> (Bytes, u64) {
    let filler = "x".repeat(900);
    let mut body = String::with_capacity(target + 2048);
    let mut docs = 0u64;
    while body.len() < target {
        body.push_str(&format!(
            "{{\"index\":{{\"_index\":\"bench\",\"_id\":\"doc-{docs}\"}}}}\n{{\"n\":{docs},\"title\":\"document {docs}\",\"text\":\"{filler}\"}}\n"
        ));
        docs += 1;
    }
    (Bytes::from(body), docs)
}

async fn run(endpoint: &str, body: Bytes, requests: usize, connections: usize) -> f64 {
    let addr = endpoint.trim_start_matches("http://").to_string();
    let start = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..connections {
        let (addr, body) = (addr.clone(), body.clone());
        let mine = requests / connections + usize::from(c < requests % connections);
        tasks.push(tokio::spawn(async move {
            let stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
            stream.set_nodelay(true).unwrap();
            let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .unwrap();
            tokio::spawn(conn);
            for _ in 0..mine {
                let req = Request::post("/_bulk")
                    .header("content-type", "application/x-ndjson")
                    .body(Full::new(body.clone()))
                    .unwrap();
                sender.ready().await.unwrap();
                let resp = sender.send_request(req).await.unwrap();
                assert!(resp.status().is_success(), "{}", resp.status());
                resp.into_body().collect().await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    start.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| {
            a.parse()
                .expect("numbers: total MiB, body MiB, connections")
        })
        .collect();
    let total_mib = args.first().copied().unwrap_or(512);
    let body_mib = args.get(1).copied().unwrap_or(8);
    let connections = args.get(2).copied().unwrap_or(2);
    let (body, docs_per_body) = bulk_body(body_mib << 20);
    let requests = (total_mib / body_mib).max(1);
    println!(
        "{requests} requests of {:.1} MB ({docs_per_body} docs each) over {connections} connections",
        body.len() as f64 / 1e6
    );

    let sink = BulkSink::start().await?;
    let item_plan = FaultPlan {
        item_throttle_every: Some(1000),
        ..FaultPlan::default()
    };
    let plain = FaultProxy::start(&sink.endpoint(), FaultPlan::default()).await?;
    let items = FaultProxy::start(&sink.endpoint(), item_plan).await?;
    for (name, endpoint) in [
        ("sink", sink.endpoint()),
        ("proxy (no faults) -> sink", plain.endpoint()),
        ("proxy (item_throttle_every 1000) -> sink", items.endpoint()),
    ] {
        let before = sink.docs();
        let secs = run(&endpoint, body.clone(), requests, connections).await;
        let bytes = (body.len() * requests) as f64;
        let docs = sink.docs() - before;
        println!(
            "{name:42} {:7.0} MB/s {:10.0} docs/s ({docs} docs received in {secs:.2} s)",
            bytes / secs / 1e6,
            (docs_per_body * requests as u64) as f64 / secs
        );
    }
    Ok(())
}
