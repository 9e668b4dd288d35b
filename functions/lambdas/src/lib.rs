//! The control plane as Lambda functions: one thin binary per handler (`src/bin/`), all built
//! from this wiring. Each function takes an API Gateway HTTP API event (v2) or a plain JSON
//! payload (`aws lambda invoke`, the console's test event, Step Functions, EventBridge).
//!
//! Configuration and wiring only: the domain's handlers with the AWS and OpenSearch adapters.

mod config;
mod event;
mod unwired;
mod wiring;

use std::sync::Arc;

use backfill_core::control::{Control, Handler};
use backfill_core::logging::{init_logging, LogFormat};
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;

pub use config::{Env, ENV_VARS};
pub use event::{handle, LambdaError};
pub use wiring::control_for;

/// Runs one handler as a Lambda function: configuration and the clients its handler uses once
/// per cold start, then one call per invocation.
pub async fn run(handler: Handler) -> Result<(), lambda_runtime::Error> {
    init_logging(LogFormat::JsonUntimed, "info");
    let env = Env::from_process()?;
    let control: Arc<Control> = Arc::new(control_for(handler, &env).await?);
    lambda_runtime::run(service_fn(move |ev: LambdaEvent<Value>| {
        let control = control.clone();
        async move { handle(&control, handler, ev.payload).await }
    }))
    .await
}
