//! Least privilege that cannot drift: for every function of `infra/template.yaml` and for the
//! worker task role, the IAM actions its policy grants are exactly the AWS actions its code can
//! call, in each target auth mode (none, basic, sigv4).
//!
//! The code side is derived from the sources, never listed by hand:
//! - a Lambda runs `run` (lib.rs): its cold start and the handler code outside the ports; then
//!   the ports its handler calls (`self.store.backfill(…)`, found from the handler's arm of
//!   `dispatch`), which must be `Handler::ports`'s table; each port's adapter is the type its
//!   builder in `src/wiring.rs` constructs, and from each port method the adapter code it can
//!   run is followed to the SDK operations it calls (`.get_item()`, `.update_service()` …);
//! - the worker runs `run` (functions/worker/src/wiring.rs), followed the same way through the
//!   engine into the adapters.
//!
//! SDK operations are recognised by name from the SDK crates' own operation lists, and IAM's
//! name for each is `service:Operation` but for IAM's own exceptions (`reach::iam_action`). The
//! Secrets Manager secret counts only with Basic auth and the `es:ESHttp*` actions (the HTTP
//! methods the target client uses) only with SigV4, since the code calls them only then.

#[path = "iam/reach.rs"]
mod reach;
#[path = "iam/scan.rs"]
mod scan;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use backfill_core::control::{Handler, Port};
use reach::Code;
use serde_yaml::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    None,
    Basic,
    SigV4,
}

const MODES: [Mode; 3] = [Mode::None, Mode::Basic, Mode::SigV4];

impl Mode {
    /// The template's conditions in this mode (a secret with Basic, a domain with SigV4).
    fn condition(self, name: &str) -> bool {
        match name {
            "HasTargetSecret" => self == Mode::Basic,
            "HasTargetDomain" => self == Mode::SigV4,
            other => panic!("a condition this test does not know: {other}"),
        }
    }

    /// Actions the code calls only in some modes.
    fn keeps(self, action: &str) -> bool {
        if action.starts_with("secretsmanager:") {
            self == Mode::Basic
        } else if action.starts_with("es:") {
            self == Mode::SigV4
        } else {
            true
        }
    }
}

fn code() -> Code {
    let r = root().join("functions");
    let dirs: Vec<PathBuf> = [
        "core/src",
        "aws/src",
        "opensearch/src",
        "worker/src",
        "lambdas/src",
    ]
    .iter()
    .map(|d| r.join(d))
    .collect();
    Code::new(
        scan::scan(&dirs),
        reach::trait_names(&dirs),
        reach::sdk_operations(&root()),
    )
}

fn in_file(f: &scan::Func, path: &str) -> bool {
    f.file.ends_with(path)
}

/// What the code of each function and of the worker can call.
struct Derived {
    /// Handler → (port field → methods called).
    ports: BTreeMap<&'static str, BTreeMap<String, BTreeSet<String>>>,
    /// Handler → IAM actions, all modes.
    lambdas: BTreeMap<&'static str, BTreeSet<String>>,
    worker: BTreeSet<String>,
}

fn derive(code: &Code) -> Derived {
    let fields: BTreeSet<String> = Port::ALL.iter().map(|p| p.field().to_string()).collect();
    // Cold start and the handlers' code outside the ports (shared by every function).
    let run = code.find(|f| f.name == "run" && in_file(f, "lambdas/src/lib.rs"));
    assert_eq!(run.len(), 1, "lambdas' run");
    let (shared, _) = code.reach(&run, &fields);
    let shared_actions = code.actions(&shared);

    let dispatch = code.find(|f| f.name == "dispatch" && in_file(f, "control/dispatch.rs"));
    assert_eq!(dispatch.len(), 1, "dispatch");
    let arms = arms(&code.fns[dispatch[0]].body);
    let mut ports = BTreeMap::new();
    let mut lambdas = BTreeMap::new();
    for h in Handler::ALL {
        let arm = arms
            .get(&format!("{h:?}"))
            .unwrap_or_else(|| panic!("no arm for {h:?} in dispatch"));
        // The Control methods the arm calls, then what they call up to the ports.
        let entry: Vec<usize> = scan::calls(arm)
            .into_iter()
            .filter_map(|c| match c {
                scan::Call::Method { receiver, name } if receiver.as_deref() == Some("control") => {
                    Some(name)
                }
                _ => None,
            })
            .flat_map(|n| code.find(|f| f.self_ty.as_deref() == Some("Control") && f.name == n))
            .collect();
        assert!(!entry.is_empty(), "{h:?} calls no Control method");
        let (_, port_calls) = code.reach(&entry, &fields);
        let mut by_port: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (p, m) in port_calls.into_iter().filter(|(p, _)| !p.is_empty()) {
            // `self.snapshots.clone()` clones the Arc: only trait methods are port calls.
            if !code.find(|f| f.name == m && f.trait_.is_some()).is_empty() && m != "clone" {
                by_port.entry(p).or_default().insert(m);
            }
        }
        let mut actions = shared_actions.clone();
        for (port, methods) in &by_port {
            actions.extend(port_actions(code, &fields, port, methods));
        }
        ports.insert(h.name(), by_port);
        lambdas.insert(h.name(), actions);
    }

    let worker_run = code.find(|f| f.name == "run" && in_file(f, "worker/src/wiring.rs"));
    assert_eq!(worker_run.len(), 1, "the worker's run");
    let (worker_fns, _) = code.reach(&worker_run, &BTreeSet::new());
    Derived {
        ports,
        lambdas,
        worker: code.actions(&worker_fns),
    }
}

/// The actions of `methods` of `port`, as served by the adapter its builder constructs.
fn port_actions(
    code: &Code,
    fields: &BTreeSet<String>,
    port: &str,
    methods: &BTreeSet<String>,
) -> BTreeSet<String> {
    let builder = code.find(|f| f.name == port && in_file(f, "lambdas/src/wiring.rs"));
    assert_eq!(
        builder.len(),
        1,
        "no builder fn {port} in lambdas/src/wiring.rs"
    );
    let builder_fns = code.reach(&builder, fields).0;
    let types: BTreeSet<String> = builder_fns
        .iter()
        .flat_map(|&i| scan::idents(&code.fns[i].body))
        .collect();
    let mut roots = builder.clone();
    for m in methods {
        let impls = code.find(|f| {
            &f.name == m
                && f.trait_.is_some()
                && f.self_ty.as_ref().is_some_and(|t| types.contains(t))
        });
        assert!(
            !impls.is_empty(),
            "no adapter of {port} built in wiring.rs implements {m}"
        );
        roots.extend(impls);
    }
    code.actions(&code.reach(&roots, &BTreeSet::new()).0)
}

/// `dispatch`'s arms: variant name → the arm's text.
fn arms(body: &str) -> BTreeMap<String, String> {
    let mut starts: Vec<(usize, String)> = Vec::new();
    for (p, _) in body.match_indices("Handler::") {
        let name: String = body[p + 9..]
            .chars()
            .take_while(|c| c.is_alphanumeric())
            .collect();
        if body[p + 9 + name.len()..].trim_start().starts_with("=>") {
            starts.push((p, name));
        }
    }
    let mut out = BTreeMap::new();
    for (k, (p, name)) in starts.iter().enumerate() {
        let end = starts.get(k + 1).map_or(body.len(), |s| s.0);
        out.insert(name.clone(), body[*p..end].to_string());
    }
    out
}

fn template() -> Value {
    let text = std::fs::read_to_string(root().join("infra/template.yaml")).unwrap();
    serde_yaml::from_str(&text).unwrap()
}

/// The actions granted by a list of policy statements, `!If` resolved for `mode`.
fn granted(statements: &Value, mode: Mode, out: &mut BTreeSet<String>) {
    match statements {
        Value::Sequence(list) => list.iter().for_each(|s| granted(s, mode, out)),
        Value::Tagged(t) if t.tag == "If" => {
            let args = t.value.as_sequence().expect("!If [cond, then, else]");
            let cond = args[0].as_str().unwrap();
            granted(&args[if mode.condition(cond) { 1 } else { 2 }], mode, out);
        }
        Value::Tagged(t) if t.tag == "Ref" => {
            assert_eq!(
                t.value.as_str(),
                Some("AWS::NoValue"),
                "a statement as !Ref"
            )
        }
        Value::Mapping(m) => {
            assert_eq!(m.get("Effect").and_then(Value::as_str), Some("Allow"));
            match &m["Action"] {
                Value::String(a) => {
                    out.insert(a.clone());
                }
                Value::Sequence(l) => out.extend(l.iter().map(|a| a.as_str().unwrap().into())),
                other => panic!("Action {other:?}"),
            }
        }
        other => panic!("not a statement: {other:?}"),
    }
}

/// Lambda's own needs for a function in a VPC (its network interfaces), which no code of
/// ours calls: AWSLambdaVPCAccessExecutionRole's actions.
const VPC_ACTIONS: [&str; 5] = [
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
];

/// Binary → (granted actions per mode, in a VPC).
type FunctionGrants = BTreeMap<String, (Vec<BTreeSet<String>>, bool)>;

/// What the template grants each function, and the worker task role, per mode.
fn template_grants(t: &Value) -> (FunctionGrants, Vec<BTreeSet<String>>) {
    let mut functions = BTreeMap::new();
    let resources = t["Resources"].as_mapping().unwrap();
    for (_, r) in resources {
        if r["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let binary = r["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap();
        let per_mode = MODES
            .iter()
            .map(|&m| {
                let mut out = BTreeSet::new();
                for policy in r["Properties"]["Policies"].as_sequence().unwrap() {
                    granted(&policy["Statement"], m, &mut out);
                }
                out
            })
            .collect();
        let vpc = !r["Properties"]["VpcConfig"].is_null();
        functions.insert(binary.to_string(), (per_mode, vpc));
    }
    let role = &t["Resources"]["WorkerTaskRole"]["Properties"]["Policies"];
    let worker = MODES
        .iter()
        .map(|&m| {
            let mut out = BTreeSet::new();
            for p in role.as_sequence().unwrap() {
                granted(&p["PolicyDocument"]["Statement"], m, &mut out);
            }
            out
        })
        .collect();
    (functions, worker)
}

/// Every difference between what the code needs and what the template grants.
fn differences(derived: &Derived, t: &Value) -> Vec<String> {
    let (functions, worker) = template_grants(t);
    let mut out = Vec::new();
    let mut compare = |who: &str, need: &BTreeSet<String>, grants: &[BTreeSet<String>]| {
        for (mode, have) in MODES.iter().zip(grants) {
            let need: BTreeSet<&String> = need.iter().filter(|a| mode.keeps(a)).collect();
            let have: BTreeSet<&String> = have.iter().collect();
            for a in need.difference(&have) {
                out.push(format!(
                    "{who} ({mode:?} auth) calls {a} but its policy lacks it"
                ));
            }
            for a in have.difference(&need) {
                out.push(format!(
                    "{who} ({mode:?} auth) is granted {a} but never calls it"
                ));
            }
        }
    };
    for (binary, (grants, vpc)) in &functions {
        let mut need = derived
            .lambdas
            .get(binary.as_str())
            .unwrap_or_else(|| panic!("function {binary} is no handler"))
            .clone();
        if *vpc {
            need.extend(VPC_ACTIONS.iter().map(|a| a.to_string()));
        }
        compare(&format!("function {binary}"), &need, grants);
    }
    compare("the worker task role", &derived.worker, &worker);
    out
}

#[test]
fn each_handler_uses_exactly_the_ports_of_its_table() {
    let derived = derive(&code());
    for h in Handler::ALL {
        let used: BTreeSet<&str> = derived.ports[h.name()].keys().map(String::as_str).collect();
        let table: BTreeSet<&str> = h.ports().iter().map(|p| p.field()).collect();
        assert_eq!(used, table, "{h:?}: ports its code calls vs Handler::ports");
    }
}

#[test]
fn every_function_and_the_worker_are_granted_exactly_the_actions_their_code_calls() {
    let derived = derive(&code());
    for (h, a) in &derived.lambdas {
        eprintln!("{h}: {a:?} via {:?}", derived.ports[h]);
    }
    eprintln!("worker: {:?}", derived.worker);
    let diff = differences(&derived, &template());
    assert!(diff.is_empty(), "{}", diff.join("\n"));
}

#[test]
fn the_check_catches_a_removed_and_an_extra_action() {
    let derived = derive(&code());
    let text = std::fs::read_to_string(root().join("infra/template.yaml")).unwrap();
    // The worker's claims need UpdateItem; status never writes.
    let removed = text.replacen(
        "Action: [dynamodb:GetItem, dynamodb:PutItem, dynamodb:Query, dynamodb:UpdateItem]\n                Resource: [!GetAtt WorkingStateTable.Arn",
        "Action: [dynamodb:GetItem, dynamodb:PutItem, dynamodb:Query]\n                Resource: [!GetAtt WorkingStateTable.Arn",
        1,
    );
    assert_ne!(
        removed, text,
        "the worker's DynamoDB statement moved; update this test"
    );
    let diff = differences(&derived, &serde_yaml::from_str(&removed).unwrap());
    assert!(
        diff.iter()
            .any(|d| d.contains("worker task role (None auth) calls dynamodb:UpdateItem")),
        "{diff:?}"
    );
    let pos = text.find("  StatusFunction:").unwrap();
    let end = pos + text[pos..].find("  PollerFunction:").unwrap();
    let status = text[pos..end].replacen(
        "Action: ecs:DescribeServices",
        "Action: [ecs:DescribeServices, ecs:UpdateService]",
        1,
    );
    assert_ne!(
        status,
        text[pos..end],
        "status's ECS statement moved; update this test"
    );
    let extra = format!("{}{status}{}", &text[..pos], &text[end..]);
    let diff = differences(&derived, &serde_yaml::from_str(&extra).unwrap());
    assert!(
        diff.iter()
            .any(|d| d.contains("function status (None auth) is granted ecs:UpdateService")),
        "{diff:?}"
    );
}
