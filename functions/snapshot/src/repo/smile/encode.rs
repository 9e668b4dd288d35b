//! The SMILE encoder: writes the token forms Jackson's `SmileGenerator` picks, so a tree decoded
//! from an Elasticsearch blob re-encodes to the same bytes (the fixture tests check this).

use std::collections::HashMap;

use super::{bignum, END_OF_STRING, FLAG_RAW_BINARY, FLAG_SHARED_NAMES, HEADER, MAX_SHARED};
use crate::repo::node::Node;

/// Longest key names written in the short forms: 64 ASCII bytes, 56 UTF-8 bytes.
const MAX_SHORT_ASCII_NAME: usize = 64;
const MAX_SHORT_UNICODE_NAME: usize = 56;
/// Longest string value written with a length prefix (the only ones a reader may share).
const MAX_SHORT_VALUE: usize = 64;

/// What [`encode`] writes. `ELASTICSEARCH` matches the header flags 0x05 that ES and
/// OpenSearch use. Shared string values are never written (ES turns them off too).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EncodeOptions {
    /// Header bit 0: repeated key names become back-references.
    pub shared_names: bool,
    /// Header bit 2: binary is written raw (0xFD) instead of 7-bit encoded (0xE8).
    pub raw_binary: bool,
}

impl EncodeOptions {
    pub const ELASTICSEARCH: EncodeOptions = EncodeOptions {
        shared_names: true,
        raw_binary: true,
    };
}

/// Encodes `node` as a SMILE document (header + value, no end marker), choosing the same
/// token forms as Jackson's `SmileGenerator`. `Float` is always written as a double. A
/// `BigInt`/`BigDecimal` whose text is not a number is written as a string.
pub fn encode(node: &Node, opts: &EncodeOptions) -> Vec<u8> {
    let mut flags = 0;
    if opts.shared_names {
        flags |= FLAG_SHARED_NAMES;
    }
    if opts.raw_binary {
        flags |= FLAG_RAW_BINARY;
    }
    let mut e = Encoder {
        out: vec![HEADER[0], HEADER[1], HEADER[2], flags],
        names: opts.shared_names.then(NameIndex::default),
        raw_binary: opts.raw_binary,
    };
    e.value(node);
    e.out
}

/// The generator's side of the key-name table: same numbering as the decoder's.
#[derive(Default)]
struct NameIndex {
    by_name: HashMap<String, usize>,
    count: usize,
}

impl NameIndex {
    fn add(&mut self, name: &str) {
        if self.count == MAX_SHARED {
            self.by_name.clear();
            self.count = 0;
        }
        // Jackson never refers to indexes whose low byte is 0xFE/0xFF (bytes SMILE keeps out
        // of content), but still counts them so the numbering matches the reader's.
        if self.count & 0xFF < 0xFE {
            self.by_name.insert(name.to_owned(), self.count);
        }
        self.count += 1;
    }
}

struct Encoder {
    out: Vec<u8>,
    names: Option<NameIndex>,
    raw_binary: bool,
}

impl Encoder {
    fn value(&mut self, node: &Node) {
        match node {
            Node::Null => self.out.push(0x21),
            Node::Bool(b) => self.out.push(if *b { 0x23 } else { 0x22 }),
            Node::Int(i) => self.int(*i),
            Node::Float(f) => {
                self.out.push(0x29);
                let bits = f.to_bits();
                // 1 + 9 × 7 bits, most significant first.
                for i in (0..10).rev() {
                    self.out.push(((bits >> (7 * i)) & 0x7F) as u8);
                }
            }
            Node::BigInt(text) => match bignum::parse_integer(text) {
                Some(raw) => {
                    self.out.push(0x26);
                    self.seven_bit(&raw);
                }
                None => self.string(text),
            },
            Node::BigDecimal(text) => match bignum::parse_decimal(text) {
                Some((raw, scale)) => {
                    self.out.push(0x2A);
                    self.vint(u64::from(((scale << 1) ^ (scale >> 31)) as u32));
                    self.seven_bit(&raw);
                }
                None => self.string(text),
            },
            Node::String(s) => self.string(s),
            Node::Binary(b) => {
                if self.raw_binary {
                    self.out.push(0xFD);
                    self.vint(b.len() as u64);
                    self.out.extend_from_slice(b);
                } else {
                    self.out.push(0xE8);
                    self.seven_bit(b);
                }
            }
            Node::Array(items) => {
                self.out.push(0xF8);
                for item in items {
                    self.value(item);
                }
                self.out.push(0xF9);
            }
            Node::Object(entries) => {
                self.out.push(0xFA);
                for (k, v) in entries {
                    self.key(k);
                    self.value(v);
                }
                self.out.push(0xFB);
            }
        }
    }

    fn int(&mut self, i: i64) {
        if let Ok(i) = i32::try_from(i) {
            let z = ((i << 1) ^ (i >> 31)) as u32;
            if z <= 0x1F {
                self.out.push(0xC0 + z as u8);
            } else {
                self.out.push(0x24);
                self.vint(u64::from(z));
            }
        } else {
            self.out.push(0x25);
            self.vint(((i << 1) ^ (i >> 63)) as u64);
        }
    }

    fn vint(&mut self, v: u64) {
        let mut groups = vec![0x80 | (v & 0x3F) as u8];
        let mut rest = v >> 6;
        while rest != 0 {
            groups.push((rest & 0x7F) as u8);
            rest >>= 7;
        }
        self.out.extend(groups.iter().rev());
    }

    /// Length-prefixed 7-bit encoding (the inverse of `Decoder::seven_bit`).
    fn seven_bit(&mut self, data: &[u8]) {
        self.vint(data.len() as u64);
        for chunk in data.chunks(7) {
            let acc = chunk.iter().fold(0u64, |a, &b| (a << 8) | u64::from(b));
            let bits = 8 * chunk.len() as u32;
            let full_groups = bits / 7;
            for g in 0..full_groups {
                self.out.push(((acc >> (bits - 7 * (g + 1))) & 0x7F) as u8);
            }
            let rest = bits % 7;
            if rest > 0 {
                self.out.push((acc & ((1 << rest) - 1)) as u8);
            }
        }
    }

    fn string(&mut self, s: &str) {
        let len = s.len();
        if len == 0 {
            self.out.push(0x20);
        } else if len <= MAX_SHORT_VALUE {
            let t = if s.is_ascii() {
                0x40 + (len - 1)
            } else {
                0x80 + (len - 2)
            };
            self.out.push(t as u8);
            self.out.extend_from_slice(s.as_bytes());
        } else {
            self.out.push(if s.is_ascii() { 0xE0 } else { 0xE4 });
            self.out.extend_from_slice(s.as_bytes());
            self.out.push(END_OF_STRING);
        }
    }

    fn key(&mut self, k: &str) {
        if k.is_empty() {
            self.out.push(0x20);
            return;
        }
        if let Some(&ix) = self.names.as_ref().and_then(|n| n.by_name.get(k)) {
            if ix < 64 {
                self.out.push(0x40 + ix as u8);
            } else {
                self.out.push(0x30 + (ix >> 8) as u8);
                self.out.push((ix & 0xFF) as u8);
            }
            return;
        }
        let len = k.len();
        if k.is_ascii() && len <= MAX_SHORT_ASCII_NAME {
            self.out.push(0x80 + (len - 1) as u8);
            self.out.extend_from_slice(k.as_bytes());
        } else if !k.is_ascii() && len <= MAX_SHORT_UNICODE_NAME {
            self.out.push(0xC0 + (len - 2) as u8);
            self.out.extend_from_slice(k.as_bytes());
        } else {
            self.out.push(0x34);
            self.out.extend_from_slice(k.as_bytes());
            self.out.push(END_OF_STRING);
        }
        if let Some(n) = &mut self.names {
            n.add(k);
        }
    }
}
