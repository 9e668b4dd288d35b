//! The SMILE decoder of every `*.dat` metadata blob (seeds: the fixtures' blob bodies).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = snapshot::repo::smile::decode(data);
});
