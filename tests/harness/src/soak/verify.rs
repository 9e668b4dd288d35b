//! The target, document by document: every expected document with its `_routing` and its
//! `_source` (JSON-equal; a source over 64 KiB by the SHA-256 of the bytes the target stored),
//! and nothing else in the trial's indices.

use std::collections::HashMap;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::snapshot::{Source, Truth};
use super::SoakError;
use crate::{encode_path_segment, http_request, HttpResponse};

/// What the target holds against the truth.
#[derive(Debug, Default, Clone)]
pub struct Verdict {
    /// Expected documents absent from the target, or there with another routing or source:
    /// (index, id, why).
    pub lost: Vec<(String, String, String)>,
    /// Documents in the target that the snapshot does not hold.
    pub extra: Vec<(String, String)>,
}

struct Hit {
    routing: Option<String>,
    source: Value,
}

fn call(endpoint: &str, method: &str, path: &str, body: &Value) -> Result<HttpResponse, SoakError> {
    let body = body.to_string();
    let headers: &[(&str, &str)] = &[("content-type", "application/json")];
    http_request(endpoint, method, path, headers, body.as_bytes())
        .map_err(|e| SoakError::Target(e.to_string()))
}

fn ok(r: HttpResponse, what: &str) -> Result<Value, SoakError> {
    if r.status / 100 != 2 {
        return Err(SoakError::Target(format!(
            "{what}: {} {}",
            r.status,
            r.text()
        )));
    }
    r.json()
        .map_err(|e| SoakError::Target(format!("{what}: {e}")))
}

/// Deletes the indices (a trial starts with none of them).
pub fn delete_indices(endpoint: &str, indices: &[&str]) -> Result<(), SoakError> {
    for index in indices {
        let r = call(
            endpoint,
            "DELETE",
            &format!("/{}", encode_path_segment(index)),
            &json!({}),
        )?;
        if r.status != 404 {
            ok(r, &format!("deleting {index}"))?;
        }
    }
    Ok(())
}

/// Every document of an index (empty if it does not exist), by scroll.
fn read_index(endpoint: &str, index: &str) -> Result<HashMap<String, Hit>, SoakError> {
    let path = format!("/{}", encode_path_segment(index));
    let r = call(endpoint, "POST", &format!("{path}/_refresh"), &json!({}))?;
    if r.status == 404 {
        return Ok(HashMap::new());
    }
    ok(r, "_refresh")?;
    let mut out = HashMap::new();
    let first = call(
        endpoint,
        "POST",
        &format!("{path}/_search?scroll=2m"),
        &json!({"size": 500, "sort": ["_doc"]}),
    )?;
    let mut page = ok(first, "_search")?;
    loop {
        let hits = page["hits"]["hits"].as_array().cloned().unwrap_or_default();
        if hits.is_empty() {
            break;
        }
        for h in hits {
            let id = h["_id"].as_str().unwrap_or_default().to_string();
            let hit = Hit {
                routing: h["_routing"].as_str().map(str::to_string),
                source: h["_source"].clone(),
            };
            out.insert(id, hit);
        }
        let scroll_id = page["_scroll_id"].clone();
        let next = call(
            endpoint,
            "POST",
            "/_search/scroll",
            &json!({"scroll": "2m", "scroll_id": scroll_id}),
        )?;
        page = ok(next, "_search/scroll")?;
    }
    if let Some(id) = page["_scroll_id"].as_str() {
        let _ = call(
            endpoint,
            "DELETE",
            "/_search/scroll",
            &json!({"scroll_id": [id]}),
        );
    }
    Ok(out)
}

/// The SHA-256 (hex) of the `_source` bytes the target stored for a document.
fn stored_digest(
    endpoint: &str,
    index: &str,
    id: &str,
    routing: Option<&str>,
) -> Result<(u64, String), SoakError> {
    let mut path = format!(
        "/{}/_source/{}",
        encode_path_segment(index),
        encode_path_segment(id)
    );
    if let Some(r) = routing {
        path.push_str(&format!("?routing={}", encode_path_segment(r)));
    }
    let r = http_request(endpoint, "GET", &path, &[], b"")
        .map_err(|e| SoakError::Target(e.to_string()))?;
    if r.status != 200 {
        return Err(SoakError::Target(format!("GET {path}: {}", r.status)));
    }
    let hex = Sha256::digest(&r.body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok((r.body.len() as u64, hex))
}

/// Compares the target's `indices` with the truth (an index the truth has no document of
/// must hold none).
pub fn verify(endpoint: &str, indices: &[&str], truth: &Truth) -> Result<Verdict, SoakError> {
    let mut verdict = Verdict::default();
    for &index in indices {
        let mut held = read_index(endpoint, index)?;
        let want = truth.range((index.to_string(), String::new())..);
        for ((i, id), doc) in want.take_while(|((i, _), _)| i == index) {
            let Some(hit) = held.remove(id) else {
                verdict.lost.push((i.clone(), id.clone(), "missing".into()));
                continue;
            };
            let why = if hit.routing != doc.routing {
                Some(format!("routing {:?}, not {:?}", hit.routing, doc.routing))
            } else {
                match &doc.source {
                    Source::Json(v) if *v != hit.source => Some("another _source".to_string()),
                    Source::Json(_) => None,
                    Source::Digest { len, sha256 } => {
                        let (got_len, got) =
                            stored_digest(endpoint, i, id, doc.routing.as_deref())?;
                        (got != *sha256).then(|| {
                            format!("_source of {got_len} bytes, sha256 {got}, not {len} bytes {sha256}")
                        })
                    }
                }
            };
            if let Some(why) = why {
                verdict.lost.push((i.clone(), id.clone(), why));
            }
        }
        verdict
            .extra
            .extend(held.into_keys().map(|id| (index.to_string(), id)));
    }
    Ok(verdict)
}
