//! The control plane of the soak: the project's own `Control` (the handlers behind `backfill
//! start | scale | pause`), with the real adapters against the local servers and the trial's
//! fleet as its `Fleet` port. The control plane reaches DynamoDB and S3 directly: the faults are
//! the workers'.

use std::sync::Arc;
use std::time::Duration;

use backfill_asl::RealClock;
use backfill_aws::{CloudWatchProgress, DynamoStore, S3Archive, S3Location, Snapshots};
use backfill_core::control::ports::Fleet;
use backfill_core::control::{Control, ControlConfig, InProcessStop};
use backfill_core::LeasePolicy;
use backfill_opensearch::{Auth, OpenSearchClusters};

use super::{SoakConfig, SoakServers};

/// Where the snapshot is and where the working state lives, for every trial.
pub struct Deployment {
    pub table: String,
    pub repository: String,
    pub snapshot: String,
    pub target: String,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub s3: aws_sdk_s3::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
}

impl Deployment {
    pub async fn new(servers: &SoakServers, repository: &str, snapshot: &str) -> Deployment {
        let ddb = crate::sdk_config(&servers.dynamodb.endpoint).await;
        let aws = crate::sdk_config(&servers.moto.endpoint).await;
        Deployment {
            table: "soak-working-state".into(),
            repository: repository.into(),
            snapshot: snapshot.into(),
            target: servers.target.endpoint.clone(),
            dynamodb: aws_sdk_dynamodb::Client::new(&ddb),
            s3: crate::s3_client(&aws),
            cloudwatch: aws_sdk_cloudwatch::Client::new(&aws),
        }
    }

    pub fn store(&self) -> DynamoStore {
        DynamoStore::new(self.dynamodb.clone(), &self.table)
    }

    /// The control plane of one trial, its fleet as the `Fleet` port.
    pub fn control(&self, cfg: &SoakConfig, fleet: Arc<dyn Fleet>) -> Arc<Control> {
        let stop = Arc::new(InProcessStop::new(Arc::new(RealClock)));
        let control = Arc::new(Control {
            config: ControlConfig {
                default_backfill: "soak".into(),
                default_workers: cfg.workers.0,
                fleet_name: "Soak fleet".into(),
                lease: LeasePolicy {
                    initial: Duration::from_secs(cfg.lease_seconds),
                    max: Duration::from_secs(2 * cfg.lease_seconds),
                    max_clock_skew: Duration::from_secs(1),
                },
                snapshot_repository: Some(self.repository.clone()),
                snapshot_name: Some(self.snapshot.clone()),
                target_endpoint: Some(self.target.clone()),
                create_missing_indices: true,
                ..ControlConfig::default()
            },
            store: Arc::new(self.store()),
            fleet,
            snapshots: Arc::new(Snapshots {
                s3: self.s3.clone(),
                runtime: tokio::runtime::Handle::current(),
            }),
            stop_workflow: stop.clone(),
            archive: Arc::new(S3Archive::new(
                self.s3.clone(),
                S3Location {
                    bucket: super::BUCKET.into(),
                    prefix: "archive".into(),
                },
            )),
            progress: Arc::new(CloudWatchProgress::new(self.cloudwatch.clone(), "Backfill")),
            clusters: Arc::new(OpenSearchClusters::new(Auth::None)),
        });
        stop.bind(&control);
        control
    }
}
