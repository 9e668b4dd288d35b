//! A document on its way to the target: the index it goes to, its `_id`, routing and the
//! `_source` as it will be sent. What goes on the wire around it (the `_bulk` format) is the
//! target adapter's (`backfill_opensearch::bulk`).

/// One document to index.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BulkDoc {
    pub index: String,
    pub id: String,
    pub routing: Option<String>,
    /// JSON text on one line (see [`prepare_source`]).
    pub source: Vec<u8>,
    /// Its mapping type in the snapshot (ES 5.x indices), for reports.
    pub doc_type: Option<String>,
    /// A `create` action rather than `index`: into merged targets, so that an `_id` already
    /// there is refused, never overwritten (see `type_mapping::resolve_conflicts`).
    pub create: bool,
}

/// Why a `_source` cannot be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceProblem {
    /// Not JSON (or SMILE, which is converted): CBOR or YAML bodies.
    UnsupportedContentType(&'static str),
    /// SMILE that does not decode.
    BadSmile(String),
}

/// Makes a stored `_source` sendable in NDJSON, changing as little as possible:
/// - JSON is sent byte for byte, except that line breaks between tokens (pretty-printed
///   bodies) become spaces, because `_bulk` needs each source on one line; JSON strings cannot
///   contain raw line breaks, so the document's value is unchanged;
/// - SMILE (bodies indexed with `application/smile`) is converted to JSON;
/// - CBOR and YAML bodies are refused with a reason (reported as rejected documents).
///
/// Returns the bytes and whether they differ from the stored ones.
pub fn prepare_source(stored: &[u8]) -> Result<(Vec<u8>, bool), SourceProblem> {
    let first = stored.iter().copied().find(|b| !b.is_ascii_whitespace());
    match first {
        Some(b'{') | Some(b'[') | None => {
            if stored.iter().any(|&b| b == b'\n' || b == b'\r') {
                let mut v = stored.to_vec();
                for b in &mut v {
                    if *b == b'\n' || *b == b'\r' {
                        *b = b' ';
                    }
                }
                Ok((v, true))
            } else {
                Ok((stored.to_vec(), false))
            }
        }
        _ if stored.starts_with(b":)\n") => {
            let value = snapshot::smile_to_json(stored)
                .map_err(|e| SourceProblem::BadSmile(e.to_string()))?;
            let json =
                serde_json::to_vec(&value).map_err(|e| SourceProblem::BadSmile(e.to_string()))?;
            Ok((json, true))
        }
        Some(0xA0..=0xBF) | Some(0xD9) => Err(SourceProblem::UnsupportedContentType("CBOR")),
        _ if stored.starts_with(b"---") => Err(SourceProblem::UnsupportedContentType("YAML")),
        _ => Err(SourceProblem::UnsupportedContentType("not JSON")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_json_is_sent_byte_for_byte() {
        let src = br#"{"a":"x\ny","b":[1, 2]}"#;
        assert_eq!(prepare_source(src).unwrap(), (src.to_vec(), false));
    }

    #[test]
    fn line_breaks_between_tokens_become_spaces() {
        let src = b"\n{\n  \"title\": \"t\"\r\n}\n";
        let (out, changed) = prepare_source(src).unwrap();
        assert!(changed);
        assert_eq!(out, b" {   \"title\": \"t\"  } ");
        let a: serde_json::Value = serde_json::from_slice(src).unwrap();
        let b: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn smile_is_converted_and_cbor_refused() {
        use snapshot::repo::node::Node;
        use snapshot::repo::smile::{encode, EncodeOptions};
        let node = Node::Object(vec![("k".into(), Node::String("v".into()))]);
        let smile = encode(
            &node,
            &EncodeOptions {
                shared_names: true,
                raw_binary: true,
            },
        );
        assert_eq!(
            prepare_source(&smile).unwrap(),
            (br#"{"k":"v"}"#.to_vec(), true)
        );
        assert_eq!(
            prepare_source(&[0xA1, 0x61]),
            Err(SourceProblem::UnsupportedContentType("CBOR"))
        );
    }
}
