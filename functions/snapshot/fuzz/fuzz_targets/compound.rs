//! A compound file's entry table (`.cfe`) over a data file (`.cfs`): the input is the `.cfe`'s
//! length (2 bytes, little-endian), the `.cfe` and the `.cfs`. Both get footers that match; the
//! segment id is the `.cfe`'s own.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let (len, rest) = data.split_at(2);
    let at = (u16::from_le_bytes([len[0], len[1]]) as usize).min(rest.len());
    let cfe = common::with_valid_footer(&rest[..at]);
    let cfs = common::with_valid_footer(&rest[at..]);
    let id = common::header_id(&cfe);
    let dir = common::directory(vec![("_0.cfe".into(), cfe), ("_0.cfs".into(), cfs)]);
    if let Ok(sub) = snapshot::lucene::compound::open_compound(&dir, "_0", Some(&id)) {
        for name in sub.names() {
            if let Ok(f) = sub.open(name) {
                let _ = f.read_verified();
            }
        }
    }
});
