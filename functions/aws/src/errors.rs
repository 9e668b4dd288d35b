//! AWS SDK errors mapped once to the ports' `PortError`: the kind (can a retry help?) from the
//! error code and HTTP status, the code kept, and a one-line message naming what was called.

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use backfill_core::port_error::{kind_of_status, ErrorKind, PortError};

/// Codes that pass: throttling and the services' own failures. Several services throttle with a
/// 400 and one of these codes, so the status alone would call them refusals.
const RETRYABLE: [&str; 18] = [
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "ProvisionedThroughputExceededException",
    "SlowDown",
    "RequestTimeout",
    "RequestTimeoutException",
    "InternalError",
    "InternalFailure",
    "InternalServerError",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "ServerException",
    "TransactionConflictException",
    "TransactionInProgressException",
    "PriorRequestNotComplete",
];

/// Codes that deny: permissions and credentials.
const DENIED: [&str; 12] = [
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "InvalidSignatureException",
    "ExpiredToken",
    "ExpiredTokenException",
    "MissingAuthenticationToken",
    "AuthFailure",
];

/// Codes for a resource the deployment names that does not exist.
const NOT_FOUND: [&str; 10] = [
    "NoSuchBucket",
    "NoSuchKey",
    "NotFound",
    "ResourceNotFoundException",
    "StateMachineDoesNotExist",
    "ExecutionDoesNotExist",
    "ClusterNotFoundException",
    "ServiceNotFoundException",
    "ServiceNotActiveException",
    "NoSuchEntity",
];

/// The kind of an AWS answer with `status` and error `code`.
pub fn kind_of(status: Option<u16>, code: Option<&str>) -> ErrorKind {
    match code {
        Some(c) if RETRYABLE.contains(&c) => ErrorKind::Retryable,
        Some(c) if DENIED.contains(&c) => ErrorKind::Denied,
        Some(c) if NOT_FOUND.contains(&c) => ErrorKind::NotFound,
        _ => status.map_or(ErrorKind::Failed, kind_of_status),
    }
}

/// Maps an SDK failure of `what` (e.g. `S3 PutObject s3://bucket/key`): service answers by code
/// and status; timeouts, dispatch and response failures (the network) are retryable; a request
/// the SDK could not build is invalid.
pub fn port_error<E>(what: &str, e: &SdkError<E, HttpResponse>) -> PortError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let (kind, code) = match e {
        SdkError::ServiceError(s) => {
            let code = s.err().code();
            (kind_of(Some(s.raw().status().as_u16()), code), code)
        }
        // An answer the SDK could not read: an error status still says what it was (moto
        // answers some JSON-protocol denials in XML); a success cut short can pass.
        SdkError::ResponseError(r) => match r.raw().status().as_u16() {
            status @ 400.. => (kind_of_status(status), None),
            _ => (ErrorKind::Retryable, None),
        },
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => (ErrorKind::Retryable, None),
        SdkError::ConstructionFailure(_) => (ErrorKind::Invalid, None),
        _ => (ErrorKind::Failed, e.code()),
    };
    let error = PortError::new(kind, format!("{what}: {}", error_message(e)));
    match code {
        Some(c) => error.with_code(c),
        None => error,
    }
}

/// An SDK error in one line, for any of the SDK crates (they share `SdkError`): `code: message`
/// for a service's answer, else the error and its sources (no response dump).
pub fn error_message<E, R>(e: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    if let SdkError::ServiceError(s) = e {
        return format!(
            "{}: {}",
            s.err().code().unwrap_or("error"),
            s.err().message().unwrap_or("no message")
        );
    }
    let mut out = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_and_server_errors_are_retryable_the_rest_are_not() {
        assert_eq!(
            kind_of(Some(400), Some("ThrottlingException")),
            ErrorKind::Retryable
        );
        assert_eq!(kind_of(Some(503), Some("SlowDown")), ErrorKind::Retryable);
        assert_eq!(
            kind_of(Some(500), Some("ServerException")),
            ErrorKind::Retryable
        );
        assert_eq!(kind_of(Some(502), None), ErrorKind::Retryable);
        assert_eq!(kind_of(Some(429), None), ErrorKind::Retryable);
        assert_eq!(kind_of(Some(403), Some("AccessDenied")), ErrorKind::Denied);
        assert_eq!(
            kind_of(Some(400), Some("AccessDeniedException")),
            ErrorKind::Denied
        );
        assert_eq!(
            kind_of(Some(403), Some("InvalidClientTokenId")),
            ErrorKind::Denied
        );
        assert_eq!(
            kind_of(Some(404), Some("NoSuchBucket")),
            ErrorKind::NotFound
        );
        assert_eq!(
            kind_of(Some(400), Some("StateMachineDoesNotExist")),
            ErrorKind::NotFound
        );
        assert_eq!(
            kind_of(Some(400), Some("ServiceNotFoundException")),
            ErrorKind::NotFound
        );
        assert_eq!(
            kind_of(Some(400), Some("ClusterNotFoundException")),
            ErrorKind::NotFound
        );
        assert_eq!(
            kind_of(Some(400), Some("ValidationException")),
            ErrorKind::Invalid
        );
        assert_eq!(
            kind_of(Some(400), Some("ClientException")),
            ErrorKind::Invalid
        );
        assert_eq!(kind_of(None, Some("Mystery")), ErrorKind::Failed);
    }
}
