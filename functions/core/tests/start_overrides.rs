//! `start` may point workers only where the deployment allows: its own target and repository
//! (however spelled) or those the operator listed. A refused override is a 403 that names the
//! value and how to allow it, a malformed one a 400, and neither leaves a record behind.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use backfill_core::control::endpoint_policy::OverridePolicy;
use backfill_core::control::ports::{
    ArchiveStore, ExecutionStatus, Fleet, FleetState, Gauge, IndexRow, PortError, ProgressSink,
    StopWorkflow, TargetClusters,
};
use backfill_core::control::{Control, ControlConfig, StartRequest};
use backfill_core::memory::MemoryStore;
use backfill_core::worker::LocalSnapshots;
use backfill_core::WorkStore;

#[derive(Default)]
struct Workers(Mutex<FleetState>);

#[async_trait]
impl Fleet for Workers {
    async fn set_desired(&self, workers: u32) -> Result<FleetState, PortError> {
        let mut f = self.0.lock().unwrap();
        f.desired = workers;
        Ok(*f)
    }
    async fn state(&self) -> Result<FleetState, PortError> {
        Ok(*self.0.lock().unwrap())
    }
}

/// The ports `start` never calls.
struct Untouched;

#[async_trait]
impl StopWorkflow for Untouched {
    async fn start(&self, _: &str) -> Result<String, PortError> {
        unreachable!("start does not stop")
    }
    async fn status(&self, _: &str) -> Result<ExecutionStatus, PortError> {
        unreachable!("start does not read the stop workflow")
    }
}

#[async_trait]
impl ArchiveStore for Untouched {
    async fn put(&self, _: &str, _: Vec<u8>) -> Result<String, PortError> {
        unreachable!("start does not archive")
    }
}

#[async_trait]
impl ProgressSink for Untouched {
    async fn publish(&self, _: &str, _: &[Gauge]) -> Result<(), PortError> {
        unreachable!("start does not publish")
    }
}

#[async_trait]
impl TargetClusters for Untouched {
    async fn indices(&self, _: &str, _: bool) -> Result<Vec<IndexRow>, PortError> {
        unreachable!("start does not call the target")
    }

    async fn count(&self, _: &str, _: &str) -> Result<u64, PortError> {
        unreachable!("start does not call the target")
    }
}

fn repository(root: &Path) -> PathBuf {
    let case = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/lucene/l8_fast");
    let mut b = snapshot_testkit::RepoBuilder::new(root, snapshot_testkit::WriteOptions::default());
    b.add_index(
        "logs",
        &[case],
        vec![],
        serde_json::json!({"properties": {}}),
    );
    b.write_snapshot("snap").unwrap();
    root.to_path_buf()
}

fn control(store: Arc<MemoryStore>, repo: &Path, overrides: OverridePolicy) -> Control {
    Control {
        config: ControlConfig {
            snapshot_repository: Some(repo.display().to_string()),
            snapshot_name: Some("snap".into()),
            target_endpoint: Some("https://target.example".into()),
            overrides,
            ..ControlConfig::default()
        },
        store,
        fleet: Arc::new(Workers::default()),
        snapshots: Arc::new(LocalSnapshots),
        stop_workflow: Arc::new(Untouched),
        archive: Arc::new(Untouched),
        progress: Arc::new(Untouched),
        clusters: Arc::new(Untouched),
    }
}

fn start(id: &str, target: Option<&str>, repo: Option<&str>) -> StartRequest {
    StartRequest {
        backfill_id: Some(id.into()),
        target_endpoint: target.map(str::to_string),
        snapshot_repository: repo.map(str::to_string),
        ..StartRequest::default()
    }
}

#[tokio::test]
async fn overrides_are_refused_unless_the_deployment_allows_them() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = repository(&tmp.path().join("repo"));
    let other_repo = repository(&tmp.path().join("other"));
    let store = Arc::new(MemoryStore::new());
    let local = OverridePolicy {
        local_directories: true,
        ..OverridePolicy::default()
    };
    let c = control(store.clone(), &repo, local.clone());

    // Another target: 403, naming it and the parameter; nothing recorded.
    let e = c
        .start(start("a", Some("https://collector.example"), None))
        .await
        .unwrap_err();
    assert_eq!(e.http_status(), 403, "{e}");
    let text = e.to_string();
    assert!(text.contains("https://collector.example"), "{text}");
    assert!(text.contains("AllowedTargetEndpoints"), "{text}");
    assert!(store.backfill("a").await.unwrap().is_none());

    // Malformed: 400, and user-info is not repeated.
    for (bad, hint) in [
        (
            "https://admin:hunter2@target.example",
            "credentials do not belong",
        ),
        ("http://169.254.169.254", "link-local"),
        ("http://target.example", "must use https"),
    ] {
        let e = c.start(start("b", Some(bad), None)).await.unwrap_err();
        assert_eq!(e.http_status(), 400, "{bad}: {e}");
        assert!(e.to_string().contains(hint), "{bad}: {e}");
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }
    assert!(store.backfill("b").await.unwrap().is_none());

    // Another repository: 403 naming it.
    let other = other_repo.display().to_string();
    let e = c.start(start("c", None, Some(&other))).await.unwrap_err();
    assert_eq!(e.http_status(), 403, "{e}");
    assert!(e.to_string().contains("AllowedSnapshotRepositories"), "{e}");

    // The deployment's own target, spelled otherwise, is fine.
    c.start(start("d", Some("HTTPS://Target.Example:443/"), None))
        .await
        .unwrap();
    assert!(store.backfill("d").await.unwrap().is_some());

    // Listed by the operator: allowed, and recorded as asked.
    let listed = control(
        store.clone(),
        &repo,
        OverridePolicy {
            allowed_target_endpoints: vec!["https://b.example:9200".into()],
            allowed_snapshot_repositories: vec![other.clone()],
            ..local
        },
    );
    listed
        .start(start("e", Some("https://b.example:9200"), Some(&other)))
        .await
        .unwrap();
    let r = store.backfill("e").await.unwrap().unwrap();
    assert_eq!(r.target.endpoint, "https://b.example:9200");
    assert_eq!(r.snapshot.repository, other);
}
