//! Generates (or finds in the cache) the repositories written by real engines, with their
//! ground truth, and prints where each is:
//!
//!     cargo run -p backfill-harness --bin real-snapshots [opensearch-2.19] [elasticsearch-1.7] …

use backfill_harness::{RealSnapshots, RealSource};

fn main() {
    let names: Vec<String> = std::env::args().skip(1).collect();
    let sources: Vec<RealSource> = if names.is_empty() {
        RealSource::ALL.to_vec()
    } else {
        names
            .iter()
            .map(|n| {
                RealSource::from_name(n).unwrap_or_else(|| {
                    let known: Vec<&str> = RealSource::ALL.iter().map(|s| s.name()).collect();
                    eprintln!(
                        "real-snapshots: unknown source {n:?} (known: {})",
                        known.join(", ")
                    );
                    std::process::exit(2)
                })
            })
            .collect()
    };
    for source in sources {
        match RealSnapshots::get(source) {
            Ok(real) => println!(
                "{}: {} {} (Lucene {}), repositories {}, snapshots {}: {}",
                source.name(),
                real.engine,
                real.version,
                real.lucene_version,
                real.repositories.join(", "),
                real.snapshots.join(", "),
                real.dir.display()
            ),
            Err(e) => {
                eprintln!("real-snapshots: {e}");
                std::process::exit(1);
            }
        }
    }
}
