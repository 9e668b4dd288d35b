//! AWS adapters of the backfill's ports: the work-item store on DynamoDB, the snapshot's blobs
//! and the failed-documents reports on S3, metrics for CloudWatch (embedded metric format); and
//! the control plane's: the fleet on ECS, the stop workflow on Step Functions, progress metrics
//! with PutMetricData, archives in S3.
//!
//! Depends on the domain (its ports), the snapshot reader (its `BlobStore` port) and the AWS
//! SDKs; only the binaries and the local backend depend on it.

pub mod archive;
pub mod cloudwatch;
pub mod dynamo;
pub mod ecs;
pub mod emf;
pub mod errors;
pub mod s3;
pub mod sfn;

pub use dynamo::{table, DynamoStore};
pub use emf::EmfMetrics;
pub use s3::{S3BlobStore, S3Location, S3Reports, Snapshots};

pub use archive::S3Archive;
pub use cloudwatch::CloudWatchProgress;
pub use ecs::EcsFleet;
pub use sfn::StepFunctionsStop;
