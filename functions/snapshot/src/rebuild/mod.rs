//! Rebuilds the `_source` of a document whose index keeps none (`index.mapping.source.mode:
//! synthetic`, `_source: {enabled: false}`) from what its segment holds: doc values and stored
//! fields, decoded by the index mapping, printed the way Elasticsearch's synthetic source prints
//! them (keys sorted, dotted fields nested, one value as a scalar, several as a sorted array).
//!
//! Nothing is invented: a mapped field whose values cannot be read back (no doc values and not
//! stored, a doc-values format not read here, a date format not printed here) is left out and
//! named in [`Rebuilt::missing`]. Rules from Elasticsearch 8.19.21 `index/mapper/*FieldMapper.java`
//! (`syntheticSourceSupport`) and `SourceLoader.java`; see `docs/rebuilt-source.md`.

pub mod values;

use std::collections::BTreeMap;

use crate::lucene::doc_values_fields::{DocValue, DocValuesFields};
use crate::lucene::stored_fields::fields::{FieldEncoding, FieldIter, StoredValue};
use crate::lucene::stored_fields::RawDoc;
use crate::lucene::{codec, SegmentReader};
use crate::repo::node::Node;
use crate::error::Result;
use values::DateFormat;

/// What a mapped field holds and how its values print.
#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Keyword,
    /// long, integer, short, byte
    Integer,
    Double,
    Float,
    HalfFloat,
    Date(Option<DateFormat>),
    Boolean,
    Ip,
    /// text: from its stored field, or from a keyword sub-field's doc values.
    Text { from_keyword: Option<String> },
    /// A type the rebuild does not handle (named in the report).
    Other(String),
}

#[derive(Debug, Clone)]
struct MappedField {
    /// The Lucene field name: the dotted path.
    name: String,
    kind: Kind,
    stored: bool,
    doc_values: bool,
}

/// The index's rules for rebuilding, from its mapping.
#[derive(Debug, Clone)]
pub struct SourceRebuilder {
    fields: Vec<MappedField>,
}

/// A rebuilt document: its JSON and the mapped fields it had that could not be read back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rebuilt {
    pub source: Vec<u8>,
    pub missing: Vec<String>,
}

impl SourceRebuilder {
    /// From the index's mappings (`{"<type>": {"properties": …}}` or `{"properties": …}`).
    pub fn from_mappings(mappings: &Node) -> SourceRebuilder {
        let root = match mappings.get("properties") {
            Some(_) => mappings,
            None => mappings
                .as_object()
                .and_then(|o| o.first().map(|(_, v)| v))
                .unwrap_or(mappings),
        };
        let mut fields = Vec::new();
        if let Some(props) = root.get("properties") {
            collect(props, "", &mut fields);
        }
        SourceRebuilder { fields }
    }

    /// Opens what the rebuild reads in `segment`.
    pub fn open_segment(&self, segment: &SegmentReader) -> Result<SegmentSources> {
        let infos = &segment.field_infos;
        let sci = &segment.commit_info;
        let mut groups: Vec<(String, Option<DocValuesFields>)> = Vec::new();
        let mut by_field = BTreeMap::new();
        for f in &self.fields {
            let names: Vec<&str> = match &f.kind {
                Kind::Text {
                    from_keyword: Some(k),
                } => vec![k.as_str()],
                _ => vec![f.name.as_str()],
            };
            for name in names {
                let Some(info) = infos.by_name(name) else { continue };
                let (Some(format), Some(suffix)) = (
                    info.attribute("PerFieldDocValuesFormat.format"),
                    info.attribute("PerFieldDocValuesFormat.suffix"),
                ) else {
                    continue;
                };
                let full = if info.dv_gen >= 0 {
                    format!("{}_{format}_{suffix}", codec::to_base36(info.dv_gen as u64))
                } else {
                    format!("{format}_{suffix}")
                };
                let at = match groups.iter().position(|(n, _)| *n == full) {
                    Some(i) => i,
                    None => {
                        // Only Lucene90 is read; other formats (ES87TSDB, ES819TSDB…) leave
                        // their fields out, named as missing.
                        let dv = if format == "Lucene90" {
                            Some(DocValuesFields::open(
                                segment.files(),
                                &sci.name,
                                sci.id.as_ref(),
                                &full,
                                infos,
                                segment.counts.max_doc,
                            )?)
                        } else {
                            None
                        };
                        groups.push((full, dv));
                        groups.len() - 1
                    }
                };
                by_field.insert(name.to_string(), (at, info.number));
            }
        }
        let stored = self
            .fields
            .iter()
            // Synthetic source stores a text field without a plain keyword sub-field under its
            // own name, even where the mapping says nothing of `store` (ES 8.19 and 9.5 do).
            .filter(|f| f.stored || matches!(f.kind, Kind::Text { .. }))
            .filter_map(|f| infos.by_name(&f.name).map(|i| (i.number, f.name.clone())))
            .collect();
        Ok(SegmentSources {
            groups,
            by_field,
            stored,
            encoding: segment.stored_fields().format().field_encoding(),
        })
    }

    /// Rebuilds document `raw` of the segment `sources` was opened on.
    pub fn rebuild(&self, sources: &mut SegmentSources, raw: &RawDoc) -> Result<Rebuilt> {
        let mut stored: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for field in FieldIter::new(raw.bytes, raw.num_fields, sources.encoding) {
            let Ok((number, value)) = field else { break };
            let Some(name) = sources.stored.get(&number) else { continue };
            if let StoredValue::String(s) = value {
                let s = String::from_utf8_lossy(s);
                stored.entry(name.as_str()).or_default().push(values::json_string(&s));
            }
        }
        let mut tree = Tree::default();
        let mut missing = Vec::new();
        for f in &self.fields {
            if let Some(v) = stored.get(f.name.as_str()) {
                tree.put(&f.name, v.clone());
                continue;
            }
            let dv_name = match &f.kind {
                Kind::Text {
                    from_keyword: Some(k),
                } => k.as_str(),
                _ => f.name.as_str(),
            };
            let Some(&(group, number)) = sources.by_field.get(dv_name) else {
                continue; // no document of this segment has a value
            };
            let Some(dv) = sources.groups[group].1.as_mut() else {
                if f.doc_values {
                    missing.push(f.name.clone());
                }
                continue;
            };
            let Some(value) = dv.get(number, raw.doc)? else { continue };
            match render(&f.kind, value) {
                Some(v) if !v.is_empty() => tree.put(&f.name, v),
                Some(_) => {}
                None => missing.push(f.name.clone()),
            }
        }
        let mut source = Vec::new();
        tree.write(&mut source);
        Ok(Rebuilt { source, missing })
    }
}

/// The doc-values files and stored fields of one segment the rebuild reads.
pub struct SegmentSources {
    /// Per doc-values file suffix (`Lucene90_0`): its fields, if its format is read here.
    groups: Vec<(String, Option<DocValuesFields>)>,
    /// Lucene field name → (group, field number).
    by_field: BTreeMap<String, (usize, u32)>,
    /// Stored field number → mapped name.
    stored: BTreeMap<u32, String>,
    encoding: FieldEncoding,
}

fn collect(props: &Node, prefix: &str, out: &mut Vec<MappedField>) {
    let Some(obj) = props.as_object() else { return };
    for (name, def) in obj {
        let path = format!("{prefix}{name}");
        let ty = def.get("type").and_then(Node::as_str);
        if ty.is_none() || ty == Some("object") {
            if let Some(p) = def.get("properties") {
                collect(p, &format!("{path}."), out);
            }
            continue;
        }
        let ty = ty.unwrap_or_default();
        let flag = |k: &str, default: bool| {
            def.get(k)
                .and_then(|v| v.as_bool().or_else(|| v.as_str().map(|s| s == "true")))
                .unwrap_or(default)
        };
        let kind = match ty {
            "keyword" => Kind::Keyword,
            "long" | "integer" | "short" | "byte" => Kind::Integer,
            "double" => Kind::Double,
            "float" => Kind::Float,
            "half_float" => Kind::HalfFloat,
            "date" => Kind::Date(DateFormat::of(def.get("format").and_then(Node::as_str))),
            "boolean" => Kind::Boolean,
            "ip" => Kind::Ip,
            "text" => Kind::Text {
                from_keyword: plain_keyword_subfield(def).map(|s| format!("{path}.{s}")),
            },
            other => Kind::Other(other.to_string()),
        };
        out.push(MappedField {
            name: path,
            doc_values: flag("doc_values", ty != "text"),
            stored: flag("store", false),
            kind,
        });
    }
}

/// A keyword sub-field that keeps every value unchanged (no normalizer, no `ignore_above`), which
/// synthetic source uses for a text field.
fn plain_keyword_subfield(def: &Node) -> Option<String> {
    def.get("fields")?.as_object()?.iter().find_map(|(name, sub)| {
        let plain = sub.get("type").and_then(Node::as_str) == Some("keyword")
            && sub.get("normalizer").is_none()
            && sub.get("ignore_above").is_none()
            && sub.get("doc_values").and_then(Node::as_bool) != Some(false);
        plain.then(|| name.clone())
    })
}

/// The JSON values of one field; `None`: they cannot be printed as the node would.
fn render(kind: &Kind, value: DocValue) -> Option<Vec<String>> {
    let utf8 = |b: Vec<u8>| String::from_utf8(b).ok().map(|s| values::json_string(&s));
    match (kind, value) {
        (Kind::Keyword | Kind::Text { .. }, DocValue::Bytes(b)) => b.into_iter().map(utf8).collect(),
        (Kind::Ip, DocValue::Bytes(b)) => b
            .iter()
            .map(|b| values::ip(b).map(|s| values::json_string(&s)))
            .collect(),
        (Kind::Integer, DocValue::Longs(v)) => Some(v.iter().map(i64::to_string).collect()),
        (Kind::Double, DocValue::Longs(v)) => v
            .iter()
            .map(|x| values::java_double(values::sortable_double(*x)))
            .collect(),
        (Kind::Float, DocValue::Longs(v)) => v
            .iter()
            .map(|x| values::java_float(values::sortable_float(*x)))
            .collect(),
        (Kind::HalfFloat, DocValue::Longs(v)) => v
            .iter()
            .map(|x| values::java_float(values::sortable_half_float(*x)))
            .collect(),
        (Kind::Boolean, DocValue::Longs(v)) => Some(
            v.iter()
                .map(|x| if *x != 0 { "true" } else { "false" }.to_string())
                .collect(),
        ),
        (Kind::Date(Some(f)), DocValue::Longs(v)) => v.iter().map(|x| f.print(*x)).collect(),
        _ => None,
    }
}

/// Objects with keys in order; a leaf holds its values already printed as JSON.
#[derive(Default)]
struct Tree {
    children: BTreeMap<String, Tree>,
    values: Vec<String>,
}

impl Tree {
    fn put(&mut self, path: &str, values: Vec<String>) {
        let mut t = self;
        for part in path.split('.') {
            t = t.children.entry(part.to_string()).or_default();
        }
        t.values = values;
    }

    fn write(&self, out: &mut Vec<u8>) {
        out.push(b'{');
        let mut first = true;
        for (k, child) in &self.children {
            if !first {
                out.push(b',');
            }
            first = false;
            out.extend_from_slice(values::json_string(k).as_bytes());
            out.push(b':');
            if !child.children.is_empty() {
                child.write(out);
            } else if child.values.len() == 1 {
                out.extend_from_slice(child.values[0].as_bytes());
            } else {
                out.push(b'[');
                out.extend_from_slice(child.values.join(",").as_bytes());
                out.push(b']');
            }
        }
        out.push(b'}');
    }
}
