//! Deterministic damage to one blob: bit and byte flips, truncations, huge length and count
//! fields, inserted and deleted bytes, splices; and footers made to match again, so that the
//! damage reaches the parsers behind the checksums.

use std::fmt;

use snapshot::lucene::codec::{CODEC_MAGIC, FOOTER_LEN, FOOTER_MAGIC};

/// splitmix64: small, fast and the same on every machine.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64, case: u64) -> Rng {
        let mut r = Rng(seed ^ case.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        r.next();
        r
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// What was done to the blob, for the report.
#[derive(Debug, Clone)]
pub enum Mutation {
    FlipBits {
        at: Vec<usize>,
    },
    SetBytes {
        at: usize,
        bytes: Vec<u8>,
    },
    Truncate {
        to: usize,
    },
    /// A length, count or VInt field made huge (0xFF…, i32::MAX, a long VLong, …).
    Huge {
        at: usize,
        bytes: Vec<u8>,
    },
    Insert {
        at: usize,
        bytes: Vec<u8>,
    },
    Delete {
        at: usize,
        len: usize,
    },
    /// Bytes of another (or the same) blob copied over these.
    Splice {
        at: usize,
        from: String,
        len: usize,
    },
}

impl fmt::Display for Mutation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mutation::FlipBits { at } => write!(f, "bit flips at {at:?}"),
            Mutation::SetBytes { at, bytes } => write!(f, "bytes {bytes:02x?} at {at}"),
            Mutation::Truncate { to } => write!(f, "truncated to {to} byte(s)"),
            Mutation::Huge { at, bytes } => write!(f, "huge value {bytes:02x?} at {at}"),
            Mutation::Insert { at, bytes } => write!(f, "inserted {bytes:02x?} at {at}"),
            Mutation::Delete { at, len } => write!(f, "deleted {len} byte(s) at {at}"),
            Mutation::Splice { at, from, len } => write!(f, "{len} byte(s) of {from} at {at}"),
        }
    }
}

/// Values that break lengths, counts and offsets, in the encodings Lucene and SMILE use.
const HUGE: &[&[u8]] = &[
    &[0xFF],
    &[0xFF, 0xFF],
    &[0xFF, 0xFF, 0xFF, 0xFF],
    &[0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
    &[0x7F, 0xFF, 0xFF, 0xFF],
    &[0xFF, 0xFF, 0xFF, 0x7F],
    &[0x80, 0x00, 0x00, 0x00],
    &[0x00, 0x00, 0x00, 0x80],
    &[0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
    &[0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F],
    &[0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00],
    &[0xFF, 0xFF, 0xFF, 0xFF, 0x07],
    &[0xFF, 0xFF, 0xFF, 0xFF, 0x0F],
    &[0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F],
    &[0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01],
    &[0x00],
    &[0x00, 0x00, 0x00, 0x00],
];

/// An offset: often in the first bytes (headers, counts and lengths live there), else anywhere.
fn offset(rng: &mut Rng, len: usize) -> usize {
    if len == 0 {
        return 0;
    }
    match rng.below(10) {
        0..=2 => rng.below(len.min(96)),
        3 => len - 1 - rng.below(len.min(24)),
        _ => rng.below(len),
    }
}

fn write_over(data: &mut Vec<u8>, at: usize, bytes: &[u8]) {
    for (i, b) in bytes.iter().enumerate() {
        match data.get_mut(at + i) {
            Some(slot) => *slot = *b,
            None => data.push(*b),
        }
    }
}

/// Damages `data` once; `others` are the other blobs of the repository (name, bytes) to splice.
pub fn mutate(rng: &mut Rng, data: &mut Vec<u8>, others: &[(&str, &[u8])]) -> Mutation {
    let len = data.len();
    if len == 0 {
        let bytes: Vec<u8> = (0..1 + rng.below(16)).map(|_| rng.next() as u8).collect();
        data.extend_from_slice(&bytes);
        return Mutation::Insert { at: 0, bytes };
    }
    match rng.below(9) {
        0 => {
            let at: Vec<usize> = (0..1 + rng.below(8)).map(|_| offset(rng, len)).collect();
            for &a in &at {
                data[a] ^= 1 << rng.below(8);
            }
            Mutation::FlipBits { at }
        }
        1 => {
            let at = offset(rng, len);
            let bytes: Vec<u8> = (0..1 + rng.below(4)).map(|_| rng.next() as u8).collect();
            write_over(data, at, &bytes);
            Mutation::SetBytes { at, bytes }
        }
        2 => {
            // Near the end (a cut-off upload) or anywhere.
            let to = if rng.chance(50) {
                len - 1 - rng.below(len.min(32))
            } else {
                rng.below(len)
            };
            data.truncate(to);
            Mutation::Truncate { to }
        }
        3 | 4 => {
            let at = offset(rng, len);
            let bytes = if rng.chance(40) {
                vec![0xFF; 1 + rng.below(8)]
            } else {
                HUGE[rng.below(HUGE.len())].to_vec()
            };
            write_over(data, at, &bytes);
            Mutation::Huge { at, bytes }
        }
        5 => {
            let at = offset(rng, len);
            let bytes: Vec<u8> = (0..1 + rng.below(16)).map(|_| rng.next() as u8).collect();
            data.splice(at..at, bytes.iter().copied());
            Mutation::Insert { at, bytes }
        }
        6 => {
            let at = offset(rng, len);
            let n = (1 + rng.below(16)).min(len - at);
            data.drain(at..at + n);
            Mutation::Delete { at, len: n }
        }
        _ => {
            let (from, src): (&str, &[u8]) = if others.is_empty() || rng.chance(30) {
                ("itself", &data.clone())
            } else {
                others[rng.below(others.len())]
            };
            if src.is_empty() {
                data.truncate(len - 1);
                return Mutation::Truncate { to: len - 1 };
            }
            let start = rng.below(src.len());
            let n = (1 + rng.below(64)).min(src.len() - start);
            let at = offset(rng, len);
            let piece = src[start..start + n].to_vec();
            write_over(data, at, &piece);
            Mutation::Splice {
                at,
                from: from.to_string(),
                len: n,
            }
        }
    }
}

/// Whether `data` ends in a well-formed Lucene footer (metadata blobs and Lucene files do).
pub fn has_footer(data: &[u8]) -> bool {
    data.len() >= FOOTER_LEN
        && data[data.len() - FOOTER_LEN..data.len() - 12] == FOOTER_MAGIC.to_be_bytes()
}

fn put_footer(data: &mut [u8], start: usize, footer: usize) {
    data[footer..footer + 4].copy_from_slice(&FOOTER_MAGIC.to_be_bytes());
    data[footer + 4..footer + 8].copy_from_slice(&[0; 4]);
    let crc = crc32fast::hash(&data[start..footer + 8]) as u64;
    data[footer + 8..footer + 16].copy_from_slice(&crc.to_be_bytes());
}

/// Makes every checksum in `data` match its content again: the footers of the files inside a
/// compound file (each from a codec header to the next footer), then the blob's own footer.
pub fn fix_footers(data: &mut [u8]) {
    let len = data.len();
    if len < FOOTER_LEN {
        return;
    }
    let header = CODEC_MAGIC.to_be_bytes();
    let mut footer = FOOTER_MAGIC.to_be_bytes().to_vec();
    footer.extend_from_slice(&[0; 4]);
    let mut start = 1;
    while let Some(s) = find(&data[..len - FOOTER_LEN], &header, start) {
        match find(&data[..len - FOOTER_LEN], &footer, s + 4) {
            Some(f) if f + FOOTER_LEN <= len - FOOTER_LEN => {
                put_footer(data, s, f);
                start = f + FOOTER_LEN;
            }
            _ => break,
        }
    }
    put_footer(data, 0, len - FOOTER_LEN);
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}
