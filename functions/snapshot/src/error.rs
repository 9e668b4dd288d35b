//! Errors that say what went wrong and where: repository, snapshot, index, shard and file.

use std::fmt;

use crate::blob::BlobError;
use crate::lucene::input::DecodeError;

/// Where in a repository something went wrong. Lower layers fill in what they know (a file);
/// the shard reader adds the rest before the error leaves the library.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    pub repository: Option<String>,
    pub snapshot: Option<String>,
    pub index: Option<String>,
    pub shard: Option<u32>,
    /// The Lucene or metadata file, e.g. `_0.cfs` or `index-3`.
    pub file: Option<String>,
    /// The blob that holds the file when it differs from the file name (`__uuid`, `.partN`).
    pub blob: Option<String>,
}

impl Location {
    pub fn file(name: impl Into<String>) -> Self {
        Location {
            file: Some(name.into()),
            ..Default::default()
        }
    }

    /// Fills in the fields that are not set yet from `outer`.
    pub fn fill(&mut self, outer: &Location) {
        fn take<T: Clone>(slot: &mut Option<T>, from: &Option<T>) {
            if slot.is_none() {
                slot.clone_from(from);
            }
        }
        take(&mut self.repository, &outer.repository);
        take(&mut self.snapshot, &outer.snapshot);
        take(&mut self.index, &outer.index);
        take(&mut self.shard, &outer.shard);
        take(&mut self.file, &outer.file);
        take(&mut self.blob, &outer.blob);
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        if let Some(r) = &self.repository {
            parts.push(format!("repository {r}"));
        }
        if let Some(s) = &self.snapshot {
            parts.push(format!("snapshot {s}"));
        }
        if let Some(i) = &self.index {
            parts.push(format!("index {i}"));
        }
        if let Some(s) = &self.shard {
            parts.push(format!("shard {s}"));
        }
        match (&self.file, &self.blob) {
            (Some(file), Some(blob)) if file != blob => {
                parts.push(format!("file {file} (blob {blob})"))
            }
            (Some(file), _) => parts.push(format!("file {file}")),
            (None, Some(blob)) => parts.push(format!("blob {blob}")),
            (None, None) => {}
        }
        if parts.is_empty() {
            f.write_str("(no location)")
        } else {
            f.write_str(&parts.join(", "))
        }
    }
}

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum ErrorKind {
    #[error("{0}")]
    Blob(#[from] BlobError),
    #[error("corrupt: {0}")]
    Decode(#[from] DecodeError),
    #[error("checksum mismatch: expected {expected}, computed {actual}")]
    Checksum { expected: String, actual: String },
    #[error("unsupported codec {codec} (format version {version}): {why}")]
    UnsupportedCodec {
        codec: String,
        version: i32,
        why: String,
    },
    #[error("unsupported: {0}")]
    Unsupported(String),
    #[error("corrupt: {0}")]
    Corrupt(String),
    #[error("no snapshot named {name:?} in the repository (it has: {known})")]
    UnknownSnapshot { name: String, known: String },
    #[error("snapshot has no index named {name:?} (it has: {known})")]
    UnknownIndex { name: String, known: String },
    #[error("index has no shard {shard} (it has {count} shard(s): 0..{count})")]
    UnknownShard { shard: u32, count: u32 },
    /// k-NN derived source: a document whose vectors could not be put back into its `_source`.
    /// Only this document is affected: the reader has moved past it, and reading on continues
    /// with the next one.
    #[error("document {id:?} (doc {doc} of segment {segment}): _source not rebuilt: {why}")]
    VectorsNotRebuilt {
        id: String,
        segment: String,
        doc: u32,
        why: String,
    },
    #[error("bad resume position: {0}")]
    BadPosition(String),
    /// A file that the commit or a segment names is not among the shard's files.
    #[error(
        "{} needs this file, but the shard's file list{} does not have it",
        .needed_by.as_deref().unwrap_or("the commit"),
        .listed_in.as_ref().map(|m| format!(" ({m})")).unwrap_or_default()
    )]
    MissingFile {
        /// Who named it: `segment _3 of segments_7`.
        needed_by: Option<String>,
        /// The metadata blob that lists the shard's files.
        listed_in: Option<String>,
    },
}

/// An error of the snapshot reader, with where it happened.
#[derive(Debug)]
pub struct Error {
    /// Boxed to keep `Result`s small on the hot path.
    pub location: Box<Location>,
    pub kind: ErrorKind,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.kind)
    }
}

// No `source()`: the kind is already part of the message, and error reporters that walk the
// chain would print it twice.
impl std::error::Error for Error {}

impl Error {
    pub fn new(location: Location, kind: impl Into<ErrorKind>) -> Self {
        Error {
            location: Box::new(location),
            kind: kind.into(),
        }
    }

    pub fn in_file(file: impl Into<String>, kind: impl Into<ErrorKind>) -> Self {
        Error::new(Location::file(file), kind)
    }

    /// A file in a format we do not read: names the codec (header name) and its version.
    pub fn unsupported_codec(
        file: impl Into<String>,
        codec: impl Into<String>,
        version: i32,
        why: impl Into<String>,
    ) -> Self {
        Error::in_file(
            file,
            ErrorKind::UnsupportedCodec {
                codec: codec.into(),
                version,
                why: why.into(),
            },
        )
    }

    pub fn corrupt(file: impl Into<String>, what: impl Into<String>) -> Self {
        Error::in_file(file, ErrorKind::Corrupt(what.into()))
    }

    /// Adds the outer context (repository, snapshot, …) to an error from a lower layer.
    pub fn within(mut self, outer: &Location) -> Self {
        self.location.fill(outer);
        self
    }

    /// True when the data itself is bad or unreadable by us (retrying cannot help), as opposed
    /// to a passing I/O failure.
    pub fn is_permanent(&self) -> bool {
        match &self.kind {
            ErrorKind::Blob(b) => !b.is_transient(),
            _ => true,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Attaches a file name to lower-level results.
pub trait InFile<T> {
    fn in_file(self, file: &str) -> Result<T>;
}

impl<T, E: Into<ErrorKind>> InFile<T> for std::result::Result<T, E> {
    fn in_file(self, file: &str) -> Result<T> {
        self.map_err(|e| Error::in_file(file, e))
    }
}
