//! Tests over larger inputs: every blob of the real ES fixtures, random trees, and mutated or
//! truncated documents that must fail cleanly.

use std::path::{Path, PathBuf};

use super::tests::{every_variant, ES};
use super::*;

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn random_tree(rng: &mut Rng, depth: usize) -> Node {
    let pick = if depth > 4 {
        rng.below(8)
    } else {
        rng.below(10)
    };
    match pick {
        0 => Node::Null,
        1 => Node::Bool(rng.below(2) == 1),
        2 => Node::Int(rng.next() as i64 >> rng.below(64)),
        3 => Node::Float(f64::from_bits(rng.next() & !(0x7FF << 52))),
        4 => Node::String(
            (0..rng.below(90))
                .map(|i| ['a', 'é', '✓', 'Z'][(i + depth) % 4])
                .collect(),
        ),
        5 => Node::Binary((0..rng.below(40)).map(|_| rng.next() as u8).collect()),
        6 => Node::BigInt(format!("-9{}", rng.next())),
        7 => Node::BigDecimal(bignum::format_decimal(
            &bignum::parse_integer(&(rng.next() as i64).to_string()).unwrap(),
            rng.below(40) as i32 - 20,
        )),
        8 => Node::Array(
            (0..rng.below(6))
                .map(|_| random_tree(rng, depth + 1))
                .collect(),
        ),
        _ => Node::Object(
            (0..rng.below(6))
                .map(|_| (format!("f{}", rng.below(80)), random_tree(rng, depth + 1)))
                .collect(),
        ),
    }
}

#[test]
fn random_trees_round_trip() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for i in 0..300 {
        let tree = random_tree(&mut rng, 0);
        let opts = EncodeOptions {
            shared_names: i % 2 == 0,
            raw_binary: i % 3 == 0,
        };
        assert_eq!(decode(&encode(&tree, &opts)).unwrap(), tree);
    }
}

#[test]
fn mutated_and_truncated_input_never_panics() {
    let mut rng = Rng(42);
    let mut seeds: Vec<Vec<u8>> = vec![encode(&every_variant(), &ES)];
    seeds.extend((0..20).map(|_| encode(&random_tree(&mut rng, 0), &ES)));
    if let Some(dir) = fixtures_dir() {
        let blobs = fixture_blobs(&dir.join("ES_7_10_Single"));
        seeds.extend(blobs.into_iter().map(|(_, body)| body));
    }
    for seed in &seeds {
        for _ in 0..200 {
            let _ = decode(&seed[..rng.below(seed.len())]);
        }
        for _ in 0..200 {
            let mut m = seed.clone();
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(m.len());
                match rng.below(3) {
                    0 => m[at] = rng.next() as u8,
                    1 => m[at] ^= 1 << rng.below(8),
                    _ => {
                        m.remove(at);
                    }
                }
            }
            let _ = decode(&m);
        }
    }
}

/// `fixtures/snapshots` in `../shared` beside the project (as CI has it), or in
/// `$BACKFILL_SHARED_DIR` (the integration tests' convention).
fn fixtures_dir() -> Option<PathBuf> {
    let shared = std::env::var_os("BACKFILL_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    Some(shared.join("fixtures/snapshots")).filter(|p| p.is_dir())
}

fn require_fixtures() -> PathBuf {
    fixtures_dir().expect("shared/fixtures/snapshots not found: set BACKFILL_SHARED_DIR")
}

/// The SMILE body of a ChecksumBlobStoreFormat blob: after the codec header
/// (magic, VInt-length name, version) and before the 16-byte footer.
fn smile_body(blob: &[u8]) -> Vec<u8> {
    assert_eq!(blob[..4], [0x3F, 0xD7, 0x6C, 0x17]);
    let name_len = usize::from(blob[4]);
    let body = &blob[4 + 1 + name_len + 4..blob.len() - 16];
    assert_eq!(body[..3], [0x3A, 0x29, 0x0A]);
    body.to_vec()
}

/// Every checksummed blob (`*.dat`, shard `index-*`) of every fixture repository.
fn fixture_blobs(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    fn walk(p: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
        for entry in std::fs::read_dir(p).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let in_shard = path
                .components()
                .rev()
                .nth(3)
                .is_some_and(|c| c.as_os_str() == "indices");
            if path.is_dir() {
                walk(&path, out);
            } else if name.ends_with(".dat") || (in_shard && name.starts_with("index-")) {
                out.push((path.clone(), smile_body(&std::fs::read(&path).unwrap())));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, &mut out);
    out.sort();
    out
}

fn single_repo_blob(pattern: &str) -> Vec<u8> {
    let dir = require_fixtures().join("ES_7_10_Single");
    let blobs = fixture_blobs(&dir);
    let (_, body) = blobs
        .into_iter()
        .find(|(p, _)| p.to_string_lossy().contains(pattern))
        .unwrap_or_else(|| panic!("no blob matching {pattern}"));
    body
}

#[test]
fn decodes_an_elasticsearch_snapshot_info() {
    let info = decode(&single_repo_blob("ES_7_10_Single/snap-")).unwrap();
    let snap = info.get("snapshot").expect("snapshot object");
    assert_eq!(
        snap.get("name").and_then(Node::as_str),
        Some("global_state_snapshot")
    );
    assert_eq!(
        snap.get("uuid").and_then(Node::as_str),
        Some("7_1RHMshSc6c0cuzX1NCDg")
    );
    assert_eq!(
        snap.get("version_id").and_then(Node::as_i64),
        Some(7_100_299)
    );
    assert_eq!(snap.get("state").and_then(Node::as_str), Some("SUCCESS"));
    assert_eq!(
        snap.get("include_global_state").and_then(Node::as_bool),
        Some(true)
    );
    assert_eq!(snap.get("metadata"), Some(&Node::Null));
    assert_eq!(snap.get("total_shards").and_then(Node::as_i64), Some(2));
    let indices: Vec<_> = snap
        .get("indices")
        .and_then(Node::as_array)
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert_eq!(indices, ["posts_2023_02_25", "posts_2024_01_01"]);
}

#[test]
fn decodes_shard_file_lists_with_raw_binary_meta_hash() {
    let shard = decode(&single_repo_blob("TKzEIy9ASTq-FuWhogYPHw/0/snap-")).unwrap();
    assert_eq!(
        shard.get("name").and_then(Node::as_str),
        Some("global_state_snapshot")
    );
    let files = shard.get("files").and_then(Node::as_array).unwrap();
    assert!(files.len() >= 4, "{files:?}");
    let mut hashed = 0;
    for f in files {
        let name = f.get("name").and_then(Node::as_str).unwrap();
        let physical = f.get("physical_name").and_then(Node::as_str).unwrap();
        assert!(name.starts_with("__") || name.starts_with("v__"), "{name}");
        assert_eq!(f.get("part_size").and_then(Node::as_i64), Some(i64::MAX));
        assert_eq!(f.get("written_by").and_then(Node::as_str), Some("8.7.0"));
        if let Some(hash) = f.get("meta_hash") {
            let bytes = hash.as_binary().expect("meta_hash is binary");
            // The whole Lucene file: codec header magic and the length recorded beside it.
            assert_eq!(bytes[..4], [0x3F, 0xD7, 0x6C, 0x17], "{physical}");
            assert_eq!(
                Some(bytes.len() as i64),
                f.get("length").and_then(Node::as_i64)
            );
            hashed += 1;
        }
    }
    assert!(hashed >= 2, "segments_N and .si carry meta_hash");
}

#[test]
fn every_fixture_blob_decodes_and_re_encodes_to_the_same_bytes() {
    let blobs = fixture_blobs(&require_fixtures());
    assert!(blobs.len() >= 30, "found {} blobs", blobs.len());
    for (path, body) in &blobs {
        let tree = decode(body).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        // The encoder makes Jackson's choices (token forms, key table), so it reproduces the
        // bytes ES 5.6–7.10 wrote; a float would differ (always written as a double).
        assert!(
            encode(&tree, &ES) == *body,
            "{} re-encodes differently",
            path.display()
        );
    }
}
