use std::path::{Path, PathBuf};

use super::*;

const ES: EncodeOptions = EncodeOptions::ELASTICSEARCH;

/// A document: the header with `flags`, then `body`.
fn doc(flags: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![0x3A, 0x29, 0x0A, flags];
    v.extend_from_slice(body);
    v
}

fn obj(entries: &[(&str, Node)]) -> Node {
    Node::Object(
        entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    )
}

fn s(text: &str) -> Node {
    Node::String(text.to_string())
}

fn every_variant() -> Node {
    obj(&[
        ("null", Node::Null),
        ("yes", Node::Bool(true)),
        ("no", Node::Bool(false)),
        (
            "ints",
            Node::Array(
                [
                    0,
                    -1,
                    15,
                    -16,
                    16,
                    -17,
                    1000,
                    i32::MAX as i64,
                    i32::MIN as i64,
                ]
                .into_iter()
                .chain([1 << 40, i64::MAX, i64::MIN, -(1 << 33)])
                .map(Node::Int)
                .collect(),
            ),
        ),
        (
            "big",
            Node::BigInt("-123456789012345678901234567890".into()),
        ),
        ("big_u64", Node::BigInt("18446744073709551615".into())),
        (
            "floats",
            Node::Array(vec![
                Node::Float(1.5),
                Node::Float(-0.0),
                Node::Float(f64::MAX),
                Node::Float(1e-300),
                Node::Float(f64::INFINITY),
            ]),
        ),
        (
            "decimals",
            Node::Array(
                ["123.45", "-0.005", "1.23E+4", "5E-7", "0"]
                    .map(|d| Node::BigDecimal(d.into()))
                    .to_vec(),
            ),
        ),
        ("", s("empty key")),
        ("empty", s("")),
        ("tiny", s("a")),
        ("short", s(&"x".repeat(64))),
        ("long", s(&"y".repeat(65))),
        ("unicode", s("héllo wörld ✓ 𝄞")),
        ("long_unicode", s(&"é".repeat(40))),
        ("bin", Node::Binary((0..=255).collect())),
        ("bin_empty", Node::Binary(vec![])),
        ("bin_odd", Node::Binary(vec![0xFF; 13])),
        ("ünïcödé kéy", Node::Int(1)),
        (&"k".repeat(100), s("long key")),
        (
            "nested",
            Node::Array(vec![
                obj(&[("a", Node::Int(1)), ("b", Node::Array(vec![]))]),
                obj(&[("a", Node::Int(2)), ("b", obj(&[]))]),
                obj(&[("a", Node::Int(3)), (&"k".repeat(100), Node::Null)]),
            ]),
        ),
    ])
}

#[test]
fn every_node_variant_round_trips_with_every_option() {
    let tree = every_variant();
    for shared_names in [false, true] {
        for raw_binary in [false, true] {
            let opts = EncodeOptions {
                shared_names,
                raw_binary,
            };
            let bytes = encode(&tree, &opts);
            assert_eq!(
                bytes[3],
                u8::from(shared_names) | (u8::from(raw_binary) << 2)
            );
            assert_eq!(decode(&bytes).unwrap(), tree, "{opts:?}");
        }
    }
}

#[test]
fn small_ints_use_the_single_byte_form() {
    assert_eq!(decode(&doc(0, &[0xC0])), Ok(Node::Int(0)));
    assert_eq!(decode(&doc(0, &[0xC1])), Ok(Node::Int(-1)));
    assert_eq!(decode(&doc(0, &[0xC2])), Ok(Node::Int(1)));
    assert_eq!(decode(&doc(0, &[0xDE])), Ok(Node::Int(15)));
    assert_eq!(decode(&doc(0, &[0xDF])), Ok(Node::Int(-16)));
    assert_eq!(encode(&Node::Int(-16), &ES), doc(5, &[0xDF]));
    assert_eq!(encode(&Node::Int(16), &ES), doc(5, &[0x24, 0xA0]));
}

#[test]
fn vint_numbers_match_what_elasticsearch_wrote() {
    // Bytes from ES 7.10's snap-*.dat: version_id, start_time and part_size = Long.MAX_VALUE.
    let version = [0x24, 0x0D, 0x45, 0x3C, 0x96];
    let start = [0x25, 0x01, 0x47, 0x19, 0x57, 0x63, 0x6B, 0xB4];
    let long_max = [
        0x25, 0x03, 0x7F, 0x7F, 0x7F, 0x7F, 0x7F, 0x7F, 0x7F, 0x7F, 0xBE,
    ];
    assert_eq!(decode(&doc(5, &version)), Ok(Node::Int(7_100_299)));
    assert_eq!(decode(&doc(5, &start)), Ok(Node::Int(1_711_120_727_418)));
    assert_eq!(decode(&doc(5, &long_max)), Ok(Node::Int(i64::MAX)));
    assert_eq!(encode(&Node::Int(7_100_299), &ES), doc(5, &version));
    assert_eq!(encode(&Node::Int(1_711_120_727_418), &ES), doc(5, &start));
    assert_eq!(encode(&Node::Int(i64::MAX), &ES), doc(5, &long_max));
}

#[test]
fn floats_are_seven_bit_groups_of_the_ieee_bits() {
    // 1.5f = 0x3FC00000: 4 bits, then 4 × 7 bits.
    let float = [0x28, 0x03, 0x7E, 0x00, 0x00, 0x00];
    assert_eq!(decode(&doc(0, &float)), Ok(Node::Float(1.5)));
    // 1.0 = 0x3FF0000000000000: 1 bit, then 9 × 7 bits.
    let double = [0x29, 0x00, 0x3F, 0x78, 0, 0, 0, 0, 0, 0, 0];
    assert_eq!(decode(&doc(0, &double)), Ok(Node::Float(1.0)));
    assert_eq!(encode(&Node::Float(1.0), &ES), doc(5, &double));
}

#[test]
fn big_numbers_decode_to_text() {
    // BigInteger 2^64: nine bytes 01 00.. in 7-bit form (one full group + a 2-byte tail).
    let mut big = vec![0x26, 0x89, 0x00, 0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    assert_eq!(
        decode(&doc(0, &big)),
        Ok(Node::BigInt("18446744073709551616".into()))
    );
    // A BigInteger that fits an i64 reads as an Int.
    big = vec![0x26, 0x81, 0x02, 0x01];
    assert_eq!(decode(&doc(0, &big)), Ok(Node::Int(5)));
    // BigDecimal 1.5: scale 1 (zigzag 2), unscaled 15.
    let dec = [0x2A, 0x82, 0x81, 0x07, 0x01];
    assert_eq!(decode(&doc(0, &dec)), Ok(Node::BigDecimal("1.5".into())));
    assert_eq!(encode(&Node::BigDecimal("1.5".into()), &ES), doc(5, &dec));
}

#[test]
fn strings_use_tiny_short_and_long_forms() {
    assert_eq!(decode(&doc(0, &[0x20])), Ok(s("")));
    assert_eq!(decode(&doc(0, &[0x40, b'a'])), Ok(s("a")));
    assert_eq!(decode(&doc(0, &[0x80, 0xC3, 0xA9])), Ok(s("é")));
    let mut long = vec![0xE0];
    long.extend_from_slice(&[b'z'; 70]);
    long.push(0xFC);
    assert_eq!(decode(&doc(0, &long)), Ok(s(&"z".repeat(70))));
    assert_eq!(encode(&s(&"z".repeat(70)), &ES), doc(5, &long));
    let mut short = vec![0x7F];
    short.extend_from_slice(&[b'q'; 64]);
    assert_eq!(encode(&s(&"q".repeat(64)), &ES), doc(5, &short));
}

#[test]
fn raw_and_seven_bit_binary() {
    assert_eq!(
        decode(&doc(4, &[0xFD, 0x83, 1, 2, 3])),
        Ok(Node::Binary(vec![1, 2, 3]))
    );
    // 0xFF as 7-bit: seven high bits, then the last bit right-aligned.
    assert_eq!(
        decode(&doc(0, &[0xE8, 0x81, 0x7F, 0x01])),
        Ok(Node::Binary(vec![0xFF]))
    );
    let opts = EncodeOptions {
        shared_names: true,
        raw_binary: false,
    };
    assert_eq!(
        encode(&Node::Binary(vec![0xFF]), &opts),
        doc(1, &[0xE8, 0x81, 0x7F, 0x01])
    );
    assert_eq!(
        encode(&Node::Binary(vec![1, 2, 3]), &ES),
        doc(5, &[0xFD, 0x83, 1, 2, 3])
    );
}

#[test]
fn long_keys_and_key_back_references() {
    // [{"a":1},{"a":2}]: the second "a" is short back-reference 0x40.
    let body = [
        0xF8, 0xFA, 0x80, b'a', 0xC2, 0xFB, 0xFA, 0x40, 0xC4, 0xFB, 0xF9,
    ];
    let tree = Node::Array(vec![
        obj(&[("a", Node::Int(1))]),
        obj(&[("a", Node::Int(2))]),
    ]);
    assert_eq!(decode(&doc(5, &body)), Ok(tree.clone()));
    assert_eq!(encode(&tree, &ES), doc(5, &body));
    // A 70-byte key is written 0x34 … 0xFC and still enters the table.
    let key = "k".repeat(70);
    let mut body = vec![0xF8, 0xFA, 0x34];
    body.extend_from_slice(key.as_bytes());
    body.extend_from_slice(&[0xFC, 0x21, 0xFB, 0xFA, 0x40, 0x21, 0xFB, 0xF9]);
    let tree = Node::Array(vec![obj(&[(&key, Node::Null)]), obj(&[(&key, Node::Null)])]);
    assert_eq!(decode(&doc(1, &body)), Ok(tree.clone()));
    assert_eq!(encode(&tree, &ES), doc(5, &body));
    // A back-reference without the shared-names flag is refused.
    assert!(matches!(
        decode(&doc(4, &[0xFA, 0x80, b'a', 0x21, 0x40, 0x21, 0xFB])),
        Err(SmileError::BadBackReference {
            offset: 8,
            available: 0,
            ..
        })
    ));
}

#[test]
fn the_key_table_restarts_after_1024_names() {
    // 1100 distinct literal keys, then back-reference 0: Jackson emptied the table when the
    // 1025th key arrived, so index 0 is "k1024".
    let mut body = vec![0xFA];
    for i in 0..1100 {
        let k = format!("k{i}");
        body.push(0x80 + (k.len() - 1) as u8);
        body.extend_from_slice(k.as_bytes());
        body.push(0xC0);
    }
    body.extend_from_slice(&[0x40, 0xC2, 0x30, 0x4B, 0xC4, 0xFB]);
    let Node::Object(entries) = decode(&doc(1, &body)).unwrap() else {
        panic!("not an object");
    };
    assert_eq!(entries[1100], ("k1024".to_string(), Node::Int(1)));
    assert_eq!(entries[1101], ("k1099".to_string(), Node::Int(2)));
    // Reference 76 is past the 76 names seen since the restart.
    let n = body.len();
    body[n - 3] = 0x4C;
    assert!(matches!(
        decode(&doc(1, &body)),
        Err(SmileError::BadBackReference {
            index: 76,
            available: 76,
            ..
        })
    ));
}

#[test]
fn the_encoder_restarts_its_table_and_skips_fe_ff_references() {
    let keys: Vec<String> = (0..1300).map(|i| format!("key{i}")).collect();
    let flat = Node::Object(keys.iter().map(|k| (k.clone(), Node::Int(0))).collect());
    // Repeat names from before and after the restart, and the ones at indexes 0xFE and 0x1FF.
    let again = ["key254", "key511", "key1000", "key1030", "key1"].map(|k| (k.into(), Node::Null));
    let tree = Node::Array(vec![flat, Node::Object(again.to_vec())]);
    let bytes = encode(&tree, &ES);
    assert_eq!(decode(&bytes).unwrap(), tree);
    // How often a key is written out in full: its short-ASCII token byte, then its bytes.
    let literal = |key: &str| {
        let mut needle = vec![0x80 + (key.len() - 1) as u8];
        needle.extend_from_slice(key.as_bytes());
        bytes.windows(needle.len()).filter(|w| *w == needle).count()
    };
    assert_eq!(literal("key254"), 2, "index 0xFE is never referenced");
    assert_eq!(literal("key511"), 2, "index 0x1FF is never referenced");
    assert_eq!(literal("key1000"), 2, "dropped when the table restarted");
    assert_eq!(literal("key1"), 2, "dropped when the table restarted");
    assert_eq!(literal("key1030"), 1, "index 6 after the restart");
}

#[test]
fn shared_string_values_follow_jacksons_table() {
    // ["abc", ref 0 (short), ref 0 (long form)]
    let body = [0xF8, 0x42, b'a', b'b', b'c', 0x01, 0xEC, 0x00, 0xF9];
    assert_eq!(decode(&doc(3, &body)), Ok(Node::Array(vec![s("abc"); 3])));
    // Long strings do not enter the table.
    let mut body = vec![0xF8, 0xE0];
    body.extend_from_slice(&[b'x'; 70]);
    body.extend_from_slice(&[0xFC, 0x01, 0xF9]);
    assert!(matches!(
        decode(&doc(2, &body)),
        Err(SmileError::BadBackReference {
            index: 0,
            available: 0,
            ..
        })
    ));
    // The table restarts at 1024 entries, like the key table.
    let mut body = vec![0xF8];
    for i in 0..1100 {
        let v = format!("v{i}");
        body.push(0x40 + (v.len() - 1) as u8);
        body.extend_from_slice(v.as_bytes());
    }
    body.extend_from_slice(&[0x01, 0xEC, 0x4B, 0xF9]);
    let Node::Array(items) = decode(&doc(2, &body)).unwrap() else {
        panic!("not an array");
    };
    assert_eq!(items[1100..], [s("v1024"), s("v1099")]);
    // Without the flag, 0x01 is a reference into a table that does not exist.
    assert!(decode(&doc(0, &[0xF8, 0x40, b'a', 0x01, 0xF9])).is_err());
}

#[test]
fn document_framing() {
    assert_eq!(decode(&doc(0, &[0x21, 0xFF])), Ok(Node::Null));
    assert_eq!(
        decode(&doc(0, &[0x21, 0x21])),
        Err(SmileError::TrailingData {
            offset: 5,
            byte: 0x21
        })
    );
    assert_eq!(
        decode(&doc(0, &[0x21, 0xFF, 0x00])),
        Err(SmileError::TrailingData {
            offset: 6,
            byte: 0x00
        })
    );
    assert_eq!(decode(b"{}"), Err(SmileError::MissingHeader));
    assert_eq!(
        decode(&doc(0x10, &[0x21])),
        Err(SmileError::UnsupportedVersion { version: 1 })
    );
    assert_eq!(
        decode(&doc(0, &[])),
        Err(SmileError::Truncated {
            offset: 4,
            what: "a value"
        })
    );
}

#[test]
fn malformed_input_is_reported_with_its_offset() {
    assert_eq!(
        decode(&doc(0, &[0xF8, 0x27])),
        Err(SmileError::BadToken {
            offset: 5,
            byte: 0x27,
            expected: "a value"
        })
    );
    assert!(matches!(
        decode(&doc(0, &[0xFA, 0x35])),
        Err(SmileError::BadToken { offset: 5, .. })
    ));
    assert_eq!(
        decode(&doc(0, &[0x80, 0xC3, 0x28])),
        Err(SmileError::InvalidUtf8 { offset: 5 })
    );
    assert!(matches!(
        decode(&doc(0, &[0x24, 0x7F, 0x7F, 0x7F, 0x7F, 0xBF])),
        Err(SmileError::Malformed { offset: 5, .. })
    ));
    assert!(matches!(
        decode(&doc(0, &[0xFD, 0x8A, 1, 2])),
        Err(SmileError::Truncated { .. })
    ));
    assert!(matches!(
        decode(&doc(0, &[0xE8, 0x81, 0x7F, 0x02])),
        Err(SmileError::Malformed { .. })
    ));
}

#[test]
fn nesting_is_limited_to_1000_levels() {
    let nested = |depth: usize| {
        let mut body = vec![0xF8; depth];
        body.extend(std::iter::repeat_n(0xF9, depth));
        doc(0, &body)
    };
    assert!(decode(&nested(1000)).is_ok());
    assert_eq!(
        decode(&nested(1001)),
        Err(SmileError::TooDeep { offset: 4 + 1000 })
    );
}

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

/// The snapshot fixtures: `SNAPSHOT_FIXTURES`, or `shared/fixtures/snapshots` beside the work tree.
fn fixtures_dir() -> Option<PathBuf> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::env::var_os("SNAPSHOT_FIXTURES")
        .map(PathBuf::from)
        .into_iter()
        .chain([
            manifest.join("../../../shared/fixtures/snapshots"),
            PathBuf::from("/work/shared/fixtures/snapshots"),
        ])
        .find(|p| p.is_dir())
}

fn require_fixtures() -> PathBuf {
    fixtures_dir().expect("snapshot fixtures not found: set SNAPSHOT_FIXTURES")
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
