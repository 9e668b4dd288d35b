//! The direction of dependencies, checked from `cargo tree`: the domain crate and the
//! snapshot reader stay free of AWS, of the Lambda runtime, of the adapters and of the local
//! machine's processes (`libc`), so that they can be tested and reused without any of them;
//! and production crates use only the reader's public API (not its `internals` feature).

use std::collections::BTreeMap;
use std::process::Command;

/// Crates that must not be reached through normal (non-dev) dependencies.
fn forbidden(name: &str) -> bool {
    name.starts_with("aws-sdk-")
        || name == "aws-config"
        || name == "lambda_runtime"
        || name == "aws_lambda_events"
        || name.starts_with("backfill-") && !matches!(name, "backfill-core" | "backfill-asl")
}

/// The crates `root` reaches through normal and build dependencies on this platform, by name,
/// with their depth (1 = a direct dependency). `cargo tree` rather than `cargo metadata`: it
/// resolves for the host only, so it needs only the crates a build on this machine needs.
fn reached(root: &str) -> BTreeMap<String, usize> {
    let out = cargo_tree(root, "normal,build", "depth", "{p}");
    let mut seen = BTreeMap::new();
    for line in out.lines().skip(1) {
        let digits = line.chars().take_while(char::is_ascii_digit).count();
        let Ok(depth) = line[..digits].parse::<usize>() else {
            continue;
        };
        let name = line[digits..].split_whitespace().next().unwrap_or_default();
        let d = seen.entry(name.to_string()).or_insert(depth);
        *d = (*d).min(depth);
    }
    assert!(!seen.is_empty(), "cargo tree -p {root} listed nothing");
    seen
}

#[test]
fn the_domain_and_the_reader_depend_on_no_aws_runtime_adapter_or_libc() {
    for root in ["backfill-core", "snapshot", "backfill-asl"] {
        let reach = reached(root);
        let bad: Vec<&String> = reach.keys().filter(|name| forbidden(name)).collect();
        assert!(bad.is_empty(), "{root} must not depend on: {bad:?}");
        assert!(
            reach.get("libc") != Some(&1),
            "{root} must not use libc directly (processes belong to backfill-local)"
        );
    }
}

#[test]
fn the_check_sees_a_forbidden_dependency() {
    // The adapters do reach what the domain must not: the check can fail.
    assert!(reached("backfill-aws").keys().any(|n| forbidden(n)));
    assert_eq!(reached("backfill-local").get("libc"), Some(&1));
}

/// The features `snapshot` is built with for `root` (normal dependencies only).
fn snapshot_features(root: &str) -> String {
    cargo_tree(root, "normal", "none", "{p} [{f}]")
        .lines()
        .find(|l| l.starts_with("snapshot v"))
        .unwrap_or_else(|| panic!("{root} does not use the reader"))
        .to_string()
}

/// `cargo tree -p root` for this platform, offline (`make unit` fetches the crates first).
fn cargo_tree(root: &str, edges: &str, prefix: &str, format: &str) -> String {
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["tree", "--offline", "-e", edges, "--prefix", prefix])
        .args(["--format", format, "-p", root])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "cargo tree -p {root} (after `cargo fetch` if a crate is missing): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn production_crates_use_only_the_readers_public_api() {
    // The reader's layers are public only with its `internals` feature (tests, testkit, fuzz).
    for root in [
        "backfill-worker",
        "backfill-lambdas",
        "backfill-cli",
        "backfill-core",
    ] {
        let line = snapshot_features(root);
        assert!(!line.contains("internals"), "{root}: {line}");
    }
    // The check can fail: the testkit asks for them.
    assert!(snapshot_features("snapshot-testkit").contains("internals"));
}
