//! `index-N`, the repository's table of contents (seeds: the fixtures' `index-N`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use snapshot::repo::{Node, RepositoryData};

fuzz_target!(|data: &[u8]| {
    if let Ok(json) = serde_json::from_slice::<serde_json::Value>(data) {
        if let Ok(repo) = RepositoryData::parse(0, &Node::from_json(&json)) {
            for s in &repo.snapshots {
                for i in repo.indices_of(&s.uuid) {
                    let _ = repo.index_metadata_blob_id(s, i);
                }
            }
        }
    }
});
