//! Starts the local servers and keeps them until standard input closes (or Ctrl-C): for trying
//! things by hand, and for the test that kills a process holding servers.
//!
//!     cargo run -p backfill-harness --bin harness-servers [dynamodb] [moto] [gofakes3] [s3s-fs] [osmem] [opensearch-2.19] [opensearch-3.9]
//!
//! Prints one JSON line per server, `{"server":"moto","endpoint":"http://127.0.0.1:…","pid":…,"log":…}`
//! (a real OpenSearch node and s3s-fs add their `"version"`; s3s-fs, which checks signatures, the
//! `"access_key_id"` and `"secret_access_key"` to sign with), then `{"ready":true}`. With no
//! arguments it starts DynamoDB Local, moto and osmem-server.

use std::io::Read;

use backfill_harness::{
    DynamoDbLocal, Flavour, HarnessError, LocalS3, Moto, OpenSearch, Osmem, S3Emulator,
};

fn main() {
    if let Err(e) = run() {
        eprintln!("harness-servers: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), HarnessError> {
    let mut wanted: Vec<String> = std::env::args().skip(1).collect();
    if wanted.is_empty() {
        wanted = ["dynamodb", "moto", "osmem"].map(String::from).to_vec();
    }
    // Held until the end of main; the servers die with this process in any case.
    let mut held: Vec<Box<dyn std::any::Any>> = Vec::new();
    for name in &wanted {
        let mut version = None;
        let mut credentials = false;
        let (endpoint, pid, log) = match name.as_str() {
            "dynamodb" => {
                let s = DynamoDbLocal::start()?;
                let info = (s.endpoint.clone(), s.pid(), s.log_path().to_path_buf());
                held.push(Box::new(s));
                info
            }
            "moto" => {
                let s = Moto::start()?;
                let info = (s.endpoint.clone(), s.pid(), s.log_path().to_path_buf());
                held.push(Box::new(s));
                info
            }
            "s3s-fs" | "gofakes3" => {
                let emulator = if name == "gofakes3" {
                    S3Emulator::GoFakeS3
                } else {
                    S3Emulator::S3sFs
                };
                let s = LocalS3::start(emulator)?;
                version = Some(emulator.version().to_string());
                credentials = true;
                let info = (s.endpoint.clone(), s.pid(), s.log_path().to_path_buf());
                held.push(Box::new(s));
                info
            }
            "osmem" => {
                let s = Osmem::start()?;
                let info = (s.endpoint.clone(), s.pid(), s.log_path().to_path_buf());
                held.push(Box::new(s));
                info
            }
            "opensearch-2.19" | "opensearch-3.9" => {
                let flavour = if name.ends_with("2.19") {
                    Flavour::V2_19
                } else {
                    Flavour::V3_9
                };
                let s = OpenSearch::start(flavour)?;
                version = Some(s.version.clone());
                let info = (s.endpoint.clone(), s.pid(), s.log_path().to_path_buf());
                held.push(Box::new(s));
                info
            }
            other => {
                eprintln!("harness-servers: unknown server {other:?} (dynamodb, moto, gofakes3, s3s-fs, osmem, opensearch-2.19, opensearch-3.9)");
                std::process::exit(2);
            }
        };
        let mut line =
            serde_json::json!({"server": name, "endpoint": endpoint, "pid": pid, "log": log});
        if let Some(v) = version {
            line["version"] = v.into();
        }
        // A server that checks signatures: what to sign with.
        if credentials {
            line["access_key_id"] = backfill_harness::ACCESS_KEY_ID.into();
            line["secret_access_key"] = backfill_harness::SECRET_ACCESS_KEY.into();
        }
        println!("{line}");
    }
    println!("{}", serde_json::json!({"ready": true}));
    // Blocks until stdin is closed; read errors end the wait too.
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    drop(held);
    Ok(())
}
