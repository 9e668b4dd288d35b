//! AWS adapters of the backfill's ports: the work-item store on DynamoDB, the snapshot's blobs
//! and the failed-documents reports on S3, metrics for CloudWatch (embedded metric format).

pub mod dynamo;
pub mod emf;
pub mod s3;

pub use dynamo::DynamoStore;
pub use emf::EmfMetrics;
pub use s3::{S3BlobStore, S3Location, S3Reports, Snapshots};
