//! ISO 8601 timestamps as Step Functions reads them (Wait's Timestamp, the Timestamp* Choice
//! operators) and writes them (`$$.State.EnteredTime`). Hand-rolled: the crate has no date
//! library, and the format is fixed (`2016-03-14T01:59:00Z`, `…T01:59:00.123+02:00`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A UTC calendar time: the one epoch-to-date conversion of the workspace (the interpreter's
/// timestamps, the stop workflow's archive names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UtcTime {
    pub year: i64,
    pub month: i64,
    pub day: i64,
    pub hour: i64,
    pub minute: i64,
    pub second: i64,
    pub millis: i64,
}

impl UtcTime {
    /// From milliseconds since the Unix epoch (before it too).
    pub fn from_epoch_ms(ms: i64) -> Self {
        let (days, ms_of_day) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
        let (year, month, day) = civil_from_days(days);
        let secs = ms_of_day / 1000;
        UtcTime {
            year,
            month,
            day,
            hour: secs / 3600,
            minute: secs / 60 % 60,
            second: secs % 60,
            millis: ms_of_day % 1000,
        }
    }

    /// `yyyyMMddHHmmss`.
    pub fn compact(&self) -> String {
        format!(
            "{:04}{:02}{:02}{:02}{:02}{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// Nanoseconds since the Unix epoch of an RFC 3339 timestamp (uppercase `T`, a `Z` or numeric
/// offset, optional fraction), or None when the text is not one.
pub(crate) fn parse_nanos(text: &str) -> Option<i128> {
    let b = text.as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(range)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let month_days = [
        31,
        28 + i64::from(year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)),
    ];
    let max_day = match month {
        2 => month_days[1],
        4 | 6 | 9 | 11 => 30,
        1..=12 => month_days[0],
        _ => return None,
    };
    if day < 1 || day > max_day || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut i = 19;
    let mut nanos: i128 = 0;
    if b[i] == b'.' {
        let start = i + 1;
        i = start;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return None;
        }
        let digits = &text[start..i.min(start + 9)];
        nanos = digits.parse::<i128>().ok()? * 10i128.pow(9 - digits.len() as u32);
    }
    let offset_seconds = match &b[i..] {
        b"Z" => 0,
        [sign @ (b'+' | b'-'), ..] if b.len() == i + 6 && b[i + 3] == b':' => {
            let minutes = num(i + 1..i + 3)? * 60 + num(i + 4..i + 6)?;
            if *sign == b'+' {
                -minutes * 60
            } else {
                minutes * 60
            }
        }
        _ => return None,
    };
    let seconds = days_from_civil(year, month, day) * 86_400
        + hour * 3600
        + minute * 60
        + second
        + offset_seconds;
    Some(i128::from(seconds) * 1_000_000_000 + nanos)
}

pub(crate) fn parse(text: &str) -> Option<SystemTime> {
    let nanos = parse_nanos(text)?;
    let magnitude = Duration::from_nanos(u64::try_from(nanos.unsigned_abs()).ok()?);
    if nanos >= 0 {
        UNIX_EPOCH.checked_add(magnitude)
    } else {
        UNIX_EPOCH.checked_sub(magnitude)
    }
}

/// `2019-03-26T20:14:13.192Z`, as Step Functions writes times into the context object.
pub(crate) fn format(time: SystemTime) -> String {
    let millis = match time.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_millis() as i64,
        Err(e) => -(e.duration().as_millis() as i64),
    };
    let t = UtcTime::from_epoch_ms(millis);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year, t.month, t.day, t.hour, t.minute, t.second, t.millis
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_offsets() {
        let t = parse("2016-03-14T01:59:00Z").unwrap();
        assert_eq!(
            t.duration_since(UNIX_EPOCH).unwrap().as_secs(),
            1_457_920_740
        );
        assert_eq!(format(t), "2016-03-14T01:59:00.000Z");
        assert_eq!(parse("2016-03-14T03:59:00+02:00"), Some(t));
        assert_eq!(
            format(parse("2024-02-29T23:59:59.1239Z").unwrap()),
            "2024-02-29T23:59:59.123Z"
        );
        for bad in [
            "2016-03-14 01:59:00Z",
            "2016-03-14T01:59:00",
            "2023-02-29T00:00:00Z",
            "x",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
