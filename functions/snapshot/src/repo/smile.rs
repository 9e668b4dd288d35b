//! SMILE, Jackson's binary JSON, decoded into and encoded from [`Node`].
//!
//! Elasticsearch and OpenSearch write every metadata blob (`snap-*.dat`, `meta-*.dat`, shard
//! `index-*`) as SMILE with header flags 0x05: shared key names and raw binary. The decoder also
//! takes shared string values and 7-bit binary, so it reads anything Jackson writes. Jackson's
//! `SmileParser`/`SmileGenerator` are the reference; where the spec and Jackson differ, Jackson
//! wins because that is what wrote the bytes.
//!
//! The decoder never panics: every read is bounds-checked and every malformed input is an error
//! carrying the byte offset (from the start of the SMILE document) where it went wrong.

use crate::repo::node::Node;

mod bignum;
#[cfg(test)]
mod corpus_tests;
mod encode;
#[cfg(test)]
mod tests;

pub use encode::{encode, EncodeOptions};

const HEADER: [u8; 3] = [0x3A, 0x29, 0x0A];
const FLAG_SHARED_NAMES: u8 = 0x01;
const FLAG_SHARED_VALUES: u8 = 0x02;
const FLAG_RAW_BINARY: u8 = 0x04;
const END_OF_STRING: u8 = 0xFC;
const END_OF_CONTENT: u8 = 0xFF;
/// Jackson's default `StreamReadConstraints` nesting limit.
const MAX_DEPTH: usize = 1000;
/// Both back-reference tables hold 1024 entries (10-bit references) and are emptied, not
/// rotated, when a 1025th entry arrives.
const MAX_SHARED: usize = 1024;
/// BigInteger/BigDecimal magnitudes beyond this are refused: decimal conversion is quadratic
/// and nothing in a repository comes close (Jackson caps numbers at 1000 digits by default).
const MAX_BIG_NUMBER_BYTES: usize = 1024;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SmileError {
    #[error("not a SMILE document: it does not start with the header bytes 3A 29 0A")]
    MissingHeader,
    #[error("SMILE header declares version {version}; only version 0 exists")]
    UnsupportedVersion { version: u8 },
    #[error("SMILE data ends at byte {offset}, inside {what}")]
    Truncated { offset: usize, what: &'static str },
    #[error("invalid SMILE token byte 0x{byte:02X} at byte {offset}: expected {expected}")]
    BadToken {
        offset: usize,
        byte: u8,
        expected: &'static str,
    },
    #[error(
        "{table} back-reference {index} at byte {offset} is undefined: the table has {available} entries"
    )]
    BadBackReference {
        offset: usize,
        table: &'static str,
        index: usize,
        available: usize,
    },
    #[error("invalid UTF-8 in the text at byte {offset}")]
    InvalidUtf8 { offset: usize },
    #[error("malformed {what} at byte {offset}: {reason}")]
    Malformed {
        offset: usize,
        what: &'static str,
        reason: &'static str,
    },
    #[error("nesting deeper than {MAX_DEPTH} arrays/objects at byte {offset}")]
    TooDeep { offset: usize },
    #[error("unexpected byte 0x{byte:02X} at byte {offset} after the root value")]
    TrailingData { offset: usize, byte: u8 },
}

type Result<T> = std::result::Result<T, SmileError>;

/// Decodes one whole SMILE document: the 4-byte header, one root value and, optionally, the
/// 0xFF end-of-content marker. Anything else after the root value is an error.
pub fn decode(bytes: &[u8]) -> Result<Node> {
    if bytes.len() < 4 || bytes[..3] != HEADER {
        return Err(SmileError::MissingHeader);
    }
    let flags = bytes[3];
    if flags >> 4 != 0 {
        return Err(SmileError::UnsupportedVersion {
            version: flags >> 4,
        });
    }
    let mut d = Decoder {
        buf: bytes,
        pos: 4,
        // Without the flag a writer cannot have used references, so none are accepted.
        names: (flags & FLAG_SHARED_NAMES != 0).then(SharedTable::default),
        values: (flags & FLAG_SHARED_VALUES != 0).then(SharedTable::default),
    };
    // Jackson reads 0xFD whatever bit 2 says, so the raw-binary flag is not enforced either.
    let root = d.value()?;
    let mut end = d.pos;
    if bytes.get(end) == Some(&END_OF_CONTENT) {
        end += 1;
    }
    match bytes.get(end) {
        None => Ok(root),
        Some(&byte) => Err(SmileError::TrailingData { offset: end, byte }),
    }
}

/// The back-reference table of key names or of short string values, with Jackson's rule:
/// when a 1025th entry is added the table is emptied and the entry becomes index 0.
#[derive(Default)]
struct SharedTable(Vec<String>);

impl SharedTable {
    fn add(&mut self, s: &str) {
        if self.0.len() == MAX_SHARED {
            self.0.clear();
        }
        self.0.push(s.to_owned());
    }
}

/// An array or object being filled; an object also holds the key its next value goes under.
enum Container {
    Array(Vec<Node>),
    Object(Vec<(String, Node)>, String),
}

struct Decoder<'a> {
    buf: &'a [u8],
    pos: usize,
    names: Option<SharedTable>,
    values: Option<SharedTable>,
}

impl<'a> Decoder<'a> {
    fn byte(&mut self, what: &'static str) -> Result<u8> {
        let b = *self.buf.get(self.pos).ok_or(SmileError::Truncated {
            offset: self.pos,
            what,
        })?;
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8]> {
        if n > self.buf.len() - self.pos {
            return Err(SmileError::Truncated {
                offset: self.buf.len(),
                what,
            });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// Bytes up to the 0xFC end-of-string marker, which is consumed.
    fn until_end_marker(&mut self, what: &'static str) -> Result<&'a [u8]> {
        let rest = &self.buf[self.pos..];
        let n = rest
            .iter()
            .position(|&b| b == END_OF_STRING)
            .ok_or(SmileError::Truncated {
                offset: self.buf.len(),
                what,
            })?;
        self.pos += n + 1;
        Ok(&rest[..n])
    }

    fn text(&mut self, n: usize, what: &'static str) -> Result<String> {
        let start = self.pos;
        utf8(self.take(n, what)?, start)
    }

    /// SMILE's VInt: 7 bits per byte, most significant first, the last byte marked by its high
    /// bit and carrying 6 bits. At most `max_bytes` bytes; the value must fit `bits` bits.
    fn vint(&mut self, max_bytes: usize, bits: u32, what: &'static str) -> Result<u64> {
        let start = self.pos;
        let limit = if bits >= 64 {
            u64::MAX
        } else {
            (1u64 << bits) - 1
        };
        let overflow = SmileError::Malformed {
            offset: start,
            what,
            reason: "the value overflows",
        };
        let mut v: u64 = 0;
        for _ in 0..max_bytes {
            let b = self.byte(what)?;
            let (shift, payload) = if b & 0x80 != 0 { (6, b & 0x3F) } else { (7, b) };
            if v > (limit >> shift) {
                return Err(overflow);
            }
            v = (v << shift) | u64::from(payload);
            if b & 0x80 != 0 {
                return Ok(v);
            }
        }
        Err(SmileError::Malformed {
            offset: start,
            what,
            reason: "too many bytes without an end bit",
        })
    }

    /// A length prefix: an unsigned 31-bit VInt, as Jackson reads it.
    fn length(&mut self, what: &'static str) -> Result<usize> {
        Ok(self.vint(5, 31, what)? as usize)
    }

    /// `n` bytes of data stored 7 bits per byte: full groups of 7 bytes take 8 bytes; a tail of
    /// k bytes takes k + 1, the last one holding the remaining k bits right-aligned.
    fn seven_bit(&mut self, n: usize, what: &'static str) -> Result<Vec<u8>> {
        let start = self.pos;
        let (full, tail) = (n / 7, n % 7);
        let encoded = full * 8 + if tail > 0 { tail + 1 } else { 0 };
        let src = self.take(encoded, what)?;
        let bad = SmileError::Malformed {
            offset: start,
            what,
            reason: "a 7-bit group has bits set outside its payload",
        };
        let mut out = Vec::with_capacity(n);
        for group in src.chunks(8) {
            let data_bytes = if group.len() == 8 { 7 } else { group.len() - 1 };
            let last_bits = if group.len() == 8 {
                7
            } else {
                data_bytes as u32
            };
            let mut acc: u64 = 0;
            for (i, &b) in group.iter().enumerate() {
                let width = if i + 1 == group.len() { last_bits } else { 7 };
                if u32::from(b) >> width != 0 {
                    return Err(bad);
                }
                acc = (acc << width) | u64::from(b);
            }
            for i in (0..data_bytes).rev() {
                out.push((acc >> (8 * i)) as u8);
            }
        }
        Ok(out)
    }

    /// Two's-complement big-endian bytes of a BigInteger or BigDecimal's unscaled value.
    fn big_number_bytes(&mut self, what: &'static str) -> Result<Vec<u8>> {
        let start = self.pos;
        let n = self.length(what)?;
        if n > MAX_BIG_NUMBER_BYTES {
            return Err(SmileError::Malformed {
                offset: start,
                what,
                reason: "longer than 1024 bytes",
            });
        }
        self.seven_bit(n, what)
    }

    /// `count` bytes of 7 bits each folded into an integer; bits above 64 are dropped, as
    /// Jackson drops them for floats (the first byte only carries the top 4 or 1 bits).
    fn fixed_7bit(&mut self, count: usize, what: &'static str) -> Result<u64> {
        let start = self.pos;
        let mut v: u64 = 0;
        for &b in self.take(count, what)? {
            if b & 0x80 != 0 {
                return Err(SmileError::Malformed {
                    offset: start,
                    what,
                    reason: "a byte has its high bit set",
                });
            }
            v = (v << 7) | u64::from(b);
        }
        Ok(v)
    }

    fn shared_value(&self, offset: usize, index: usize) -> Result<Node> {
        let entry = self.values.as_ref().and_then(|t| t.0.get(index));
        match entry {
            Some(s) => Ok(Node::String(s.clone())),
            None => Err(SmileError::BadBackReference {
                offset,
                table: "shared string value",
                index,
                available: self.values.as_ref().map_or(0, |t| t.0.len()),
            }),
        }
    }

    fn shared_name(&self, offset: usize, index: usize) -> Result<String> {
        let entry = self.names.as_ref().and_then(|t| t.0.get(index));
        match entry {
            Some(s) => Ok(s.clone()),
            None => Err(SmileError::BadBackReference {
                offset,
                table: "key name",
                index,
                available: self.names.as_ref().map_or(0, |t| t.0.len()),
            }),
        }
    }

    /// A tiny or short string value; these (and only these) enter the shared-value table.
    fn short_string(&mut self, n: usize) -> Result<Node> {
        let s = self.text(n, "a short string")?;
        if let Some(t) = &mut self.values {
            t.add(&s);
        }
        Ok(Node::String(s))
    }

    /// One value, nested containers included. An explicit stack instead of recursion keeps
    /// 1000 levels safe on small (and unoptimised) thread stacks.
    fn value(&mut self) -> Result<Node> {
        let mut stack: Vec<Container> = Vec::new();
        loop {
            // Inside an object a key (or the end marker) precedes each value.
            let closed = match stack.last_mut() {
                Some(Container::Object(entries, key)) => match self.key()? {
                    Some(k) => {
                        *key = k;
                        None
                    }
                    None => Some(Node::Object(std::mem::take(entries))),
                },
                Some(Container::Array(items)) if self.buf.get(self.pos) == Some(&0xF9) => {
                    self.pos += 1;
                    Some(Node::Array(std::mem::take(items)))
                }
                _ => None,
            };
            let node = match closed {
                Some(node) => {
                    stack.pop();
                    node
                }
                None => {
                    let offset = self.pos;
                    let t = self.byte("a value")?;
                    if t == 0xF8 || t == 0xFA {
                        if stack.len() >= MAX_DEPTH {
                            return Err(SmileError::TooDeep { offset });
                        }
                        stack.push(if t == 0xF8 {
                            Container::Array(Vec::new())
                        } else {
                            Container::Object(Vec::new(), String::new())
                        });
                        continue;
                    }
                    self.scalar(t, offset)?
                }
            };
            match stack.last_mut() {
                None => return Ok(node),
                Some(Container::Array(items)) => items.push(node),
                Some(Container::Object(entries, key)) => entries.push((std::mem::take(key), node)),
            }
        }
    }

    /// Any value but an array or object, its token byte `t` already read at `offset`.
    fn scalar(&mut self, t: u8, offset: usize) -> Result<Node> {
        Ok(match t {
            0x01..=0x1F => self.shared_value(offset, usize::from(t - 1))?,
            0x20 => Node::String(String::new()),
            0x21 => Node::Null,
            0x22 => Node::Bool(false),
            0x23 => Node::Bool(true),
            0x24 => Node::Int(i64::from(zigzag32(self.vint(5, 32, "an int32")? as u32))),
            0x25 => Node::Int(zigzag64(self.vint(11, 64, "an int64")?)),
            0x26 => {
                let raw = self.big_number_bytes("a BigInteger")?;
                let text = bignum::signed_to_decimal(&raw);
                match text.parse::<i64>() {
                    Ok(i) => Node::Int(i),
                    Err(_) => Node::BigInt(text),
                }
            }
            0x28 => {
                let bits = self.fixed_7bit(5, "a float")? as u32;
                Node::Float(f64::from(f32::from_bits(bits)))
            }
            0x29 => Node::Float(f64::from_bits(self.fixed_7bit(10, "a double")?)),
            0x2A => {
                let scale = zigzag32(self.vint(5, 32, "a BigDecimal scale")? as u32);
                let raw = self.big_number_bytes("a BigDecimal")?;
                Node::BigDecimal(bignum::format_decimal(&raw, scale))
            }
            0x40..=0x7F => self.short_string(usize::from(t & 0x3F) + 1)?,
            0x80..=0xBF => self.short_string(usize::from(t & 0x3F) + 2)?,
            0xC0..=0xDF => Node::Int(i64::from(zigzag32(u32::from(t & 0x1F)))),
            0xE0 | 0xE4 => {
                let start = self.pos;
                utf8(self.until_end_marker("a long string")?, start).map(Node::String)?
            }
            0xE8 => {
                let n = self.length("a 7-bit binary length")?;
                Node::Binary(self.seven_bit(n, "7-bit binary data")?)
            }
            0xEC..=0xEF => {
                let low = self.byte("a shared string reference")?;
                self.shared_value(offset, (usize::from(t & 0x03) << 8) | usize::from(low))?
            }
            0xFD => {
                let n = self.length("a raw binary length")?;
                Node::Binary(self.take(n, "raw binary data")?.to_vec())
            }
            _ => {
                return Err(SmileError::BadToken {
                    offset,
                    byte: t,
                    expected: "a value",
                })
            }
        })
    }

    /// The next key of an object, or `None` at the 0xFB end-of-object marker.
    fn key(&mut self) -> Result<Option<String>> {
        let offset = self.pos;
        let t = self.byte("an object")?;
        let name = match t {
            0x20 => return Ok(Some(String::new())),
            0xFB => return Ok(None),
            0x30..=0x33 => {
                let low = self.byte("a key back-reference")?;
                return self
                    .shared_name(offset, (usize::from(t & 0x03) << 8) | usize::from(low))
                    .map(Some);
            }
            0x40..=0x7F => return self.shared_name(offset, usize::from(t & 0x3F)).map(Some),
            0x34 => {
                let start = self.pos;
                utf8(self.until_end_marker("a long key")?, start)?
            }
            0x80..=0xBF => self.text(usize::from(t & 0x3F) + 1, "a key")?,
            0xC0..=0xF7 => self.text(usize::from(t & 0x3F) + 2, "a key")?,
            _ => {
                return Err(SmileError::BadToken {
                    offset,
                    byte: t,
                    expected: "a key or the end of an object",
                })
            }
        };
        // Every literal key joins the table, long 0x34 keys included (Jackson does the same).
        if let Some(t) = &mut self.names {
            t.add(&name);
        }
        Ok(Some(name))
    }
}

fn utf8(bytes: &[u8], offset: usize) -> Result<String> {
    std::str::from_utf8(bytes)
        .map(str::to_owned)
        .map_err(|e| SmileError::InvalidUtf8 {
            offset: offset + e.valid_up_to(),
        })
}

fn zigzag32(z: u32) -> i32 {
    ((z >> 1) as i32) ^ -((z & 1) as i32)
}

fn zigzag64(z: u64) -> i64 {
    ((z >> 1) as i64) ^ -((z & 1) as i64)
}
