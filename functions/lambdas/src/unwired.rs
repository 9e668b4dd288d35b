//! The port a function was not built with: its handler never calls it (`Handler::ports`), so the
//! function has no client for it and no permission on it. A call still fails loudly, naming
//! the handler and the port, rather than reaching AWS without the permission.

use async_trait::async_trait;
use backfill_core::control::ports::{
    ArchiveStore, ExecutionStatus, Fleet, FleetState, Gauge, IndexRow, PortError, ProgressSink,
    StopWorkflow, TargetClusters,
};
use backfill_core::control::{Handler, Port};
use backfill_core::lease::LeasePolicy;
use backfill_core::model::{BackfillRecord, Counters, NewItem, NewRange, WorkItem};
use backfill_core::store::{
    Claim, ClaimOutcome, InProgress, Progress, StateChange, StoreError, WorkStore,
};
use backfill_core::worker::SnapshotSource;

pub struct Unwired {
    pub handler: Handler,
    pub port: Port,
}

impl Unwired {
    fn message(&self) -> String {
        format!(
            "the {} function is not wired for the {} port (Handler::ports says its handler does not use it)",
            self.handler.name(),
            self.port.field()
        )
    }

    fn error(&self) -> PortError {
        PortError::failed(self.message())
    }

    fn store_error(&self) -> StoreError {
        StoreError::Backend(self.error())
    }
}

#[async_trait]
impl Fleet for Unwired {
    async fn set_desired(&self, _: u32) -> Result<FleetState, PortError> {
        Err(self.error())
    }
    async fn state(&self) -> Result<FleetState, PortError> {
        Err(self.error())
    }
}

#[async_trait]
impl StopWorkflow for Unwired {
    async fn start(&self, _: &str) -> Result<String, PortError> {
        Err(self.error())
    }
    async fn status(&self, _: &str) -> Result<ExecutionStatus, PortError> {
        Err(self.error())
    }
}

#[async_trait]
impl ArchiveStore for Unwired {
    async fn put(&self, _: &str, _: Vec<u8>) -> Result<String, PortError> {
        Err(self.error())
    }
}

#[async_trait]
impl ProgressSink for Unwired {
    async fn publish(&self, _: &str, _: &[Gauge]) -> Result<(), PortError> {
        Err(self.error())
    }
}

#[async_trait]
impl TargetClusters for Unwired {
    async fn indices(&self, _: &str, _: bool) -> Result<Vec<IndexRow>, PortError> {
        Err(self.error())
    }

    async fn count(&self, _: &str, _: &str) -> Result<u64, PortError> {
        Err(self.error())
    }
}

impl SnapshotSource for Unwired {
    fn open(&self, repository: &str, name: &str) -> Result<snapshot::Snapshot, snapshot::Error> {
        let location = snapshot::Location {
            repository: Some(repository.to_string()),
            snapshot: Some(name.to_string()),
            ..snapshot::Location::default()
        };
        Err(snapshot::Error::new(
            location,
            snapshot::ErrorKind::Unsupported(self.message()),
        ))
    }
}

#[async_trait]
impl WorkStore for Unwired {
    async fn create_backfill(&self, _: &BackfillRecord) -> Result<bool, StoreError> {
        Err(self.store_error())
    }
    async fn backfill(&self, _: &str) -> Result<Option<BackfillRecord>, StoreError> {
        Err(self.store_error())
    }
    async fn set_state(
        &self,
        _: &str,
        _: &StateChange<'_>,
        _: i64,
    ) -> Result<BackfillRecord, StoreError> {
        Err(self.store_error())
    }
    async fn create_items(&self, _: &str, _: &[NewItem]) -> Result<u64, StoreError> {
        Err(self.store_error())
    }
    async fn claim(
        &self,
        _: &str,
        _: &str,
        _: i64,
        _: &LeasePolicy,
    ) -> Result<ClaimOutcome, StoreError> {
        Err(self.store_error())
    }
    async fn checkpoint(
        &self,
        _: &mut Claim,
        _: &Progress,
        _: i64,
        _: &LeasePolicy,
    ) -> Result<(), StoreError> {
        Err(self.store_error())
    }
    async fn record_expected(&self, _: &Claim, _: u64) -> Result<(), StoreError> {
        Err(self.store_error())
    }
    async fn split(&self, _: &mut Claim, _: &[NewRange]) -> Result<(), StoreError> {
        Err(self.store_error())
    }
    async fn complete(&self, _: &Claim, _: &Progress, _: i64) -> Result<(), StoreError> {
        Err(self.store_error())
    }
    async fn release(&self, _: &Claim, _: &Progress) -> Result<(), StoreError> {
        Err(self.store_error())
    }
    async fn fail(
        &self,
        _: &Claim,
        _: &Progress,
        _: &str,
        _: u32,
        _: i64,
    ) -> Result<bool, StoreError> {
        Err(self.store_error())
    }
    async fn counters(&self, _: &str) -> Result<Counters, StoreError> {
        Err(self.store_error())
    }
    async fn in_progress(
        &self,
        _: &str,
        _: i64,
        _: &LeasePolicy,
    ) -> Result<InProgress, StoreError> {
        Err(self.store_error())
    }
    async fn failed_items(&self, _: &str, _: usize) -> Result<Vec<WorkItem>, StoreError> {
        Err(self.store_error())
    }
    async fn expired_leases(
        &self,
        _: &str,
        _: i64,
        _: &LeasePolicy,
        _: usize,
    ) -> Result<Vec<WorkItem>, StoreError> {
        Err(self.store_error())
    }
    async fn items(&self, _: &str) -> Result<Vec<WorkItem>, StoreError> {
        Err(self.store_error())
    }
    async fn delete_working_state(&self, _: &str) -> Result<u64, StoreError> {
        Err(self.store_error())
    }
}
