//! `_id` collisions in merged targets, detected by the target and safe under crash and resume.
//!
//! A target fed by several (index, type) sources receives its documents as `create` actions, so
//! the target itself refuses (409 `version_conflict_engine_exception`) a document whose `_id` is
//! already there: nothing is ever overwritten, whatever shard, work item or worker sent the first
//! one, and the verdict survives any crash because it lives in the target. A 409 alone is not a
//! collision, though: after a crash (or a lost `_bulk` response) a worker resends the documents
//! since its last checkpoint, and those are already there. So each 409 is checked with a realtime
//! GET of the document (with its routing): the same `_source` (as JSON values) means this very
//! document was written by an earlier attempt, and it counts as indexed; a different `_source`
//! means another type's document holds the `_id`: a collision, reported with both types.
//!
//! Limitation: two documents of different types with the same `_id` AND equal `_source` cannot be
//! told from a resend; they arrive as one document (cat-indices then shows one missing).

use std::time::Duration;

use crate::outgoing::BulkDoc;
use crate::retry::RetryPolicy;
use crate::target::{Target, TargetError};
use crate::worker::Rejection;

use super::Router;

/// `error_type` of a document not written because its `_id` is taken in a merged target.
pub const COLLISION: &str = "type_collision";
/// `error_type` of a document whose type has no rule in an index that rules name.
pub const UNMAPPED_TYPE: &str = "unmapped_type";

/// Sorts the 409 answers to `create` actions among `rejected` into resends (removed, and
/// returned as (documents, bytes) indexed) and collisions (rewritten as [`COLLISION`]).
pub async fn resolve_conflicts(
    target: &dyn Target,
    router: &Router,
    docs: &[BulkDoc],
    rejected: &mut Vec<Rejection>,
) -> Result<(u64, u64), TargetError> {
    let (mut indexed, mut bytes) = (0, 0);
    let mut kept = Vec::with_capacity(rejected.len());
    for mut r in std::mem::take(rejected) {
        let doc = (r.status == 409)
            .then(|| {
                docs.iter().find(|d| {
                    d.create && d.index == r.index && d.id == r.id && d.doc_type == r.doc_type
                })
            })
            .flatten();
        let Some(doc) = doc else {
            kept.push(r);
            continue;
        };
        let existing = get_with_retries(target, doc).await?;
        match existing {
            Some(there) if same_json(&there, &doc.source) => {
                indexed += 1;
                bytes += doc.source.len() as u64;
            }
            there => {
                let others = router.other_sources(&doc.index, doc.doc_type.as_deref());
                r.error_type = Some(COLLISION.into());
                r.reason = Some(format!(
                    "_id {} of {}/{} collides in merged target {}: {} (type {}) already holds this _id; not written",
                    doc.id,
                    router.index(),
                    doc.doc_type.as_deref().unwrap_or("_doc"),
                    doc.index,
                    if there.is_some() { "a different document" } else { "a document that is gone again" },
                    if others.is_empty() { "unknown".to_string() } else { others.join(" or ") },
                ));
                kept.push(r);
            }
        }
    }
    *rejected = kept;
    Ok((indexed, bytes))
}

/// The target's `_source` of the document's `_id`, through passing failures.
async fn get_with_retries(
    target: &dyn Target,
    doc: &BulkDoc,
) -> Result<Option<Vec<u8>>, TargetError> {
    const RETRY: RetryPolicy = RetryPolicy::doubling(7, Duration::from_millis(100), Duration::MAX);
    RETRY
        .run(
            || target.get_source(&doc.index, &doc.id, doc.routing.as_deref()),
            TargetError::is_retryable,
            |_, _| {},
        )
        .await
}

/// Equal as JSON values: the target may re-serialise a `_source` (key order, spacing).
fn same_json(a: &[u8], b: &[u8]) -> bool {
    match (
        serde_json::from_slice::<serde_json::Value>(a),
        serde_json::from_slice::<serde_json::Value>(b),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}
