//! Streams the live documents of one shard, segment by segment, with resumable positions.
//!
//! Order: segments in the order of the shard's commit (`segments_N`), documents in id order
//! within a segment. A [`Position`] names the next document to read, so a reader opened later
//! on the same snapshot continues exactly after the last document a worker checkpointed.

use crate::error::{Error, ErrorKind, Location, Result};
use crate::es::{self, Document, EsFields, Extracted};
use crate::knn::DerivedSource;
use crate::lucene::stored_fields::ChunkStart;
use crate::lucene::{self, Commit, Directory, ReadOptions, SegmentReader};
use crate::rebuild::{SegmentSources, SourceRebuilder};
use crate::repo::Snapshot;

mod position;
mod range;
pub use position::Position;
pub use range::SegmentSize;

/// A live document and where reading continues after it.
#[derive(Debug, Clone)]
pub struct ShardDocument {
    pub document: Document,
    pub segment: String,
    pub doc: u32,
    /// Resume here to read the documents after this one.
    pub next: Position,
}

/// What a shard held besides the documents returned.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ShardStats {
    pub segments: usize,
    pub max_docs: u64,
    pub hard_deleted: u64,
    pub soft_deleted: u64,
    /// Live documents returned.
    pub documents: u64,
    pub source_bytes: u64,
    /// Live nested (block-join) children: they have no `_id` and travel inside their parent.
    pub nested_children: u64,
    /// Live documents with an `_id` but no `_source`: they cannot be migrated.
    pub without_source: u64,
    /// The first few of those, to name them in reports.
    pub without_source_ids: Vec<String>,
    /// Live documents of a k-NN derived-source index whose vectors could not be put back into
    /// their `_source`: they cannot be migrated as they are.
    pub not_rebuilt: u64,
    /// The first few of those, to name them in reports.
    pub not_rebuilt_ids: Vec<String>,
    /// Documents without `_source` whose `_source` was rebuilt from doc values and stored
    /// fields (only with [`ShardReader::rebuild_missing_sources`]).
    pub sources_rebuilt: u64,
    /// Fields of those documents that could not be read back and were left out.
    pub fields_not_rebuilt: u64,
}

const MAX_REPORTED_IDS: usize = 20;

pub struct ShardReader {
    location: Location,
    dir: Directory,
    commit: Commit,
    opts: ReadOptions,
    /// Index into the commit's segments of the segment being read.
    seg_index: usize,
    current: Option<(SegmentReader, EsFields)>,
    stats: ShardStats,
    /// Where a range of the shard ends (segment index, first document not to read).
    end: Option<(usize, u32)>,
    /// Per segment of the commit, whether it is read (all when `None`): a delta reads only the
    /// segments new since the previous snapshot.
    only: Option<Vec<bool>>,
    /// k-NN derived source of the current segment: its vectors, to put back into `_source`.
    derived: Option<DerivedSource>,
    /// The `_source` of the current document when it is not the stored bytes: decompressed
    /// (ES 1.x LZF) or rebuilt with its k-NN vectors.
    owned: Vec<u8>,
    /// The last top-level document met in the current segment (its nested block ends there).
    last_parent: Option<u32>,
    /// Opt-in: rebuild the `_source` of documents that have none, by the index mapping.
    rebuilder: Option<SourceRebuilder>,
    /// What the rebuild reads in the current segment.
    sources: Option<SegmentSources>,
    /// The fields left out of the current document's rebuilt `_source` (`None`: not rebuilt).
    rebuilt: Option<Vec<String>>,
}

impl ShardReader {
    /// Opens shard `shard` of `index` in a snapshot.
    pub fn open(
        snapshot: &Snapshot,
        index: &str,
        shard: u32,
        opts: ReadOptions,
    ) -> Result<ShardReader> {
        let meta = snapshot.index(index)?;
        let files = snapshot.shard(&meta, shard)?;
        let dir = snapshot.shard_directory(&files)?;
        let location = Location {
            index: Some(index.to_string()),
            shard: Some(shard),
            ..snapshot.location()
        };
        ShardReader::from_directory(dir, location, opts)
    }

    /// Reads the commit of a directory; `location` names it in errors.
    pub fn from_directory(
        dir: Directory,
        location: Location,
        opts: ReadOptions,
    ) -> Result<ShardReader> {
        let commit = lucene::read_commit(&dir).map_err(|e| dir.locate(e.within(&location)))?;
        Ok(ShardReader {
            location,
            dir,
            stats: ShardStats {
                segments: commit.segments.len(),
                ..Default::default()
            },
            commit,
            opts,
            seg_index: 0,
            current: None,
            end: None,
            only: None,
            derived: None,
            owned: Vec::new(),
            last_parent: None,
            rebuilder: None,
            sources: None,
            rebuilt: None,
        })
    }

    /// Opt-in: a live document without `_source` (`_source` disabled, or synthetic source) is
    /// returned with a `_source` rebuilt from its doc values and stored fields by `mappings` (the
    /// index's), marked [`ShardDocumentRef::rebuilt`], instead of being passed over.
    pub fn rebuild_missing_sources(&mut self, mappings: &crate::repo::node::Node) -> Result<()> {
        let rebuilder = SourceRebuilder::from_mappings(mappings);
        self.sources = match &self.current {
            Some((seg, _)) => Some(
                rebuilder
                    .open_segment(seg)
                    .map_err(|e| self.locate(seg.locate(e)))?,
            ),
            None => None,
        };
        self.rebuilder = Some(rebuilder);
        Ok(())
    }

    /// Adds where the shard is, the compound file and the blob to an error about its files.
    fn locate(&self, mut e: Error) -> Error {
        if let ErrorKind::MissingFile { needed_by, .. } = &mut e.kind {
            needed_by.get_or_insert_with(|| self.commit.file_name.clone());
        }
        self.dir.locate(e.within(&self.location))
    }

    pub fn commit(&self) -> &Commit {
        &self.commit
    }

    pub fn stats(&self) -> &ShardStats {
        &self.stats
    }

    pub fn location(&self) -> &Location {
        &self.location
    }

    /// Live documents of the shard by its commit, without reading any stored field:
    /// Σ (maxDoc − hard deletes − soft deletes) over the segments (nested children included).
    pub fn live_doc_count(&self) -> Result<u64> {
        Ok(self.segment_sizes()?.iter().map(|s| s.live).sum())
    }

    /// Continues at `pos` (from a `ShardDocument::next` of an earlier reader of this shard).
    pub fn seek(&mut self, pos: &Position) -> Result<()> {
        self.current = None;
        if pos.is_start() {
            self.seg_index = 0;
            return Ok(());
        }
        let Some(i) = self
            .commit
            .segments
            .iter()
            .position(|s| s.name == pos.segment)
        else {
            return Err(Error::new(
                self.location.clone(),
                ErrorKind::BadPosition(format!(
                    "segment {} is not in the shard's commit {}",
                    pos.segment, self.commit.file_name
                )),
            ));
        };
        if !range::included(self.only.as_deref(), i) {
            return Err(Error::new(
                self.location.clone(),
                ErrorKind::BadPosition(format!(
                    "segment {} is not among the segments this reader reads",
                    pos.segment
                )),
            ));
        }
        self.seg_index = i;
        self.open_current()?;
        let (seg, _) = self.current.as_mut().expect("opened");
        if pos.doc >= seg.counts.max_doc {
            // The position is past the segment's last document: continue with the next one.
            self.current = None;
            self.seg_index += 1;
            return Ok(());
        }
        // A position follows a top-level document, which ends the nested block before it.
        self.last_parent = pos.doc.checked_sub(1);
        let r = seg.seek(pos.doc, pos.chunk);
        r.map_err(|e| self.locate(e))
    }

    fn open_current(&mut self) -> Result<()> {
        let sci = &self.commit.segments[self.seg_index];
        let seg = SegmentReader::open(&self.dir, sci, &self.opts).map_err(|e| self.locate(e))?;
        let c = seg.counts;
        self.stats.max_docs += c.max_doc as u64;
        self.stats.hard_deleted += c.hard_deleted as u64;
        self.stats.soft_deleted += c.soft_deleted as u64;
        let fields = EsFields::of(&seg.field_infos);
        self.derived = crate::knn::segment::open(&seg, &self.opts).map_err(|e| self.locate(e))?;
        self.sources = match &self.rebuilder {
            Some(r) => Some(
                r.open_segment(&seg)
                    .map_err(|e| self.locate(seg.locate(e)))?,
            ),
            None => None,
        };
        self.last_parent = None;
        self.current = Some((seg, fields));
        Ok(())
    }

    /// The next live document that has a `_source`; nested children and documents without
    /// `_source` are skipped and counted in [`ShardReader::stats`].
    pub fn next_document(&mut self) -> Result<Option<ShardDocument>> {
        Ok(self.next_document_ref()?.map(|d| ShardDocument {
            next: d.next_position(),
            segment: d.segment.to_string(),
            doc: d.doc,
            document: Document {
                id: d.id,
                doc_type: d.doc_type,
                routing: d.routing,
                source: d.source.to_vec(),
            },
        }))
    }

    /// Like [`ShardReader::next_document`], but lends the `_source` bytes from the decoded chunk
    /// instead of copying them.
    pub fn next_document_ref(&mut self) -> Result<Option<ShardDocumentRef<'_>>> {
        Ok(match self.advance(false)? {
            Some(Found::Document(d)) => Some(self.lend(d)),
            Some(Found::WithoutSource { .. } | Found::NotRebuilt { .. }) => {
                unreachable!("skipped by advance")
            }
            None => None,
        })
    }

    /// Like [`ShardReader::next_document_ref`], but a live document without `_source`, or whose
    /// k-NN vectors cannot be put back, is returned too ([`ShardEntryRef::WithoutSource`],
    /// [`ShardEntryRef::NotRebuilt`]), so that a migration can name each one it cannot send.
    /// It is counted in [`ShardReader::stats`] all the same.
    pub fn next_entry_ref(&mut self) -> Result<Option<ShardEntryRef<'_>>> {
        Ok(match self.advance(true)? {
            Some(Found::Document(d)) => Some(ShardEntryRef::Document(self.lend(d))),
            Some(Found::WithoutSource { doc, id }) => Some(ShardEntryRef::WithoutSource {
                id,
                next: self.after(doc),
            }),
            Some(Found::NotRebuilt { doc, id, error }) => Some(ShardEntryRef::NotRebuilt {
                id,
                reason: error.to_string(),
                next: self.after(doc),
            }),
            None => None,
        })
    }

    /// Where to resume after `doc` of the current segment.
    fn after(&self, doc: u32) -> Position {
        let (seg, _) = self.current.as_ref().expect("the document was found in it");
        Position {
            segment: seg.name().to_string(),
            doc: doc + 1,
            chunk: Some(seg.resume_point()),
        }
    }

    /// Moves to the next live document with an `_id` (nested children are counted and passed
    /// over; so are documents that cannot be sent, without `_source` or with k-NN vectors that
    /// cannot be put back, unless `stop_at_unsendable`; all are counted).
    fn advance(&mut self, stop_at_unsendable: bool) -> Result<Option<Found>> {
        loop {
            if self.current.is_none() {
                while self.seg_index < self.commit.segments.len()
                    && !range::included(self.only.as_deref(), self.seg_index)
                {
                    self.seg_index += 1;
                }
                if self.seg_index >= self.commit.segments.len()
                    || range::past(self.end, self.seg_index, 0)
                {
                    return Ok(None);
                }
                self.open_current()?;
            }
            let (end, seg_index) = (self.end, self.seg_index);
            let (seg, fields) = self.current.as_mut().expect("opened above");
            let encoding = seg.stored_fields().format().field_encoding();
            let raw = seg
                .next_live()
                .map_err(|e| self.dir.locate(e.within(&self.location)))?;
            let Some(raw) = raw else {
                self.current = None;
                self.seg_index += 1;
                continue;
            };
            let doc = raw.doc;
            if range::past(end, seg_index, doc) {
                // The rest of the shard belongs to the next range.
                self.current = None;
                self.seg_index = self.commit.segments.len();
                return Ok(None);
            }
            let extracted = es::extract(&raw, fields, encoding).map_err(|what| {
                let what = format!("document {doc} of segment {}: {what}", seg.name());
                self.dir.locate(stored_fields_corrupt(&self.location, seg, what))
            })?;
            match extracted {
                Extracted::Document {
                    id,
                    doc_type,
                    routing,
                    source,
                } => {
                    self.rebuilt = None;
                    let first_child = self.last_parent.map_or(0, |p| p + 1);
                    self.last_parent = Some(doc);
                    let stored = &seg.stored_fields().last().expect("the document just read");
                    let mut at = SourceAt::Chunk(source.clone());
                    // Elasticsearch 1.x `_source.compress`: hand out the JSON, as ES does.
                    if crate::lzf::is_compressed(&stored.bytes[source.clone()]) {
                        if let Err(e) = crate::lzf::decompress(&stored.bytes[source], &mut self.owned)
                        {
                            let what =
                                format!("document {doc} (_id {id:?}) of segment {}: {e}", seg.name());
                            return Err(self.dir.locate(stored_fields_corrupt(&self.location, seg, what)));
                        }
                        at = SourceAt::Owned;
                    }
                    if let Some(derived) = &self.derived {
                        let source = match &at {
                            SourceAt::Chunk(r) => &stored.bytes[r.clone()],
                            SourceAt::Owned => &self.owned[..],
                        };
                        let live = |d: u32| seg.is_live(d);
                        match derived.rebuild(source, doc, first_child, &live) {
                            Ok(rebuilt) => {
                                self.owned = rebuilt;
                                at = SourceAt::Owned;
                            }
                            Err(why) => {
                                self.stats.not_rebuilt += 1;
                                if self.stats.not_rebuilt_ids.len() < MAX_REPORTED_IDS {
                                    self.stats.not_rebuilt_ids.push(id.clone());
                                }
                                if !stop_at_unsendable {
                                    continue;
                                }
                                let kind = ErrorKind::VectorsNotRebuilt {
                                    id: id.clone(),
                                    segment: seg.name().to_string(),
                                    doc,
                                    why: why.to_string(),
                                };
                                let error = Error::new(self.location.clone(), kind);
                                let error = self.dir.locate(seg.locate(error));
                                return Ok(Some(Found::NotRebuilt { doc, id, error }));
                            }
                        }
                    }
                    return Ok(Some(Found::Document(FoundDocument {
                        doc,
                        id,
                        doc_type,
                        routing,
                        source: at,
                    })))
                }
                Extracted::NestedChild => self.stats.nested_children += 1,
                Extracted::NoSource {
                    id,
                    doc_type,
                    routing,
                } => {
                    self.last_parent = Some(doc);
                    if let (Some(rebuilder), Some(sources)) = (&self.rebuilder, &mut self.sources) {
                        let raw = seg.stored_fields().last().expect("the document just read");
                        let rebuilt = rebuilder
                            .rebuild(sources, &raw)
                            .map_err(|e| self.dir.locate(seg.locate(e.within(&self.location))))?;
                        self.owned = rebuilt.source;
                        self.stats.sources_rebuilt += 1;
                        self.stats.fields_not_rebuilt += rebuilt.missing.len() as u64;
                        self.rebuilt = Some(rebuilt.missing);
                        return Ok(Some(Found::Document(FoundDocument {
                            doc,
                            id,
                            doc_type,
                            routing,
                            source: SourceAt::Owned,
                        })));
                    }
                    self.stats.without_source += 1;
                    if self.stats.without_source_ids.len() < MAX_REPORTED_IDS {
                        self.stats.without_source_ids.push(id.clone());
                    }
                    if stop_at_unsendable {
                        return Ok(Some(Found::WithoutSource { doc, id }));
                    }
                }
            }
        }
    }

    /// The document [`ShardReader::advance`] just found, its `_source` lent from the chunk.
    fn lend(&mut self, found: FoundDocument) -> ShardDocumentRef<'_> {
        let FoundDocument {
            doc,
            id,
            doc_type,
            routing,
            source: range,
        } = found;
        let (seg, _) = self.current.as_ref().expect("a document was found in it");
        let raw = seg.stored_fields().last().expect("the document just read");
        let source = match range {
            SourceAt::Chunk(r) => &raw.bytes[r],
            SourceAt::Owned => &self.owned[..],
        };
        self.stats.documents += 1;
        self.stats.source_bytes += source.len() as u64;
        ShardDocumentRef {
            id,
            doc_type,
            routing,
            source,
            rebuilt: self.rebuilt.take(),
            segment: seg.name(),
            doc,
            resume: seg.resume_point(),
        }
    }
}

/// A document of the current segment's stored fields (`<segment>.fdt`) that does not decode.
fn stored_fields_corrupt(location: &Location, seg: &SegmentReader, what: String) -> Error {
    let file = Some(format!("{}.fdt", seg.name()));
    seg.locate(Error::new(
        Location {
            file,
            ..location.clone()
        },
        ErrorKind::Corrupt(what),
    ))
}

/// What [`ShardReader::advance`] stopped at (owned, so that the reader can be borrowed again).
enum Found {
    Document(FoundDocument),
    WithoutSource { doc: u32, id: String },
    NotRebuilt { doc: u32, id: String, error: Error },
}

/// A document with its `_source` as a range of the current chunk.
struct FoundDocument {
    doc: u32,
    id: String,
    doc_type: Option<String>,
    routing: Option<String>,
    source: SourceAt,
}

/// Where a found document's `_source` is.
enum SourceAt {
    /// As stored: a range of the current chunk.
    Chunk(std::ops::Range<usize>),
    /// In the reader's own buffer (decompressed, or rebuilt).
    Owned,
}

/// A live document with an `_id`: one that can be migrated, or one that cannot: its `_source` is
/// not in the snapshot (`_source` disabled, or synthetic), or its k-NN vectors could not be put
/// back into it.
#[derive(Debug)]
pub enum ShardEntryRef<'a> {
    Document(ShardDocumentRef<'a>),
    WithoutSource {
        id: String,
        /// Where to resume to read the documents after this one.
        next: Position,
    },
    /// A document of a k-NN derived-source index whose vectors could not be put back into its
    /// `_source` (which then lacks them, or holds masks): it must not be sent as it is.
    NotRebuilt {
        id: String,
        /// Why, with the segment and document.
        reason: String,
        next: Position,
    },
}

/// A live document whose `_source` is borrowed from the reader.
#[derive(Debug)]
pub struct ShardDocumentRef<'a> {
    pub id: String,
    pub doc_type: Option<String>,
    pub routing: Option<String>,
    pub source: &'a [u8],
    /// `Some` when the `_source` was rebuilt (the index keeps none): the mapped fields that could
    /// not be read back and are left out of it.
    pub rebuilt: Option<Vec<String>>,
    pub segment: &'a str,
    pub doc: u32,
    resume: ChunkStart,
}

impl ShardDocumentRef<'_> {
    /// Where to resume to read the documents after this one.
    pub fn next_position(&self) -> Position {
        Position {
            segment: self.segment.to_string(),
            doc: self.doc + 1,
            chunk: Some(self.resume),
        }
    }
}

impl Iterator for ShardReader {
    type Item = Result<ShardDocument>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_document().transpose()
    }
}
