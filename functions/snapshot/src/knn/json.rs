//! What the k-NN plugin's node does to a `_source` when it puts vectors back, at byte level: the
//! stored `_source` is Jackson's own compact output (the plugin re-serialised it on write), so
//! every value we do not touch is copied as its bytes, and only the vectors and, in 2.19, the
//! order of the top-level keys are made as Jackson makes them.

use std::ops::Range;

/// One member of a JSON object: the key's bytes (with quotes, as stored), the key decoded, the
/// value's bytes.
#[derive(Debug, Clone)]
pub struct Member {
    pub key_raw: Range<usize>,
    pub key: String,
    pub value: Range<usize>,
}

/// A scan error: where and what.
pub type ScanResult<T> = Result<T, String>;

fn ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

/// The end of the value that starts at `i` (after whitespace).
pub fn value_end(b: &[u8], i: usize) -> ScanResult<usize> {
    let i = ws(b, i);
    match b.get(i) {
        Some(b'{') => Ok(object(b, i)?.1),
        Some(b'[') => Ok(array(b, i)?.1),
        Some(b'"') => string_end(b, i),
        Some(_) => {
            let mut j = i;
            while j < b.len() && !matches!(b[j], b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t')
            {
                j += 1;
            }
            if j == i {
                return Err(format!("no value at byte {i}"));
            }
            Ok(j)
        }
        None => Err(format!("the document ends at byte {i} where a value was expected")),
    }
}

fn string_end(b: &[u8], i: usize) -> ScanResult<usize> {
    let mut j = i + 1;
    while j < b.len() {
        match b[j] {
            b'\\' => j += 2,
            b'"' => return Ok(j + 1),
            _ => j += 1,
        }
    }
    Err(format!("unterminated string at byte {i}"))
}

/// The members of the object at `i`, and where it ends.
pub fn object(b: &[u8], i: usize) -> ScanResult<(Vec<Member>, usize)> {
    let i = ws(b, i);
    if b.get(i) != Some(&b'{') {
        return Err(format!("no object at byte {i}"));
    }
    let mut members = Vec::new();
    let mut j = ws(b, i + 1);
    if b.get(j) == Some(&b'}') {
        return Ok((members, j + 1));
    }
    loop {
        let k_end = string_end(b, j)?;
        let key: String = serde_json::from_slice(&b[j..k_end])
            .map_err(|e| format!("key at byte {j}: {e}"))?;
        let colon = ws(b, k_end);
        if b.get(colon) != Some(&b':') {
            return Err(format!("no ':' after the key at byte {j}"));
        }
        let v_start = ws(b, colon + 1);
        let v_end = value_end(b, v_start)?;
        members.push(Member {
            key_raw: j..k_end,
            key,
            value: v_start..v_end,
        });
        let next = ws(b, v_end);
        match b.get(next) {
            Some(b',') => j = ws(b, next + 1),
            Some(b'}') => return Ok((members, next + 1)),
            _ => return Err(format!("no ',' or '}}' at byte {next}")),
        }
    }
}

/// The elements of the array at `i`, and where it ends.
pub fn array(b: &[u8], i: usize) -> ScanResult<(Vec<Range<usize>>, usize)> {
    let i = ws(b, i);
    if b.get(i) != Some(&b'[') {
        return Err(format!("no array at byte {i}"));
    }
    let mut items = Vec::new();
    let mut j = ws(b, i + 1);
    if b.get(j) == Some(&b']') {
        return Ok((items, j + 1));
    }
    loop {
        let end = value_end(b, j)?;
        items.push(j..end);
        let next = ws(b, end);
        match b.get(next) {
            Some(b',') => j = ws(b, next + 1),
            Some(b']') => return Ok((items, next + 1)),
            _ => return Err(format!("no ',' or ']' at byte {next}")),
        }
    }
}

/// Java's `Float.toString` as Jackson writes a `float` (`1.0`, `0.001`, `1.0E7`, `-3.5E-5`):
/// the shortest digits that read back to the same float (JDK 19+, Schubfach; JDK 17's older
/// algorithm agrees on the values seen in the tests, see docs/knn-derived-source.md), in plain
/// notation for 10⁻³ ≤ |v| < 10⁷, else as `d.dddE±n`.
pub fn java_float(v: f32, out: &mut String) {
    if v.is_nan() {
        out.push_str("NaN");
        return;
    }
    if v.is_infinite() {
        out.push_str(if v > 0.0 { "Infinity" } else { "-Infinity" });
        return;
    }
    if v == 0.0 {
        out.push_str(if v.is_sign_negative() { "-0.0" } else { "0.0" });
        return;
    }
    // `{:e}` gives the shortest round-trip digits: "-1.2345e-6".
    let sci = format!("{v:e}");
    let (mantissa, exp) = sci.split_once('e').expect("{:e} has an exponent");
    let exp: i32 = exp.parse().expect("{:e} exponent is a number");
    let (neg, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let mut digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if let Some(even) = even_of_tie(v, &digits, exp) {
        digits = even;
    }
    if neg {
        out.push('-');
    }
    if (-3..7).contains(&exp) {
        if exp < 0 {
            out.push_str("0.");
            for _ in 0..(-exp - 1) {
                out.push('0');
            }
            out.push_str(&digits);
        } else {
            let point = exp as usize + 1;
            if digits.len() <= point {
                out.push_str(&digits);
                for _ in digits.len()..point {
                    out.push('0');
                }
                out.push_str(".0");
            } else {
                out.push_str(&digits[..point]);
                out.push('.');
                out.push_str(&digits[point..]);
            }
        }
    } else {
        out.push_str(&digits[..1]);
        out.push('.');
        out.push_str(if digits.len() > 1 { &digits[1..] } else { "0" });
        out.push('E');
        out.push_str(&exp.to_string());
    }
}

/// When the float lies exactly halfway between two shortest candidates (`2754900.25` between
/// `…0.2` and `…0.3`), Java picks the one whose last digit is even (JDK 19+ `Float.toString`,
/// Schubfach); Rust's shortest formatting may pick the other.
fn even_of_tie(v: f32, digits: &str, exp: i32) -> Option<String> {
    let exact = format!("{:.60e}", (v as f64).abs());
    let (m, e) = exact.split_once('e')?;
    if e.parse::<i32>().ok()? != exp {
        return None;
    }
    let all: String = m.chars().filter(|c| *c != '.').collect();
    let exact_digits = all.trim_end_matches('0');
    let n = digits.len();
    if exact_digits.len() != n + 1 || !exact_digits.ends_with('5') {
        return None;
    }
    let floor = &exact_digits[..n];
    let last = floor.as_bytes()[n - 1] - b'0';
    let chosen = if last % 2 == 0 {
        floor.to_string()
    } else if last < 9 {
        format!("{}{}", &floor[..n - 1], last + 1)
    } else {
        return None; // a carry: leave it
    };
    // It must read back as the same float.
    let text = format!("{}.{}e{exp}", &chosen[..1], &chosen[1..]);
    (text.parse::<f32>().ok()? == v.abs()).then_some(chosen)
}

/// A vector as Jackson writes a `float[]`: `[1.0,2.5]`.
pub fn vector_json(v: &[f32]) -> String {
    let mut s = String::with_capacity(v.len() * 12 + 2);
    s.push('[');
    for (i, x) in v.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        java_float(*x, &mut s);
    }
    s.push(']');
    s
}

/// Java's `String.hashCode` (over UTF-16 code units).
fn java_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(c as i32))
}

/// The order in which a `java.util.HashMap` iterates its keys when it was built as
/// `new HashMap<>(m)` from a map of the first `initial` keys (in that order) and the rest were
/// `put` after: by bucket (`(h ^ h >>> 16) & (capacity − 1)`), then by insertion. The capacity
/// is the constructor's `tableSizeFor(initial / 0.75 + 1)` (16 for an empty map), doubled while
/// the size exceeds 0.75 of it. Source: OpenJDK 17/21 `java/util/HashMap.java`
/// (`putMapEntries`, `resize`, `tableSizeFor`).
pub fn java_hash_map_order(keys: &[&str], initial: usize) -> Vec<usize> {
    let mut capacity: usize = if initial == 0 {
        16
    } else {
        let t = (initial as f32 / 0.75 + 1.0) as usize;
        t.next_power_of_two().max(1)
    };
    while keys.len() as f64 > capacity as f64 * 0.75 {
        capacity *= 2;
    }
    let bucket = |k: &str| {
        let h = java_hash(k) as u32;
        ((h ^ (h >> 16)) as usize) & (capacity - 1)
    };
    let mut order: Vec<usize> = (0..keys.len()).collect();
    order.sort_by_key(|&i| (bucket(keys[i]), i));
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jf(v: f32) -> String {
        let mut s = String::new();
        java_float(v, &mut s);
        s
    }

    #[test]
    fn floats_are_written_as_java_writes_them() {
        assert_eq!(jf(1.0), "1.0");
        assert_eq!(jf(0.1), "0.1");
        assert_eq!(jf(-3.5e-5), "-3.5E-5");
        assert_eq!(jf(0.001), "0.001");
        assert_eq!(jf(1.0e7), "1.0E7");
        assert_eq!(jf(9_999_999.0), "9999999.0");
        assert_eq!(jf(123.45), "123.45");
        assert_eq!(jf(-0.0), "-0.0");
        // Halfway between two shortest candidates: the even one.
        assert_eq!(jf(-2_754_900.0 - 0.25), "-2754900.2");
        assert_eq!(jf(2_689_586.0 + 0.25), "2689586.2");
    }

    #[test]
    fn java_string_hashes() {
        assert_eq!(java_hash(""), 0);
        assert_eq!(java_hash("a"), 97);
        assert_eq!(java_hash("vec"), 118 * 31 * 31 + 101 * 31 + 99);
    }

    #[test]
    fn objects_scan_to_their_members() {
        let b = br#"{"a":1, "b" : [1,{"c":"x\"y"}],"d":{}}"#;
        let (m, end) = object(b, 0).unwrap();
        assert_eq!(end, b.len());
        let keys: Vec<&str> = m.iter().map(|m| m.key.as_str()).collect();
        assert_eq!(keys, ["a", "b", "d"]);
        assert_eq!(&b[m[1].value.clone()], br#"[1,{"c":"x\"y"}]"#);
    }
}
