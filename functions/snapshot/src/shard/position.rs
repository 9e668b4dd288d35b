//! Where reading a shard continues: a segment, a document in it and, where known, the chunk
//! that holds that document; as text in checkpoints.

use std::fmt;
use std::str::FromStr;

use crate::lucene::stored_fields::ChunkStart;

/// Where to continue reading a shard: the next document to read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Position {
    /// Segment name (`_3`); empty for the start of the shard.
    pub segment: String,
    /// Next document id in that segment.
    pub doc: u32,
    /// The stored-fields chunk that holds `doc`, so resuming needs no re-reading of earlier
    /// chunks.
    pub chunk: Option<ChunkStart>,
}

impl Position {
    pub fn start() -> Position {
        Position::default()
    }

    pub fn is_start(&self) -> bool {
        self.segment.is_empty()
    }
}

/// Compact text form for checkpoints: `start` or `_3:120:4096:96` (segment, doc, chunk
/// offset, chunk's first doc) or `_3:120` without a chunk.
impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_start() {
            return f.write_str("start");
        }
        write!(f, "{}:{}", self.segment, self.doc)?;
        if let Some(c) = self.chunk {
            write!(f, ":{}:{}", c.offset, c.doc_base)?;
        }
        Ok(())
    }
}

impl FromStr for Position {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        if s == "start" || s.is_empty() {
            return Ok(Position::start());
        }
        let parts: Vec<&str> = s.split(':').collect();
        let num = |p: &str, what: &str| -> std::result::Result<u64, String> {
            p.parse()
                .map_err(|_| format!("position {s:?}: {what} {p:?} is not a number"))
        };
        let seg = parts[0];
        if !seg.starts_with('_') || seg.len() < 2 {
            return Err(format!("position {s:?}: {seg:?} is not a segment name"));
        }
        let doc = match parts.get(1) {
            Some(d) => u32::try_from(num(d, "document")?)
                .map_err(|_| format!("position {s:?}: document out of range"))?,
            None => return Err(format!("position {s:?} lacks a document number")),
        };
        let chunk = match parts.len() {
            2 => None,
            4 => Some(ChunkStart {
                offset: num(parts[2], "chunk offset")?,
                doc_base: u32::try_from(num(parts[3], "chunk document")?)
                    .map_err(|_| format!("position {s:?}: chunk document out of range"))?,
            }),
            _ => {
                return Err(format!(
                    "position {s:?} has {} parts, expected 2 or 4",
                    parts.len()
                ))
            }
        };
        Ok(Position {
            segment: seg.to_string(),
            doc,
            chunk,
        })
    }
}

impl serde::Serialize for Position {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> serde::Deserialize<'de> for Position {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_round_trip_as_text() {
        for s in ["start", "_3:120", "_a1:7:4096:0"] {
            let p: Position = s.parse().unwrap();
            assert_eq!(p.to_string(), s);
        }
        assert!("_3".parse::<Position>().is_err());
        assert!("x:1".parse::<Position>().is_err());
        assert!("_3:1:2".parse::<Position>().is_err());
        assert!("_3:-1".parse::<Position>().is_err());
    }
}
