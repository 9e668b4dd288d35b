//! Progress metrics with CloudWatch `PutMetricData`.
//!
//! The control plane publishes a few gauges per backfill on a schedule, off the hot path (the
//! workers' own metrics are EMF lines in their logs, see [`crate::emf`]).

use async_trait::async_trait;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
use aws_sdk_cloudwatch::Client;
use backfill_core::control::ports::{Gauge, PortError, ProgressSink};

use crate::errors::port_error;

/// PutMetricData's limit on metrics per call.
pub const MAX_METRICS_PER_CALL: usize = 1000;
/// The dimension every metric carries.
pub const DIMENSION: &str = "BackfillId";

#[derive(Debug, Clone)]
pub struct CloudWatchProgress {
    pub client: Client,
    pub namespace: String,
}

impl CloudWatchProgress {
    pub fn new(client: Client, namespace: impl Into<String>) -> Self {
        CloudWatchProgress {
            client,
            namespace: namespace.into(),
        }
    }
}

#[async_trait]
impl ProgressSink for CloudWatchProgress {
    /// One timestamp for all the gauges; NaN and infinities (a rate over no time, a percentage
    /// of nothing) are skipped, since CloudWatch rejects the whole call for one of them.
    async fn publish(&self, backfill: &str, gauges: &[Gauge]) -> Result<(), PortError> {
        let now = DateTime::from(std::time::SystemTime::now());
        let dimension = Dimension::builder().name(DIMENSION).value(backfill).build();
        let data: Vec<MetricDatum> = gauges
            .iter()
            .filter(|g| {
                let ok = g.value.is_finite();
                if !ok {
                    tracing::warn!(
                        metric = g.name,
                        backfill,
                        "skipping a non-finite metric value"
                    );
                }
                ok
            })
            .map(|g| {
                MetricDatum::builder()
                    .metric_name(g.name)
                    .dimensions(dimension.clone())
                    .value(g.value)
                    .unit(StandardUnit::from(g.unit))
                    .timestamp(now)
                    .build()
            })
            .collect();
        for batch in data.chunks(MAX_METRICS_PER_CALL) {
            self.client
                .put_metric_data()
                .namespace(&self.namespace)
                .set_metric_data(Some(batch.to_vec()))
                .send()
                .await
                .map_err(|e| {
                    port_error(
                        &format!(
                            "CloudWatch PutMetricData to namespace {} for backfill {backfill}",
                            self.namespace
                        ),
                        &e,
                    )
                })?;
        }
        Ok(())
    }
}
