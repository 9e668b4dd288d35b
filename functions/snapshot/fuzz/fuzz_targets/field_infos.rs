//! Field infos (`.fnm`, Lucene60/90/94), with a footer that matches.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let fnm = common::with_valid_footer(data);
    let id = common::header_id(&fnm);
    if let Ok(infos) = snapshot::lucene::field_infos::parse_field_infos("_0.fnm", &fnm, Some(&id)) {
        let _ = infos.soft_deletes_field();
    }
});
