//! The sample events of `events/`, without any server: one plain payload per function, an API
//! Gateway HTTP API (v2) event per user-facing function, and the poller's EventBridge schedule;
//! each holds only fields its handler reads. (`runtime_api.rs` invokes the binaries with every
//! one of them.)

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use aws_lambda_events::eventbridge::EventBridgeEvent;
use backfill_core::control::{
    BackfillRef, CatIndicesRequest, FinalizeRequest, Handler, ScaleRequest, StartRequest,
    StatusRequest,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

/// The functions behind the HTTP API, with their route.
const HTTP_API: [(&str, &str, &str); 6] = [
    ("start", "POST", "/backfill/start"),
    ("scale", "POST", "/backfill/scale"),
    ("pause", "POST", "/backfill/pause"),
    ("stop", "POST", "/backfill/stop"),
    ("status", "GET", "/backfill/status"),
    ("cat-indices", "GET", "/clusters/cat-indices"),
];

fn samples() -> BTreeMap<String, Value> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events");
    std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&path).unwrap();
            let json = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
            (name, json)
        })
        .collect()
}

/// Parses `payload` as `T` and writes it back: what the handler understood of it.
fn understood<T: DeserializeOwned + Serialize>(payload: &Value) -> Result<Value, String> {
    let request: T = serde_json::from_value(payload.clone()).map_err(|e| e.to_string())?;
    Ok(serde_json::to_value(request).unwrap())
}

/// The request fields of a handler, and what it understands of a payload.
fn request_of(handler: Handler, payload: &Value) -> (BTreeSet<String>, Result<Value, String>) {
    let (fields, parsed) = match handler {
        Handler::Start => (
            understood::<StartRequest>(&empty()),
            understood::<StartRequest>(payload),
        ),
        Handler::Scale => (
            understood::<ScaleRequest>(&empty()),
            understood::<ScaleRequest>(payload),
        ),
        Handler::Status => (
            understood::<StatusRequest>(&empty()),
            understood::<StatusRequest>(payload),
        ),
        Handler::CatIndices => (
            understood::<CatIndicesRequest>(&empty()),
            understood::<CatIndicesRequest>(payload),
        ),
        Handler::FinalizeStop => (
            understood::<FinalizeRequest>(&empty()),
            understood::<FinalizeRequest>(payload),
        ),
        Handler::Pause | Handler::Stop | Handler::Poll | Handler::DrainCheck | Handler::Archive => {
            (
                understood::<BackfillRef>(&empty()),
                understood::<BackfillRef>(payload),
            )
        }
    };
    let fields = fields
        .unwrap()
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    (fields, parsed)
}

fn empty() -> Value {
    Value::Object(Default::default())
}

#[test]
fn every_function_has_its_samples_and_no_other_file_is_there() {
    let mut want: BTreeSet<String> = Handler::ALL
        .iter()
        .map(|h| format!("{}.json", h.name()))
        .collect();
    want.extend(HTTP_API.iter().map(|(f, _, _)| format!("{f}.apigw.json")));
    want.insert("poller.schedule.json".into());
    let have: BTreeSet<String> = samples().into_keys().collect();
    assert_eq!(have, want);
}

#[test]
fn plain_samples_hold_only_fields_their_handler_reads() {
    let samples = samples();
    for handler in Handler::ALL {
        let name = format!("{}.json", handler.name());
        let payload = &samples[&name];
        let (fields, parsed) = request_of(handler, payload);
        let parsed = parsed.unwrap_or_else(|e| panic!("{name}: {e}"));
        for (key, value) in payload.as_object().unwrap() {
            assert!(
                fields.contains(key),
                "{name}: {key} is not one of {fields:?}"
            );
            assert_eq!(&parsed[key], value, "{name}: {key}");
        }
    }
}

#[test]
fn api_gateway_samples_are_http_api_requests_on_their_route() {
    let samples = samples();
    for (function, method, path) in HTTP_API {
        let name = format!("{function}.apigw.json");
        let event: ApiGatewayV2httpRequest = serde_json::from_value(samples[&name].clone())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let route = format!("{method} {path}");
        assert_eq!(event.version.as_deref(), Some("2.0"), "{name}");
        assert_eq!(event.route_key.as_deref(), Some(route.as_str()), "{name}");
        assert_eq!(event.raw_path.as_deref(), Some(path), "{name}");
        let context = &event.request_context;
        assert_eq!(context.route_key.as_deref(), Some(route.as_str()), "{name}");
        assert_eq!(context.http.method.as_str(), method, "{name}");
        assert_eq!(context.http.path.as_deref(), Some(path), "{name}");
        assert!(
            context.authorizer.is_some(),
            "{name}: the API is IAM-authorised"
        );

        // What the handler gets: the body's fields and the query's.
        let handler = Handler::from_name(function).unwrap();
        let (fields, _) = request_of(handler, &empty());
        let body: Value = match event.body.as_deref() {
            Some(b) => serde_json::from_str(b).unwrap_or_else(|e| panic!("{name} body: {e}")),
            None => empty(),
        };
        let query: Vec<String> = event
            .query_string_parameters
            .iter()
            .map(|(k, _)| k.to_string())
            .collect();
        let raw_query: Vec<String> = event
            .raw_query_string
            .as_deref()
            .unwrap_or_default()
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| p.split('=').next().unwrap().to_string())
            .collect();
        assert_eq!(
            query, raw_query,
            "{name}: rawQueryString vs queryStringParameters"
        );
        for key in body.as_object().unwrap().keys().chain(&query) {
            assert!(
                fields.contains(key),
                "{name}: {key} is not one of {fields:?}"
            );
        }
    }
}

#[test]
fn the_schedule_sample_is_an_eventbridge_scheduled_event() {
    let event: EventBridgeEvent = serde_json::from_value(samples()["poller.schedule.json"].clone())
        .expect("an EventBridge event");
    assert_eq!(event.detail_type, "Scheduled Event");
    assert_eq!(event.source, "aws.events");
    assert_eq!(event.detail, empty());
}
