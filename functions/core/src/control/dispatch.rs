//! One entry point per handler name, from a JSON payload to a JSON answer: what the Lambdas,
//! the local API and the stop workflow's interpreter all call.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::api::*;
use super::Control;

/// The control plane's handlers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handler {
    Start,
    Scale,
    Pause,
    Stop,
    Status,
    Poll,
    DrainCheck,
    Archive,
    FinalizeStop,
    CatIndices,
}

impl Handler {
    pub const ALL: [Handler; 10] = [
        Handler::Start,
        Handler::Scale,
        Handler::Pause,
        Handler::Stop,
        Handler::Status,
        Handler::Poll,
        Handler::DrainCheck,
        Handler::Archive,
        Handler::FinalizeStop,
        Handler::CatIndices,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Handler::Start => "start",
            Handler::Scale => "scale",
            Handler::Pause => "pause",
            Handler::Stop => "stop",
            Handler::Status => "status",
            Handler::Poll => "poller",
            Handler::DrainCheck => "drain-check",
            Handler::Archive => "archive",
            Handler::FinalizeStop => "finalize-stop",
            Handler::CatIndices => "cat-indices",
        }
    }

    pub fn from_name(name: &str) -> Option<Handler> {
        Handler::ALL.into_iter().find(|h| h.name() == name)
    }
}

fn parse<T: DeserializeOwned + Default>(payload: Value) -> Result<T, ControlError> {
    if payload.is_null() {
        return Ok(T::default());
    }
    serde_json::from_value(payload)
        .map_err(|e| ControlError::BadRequest(format!("malformed request: {e}")))
}

fn answer<T: Serialize>(v: T) -> Result<Value, ControlError> {
    serde_json::to_value(v).map_err(|e| ControlError::Internal(e.to_string()))
}

/// Runs a handler on a JSON payload (`null` or `{}` means the defaults).
pub async fn dispatch(
    control: &Control,
    handler: Handler,
    payload: Value,
) -> Result<Value, ControlError> {
    match handler {
        Handler::Start => answer(control.start(parse(payload)?).await?),
        Handler::Scale => answer(control.scale(parse(payload)?).await?),
        Handler::Pause => answer(control.pause(parse(payload)?).await?),
        Handler::Stop => answer(control.stop(parse(payload)?).await?),
        Handler::Status => {
            let req: StatusRequest = parse(payload)?;
            let deep = req.deep_check;
            let report = control.status(req).await?;
            // The seed's text rides along, so callers print exactly what the seed prints.
            let mut v = answer(&report)?;
            v["text"] = Value::String(report.seed_text(deep));
            Ok(v)
        }
        Handler::Poll => answer(control.poll(parse(payload)?).await?),
        Handler::DrainCheck => answer(control.drain_check(parse(payload)?).await?),
        Handler::Archive => answer(control.archive_state(parse(payload)?).await?),
        Handler::FinalizeStop => answer(control.finalize_stop(parse(payload)?).await?),
        Handler::CatIndices => answer(control.cat_indices(parse(payload)?).await?),
    }
}
