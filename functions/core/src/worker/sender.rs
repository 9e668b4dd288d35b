//! Sends one batch until every document is indexed or rejected for good (or its index refuses
//! every write, which fails the batch): retries with exponential backoff and full jitter,
//! resending only the documents that failed. Every request waits for the adaptive limit's pace
//! and reports its answer to it (see [`AdaptiveLimit`]).

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
    /// A document refused for its index's sake
    /// ([`crate::BulkItemResult::refuses_the_index`]): the rest of the shard would be too.
    #[error("target index {index} refuses writes: {answer}")]
    IndexRefused { index: String, answer: String },
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
        // Any request of this attempt pushed back (for `Sent::throttled`).
        let mut throttled = false;
        let groups: Vec<Vec<usize>> = if one_at_a_time {
            pending.iter().map(|&i| vec![i]).collect()
        } else {
            vec![pending.clone()]
        };
        let mut still = Vec::new();
        for group in groups {
            let batch: Vec<&BulkDoc> = group.iter().map(|&i| &docs[i]).collect();
            let ticket = limit.admit(request_bytes(&batch)).await;
            let started = Instant::now();
            let mut answer = Answer::Other;
            match target.bulk(&batch).await {
                Ok(results) => {
                    out.latency.push(started.elapsed());
                    let mut accepted = 0u64;
                    let mut pushed_back = false;
                    for (&i, r) in group.iter().zip(&results) {
                        if r.is_ok() {
                            out.indexed += 1;
                            out.indexed_bytes += docs[i].source.len() as u64;
                            accepted += docs[i].source.len() as u64;
                        } else if r.refuses_the_index() {
                            return Err(SendError::IndexRefused {
                                index: docs[i].index.clone(),
                                answer: describe(
                                    r.status,
                                    r.error_type.as_deref(),
                                    r.reason.as_deref(),
                                ),
                            });
                        } else if r.is_retryable() {
                            pushed_back |= r.status == 429;
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
                    answer = if pushed_back {
                        Answer::ItemsPushedBack
                    } else {
                        Answer::Accepted(accepted)
                    };
                }
                Err(TargetError::Throttled { status }) => {
                    answer = Answer::PushedBack;
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
            // Per request, as the target saw them: unavailable or too large says nothing of
            // its load.
            match answer {
                Answer::PushedBack => {
                    throttled = true;
                    limit.on_throttled(ticket);
                }
                Answer::ItemsPushedBack => {
                    throttled = true;
                    limit.on_items_throttled(ticket);
                }
                Answer::Accepted(bytes) => limit.on_success(ticket, bytes),
                Answer::Other => {}
            }
        }
        if throttled {
            out.throttled += 1;
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

/// What one request's answer tells the adaptive limit.
enum Answer {
    /// 429 for the whole request.
    PushedBack,
    /// 429 for some of its documents.
    ItemsPushedBack,
    /// Answered without push-back; the `_source` bytes it indexed.
    Accepted(u64),
    /// Unavailable, a connection error, too large: nothing about the target's load.
    Other,
}

/// What the pace counts of a request: its documents' `_source` bytes (the action lines are a
/// near-constant share of them).
fn request_bytes(batch: &[&BulkDoc]) -> u64 {
    batch.iter().map(|d| d.source.len() as u64).sum()
}

fn describe(status: u16, error_type: Option<&str>, reason: Option<&str>) -> String {
    format!(
        "HTTP {status} {}: {}",
        error_type.unwrap_or("error"),
        reason.unwrap_or("no reason given")
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use async_trait::async_trait;

    use super::*;
    use crate::target::BulkItemResult;

    /// Answers each request with the next scripted item results (one per document sent).
    struct Scripted(Mutex<Vec<Vec<(u16, &'static str)>>>);

    #[async_trait]
    impl Target for Scripted {
        async fn bulk(&self, docs: &[&BulkDoc]) -> Result<Vec<BulkItemResult>, TargetError> {
            let answer = self.0.lock().unwrap().remove(0);
            assert_eq!(answer.len(), docs.len(), "one result per document sent");
            Ok(answer
                .into_iter()
                .map(|(status, error_type)| BulkItemResult {
                    status,
                    error_type: (!error_type.is_empty()).then(|| error_type.into()),
                    reason: (!error_type.is_empty()).then(|| format!("{error_type} reason")),
                })
                .collect())
        }
        async fn index_exists(&self, _: &str) -> Result<bool, TargetError> {
            Ok(true)
        }
        async fn create_index(&self, _: &str, _: &serde_json::Value) -> Result<(), TargetError> {
            Ok(())
        }
        async fn get_source(
            &self,
            _: &str,
            _: &str,
            _: Option<&str>,
        ) -> Result<Option<Vec<u8>>, TargetError> {
            Ok(None)
        }
    }

    async fn send_scripted(answers: Vec<Vec<(u16, &'static str)>>) -> Result<Sent, SendError> {
        let docs: Vec<BulkDoc> = (0..answers[0].len())
            .map(|i| BulkDoc {
                index: "logs".into(),
                id: i.to_string(),
                source: b"{}".to_vec(),
                ..BulkDoc::default()
            })
            .collect();
        let target = Scripted(Mutex::new(answers));
        let policy = RetryPolicy::doubling(5, Duration::from_millis(1), Duration::from_millis(1));
        send(&target, &docs, &policy, &AdaptiveLimit::new(1, 1)).await
    }

    #[tokio::test]
    async fn a_write_block_or_a_missing_index_fails_the_batch_naming_the_index() {
        for (status, error_type) in [
            (403, "cluster_block_exception"),
            (404, "index_not_found_exception"),
            (403, "security_exception"),
        ] {
            let answer = vec![
                (201, ""),
                (status, error_type),
                (400, "mapper_parsing_exception"),
            ];
            let e = send_scripted(vec![answer]).await.unwrap_err();
            assert!(matches!(&e, SendError::IndexRefused { index, .. } if index == "logs"));
            let answer = format!("HTTP {status} {error_type}: {error_type} reason");
            assert_eq!(
                e.to_string(),
                format!("target index logs refuses writes: {answer}")
            );
        }
    }

    #[tokio::test]
    async fn documents_refused_for_their_own_sake_are_rejected_and_the_others_indexed() {
        let sent = send_scripted(vec![
            vec![
                (201, ""),
                (400, "mapper_parsing_exception"),
                (400, "strict_dynamic_mapping_exception"),
                (429, "es_rejected_execution_exception"),
            ],
            vec![(201, "")],
        ])
        .await
        .unwrap();
        assert_eq!((sent.indexed, sent.retries, sent.throttled), (2, 1, 1));
        let rejected: Vec<_> = sent
            .rejected
            .iter()
            .map(|r| (r.id.as_str(), r.status, r.error_type.as_deref()))
            .collect();
        assert_eq!(
            rejected,
            [
                ("1", 400, Some("mapper_parsing_exception")),
                ("2", 400, Some("strict_dynamic_mapping_exception"))
            ]
        );
    }

    #[tokio::test]
    async fn a_block_that_passes_is_retried_not_failed() {
        // read_only_allow_delete (disk flood stage) and a cluster not yet recovered answer
        // 429 and 503: they lift by themselves.
        let sent = send_scripted(vec![
            vec![
                (429, "cluster_block_exception"),
                (503, "cluster_block_exception"),
            ],
            vec![(201, ""), (201, "")],
        ])
        .await
        .unwrap();
        assert_eq!((sent.indexed, sent.retries), (2, 1));
        assert!(sent.rejected.is_empty());
    }
}
