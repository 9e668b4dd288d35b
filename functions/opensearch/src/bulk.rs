//! The `_bulk` wire format, both ways: the NDJSON body the worker's documents become, and the
//! answer read back as one result per document.

use backfill_core::outgoing::BulkDoc;
use backfill_core::{BulkItemResult, TargetError};

/// Appends one `index` (or `create`) action and its source to an NDJSON body.
fn append_index_action(body: &mut Vec<u8>, doc: &BulkDoc) {
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
pub fn encode(docs: &[&BulkDoc]) -> Vec<u8> {
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
    fn actions_carry_index_id_and_routing() {
        let body = encode(&[
            &BulkDoc {
                index: "i".into(),
                id: "a\"b".into(),
                routing: Some("r".into()),
                source: b"{}".to_vec(),
                ..BulkDoc::default()
            },
            &BulkDoc {
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
