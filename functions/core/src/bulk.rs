//! The `_bulk` wire format: what the worker sends and how the target answers.

use crate::target::{BulkItemResult, TargetError};

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
            let node = snapshot::repo::smile::decode(stored)
                .map_err(|e| SourceProblem::BadSmile(e.to_string()))?;
            let json = serde_json::to_vec(&node.to_json())
                .map_err(|e| SourceProblem::BadSmile(e.to_string()))?;
            Ok((json, true))
        }
        Some(0xA0..=0xBF) | Some(0xD9) => Err(SourceProblem::UnsupportedContentType("CBOR")),
        _ if stored.starts_with(b"---") => Err(SourceProblem::UnsupportedContentType("YAML")),
        _ => Err(SourceProblem::UnsupportedContentType("not JSON")),
    }
}

/// Appends one `index` (or `create`) action and its source to an NDJSON body.
pub fn append_index_action(body: &mut Vec<u8>, doc: &BulkDoc) {
    body.extend_from_slice(if doc.create {
        b"{\"create\":{\"_index\":"
    } else {
        b"{\"index\":{\"_index\":"
    });
    push_json_str(body, &doc.index);
    body.extend_from_slice(b",\"_id\":");
    push_json_str(body, &doc.id);
    if let Some(r) = &doc.routing {
        body.extend_from_slice(b",\"routing\":");
        push_json_str(body, r);
    }
    body.extend_from_slice(b"}}\n");
    body.extend_from_slice(&doc.source);
    body.push(b'\n');
}

fn push_json_str(out: &mut Vec<u8>, s: &str) {
    serde_json::to_writer(&mut *out, s).expect("writing to a Vec cannot fail");
}

/// Encodes documents as a `_bulk` body.
pub fn encode(docs: &[BulkDoc]) -> Vec<u8> {
    let mut body = Vec::with_capacity(docs.iter().map(|d| d.source.len() + d.id.len() + 64).sum());
    for d in docs {
        append_index_action(&mut body, d);
    }
    body
}

/// Reads a `_bulk` response: one result per action, in order.
pub fn parse_response(body: &[u8], actions: usize) -> Result<Vec<BulkItemResult>, TargetError> {
    #[derive(serde::Deserialize)]
    struct Response {
        items: Vec<std::collections::HashMap<String, Item>>,
    }
    #[derive(serde::Deserialize)]
    struct Item {
        status: u16,
        #[serde(default)]
        error: Option<serde_json::Value>,
    }
    let r: Response = serde_json::from_slice(body).map_err(|e| {
        TargetError::Protocol(format!(
            "bulk response is not what _bulk returns ({e}): {}",
            String::from_utf8_lossy(&body[..body.len().min(300)])
        ))
    })?;
    if r.items.len() != actions {
        return Err(TargetError::Protocol(format!(
            "bulk response has {} item(s) for {actions} action(s)",
            r.items.len()
        )));
    }
    Ok(r.items
        .into_iter()
        .map(|mut m| {
            let item = m
                .drain()
                .next()
                .map(|(_, v)| v)
                .expect("one action per item");
            let (error_type, reason) = match item.error {
                Some(serde_json::Value::Object(e)) => (
                    e.get("type").and_then(|v| v.as_str()).map(str::to_string),
                    e.get("reason").and_then(|v| v.as_str()).map(str::to_string),
                ),
                Some(other) => (None, Some(other.to_string())),
                None => (None, None),
            };
            BulkItemResult {
                status: item.status,
                error_type,
                reason,
            }
        })
        .collect())
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

    #[test]
    fn actions_carry_index_id_and_routing() {
        let body = encode(&[
            BulkDoc {
                index: "i".into(),
                id: "a\"b".into(),
                routing: Some("r".into()),
                source: b"{}".to_vec(),
                ..BulkDoc::default()
            },
            BulkDoc {
                index: "i".into(),
                id: "c".into(),
                routing: None,
                source: b"{\"x\":1}".to_vec(),
                create: true,
                ..BulkDoc::default()
            },
        ]);
        assert_eq!(
            String::from_utf8(body).unwrap(),
            "{\"index\":{\"_index\":\"i\",\"_id\":\"a\\\"b\",\"routing\":\"r\"}}\n{}\n{\"create\":{\"_index\":\"i\",\"_id\":\"c\"}}\n{\"x\":1}\n"
        );
    }

    #[test]
    fn responses_give_one_result_per_action() {
        let body = br#"{"took":3,"errors":true,"items":[
            {"index":{"_index":"i","_id":"a","status":201}},
            {"index":{"_index":"i","_id":"b","status":400,"error":{"type":"mapper_parsing_exception","reason":"bad"}}},
            {"index":{"_index":"i","_id":"c","status":429,"error":{"type":"es_rejected_execution_exception","reason":"busy"}}}]}"#;
        let r = parse_response(body, 3).unwrap();
        assert!(r[0].is_ok());
        assert_eq!(r[1].error_type.as_deref(), Some("mapper_parsing_exception"));
        assert!(!r[1].is_retryable() && r[2].is_retryable());
        assert!(parse_response(body, 2).is_err());
        assert!(parse_response(b"<html>", 1).is_err());
    }
}
