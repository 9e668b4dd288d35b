//! Worker metrics as CloudWatch embedded metric format (EMF) log lines.
//!
//! Why EMF rather than PutMetricData: the worker already writes its log to CloudWatch Logs (the
//! ECS `awslogs` driver), and CloudWatch extracts metrics from EMF lines on its own, so metrics
//! cost no API calls, no extra IAM permission and no throttling on the hot path; the numbers
//! are aggregated here and written once per flush interval. Locally the lines are just logged.
//!
//! Namespace [`NAMESPACE`], dimension `BackfillId`; the metric names are listed in
//! [`METRICS`] (the dashboard draws exactly these).

use std::io::Write;
use std::sync::Mutex;

use backfill_core::worker::{Event, Metrics};
use serde_json::{json, Map, Value};

/// The default namespace (the deployment may choose another: `METRICS_NAMESPACE`).
pub const NAMESPACE: &str = "Backfill";
pub const DIMENSION: &str = "BackfillId";

/// Every metric the worker emits, with its unit.
pub const METRICS: [(&str, &str); 12] = [
    ("DocumentsIndexed", "Count"),
    ("BytesIndexed", "Bytes"),
    ("BulkRequests", "Count"),
    ("BulkLatency", "Milliseconds"),
    ("BulkRetries", "Count"),
    ("Throttled", "Count"),
    ("DocumentsRejected", "Count"),
    ("LeasesClaimed", "Count"),
    ("LeasesLost", "Count"),
    ("ShardsCompleted", "Count"),
    ("ShardDuration", "Seconds"),
    ("ShardsFailed", "Count"),
];

#[derive(Default)]
struct Totals {
    docs: u64,
    bytes: u64,
    requests: u64,
    latency_ms: Vec<f64>,
    retries: u64,
    throttled: u64,
    rejected: u64,
    claimed: u64,
    lost: u64,
    shards_completed: u64,
    shards_failed: u64,
    shard_seconds: Vec<f64>,
}

pub struct EmfMetrics {
    backfill: String,
    totals: Mutex<Totals>,
    out: Mutex<Box<dyn Write + Send>>,
    namespace: String,
}

impl EmfMetrics {
    /// Writes to standard output (where the ECS log driver picks it up).
    pub fn stdout(backfill: &str) -> EmfMetrics {
        EmfMetrics::new(backfill, Box::new(std::io::stdout()))
    }

    pub fn new(backfill: &str, out: Box<dyn Write + Send>) -> EmfMetrics {
        EmfMetrics {
            backfill: backfill.to_string(),
            totals: Mutex::default(),
            out: Mutex::new(out),
            namespace: NAMESPACE.to_string(),
        }
    }

    /// Publishes under `namespace` instead of [`NAMESPACE`].
    pub fn with_namespace(mut self, namespace: &str) -> EmfMetrics {
        self.namespace = namespace.to_string();
        self
    }

    /// Writes one EMF line with what was recorded since the last flush (nothing if idle).
    pub fn flush(&self) {
        let t = std::mem::take(&mut *self.totals.lock().unwrap());
        if let Some(line) = self.line(&t, backfill_core::lease::now_ms()) {
            let mut out = self.out.lock().unwrap();
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        }
    }

    fn line(&self, t: &Totals, now_ms: i64) -> Option<Value> {
        let mut values = Map::new();
        let mut put = |name: &str, v: Value| {
            values.insert(name.to_string(), v);
        };
        if t.requests > 0 || t.docs > 0 {
            put("DocumentsIndexed", json!(t.docs));
            put("BytesIndexed", json!(t.bytes));
            put("BulkRequests", json!(t.requests));
        }
        // EMF takes up to 100 values of one metric per line.
        if !t.latency_ms.is_empty() {
            put("BulkLatency", json!(sample(&t.latency_ms, 100)));
        }
        for (name, v) in [
            ("BulkRetries", t.retries),
            ("Throttled", t.throttled),
            ("DocumentsRejected", t.rejected),
            ("LeasesClaimed", t.claimed),
            ("LeasesLost", t.lost),
            ("ShardsCompleted", t.shards_completed),
        ] {
            if v > 0 {
                put(name, json!(v));
            }
        }
        if !t.shard_seconds.is_empty() {
            put("ShardDuration", json!(sample(&t.shard_seconds, 100)));
        }
        if t.shards_failed > 0 {
            put("ShardsFailed", json!(t.shards_failed));
        }
        if values.is_empty() {
            return None;
        }
        let metrics: Vec<Value> = values
            .keys()
            .map(|name| {
                let unit = METRICS
                    .iter()
                    .find(|(n, _)| n == name)
                    .map_or("Count", |(_, u)| *u);
                json!({"Name": name, "Unit": unit})
            })
            .collect();
        let mut line = Map::new();
        line.insert(
            "_aws".into(),
            json!({
                "Timestamp": now_ms,
                "CloudWatchMetrics": [{"Namespace": self.namespace, "Dimensions": [[DIMENSION]], "Metrics": metrics}],
            }),
        );
        line.insert(DIMENSION.into(), json!(self.backfill));
        line.extend(values);
        Some(Value::Object(line))
    }
}

fn sample(v: &[f64], max: usize) -> Vec<f64> {
    if v.len() <= max {
        return v.to_vec();
    }
    let step = v.len() as f64 / max as f64;
    (0..max).map(|i| v[(i as f64 * step) as usize]).collect()
}

impl Metrics for EmfMetrics {
    fn record(&self, event: Event) {
        let mut t = self.totals.lock().unwrap();
        match event {
            Event::DocumentsIndexed { docs, bytes } => {
                t.docs += docs;
                t.bytes += bytes;
            }
            Event::BulkLatency { seconds } => {
                t.requests += 1;
                t.latency_ms.push(seconds * 1000.0);
            }
            Event::BulkRetries { count } => t.retries += count,
            Event::Throttled => t.throttled += 1,
            Event::DocumentsRejected { count } => t.rejected += count,
            Event::LeaseClaimed => t.claimed += 1,
            Event::LeaseLost => t.lost += 1,
            Event::ShardCompleted { seconds } => {
                t.shards_completed += 1;
                t.shard_seconds.push(seconds);
            }
            Event::ShardFailed => t.shards_failed += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Default)]
    struct Buf(std::sync::Arc<Mutex<Vec<u8>>>);

    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_flush_writes_one_emf_line_with_every_recorded_metric() {
        let buf = Buf::default();
        let m = EmfMetrics::new("bf-1", Box::new(buf.clone()));
        m.flush();
        assert!(
            buf.0.lock().unwrap().is_empty(),
            "nothing recorded, nothing written"
        );
        m.record(Event::DocumentsIndexed {
            docs: 10,
            bytes: 2000,
        });
        m.record(Event::BulkLatency { seconds: 0.25 });
        m.record(Event::Throttled);
        m.record(Event::ShardCompleted { seconds: 3.0 });
        m.flush();
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let v: Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(v["BackfillId"], "bf-1");
        assert_eq!(v["DocumentsIndexed"], 10);
        assert_eq!(v["BytesIndexed"], 2000);
        assert_eq!(v["BulkLatency"], json!([250.0]));
        assert_eq!(v["Throttled"], 1);
        let decl = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(decl["Namespace"], NAMESPACE);
        let names: Vec<&str> = decl["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Name"].as_str().unwrap())
            .collect();
        for n in &names {
            assert!(v.get(*n).is_some(), "{n} declared but not set");
        }
        assert!(names.contains(&"ShardDuration"));
    }

    #[test]
    fn the_namespace_is_the_deployments() {
        let buf = Buf::default();
        let m =
            EmfMetrics::new("bf-1", Box::new(buf.clone())).with_namespace("Migrations/Backfill");
        m.record(Event::Throttled);
        m.flush();
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let v: Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(
            v["_aws"]["CloudWatchMetrics"][0]["Namespace"],
            "Migrations/Backfill"
        );
    }
}
