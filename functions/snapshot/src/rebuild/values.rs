//! How Elasticsearch's synthetic source prints a value it reads back from doc values: numbers
//! as Java's `Float.toString`/`Double.toString` (through Jackson), dates in the mapping's first
//! format, IPs as `InetAddresses.toAddrString`, booleans from 0/1.
//!
//! Read from Elasticsearch 8.19.21: `index/mapper/NumberFieldMapper.java` (`NumberType` decoding
//! of sortable longs/ints/shorts), `DateFieldMapper.java`, `IpFieldMapper.java`,
//! `BooleanFieldMapper.java`, `common/network/InetAddresses.java`.

/// A double from `NumericUtils.doubleToSortableLong`.
pub fn sortable_double(v: i64) -> f64 {
    f64::from_bits((v ^ ((v >> 63) & 0x7fff_ffff_ffff_ffff)) as u64)
}

/// A float from `NumericUtils.floatToSortableInt`.
pub fn sortable_float(v: i64) -> f32 {
    let i = v as i32;
    f32::from_bits((i ^ ((i >> 31) & 0x7fff_ffff)) as u32)
}

/// A half float from `HalfFloatPoint.halfFloatToSortableShort`, widened to a float.
pub fn sortable_half_float(v: i64) -> f32 {
    let s = v as i16;
    let bits = (s ^ ((s >> 15) & 0x7fff)) as u16;
    let sign = ((bits >> 15) as u32) << 31;
    let exp = ((bits >> 10) & 0x1f) as i32;
    let mant = (bits & 0x3ff) as u32;
    let f = match exp {
        0 if mant == 0 => sign,
        0 => {
            // Subnormal: value = mant * 2^-24.
            let v = mant as f32 * f32::powi(2.0, -24);
            return if sign != 0 { -v } else { v };
        }
        31 => sign | 0x7f80_0000 | (mant << 13),
        e => sign | (((e - 15 + 127) as u32) << 23) | (mant << 13),
    };
    f32::from_bits(f)
}

/// Java's `Double.toString` / `Float.toString` form of the shortest digits that read back as
/// the same value: `123.0`, `0.001`, `1.0E7`, `1.5E-4`. (JDK 19+ prints the shortest digits;
/// JDK 17 sometimes one more, which only changes bytes, not the value.)
pub fn java_number(shortest_e: &str) -> String {
    // `shortest_e` is Rust's `{:e}`: `-1.2345e-7`, `1e3`.
    let (neg, rest) = match shortest_e.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, shortest_e),
    };
    let (mant, exp) = rest.split_once('e').unwrap_or((rest, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    let sign = if neg { "-" } else { "" };
    if digits.chars().all(|c| c == '0') {
        return format!("{sign}0.0");
    }
    if (-3..7).contains(&exp) {
        let point = exp + 1; // digits before the decimal point
        if point <= 0 {
            let zeros = "0".repeat((-point) as usize);
            return format!("{sign}0.{zeros}{digits}");
        }
        let p = point as usize;
        if digits.len() <= p {
            let zeros = "0".repeat(p - digits.len());
            return format!("{sign}{digits}{zeros}.0");
        }
        return format!("{sign}{}.{}", &digits[..p], &digits[p..]);
    }
    let frac = if digits.len() > 1 { &digits[1..] } else { "0" };
    format!("{sign}{}.{frac}E{exp}", &digits[..1])
}

pub fn java_double(v: f64) -> Option<String> {
    v.is_finite().then(|| java_number(&format!("{v:e}")))
}

/// Java (JDK 19+) picks, among the shortest digit strings that read back as `v`, the one
/// closest to `v`'s exact value, and an even last digit on a tie; Rust's shortest form may
/// be its neighbour (`7.6445313` where Java prints `7.6445312` for 7.64453125).
pub fn java_float(v: f32) -> Option<String> {
    if !v.is_finite() {
        return None;
    }
    let e = format!("{v:e}");
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let neg = mant.starts_with('-');
    let digits: String = mant.chars().filter(char::is_ascii_digit).collect();
    let Ok(n) = digits.parse::<u64>() else {
        return Some(java_number(&e));
    };
    let exp: i32 = exp.parse().unwrap_or(0) - (digits.len() as i32 - 1);
    let exact = v as f64;
    let best = [n.wrapping_sub(1), n, n + 1]
        .into_iter()
        .filter(|c| *c > 0 && c.to_string().len() == digits.len())
        .filter_map(|c| {
            let text = format!("{}{c}e{exp}", if neg { "-" } else { "" });
            let back: f32 = text.parse().ok()?;
            let wide: f64 = text.parse().ok()?;
            (back == v).then_some((c, (wide - exact).abs()))
        })
        .min_by(|a, b| a.1.total_cmp(&b.1).then((a.0 % 2).cmp(&(b.0 % 2))))
        .map(|(c, _)| c)
        .unwrap_or(n);
    let d = best.to_string();
    let sci = format!(
        "{}{}{}{}e{}",
        if neg { "-" } else { "" },
        &d[..1],
        if d.len() > 1 { "." } else { "" },
        &d[1..],
        exp + d.len() as i32 - 1
    );
    Some(java_number(&sci))
}

/// A date format the rebuild can print, from the mapping's `format` (its first alternative
/// prints, as `DateFormatter.format` does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateFormat {
    /// `strict_date_optional_time` (the default) and `date_optional_time`:
    /// `2026-12-21T16:40:40.000Z`.
    OptionalTime,
    /// `epoch_millis`: the number of milliseconds, printed as a string.
    EpochMillis,
    /// `yyyy-MM-dd`, `strict_date`, `date`.
    Date,
}

impl DateFormat {
    /// `None`: a format the rebuild does not print (the field is then left out and counted).
    pub fn of(mapping_format: Option<&str>) -> Option<DateFormat> {
        let first = mapping_format
            .unwrap_or("strict_date_optional_time||epoch_millis")
            .split("||")
            .next()
            .unwrap_or_default()
            .trim();
        match first {
            "strict_date_optional_time" | "date_optional_time" => Some(DateFormat::OptionalTime),
            "epoch_millis" => Some(DateFormat::EpochMillis),
            "yyyy-MM-dd" | "strict_date" | "date" => Some(DateFormat::Date),
            _ => None,
        }
    }

    /// The JSON value (quoted) for `millis` since the epoch, UTC.
    pub fn print(self, millis: i64) -> Option<String> {
        let days = millis.div_euclid(86_400_000);
        let ms = millis.rem_euclid(86_400_000);
        let (y, m, d) = civil_from_days(days);
        if !(0..=9999).contains(&y) {
            return None; // Java prints a sign and more digits: not reproduced
        }
        Some(match self {
            DateFormat::EpochMillis => format!("\"{millis}\""),
            DateFormat::Date => format!("\"{y:04}-{m:02}-{d:02}\""),
            DateFormat::OptionalTime => format!(
                "\"{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z\"",
                ms / 3_600_000,
                ms / 60_000 % 60,
                ms / 1000 % 60,
                ms % 1000
            ),
        })
    }
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (H. Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// An `ip` field's 16 doc-values bytes as `InetAddresses.toAddrString` prints them: IPv4-mapped
/// addresses as dotted quads, others in RFC 5952 form.
pub fn ip(bytes: &[u8]) -> Option<String> {
    let b: [u8; 16] = bytes.try_into().ok()?;
    let v6 = std::net::Ipv6Addr::from(b);
    Some(match v6.to_ipv4_mapped() {
        Some(v4) => v4.to_string(),
        None => v6.to_string(),
    })
}

/// A JSON string literal (as Jackson escapes: `"`, `\`, control characters).
pub fn json_string(s: &str) -> String {
    serde_json::to_string(s).expect("a string serialises")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_number_forms() {
        assert_eq!(java_double(1000.0).unwrap(), "1000.0");
        assert_eq!(java_double(1.5e300).unwrap(), "1.5E300");
        assert_eq!(java_double(2.5790903139960162e-8).unwrap(), "2.5790903139960162E-8");
        assert_eq!(java_double(0.001).unwrap(), "0.001");
        assert_eq!(java_double(1e7).unwrap(), "1.0E7");
        assert_eq!(java_double(-0.0).unwrap(), "-0.0");
        assert_eq!(java_float(3.9454715).unwrap(), "3.9454715");
        // Java's tie-break towards the even digit (seen on a 9.5 node).
        assert_eq!(java_float(f32::from_bits(0x40f4_a000)).unwrap(), "7.6445312");
        assert_eq!(java_float(100.0).unwrap(), "100.0");
    }

    #[test]
    fn dates_print_in_utc() {
        let f = DateFormat::of(None).unwrap();
        assert_eq!(f.print(0).unwrap(), "\"1970-01-01T00:00:00.000Z\"");
        assert_eq!(f.print(-1).unwrap(), "\"1969-12-31T23:59:59.999Z\"");
    }
}
