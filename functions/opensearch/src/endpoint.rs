//! The target's base URL: scheme, authority and an optional path prefix.

use hyper::header::HeaderValue;
use hyper::Uri;

use backfill_core::control::endpoint_policy::{EndpointError, TargetUrl};

use crate::TargetConfigError;

#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    /// `scheme://authority/prefix`, without a trailing slash: request paths are appended.
    pub base: String,
    pub https: bool,
    /// What `Host:` carries (and SigV4 signs): the authority without a default port, as
    /// hyper would send it.
    pub host: HeaderValue,
}

impl Endpoint {
    pub fn parse(text: &str) -> Result<Endpoint, TargetConfigError> {
        // The rules (https but to loopback, no user-info, no metadata address …) have one
        // home; this only takes the URL apart for requests.
        TargetUrl::parse(text).map_err(|e| match e {
            EndpointError::Invalid { url, reason } => TargetConfigError::Endpoint {
                endpoint: url,
                reason,
            },
            other => TargetConfigError::Endpoint {
                endpoint: text.to_string(),
                reason: other.to_string(),
            },
        })?;
        let err = |reason: &str| TargetConfigError::Endpoint {
            endpoint: text.to_string(),
            reason: reason.to_string(),
        };
        let uri: Uri = text
            .trim()
            .parse()
            .map_err(|e: hyper::http::uri::InvalidUri| err(&e.to_string()))?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            Some(_) => return Err(err("the scheme must be http or https")),
            None => return Err(err("needs a scheme: http://host:port or https://host")),
        };
        let authority = uri.authority().ok_or_else(|| err("has no host"))?;
        let default_port = if https { 443 } else { 80 };
        let host = match authority.port_u16() {
            Some(p) if p == default_port => authority.host(),
            _ => authority.as_str(),
        };
        let prefix = uri.path().trim_end_matches('/');
        Ok(Endpoint {
            base: format!(
                "{}://{}{}",
                if https { "https" } else { "http" },
                authority.as_str(),
                prefix
            ),
            https,
            host: HeaderValue::from_str(host).map_err(|_| err("the host is not a valid header"))?,
        })
    }

    /// The full URL of `path` (which starts with '/').
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// `/<index>`, the name percent-encoded so that no character can change the request's meaning
/// (index names are user data from the snapshot).
pub(crate) fn index_path(index: &str) -> String {
    let mut out = String::with_capacity(index.len() + 1);
    out.push('/');
    for &b in index.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_with_ports_prefixes_and_default_ports() {
        let e = Endpoint::parse("http://127.0.0.1:9200/").unwrap();
        assert_eq!(e.url("/_bulk"), "http://127.0.0.1:9200/_bulk");
        assert_eq!(e.host, "127.0.0.1:9200");
        assert!(!e.https);
        let e = Endpoint::parse("https://search.example:443/os/").unwrap();
        assert_eq!(e.url("/_bulk"), "https://search.example:443/os/_bulk");
        assert_eq!(e.host, "search.example");
        assert!(e.https);
        let e = Endpoint::parse("https://[::1]:9200").unwrap();
        assert_eq!(e.host, "[::1]:9200");
    }

    #[test]
    fn bad_endpoints_are_refused_without_echoing_passwords() {
        for bad in [
            "127.0.0.1:9200",
            "ftp://h",
            "http://h/?x=1",
            "not a url",
            // endpoint_policy's rules, applied here too.
            "http://search.example",
            "https://169.254.169.254",
        ] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
        let e = Endpoint::parse("https://admin:hunter2@h").unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }

    #[test]
    fn index_names_are_encoded() {
        assert_eq!(index_path("logs-2024.01"), "/logs-2024.01");
        assert_eq!(index_path("a b/c?é"), "/a%20b%2Fc%3F%C3%A9");
    }
}
