//! Validation: documents per index in the snapshot (the source) and in the target, side by
//! side, with a verdict for each index whose counts differ (`clusters cat-indices`).

use std::collections::BTreeMap;

use snapshot::{ReadOptions, ShardReader, Snapshot};

use super::api::*;
use super::ports::IndexRow;
use super::{selected, Control};

impl Control {
    /// Counts the snapshot's live top-level documents per index (by reading every shard:
    /// nested children are not documents of their own in the target, so Lucene-level counts
    /// would not compare) and lists the target's indices.
    pub async fn cat_indices(
        &self,
        req: CatIndicesRequest,
    ) -> Result<CatIndicesReport, ControlError> {
        let id = self.id(&req.backfill_id)?;
        let record = self.record(&id).await?;
        let (selection, system) = if req.indices.is_empty() {
            (
                record.indices.clone(),
                req.include_system_indices || record.include_system_indices,
            )
        } else {
            (req.indices.clone(), req.include_system_indices)
        };
        let snapshots = self.snapshots.clone();
        let snap_ref = record.snapshot.clone();
        let mappings = record.type_mappings.clone();
        let (source, notes) = tokio::task::spawn_blocking(move || -> Result<_, snapshot::Error> {
            let snap = snapshots.open(&snap_ref.repository, &snap_ref.name)?;
            let wanted = |n: &str| selected(n, &selection, system);
            if mappings.is_empty() {
                return Ok((count_source(&snap, wanted)?, String::new()));
            }
            // Under type mappings, per target index: (index, type) counts summed where they go.
            let c = crate::type_mapping::count_by_target(&snap, wanted, &mappings)?;
            Ok((c.indices.clone(), c.notes()))
        })
        .await
        .map_err(|e| ControlError::Internal(format!("counting the snapshot: {e}")))?
        .map_err(|e| {
            let m = format!("counting the documents of the snapshot: {e}");
            if e.is_permanent() {
                ControlError::BadRequest(m)
            } else {
                ControlError::Unavailable(m)
            }
        })?;
        let endpoint = record.target.endpoint.clone();
        let mut target = self
            .clusters
            .indices(&endpoint, req.refresh)
            .await
            .map_err(|e| e.context(format!("_cat/indices of {endpoint}")))?;
        target.sort_by(|a, b| a.index.cmp(&b.index));
        // `_cat/indices` counts nested children too: where its figure differs from the
        // snapshot's, the target's top-level count (`_count`) is the one to compare.
        for row in target.iter_mut() {
            let Some(s) = source.iter().find(|s| s.index == row.index) else {
                continue;
            };
            if row.docs_count != Some(s.documents) && row.status.as_deref() != Some("close") {
                let n = self
                    .clusters
                    .count(&endpoint, &row.index)
                    .await
                    .map_err(|e| e.context(format!("_count of {} in {endpoint}", row.index)))?;
                row.documents = Some(n);
            }
        }
        let mismatches = differences(&source, &target);
        let text = render(&record.snapshot, &source, &endpoint, &target, &mismatches) + &notes;
        Ok(CatIndicesReport {
            backfill_id: id,
            snapshot: record.snapshot,
            target_endpoint: endpoint,
            source,
            target,
            mismatches,
            text,
        })
    }
}

/// Live top-level documents per selected index, shards read in parallel.
pub fn count_source(
    snap: &Snapshot,
    wanted: impl Fn(&str) -> bool,
) -> Result<Vec<SourceIndex>, snapshot::Error> {
    let mut indices = BTreeMap::new();
    let mut jobs = Vec::new();
    for name in snap.index_names().into_iter().filter(|n| wanted(n)) {
        let meta = snap.index(&name)?;
        jobs.extend((0..meta.number_of_shards).map(|s| (name.clone(), s)));
        indices.insert(
            name.clone(),
            SourceIndex {
                index: name,
                shards: meta.number_of_shards,
                documents: 0,
                without_source: 0,
                not_rebuilt: 0,
            },
        );
    }
    let counted = crate::parallel::map_on_threads(&jobs, |(index, shard)| {
        count_shard(snap, index, *shard).map(|n| (index.clone(), n))
    });
    for c in counted {
        let (index, n) = c?;
        let i = indices.get_mut(&index).expect("listed above");
        i.documents += n.documents;
        i.without_source += n.without_source;
        i.not_rebuilt += n.not_rebuilt;
    }
    Ok(indices.into_values().collect())
}

struct ShardCount {
    /// Live top-level documents, with or without `_source`, rebuilt or not.
    documents: u64,
    without_source: u64,
    not_rebuilt: u64,
}

fn count_shard(snap: &Snapshot, index: &str, shard: u32) -> Result<ShardCount, snapshot::Error> {
    let mut reader = ShardReader::open(snap, index, shard, ReadOptions::default())?;
    while reader.next_document_ref()?.is_some() {}
    let stats = reader.stats();
    Ok(ShardCount {
        documents: stats.documents + stats.without_source + stats.not_rebuilt,
        without_source: stats.without_source,
        not_rebuilt: stats.not_rebuilt,
    })
}

/// The indices whose counts differ.
pub fn differences(source: &[SourceIndex], target: &[IndexRow]) -> Vec<Mismatch> {
    let target: BTreeMap<&str, &IndexRow> = target.iter().map(|r| (r.index.as_str(), r)).collect();
    source
        .iter()
        .filter_map(|s| {
            let t = target
                .get(s.index.as_str())
                .map(|r| r.top_level_documents().unwrap_or(0));
            (t != Some(s.documents)).then(|| Mismatch {
                index: s.index.clone(),
                source: s.documents,
                target: t,
            })
        })
        .collect()
}

/// The two tables (SOURCE CLUSTER, TARGET CLUSTER) and a verdict line per differing index.
pub fn render(
    snapshot: &crate::model::SnapshotRef,
    source: &[SourceIndex],
    endpoint: &str,
    target: &[IndexRow],
    mismatches: &[Mismatch],
) -> String {
    let mut out = format!(
        "SOURCE CLUSTER (snapshot {} in {})\n",
        snapshot.name, snapshot.repository
    );
    let w = source
        .iter()
        .map(|s| s.index.len())
        .max()
        .unwrap_or(5)
        .max(5);
    out += &format!("{:<w$}  {:>6}  {:>10}\n", "index", "shards", "docs.count");
    for s in source {
        out += &format!("{:<w$}  {:>6}  {:>10}\n", s.index, s.shards, s.documents);
    }
    out += &format!("\nTARGET CLUSTER ({endpoint})\n");
    let w = target
        .iter()
        .map(|r| r.index.len())
        .max()
        .unwrap_or(5)
        .max(5);
    out += &format!(
        "{:<7} {:<6} {:<w$}  {:>3} {:>3} {:>10} {:>12}\n",
        "health", "status", "index", "pri", "rep", "docs.count", "docs.deleted"
    );
    let opt = |v: Option<u64>| v.map_or_else(|| "-".to_string(), |n| n.to_string());
    for r in target {
        out += &format!(
            "{:<7} {:<6} {:<w$}  {:>3} {:>3} {:>10} {:>12}\n",
            r.health.as_deref().unwrap_or("-"),
            r.status.as_deref().unwrap_or("-"),
            r.index,
            opt(r.primaries.map(u64::from)),
            opt(r.replicas.map(u64::from)),
            opt(r.docs_count),
            opt(r.docs_deleted),
        );
    }
    out.push('\n');
    if mismatches.is_empty() {
        out += &format!(
            "All {} indices have the same document count in the snapshot and the target.\n",
            source.len()
        );
    }
    // Counted in the snapshot's documents, and never sent: say so beside the verdicts.
    for s in source.iter().filter(|s| s.without_source > 0) {
        out += &format!(
            "NO SOURCE {}: {} of its {} documents have no _source in the snapshot (_source disabled, or synthetic _source) and cannot be migrated\n",
            s.index, s.without_source, s.documents
        );
    }
    for s in source.iter().filter(|s| s.not_rebuilt > 0) {
        out += &format!(
            "NOT REBUILT {}: {} of its {} documents have k-NN vectors that could not be put back into their _source and are not migrated (reported as vectors_not_rebuilt)\n",
            s.index, s.not_rebuilt, s.documents
        );
    }
    for r in target {
        if let (Some(all), Some(top)) = (r.docs_count, r.documents) {
            if all > top {
                out += &format!(
                    "NESTED {}: docs.count {all} in the target includes {} nested children; its {top} top-level documents are compared\n",
                    r.index,
                    all - top
                );
            }
        }
    }
    for m in mismatches {
        out += &match m.target {
            None => format!(
                "MISMATCH {}: {} documents in the snapshot, the index is missing from the target\n",
                m.index, m.source
            ),
            Some(t) if t < m.source => format!(
                "MISMATCH {}: {} documents in the snapshot, {t} in the target ({} missing)\n",
                m.index,
                m.source,
                m.source - t
            ),
            Some(t) => format!(
                "MISMATCH {}: {} documents in the snapshot, {t} in the target ({} more)\n",
                m.index,
                m.source,
                t - m.source
            ),
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SnapshotRef;

    fn row(index: &str, docs: Option<u64>) -> IndexRow {
        IndexRow {
            index: index.into(),
            health: Some("green".into()),
            status: Some("open".into()),
            primaries: Some(1),
            replicas: Some(0),
            docs_count: docs,
            docs_deleted: Some(0),
            store_size: None,
            documents: None,
        }
    }

    #[test]
    fn verdicts_name_each_index_that_differs_and_how() {
        let source: Vec<SourceIndex> = [("a", 10), ("b", 5), ("c", 7), ("d", 3)]
            .into_iter()
            .map(|(n, d)| SourceIndex {
                index: n.into(),
                shards: 1,
                documents: d,
                without_source: if n == "b" { 1 } else { 0 },
                not_rebuilt: 0,
            })
            .collect();
        let snap = SnapshotRef {
            repository: "s3://b/r".into(),
            name: "snap".into(),
        };
        let rows = vec![
            row("a", Some(10)),
            row("b", Some(4)),
            row("c", Some(9)),
            row("other", Some(1)),
        ];
        let m = differences(&source, &rows);
        let text = render(&snap, &source, "http://t", &rows, &m);
        assert!(
            text.contains("MISMATCH b: 5 documents in the snapshot, 4 in the target (1 missing)"),
            "{text}"
        );
        assert!(
            text.contains("MISMATCH c: 7 documents in the snapshot, 9 in the target (2 more)"),
            "{text}"
        );
        assert!(
            text.contains(
                "MISMATCH d: 3 documents in the snapshot, the index is missing from the target"
            ),
            "{text}"
        );
        assert!(
            text.contains("NO SOURCE b: 1 of its 5 documents have no _source"),
            "{text}"
        );
        assert_eq!(text.matches("NO SOURCE").count(), 1, "{text}");
        assert!(!text.contains("MISMATCH a") && !text.contains("MISMATCH other"));
        assert_eq!(m.len(), 3);
        let all = [
            row("a", Some(10)),
            row("b", Some(5)),
            row("c", Some(7)),
            row("d", Some(3)),
        ];
        let same = render(
            &snap,
            &source,
            "http://t",
            &all,
            &differences(&source, &all),
        );
        assert!(
            same.contains("All 4 indices have the same document count"),
            "{same}"
        );
    }
}
