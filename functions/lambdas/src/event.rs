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

async fn http(control: &Control, handler: Handler, payload: Value) -> Value {
    let response = match http_request(payload) {
        Ok(body) => match dispatch(control, handler, body).await {
            Ok(answer) => respond(200, &answer),
            Err(e) => error_response(&e),
        },
        Err(e) => error_response(&e),
    };
    serde_json::to_value(response)
        .unwrap_or_else(|e| json!({"statusCode": 500, "body": e.to_string()}))
}

/// The handler's input from an HTTP API request: the JSON body, with query parameters
/// (`?backfill_id=…&deep_check=true`) filled in where the body does not say.
fn http_request(payload: Value) -> Result<Value, ControlError> {
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
            serde_json::from_str(&text)
                .map_err(|e| ControlError::BadRequest(format!("body is not JSON: {e}")))?
        }
    };
    let Some(obj) = body.as_object_mut() else {
        return Err(ControlError::BadRequest(
            "body must be a JSON object".into(),
        ));
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
