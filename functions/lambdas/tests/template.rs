//! `make validate`: the SAM template (`infra/template.yaml`) against the code, offline. The table
//! is the code's design; every function is a binary of this package and a handler; every
//! environment variable the template sets is one the code reads (and what it needs is set); the
//! stop state machine's tasks are functions of the template; the routes are the CLI's and the
//! samples'; no IAM statement allows a wildcard action; the dashboard body is
//! `infra/dashboard.json`. (`cfn-lint` checks the template's CloudFormation itself.)

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use backfill_aws::table::{self, KeyType};
use backfill_core::control::workflow::STOP_DEFINITION;
use backfill_core::control::{Handler, STOP_FUNCTIONS};
use backfill_lambdas::ENV_VARS;
use serde_yaml::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn template() -> Value {
    let path = root().join("infra/template.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn resources(t: &Value) -> BTreeMap<String, Value> {
    t["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.as_str().unwrap().to_string(), v.clone()))
        .collect()
}

fn of_type(t: &Value, ty: &str) -> BTreeMap<String, Value> {
    resources(t)
        .into_iter()
        .filter(|(_, r)| r["Type"].as_str() == Some(ty))
        .collect()
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v:?}"))
}

/// `!Ref X` / `!GetAtt X.Arn` → ("Ref", "X") / ("GetAtt", "X.Arn").
fn tag(v: &Value) -> Option<(String, String)> {
    match v {
        Value::Tagged(t) => Some((
            t.tag.to_string().trim_start_matches('!').to_string(),
            t.value.as_str().unwrap_or_default().to_string(),
        )),
        _ => None,
    }
}

fn key_type(t: KeyType) -> &'static str {
    match t {
        KeyType::String => "S",
        KeyType::Number => "N",
    }
}

#[test]
fn the_table_is_the_codes_design() {
    let t = template();
    let table = &resources(&t)["WorkingStateTable"]["Properties"];
    let d = table::design();
    let attrs: BTreeMap<&str, &str> = table["AttributeDefinitions"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| (s(&a["AttributeName"]), s(&a["AttributeType"])))
        .collect();
    let mut want = BTreeMap::new();
    for (name, ty) in [
        d.partition_key,
        d.sort_key,
        d.open_index.partition_key,
        d.open_index.sort_key,
        d.failed_index.partition_key,
        d.failed_index.sort_key,
    ] {
        want.insert(name, key_type(ty));
    }
    assert_eq!(attrs, want, "AttributeDefinitions");
    let keys = |v: &Value| -> Vec<(String, String)> {
        v.as_sequence()
            .unwrap()
            .iter()
            .map(|k| (s(&k["AttributeName"]).into(), s(&k["KeyType"]).into()))
            .collect()
    };
    let hash_range = |a: &str, b: &str| vec![(a.into(), "HASH".into()), (b.into(), "RANGE".into())];
    assert_eq!(
        keys(&table["KeySchema"]),
        hash_range(d.partition_key.0, d.sort_key.0)
    );
    let indexes: BTreeMap<&str, &Value> = table["GlobalSecondaryIndexes"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|i| (s(&i["IndexName"]), i))
        .collect();
    assert_eq!(
        indexes.len(),
        2,
        "the open and failed indexes, nothing else"
    );
    for index in [&d.open_index, &d.failed_index] {
        let i = indexes
            .get(index.name)
            .unwrap_or_else(|| panic!("index {} missing", index.name));
        assert_eq!(
            keys(&i["KeySchema"]),
            hash_range(index.partition_key.0, index.sort_key.0),
            "{}",
            index.name
        );
        assert_eq!(s(&i["Projection"]["ProjectionType"]), "INCLUDE");
        let projected: Vec<&str> = i["Projection"]["NonKeyAttributes"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(s)
            .collect();
        assert_eq!(projected, index.projected, "{}", index.name);
    }
    assert_eq!(s(&table["BillingMode"]), "PAY_PER_REQUEST");
    assert_eq!(
        table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
        Value::Bool(true)
    );
}

/// Function resource → its binary.
fn functions(t: &Value) -> BTreeMap<String, String> {
    of_type(t, "AWS::Serverless::Function")
        .into_iter()
        .map(|(name, f)| {
            assert_eq!(
                s(&f["Metadata"]["BuildMethod"]),
                "rust-cargolambda",
                "{name}"
            );
            (
                name,
                s(&f["Metadata"]["BuildProperties"]["Binary"]).to_string(),
            )
        })
        .collect()
}

#[test]
fn every_handler_is_one_function_built_from_its_binary() {
    let t = template();
    let binaries: BTreeSet<String> = functions(&t).into_values().collect();
    let handlers: BTreeSet<String> = Handler::ALL.iter().map(|h| h.name().to_string()).collect();
    assert_eq!(binaries, handlers);
    let manifest = std::fs::read_to_string(root().join("functions/lambdas/Cargo.toml")).unwrap();
    for b in &binaries {
        assert!(
            manifest.contains(&format!("name = \"{b}\"")),
            "{b} is not a [[bin]] of functions/lambdas"
        );
    }
}

fn env_keys(v: &Value) -> BTreeSet<String> {
    v["Environment"]["Variables"]
        .as_mapping()
        .map(|m| m.keys().map(|k| s(k).to_string()).collect())
        .unwrap_or_default()
}

#[test]
fn functions_get_exactly_the_environment_their_configuration_reads() {
    let t = template();
    let global = env_keys(&t["Globals"]["Function"]);
    let known: BTreeSet<&str> = ENV_VARS.iter().copied().chain(["BACKFILL_LOG"]).collect();
    for (name, binary) in functions(&t) {
        let f = &resources(&t)[&name]["Properties"];
        let env: BTreeSet<String> = global.union(&env_keys(f)).cloned().collect();
        for k in &env {
            assert!(
                known.contains(k.as_str()),
                "{name} sets {k}, which the functions do not read"
            );
        }
        // What Env::from_process requires, checked with the template's keys.
        let lookup = |k: &str| env.contains(k).then(|| "x".to_string());
        let parsed = backfill_lambdas::Env::from_lookup(|k| {
            lookup(k).map(|v| match k {
                "DEFAULT_WORKERS" | "MAX_WORKERS" => "1".into(),
                "ARCHIVE_S3_URI" => "s3://bucket/archive".into(),
                "TARGET_AUTH" => "none".into(),
                "SNAPSHOT_REPOSITORY" => "s3://bucket/snapshots".into(),
                "TARGET_ENDPOINT" => "https://target.example".into(),
                "ALLOWED_TARGET_ENDPOINTS" => "https://other.example".into(),
                "ALLOWED_SNAPSHOT_REPOSITORIES" => "s3://other-bucket/snapshots".into(),
                _ => v,
            })
        });
        assert!(parsed.is_ok(), "{name}: {:?}", parsed.err());
        // The functions that start or follow the stop workflow know it.
        if ["stop", "status"].contains(&binary.as_str()) {
            assert!(env.contains("STOP_STATE_MACHINE_ARN"), "{name}");
        }
    }
    for k in ENV_VARS {
        let set_somewhere = global.contains(k)
            || of_type(&t, "AWS::Serverless::Function")
                .values()
                .any(|f| env_keys(&f["Properties"]).contains(k));
        assert!(set_somewhere, "{k} is read but never set");
    }
}

#[test]
fn the_worker_task_gets_only_variables_the_worker_reads() {
    use clap::CommandFactory;
    let reads: BTreeSet<String> = backfill_worker::WorkerConfig::command()
        .get_arguments()
        .filter_map(|a| a.get_env().map(|e| e.to_string_lossy().into_owned()))
        .chain(["BACKFILL_LOG".to_string()])
        .collect();
    let t = template();
    let task = &resources(&t)["WorkerTaskDefinition"]["Properties"];
    let container = &task["ContainerDefinitions"][0];
    let set: Vec<&str> = container["Environment"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|e| s(&e["Name"]))
        .collect();
    for k in &set {
        assert!(
            reads.contains(*k),
            "the task sets {k}; the worker reads {reads:?}"
        );
    }
    for k in ["BACKFILL_ID", "BACKFILL_TABLE", "BACKFILL_REPORTS"] {
        assert!(set.contains(&k), "the task must set {k}");
    }
    assert_eq!(s(&task["RuntimePlatform"]["CpuArchitecture"]), "ARM64");
    assert!(
        container["StopTimeout"].as_u64().unwrap() >= 60,
        "time to checkpoint"
    );
    let service = &resources(&t)["WorkerService"]["Properties"];
    assert_eq!(
        service["DesiredCount"].as_u64(),
        Some(0),
        "the fleet starts at 0"
    );
}

#[test]
fn every_task_of_the_stop_workflow_is_a_function_of_the_template() {
    let t = template();
    let functions = functions(&t);
    let machine = &resources(&t)["StopStateMachine"]["Properties"];
    assert_eq!(s(&machine["DefinitionUri"]), "stop.asl.json");
    let in_file = std::fs::read_to_string(root().join("infra/stop.asl.json")).unwrap();
    assert_eq!(
        in_file, STOP_DEFINITION,
        "the definition the code interprets"
    );
    let subs = machine["DefinitionSubstitutions"].as_mapping().unwrap();
    let asl: serde_json::Value = serde_json::from_str(STOP_DEFINITION).unwrap();
    let mut tasks = 0;
    for (state, body) in asl["States"].as_object().unwrap() {
        if body["Type"] != "Task" {
            continue;
        }
        tasks += 1;
        let placeholder = body["Parameters"]["FunctionName"].as_str().unwrap();
        let var = placeholder
            .strip_prefix("${")
            .and_then(|p| p.strip_suffix('}'))
            .unwrap_or_else(|| panic!("{state}: FunctionName {placeholder} is not a substitution"));
        let value = subs
            .get(var)
            .unwrap_or_else(|| panic!("{state}: no DefinitionSubstitutions for {var}"));
        let (kind, target) = tag(value).unwrap_or_else(|| panic!("{var}: {value:?}"));
        assert_eq!(kind, "GetAtt", "{var}");
        let resource = target.strip_suffix(".Arn").expect("a function's Arn");
        let binary = functions
            .get(resource)
            .unwrap_or_else(|| panic!("{state}: {resource} is not a function of the template"));
        // The interpreter maps the same placeholder to the same handler.
        let (_, handler) = STOP_FUNCTIONS
            .iter()
            .find(|(name, _)| *name == placeholder)
            .unwrap_or_else(|| panic!("{placeholder} unknown to the code"));
        assert_eq!(handler.name(), binary, "{state}");
        // And the state machine may invoke it.
        let invokes = machine["Policies"].as_sequence().unwrap().iter().any(|p| {
            tag(&p["LambdaInvokePolicy"]["FunctionName"]) == Some(("Ref".into(), resource.into()))
        });
        assert!(invokes, "{state}: no LambdaInvokePolicy for {resource}");
    }
    assert_eq!(tasks, 4);
}

#[test]
fn the_routes_are_those_the_cli_and_the_samples_use() {
    let t = template();
    let mut routes = BTreeMap::new();
    for (name, binary) in functions(&t) {
        let f = &resources(&t)[&name]["Properties"];
        if let Some(events) = f["Events"].as_mapping() {
            for e in events.values() {
                if e["Type"].as_str() == Some("HttpApi") {
                    let p = &e["Properties"];
                    assert_eq!(tag(&p["ApiId"]), Some(("Ref".into(), "BackfillApi".into())));
                    routes.insert(
                        format!("{} {}", s(&p["Method"]), s(&p["Path"])),
                        binary.clone(),
                    );
                }
            }
        }
    }
    let want: BTreeMap<String, String> = [
        ("POST /backfill/start", "start"),
        ("POST /backfill/scale", "scale"),
        ("POST /backfill/pause", "pause"),
        ("POST /backfill/stop", "stop"),
        ("GET /backfill/status", "status"),
        ("GET /clusters/cat-indices", "cat-indices"),
    ]
    .into_iter()
    .map(|(r, b)| (r.to_string(), b.to_string()))
    .collect();
    assert_eq!(routes, want);
    for (route, binary) in &want {
        let sample = root().join(format!("events/{binary}.apigw.json"));
        let event: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&sample).unwrap()).unwrap();
        assert_eq!(event["routeKey"], route.as_str(), "{}", sample.display());
    }
    let api = &resources(&t)["BackfillApi"]["Properties"]["Auth"];
    assert_eq!(s(&api["DefaultAuthorizer"]), "AWS_IAM");
    let poller = &resources(&t)["PollerFunction"]["Properties"]["Events"];
    assert!(
        poller
            .as_mapping()
            .unwrap()
            .values()
            .any(|e| e["Type"].as_str() == Some("Schedule")),
        "the poller runs on a schedule"
    );
}

/// Every `Action` anywhere in the template (IAM statements, bucket policies), through `!If`.
fn actions(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Mapping(m) => {
            for (k, v) in m {
                if matches!(k.as_str(), Some("Action") | Some("NotAction")) {
                    match v {
                        Value::String(a) => out.push(a.clone()),
                        Value::Sequence(list) => out.extend(list.iter().map(|a| s(a).to_string())),
                        other => panic!("Action is neither a string nor a list: {other:?}"),
                    }
                } else {
                    actions(v, out);
                }
            }
        }
        Value::Sequence(list) => list.iter().for_each(|v| actions(v, out)),
        Value::Tagged(t) => actions(&t.value, out),
        _ => {}
    }
}

fn wildcard_actions(t: &Value) -> Vec<String> {
    let mut all = Vec::new();
    actions(t, &mut all);
    assert!(all.len() > 20, "the walk found the statements: {all:?}");
    all.into_iter().filter(|a| a.contains('*')).collect()
}

#[test]
fn no_statement_allows_a_wildcard_action() {
    assert_eq!(wildcard_actions(&template()), Vec::<String>::new());
    // The check catches one, also inside an !If.
    let text = std::fs::read_to_string(root().join("infra/template.yaml"))
        .unwrap()
        .replace("Action: es:ESHttpGet", "Action: es:*")
        .replace(
            "Action: [es:ESHttpGet, es:ESHttpPost]",
            "Action: [es:ESHttpGet, \"es:ESHttp*\"]",
        );
    let bad: Value = serde_yaml::from_str(&text).unwrap();
    assert_eq!(wildcard_actions(&bad), ["es:ESHttp*"]);
}

#[test]
fn the_dashboard_is_named_as_the_seed_names_it_and_its_body_is_infra_dashboard_json() {
    let t = template();
    let d = &resources(&t)["Dashboard"]["Properties"];
    assert_eq!(
        s(&d["DashboardName"]),
        "MigrationAssistant_ReindexFromSnapshot_Dashboard"
    );
    let Value::Tagged(sub) = &d["DashboardBody"] else {
        panic!("DashboardBody is a !Sub");
    };
    let body = s(&sub.value[0]);
    let file = std::fs::read_to_string(root().join("infra/dashboard.json")).unwrap();
    let as_json = |text: &str| -> serde_json::Value {
        serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text:.200}"))
    };
    assert_eq!(
        as_json(body),
        as_json(&file),
        "the template's DashboardBody differs from infra/dashboard.json (run `make dashboard`)"
    );
    // Every ${…} of the body is a parameter, a pseudo parameter or a !Sub variable.
    let vars: BTreeSet<String> = sub.value[1]
        .as_mapping()
        .unwrap()
        .keys()
        .map(|k| s(k).to_string())
        .collect();
    let params: BTreeSet<String> = t["Parameters"]
        .as_mapping()
        .unwrap()
        .keys()
        .map(|k| s(k).to_string())
        .collect();
    for piece in body.split("${").skip(1) {
        let name = piece.split('}').next().unwrap();
        assert!(
            name.starts_with("AWS::") || vars.contains(name) || params.contains(name),
            "${{{name}}} in the dashboard is not defined"
        );
    }
}
