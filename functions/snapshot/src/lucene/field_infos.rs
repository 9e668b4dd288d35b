//! `.fnm`: the fields of a segment, numbered per segment.

use super::codec::{self, FOOTER_LEN};
use super::input::{ByteReader, DecodeResult, Endian};
use crate::error::{Error, Result};

pub const SOFT_DELETES_BIT: u8 = 0x8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocValuesType {
    None,
    Numeric,
    Binary,
    Sorted,
    SortedSet,
    SortedNumeric,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldInfo {
    pub name: String,
    pub number: u32,
    pub bits: u8,
    pub doc_values: DocValuesType,
    /// Lucene 10: the field has a doc-values skip index (extra metadata in `.dvm`).
    pub has_skip_index: bool,
    /// Generation of the field's doc-values files; -1 = the segment's own.
    pub dv_gen: i64,
    pub attributes: Vec<(String, String)>,
}

impl FieldInfo {
    pub fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn is_soft_deletes(&self) -> bool {
        self.bits & SOFT_DELETES_BIT != 0
    }
}

#[derive(Debug, Clone, Default)]
pub struct FieldInfos {
    pub fields: Vec<FieldInfo>,
    /// Index by field number (numbers are small and dense in practice).
    by_number: Vec<Option<usize>>,
}

impl FieldInfos {
    pub fn by_number(&self, number: u32) -> Option<&FieldInfo> {
        self.by_number
            .get(number as usize)
            .copied()
            .flatten()
            .map(|i| &self.fields[i])
    }

    pub fn by_name(&self, name: &str) -> Option<&FieldInfo> {
        self.fields.iter().find(|f| f.name == name)
    }

    pub fn soft_deletes_field(&self) -> Option<&FieldInfo> {
        self.fields.iter().find(|f| f.is_soft_deletes())
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// Lucene 4.6–4.10: no index-options byte (it is in the bits), doc-values and norms types
    /// share a byte, maps with a 4-byte count, no points.
    V46,
    /// Lucene 5.x: as Lucene 6.0 without points; maps with a 4-byte count in version 0.
    V50 { legacy_maps: bool },
    V60 { selective_indexing: bool },
    V90,
    V94 { skip_index: bool },
}

/// Parses a whole `.fnm` (footer verified by the caller; `segment_id` is `None` for a Lucene 4.x
/// segment, whose files have plain headers).
pub fn parse_field_infos(
    file_name: &str,
    data: &[u8],
    segment_id: Option<&[u8; 16]>,
) -> Result<FieldInfos> {
    let mut r = ByteReader::new(data, Endian::Big);
    let header = codec::read_header(&mut r).map_err(|e| Error::in_file(file_name, e))?;
    // Lucene46FieldInfosFormat of lucene-core 4.10.4: 0 = 4.6, 1 = 4.8 (footer), 2 = 4.9.
    if header.codec == "Lucene46FieldInfos" && segment_id.is_none() {
        if !(0..=2).contains(&header.version) {
            return Err(Error::unsupported_codec(
                file_name,
                header.codec,
                header.version,
                "unknown field infos version (0 to 2 are Lucene 4.6–4.10)",
            ));
        }
        let trailer = if header.version >= 1 { FOOTER_LEN } else { 0 };
        return parse_body(&mut r, Layout::V46, trailer).map_err(|e| Error::in_file(file_name, e));
    }
    let header = codec::read_index_suffix(&mut r, header).map_err(|e| Error::in_file(file_name, e))?;
    if header.id.as_ref() != segment_id {
        return Err(Error::corrupt(
            file_name,
            "segment id differs from the segment's",
        ));
    }
    let layout = match (header.codec.as_str(), header.version) {
        ("Lucene50FieldInfos", v @ 0..=1) => Layout::V50 {
            legacy_maps: v == 0,
        },
        ("Lucene60FieldInfos", v @ 0..=2) => Layout::V60 {
            selective_indexing: v >= 2,
        },
        ("Lucene90FieldInfos", 0) => Layout::V90,
        ("Lucene94FieldInfos", v @ 0..=2) => Layout::V94 { skip_index: v >= 2 },
        (c, v) => {
            return Err(Error::unsupported_codec(
                file_name,
                c.to_string(),
                v,
                "unknown field infos format",
            ))
        }
    };
    r.set_order(match layout {
        Layout::V90 | Layout::V94 { .. } => Endian::Little,
        _ => Endian::Big,
    });
    parse_body(&mut r, layout, FOOTER_LEN).map_err(|e| Error::in_file(file_name, e))
}

fn parse_body(r: &mut ByteReader, layout: Layout, trailer: usize) -> DecodeResult<FieldInfos> {
    let n = r.vint_len()?;
    let mut fields = Vec::with_capacity(n.min(100_000));
    for _ in 0..n {
        let name = r.string()?;
        let number = r.vint()?;
        if number < 0 {
            return r.invalid(format!("field {name} has negative number {number}"));
        }
        let mut bits = r.u8()?;
        let dv = match layout {
            // The high nibble is the norms type.
            Layout::V46 => r.u8()? & 0x0F,
            _ => {
                let _index_options = r.u8()?;
                r.u8()?
            }
        };
        if matches!(layout, Layout::V46 | Layout::V50 { .. }) {
            // Other flags there; soft deletes came with Lucene 7.
            bits &= !SOFT_DELETES_BIT;
        }
        let doc_values = match dv {
            0 => DocValuesType::None,
            1 => DocValuesType::Numeric,
            2 => DocValuesType::Binary,
            3 => DocValuesType::Sorted,
            4 => DocValuesType::SortedSet,
            5 => DocValuesType::SortedNumeric,
            b => return r.invalid(format!("field {name}: unknown doc-values type {b}")),
        };
        let has_skip_index = match layout {
            Layout::V94 { skip_index: true } => match r.u8()? {
                0 => false,
                1 => true,
                b => return r.invalid(format!("field {name}: unknown skip index type {b}")),
            },
            _ => false,
        };
        let dv_gen = r.i64()?;
        let attributes = match layout {
            Layout::V46 | Layout::V50 { legacy_maps: true } => r.legacy_map_of_strings()?,
            _ => r.map_of_strings()?,
        };
        let point_dims = match layout {
            Layout::V46 | Layout::V50 { .. } => 0,
            _ => r.vint()?,
        };
        if point_dims != 0 {
            let has_index_dims = match layout {
                Layout::V60 { selective_indexing } => selective_indexing,
                _ => true,
            };
            if has_index_dims {
                r.vint()?;
            }
            r.vint()?;
        }
        match layout {
            Layout::V46 | Layout::V50 { .. } | Layout::V60 { .. } => {}
            Layout::V90 => {
                r.vint()?;
                r.u8()?;
            }
            Layout::V94 { .. } => {
                r.vint()?;
                r.u8()?;
                r.u8()?;
            }
        }
        fields.push(FieldInfo {
            name,
            number: number as u32,
            bits,
            doc_values,
            has_skip_index,
            dv_gen,
            attributes,
        });
    }
    if r.remaining() != trailer {
        return r.invalid("field infos do not end at the footer");
    }
    let max = fields
        .iter()
        .map(|f| f.number as usize + 1)
        .max()
        .unwrap_or(0);
    let mut by_number = vec![None; max.min(1 << 20)];
    for (i, f) in fields.iter().enumerate() {
        if let Some(slot) = by_number.get_mut(f.number as usize) {
            if slot.is_some() {
                return r.invalid(format!("two fields numbered {}", f.number));
            }
            *slot = Some(i);
        }
    }
    Ok(FieldInfos { fields, by_number })
}
