//! Sends one batch until every document is indexed or rejected for good: retries with
//! exponential backoff and full jitter, resending only the documents that failed.

use std::time::{Duration, Instant};

use crate::outgoing::BulkDoc;
use crate::retry::RetryPolicy;
use crate::target::{Target, TargetError};

use super::limiter::AdaptiveLimit;
use super::Rejection;

/// What happened to a batch.
#[derive(Debug, Default)]
pub struct Sent {
    pub indexed: u64,
    pub indexed_bytes: u64,
    pub rejected: Vec<Rejection>,
    /// Requests sent again (whole or in part).
    pub retries: u64,
    pub throttled: u64,
    pub latency: Vec<Duration>,
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("{docs} document(s) still not indexed after {attempts} attempts: {last}")]
    Exhausted {
        docs: usize,
        attempts: u32,
        last: String,
    },
    #[error(transparent)]
    Refused(TargetError),
}

pub async fn send(
    target: &dyn Target,
    docs: &[BulkDoc],
    policy: &RetryPolicy,
    limit: &AdaptiveLimit,
) -> Result<Sent, SendError> {
    let mut out = Sent::default();
    // Indices of the documents still to send.
    let mut pending: Vec<usize> = (0..docs.len()).collect();
    let mut attempt = 0u32;
    let mut one_at_a_time = false;
    loop {
        let mut last_error = String::new();
        let mut throttled = false;
        let groups: Vec<Vec<usize>> = if one_at_a_time {
            pending.iter().map(|&i| vec![i]).collect()
        } else {
            vec![pending.clone()]
        };
        let mut still = Vec::new();
        for group in groups {
            let batch: Vec<&BulkDoc> = group.iter().map(|&i| &docs[i]).collect();
            let started = Instant::now();
            match target.bulk(&batch).await {
                Ok(results) => {
                    out.latency.push(started.elapsed());
                    for (&i, r) in group.iter().zip(&results) {
                        if r.is_ok() {
                            out.indexed += 1;
                            out.indexed_bytes += docs[i].source.len() as u64;
                        } else if r.is_retryable() {
                            throttled |= r.status == 429;
                            last_error =
                                describe(r.status, r.error_type.as_deref(), r.reason.as_deref());
                            still.push(i);
                        } else {
                            out.rejected.push(Rejection {
                                index: docs[i].index.clone(),
                                id: docs[i].id.clone(),
                                doc_type: docs[i].doc_type.clone(),
                                status: r.status,
                                error_type: r.error_type.clone(),
                                reason: r.reason.clone(),
                            });
                        }
                    }
                }
                Err(TargetError::Throttled { status }) => {
                    throttled = true;
                    last_error = format!("HTTP {status} for the whole request");
                    still.extend(group);
                }
                Err(TargetError::Unavailable(e)) => {
                    last_error = e;
                    still.extend(group);
                }
                // Too large for the target: send the documents one by one; a single document
                // that is still too large is rejected like any other refused document.
                Err(TargetError::Refused { status: 413, body }) => {
                    if group.len() > 1 {
                        one_at_a_time = true;
                        still.extend(group);
                        last_error = "request too large (413)".into();
                    } else {
                        let i = group[0];
                        out.rejected.push(Rejection {
                            index: docs[i].index.clone(),
                            id: docs[i].id.clone(),
                            doc_type: docs[i].doc_type.clone(),
                            status: 413,
                            error_type: Some("request_entity_too_large".into()),
                            reason: Some(body),
                        });
                    }
                }
                Err(e) => return Err(SendError::Refused(e)),
            }
        }
        if throttled {
            out.throttled += 1;
            limit.on_throttled();
        } else if still.is_empty() {
            limit.on_success();
        }
        if still.is_empty() {
            return Ok(out);
        }
        attempt += 1;
        if attempt >= policy.max_attempts {
            return Err(SendError::Exhausted {
                docs: still.len(),
                attempts: attempt,
                last: last_error,
            });
        }
        out.retries += 1;
        pending = still;
        tokio::time::sleep(policy.backoff(attempt)).await;
    }
}

fn describe(status: u16, error_type: Option<&str>, reason: Option<&str>) -> String {
    format!(
        "HTTP {status} {}: {}",
        error_type.unwrap_or("error"),
        reason.unwrap_or("no reason given")
    )
}
