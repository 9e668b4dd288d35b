//! What code can run from a starting function, and which AWS actions that code calls.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::scan::{calls, empty_calls, idents, Call, Func};

pub struct Code {
    pub fns: Vec<Func>,
    /// Traits defined in the scanned sources: calls through them are visible. Methods of impls
    /// of other traits (e.g. the snapshot reader's `BlobStore`, called from a crate we do not
    /// scan) count as reachable as soon as their type is in scope.
    traits: BTreeSet<String>,
    /// Every type with functions.
    types: BTreeSet<String>,
    /// SDK crate (`dynamodb`) → its operations (`get_item`).
    ops: BTreeMap<String, BTreeSet<String>>,
}

impl Code {
    pub fn new(
        fns: Vec<Func>,
        trait_names: BTreeSet<String>,
        ops: BTreeMap<String, BTreeSet<String>>,
    ) -> Code {
        let types = fns.iter().filter_map(|f| f.self_ty.clone()).collect();
        Code {
            fns,
            traits: trait_names,
            types,
            ops,
        }
    }

    /// The crate a path's module names, seen from `from`: ours (`backfill_opensearch`, `crate`,
    /// `super`, a module of `from`), or none (std, tokio, …).
    fn module_crate(&self, from: &str, module: &str) -> Option<String> {
        if let Some(k) = module.strip_prefix("backfill_") {
            return Some(k.to_string());
        }
        if matches!(module, "crate" | "super" | "self") {
            return Some(from.to_string());
        }
        self.fns
            .iter()
            .any(|g| {
                crate_of(g) == from
                    && g.file.components().any(|c| {
                        c.as_os_str() == module || c.as_os_str() == format!("{module}.rs").as_str()
                    })
            })
            .then(|| from.to_string())
    }

    pub fn find(&self, pred: impl Fn(&Func) -> bool) -> Vec<usize> {
        (0..self.fns.len())
            .filter(|&i| pred(&self.fns[i]))
            .collect()
    }

    /// Functions reachable from `roots`; method calls on a receiver named in `stop_at` (the
    /// control plane's ports) are not followed but returned as (receiver, method), nor calls
    /// of free functions so named (the ports' builders), returned as ("", name).
    pub fn reach(
        &self,
        roots: &[usize],
        stop_at: &BTreeSet<String>,
    ) -> (BTreeSet<usize>, BTreeSet<(String, String)>) {
        let mut seen: BTreeSet<usize> = roots.iter().copied().collect();
        let mut scope: BTreeSet<String> = roots
            .iter()
            .filter_map(|&i| self.fns[i].self_ty.clone())
            .collect();
        let mut stopped = BTreeSet::new();
        loop {
            let before = (seen.len(), scope.len());
            for i in seen.clone() {
                let f = &self.fns[i];
                scope.extend(idents(&f.body).intersection(&self.types).cloned());
                for call in calls(&f.body) {
                    let hits = match &call {
                        Call::SelfMethod(n) => {
                            self.find(|g| g.self_ty == f.self_ty && &g.name == n)
                        }
                        // `module::f(…)`: a free function of ours, or of another crate.
                        Call::Path { ty, name }
                            if ty.starts_with(|c: char| c.is_ascii_lowercase()) =>
                        {
                            match self.module_crate(&crate_of(f), ty) {
                                Some(k) => self.find(|g| {
                                    g.self_ty.is_none() && &g.name == name && crate_of(g) == k
                                }),
                                None => continue,
                            }
                        }
                        Call::Path { ty, name } => {
                            let ty = if ty == "Self" {
                                f.self_ty.clone().unwrap_or_default()
                            } else {
                                ty.clone()
                            };
                            self.find(|g| {
                                &g.name == name
                                    && (g.self_ty.as_deref() == Some(&ty)
                                        || (g.trait_.as_deref() == Some(&ty)
                                            && g.self_ty
                                                .as_ref()
                                                .is_some_and(|t| scope.contains(t))))
                            })
                        }
                        Call::Method { receiver, name } => {
                            if let Some(r) = receiver.as_ref().filter(|r| stop_at.contains(*r)) {
                                stopped.insert((r.clone(), name.clone()));
                                continue;
                            }
                            // On a call's result (`x.raw().status()`) a trait method is most
                            // likely a library's of the same name: only inherent methods.
                            let chained = receiver.is_none();
                            self.find(|g| {
                                &g.name == name
                                    && g.self_ty.as_ref().is_some_and(|t| scope.contains(t))
                                    && !(chained && g.trait_.is_some())
                            })
                        }
                        Call::Free(n) if stop_at.contains(n) => {
                            // A port's builder (wiring.rs): followed per function instead.
                            stopped.insert((String::new(), n.clone()));
                            continue;
                        }
                        Call::Free(n) => self.find(|g| g.self_ty.is_none() && &g.name == n),
                    };
                    seen.extend(hits);
                }
            }
            // Impls of traits whose callers we cannot see: reachable once their type is.
            let opaque = self.find(|g| {
                g.self_ty.as_ref().is_some_and(|t| scope.contains(t))
                    && g.trait_.as_ref().is_some_and(|t| !self.traits.contains(t))
            });
            seen.extend(opaque);
            if (seen.len(), scope.len()) == before {
                return (seen, stopped);
            }
        }
    }

    /// The IAM actions the given functions call.
    pub fn actions(&self, fns: &BTreeSet<usize>) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut transaction = false;
        let mut dynamo_bodies = String::new();
        for &i in fns {
            let f = &self.fns[i];
            for sdk in &f.sdks {
                let Some(ops) = self.ops.get(sdk) else {
                    continue;
                };
                for op in empty_calls(&f.body).intersection(ops) {
                    transaction |=
                        (sdk.as_str(), op.as_str()) == ("dynamodb", "transact_write_items");
                    out.extend(iam_action(sdk, op));
                }
                if sdk == "dynamodb" {
                    dynamo_bodies.push_str(&f.body);
                }
            }
            // The target's HTTP methods, for SigV4 on Amazon OpenSearch Service.
            if f.file.components().any(|c| c.as_os_str() == "opensearch") {
                for (m, a) in [
                    ("GET", "ESHttpGet"),
                    ("HEAD", "ESHttpHead"),
                    ("POST", "ESHttpPost"),
                    ("PUT", "ESHttpPut"),
                    ("DELETE", "ESHttpDelete"),
                    ("PATCH", "ESHttpPatch"),
                ] {
                    if f.body.contains(&format!("Method::{m}")) {
                        out.insert(format!("es:{a}"));
                    }
                }
            }
        }
        if transaction {
            // A transaction needs the action of each kind of item it holds: those whose
            // builders the reachable code uses.
            out.extend(transaction_items(&dynamo_bodies));
        }
        out
    }
}

/// The crate of a function: the directory under `functions/` (`core`, `aws`, `opensearch` …).
fn crate_of(f: &Func) -> String {
    let parts: Vec<_> = f
        .file
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    parts
        .iter()
        .rposition(|c| c == "functions")
        .and_then(|i| parts.get(i + 1).cloned())
        .unwrap_or_default()
}

fn pascal(op: &str) -> String {
    op.split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// IAM's name of an SDK operation. Mostly `service:Operation`; the exceptions are IAM's, not
/// ours: S3 lists with `s3:ListBucket` and reads heads with `s3:GetObject`, and a DynamoDB
/// transaction has no action of its own (see `transaction_items`).
fn iam_action(sdk: &str, op: &str) -> Option<String> {
    let prefix = match sdk {
        "sfn" => "states",
        other => other,
    };
    match (sdk, op) {
        ("s3", "list_objects_v2" | "list_objects") => Some("s3:ListBucket".into()),
        ("s3", "head_object") => Some("s3:GetObject".into()),
        ("dynamodb", "transact_write_items") => None,
        _ => Some(format!("{prefix}:{}", pascal(op))),
    }
}

/// A transaction's item actions, from the item builders named in `body`.
pub fn transaction_items(body: &str) -> Vec<String> {
    [
        ("Put::builder", "dynamodb:PutItem"),
        ("Update::builder", "dynamodb:UpdateItem"),
        ("Delete::builder", "dynamodb:DeleteItem"),
        ("ConditionCheck::builder", "dynamodb:ConditionCheckItem"),
    ]
    .into_iter()
    .filter(|(b, _)| body.contains(b))
    .map(|(_, a)| a.to_string())
    .collect()
}

/// Names of the traits defined in the files under `dirs`.
pub fn trait_names(dirs: &[std::path::PathBuf]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for d in dirs {
        for f in super::scan::rust_files(d) {
            let text = super::scan::strip(&std::fs::read_to_string(&f).unwrap());
            for (p, _) in text.match_indices("trait ") {
                if p > 0 && text.as_bytes()[p - 1].is_ascii_alphanumeric() {
                    continue;
                }
                let name: String = text[p + 6..]
                    .trim_start()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    out.insert(name);
                }
            }
        }
    }
    out
}

/// The operations of each `aws-sdk-*` crate this workspace locks, from the crates' own sources
/// (`src/operation/<op>/` in Cargo's registry).
pub fn sdk_operations(workspace: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let lock = std::fs::read_to_string(workspace.join("Cargo.lock")).unwrap();
    let home = std::env::var("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| Path::new(&std::env::var("HOME").unwrap()).join(".cargo"));
    let registries: Vec<_> = std::fs::read_dir(home.join("registry/src"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    let mut ops = BTreeMap::new();
    for pkg in lock.split("[[package]]") {
        let field = |k: &str| {
            pkg.lines()
                .find_map(|l| l.strip_prefix(&format!("{k} = \"")))
                .map(|v| v.trim_end_matches('"').to_string())
        };
        let (Some(name), Some(version)) = (field("name"), field("version")) else {
            continue;
        };
        let Some(sdk) = name.strip_prefix("aws-sdk-") else {
            continue;
        };
        let dir = registries
            .iter()
            .map(|r| r.join(format!("{name}-{version}/src/operation")))
            .find(|d| d.is_dir())
            .unwrap_or_else(|| panic!("{name} {version} is not in {}", home.display()));
        let names: BTreeSet<String> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_dir())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        ops.insert(sdk.replace('-', ""), names);
    }
    assert!(
        ops.contains_key("dynamodb"),
        "no aws-sdk-dynamodb in Cargo.lock"
    );
    ops
}
