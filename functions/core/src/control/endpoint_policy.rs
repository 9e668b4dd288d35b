//! Where a backfill may point workers, in one place: the rules every target URL and snapshot
//! repository must follow, and which ones a start may choose. A caller allowed to start a
//! backfill must not be able to make workers send the target's credentials (Basic or SigV4)
//! to a host of their choosing, so a start may name only the deployment's own target and
//! repository, or one the operator listed (`AllowedTargetEndpoints`,
//! `AllowedSnapshotRepositories`). The workers check the same rules again before they attach
//! credentials.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why a target URL is refused. Never echoes user-info (it may hold a password).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    #[error("target endpoint {url:?}: {reason}")]
    Invalid { url: String, reason: String },
    #[error(
        "target endpoint {url:?} is not this deployment's target ({default}) nor in its allowed list; \
         an operator can allow it with the template parameter AllowedTargetEndpoints \
         (ALLOWED_TARGET_ENDPOINTS; local mode: backfill local setup --allowed-target-endpoint)"
    )]
    NotAllowed { url: String, default: String },
    #[error(
        "refusing to send the target's credentials to {url:?}, the backfill's target: it is not in \
         this worker's --allowed-target-endpoints (ALLOWED_TARGET_ENDPOINTS; on AWS the template's \
         TargetEndpoint and AllowedTargetEndpoints)"
    )]
    CredentialsNotAllowed { url: String },
}

/// Why a snapshot repository is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RepositoryError {
    #[error("snapshot repository {uri:?}: {reason}")]
    Invalid { uri: String, reason: String },
    #[error(
        "snapshot repository {uri:?} is not this deployment's repository ({default}) nor in its allowed \
         list; an operator can allow it with the template parameter AllowedSnapshotRepositories \
         (ALLOWED_SNAPSHOT_REPOSITORIES; local mode: backfill local setup --allowed-snapshot-repository)"
    )]
    NotAllowed { uri: String, default: String },
}

/// A target URL that passed the rules, in a canonical form for comparisons: lower-case
/// scheme and host, no default port, no trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetUrl(String);

impl TargetUrl {
    /// The rules: `https://` (plain `http://` only to loopback), a host, no user-info, no
    /// query or fragment, and never a link-local or instance-metadata address.
    pub fn parse(text: &str) -> Result<TargetUrl, EndpointError> {
        let text = text.trim();
        let err = |reason: &str| EndpointError::Invalid {
            url: text.to_string(),
            reason: reason.to_string(),
        };
        let (scheme, rest) = text
            .split_once("://")
            .ok_or_else(|| err("needs a scheme: https://host[:port]"))?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "https" && scheme != "http" {
            return Err(err("the scheme must be https (or http to loopback)"));
        }
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(end);
        if authority.contains('@') {
            // Not echoed: the user part may hold a password.
            return Err(EndpointError::Invalid {
                url: format!("{scheme}://<user info>@…"),
                reason: "credentials do not belong in the URL; use the deployment's target auth"
                    .into(),
            });
        }
        if path.contains(['?', '#']) {
            return Err(err("must not have a query string or fragment"));
        }
        let (host, port) = split_host_port(authority).map_err(|r| err(&r))?;
        if host.is_empty() {
            return Err(err("has no host"));
        }
        let host = host.to_ascii_lowercase();
        let ip = parse_ip(&host);
        if let Some(ip) = ip {
            if let Some(why) = forbidden_ip(ip) {
                return Err(err(why));
            }
        } else {
            if !host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
            {
                return Err(err("the host is not a valid DNS name or IP address"));
            }
            if METADATA_NAMES.contains(&host.trim_end_matches('.')) {
                return Err(err("is an instance-metadata service name"));
            }
        }
        let loopback = ip.is_some_and(|ip| ip.is_loopback()) || is_localhost(&host);
        if scheme == "http" && !loopback {
            return Err(err(
                "must use https: plain http is allowed only to loopback (127.0.0.0/8, ::1, localhost)",
            ));
        }
        let default_port = if scheme == "https" { 443 } else { 80 };
        let port = match port {
            Some(p) if p != default_port => format!(":{p}"),
            _ => String::new(),
        };
        let host = if matches!(ip, Some(IpAddr::V6(_))) {
            format!("[{host}]")
        } else {
            host
        };
        Ok(TargetUrl(format!(
            "{scheme}://{host}{port}{}",
            path.trim_end_matches('/')
        )))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for TargetUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Instance-metadata services reached by name (the addresses are refused by `forbidden_ip`).
const METADATA_NAMES: [&str; 3] = [
    "metadata.google.internal",
    "metadata",
    "instance-data.ec2.internal",
];

fn is_localhost(host: &str) -> bool {
    let h = host.trim_end_matches('.');
    h == "localhost" || h.ends_with(".localhost")
}

fn split_host_port(authority: &str) -> Result<(&str, Option<u16>), String> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (h, after) = rest
            .split_once(']')
            .ok_or("an IPv6 address needs its closing ']'")?;
        match after {
            "" => (h, None),
            p => (
                h,
                Some(p.strip_prefix(':').ok_or("junk after the IPv6 address")?),
            ),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let port = match port {
        None => None,
        Some(p) => Some(
            p.parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| format!("port {p:?} is not a number from 1 to 65535"))?,
        ),
    };
    Ok((host, port))
}

fn parse_ip(host: &str) -> Option<IpAddr> {
    host.parse().ok()
}

/// Addresses no target may have: link-local (where cloud metadata services live) and the
/// unspecified address; IPv4-mapped IPv6 addresses are judged as the IPv4 they carry.
fn forbidden_ip(ip: IpAddr) -> Option<&'static str> {
    const EC2_METADATA_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254);
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return forbidden_v4(v4);
            }
            if v6 == EC2_METADATA_V6 {
                Some("is the instance-metadata address fd00:ec2::254")
            } else if (v6.segments()[0] & 0xffc0) == 0xfe80 {
                Some("is a link-local address (fe80::/10)")
            } else if v6.is_unspecified() {
                Some("is the unspecified address")
            } else {
                None
            }
        }
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    if ip.is_link_local() {
        Some("is a link-local address (169.254.0.0/16, where instance metadata lives)")
    } else if ip.is_unspecified() {
        Some("is the unspecified address")
    } else {
        None
    }
}

/// A snapshot repository that passed the rules: `s3://bucket[/prefix]` with a valid bucket
/// name, or (local mode only) a local directory. Canonical: no trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repository(String);

impl Repository {
    pub fn parse(text: &str, local_directories: bool) -> Result<Repository, RepositoryError> {
        let text = text.trim();
        let err = |reason: &str| RepositoryError::Invalid {
            uri: text.to_string(),
            reason: reason.to_string(),
        };
        let Some(rest) = text.strip_prefix("s3://") else {
            if text.contains("://") {
                return Err(err("must be s3://bucket/prefix"));
            }
            if !local_directories {
                return Err(err(
                    "must be s3://bucket/prefix (local directories only in local mode)",
                ));
            }
            if text.is_empty() {
                return Err(err("is empty"));
            }
            return Ok(Repository(text.trim_end_matches('/').to_string()));
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if let Some(why) = bucket_name_problem(bucket) {
            return Err(err(&format!("bucket {bucket:?} {why}")));
        }
        if prefix.split('/').any(|p| p == "..") {
            return Err(err("the prefix must not contain '..'"));
        }
        let prefix = prefix.trim_end_matches('/');
        Ok(Repository(if prefix.is_empty() {
            format!("s3://{bucket}")
        } else {
            format!("s3://{bucket}/{prefix}")
        }))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// S3's bucket naming rules (general purpose buckets).
fn bucket_name_problem(b: &str) -> Option<&'static str> {
    if b.len() < 3 || b.len() > 63 {
        return Some("must be 3 to 63 characters long");
    }
    if !b
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
    {
        return Some("may hold only lower-case letters, digits, '.' and '-'");
    }
    let edge_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    if !edge_ok(b.chars().next()) || !edge_ok(b.chars().last()) {
        return Some("must begin and end with a letter or digit");
    }
    if b.contains("..") {
        return Some("must not contain '..'");
    }
    if b.parse::<Ipv4Addr>().is_ok() {
        return Some("must not be an IP address");
    }
    None
}

/// A comma-separated list (a template parameter, an environment variable), blanks dropped.
pub fn split_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// What a start may point workers at besides the deployment's defaults (both lists empty by
/// default: no overrides).
#[derive(Debug, Clone, Default)]
pub struct OverridePolicy {
    pub allowed_target_endpoints: Vec<String>,
    pub allowed_snapshot_repositories: Vec<String>,
    /// Local mode: a repository may be a directory on this machine.
    pub local_directories: bool,
}

impl OverridePolicy {
    /// A start's `requested` target: allowed if it follows the rules and equals the
    /// deployment's `default` or is in the operator's list. (The default itself was checked
    /// when the configuration was read.)
    pub fn target(
        &self,
        requested: &str,
        default: Option<&str>,
    ) -> Result<TargetUrl, EndpointError> {
        let url = TargetUrl::parse(requested)?;
        let default = default.and_then(|d| TargetUrl::parse(d).ok());
        if default.as_ref() == Some(&url) || self.endpoint_listed(&url) {
            return Ok(url);
        }
        Err(EndpointError::NotAllowed {
            url: url.0,
            default: default.map_or_else(|| "none".into(), |d| d.0),
        })
    }

    /// A start's `requested` snapshot repository, allowed as `target` allows endpoints.
    pub fn repository(
        &self,
        requested: &str,
        default: Option<&str>,
    ) -> Result<Repository, RepositoryError> {
        let parse = |t: &str| Repository::parse(t, self.local_directories);
        let repo = parse(requested)?;
        let default = default.and_then(|d| parse(d).ok());
        let listed = self
            .allowed_snapshot_repositories
            .iter()
            .filter_map(|a| parse(a).ok())
            .any(|a| a == repo);
        if default.as_ref() == Some(&repo) || listed {
            return Ok(repo);
        }
        Err(RepositoryError::NotAllowed {
            uri: repo.0,
            default: default.map_or_else(|| "none".into(), |d| d.0),
        })
    }

    fn endpoint_listed(&self, url: &TargetUrl) -> bool {
        self.allowed_target_endpoints
            .iter()
            .filter_map(|a| TargetUrl::parse(a).ok())
            .any(|a| &a == url)
    }

    /// For a worker about to attach credentials to requests to `endpoint` (taken from the
    /// backfill's record): the operator's list must name it.
    pub fn credentials_may_go_to(&self, endpoint: &str) -> Result<TargetUrl, EndpointError> {
        let url = TargetUrl::parse(endpoint)?;
        if self.endpoint_listed(&url) {
            return Ok(url);
        }
        Err(EndpointError::CredentialsNotAllowed { url: url.0 })
    }
}

/// A first start's overrides, checked before anything is recorded: a refused override is a
/// 403 (the deployment does not allow it), a malformed one a 400.
pub(crate) fn check_start(
    config: &super::ControlConfig,
    req: &super::StartRequest,
) -> Result<(), super::ControlError> {
    use super::ControlError;
    let p = &config.overrides;
    if let Some(requested) = req.target_endpoint.as_deref() {
        p.target(requested, config.target_endpoint.as_deref())
            .map_err(|e| match e {
                EndpointError::Invalid { .. } => ControlError::BadRequest(e.to_string()),
                _ => ControlError::Forbidden(e.to_string()),
            })?;
    }
    if let Some(requested) = req.snapshot_repository.as_deref() {
        p.repository(requested, config.snapshot_repository.as_deref())
            .map_err(|e| match e {
                RepositoryError::Invalid { .. } => ControlError::BadRequest(e.to_string()),
                RepositoryError::NotAllowed { .. } => ControlError::Forbidden(e.to_string()),
            })?;
    }
    Ok(())
}

#[cfg(test)]
#[path = "endpoint_policy_tests.rs"]
mod tests;
