//! The target cluster port: one `_bulk` request at a time, index existence and creation.
//! Retries, backoff and concurrency are the worker engine's; an adapter talks HTTP and owns the
//! wire format.

use async_trait::async_trait;

use crate::outgoing::BulkDoc;

/// The outcome of one action of a `_bulk` request, in request order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkItemResult {
    pub status: u16,
    /// `error.type` and `error.reason` when the item failed.
    pub error_type: Option<String>,
    pub reason: Option<String>,
}

impl BulkItemResult {
    pub fn ok(status: u16) -> Self {
        BulkItemResult {
            status,
            error_type: None,
            reason: None,
        }
    }

    pub fn is_ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// Overload (429) and server errors (5xx) may succeed when sent again.
    pub fn is_retryable(&self) -> bool {
        self.status == 429 || self.status >= 500
    }

    /// Refused for a reason that holds for every document of its index, not for this one: a
    /// write block (403 `cluster_block_exception`), no permission to write it (401/403), no such
    /// index (404; `index`/`create` actions have no other 404). Reporting each document would
    /// complete a shard of which nothing arrived; its shard fails instead, with this reason.
    pub fn refuses_the_index(&self) -> bool {
        matches!(self.status, 401 | 403 | 404)
    }
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum TargetError {
    /// The whole request was pushed back (429): slow down and retry.
    #[error("target throttled the request (HTTP {status})")]
    Throttled { status: u16 },
    /// 5xx, a timeout or a connection failure: retry.
    #[error("target unavailable: {0}")]
    Unavailable(String),
    /// A 4xx answer to the whole request (bad request, auth, too large): retrying will not help.
    #[error("target refused the request (HTTP {status}): {body}")]
    Refused { status: u16, body: String },
    /// The answer could not be understood.
    #[error("unexpected answer from the target: {0}")]
    Protocol(String),
}

impl TargetError {
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            TargetError::Throttled { .. } | TargetError::Unavailable(_)
        )
    }

    /// The index setting a refused request names, as in `unknown setting [index.mode]`,
    /// `unknown value for [index.codec] …` or `private index setting [index.version.created]`.
    pub fn refused_setting(&self) -> Option<&str> {
        let TargetError::Refused { status: 400, body } = self else {
            return None;
        };
        let start = body.find("[index.")? + 1;
        let len = body[start..].find(']')?;
        Some(&body[start..start + len])
    }
}

impl From<TargetError> for crate::port_error::PortError {
    fn from(e: TargetError) -> Self {
        use crate::port_error::{kind_of_status, ErrorKind, PortError};
        let kind = match &e {
            TargetError::Throttled { .. } | TargetError::Unavailable(_) => ErrorKind::Retryable,
            TargetError::Refused { status, .. } => kind_of_status(*status),
            TargetError::Protocol(_) => ErrorKind::Failed,
        };
        PortError::new(kind, e.to_string())
    }
}

#[async_trait]
pub trait Target: Send + Sync {
    /// Sends the documents in one `_bulk` request; returns one result per document, in order.
    async fn bulk(&self, docs: &[&BulkDoc]) -> Result<Vec<BulkItemResult>, TargetError>;
    async fn index_exists(&self, index: &str) -> Result<bool, TargetError>;
    /// Creates an index with the given settings and mappings (a create-index request body).
    async fn create_index(&self, index: &str, body: &serde_json::Value) -> Result<(), TargetError>;
    /// The `_source` of document `id` (a realtime GET with its routing); `None` if not there.
    async fn get_source(
        &self,
        index: &str,
        id: &str,
        routing: Option<&str>,
    ) -> Result<Option<Vec<u8>>, TargetError>;
}

#[cfg(test)]
mod tests {
    use super::TargetError;

    #[test]
    fn a_refused_setting_is_read_from_the_reason() {
        let refused = |body: &str| TargetError::Refused {
            status: 400,
            body: body.into(),
        };
        for (body, want) in [
            (
                r#"{"error":{"reason":"unknown setting [index.mode] please check"}}"#,
                Some("index.mode"),
            ),
            (
                r#"{"error":{"reason":"unknown value for [index.codec] must be one of [default, lz4] but was: zstd"}}"#,
                Some("index.codec"),
            ),
            (
                r#"{"error":{"reason":"private index setting [index.version.created] can not be set explicitly"}}"#,
                Some("index.version.created"),
            ),
            (r#"{"error":{"reason":"mapper_parsing_exception"}}"#, None),
        ] {
            assert_eq!(refused(body).refused_setting(), want, "{body}");
        }
        let other = TargetError::Refused {
            status: 403,
            body: "unknown setting [index.mode]".into(),
        };
        assert_eq!(other.refused_setting(), None);
    }
}
