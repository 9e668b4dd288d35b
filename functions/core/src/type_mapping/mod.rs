//! Type mappings: where the documents of each (index, mapping type) of an Elasticsearch 5.x
//! snapshot go in OpenSearch, which has no types. The one home of the rules: their shape and
//! validation, matching, resolving (index, type) → target index, which targets are merges, and
//! the check `start` makes before it records a backfill.
//!
//! A rule is `{"index": "logs", "type": "error", "target": "logs_error"}` (CLI:
//! `logs/error=logs_error`); `index` and `type` are exact names or `prefix*` patterns (`*`: all).
//! The first rule that matches a document's (index, type) decides. An index that no rule names
//! keeps its name, and its one type is dropped (as without rules); an index with several types
//! and no rule is refused at `start`. In an index that rules name, a type that no rule matches is
//! not migrated: each of its documents is reported (`unmapped_type`), never skipped silently.

mod collisions;
mod scan;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use snapshot::IndexMetadata;

pub use collisions::{resolve_conflicts, COLLISION, UNMAPPED_TYPE};
pub use scan::{check_start, count_by_target, count_types, StartCheckError, TargetCounts};

/// One rule: documents of `doc_type` in `index` go to `target`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeRule {
    /// A source index name, or `prefix*`.
    pub index: String,
    /// A mapping type name, or `prefix*` (`*`: every type).
    #[serde(rename = "type")]
    pub doc_type: String,
    /// The target index.
    pub target: String,
}

impl std::fmt::Display for TypeRule {
    /// The CLI form, `index/type=target`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}={}", self.index, self.doc_type, self.target)
    }
}

impl std::str::FromStr for TypeRule {
    type Err = TypeMappingError;

    /// `index/type=target` (the CLI's `--type-mapping`).
    fn from_str(s: &str) -> Result<TypeRule, TypeMappingError> {
        let bad = |problem: &str| TypeMappingError::BadRule {
            rule: s.to_string(),
            problem: problem.to_string(),
        };
        let (from, target) = s
            .rsplit_once('=')
            .ok_or_else(|| bad("expected INDEX/TYPE=TARGET, e.g. logs/error=logs_error"))?;
        let (index, doc_type) = from
            .split_once('/')
            .ok_or_else(|| bad("expected INDEX/TYPE=TARGET, e.g. logs/error=logs_error"))?;
        let rule = TypeRule {
            index: index.into(),
            doc_type: doc_type.into(),
            target: target.into(),
        };
        rule.validate()?;
        Ok(rule)
    }
}

impl TypeRule {
    pub fn matches_index(&self, index: &str) -> bool {
        pattern_matches(&self.index, index)
    }

    pub fn matches(&self, index: &str, doc_type: &str) -> bool {
        self.matches_index(index) && pattern_matches(&self.doc_type, doc_type)
    }

    /// Patterns are names or `prefix*`; the target is a name OpenSearch accepts.
    pub fn validate(&self) -> Result<(), TypeMappingError> {
        let bad = |problem: String| TypeMappingError::BadRule {
            rule: self.to_string(),
            problem,
        };
        for (what, p) in [("index", &self.index), ("type", &self.doc_type)] {
            if p.is_empty() {
                return Err(bad(format!("the {what} is empty (use * for all)")));
            }
            if p.trim_end_matches('*').contains('*') {
                return Err(bad(format!(
                    "the {what} {p:?} has a * that is not at its end (only prefix* patterns)"
                )));
            }
        }
        if let Some(problem) = bad_index_name(&self.target) {
            return Err(bad(format!("target {:?} {problem}", self.target)));
        }
        Ok(())
    }
}

/// Why `name` cannot be an OpenSearch index name, if it cannot.
fn bad_index_name(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("is empty")
    } else if name.len() > 255 {
        Some("is longer than 255 bytes")
    } else if name == "." || name == ".." {
        Some("is not an index name")
    } else if name.starts_with(['_', '-', '+']) {
        Some("starts with _, - or +")
    } else if name.chars().any(|c| c.is_uppercase()) {
        Some("has upper-case letters")
    } else if name
        .chars()
        .any(|c| "\\/*?\"<>| ,#:".contains(c) || c.is_whitespace())
    {
        Some("has a character index names cannot have (\\ / * ? \" < > | space , # :)")
    } else {
        None
    }
}

/// A name or a `prefix*` pattern.
fn pattern_matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => pattern == name,
    }
}

/// What a backfill keeps of its type mappings (in its record, so in its archive too).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeMappings {
    /// The rules as given, in order (the first match decides).
    #[serde(default)]
    pub rules: Vec<TypeRule>,
    /// Target indices fed by more than one (index, type), found at `start` from the snapshot's
    /// mappings, each with its sources (`index/type`). Their documents are written with
    /// `create`, so that a second document with the same `_id` is detected, never overwrites.
    #[serde(default)]
    pub merged: BTreeMap<String, Vec<String>>,
}

impl TypeMappings {
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Some rule names this index.
    pub fn rules_index(&self, index: &str) -> bool {
        self.rules.iter().any(|r| r.matches_index(index))
    }

    /// The target of (index, type); `None`: not migrated (the index has rules, none for the type).
    pub fn target_of(&self, index: &str, doc_type: Option<&str>) -> Option<String> {
        if !self.rules_index(index) {
            return Some(index.to_string());
        }
        let t = doc_type?;
        self.rules
            .iter()
            .find(|r| r.matches(index, t))
            .map(|r| r.target.clone())
    }

    /// How the documents of one source index are routed (workers build one per work item).
    pub fn router(&self, index: &str, meta: &IndexMetadata) -> Router {
        let types = mapping_types(&meta.mappings.to_json());
        let mut routes = BTreeMap::new();
        for t in &types {
            routes.insert(t.clone(), self.target_of(index, Some(t)));
        }
        Router {
            index: index.to_string(),
            ruled: self.rules_index(index),
            only_type: (types.len() == 1).then(|| types[0].clone()),
            routes,
            mappings: self.clone(),
        }
    }
}

/// The mapping types of an index from its metadata's mappings (`_default_` is not a type).
pub fn mapping_types(mappings: &Value) -> Vec<String> {
    mappings
        .as_object()
        .map(|m| m.keys().filter(|k| *k != "_default_").cloned().collect())
        .unwrap_or_default()
}

/// Where one document goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route<'a> {
    /// To `target`; with `create` when the target is a merge (see [`resolve_conflicts`]).
    Send { target: &'a str, create: bool },
    /// Its type has no rule: not migrated, reported.
    Unmapped,
}

/// The routes of one source index's documents.
#[derive(Debug, Clone)]
pub struct Router {
    index: String,
    ruled: bool,
    /// The index's only type: documents of ES 6 indices carry no type of their own.
    only_type: Option<String>,
    /// Type → target (`None`: unmapped), for the types of the index's mappings.
    routes: BTreeMap<String, Option<String>>,
    mappings: TypeMappings,
}

impl Router {
    /// Documents go to the index of the same name, types dropped (a backfill without rules).
    pub fn same_name(index: &str) -> Router {
        Router {
            index: index.to_string(),
            ruled: false,
            only_type: None,
            routes: BTreeMap::new(),
            mappings: TypeMappings::default(),
        }
    }

    /// The source index.
    pub fn index(&self) -> &str {
        &self.index
    }

    pub fn route(&self, doc_type: Option<&str>) -> Route<'_> {
        let target = if !self.ruled {
            Some(self.index.as_str())
        } else {
            match doc_type.or(self.only_type.as_deref()) {
                Some(t) => match self.routes.get(t) {
                    Some(known) => known.as_deref(),
                    // A type the mappings do not list: the rules still decide.
                    None => self
                        .mappings
                        .rules
                        .iter()
                        .find(|r| r.matches(&self.index, t))
                        .map(|r| r.target.as_str()),
                },
                None => None,
            }
        };
        match target {
            Some(target) => Route::Send {
                target,
                create: self.mappings.merged.contains_key(target),
            },
            None => Route::Unmapped,
        }
    }

    /// The other sources of a merged target than `index/doc_type` (for collision reports).
    pub fn other_sources(&self, target: &str, doc_type: Option<&str>) -> Vec<String> {
        let t = doc_type.or(self.only_type.as_deref()).unwrap_or("_doc");
        let me = format!("{}/{t}", self.index);
        self.mappings
            .merged
            .get(target)
            .map(|s| s.iter().filter(|s| **s != me).cloned().collect())
            .unwrap_or_default()
    }

    /// Each target index this source index feeds, with its create-index body: the index's
    /// settings and the typeless merge of the mappings of the types routed to it.
    pub fn create_bodies(&self, meta: &IndexMetadata) -> Vec<(String, Value)> {
        let base = crate::worker::create_index_body(meta);
        if !self.ruled {
            return vec![(self.index.clone(), base)];
        }
        let by_type = meta.mappings.to_json();
        let mut targets: BTreeMap<&str, serde_json::Map<String, Value>> = BTreeMap::new();
        for (t, target) in &self.routes {
            if let Some(target) = target {
                let m = targets.entry(target.as_str()).or_default();
                if let Some(mapping) = by_type.get(t) {
                    m.insert(t.clone(), mapping.clone());
                }
            }
        }
        targets
            .into_iter()
            .map(|(target, types)| {
                let mut body = base.clone();
                body["mappings"] = crate::worker::typeless_mappings(&Value::Object(types));
                (target.to_string(), body)
            })
            .collect()
    }
}

/// The mapping types of one selected index of the snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexTypes {
    pub index: String,
    pub types: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TypeMappingError {
    #[error("type mapping {rule}: {problem}")]
    BadRule { rule: String, problem: String },
    #[error("type mapping {rule} matches no mapping type of the selected indices (their types: {known})")]
    MatchesNothing { rule: String, known: String },
}

/// What the rules make of the selected indices.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub mappings: TypeMappings,
    /// Indices with several types that no rule names: `start` refuses them.
    pub unruled_multi_type: Vec<IndexTypes>,
    /// `index/type` that rules name the index of but not the type: not migrated, reported.
    pub unmapped: Vec<String>,
}

/// Checks the rules against the selected indices' types and finds the merged targets.
pub fn plan(rules: Vec<TypeRule>, indices: &[IndexTypes]) -> Result<Plan, TypeMappingError> {
    for r in &rules {
        r.validate()?;
    }
    let mappings = TypeMappings {
        rules,
        merged: BTreeMap::new(),
    };
    let mut plan = Plan::default();
    let mut sources: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for it in indices {
        if !mappings.rules_index(&it.index) {
            if it.types.len() > 1 {
                plan.unruled_multi_type.push(it.clone());
            }
            let t = it.types.first().map_or("_doc", String::as_str);
            sources
                .entry(it.index.clone())
                .or_default()
                .insert(format!("{}/{t}", it.index));
            continue;
        }
        for t in &it.types {
            match mappings.target_of(&it.index, Some(t)) {
                Some(target) => {
                    sources
                        .entry(target)
                        .or_default()
                        .insert(format!("{}/{t}", it.index));
                }
                None => plan.unmapped.push(format!("{}/{t}", it.index)),
            }
        }
    }
    // A rule that matches nothing is most likely a typo: say so rather than ignore it.
    for r in &mappings.rules {
        if !indices
            .iter()
            .any(|it| it.types.iter().any(|t| r.matches(&it.index, t)))
        {
            let known: Vec<String> = indices
                .iter()
                .filter(|it| r.matches_index(&it.index) || indices.len() <= 10)
                .map(|it| format!("{}/{{{}}}", it.index, it.types.join(",")))
                .collect();
            return Err(TypeMappingError::MatchesNothing {
                rule: r.to_string(),
                known: if known.is_empty() {
                    "no selected index matches its index pattern".into()
                } else {
                    known.join(" ")
                },
            });
        }
    }
    plan.mappings = TypeMappings {
        merged: sources
            .into_iter()
            .filter(|(_, s)| s.len() > 1)
            .map(|(t, s)| (t, s.into_iter().collect()))
            .collect(),
        ..mappings
    };
    Ok(plan)
}

#[cfg(test)]
mod tests;
