use super::*;

pub(super) const ES: EncodeOptions = EncodeOptions::ELASTICSEARCH;

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

pub(super) fn every_variant() -> Node {
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
