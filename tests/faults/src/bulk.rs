//! The `_bulk` format, as much of it as the proxy and the sink need: action lines, the split of an
//! NDJSON body into actions, and the item results (synthesised or merged into upstream's).

use std::fmt;
use std::marker::PhantomData;
use std::ops::Range;

use memchr::memchr;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::error::FaultError;

const REJECTED: &str = "rejected execution of coordinating operation [injected by fault-proxy]";

/// The whole-request 429, as OpenSearch answers when its indexing pressure limit is hit.
pub(crate) fn throttled_body() -> String {
    format!(
        r#"{{"error":{{"root_cause":[{{"type":"es_rejected_execution_exception","reason":"{REJECTED}"}}],"type":"es_rejected_execution_exception","reason":"{REJECTED}"}},"status":429}}"#
    )
}

/// The whole-request 503, as OpenSearch answers while its cluster state is not recovered.
pub(crate) fn unavailable_body() -> String {
    let reason = "blocked by: [SERVICE_UNAVAILABLE/1/state not recovered / initialized];";
    format!(
        r#"{{"error":{{"root_cause":[{{"type":"cluster_block_exception","reason":"{reason}"}}],"type":"cluster_block_exception","reason":"{reason}"}},"status":503}}"#
    )
}

/// A whole-request 5xx and its content type: 503 as [`unavailable_body`], 500 as a node's
/// internal error, 502 and 504 as a load balancer in front of the cluster answers them.
pub(crate) fn server_error_body(status: u16) -> (&'static str, String) {
    const JSON: &str = "application/json; charset=UTF-8";
    match status {
        503 => (JSON, unavailable_body()),
        500 => {
            let reason = "internal error injected by fault-proxy";
            (
                JSON,
                format!(
                    r#"{{"error":{{"root_cause":[{{"type":"exception","reason":"{reason}"}}],"type":"exception","reason":"{reason}"}},"status":500}}"#
                ),
            )
        }
        status => {
            let what = if status == 504 {
                "Gateway Time-out"
            } else {
                "Bad Gateway"
            };
            (
                "text/html",
                format!("<html>\r\n<head><title>{status} {what}</title></head>\r\n<body>\r\n<center><h1>{status} {what}</h1></center>\r\n</body>\r\n</html>\r\n"),
            )
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Op {
    Index,
    Create,
    Update,
    Delete,
}

impl Op {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Op::Index => "index",
            Op::Create => "create",
            Op::Update => "update",
            Op::Delete => "delete",
        }
    }

    /// Every action but `delete` is followed by a source (or update) line.
    pub(crate) fn has_source(self) -> bool {
        self != Op::Delete
    }
}

#[derive(Deserialize)]
struct Meta<'a> {
    #[serde(rename = "_index", borrow, default)]
    index: Option<&'a RawValue>,
    #[serde(rename = "_id", borrow, default)]
    id: Option<&'a RawValue>,
}

/// One action line, `{"index":{"_index":"i","_id":"1",...}}`. `_index` and `_id` are kept as raw
/// JSON so that they are echoed byte for byte; `None` when absent or null.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ActionMeta<'a> {
    pub op: Op,
    pub index: Option<&'a RawValue>,
    pub id: Option<&'a RawValue>,
}

impl<'de: 'a, 'a> Deserialize<'de> for ActionMeta<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = ActionMeta<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object with one of index, create, update, delete")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                let op: Op = map
                    .next_key()?
                    .ok_or_else(|| de::Error::custom("empty action"))?;
                let meta: Meta<'a> = map.next_value()?;
                if map.next_key::<IgnoredAny>()?.is_some() {
                    return Err(de::Error::custom("more than one action on a line"));
                }
                Ok(ActionMeta {
                    op,
                    index: meta.index,
                    id: meta.id,
                })
            }
        }
        d.deserialize_map(V(PhantomData))
    }
}

pub(crate) fn parse_action(line: &[u8]) -> Option<ActionMeta<'_>> {
    serde_json::from_slice(line).ok()
}

/// One action of a body: its metadata and the bytes of its line(s), newlines included.
#[derive(Debug)]
pub(crate) struct Action<'a> {
    pub meta: ActionMeta<'a>,
    pub bytes: Range<usize>,
}

/// The line starting at `pos` (without its `\n`) and where the next one starts.
fn line_at(body: &[u8], pos: usize) -> (&[u8], usize) {
    match memchr(b'\n', &body[pos..]) {
        Some(i) => (&body[pos..pos + i], pos + i + 1),
        None => (&body[pos..], body.len()),
    }
}

/// Splits an uncompressed NDJSON body into actions. Blank lines between actions are skipped (and
/// dropped if the body is rebuilt), as OpenSearch skips them.
pub(crate) fn split_actions(body: &[u8]) -> Result<Vec<Action<'_>>, FaultError> {
    let mut actions = Vec::new();
    let mut pos = 0;
    while pos < body.len() {
        let (line, next) = line_at(body, pos);
        if line.trim_ascii().is_empty() {
            pos = next;
            continue;
        }
        let meta = parse_action(line).ok_or(FaultError::Bulk("a line is not a valid action"))?;
        let start = pos;
        pos = next;
        if meta.op.has_source() {
            if pos >= body.len() {
                return Err(FaultError::Bulk("an action without its source line"));
            }
            pos = line_at(body, pos).1;
        }
        actions.push(Action {
            meta,
            bytes: start..pos,
        });
    }
    Ok(actions)
}

/// The 429 item result for an action the proxy did not forward. `default_index` is the JSON of
/// the index named in the path (`/<index>/_bulk`), used when the action line names none.
pub(crate) fn throttled_item(meta: &ActionMeta<'_>, default_index: Option<&str>) -> String {
    let index = meta
        .index
        .map(RawValue::get)
        .or(default_index)
        .unwrap_or("null");
    let id = meta.id.map_or("null", RawValue::get);
    format!(
        r#"{{"{}":{{"_index":{index},"_id":{id},"status":429,"error":{{"type":"es_rejected_execution_exception","reason":"{REJECTED}"}}}}}}"#,
        meta.op.name()
    )
}

/// The response when no action of a request was forwarded.
pub(crate) fn synthesized_response(items: &[String]) -> Vec<u8> {
    let mut out = Vec::with_capacity(40 + items.iter().map(|i| i.len() + 1).sum::<usize>());
    out.extend_from_slice(br#"{"took":0,"errors":true,"items":["#);
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(item.as_bytes());
    }
    out.extend_from_slice(b"]}");
    out
}

/// A JSON object's members in their order, values raw, so that a rewrite keeps everything else.
struct OrderedObject<'a>(Vec<(String, &'a RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for OrderedObject<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = OrderedObject<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                let mut members = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, &'a RawValue>()? {
                    members.push((k, v));
                }
                Ok(OrderedObject(members))
            }
        }
        d.deserialize_map(V(PhantomData))
    }
}

/// Merges upstream's response to the forwarded actions with the 429 items of the others.
/// `slots[i]` is `None` for an action that was forwarded, or its synthesised item. `None` when
/// upstream's body is not a bulk response with one item per forwarded action.
pub(crate) fn merge_response(upstream: &[u8], slots: &[Option<String>]) -> Option<Vec<u8>> {
    let object: OrderedObject<'_> = serde_json::from_slice(upstream).ok()?;
    let items_raw = object.0.iter().find(|(k, _)| k == "items")?.1;
    let items: Vec<&RawValue> = serde_json::from_str(items_raw.get()).ok()?;
    if items.len() != slots.iter().filter(|s| s.is_none()).count() {
        return None;
    }
    let mut out = Vec::with_capacity(upstream.len() + slots.len() * 200);
    out.push(b'{');
    let mut wrote_errors = false;
    for (i, (key, value)) in object.0.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut out, key).ok()?;
        out.push(b':');
        match key.as_str() {
            "errors" => {
                out.extend_from_slice(b"true");
                wrote_errors = true;
            }
            "items" => {
                out.push(b'[');
                let mut upstream_items = items.iter();
                for (j, slot) in slots.iter().enumerate() {
                    if j > 0 {
                        out.push(b',');
                    }
                    match slot {
                        Some(item) => out.extend_from_slice(item.as_bytes()),
                        None => out.extend_from_slice(upstream_items.next()?.get().as_bytes()),
                    }
                }
                out.push(b']');
            }
            _ => out.extend_from_slice(value.get().as_bytes()),
        }
    }
    if !wrote_errors {
        out.extend_from_slice(br#","errors":true"#);
    }
    out.push(b'}');
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_index_create_update_delete() {
        let body = b"{\"index\":{\"_index\":\"a\",\"_id\":\"1\"}}\n{\"f\":1}\n\n{\"delete\":{\"_id\":\"2\"}}\n{\"update\":{\"_id\":\"3\"}}\n{\"doc\":{}}\n{\"create\":{\"_index\":\"b\"}}\n{}";
        let actions = split_actions(body).unwrap();
        let ops: Vec<_> = actions.iter().map(|a| a.meta.op).collect();
        assert_eq!(ops, [Op::Index, Op::Delete, Op::Update, Op::Create]);
        assert_eq!(actions[0].meta.id.unwrap().get(), "\"1\"");
        assert_eq!(
            &body[actions[1].bytes.clone()],
            b"{\"delete\":{\"_id\":\"2\"}}\n"
        );
        assert!(actions[3].meta.id.is_none());
        assert_eq!(actions[3].bytes.end, body.len());
    }

    #[test]
    fn rejects_bad_bodies() {
        assert!(split_actions(b"{\"index\":{}}\n").is_err());
        assert!(split_actions(b"{\"nope\":{}}\n{}\n").is_err());
        assert!(split_actions(b"{\"index\":{},\"delete\":{}}\n{}\n").is_err());
    }

    #[test]
    fn merges_in_order_and_keeps_other_members() {
        let upstream =
            br#"{"took":5,"errors":false,"items":[{"index":{"_id":"b","status":201}}],"x":1}"#;
        let slots = [Some("T1".to_string()), None, Some("T2".to_string())];
        let merged = merge_response(upstream, &slots).unwrap();
        assert_eq!(
            String::from_utf8(merged).unwrap(),
            r#"{"took":5,"errors":true,"items":[T1,{"index":{"_id":"b","status":201}},T2],"x":1}"#
        );
        assert!(merge_response(upstream, &[None, None]).is_none());
    }

    #[test]
    fn throttled_items_echo_raw_ids() {
        let meta = parse_action(br#"{"create":{"_id":"a\"b"}}"#).unwrap();
        let item: serde_json::Value =
            serde_json::from_str(&throttled_item(&meta, Some("\"idx\""))).unwrap();
        assert_eq!(item["create"]["_id"], "a\"b");
        assert_eq!(item["create"]["_index"], "idx");
        assert_eq!(item["create"]["status"], 429);
    }
}
