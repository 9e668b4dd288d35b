//! The work-item store on DynamoDB (see `super::table` for the table design).
//!
//! Why the counters stay exact: every change to an item that a counter summarises (created,
//! completed, failed, documents and bytes done) is one `TransactWriteItems` with the counter
//! update, conditional on the item's state (not existing yet; still held by the writer), so a
//! counter moves if and only if its item does. The SDK resends a transaction it is not sure
//! about with the same client request token, which DynamoDB applies at most once. A worker that
//! crashes between two checkpoints has counted nothing of the work since the last one; the next
//! holder resumes from that checkpoint and counts that work when it checkpoints.

mod backfills;
mod item_writes;
mod items;
mod ranges;
pub mod table;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, Projection, ProjectionType, ScalarAttributeType,
};
use aws_sdk_dynamodb::Client;
use backfill_core::StoreError;

use crate::errors::port_error;
use table::KeyType as DesignKeyType;

/// The DynamoDB implementation of `backfill_core::WorkStore`.
#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    table: String,
    /// Requests sent (not counting the SDK's retries), for benchmarks and logs.
    requests: Arc<AtomicU64>,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> DynamoStore {
        DynamoStore {
            client,
            table: table.into(),
            requests: Arc::default(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// The SDK client; every use counts as one request.
    pub fn client(&self) -> &Client {
        self.requests.fetch_add(1, Ordering::Relaxed);
        &self.client
    }

    /// Requests sent so far through this store (and its clones).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Creates the table from the design (local runs and tests; on AWS the template does it).
    /// An existing table is left as it is.
    pub async fn create_table(&self) -> Result<(), StoreError> {
        let d = table::design();
        let attr = |name: &str, t: DesignKeyType| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(match t {
                    DesignKeyType::String => ScalarAttributeType::S,
                    DesignKeyType::Number => ScalarAttributeType::N,
                })
                .build()
                .map_err(build_error)
        };
        let key = |name: &str, k: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(k)
                .build()
                .map_err(build_error)
        };
        let gsi = |i: &table::IndexDesign| {
            GlobalSecondaryIndex::builder()
                .index_name(i.name)
                .key_schema(key(i.partition_key.0, KeyType::Hash)?)
                .key_schema(key(i.sort_key.0, KeyType::Range)?)
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::Include)
                        .set_non_key_attributes(Some(
                            i.projected.iter().map(|s| s.to_string()).collect(),
                        ))
                        .build(),
                )
                .build()
                .map_err(build_error)
        };
        let r = self
            .client()
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attr(d.partition_key.0, d.partition_key.1)?)
            .attribute_definitions(attr(d.sort_key.0, d.sort_key.1)?)
            .attribute_definitions(attr(
                d.open_index.partition_key.0,
                d.open_index.partition_key.1,
            )?)
            .attribute_definitions(attr(d.open_index.sort_key.0, d.open_index.sort_key.1)?)
            .attribute_definitions(attr(
                d.failed_index.partition_key.0,
                d.failed_index.partition_key.1,
            )?)
            .attribute_definitions(attr(d.failed_index.sort_key.0, d.failed_index.sort_key.1)?)
            .key_schema(key(d.partition_key.0, KeyType::Hash)?)
            .key_schema(key(d.sort_key.0, KeyType::Range)?)
            .global_secondary_indexes(gsi(&d.open_index)?)
            .global_secondary_indexes(gsi(&d.failed_index)?)
            .send()
            .await;
        match r {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("ResourceInUseException") => Ok(()),
            Err(e) => Err(sdk_error("CreateTable", e)),
        }
    }
}

pub(crate) fn build_error(e: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::Other(format!("building a DynamoDB request: {e}"))
}

/// Maps an SDK failure (see `crate::errors`): throttling, server errors, transaction conflicts
/// and network trouble are retryable; the rest keeps its kind and code.
pub(crate) fn sdk_error<E>(operation: &str, e: SdkError<E, HttpResponse>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    StoreError::Backend(port_error(&format!("DynamoDB {operation}"), &e))
}

pub(crate) type Item = HashMap<String, AttributeValue>;

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(crate) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub(crate) fn get_s(item: &Item, k: &str) -> Option<String> {
    item.get(k).and_then(|v| v.as_s().ok()).cloned()
}

pub(crate) fn get_n<T: std::str::FromStr>(item: &Item, k: &str) -> Option<T> {
    item.get(k)
        .and_then(|v| v.as_n().ok())
        .and_then(|s| s.parse().ok())
}

pub(crate) fn get_bool(item: &Item, k: &str) -> Option<bool> {
    item.get(k).and_then(|v| v.as_bool().ok()).copied()
}

pub(crate) fn key(pk: String, sk: impl Into<String>) -> Item {
    HashMap::from([
        (table::PARTITION_KEY.to_string(), s(pk)),
        (table::SORT_KEY.to_string(), s(sk)),
    ])
}
