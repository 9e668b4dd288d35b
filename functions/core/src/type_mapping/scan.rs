//! The parts of type mapping that read the snapshot: `start`'s check, and documents counted per
//! (index, type) for a refusal and for `cat-indices`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use snapshot::{ReadOptions, ShardReader, Snapshot};

use super::{mapping_types, plan, IndexTypes, Plan, TypeMappingError, TypeMappings, TypeRule};
use crate::control::api::SourceIndex;

/// Why `start` refuses a backfill's type mappings.
#[derive(Debug, thiserror::Error)]
pub enum StartCheckError {
    #[error(transparent)]
    Rules(#[from] TypeMappingError),
    #[error("{}", multi_type_message(&.0, *.1))]
    MultiType(Vec<(String, BTreeMap<String, u64>)>, bool),
    #[error("cannot read the snapshot: {0}")]
    Snapshot(#[from] snapshot::Error),
}

impl StartCheckError {
    /// Bad input (the rules, or the snapshot's indices as they are), not a passing failure.
    pub fn is_bad_request(&self) -> bool {
        match self {
            StartCheckError::Snapshot(e) => e.is_permanent(),
            _ => true,
        }
    }
}

/// `complete`: false when counting stopped at its time budget (the counts are then minimums).
fn multi_type_message(indices: &[(String, BTreeMap<String, u64>)], complete: bool) -> String {
    let at_least = if complete { "" } else { "at least " };
    let mut out = String::new();
    for (index, types) in indices {
        let list: Vec<String> = types
            .iter()
            .map(|(t, n)| format!("{t} ({at_least}{n} documents)"))
            .collect();
        let split: Vec<String> = types
            .keys()
            .map(|t| format!("--type-mapping {index}/{t}={index}_{t}"))
            .collect();
        let json: Vec<String> = types
            .keys()
            .map(|t| format!(r#"{{"index": "{index}", "type": "{t}", "target": "{index}_{t}"}}"#))
            .collect();
        out += &format!(
            "index {index} has {} mapping types: {}; OpenSearch has no types, so say where each goes: \
             split it with {} (API: \"type_mappings\": [{}]), or merge the types with --type-mapping '{index}/*={index}' \
             (documents of different types with the same _id are then reported as collisions, not written). ",
            types.len(),
            list.join(", "),
            split.join(" "),
            json.join(", "),
        );
    }
    if !complete {
        out += &format!(
            "(Counting stopped after {} s: the counts are what was read by then.)",
            COUNT_BUDGET.as_secs()
        );
    }
    out.trim_end().to_string()
}

/// How long a refusal may spend counting documents per type (start runs in a Lambda with a
/// timeout): past it, the message gives the counts read so far as minimums.
pub const COUNT_BUDGET: Duration = Duration::from_secs(45);

/// What `start` checks before it records a backfill: the rules are valid, each names a type of
/// a selected index, and every selected index with several types has rules. Reads each selected
/// index's metadata; only an index that is refused has its documents read, to count them per
/// type for the message.
pub fn check_start(
    snap: &Snapshot,
    wanted: impl Fn(&str) -> bool,
    rules: Vec<TypeRule>,
) -> Result<Plan, StartCheckError> {
    let mut indices = Vec::new();
    for index in snap.index_names().into_iter().filter(|n| wanted(n)) {
        let meta = snap.index(&index)?;
        indices.push(IndexTypes {
            types: mapping_types(&meta.mappings.to_json()),
            index,
        });
    }
    let plan = plan(rules, &indices)?;
    if plan.unruled_multi_type.is_empty() {
        return Ok(plan);
    }
    let deadline = Instant::now() + COUNT_BUDGET;
    let mut refused = Vec::new();
    let mut complete = true;
    for it in &plan.unruled_multi_type {
        let mut types: BTreeMap<String, u64> = it.types.iter().map(|t| (t.clone(), 0)).collect();
        let (counts, done) = count_types_until(snap, |n| n == it.index, Some(deadline))?;
        complete &= done;
        for ((_, t), n) in counts {
            *types
                .entry(t.unwrap_or_else(|| "(none)".into()))
                .or_default() += n.documents;
        }
        refused.push((it.index.clone(), types));
    }
    Err(StartCheckError::MultiType(refused, complete))
}

/// Documents of one (index, type).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TypeCount {
    pub documents: u64,
    /// Of an index's documents, those without `_source` (their type is not read): counted under
    /// type `None`.
    pub without_source: u64,
    /// Of an index's documents, those whose k-NN vectors cannot be put back: under type `None`.
    pub not_rebuilt: u64,
    pub shards: u32,
}

/// Live top-level documents per (index, type) of the selected indices: every shard is read
/// (the type is in each document's `_uid`), shards in parallel. The cost of reading the indices.
pub fn count_types(
    snap: &Snapshot,
    wanted: impl Fn(&str) -> bool,
) -> Result<Counts, snapshot::Error> {
    Ok(count_types_until(snap, wanted, None)?.0)
}

/// Documents per (index, type).
pub type Counts = BTreeMap<(String, Option<String>), TypeCount>;

/// [`count_types`] that stops at `deadline`; the flag says whether every shard was read.
fn count_types_until(
    snap: &Snapshot,
    wanted: impl Fn(&str) -> bool,
    deadline: Option<Instant>,
) -> Result<(Counts, bool), snapshot::Error> {
    let late = AtomicBool::new(false);
    let mut jobs = Vec::new();
    let mut shards = BTreeMap::new();
    for name in snap.index_names().into_iter().filter(|n| wanted(n)) {
        let meta = snap.index(&name)?;
        jobs.extend((0..meta.number_of_shards).map(|s| (name.clone(), s)));
        shards.insert(name, meta.number_of_shards);
    }
    let counted = crate::parallel::map_on_threads(&jobs, |(index, shard)| {
        count_shard(snap, index, *shard, deadline, &late)
    });
    let mut out: BTreeMap<(String, Option<String>), TypeCount> = BTreeMap::new();
    for c in counted {
        for (key, n) in c? {
            let e = out.entry(key).or_default();
            e.documents += n.documents;
            e.without_source += n.without_source;
            e.not_rebuilt += n.not_rebuilt;
        }
    }
    for ((index, _), c) in out.iter_mut() {
        c.shards = shards[index];
    }
    // An index with no documents still has a row.
    for (index, n) in shards {
        if !out.keys().any(|(i, _)| *i == index) {
            out.insert(
                (index, None),
                TypeCount {
                    shards: n,
                    ..TypeCount::default()
                },
            );
        }
    }
    Ok((out, !late.load(Ordering::Relaxed)))
}

fn count_shard(
    snap: &Snapshot,
    index: &str,
    shard: u32,
    deadline: Option<Instant>,
    late: &AtomicBool,
) -> Result<Counts, snapshot::Error> {
    let mut out = Counts::new();
    if late.load(Ordering::Relaxed) {
        return Ok(out);
    }
    let mut reader = ShardReader::open(snap, index, shard, ReadOptions::default())?;
    let mut n = 0u64;
    while let Some(d) = reader.next_document_ref()? {
        let key = (index.to_string(), d.doc_type.clone());
        out.entry(key).or_default().documents += 1;
        n += 1;
        if n % 4096 == 0 && deadline.is_some_and(|d| Instant::now() > d) {
            late.store(true, Ordering::Relaxed);
            return Ok(out);
        }
    }
    let (without, not_rebuilt) = (reader.stats().without_source, reader.stats().not_rebuilt);
    if without + not_rebuilt > 0 {
        let e = out.entry((index.to_string(), None)).or_default();
        e.documents += without + not_rebuilt;
        e.without_source += without;
        e.not_rebuilt += not_rebuilt;
    }
    Ok(out)
}

/// `cat-indices` under type mappings: the snapshot's documents per TARGET index.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetCounts {
    /// Per target index: the documents routed to it (shards: of the source indices feeding it).
    pub indices: Vec<SourceIndex>,
    /// `index/type` without a rule, and their documents (not migrated).
    pub unmapped: Vec<(String, u64)>,
    /// Merged targets and their sources.
    pub merged: Vec<(String, Vec<String>)>,
}

impl TargetCounts {
    /// Lines for the report, beside the verdicts.
    pub fn notes(&self) -> String {
        let mut out = String::new();
        for (source, n) in &self.unmapped {
            out += &format!(
                "UNMAPPED TYPE {source}: {n} documents have no type mapping rule and are not migrated (reported as {})\n",
                super::UNMAPPED_TYPE
            );
        }
        for (target, sources) in &self.merged {
            out += &format!(
                "MERGED {target}: types {} merged; a document whose _id another type already wrote is reported as {}, not written\n",
                sources.join(", "),
                super::COLLISION
            );
        }
        out
    }
}

/// Counts per (index, type) aggregated by the target index each goes to.
pub fn count_by_target(
    snap: &Snapshot,
    wanted: impl Fn(&str) -> bool,
    mappings: &TypeMappings,
) -> Result<TargetCounts, snapshot::Error> {
    let counts = count_types(snap, wanted)?;
    let mut targets: BTreeMap<String, SourceIndex> = BTreeMap::new();
    let mut shards_seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut unmapped: BTreeMap<String, u64> = BTreeMap::new();
    // The only type of an index decides for its untyped documents (ES 6 documents carry none).
    let mut only_type: BTreeMap<String, Option<String>> = BTreeMap::new();
    for (index, _) in counts.keys() {
        if !only_type.contains_key(index) {
            let types = mapping_types(&snap.index(index)?.mappings.to_json());
            only_type.insert(index.clone(), (types.len() == 1).then(|| types[0].clone()));
        }
    }
    for ((index, t), c) in &counts {
        let t = t.as_deref().or(only_type[index].as_deref());
        match mappings.target_of(index, t) {
            Some(target) => {
                let row = targets.entry(target.clone()).or_insert(SourceIndex {
                    index: target.clone(),
                    shards: 0,
                    documents: 0,
                    without_source: 0,
                    not_rebuilt: 0,
                });
                let seen = shards_seen.entry(target).or_default();
                if !seen.contains(index) {
                    seen.push(index.clone());
                    row.shards += c.shards;
                }
                row.documents += c.documents;
                row.without_source += c.without_source;
                row.not_rebuilt += c.not_rebuilt;
            }
            None if c.documents > 0 => {
                *unmapped
                    .entry(format!("{index}/{}", t.unwrap_or("(unknown type)")))
                    .or_default() += c.documents;
            }
            None => {}
        }
    }
    Ok(TargetCounts {
        indices: targets.into_values().collect(),
        unmapped: unmapped.into_iter().collect(),
        merged: mappings
            .merged
            .iter()
            .map(|(t, s)| (t.clone(), s.clone()))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_names_types_counts_and_rules_and_says_when_counts_are_partial() {
        let types: BTreeMap<String, u64> = [("a".to_string(), 3), ("b".to_string(), 1)].into();
        let m = multi_type_message(&[("logs".into(), types.clone())], true);
        assert!(
            m.starts_with("index logs has 2 mapping types: a (3 documents), b (1 documents);"),
            "{m}"
        );
        assert!(m.contains("--type-mapping logs/a=logs_a --type-mapping logs/b=logs_b"));
        assert!(!m.contains("at least") && !m.contains("Counting stopped"));
        let m = multi_type_message(&[("logs".into(), types)], false);
        assert!(m.contains("a (at least 3 documents)"), "{m}");
        assert!(m.contains("Counting stopped after 45 s"), "{m}");
    }
}
