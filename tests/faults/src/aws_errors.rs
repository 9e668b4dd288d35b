//! AWS's error answers, as the services send them, for calls the proxy does not forward: the
//! SDKs read them exactly as they read a real service's (code, message, HTTP status).

use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Request, Response, StatusCode};

use crate::net::{full, Body};

/// How an AWS API call is framed, which decides how its errors look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AwsProtocol {
    /// DynamoDB (JSON 1.0), ECS, Step Functions (JSON 1.1): an `X-Amz-Target` header.
    Json,
    /// CloudWatch (query protocol): a form POST, errors in an `<ErrorResponse>`.
    Query,
    /// S3 (REST-XML): errors in an `<Error>`.
    RestXml,
}

impl AwsProtocol {
    pub(crate) fn of<B>(req: &Request<B>) -> AwsProtocol {
        let form = content_type(req).starts_with("application/x-www-form-urlencoded");
        if req.headers().contains_key("x-amz-target") {
            AwsProtocol::Json
        } else if form {
            AwsProtocol::Query
        } else {
            AwsProtocol::RestXml
        }
    }
}

fn content_type<B>(req: &Request<B>) -> &str {
    req.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// What an AWS call is, as far as its errors go: its protocol, and for JSON calls the content
/// type to answer in (DynamoDB speaks JSON 1.0, the others 1.1) and the operation named by
/// `X-Amz-Target` (`DynamoDB_20120810.UpdateItem` → service prefix and `UpdateItem`).
#[derive(Debug, Clone)]
pub(crate) struct AwsCall {
    pub protocol: AwsProtocol,
    json_type: &'static str,
    /// `DynamoDB_20120810`, `AmazonEC2ContainerServiceV20141113`, … (JSON calls only).
    pub service: String,
    pub operation: String,
}

impl AwsCall {
    pub(crate) fn of<B>(req: &Request<B>) -> AwsCall {
        let target = req
            .headers()
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let (service, operation) = target.split_once('.').unwrap_or(("", target));
        AwsCall {
            protocol: AwsProtocol::of(req),
            json_type: if content_type(req).contains("json-1.0") {
                "application/x-amz-json-1.0"
            } else {
                "application/x-amz-json-1.1"
            },
            service: service.to_string(),
            operation: operation.to_string(),
        }
    }

    pub(crate) fn is_dynamodb(&self) -> bool {
        self.protocol == AwsProtocol::Json && self.service.starts_with("DynamoDB_")
    }

    /// A DynamoDB call that writes an item (the ones a transaction can conflict with).
    pub(crate) fn is_dynamodb_write(&self) -> bool {
        self.is_dynamodb()
            && matches!(
                self.operation.as_str(),
                "UpdateItem" | "PutItem" | "DeleteItem" | "TransactWriteItems"
            )
    }

    /// A JSON-protocol error: `__type` carries the code, as DynamoDB writes it (namespace, `#`).
    fn json_error(&self, status: StatusCode, body: serde_json::Value) -> Response<Body> {
        respond(status, self.json_type, body.to_string())
    }
}

fn respond(status: StatusCode, content_type: &'static str, body: String) -> Response<Body> {
    let mut r = Response::new(full(body));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    r.headers_mut()
        .insert("x-amzn-requestid", HeaderValue::from_static("fault-proxy"));
    r
}

fn typed(call: &AwsCall, code: &str) -> String {
    if call.is_dynamodb() {
        format!("com.amazonaws.dynamodb.v20120810#{code}")
    } else {
        code.to_string()
    }
}

/// AWS's throttling answer in the request's protocol: 400 `ThrottlingException` (JSON), 400
/// `Throttling` (query), 503 `SlowDown` (S3).
pub(crate) fn throttled(call: &AwsCall) -> Response<Body> {
    match call.protocol {
        AwsProtocol::Json => call.json_error(
            StatusCode::BAD_REQUEST,
            serde_json::json!({"__type": typed(call, "ThrottlingException"), "message": "Rate exceeded (fault proxy)"}),
        ),
        AwsProtocol::Query => respond(
            StatusCode::BAD_REQUEST,
            "text/xml",
            "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded (fault proxy)</Message></Error><RequestId>fault-proxy</RequestId></ErrorResponse>".into(),
        ),
        AwsProtocol::RestXml => s3_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "SlowDown",
            "Please reduce your request rate (fault proxy).",
        ),
    }
}

/// DynamoDB's answer when a table's (or an index's) capacity is exhausted.
pub(crate) fn throughput_exceeded(call: &AwsCall) -> Response<Body> {
    call.json_error(
        StatusCode::BAD_REQUEST,
        serde_json::json!({
            "__type": typed(call, "ProvisionedThroughputExceededException"),
            "message": "The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API. (fault proxy)"
        }),
    )
}

/// DynamoDB's answer to a write that met another transaction on one of its items: for
/// `TransactWriteItems`, `TransactionCanceledException` with one cancellation reason per action
/// (`TransactionConflict` for `conflicting`, `None` for the others); for a single-item write,
/// `TransactionConflictException`. Nothing of the request was applied.
pub(crate) fn transaction_conflict(
    call: &AwsCall,
    actions: usize,
    conflicting: usize,
) -> Response<Body> {
    if call.operation != "TransactWriteItems" {
        return call.json_error(
            StatusCode::BAD_REQUEST,
            serde_json::json!({
                "__type": typed(call, "TransactionConflictException"),
                "message": "Transaction is ongoing for the item (fault proxy)"
            }),
        );
    }
    let codes: Vec<&str> = (0..actions.max(1))
        .map(|i| {
            if i == conflicting {
                "TransactionConflict"
            } else {
                "None"
            }
        })
        .collect();
    let reasons: Vec<serde_json::Value> = codes
        .iter()
        .map(|code| match *code {
            "None" => serde_json::json!({"Code": "None"}),
            code => {
                serde_json::json!({"Code": code, "Message": "Transaction is ongoing for the item"})
            }
        })
        .collect();
    call.json_error(
        StatusCode::BAD_REQUEST,
        serde_json::json!({
            "__type": typed(call, "TransactionCanceledException"),
            "Message": format!(
                "Transaction cancelled, please refer cancellation reasons for specific reasons [{}]",
                codes.join(", ")
            ),
            "CancellationReasons": reasons
        }),
    )
}

/// An S3 error document.
pub(crate) fn s3_error(status: StatusCode, code: &str, message: &str) -> Response<Body> {
    respond(
        status,
        "application/xml",
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>fault-proxy</RequestId><HostId>fault-proxy</HostId></Error>"
        ),
    )
}

/// S3's 500: "We encountered an internal error. Please try again."
pub(crate) fn s3_internal_error() -> Response<Body> {
    s3_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "InternalError",
        "We encountered an internal error. Please try again. (fault proxy)",
    )
}

/// The number of actions of a `TransactWriteItems` request body (1 if it cannot be read).
pub(crate) fn transact_actions(body: &[u8]) -> usize {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("TransactItems")?.as_array().map(Vec::len))
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    fn dynamodb(operation: &str) -> AwsCall {
        let req = Request::builder()
            .header("x-amz-target", format!("DynamoDB_20120810.{operation}"))
            .header(CONTENT_TYPE, "application/x-amz-json-1.0")
            .body(())
            .unwrap();
        AwsCall::of(&req)
    }

    async fn json(r: Response<Body>) -> (u16, String, serde_json::Value) {
        let status = r.status().as_u16();
        let ct = r.headers()[CONTENT_TYPE].to_str().unwrap().to_string();
        let body = r.into_body().collect().await.unwrap().to_bytes();
        (status, ct, serde_json::from_slice(&body).unwrap())
    }

    #[tokio::test]
    async fn dynamodb_errors_are_json_1_0_with_a_typed_code() {
        let call = dynamodb("TransactWriteItems");
        assert!(call.is_dynamodb_write());
        let (status, ct, v) = json(transaction_conflict(&call, 3, 1)).await;
        assert_eq!((status, ct.as_str()), (400, "application/x-amz-json-1.0"));
        assert_eq!(
            v["__type"],
            "com.amazonaws.dynamodb.v20120810#TransactionCanceledException"
        );
        let codes: Vec<&str> = v["CancellationReasons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["Code"].as_str().unwrap())
            .collect();
        assert_eq!(codes, ["None", "TransactionConflict", "None"]);
        let (_, _, v) = json(transaction_conflict(&dynamodb("UpdateItem"), 1, 0)).await;
        assert_eq!(
            v["__type"],
            "com.amazonaws.dynamodb.v20120810#TransactionConflictException"
        );
        let (status, _, v) = json(throughput_exceeded(&dynamodb("Query"))).await;
        assert_eq!(status, 400);
        assert!(v["__type"]
            .as_str()
            .unwrap()
            .ends_with("#ProvisionedThroughputExceededException"));
        assert!(!dynamodb("Query").is_dynamodb_write());
        assert_eq!(
            transact_actions(br#"{"TransactItems":[{"Update":{}},{"Update":{}}]}"#),
            2
        );
    }
}
