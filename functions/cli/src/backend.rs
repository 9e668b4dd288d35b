//! Where control calls go: a deployed stack's API (SigV4-signed HTTPS to API Gateway), or the
//! same handlers in this process against a local setup. Both answer with the handlers' JSON.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use aws_config::BehaviorVersion;
use backfill_core::control::{dispatch, Handler};
use backfill_opensearch::{Auth, Method, OpenSearchTarget, TargetConfig};
use serde_json::Value;

use backfill_local::LocalControl;

/// A failed control call, as the handlers report it.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct CallError {
    /// The HTTP status (400 bad request, 404 unknown backfill, 409 wrong state, 5xx).
    pub status: u16,
    pub message: String,
}

impl CallError {
    /// Exit codes: 2 for requests the control plane refused, 1 for anything else.
    pub fn exit_code(&self) -> u8 {
        if (400..500).contains(&self.status) {
            2
        } else {
            1
        }
    }
}

/// How the CLI reaches the control plane (global flags `--api` / `--local`).
#[derive(Debug, Clone, clap::Args)]
pub struct Connection {
    /// The deployed stack's API endpoint (the `ApiEndpoint` output), e.g.
    /// https://abc123.execute-api.us-east-1.amazonaws.com. Requests are signed with SigV4 from
    /// the usual AWS credential chain.
    #[arg(long, global = true, env = "BACKFILL_API", conflicts_with = "local")]
    pub api: Option<String>,
    /// A local setup directory (see `backfill local setup`): the handlers run in this process.
    #[arg(long, global = true, env = "BACKFILL_LOCAL")]
    pub local: Option<PathBuf>,
    /// The backfill to act on (default: the deployment's default backfill).
    #[arg(long, global = true, env = "BACKFILL_ID")]
    pub backfill: Option<String>,
}

pub enum Backend {
    Api(Box<ApiBackend>),
    Local(Box<LocalControl>),
}

impl Backend {
    pub async fn connect(c: &Connection) -> Result<Backend> {
        match (&c.api, &c.local) {
            (Some(url), _) => Ok(Backend::Api(Box::new(ApiBackend::new(url).await?))),
            (None, Some(dir)) => Ok(Backend::Local(Box::new(LocalControl::open(dir).await?))),
            (None, None) => bail!(
                "no control plane: pass --api <endpoint> (a deployed stack; or BACKFILL_API) or --local <dir> (a local setup; or BACKFILL_LOCAL)"
            ),
        }
    }

    pub fn is_local(&self) -> bool {
        matches!(self, Backend::Local(_))
    }

    /// Calls one handler with a JSON payload.
    pub async fn call(&self, handler: Handler, payload: Value) -> Result<Value, CallError> {
        match self {
            Backend::Api(api) => api.call(handler, payload).await,
            Backend::Local(local) => {
                dispatch(&local.control, handler, payload)
                    .await
                    .map_err(|e| CallError {
                        status: e.http_status(),
                        message: e.to_string(),
                    })
            }
        }
    }
}

/// The stack's HTTP API: `POST /backfill/{start,scale,pause,stop}`, `GET /backfill/status`.
pub struct ApiBackend {
    client: OpenSearchTarget,
    base: String,
}

impl ApiBackend {
    pub async fn new(url: &str) -> Result<ApiBackend> {
        let aws = aws_config::load_defaults(BehaviorVersion::latest()).await;
        let region = aws
            .region()
            .map(|r| r.to_string())
            .or_else(|| region_of_api(url))
            .context("no AWS region: set AWS_REGION (or use the API's regional endpoint)")?;
        let credentials = aws
            .credentials_provider()
            .context("no AWS credentials provider: configure credentials as for the aws CLI")?;
        let client = OpenSearchTarget::new(TargetConfig {
            auth: Auth::SigV4 {
                region,
                service: "execute-api".into(),
                credentials,
            },
            request_timeout: Duration::from_secs(30),
            ..TargetConfig::new(url)
        })
        .with_context(|| format!("API endpoint {url}"))?;
        Ok(ApiBackend {
            client,
            base: url.trim_end_matches('/').to_string(),
        })
    }

    async fn call(&self, handler: Handler, payload: Value) -> Result<Value, CallError> {
        let (method, path, body) = match handler {
            Handler::Status => {
                let mut query = Vec::new();
                if let Some(id) = payload.get("backfill_id").and_then(Value::as_str) {
                    query.push(format!("backfill_id={id}"));
                }
                if payload.get("deep_check").and_then(Value::as_bool) == Some(true) {
                    query.push("deep_check=true".into());
                }
                let path = if query.is_empty() {
                    "/backfill/status".to_string()
                } else {
                    format!("/backfill/status?{}", query.join("&"))
                };
                (Method::GET, path, None)
            }
            Handler::CatIndices => {
                let mut query = Vec::new();
                if let Some(id) = payload.get("backfill_id").and_then(Value::as_str) {
                    query.push(format!("backfill_id={id}"));
                }
                if payload.get("refresh").and_then(Value::as_bool) == Some(true) {
                    query.push("refresh=true".into());
                }
                if payload
                    .get("include_system_indices")
                    .and_then(Value::as_bool)
                    == Some(true)
                {
                    query.push("include_system_indices=true".into());
                }
                if let Some(list) = payload.get("indices").and_then(Value::as_array) {
                    let names: Vec<&str> = list.iter().filter_map(Value::as_str).collect();
                    if !names.is_empty() {
                        query.push(format!("indices={}", names.join(",")));
                    }
                }
                let path = format!("/clusters/cat-indices?{}", query.join("&"));
                (Method::GET, path.trim_end_matches('?').to_string(), None)
            }
            Handler::Start | Handler::Scale | Handler::Pause | Handler::Stop => (
                Method::POST,
                format!("/backfill/{}", handler.name()),
                Some(payload.to_string().into_bytes()),
            ),
            other => {
                return Err(CallError {
                    status: 400,
                    message: format!(
                        "{} is not on the API; it runs on the schedule or in the stop workflow",
                        other.name()
                    ),
                })
            }
        };
        let (status, body) = self
            .client
            .request(method.clone(), &path, body)
            .await
            .map_err(|e| CallError {
                status: 503,
                message: format!("{method} {}{path}: {e}", self.base),
            })?;
        let json: Value = serde_json::from_slice(&body).map_err(|_| CallError {
            status,
            message: format!(
                "{method} {}{path}: HTTP {status}, not JSON: {}",
                self.base,
                String::from_utf8_lossy(&body[..body.len().min(300)])
            ),
        })?;
        if (200..300).contains(&status) {
            Ok(json)
        } else {
            // The handlers' errors are {"error": …}; API Gateway's own are {"message": …}.
            let message = json
                .get("error")
                .or_else(|| json.get("message"))
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| json.to_string());
            Err(CallError { status, message })
        }
    }
}

/// `https://<id>.execute-api.<region>.amazonaws.com` names its region.
fn region_of_api(url: &str) -> Option<String> {
    let host = url.split("://").nth(1)?.split(['/', ':']).next()?;
    let mut parts = host.split('.');
    let (_, service, region) = (parts.next()?, parts.next()?, parts.next()?);
    (service == "execute-api").then(|| region.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_region_comes_from_a_regional_api_endpoint() {
        assert_eq!(
            region_of_api("https://abc123.execute-api.eu-west-3.amazonaws.com/"),
            Some("eu-west-3".into())
        );
        assert_eq!(region_of_api("https://api.example.com"), None);
    }

    #[test]
    fn refusals_exit_2_and_failures_exit_1() {
        let e = |status| CallError {
            status,
            message: String::new(),
        };
        assert_eq!(e(409).exit_code(), 2);
        assert_eq!(e(400).exit_code(), 2);
        assert_eq!(e(503).exit_code(), 1);
    }
}
