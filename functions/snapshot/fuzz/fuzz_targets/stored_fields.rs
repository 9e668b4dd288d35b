//! Stored-fields chunks (`.fdt`): every document of a segment of up to 255 documents (the first
//! input byte). Formats that keep the chunk size in a `.fdm` get one made for them.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use snapshot::lucene::codec::CODEC_MAGIC;
use snapshot::lucene::compound::SegmentFiles;
use snapshot::lucene::stored_fields::StoredFieldsReader;

/// A `.fdm` naming `codec` with the segment id and a chunk size, as Lucene 8.7+ write it.
fn meta(codec: &str, id: &[u8; 16]) -> Vec<u8> {
    let mut m = CODEC_MAGIC.to_be_bytes().to_vec();
    m.push(codec.len() as u8);
    m.extend_from_slice(codec.as_bytes());
    m.extend_from_slice(&1i32.to_be_bytes());
    m.extend_from_slice(id);
    m.push(0);
    m.extend_from_slice(&[0x80, 0x80, 0x01]); // chunk size 16384 (VInt)
    m.extend_from_slice(&[0; 16]);
    common::with_valid_footer(&m)
}

fuzz_target!(|data: &[u8]| {
    let Some((&max_doc, fdt)) = data.split_first() else {
        return;
    };
    let fdt = common::with_valid_footer(fdt);
    let id = common::header_id(&fdt);
    let name = String::from_utf8_lossy(fdt.get(5..5 + fdt[4] as usize).unwrap_or_default());
    let meta_codec = if name.contains("Lucene87") {
        "Lucene85FieldsIndexMeta"
    } else {
        "Lucene90FieldsIndexMeta"
    };
    let files = SegmentFiles {
        outer: common::directory(vec![
            ("_0.fdm".into(), meta(meta_codec, &id)),
            ("_0.fdt".into(), fdt),
        ]),
        compound: None,
    };
    let Ok(mut reader) = StoredFieldsReader::open(&files, "_0", Some(&id), max_doc as u32, 4096) else {
        return;
    };
    while let Ok(Some(_)) = reader.read_next() {}
});
