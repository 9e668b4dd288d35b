//! What went wrong in a system a port talks to (AWS, the target, the local machine), and whether
//! trying again can help. Adapters map their failures to this once, at the edge; everything
//! above decides on the kind, never on message text.

/// Whether a retry can help, and if not, why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Throttling, timeouts, 5xx answers, network trouble: retrying may succeed.
    Retryable,
    /// Access denied, bad or expired credentials: fix the permissions first.
    Denied,
    /// A resource the deployment names (bucket, state machine, service) does not exist.
    NotFound,
    /// The other system refused the request as invalid.
    Invalid,
    /// Anything else a retry will not fix.
    Failed,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Retryable => "retryable",
            ErrorKind::Denied => "denied",
            ErrorKind::NotFound => "not found",
            ErrorKind::Invalid => "invalid",
            ErrorKind::Failed => "failed",
        }
    }
}

/// A failed call through a port: its kind, the other system's error code (e.g. AWS's
/// `AccessDeniedException`) and a message that names what was called.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PortError {
    pub kind: ErrorKind,
    pub code: Option<String>,
    pub message: String,
}

impl PortError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> PortError {
        PortError {
            kind,
            code: None,
            message: message.into(),
        }
    }

    pub fn retryable(message: impl Into<String>) -> PortError {
        PortError::new(ErrorKind::Retryable, message)
    }

    pub fn denied(message: impl Into<String>) -> PortError {
        PortError::new(ErrorKind::Denied, message)
    }

    pub fn not_found(message: impl Into<String>) -> PortError {
        PortError::new(ErrorKind::NotFound, message)
    }

    pub fn invalid(message: impl Into<String>) -> PortError {
        PortError::new(ErrorKind::Invalid, message)
    }

    pub fn failed(message: impl Into<String>) -> PortError {
        PortError::new(ErrorKind::Failed, message)
    }

    pub fn with_code(mut self, code: impl Into<String>) -> PortError {
        self.code = Some(code.into());
        self
    }

    /// The same error, its message prefixed with what the caller was doing.
    pub fn context(mut self, doing: impl std::fmt::Display) -> PortError {
        self.message = format!("{doing}: {}", self.message);
        self
    }

    pub fn is_retryable(&self) -> bool {
        self.kind == ErrorKind::Retryable
    }
}

/// How HTTP answers classify: 429 and 5xx can pass, 401/403 are denials, 404 a missing thing,
/// other 4xx a refused request.
pub fn kind_of_status(status: u16) -> ErrorKind {
    match status {
        429 | 500..=599 => ErrorKind::Retryable,
        401 | 403 => ErrorKind::Denied,
        404 => ErrorKind::NotFound,
        400..=499 => ErrorKind::Invalid,
        _ => ErrorKind::Failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_statuses_classify_by_whether_a_retry_can_help() {
        assert_eq!(kind_of_status(429), ErrorKind::Retryable);
        assert_eq!(kind_of_status(503), ErrorKind::Retryable);
        assert_eq!(kind_of_status(403), ErrorKind::Denied);
        assert_eq!(kind_of_status(401), ErrorKind::Denied);
        assert_eq!(kind_of_status(404), ErrorKind::NotFound);
        assert_eq!(kind_of_status(400), ErrorKind::Invalid);
        assert_eq!(kind_of_status(301), ErrorKind::Failed);
    }

    #[test]
    fn context_keeps_kind_and_code() {
        let e = PortError::denied("S3 PutObject: Access Denied")
            .with_code("AccessDenied")
            .context("writing the archive");
        assert_eq!(e.kind, ErrorKind::Denied);
        assert_eq!(e.code.as_deref(), Some("AccessDenied"));
        assert_eq!(
            e.to_string(),
            "writing the archive: S3 PutObject: Access Denied"
        );
    }
}
