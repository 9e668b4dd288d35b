use super::*;

fn url(s: &str) -> Result<String, String> {
    TargetUrl::parse(s)
        .map(|u| u.as_str().to_string())
        .map_err(|e| e.to_string())
}

#[test]
fn https_anywhere_and_http_only_to_loopback() {
    assert_eq!(
        url("https://search.example").unwrap(),
        "https://search.example"
    );
    assert_eq!(
        url("HTTPS://Search.Example:443/os/").unwrap(),
        "https://search.example/os"
    );
    assert_eq!(
        url("https://10.0.0.5:9200").unwrap(),
        "https://10.0.0.5:9200"
    );
    for ok in [
        "http://127.0.0.1:9200",
        "http://127.8.9.10",
        "http://[::1]:9200",
        "http://localhost:9200",
        "http://node.localhost",
    ] {
        assert!(url(ok).is_ok(), "{ok}: {:?}", url(ok));
    }
    for bad in [
        "http://search.example",
        "http://10.0.0.5:9200",
        "http://[2001:db8::1]",
    ] {
        let e = url(bad).unwrap_err();
        assert!(e.contains("must use https"), "{bad}: {e}");
    }
    for bad in ["ftp://h", "search.example:9200", "file:///etc/passwd"] {
        assert!(url(bad).is_err(), "{bad}");
    }
}

#[test]
fn user_info_is_refused_without_echoing_it() {
    let e = url("https://admin:hunter2@search.example").unwrap_err();
    assert!(e.contains("credentials do not belong in the URL"), "{e}");
    assert!(!e.contains("hunter2") && !e.contains("admin"), "{e}");
}

#[test]
fn link_local_and_metadata_addresses_are_refused() {
    for bad in [
        "https://169.254.169.254",
        "http://169.254.169.254/latest/meta-data",
        "https://169.254.1.2:9200",
        "https://[fe80::1]",
        "https://[febf::1]",
        "https://[fd00:ec2::254]",
        "https://[::ffff:169.254.169.254]",
        "https://metadata.google.internal",
        "https://instance-data.ec2.internal",
        "https://0.0.0.0:9200",
    ] {
        assert!(url(bad).is_err(), "{bad}");
    }
    // Neighbours of the refused ranges are fine.
    assert!(url("https://169.253.0.1").is_ok());
    assert!(url("https://[fec0::1]").is_ok());
}

#[test]
fn empty_hosts_bad_ports_queries_and_odd_names_are_refused() {
    for bad in [
        "https://",
        "https://:9200",
        "https:///path",
        "https://h:0",
        "https://h:99999",
        "https://h:x",
        "https://h/?q=1",
        "https://h/#f",
        "https://h?q",
        "https://bad_host!",
        "https://[::1",
    ] {
        assert!(url(bad).is_err(), "{bad}: {:?}", url(bad));
    }
}

#[test]
fn repositories_are_s3_with_valid_buckets_or_local_directories_in_local_mode() {
    let repo = |s: &str, local| {
        Repository::parse(s, local)
            .map(|r| r.as_str().to_string())
            .map_err(|e| e.to_string())
    };
    assert_eq!(
        repo("s3://my-bucket/snaps/", false).unwrap(),
        "s3://my-bucket/snaps"
    );
    assert_eq!(repo("s3://my.bucket.1", false).unwrap(), "s3://my.bucket.1");
    for bad in [
        "s3://ab",
        "s3://My-Bucket/x",
        "s3://-bucket",
        "s3://bucket-",
        "s3://a..b",
        "s3://192.168.1.1/x",
        "s3://bucket_x",
        "s3://bucket/../other",
        "https://bucket/x",
        "/var/repo",
        "",
    ] {
        assert!(repo(bad, false).is_err(), "{bad}");
    }
    assert_eq!(repo("/var/repo/", true).unwrap(), "/var/repo");
    assert!(repo("gs://bucket", true).is_err());
}

#[test]
fn overrides_need_the_default_or_the_operators_list() {
    let none = OverridePolicy::default();
    let default = Some("https://target.example");
    // The default itself, however spelled, is fine.
    assert!(none.target("https://TARGET.example:443/", default).is_ok());
    let e = none
        .target("https://elsewhere.example", default)
        .unwrap_err();
    assert!(matches!(e, EndpointError::NotAllowed { .. }));
    let text = e.to_string();
    assert!(text.contains("https://elsewhere.example") && text.contains("AllowedTargetEndpoints"));
    assert!(none.target("https://elsewhere.example", None).is_err());

    let listed = OverridePolicy {
        allowed_target_endpoints: split_list(
            " https://elsewhere.example , ,https://b.example:9200",
        ),
        allowed_snapshot_repositories: split_list("s3://other-bucket/snaps"),
        local_directories: false,
    };
    assert!(listed.target("https://elsewhere.example/", default).is_ok());
    assert!(listed.target("https://b.example:9200", default).is_ok());
    assert!(listed.target("https://b.example", default).is_err());
    // A listed endpoint still has to follow the rules.
    let bad = OverridePolicy {
        allowed_target_endpoints: vec!["http://169.254.169.254".into()],
        ..OverridePolicy::default()
    };
    assert!(matches!(
        bad.target("http://169.254.169.254", default),
        Err(EndpointError::Invalid { .. })
    ));

    let repo_default = Some("s3://snap-bucket/base");
    assert!(none
        .repository("s3://snap-bucket/base/", repo_default)
        .is_ok());
    let e = none
        .repository("s3://other-bucket/snaps", repo_default)
        .unwrap_err();
    assert!(e.to_string().contains("AllowedSnapshotRepositories"), "{e}");
    assert!(listed
        .repository("s3://other-bucket/snaps", repo_default)
        .is_ok());
    assert!(matches!(
        listed.repository("/local/dir", repo_default),
        Err(RepositoryError::Invalid { .. })
    ));
}

#[test]
fn workers_send_credentials_only_to_listed_endpoints() {
    let p = OverridePolicy {
        allowed_target_endpoints: split_list("https://target.example,https://b.example:9200"),
        ..OverridePolicy::default()
    };
    assert!(p.credentials_may_go_to("https://target.example/").is_ok());
    let e = p.credentials_may_go_to("https://evil.example").unwrap_err();
    assert!(matches!(e, EndpointError::CredentialsNotAllowed { .. }));
    assert!(e.to_string().contains("ALLOWED_TARGET_ENDPOINTS"), "{e}");
    assert!(OverridePolicy::default()
        .credentials_may_go_to("https://target.example")
        .is_err());
}
