//! Elasticsearch's binary `_id` encoding (`Uid.encodeId`), decoded back to the id string.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

const NUMERIC: u8 = 0xFE;
const UTF8: u8 = 0xFF;
const BASE64_ESCAPE: u8 = 0xFD;

/// Decodes a stored `_id`. Errors say what is malformed; the caller adds where.
pub fn decode_id(bytes: &[u8]) -> Result<String, String> {
    let Some(&first) = bytes.first() else {
        return Err("empty _id".into());
    };
    match first {
        NUMERIC => decode_numeric(&bytes[1..]),
        UTF8 => String::from_utf8(bytes[1..].to_vec()).map_err(|_| "_id is not valid UTF-8".into()),
        BASE64_ESCAPE => Ok(URL_SAFE_NO_PAD.encode(&bytes[1..])),
        _ => Ok(URL_SAFE_NO_PAD.encode(bytes)),
    }
}

/// Two decimal digits a byte, high nibble first; a low nibble of 0xF in the last byte marks an
/// odd digit count.
fn decode_numeric(b: &[u8]) -> Result<String, String> {
    if b.is_empty() {
        return Err("numeric _id without digits".into());
    }
    let mut s = String::with_capacity(b.len() * 2);
    for (i, &byte) in b.iter().enumerate() {
        let hi = byte >> 4;
        let lo = byte & 0x0F;
        if hi > 9 {
            return Err(format!("numeric _id has a bad digit nibble {hi:#x}"));
        }
        s.push((b'0' + hi) as char);
        if lo == 0x0F && i == b.len() - 1 {
            break;
        }
        if lo > 9 {
            return Err(format!("numeric _id has a bad digit nibble {lo:#x}"));
        }
        s.push((b'0' + lo) as char);
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_ids_keep_leading_zeros_and_odd_lengths() {
        assert_eq!(decode_id(&[0xFE, 0x01, 0x23]).unwrap(), "0123");
        assert_eq!(decode_id(&[0xFE, 0x12, 0x3F]).unwrap(), "123");
        assert!(decode_id(&[0xFE, 0xA1]).is_err());
    }

    #[test]
    fn utf8_and_base64_ids() {
        assert_eq!(decode_id(b"\xFFcomplexdoc").unwrap(), "complexdoc");
        // A 20-char auto id is stored as its 15 decoded bytes.
        let raw = URL_SAFE_NO_PAD.decode("AE0-Zo4B7T-RS_C5iG5e").unwrap();
        assert_eq!(decode_id(&raw).unwrap(), "AE0-Zo4B7T-RS_C5iG5e");
        assert_eq!(
            decode_id(&[0xFD, 0xFE, 0x00, 0x01]).unwrap(),
            URL_SAFE_NO_PAD.encode([0xFE, 0, 1])
        );
        assert!(decode_id(&[]).is_err());
    }
}
