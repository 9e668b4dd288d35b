//! Identifiers in the shapes Elasticsearch uses, from a small seedable generator so that tests can
//! write the same repository twice.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

/// SplitMix64: tiny, good enough for identifiers, and reproducible from a seed.
pub(crate) struct Ids {
    state: u64,
}

impl Ids {
    /// `None` seeds from the clock and the process id, so two runs differ.
    pub(crate) fn new(seed: Option<u64>) -> Self {
        let state = seed.unwrap_or_else(|| {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
            nanos ^ (u64::from(std::process::id()) << 32)
        });
        Ids { state }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        for chunk in out.chunks_mut(8) {
            let r = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&r[..chunk.len()]);
        }
        out
    }

    /// `UUIDs.randomBase64UUID()`: a version-4 UUID as 22 characters of URL-safe base64. Used for
    /// snapshot uuids, index ids, `index.uuid`, shard generations and `__` blob names.
    pub(crate) fn uuid(&mut self) -> String {
        let mut b: [u8; 16] = self.bytes();
        b[6] = (b[6] & 0x0F) | 0x40;
        b[8] = (b[8] & 0x3F) | 0x80;
        URL_SAFE_NO_PAD.encode(b)
    }

    /// `UUIDs.base64UUID()` is time-based and 15 bytes long (20 characters); ES uses it for the
    /// blob ids of index metadata. Random bytes of the same length do as well here.
    pub(crate) fn short_id(&mut self) -> String {
        URL_SAFE_NO_PAD.encode(self.bytes::<15>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_elasticsearch_lengths_and_repeat_with_a_seed() {
        let mut a = Ids::new(Some(7));
        let mut b = Ids::new(Some(7));
        let u = a.uuid();
        assert_eq!(u.len(), 22);
        assert!(u
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
        assert_eq!(a.short_id().len(), 20);
        assert_eq!(b.uuid(), u);
        assert_ne!(a.uuid(), u);
    }
}
