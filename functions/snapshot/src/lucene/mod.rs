//! The Lucene layer: reads a commit's segments and their live stored documents.
//!
//! Every file is dispatched on its own header codec and version (never on the commit's Lucene
//! version), because one commit can mix segments written by different Lucene versions.

pub mod codec;
pub mod commit;
pub mod compound;
pub mod directory;
pub mod doc_values;
pub mod doc_values_fields;
pub mod doc_values_packed;
pub mod field_infos;
pub mod input;
pub mod live_docs;
pub mod segment;
pub mod segment_info;
pub mod stored_fields;
pub mod vectors;

pub use commit::{parse_commit, Commit, SegmentCommitInfo};
pub use directory::{Directory, LuceneFile};
pub use segment::{ReadOptions, SegmentReader};

use crate::error::{Error, Result};

/// Reads the newest commit point of a directory.
pub fn read_commit(dir: &Directory) -> Result<Commit> {
    let name = dir.latest_commit().ok_or_else(|| {
        let among = match dir.listed_in() {
            Some(m) => format!("the files {m} lists"),
            None => "the files".to_string(),
        };
        Error::corrupt(
            "segments_N",
            format!("no commit point (segments_N) among {among}"),
        )
    })?;
    let file = dir.open(&name)?;
    let data = file.read_all()?;
    // Lucene 2.x/3.x commits have neither header nor footer: the parser names their format.
    if data.len() >= 4 && data[..4] != codec::CODEC_MAGIC.to_be_bytes() {
        return parse_commit(&name, &data);
    }
    parse_commit(&name, &file.verified(data)?)
}
