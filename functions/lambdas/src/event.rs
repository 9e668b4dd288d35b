//! From an invocation's payload to a handler call and back: API Gateway HTTP API events get an
//! HTTP response (status code from the error kind), plain payloads get the answer or a Lambda
//! error whose type is `Retryable` or `NonRetryable` (what the stop state machine retries on).

use std::borrow::Cow;

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use backfill_core::control::{dispatch, Control, ControlError, Handler};
use base64::Engine;
use serde_json::{json, Value};

/// A failed plain invocation, as Lambda reports it.
#[derive(Debug)]
pub struct LambdaError {
    pub error_type: &'static str,
    pub message: String,
}

impl std::fmt::Display for LambdaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error_type, self.message)
    }
}

impl From<LambdaError> for lambda_runtime::Diagnostic {
    fn from(e: LambdaError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: Cow::Borrowed(e.error_type).into_owned(),
            error_message: e.message,
        }
    }
}

/// API Gateway v2 events carry a `requestContext` and a `routeKey`.
fn is_http_api(payload: &Value) -> bool {
    payload.get("requestContext").is_some()
        && (payload.get("routeKey").is_some() || payload.get("rawPath").is_some())
}

/// EventBridge scheduled events carry `detail-type`; they mean "the default backfill".
fn is_scheduled_event(payload: &Value) -> bool {
    payload.get("detail-type").is_some() && payload.get("source").is_some()
}

pub async fn handle(
    control: &Control,
    handler: Handler,
    payload: Value,
) -> Result<Value, LambdaError> {
    if is_http_api(&payload) {
        return Ok(http(control, handler, payload).await);
    }
    let payload = if is_scheduled_event(&payload) {
        Value::Null
    } else {
        payload
    };
    dispatch(control, handler, payload).await.map_err(|e| {
        tracing::warn!(handler = handler.name(), error = %e, "request failed");
        LambdaError {
            error_type: e.error_type(),
            message: e.to_string(),
        }
    })
}

/// The largest request body accepted (decoded): every request of the API is a small JSON
/// object, so anything larger is refused before it is parsed.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A request refused before it reached a handler.
enum Refused {
    Bad(ControlError),
    /// 413: the body is larger than `MAX_BODY_BYTES`.
    TooLarge(usize),
}

impl From<ControlError> for Refused {
    fn from(e: ControlError) -> Self {
        Refused::Bad(e)
    }
}

async fn http(control: &Control, handler: Handler, payload: Value) -> Value {
    let response = match http_request(payload) {
        Ok(body) => match dispatch(control, handler, body).await {
            Ok(answer) => respond(200, &answer),
            Err(e) => error_response(&e),
        },
        Err(Refused::Bad(e)) => error_response(&e),
        Err(Refused::TooLarge(n)) => respond(
            413,
            &json!({
                "error": format!("the request body is {n} bytes; at most {MAX_BODY_BYTES} are accepted"),
                "error_type": "NonRetryable",
            }),
        ),
    };
    serde_json::to_value(response)
        .unwrap_or_else(|e| json!({"statusCode": 500, "body": e.to_string()}))
}

/// The handler's input from an HTTP API request: the JSON body, with query parameters
/// (`?backfill_id=…&deep_check=true`) filled in where the body does not say.
fn http_request(payload: Value) -> Result<Value, Refused> {
    let req: ApiGatewayV2httpRequest = serde_json::from_value(payload)
        .map_err(|e| ControlError::BadRequest(format!("not an HTTP API event: {e}")))?;
    let mut body = match req.body.as_deref().filter(|b| !b.trim().is_empty()) {
        None => json!({}),
        Some(b) => {
            let text = if req.is_base64_encoded {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(b)
                    .map_err(|e| {
                        ControlError::BadRequest(format!("body is not valid base64: {e}"))
                    })?;
                String::from_utf8(bytes)
                    .map_err(|_| ControlError::BadRequest("body is not UTF-8".into()))?
            } else {
                b.to_string()
            };
            if text.len() > MAX_BODY_BYTES {
                return Err(Refused::TooLarge(text.len()));
            }
            serde_json::from_str(&text)
                .map_err(|e| ControlError::BadRequest(format!("body is not JSON: {e}")))?
        }
    };
    let Some(obj) = body.as_object_mut() else {
        return Err(ControlError::BadRequest("body must be a JSON object".into()).into());
    };
    for (k, v) in req.query_string_parameters.iter() {
        if obj.contains_key(k) {
            continue;
        }
        let value = match v {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => v
                .parse::<i64>()
                .map(Value::from)
                .unwrap_or_else(|_| Value::String(v.to_string())),
        };
        obj.insert(k.to_string(), value);
    }
    Ok(body)
}

fn error_response(e: &ControlError) -> ApiGatewayV2httpResponse {
    respond(
        e.http_status(),
        &json!({"error": e.to_string(), "error_type": e.error_type()}),
    )
}

fn respond(status: u16, body: &Value) -> ApiGatewayV2httpResponse {
    let mut headers = aws_lambda_events::http::HeaderMap::new();
    headers.insert(
        "content-type",
        aws_lambda_events::http::HeaderValue::from_static("application/json"),
    );
    let mut r = ApiGatewayV2httpResponse::default();
    r.status_code = status as i64;
    r.headers = headers;
    r.body = Some(Body::Text(body.to_string()));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(body: &str, base64: bool) -> Value {
        json!({
            "version": "2.0",
            "routeKey": "POST /backfill/start",
            "rawPath": "/backfill/start",
            "requestContext": {"http": {"method": "POST"}},
            "body": body,
            "isBase64Encoded": base64,
        })
    }

    #[test]
    fn bodies_over_the_cap_are_refused_before_parsing() {
        let at_cap = format!("{{\"x\":\"{}\"}}", "a".repeat(MAX_BODY_BYTES - 8));
        assert_eq!(at_cap.len(), MAX_BODY_BYTES);
        assert!(http_request(event(&at_cap, false)).is_ok());
        let over = format!("{{\"x\":\"{}\"}}", "a".repeat(MAX_BODY_BYTES));
        assert!(matches!(
            http_request(event(&over, false)),
            Err(Refused::TooLarge(n)) if n == over.len()
        ));
        // Counted decoded: base64 is not a way around it, nor an excuse to refuse less.
        let b64 = base64::engine::general_purpose::STANDARD.encode(&over);
        assert!(matches!(
            http_request(event(&b64, true)),
            Err(Refused::TooLarge(_))
        ));
        // Not JSON, but over the cap: the size is what is reported.
        let junk = "x".repeat(MAX_BODY_BYTES + 1);
        assert!(matches!(
            http_request(event(&junk, false)),
            Err(Refused::TooLarge(_))
        ));
    }
}
