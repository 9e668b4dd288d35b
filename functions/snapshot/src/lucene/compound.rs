//! Compound files: `.cfe` lists where each sub-file of a segment lies inside `.cfs`.

use super::codec::{self, FOOTER_LEN};
use super::commit::SegmentCommitInfo;
use super::directory::{Directory, LuceneFile};
use super::input::{ByteReader, Endian};
use crate::error::{Error, ErrorKind, Result};

/// Opens the compound file of a segment and returns its sub-files as a directory. `segment_id`
/// is `None` for a Lucene 4.x segment (plain headers, `CompoundFileWriter` of lucene-core 4.10.4:
/// version 0 = Lucene 4.0–4.7 without footers, 1 = 4.8+ with them).
pub fn open_compound(
    dir: &Directory,
    segment: &str,
    segment_id: Option<&[u8; 16]>,
) -> Result<Directory> {
    let cfe_name = format!("{segment}.cfe");
    let cfs_name = format!("{segment}.cfs");
    if !dir.contains(&cfe_name) && segment_id.is_none() && dir.contains(&cfs_name) {
        // Before Lucene 4.0 (and in 3.x segments kept by 4.x) the entry table was in the .cfs.
        return Err(Error::unsupported_codec(
            &cfs_name,
            "compound file without .cfe",
            -1,
            "a Lucene 3.x compound file (its entry table inside the .cfs); Lucene 4.x compound files (.cfs with .cfe) and later are read",
        ));
    }
    let cfe = dir.open(&cfe_name)?.read_verified()?;
    let mut r = ByteReader::new(&cfe, Endian::Big);
    let header = codec::read_header(&mut r).map_err(|e| Error::in_file(&cfe_name, e))?;
    let legacy = header.codec == "CompoundFileWriterEntries" && segment_id.is_none();
    let header = if legacy {
        header
    } else {
        codec::read_index_suffix(&mut r, header).map_err(|e| Error::in_file(&cfe_name, e))?
    };
    let (order, data_codec) = match (header.codec.as_str(), header.version) {
        ("CompoundFileWriterEntries", 0 | 1) if legacy => (Endian::Big, "CompoundFileWriterData"),
        ("Lucene50CompoundEntries", 0) => (Endian::Big, "Lucene50CompoundData"),
        ("Lucene90CompoundEntries", 0) => (Endian::Little, "Lucene90CompoundData"),
        (c, v) => {
            return Err(Error::unsupported_codec(
                &cfe_name,
                c.to_string(),
                v,
                "unknown compound file format",
            ))
        }
    };
    if header.id.as_ref() != segment_id {
        return Err(Error::corrupt(
            &cfe_name,
            "segment id differs from the segment's",
        ));
    }
    r.set_order(order);
    let entries = (|| {
        let n = r.vint_len()?;
        let mut out = Vec::with_capacity(n.min(1024));
        for _ in 0..n {
            let suffix = r.string()?;
            let offset = r.i64()?;
            let length = r.i64()?;
            if offset < 0 || length < 0 {
                return r.invalid(format!("entry {suffix}: negative offset or length"));
            }
            out.push((suffix, offset as u64, length as u64));
        }
        Ok(out)
    })()
    .map_err(|e| Error::in_file(&cfe_name, e))?;

    let cfs = dir.open(&cfs_name)?;
    // Like Lucene's compound reader: check the data file's header and footer shape here; each
    // sub-file carries its own checksum, verified when it is read.
    let footer_len = if codec::predates_footers(data_codec, header.version) {
        0
    } else {
        FOOTER_LEN
    };
    let head_len = codec_header_len(data_codec) + if legacy { 0 } else { 16 + 1 };
    if cfs.len() < (head_len + footer_len) as u64 {
        return Err(Error::corrupt(
            &cfs_name,
            format!("{} byte(s) is too short", cfs.len()),
        ));
    }
    let head = cfs.read_at(0, head_len)?;
    let h = (|| {
        let mut hr = ByteReader::new(&head, Endian::Big);
        let h = codec::read_header(&mut hr)?;
        if legacy {
            Ok(h)
        } else {
            codec::read_index_suffix(&mut hr, h)
        }
    })()
    .map_err(|e| Error::in_file(&cfs_name, e))?;
    if h.codec != data_codec || h.id.as_ref() != segment_id || h.version != header.version {
        return Err(Error::corrupt(
            &cfs_name,
            format!("header {} v{} does not match {cfe_name}", h.codec, h.version),
        ));
    }
    if footer_len > 0 {
        let footer = cfs.read_at(cfs.len() - FOOTER_LEN as u64, FOOTER_LEN)?;
        codec::footer_checksum(&footer).map_err(|e| Error::corrupt(&cfs_name, e.to_string()))?;
    }

    let mut sub = Directory::new();
    for (suffix, offset, length) in entries {
        let name = format!("{segment}{suffix}");
        // The entry table is in the .cfe: an entry outside the .cfs is the .cfe's fault.
        if offset.checked_add(length).is_none_or(|end| end > cfs.len()) {
            return Err(Error::corrupt(
                &cfe_name,
                format!(
                    "entry {name} at {offset}+{length} lies outside {cfs_name} ({} byte(s))",
                    cfs.len()
                ),
            ));
        }
        sub.insert(cfs.slice(&name, offset, length)?);
    }
    Ok(sub)
}

fn codec_header_len(codec: &str) -> usize {
    4 + 1 + codec.len() + 4
}

/// The files of a segment: inside its compound file if it has one, else the shard's own.
/// Generation files (`.liv`, updated `.fnm`, doc-values updates) are always outside.
#[derive(Debug, Clone)]
pub struct SegmentFiles {
    pub outer: Directory,
    pub compound: Option<Directory>,
}

impl SegmentFiles {
    /// Completes an error met while reading the segment: which compound file holds the file
    /// it is about, and which segment needs a missing file.
    pub fn locate(&self, mut e: Error, sci: &SegmentCommitInfo) -> Error {
        let seg = &sci.name;
        if let ErrorKind::MissingFile { needed_by, .. } = &mut e.kind {
            // A file of a compound segment that is not found may be the .cfe's fault.
            if let (Some(n), Some(_)) = (needed_by.as_mut(), &self.compound) {
                if !n.contains(".cfe") {
                    n.push_str(&format!(" (not in {seg}.cfe either)"));
                }
            }
            if needed_by.is_none() {
                let by = match self.compound {
                    Some(_) => format!("{seg}.si and {seg}.cfe"),
                    None => format!("{seg}.si"),
                };
                *needed_by = Some(format!("segment {seg} (of {}, by {by})", sci.commit));
            }
        }
        if let (Some(c), Some(f)) = (&self.compound, &e.location.file) {
            // Where a sub-file lies is the .cfe's word: name it too.
            if c.contains(f) {
                e.location.file = Some(format!("{f} (inside {seg}.cfs, by {seg}.cfe)"));
            }
        }
        e
    }

    pub fn open(&self, name: &str) -> Result<LuceneFile> {
        match &self.compound {
            Some(c) if c.contains(name) => c.open(name),
            _ => self.outer.open(name),
        }
    }
}
