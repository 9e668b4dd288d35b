//! The `cat-indices` Lambda: wiring only; the handler is `backfill_core::control`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    backfill_lambdas::run(backfill_core::control::Handler::CatIndices).await
}
