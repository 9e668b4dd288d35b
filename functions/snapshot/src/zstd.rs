//! zstd frames, decoded in pure Rust (ruzstd): whole frames of a known length, optionally with a
//! raw-content dictionary (OpenSearch's stored fields), and streams of frames (OpenSearch's
//! repository metadata).

use ruzstd::decoding::{BlockDecodingStrategy, Dictionary, FrameDecoder};
use ruzstd::io::Read;

/// Decodes `src`, which must be exactly one zstd frame, into `out`, which it must fill exactly.
/// `dict` is a raw-content dictionary.
pub fn decode_frame(src: &[u8], out: &mut [u8], dict: Option<&[u8]>) -> Result<(), String> {
    // One decoder per thread: `reset` clears its state and keeps its buffers, where a new
    // decoder per frame would have the allocator map and unmap them for every chunk.
    thread_local! {
        static DECODER: std::cell::RefCell<FrameDecoder> = std::cell::RefCell::new(FrameDecoder::new());
    }
    DECODER.with(|d| decode_frame_with(&mut d.borrow_mut(), src, out, dict))
}

fn decode_frame_with(
    decoder: &mut FrameDecoder,
    src: &[u8],
    out: &mut [u8],
    dict: Option<&[u8]>,
) -> Result<(), String> {
    let mut input = src;
    // The window a frame asks for is reserved, and kept by the reused decoder: a writer that
    // knew the length never asks for more than it (or than 8 MiB), so a damaged header that
    // does is refused instead of reserving up to ruzstd's 128 MiB limit.
    decoder.set_max_window_size((out.len() as u64).max(MAX_UNIT_WINDOW));
    decoder
        .reset(&mut input)
        .map_err(|e| format!("zstd frame header: {e}"))?;
    if let Some(content) = dict {
        decoder
            .add_dict(raw_content_dictionary(content)?)
            .and_then(|_| decoder.force_dict(RAW_DICTIONARY_ID))
            .map_err(|e| format!("zstd dictionary: {e}"))?;
    }
    // Bounded: a corrupt frame cannot make it decode much past the length it must have.
    decoder
        .decode_blocks(&mut input, BlockDecodingStrategy::UptoBytes(out.len() + 1))
        .map_err(|e| format!("zstd: {e}"))?;
    if !decoder.is_finished() {
        return Err(format!(
            "zstd frame decompresses to more than the expected {} byte(s)",
            out.len()
        ));
    }
    let mut written = 0;
    while written < out.len() {
        match decoder.read(&mut out[written..]) {
            Ok(0) => break,
            Ok(n) => written += n,
            Err(e) => return Err(format!("zstd: {e}")),
        }
    }
    if written != out.len() || decoder.can_collect() > 0 {
        return Err(format!(
            "zstd frame decompressed to {} byte(s), expected {}",
            written + decoder.can_collect(),
            out.len()
        ));
    }
    if !input.is_empty() {
        return Err(format!(
            "{} byte(s) after the end of the zstd frame",
            input.len()
        ));
    }
    check_content_checksum(decoder)
}

/// Compares a finished frame's content checksum, when it has one, with the decoded bytes'.
fn check_content_checksum(decoder: &FrameDecoder) -> Result<(), String> {
    match (
        decoder.get_checksum_from_data(),
        decoder.get_calculated_checksum(),
    ) {
        (Some(stored), Some(actual)) if stored != actual => Err(format!(
            "zstd content checksum {actual:#010x} does not match the frame's {stored:#010x}"
        )),
        _ => Ok(()),
    }
}

/// Decodes a stream of one or more whole frames of unknown decompressed length (OpenSearch's
/// zstd-compressed repository metadata).
pub fn decode_stream(src: &[u8]) -> Result<Vec<u8>, String> {
    let mut input = src;
    let mut out = Vec::new();
    let mut decoder = FrameDecoder::new();
    while !input.is_empty() {
        let at = src.len() - input.len();
        decoder
            .reset(&mut input)
            .map_err(|e| format!("zstd frame at byte {at}: {e}"))?;
        decoder
            .decode_blocks(&mut input, BlockDecodingStrategy::All)
            .map_err(|e| format!("zstd frame at byte {at}: {e}"))?;
        decoder
            .read_to_end(&mut out)
            .map_err(|e| format!("zstd frame at byte {at}: {e}"))?;
        check_content_checksum(&decoder).map_err(|e| format!("zstd frame at byte {at}: {e}"))?;
    }
    Ok(out)
}

/// The window a frame of a known length may ask for, at least.
const MAX_UNIT_WINDOW: u64 = 8 << 20;

/// The id under which the raw-content dictionary is registered (frames made with one carry no
/// dictionary id, so the decoder is told to use it).
const RAW_DICTIONARY_ID: u32 = 1;

/// ruzstd only builds dictionaries from the formatted layout (magic, id, entropy tables, repeat
/// offsets, content), so raw content is given the smallest valid formatted header: a two-symbol
/// Huffman table and single-symbol FSE tables for offsets, match and literal lengths. A frame
/// made with a raw-content dictionary never refers to dictionary tables (the compressor had
/// none to repeat), and the repeat offsets 1, 4, 8 are the ones the format starts raw content
/// with.
const MINIMAL_ENTROPY_TABLES: [u8; 8] = [0x80, 0x10, 0xF0, 0x03, 0xF0, 0x03, 0xF0, 0x03];

fn raw_content_dictionary(content: &[u8]) -> Result<Dictionary, String> {
    let mut formatted = Vec::with_capacity(content.len() + 32);
    formatted.extend_from_slice(&[0x37, 0xA4, 0x30, 0xEC]);
    formatted.extend_from_slice(&RAW_DICTIONARY_ID.to_le_bytes());
    formatted.extend_from_slice(&MINIMAL_ENTROPY_TABLES);
    for repeat_offset in [1u32, 4, 8] {
        formatted.extend_from_slice(&repeat_offset.to_le_bytes());
    }
    formatted.extend_from_slice(content);
    Dictionary::decode_dict(&formatted).map_err(|e| format!("zstd dictionary: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frame of ruzstd's own encoder (real libzstd frames are in the generated indexes).
    fn frame(data: &[u8]) -> Vec<u8> {
        ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
    }

    #[test]
    fn a_raw_content_dictionary_is_history_before_the_frame() {
        // Made by libzstd (zstd CLI 1.5.4: `zstd -3 --no-check -D dict data`, the dictionary a
        // file without the dictionary magic, so raw content, as OpenSearch's are).
        let dict = br#"{"title":"alpha bravo charlie delta","count":1}"#;
        let data = br#"{"title":"alpha bravo charlie delta","count":2}{"title":"alpha bravo charlie echo","count":3}"#;
        let frame = [
            0x28, 0xb5, 0x2f, 0xfd, 0x20, 0x5d, 0x9d, 0x00, 0x00, 0x40, 0x32, 0x7d, 0x65, 0x63,
            0x68, 0x6f, 0x33, 0x7d, 0x03, 0x00, 0x60, 0xd8, 0x08, 0x10, 0x51, 0x69, 0xaa, 0x20,
        ];
        let mut out = vec![0u8; data.len()];
        decode_frame(&frame, &mut out, Some(dict)).unwrap();
        assert_eq!(out, data);
        assert!(decode_frame(&frame, &mut out, None).is_err());
        assert!(decode_frame(
            &frame,
            &mut out,
            Some(b"something else entirely, forty-seven bytes")
        )
        .map_or(true, |_| out != data));
    }

    #[test]
    fn corrupt_frames_are_errors() {
        let data = b"abcdefghij".repeat(50);
        let mut f = frame(&data);
        let mut out = vec![0; data.len()];
        assert!(decode_frame(&f[..f.len() - 3], &mut out, None).is_err());
        f[0] ^= 0xFF;
        assert!(decode_frame(&f, &mut out, None).is_err());
    }

    #[test]
    fn streams_of_several_frames_are_concatenated() {
        let mut s = frame(b"first ");
        s.extend(frame(b"second"));
        assert_eq!(decode_stream(&s).unwrap(), b"first second");
        assert!(decode_stream(&s[..s.len() - 2]).is_err());
    }

    #[test]
    fn a_frame_longer_than_expected_is_refused() {
        let data: Vec<u8> = (0..1_000_000u32).map(|i| (i * 7 % 253) as u8).collect();
        let mut out = vec![0; 1000];
        let err = decode_frame(&frame(&data), &mut out, None).unwrap_err();
        assert!(err.contains("more than the expected 1000"), "{err}");
    }

    #[test]
    fn a_libzstd_stream_with_a_checksum_decodes_and_a_flipped_bit_is_caught() {
        // `zstd -3` reading standard input (zstd CLI 1.5.4): no content size in the header, a
        // content checksum at the end, as a streaming writer leaves it.
        let stream = [
            0x28, 0xb5, 0x2f, 0xfd, 0x04, 0x58, 0xd5, 0x01, 0x00, 0xe4, 0x02, 0x7b, 0x22, 0x73,
            0x6e, 0x61, 0x70, 0x73, 0x68, 0x6f, 0x74, 0x73, 0x22, 0x3a, 0x5b, 0x7b, 0x22, 0x6e,
            0x61, 0x6d, 0x65, 0x22, 0x3a, 0x2d, 0x31, 0x22, 0x2c, 0x22, 0x75, 0x75, 0x69, 0x64,
            0x22, 0x3a, 0x22, 0x61, 0x62, 0x63, 0x22, 0x7d, 0x2c, 0x32, 0x64, 0x22, 0x7d, 0x5d,
            0x7d, 0x03, 0x00, 0x80, 0x13, 0x84, 0x92, 0x01, 0x0a, 0x53, 0x0c, 0xce, 0x52, 0xd0,
            0x29,
        ];
        let text =
            br#"{"snapshots":[{"name":"snap-1","uuid":"abc"},{"name":"snap-2","uuid":"abd"}]}"#;
        assert_eq!(decode_stream(&stream).unwrap(), text);
        let mut bad = stream;
        let last = bad.len() - 1;
        bad[last] ^= 0x01;
        let err = decode_stream(&bad).unwrap_err();
        assert!(err.contains("checksum"), "{err}");
    }

    #[test]
    fn a_frame_asking_for_a_window_beyond_its_length_is_refused() {
        // Frame header: no single segment, window descriptor 0x80 (2^(10 + 16) = 64 MiB, within
        // ruzstd's own limit), then an empty last raw block.
        let frame = [0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x80, 0x01, 0x00, 0x00];
        let err = decode_frame(&frame, &mut [0u8; 16], None).unwrap_err();
        assert!(err.contains("frame header"), "{err}");
    }
}
