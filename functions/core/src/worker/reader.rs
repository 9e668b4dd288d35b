//! The reading side of a shard: a blocking thread that streams the shard's live documents from
//! the snapshot and groups them into bulk-sized batches, each with the position after its last
//! document.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use snapshot::{Position, ShardEntryRef, ShardReader};
use tokio::sync::mpsc;

use crate::outgoing::{prepare_source, BulkDoc, SourceProblem};
use crate::type_mapping::{Route, Router, UNMAPPED_TYPE};

use super::Rejection;

/// A batch of documents and where reading continues after it.
#[derive(Debug)]
pub struct Batch {
    pub seq: u64,
    pub docs: Vec<BulkDoc>,
    /// Documents that cannot be sent (refused before sending), reported with the batch.
    pub refused: Vec<Rejection>,
    /// Resume position after the batch's last document.
    pub end: Position,
    /// `_source` bytes of the documents as stored.
    pub source_bytes: u64,
}

#[derive(Debug, Clone, Copy)]
pub struct BatchLimits {
    pub max_docs: usize,
    pub max_bytes: usize,
}

/// Reads `reader` to its end (or until `cancel`), sending batches; an error ends the stream.
/// `router` names each document's target index (by its type, under type mappings).
pub fn read_batches(
    mut reader: ShardReader,
    router: Arc<Router>,
    limits: BatchLimits,
    cancel: Arc<AtomicBool>,
    out: mpsc::Sender<Result<Batch, snapshot::Error>>,
) {
    let mut seq = 0;
    let mut batch = new_batch(seq);
    let mut bytes = 0usize;
    loop {
        if cancel.load(Ordering::Relaxed) {
            return;
        }
        let source_index = router.index();
        match reader.next_entry_ref() {
            Ok(Some(ShardEntryRef::Document(doc))) => {
                batch.source_bytes += doc.source.len() as u64;
                batch.end = doc.next_position();
                let (target, create) = match router.route(doc.doc_type.as_deref()) {
                    Route::Send { target, create } => (target, create),
                    // Named and counted like a rejected document, never skipped in silence.
                    Route::Unmapped => {
                        let t = doc.doc_type.as_deref().unwrap_or("(none)");
                        let reason = format!(
                            "type {t} of index {source_index} has no type mapping rule: not migrated"
                        );
                        let mut r = refused(source_index, doc.id.clone(), UNMAPPED_TYPE, reason);
                        r.doc_type = doc.doc_type.clone();
                        batch.refused.push(r);
                        if !continue_batch(&mut seq, &mut batch, &mut bytes, &limits, &out) {
                            return;
                        }
                        continue;
                    }
                };
                match prepare_source(doc.source) {
                    Ok((source, _changed)) => {
                        bytes += source.len() + doc.id.len() + 64;
                        batch.docs.push(BulkDoc {
                            index: target.to_string(),
                            id: doc.id,
                            routing: doc.routing,
                            source,
                            doc_type: doc.doc_type,
                            create,
                        });
                    }
                    Err(problem) => batch.refused.push(refused(
                        source_index,
                        doc.id,
                        "unsupported_source",
                        match problem {
                            SourceProblem::UnsupportedContentType(t) => {
                                format!("_source is {t}; only JSON and SMILE can be sent")
                            }
                            SourceProblem::BadSmile(e) => {
                                format!("_source is SMILE that does not decode: {e}")
                            }
                        },
                    )),
                }
            }
            // Named and counted like a rejected document, never passed over in silence.
            Ok(Some(ShardEntryRef::WithoutSource { id, next })) => {
                batch.end = next;
                batch.refused.push(refused(
                    source_index,
                    id,
                    "no_source",
                    "the snapshot holds no _source for this document (_source disabled, or synthetic _source); it cannot be reindexed".into(),
                ));
            }
            // Sending the stored `_source` would send masks or no vectors: named instead.
            Ok(Some(ShardEntryRef::NotRebuilt { id, reason, next })) => {
                batch.end = next;
                batch
                    .refused
                    .push(refused(source_index, id, "vectors_not_rebuilt", reason));
            }
            Ok(None) => break,
            Err(e) => {
                let _ = out.blocking_send(Err(e));
                return;
            }
        }
        if !continue_batch(&mut seq, &mut batch, &mut bytes, &limits, &out) {
            return;
        }
    }
    if !batch.docs.is_empty() || !batch.refused.is_empty() {
        let _ = out.blocking_send(Ok(batch));
    }
}

/// Sends the batch on once it is full; false when the receiver is gone.
fn continue_batch(
    seq: &mut u64,
    batch: &mut Batch,
    bytes: &mut usize,
    limits: &BatchLimits,
    out: &mpsc::Sender<Result<Batch, snapshot::Error>>,
) -> bool {
    if batch.docs.len() + batch.refused.len() >= limits.max_docs || *bytes >= limits.max_bytes {
        *seq += 1;
        let full = std::mem::replace(batch, new_batch(*seq));
        *bytes = 0;
        return out.blocking_send(Ok(full)).is_ok();
    }
    true
}

/// A document refused before sending.
fn refused(index: &str, id: String, error_type: &str, reason: String) -> Rejection {
    Rejection {
        index: index.to_string(),
        id,
        doc_type: None,
        status: 0,
        error_type: Some(error_type.into()),
        reason: Some(reason),
    }
}

fn new_batch(seq: u64) -> Batch {
    Batch {
        seq,
        docs: Vec::new(),
        refused: Vec::new(),
        end: Position::start(),
        source_bytes: 0,
    }
}
