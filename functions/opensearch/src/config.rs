//! What the client is configured with, and how a configuration can be wrong.

use std::fmt;

pub use backfill_core::control::ports::IndexRow;
use std::time::Duration;

use aws_credential_types::provider::SharedCredentialsProvider;

/// How requests to the target are authenticated.
#[derive(Clone)]
pub enum Auth {
    None,
    /// `Authorization: Basic …` (fine-grained access control's internal users, self-managed
    /// clusters with the security plugin).
    Basic {
        username: String,
        password: String,
    },
    /// Amazon OpenSearch Service (`service: "es"`) or Serverless (`"aoss"`): every request is
    /// signed with SigV4 using the credentials the provider gives at the time of the request.
    SigV4 {
        region: String,
        service: String,
        credentials: SharedCredentialsProvider,
    },
}

// Written by hand so that a password never reaches a log line through `{:?}`.
impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
            Auth::SigV4 {
                region, service, ..
            } => f
                .debug_struct("SigV4")
                .field("region", region)
                .field("service", service)
                .field("credentials", &"<credential provider>")
                .finish(),
        }
    }
}

/// The target cluster and how to talk to it.
#[derive(Debug, Clone)]
pub struct TargetConfig {
    /// `http://host:port` or `https://host`, optionally with a path prefix (`https://proxy/os`).
    pub endpoint: String,
    pub auth: Auth,
    /// Gzip `_bulk` request bodies (`Content-Encoding: gzip`).
    pub gzip: bool,
    /// Per request, from sending its first byte to reading the last byte of the answer.
    pub request_timeout: Duration,
    /// TCP connect (the TLS handshake counts against `request_timeout`).
    pub connect_timeout: Duration,
    /// Accept any server certificate (self-signed test clusters). Never for production.
    pub insecure_skip_verify: bool,
}

impl TargetConfig {
    /// No auth, no gzip, 60 s per request, 10 s to connect, certificates verified.
    pub fn new(endpoint: impl Into<String>) -> Self {
        TargetConfig {
            endpoint: endpoint.into(),
            auth: Auth::None,
            gzip: false,
            request_timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            insecure_skip_verify: false,
        }
    }
}

/// A configuration that cannot work; found before any request is sent.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum TargetConfigError {
    #[error("target endpoint {endpoint:?}: {reason}")]
    Endpoint { endpoint: String, reason: String },
    #[error("target auth: {0}")]
    Auth(String),
    #[error("TLS for {endpoint}: {reason}")]
    Tls { endpoint: String, reason: String },
    /// Reading Basic auth credentials from Secrets Manager. Never carries the secret's value.
    #[error("secret {secret_id}: {reason}")]
    Secret { secret_id: String, reason: String },
}

/// What `GET /` says about the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerInfo {
    /// `version.distribution`: "opensearch"; Elasticsearch does not report one, it is then
    /// "elasticsearch".
    pub distribution: String,
    /// `version.number`, e.g. "2.17.1".
    pub version: String,
    pub cluster_name: Option<String>,
}

impl ServerInfo {
    pub(crate) fn parse(body: &[u8]) -> Option<ServerInfo> {
        let v: serde_json::Value = serde_json::from_slice(body).ok()?;
        let version = v.get("version")?;
        Some(ServerInfo {
            distribution: version
                .get("distribution")
                .and_then(|d| d.as_str())
                .unwrap_or("elasticsearch")
                .to_string(),
            version: version.get("number")?.as_str()?.to_string(),
            cluster_name: v
                .get("cluster_name")
                .and_then(|c| c.as_str())
                .map(str::to_string),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_credential_types::Credentials;

    #[test]
    fn debug_never_shows_secrets() {
        let mut cfg = TargetConfig::new("https://search.example");
        cfg.auth = Auth::Basic {
            username: "admin".into(),
            password: "hunter2".into(),
        };
        let text = format!("{cfg:?}");
        assert!(text.contains("admin") && text.contains("<redacted>"));
        assert!(!text.contains("hunter2"));

        cfg.auth = Auth::SigV4 {
            region: "eu-west-1".into(),
            service: "es".into(),
            credentials: SharedCredentialsProvider::new(Credentials::new(
                "AKID",
                "SECRETKEY",
                None,
                None,
                "test",
            )),
        };
        let text = format!("{cfg:?}");
        assert!(text.contains("eu-west-1") && !text.contains("SECRETKEY"));
    }

    #[test]
    fn server_info_of_opensearch_and_elasticsearch() {
        let os = br#"{"name":"n","cluster_name":"c","version":{"distribution":"opensearch","number":"2.17.1"}}"#;
        assert_eq!(
            ServerInfo::parse(os),
            Some(ServerInfo {
                distribution: "opensearch".into(),
                version: "2.17.1".into(),
                cluster_name: Some("c".into()),
            })
        );
        let es = br#"{"cluster_name":"c","version":{"number":"7.10.2"}}"#;
        assert_eq!(ServerInfo::parse(es).unwrap().distribution, "elasticsearch");
        assert_eq!(ServerInfo::parse(b"{}"), None);
    }
}

/// Rows of `_cat/indices?format=json` (the cat API answers numbers as strings).
pub(crate) fn parse_cat_indices(body: &[u8]) -> Option<Vec<IndexRow>> {
    let rows: Vec<serde_json::Value> = serde_json::from_slice(body).ok()?;
    let text = |v: &serde_json::Value, k: &str| -> Option<String> {
        match v.get(k)? {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    };
    rows.iter()
        .map(|r| {
            Some(IndexRow {
                index: text(r, "index")?,
                health: text(r, "health"),
                status: text(r, "status"),
                primaries: text(r, "pri").and_then(|v| v.parse().ok()),
                replicas: text(r, "rep").and_then(|v| v.parse().ok()),
                docs_count: text(r, "docs.count").and_then(|v| v.parse().ok()),
                docs_deleted: text(r, "docs.deleted").and_then(|v| v.parse().ok()),
                store_size: text(r, "store.size"),
                documents: None,
            })
        })
        .collect()
}

#[cfg(test)]
mod cat_tests {
    use super::parse_cat_indices;

    #[test]
    fn cat_indices_rows_take_strings_or_numbers_and_reject_other_answers() {
        let body = br#"[{"health":"green","status":"open","index":"logs","uuid":"x","pri":"2","rep":"0","docs.count":"1500","docs.deleted":"3","store.size":"1024","pri.store.size":"1024"},
                       {"index":"empty","docs.count":null,"pri":1}]"#;
        let rows = parse_cat_indices(body).unwrap();
        assert_eq!(rows[0].index, "logs");
        assert_eq!(rows[0].docs_count, Some(1500));
        assert_eq!(rows[0].primaries, Some(2));
        assert_eq!(rows[1].docs_count, None);
        assert_eq!(rows[1].primaries, Some(1));
        assert!(parse_cat_indices(br#"{"error":"x"}"#).is_none());
        assert!(parse_cat_indices(br#"[{"health":"green"}]"#).is_none());
    }
}
