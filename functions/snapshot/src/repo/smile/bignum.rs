//! Decimal text ⇄ two's-complement bytes for SMILE's BigInteger and BigDecimal.
//!
//! SMILE stores them as Java's `BigInteger.toByteArray()` (big-endian two's complement, minimal
//! length) and, for BigDecimal, a scale. [`Node`](crate::repo::node::Node) keeps them as text,
//! so the conversion is done here with schoolbook arithmetic: the numbers are small and rare
//! (the decoder caps them at 1024 bytes).

/// `BigInteger(raw).toString()`; empty input is zero, as Jackson reads it.
pub(super) fn signed_to_decimal(raw: &[u8]) -> String {
    let (negative, digits) = split_sign(raw);
    if negative {
        format!("-{digits}")
    } else {
        digits
    }
}

/// `new BigDecimal(BigInteger(raw), scale).toString()`: plain notation when the scale is not
/// negative and the adjusted exponent is at least -6, scientific (`1.5E+7`) otherwise.
pub(super) fn format_decimal(raw: &[u8], scale: i32) -> String {
    let (negative, coeff) = split_sign(raw);
    let sign = if negative { "-" } else { "" };
    let len = coeff.len();
    let adjusted = i64::from(-scale) + (len as i64 - 1);
    if scale == 0 {
        return format!("{sign}{coeff}");
    }
    if scale > 0 && adjusted >= -6 {
        let scale = scale as usize;
        return if len > scale {
            format!("{sign}{}.{}", &coeff[..len - scale], &coeff[len - scale..])
        } else {
            format!("{sign}0.{}{coeff}", "0".repeat(scale - len))
        };
    }
    let mantissa = if len > 1 {
        format!("{}.{}", &coeff[..1], &coeff[1..])
    } else {
        coeff
    };
    let exp_sign = if adjusted > 0 { "+" } else { "" };
    format!("{sign}{mantissa}E{exp_sign}{adjusted}")
}

/// Parses `[-+]digits` into `BigInteger.toByteArray()` form.
pub(super) fn parse_integer(text: &str) -> Option<Vec<u8>> {
    let (negative, digits) = strip_sign(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(to_signed(negative, &decimal_to_magnitude(digits)))
}

/// Parses decimal text (`-12.50`, `1.5E+7`, `3e-2`) into unscaled bytes and a scale, keeping
/// trailing zeros the way `new BigDecimal(String)` does.
pub(super) fn parse_decimal(text: &str) -> Option<(Vec<u8>, i32)> {
    let (negative, rest) = strip_sign(text);
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(i) => (&rest[..i], rest[i + 1..].parse::<i64>().ok()?),
        None => (rest, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{int_part}{frac_part}");
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let scale = i32::try_from((frac_part.len() as i64).checked_sub(exponent)?).ok()?;
    Some((to_signed(negative, &decimal_to_magnitude(&digits)), scale))
}

fn strip_sign(text: &str) -> (bool, &str) {
    match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    }
}

/// The sign and the decimal digits of the magnitude of a two's-complement number.
fn split_sign(raw: &[u8]) -> (bool, String) {
    let negative = raw.first().is_some_and(|b| b & 0x80 != 0);
    let mut magnitude = raw.to_vec();
    if negative {
        negate(&mut magnitude);
    }
    (negative, magnitude_to_decimal(magnitude))
}

/// Two's-complement negation in place (the width stays the same; -2^(8n-1) maps to itself,
/// which read as unsigned is the right magnitude).
fn negate(bytes: &mut [u8]) {
    let mut carry = true;
    for b in bytes.iter_mut().rev() {
        *b = !*b;
        if carry {
            let (sum, overflow) = b.overflowing_add(1);
            *b = sum;
            carry = overflow;
        }
    }
}

/// Unsigned big-endian bytes to decimal digits, nine digits per long division.
fn magnitude_to_decimal(mut mag: Vec<u8>) -> String {
    const CHUNK: u64 = 1_000_000_000;
    let mut chunks = Vec::new();
    loop {
        while mag.first() == Some(&0) {
            mag.remove(0);
        }
        if mag.is_empty() {
            break;
        }
        let mut rem: u64 = 0;
        for b in mag.iter_mut() {
            let cur = rem * 256 + u64::from(*b);
            *b = (cur / CHUNK) as u8;
            rem = cur % CHUNK;
        }
        chunks.push(rem);
    }
    let mut out = match chunks.pop() {
        Some(top) => top.to_string(),
        None => return "0".to_string(),
    };
    for c in chunks.iter().rev() {
        out.push_str(&format!("{c:09}"));
    }
    out
}

/// Decimal digits to unsigned big-endian bytes.
fn decimal_to_magnitude(digits: &str) -> Vec<u8> {
    let mut mag: Vec<u8> = Vec::new();
    for d in digits.bytes() {
        let mut carry = u32::from(d - b'0');
        for b in mag.iter_mut().rev() {
            let cur = u32::from(*b) * 10 + carry;
            *b = cur as u8;
            carry = cur >> 8;
        }
        while carry > 0 {
            mag.insert(0, carry as u8);
            carry >>= 8;
        }
    }
    mag
}

/// A magnitude and sign to minimal two's-complement bytes (`BigInteger.toByteArray()`).
fn to_signed(negative: bool, magnitude: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(magnitude.len() + 1);
    v.push(0);
    v.extend_from_slice(magnitude);
    if negative {
        negate(&mut v);
    }
    // Drop leading bytes that only repeat the sign of the next one.
    let redundant = |v: &[u8]| {
        v.len() > 1 && ((v[0] == 0 && v[1] & 0x80 == 0) || (v[0] == 0xFF && v[1] & 0x80 != 0))
    };
    while redundant(&v) {
        v.remove(0);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_match_java_to_byte_array() {
        assert_eq!(parse_integer("0"), Some(vec![0]));
        assert_eq!(parse_integer("127"), Some(vec![0x7F]));
        assert_eq!(parse_integer("128"), Some(vec![0x00, 0x80]));
        assert_eq!(parse_integer("-128"), Some(vec![0x80]));
        assert_eq!(parse_integer("-129"), Some(vec![0xFF, 0x7F]));
        assert_eq!(
            parse_integer("18446744073709551615"),
            Some(vec![0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
        );
        assert_eq!(parse_integer("12a"), None);
        for text in [
            "0",
            "1",
            "-1",
            "255",
            "-256",
            "123456789012345678901234567890",
        ] {
            assert_eq!(signed_to_decimal(&parse_integer(text).unwrap()), text);
        }
        assert_eq!(signed_to_decimal(&[]), "0");
    }

    #[test]
    fn decimals_print_like_java_big_decimal() {
        let d = |unscaled: &str, scale| format_decimal(&parse_integer(unscaled).unwrap(), scale);
        assert_eq!(d("12345", 2), "123.45");
        assert_eq!(d("-5", 3), "-0.005");
        assert_eq!(d("5", 7), "5E-7");
        assert_eq!(d("123", -2), "1.23E+4");
        assert_eq!(d("0", -3), "0E+3");
        assert_eq!(d("42", 0), "42");
        assert_eq!(parse_decimal("1.23E+4"), Some((vec![123], -2)));
        assert_eq!(parse_decimal("-0.005"), Some((vec![0xFB], 3)));
        assert_eq!(parse_decimal("1.50"), Some((vec![0, 150], 2)));
        assert_eq!(parse_decimal("abc"), None);
        assert_eq!(parse_decimal("1e99999999999"), None);
    }
}
