//! The speed limit of reading a snapshot: how fast the compression codec alone decompresses
//! the stored-field chunks of every shard, with nothing else done (no parsing, no copying, no
//! output). `make bench` prints the reader's rate beside it.
//!
//! Usage: decompress_limit <repository dir> <snapshot>
//! Prints one JSON line: {"units":…, "compressed_bytes":…, "decompressed_bytes":…, "seconds":…, "mb_per_s":…}

use std::sync::{Arc, Mutex};
use std::time::Instant;

use snapshot::lucene::input::Endian;
use snapshot::lucene::stored_fields::Compression;
use snapshot::lucene::{read_commit, ReadOptions, SegmentReader};
use snapshot::{LocalDirectory, Repository};

type Units = Arc<Mutex<Vec<(Compression, Vec<u8>, usize)>>>;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        eprintln!("usage: decompress_limit <repository dir> <snapshot>");
        std::process::exit(2);
    }
    let repo = Repository::open(Arc::new(LocalDirectory::new(&args[1]))).expect("repository");
    let snap = repo.snapshot(&args[2]).expect("snapshot");
    let opts = ReadOptions {
        verify_checksums: false,
        ..ReadOptions::default()
    };
    let (mut units_n, mut compressed, mut decompressed, mut seconds) = (0u64, 0u64, 0u64, 0f64);
    for index in snap.index_names() {
        let meta = snap.index(&index).expect("index");
        for shard in 0..meta.number_of_shards {
            let files = snap.shard(&meta, shard).expect("shard");
            let dir = snap.shard_directory(&files).expect("directory");
            let commit = read_commit(&dir).expect("commit");
            for sci in &commit.segments {
                // Collect the segment's compressed units as the reader meets them …
                let units: Units = Arc::default();
                let mut seg = SegmentReader::open(&dir, sci, &opts).expect("segment");
                let order = seg.stored_fields().format().order;
                let sink = units.clone();
                seg.stored_fields_mut().set_unit_tap(Some(Box::new(
                    move |c, bytes: &[u8], len| {
                        sink.lock().unwrap().push((c, bytes.to_vec(), len));
                    },
                )));
                while seg.stored_fields_mut().read_next().expect("read").is_some() {}
                drop(seg);
                let units = Arc::try_unwrap(units).unwrap().into_inner().unwrap();
                // … then time decompressing exactly those units, and nothing else.
                let (t, n) = time_units(&units, order);
                seconds += t;
                decompressed += n;
                units_n += units.len() as u64;
                compressed += units.iter().map(|u| u.1.len() as u64).sum::<u64>();
            }
        }
    }
    println!(
        "{{\"units\":{units_n},\"compressed_bytes\":{compressed},\"decompressed_bytes\":{decompressed},\"seconds\":{seconds:.3},\"mb_per_s\":{:.1}}}",
        decompressed as f64 / 1e6 / seconds
    );
}

/// Best of three passes over the units, into one reused buffer (the codec calls only: for the
/// dictionary formats that is a few VInt lengths, then lz4_flex / zlib-rs on each block).
fn time_units(units: &[(Compression, Vec<u8>, usize)], order: Endian) -> (f64, u64) {
    let mut out = vec![0u8; units.iter().map(|u| u.2).max().unwrap_or(0)];
    let mut best = f64::MAX;
    let mut total = 0;
    for _ in 0..3 {
        let start = Instant::now();
        total = 0u64;
        for (c, bytes, len) in units {
            let out = &mut out[..*len];
            let used = c.decode_unit(bytes, out, order).expect("decompress");
            assert_eq!(used, bytes.len());
            total += *len as u64;
        }
        best = best.min(start.elapsed().as_secs_f64());
    }
    (best, total)
}
