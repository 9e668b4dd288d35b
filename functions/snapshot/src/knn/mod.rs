//! k-NN derived source: indices of the OpenSearch k-NN plugin with
//! `index.knn.derived_source.enabled` store `_source` without their vectors and the node puts
//! them back from the vector files whenever it returns `_source`. Copying the stored `_source`
//! would migrate documents without vectors (3.x: with a mask `1` in their place), so a segment
//! whose vectors are derived is rebuilt here the way the node rebuilds it.
//!
//! Two generations (docs/knn-derived-source.md has the byte-level rules and the sources):
//! - **mask** (k-NN 3.x, `KNN10010DerivedSourceStoredFieldsWriter`): the segment info
//!   attributes `derived_vector_fields` / `nested_derived_vector_fields` name the fields; each
//!   vector was replaced by `1` in place. Reading replaces every non-null value at the field's
//!   path by the document's vector; key order stays. Nested fields take the vectors of the
//!   parent's children in order.
//! - **filter** (k-NN 2.17–2.19, `DerivedSourceStoredFieldsWriter`): fields whose attribute
//!   `knn-derived-source-enabled` is `true`; the vector was removed. Reading adds each root vector
//!   to a `java.util.HashMap` copy of the top-level object (so the top-level keys come out in
//!   hash order) and an object field's vector at the end of its object. Vectors inside nested
//!   fields are not rebuilt (an error for that document).

pub mod json;
pub mod segment;

use crate::lucene::vectors::FieldVectors;

/// Attribute of a field (k-NN 2.17+) whose vector is not in the stored `_source`.
pub const FILTER_ATTRIBUTE: &str = "knn-derived-source-enabled";
/// Segment info attributes (k-NN 3.x): the derived root/object fields and nested fields.
pub const MASK_FIELDS: &str = "derived_vector_fields";
pub const MASK_NESTED_FIELDS: &str = "nested_derived_vector_fields";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generation {
    Mask,
    Filter,
}

/// One derived vector field of a segment.
#[derive(Debug, Clone)]
pub struct DerivedField {
    /// The full path, `obj.ov`.
    pub path: String,
    pub nested: bool,
    pub vectors: FieldVectors,
}

/// What a segment needs to rebuild `_source`.
#[derive(Debug, Clone)]
pub struct DerivedSource {
    pub generation: Generation,
    pub fields: Vec<DerivedField>,
}

/// The fields of a segment whose vectors are derived, by generation: from the segment info
/// attributes (mask) or the field attributes (filter). Empty when none are.
pub fn derived_fields(
    segment_attributes: &[(String, String)],
    field_attributes: &[(String, &[(String, String)])],
) -> Option<(Generation, Vec<(String, bool)>)> {
    let attr = |k: &str| {
        segment_attributes
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    let mut fields = Vec::new();
    for (key, nested) in [(MASK_FIELDS, false), (MASK_NESTED_FIELDS, true)] {
        if let Some(list) = attr(key).filter(|l| !l.is_empty()) {
            fields.extend(list.split(',').map(|f| (f.to_string(), nested)));
        }
    }
    if !fields.is_empty() {
        return Some((Generation::Mask, fields));
    }
    let filtered: Vec<(String, bool)> = field_attributes
        .iter()
        .filter(|(_, attrs)| {
            attrs
                .iter()
                .any(|(k, v)| k == FILTER_ATTRIBUTE && v == "true")
        })
        .map(|(name, _)| (name.clone(), false))
        .collect();
    (!filtered.is_empty()).then_some((Generation::Filter, filtered))
}

/// Why a document's `_source` could not be rebuilt.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("vector field {field}: {why}")]
pub struct NotRebuilt {
    pub field: String,
    pub why: String,
}

impl DerivedSource {
    /// The `_source` of top-level document `doc` with its vectors put back. `first_child` is
    /// the document after the previous live top-level one: the live documents from there to
    /// `doc` are its nested children (deleted blocks of older versions may lie in between).
    pub fn rebuild(
        &self,
        source: &[u8],
        doc: u32,
        first_child: u32,
        live: &dyn Fn(u32) -> bool,
    ) -> Result<Vec<u8>, NotRebuilt> {
        match self.generation {
            Generation::Mask => self.rebuild_masked(source, doc, first_child, live),
            Generation::Filter => self.rebuild_filtered(source, doc, first_child, live),
        }
    }

    fn rebuild_masked(
        &self,
        source: &[u8],
        doc: u32,
        first_child: u32,
        live: &dyn Fn(u32) -> bool,
    ) -> Result<Vec<u8>, NotRebuilt> {
        let mut edits: Vec<(std::ops::Range<usize>, String)> = Vec::new();
        for f in &self.fields {
            let bad = |why: String| NotRebuilt {
                field: f.path.clone(),
                why,
            };
            let mut spans = Vec::new();
            let path: Vec<&str> = f.path.split('.').collect();
            values_at(source, 0, &path, &mut spans).map_err(&bad)?;
            // `null` is left as it is (the plugin's transform skips it).
            spans.retain(|s| &source[s.clone()] != b"null");
            if spans.is_empty() {
                continue;
            }
            let docs = if f.nested {
                let mut docs = f.vectors.docs_in(first_child, doc);
                docs.retain(|&d| live(d));
                docs
            } else {
                vec![doc]
            };
            if !f.nested && spans.len() > 1 {
                return Err(bad(format!("{} values at its path", spans.len())));
            }
            if docs.len() != spans.len() {
                return Err(bad(format!(
                    "{} value(s) in _source but {} vector(s) in documents {first_child}..={doc}",
                    spans.len(),
                    docs.len()
                )));
            }
            for (span, d) in spans.into_iter().zip(docs) {
                let v = f
                    .vectors
                    .vector(d)
                    .ok_or_else(|| bad(format!("document {d} has no vector")))?;
                edits.push((span, json::vector_json(v)));
            }
        }
        edits.sort_by_key(|(r, _)| r.start);
        let mut out = Vec::with_capacity(source.len() + edits.len() * 64);
        let mut at = 0;
        for (r, text) in edits {
            out.extend_from_slice(&source[at..r.start]);
            out.extend_from_slice(text.as_bytes());
            at = r.end;
        }
        out.extend_from_slice(&source[at..]);
        Ok(out)
    }

    fn rebuild_filtered(
        &self,
        source: &[u8],
        doc: u32,
        first_child: u32,
        live: &dyn Fn(u32) -> bool,
    ) -> Result<Vec<u8>, NotRebuilt> {
        let top_err = |why: String| NotRebuilt {
            field: "_source".into(),
            why,
        };
        let (members, _) = json::object(source, 0).map_err(top_err)?;
        // (key bytes, key, value bytes) of the top-level map, then what is put into it.
        let mut entries: Vec<(Vec<u8>, String, Vec<u8>)> = members
            .iter()
            .map(|m| {
                (
                    source[m.key_raw.clone()].to_vec(),
                    m.key.clone(),
                    source[m.value.clone()].to_vec(),
                )
            })
            .collect();
        let initial = entries.len();
        for f in &self.fields {
            let bad = |why: &str| NotRebuilt {
                field: f.path.clone(),
                why: why.to_string(),
            };
            let Some(v) = f.vectors.vector(doc) else {
                if f.vectors.docs_in(first_child, doc).into_iter().any(live) {
                    return Err(bad("vectors inside nested documents are not rebuilt for k-NN 2.x derived source"));
                }
                continue;
            };
            let vector = json::vector_json(v).into_bytes();
            match f.path.split_once('.') {
                None => put(&mut entries, &f.path, vector),
                Some((parent, rest)) => {
                    if rest.contains('.') {
                        return Err(bad("object vector fields deeper than one level are not rebuilt"));
                    }
                    let child = format!("{}:{}", quoted(rest), String::from_utf8_lossy(&vector));
                    match entries.iter_mut().find(|(_, k, _)| k == parent) {
                        Some((_, _, value)) => {
                            let (m, end) = json::object(value, 0).map_err(|e| bad(&e))?;
                            if m.iter().any(|m| m.key == rest) {
                                return Err(bad("the object already holds the field"));
                            }
                            let close = end - 1;
                            let mut v = value[..close].to_vec();
                            if !m.is_empty() {
                                v.push(b',');
                            }
                            v.extend_from_slice(child.as_bytes());
                            v.push(b'}');
                            *value = v;
                        }
                        None => put(&mut entries, parent, format!("{{{child}}}").into_bytes()),
                    }
                }
            }
        }
        let keys: Vec<&str> = entries.iter().map(|(_, k, _)| k.as_str()).collect();
        let order = json::java_hash_map_order(&keys, initial);
        let mut out = Vec::with_capacity(source.len() + 256);
        out.push(b'{');
        for (n, i) in order.into_iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            let (raw, _, value) = &entries[i];
            out.extend_from_slice(raw);
            out.push(b':');
            out.extend_from_slice(value);
        }
        out.push(b'}');
        Ok(out)
    }
}

fn quoted(key: &str) -> String {
    serde_json::to_string(key).expect("a string serialises")
}

/// `HashMap.put`: replaces the value of an existing key in place, else appends.
fn put(entries: &mut Vec<(Vec<u8>, String, Vec<u8>)>, key: &str, value: Vec<u8>) {
    match entries.iter_mut().find(|(_, k, _)| k == key) {
        Some(e) => e.2 = value,
        None => entries.push((quoted(key).into_bytes(), key.to_string(), value)),
    }
}

/// The byte ranges of the values at `path` under the value at `at`, through objects and arrays
/// of objects, in document order (as `XContentMapValues.transform` walks them).
fn values_at(
    b: &[u8],
    at: usize,
    path: &[&str],
    out: &mut Vec<std::ops::Range<usize>>,
) -> Result<(), String> {
    let start = at + b[at..].iter().take_while(|c| c.is_ascii_whitespace()).count();
    match b.get(start) {
        Some(b'{') => {
            let (members, _) = json::object(b, start)?;
            for m in members.iter().filter(|m| m.key == path[0]) {
                if path.len() == 1 {
                    out.push(m.value.clone());
                } else {
                    values_at(b, m.value.start, &path[1..], out)?;
                }
            }
        }
        Some(b'[') => {
            let (items, _) = json::array(b, start)?;
            for item in items {
                values_at(b, item.start, path, out)?;
            }
        }
        _ => {}
    }
    Ok(())
}
