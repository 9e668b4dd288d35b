//! One case: damage one blob (chosen by the seed and the case number), read, and check what
//! the reading gave.

use std::collections::BTreeSet;
use std::sync::Arc;

use snapshot::lucene::codec::to_base36;
use snapshot::ReadOptions;

use super::alloc;
use super::corpus::{self, Fixture, LuceneIndex, Overlay, Reading, Target};
use super::mutate::{fix_footers, has_footer, mutate, Rng};

/// What one case did and found.
pub struct CaseResult {
    pub errored: bool,
    pub failures: Vec<String>,
}

pub struct Corpus {
    pub fixtures: Vec<Fixture>,
    pub targets: Vec<Vec<Target>>,
    /// Lucene indexes written by real Lucene 8.8–10.5 (codecs the fixtures lack), read as a
    /// shard directory.
    pub indexes: Vec<LuceneIndex>,
}

const VERIFY: ReadOptions = ReadOptions {
    read_size: 8 << 20,
    verify_checksums: true,
};
const NO_VERIFY: ReadOptions = ReadOptions {
    read_size: 8 << 20,
    verify_checksums: false,
};

/// Damages a copy of `original` once or a few times; with checksums made to match again half
/// of the time (when it had any), so that the damage reaches the parsers behind them.
fn damage(rng: &mut Rng, original: &[u8], others: &[(&str, &[u8])]) -> (Vec<u8>, String, bool) {
    let mut data = original.to_vec();
    let times = if rng.chance(25) { 2 + rng.below(2) } else { 1 };
    let what: Vec<String> = (0..times)
        .map(|_| mutate(rng, &mut data, others).to_string())
        .collect();
    let fixed = has_footer(original) && rng.chance(50);
    if fixed {
        fix_footers(&mut data);
    }
    let mut text = what.join("; ");
    if fixed {
        text.push_str(", checksums made to match");
    }
    (data, text, fixed)
}

pub fn run_case(corpus: &Corpus, seed: u64, case: u64) -> CaseResult {
    let mut rng = Rng::new(seed, case);
    if !corpus.indexes.is_empty() && rng.chance(20) {
        lucene_case(corpus, &mut rng, seed, case)
    } else {
        repository_case(corpus, &mut rng, seed, case)
    }
}

/// A blob of a fixture repository (or a file inline in shard metadata); reads the whole
/// repository, and the shard once more through a file list that records the damaged file.
fn repository_case(corpus: &Corpus, rng: &mut Rng, seed: u64, case: u64) -> CaseResult {
    let f = rng.below(corpus.fixtures.len());
    let fx = &corpus.fixtures[f];
    let target = corpus.targets[f][rng.below(corpus.targets[f].len())].clone();
    let (label, original, holders): (String, Vec<u8>, Vec<(usize, String)>) = match &target {
        Target::Blob(path) => (path.clone(), fx.blobs[path].clone(), fx.holders(path)),
        Target::Inline { shard, physical } => {
            let file = fx.shards[*shard].3.files.iter();
            let bytes = file
                .filter(|f| &f.physical_name == physical)
                .find_map(|f| f.meta_hash.clone())
                .expect("inline bytes");
            let folder = &fx.shards[*shard].3.folder;
            let label = format!("{physical} (inline in {folder}/snap-*.dat)");
            (label, bytes, vec![(*shard, physical.clone())])
        }
    };
    let others: Vec<(&str, &[u8])> = fx
        .blobs
        .iter()
        .filter(|(p, _)| **p != label)
        .map(|(p, d)| (p.as_str(), d.as_slice()))
        .collect();
    let (data, what, fixed) = damage(rng, &original, &others);
    let description = format!("seed {seed:#x} case {case}: {}/{label}: {what}", fx.name);
    *alloc::CURRENT_CASE.lock().unwrap() = description.clone();

    // An error must name the damaged blob, or the Lucene file it holds.
    let mut names: Vec<String> = holders.iter().map(|(_, p)| p.clone()).collect();
    if let Target::Blob(path) = &target {
        names.push(path.rsplit('/').next().unwrap().to_string());
    }
    let mut readings: Vec<(&str, Reading)> = Vec::new();
    if let Target::Blob(path) = &target {
        let store = Arc::new(Overlay::new(
            &fx.name,
            fx.blobs.clone(),
            Some((path.clone(), data.clone())),
        ));
        readings.push(("verified", corpus::read_repository(store.clone(), VERIFY)));
        readings.push(("unverified", corpus::read_repository(store, NO_VERIFY)));
    }
    // The damaged file as the snapshot's own: its checksum and length recorded, so the
    // parsers behind the checks see it.
    if fixed || matches!(target, Target::Inline { .. }) {
        if let Some((shard, physical)) = holders.first() {
            let (snap, index, n, files) = &fx.shards[*shard];
            let mut files = files.clone();
            for fi in files
                .files
                .iter_mut()
                .filter(|f| &f.physical_name == physical)
            {
                fi.length = data.len() as u64;
                if has_footer(&data) {
                    let crc = u64::from_be_bytes(data[data.len() - 8..].try_into().unwrap());
                    fi.checksum = to_base36(crc);
                }
                if fi.is_virtual() {
                    fi.meta_hash = Some(data.clone());
                }
            }
            let replaced = match &target {
                Target::Blob(path) => Some((path.clone(), data.clone())),
                Target::Inline { .. } => None,
            };
            let store = Arc::new(Overlay::new(&fx.name, fx.blobs.clone(), replaced));
            let key = (snap.clone(), index.clone(), *n);
            for (mode, opts) in [("patched", VERIFY), ("patched unverified", NO_VERIFY)] {
                let r = corpus::read_patched_shard(store.clone(), key.clone(), &files, opts);
                readings.push((mode, r));
            }
        }
    }
    let strict = !fixed && has_footer(&original);
    check(&description, &names, &readings, &fx.pristine, strict)
}

/// A file of a Lucene index written by real Lucene (zstd, DEFLATE, `.liv`, Lucene 9 and 10).
fn lucene_case(corpus: &Corpus, rng: &mut Rng, seed: u64, case: u64) -> CaseResult {
    let ix = &corpus.indexes[rng.below(corpus.indexes.len())];
    let t = rng.below(ix.files.len());
    let (name, original) = &ix.files[t];
    let others: Vec<(&str, &[u8])> = ix
        .files
        .iter()
        .filter(|(n, _)| n != name)
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    let (data, what, fixed) = damage(rng, original, &others);
    let description = format!(
        "seed {seed:#x} case {case}: lucene/{}/{name}: {what}",
        ix.name
    );
    *alloc::CURRENT_CASE.lock().unwrap() = description.clone();
    let mut files = ix.files.clone();
    files[t].1 = data;
    let readings = [
        ("verified", ix.read(files.clone(), VERIFY)),
        ("unverified", ix.read(files, NO_VERIFY)),
    ];
    let strict = !fixed && has_footer(original);
    check(
        &description,
        std::slice::from_ref(name),
        &readings,
        &ix.pristine,
        strict,
    )
}

/// Every error names the damaged file; and where checksums guard the damage (`strict`), a
/// verified reading gives no document that differs from the undamaged one.
fn check(
    description: &str,
    names: &[String],
    readings: &[(&str, Reading)],
    pristine: &Reading,
    strict: bool,
) -> CaseResult {
    let mut failures = Vec::new();
    let pristine: BTreeSet<_> = pristine.digest.iter().collect();
    for (mode, r) in readings {
        for e in &r.errors {
            if !names.iter().any(|n| e.contains(n.as_str())) {
                failures.push(format!(
                    "{description}\n  {mode} read: error names none of {names:?}: {e}"
                ));
            }
        }
        if *mode == "verified" && strict {
            for d in r.digest.iter().filter(|d| !pristine.contains(d)) {
                failures.push(format!(
                    "{description}\n  verified read: shard {d:?} gave other documents than the undamaged data"
                ));
            }
        }
    }
    CaseResult {
        errored: readings.iter().any(|(_, r)| !r.errors.is_empty()),
        failures,
    }
}
