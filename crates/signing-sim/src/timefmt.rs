//! The simulator's clock and the few date formats TPP speaks.
//!
//! Hand-written rather than a date crate: only UTC, only one input shape and one output shape,
//! and the strictness of the parser is itself part of what is being simulated.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Wall clock plus an offset that tests can push forward, so expiry and signing delays can be
/// reached without sleeping.
#[derive(Debug, Default)]
pub(crate) struct Clock {
    offset_ms: AtomicI64,
}

impl Clock {
    pub fn now_ms(&self) -> i64 {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        wall.saturating_add(self.offset_ms.load(Ordering::Relaxed))
    }

    pub fn advance_ms(&self, ms: i64) {
        self.offset_ms.fetch_add(ms, Ordering::Relaxed);
    }
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        _ => 28,
    }
}

/// `2024-05-01T12:00:00Z` for a unix time in seconds.
pub(crate) fn iso8601_utc(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, (rem % 3600) / 60, rem % 60)
}

/// `/Date(1565025229000)/` for a unix time in milliseconds: the .NET JavaScriptSerializer form
/// in which VEDAuth's Authorize/Verify gives `access_issued_on`, `expires` and `grant_issued_on`.
pub(crate) fn dotnet_date(ms: i64) -> String {
    format!("/Date({ms})/")
}

/// Parses `NotBefore` as TPP documents it (`2021-12-31T00:52:50.5387438`): date, `T`, time,
/// an optional fraction of 1 to 7 digits (.NET's tick precision), then nothing, `Z`, or an
/// offset `+HH:MM`/`-HH:MM`. The field is documented as UTC, but TPP binds it as a .NET
/// `DateTime`, which takes an offset and converts; pyVenafi sends a timezone-aware `datetime` as
/// `isoformat()`, i.e. `2030-01-02T03:04:05+00:00`. Returns unix milliseconds (UTC).
pub(crate) fn parse_not_before(s: &str) -> Result<i64, String> {
    let bad = || format!("NotBefore {s:?} is not a UTC ISO 8601 date-time like 2021-12-31T00:52:50.5387438");
    let bytes = s.as_bytes();
    let secs = date_time_secs(bytes).ok_or_else(bad)?;
    let rest = bytes.get(19..).unwrap_or_default();
    let (frac_ms, rest) = fraction_ms(rest).ok_or_else(bad)?;
    let offset_secs = offset_secs(rest).ok_or_else(bad)?;
    Ok((secs - offset_secs) * 1000 + frac_ms)
}

/// The fixed-width `YYYY-MM-DDTHH:MM:SS` head of a `NotBefore` as unix seconds of that wall
/// time, or `None`. Each field is range-checked here (29 February only in a leap year) because
/// `days_from_civil` would otherwise quietly turn an impossible date into a different real one.
fn date_time_secs(bytes: &[u8]) -> Option<i64> {
    let head = bytes.get(..19)?;
    if [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')].iter().any(|&(i, sep)| head[i] != sep) {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = &head[range];
        part.iter().all(u8::is_ascii_digit).then(|| part.iter().fold(0i64, |acc, c| acc * 10 + i64::from(c - b'0')))
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let time_ok = hour <= 23 && minute <= 59 && second <= 59;
    if !(1..=12).contains(&month) || !(1..=days_in_month(year, month)).contains(&day) || !time_ok {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

/// An optional `.` and 1 to 7 digits (.NET's tick precision, which TPP prints) as whole
/// milliseconds, and what follows it. Digits past the third are checked but dropped: the
/// simulator's clock counts milliseconds.
fn fraction_ms(rest: &[u8]) -> Option<(i64, &[u8])> {
    let Some((&b'.', digits_and_more)) = rest.split_first() else {
        return Some((0, rest));
    };
    let n = digits_and_more.iter().take_while(|c| c.is_ascii_digit()).count();
    if n == 0 || n > 7 {
        return None;
    }
    let frac_ms = digits_and_more[..n].iter().zip([100, 10, 1]).map(|(c, scale)| i64::from(c - b'0') * scale).sum();
    Some((frac_ms, &digits_and_more[n..]))
}

/// The tail after the time as seconds east of UTC: nothing or `Z` is UTC, `+HH:MM`/`-HH:MM` is
/// the offset .NET's `DateTime` binding accepts (and pyVenafi's `isoformat()` sends); anything
/// else is refused rather than ignored, so a mangled date cannot pass as a different time.
fn offset_secs(rest: &[u8]) -> Option<i64> {
    match rest {
        [] | [b'Z'] => Some(0),
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let two = |a: u8, b: u8| -> Option<i64> {
                (a.is_ascii_digit() && b.is_ascii_digit()).then(|| i64::from(a - b'0') * 10 + i64::from(b - b'0'))
            };
            let (oh, om) = (two(*h1, *h2)?, two(*m1, *m2)?);
            if oh > 14 || om > 59 {
                return None;
            }
            let magnitude = oh * 3600 + om * 60;
            Some(if *sign == b'+' { magnitude } else { -magnitude })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_round_trip() {
        assert_eq!(iso8601_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601_utc(1_709_251_199), "2024-02-29T23:59:59Z");
        let ms = parse_not_before("2024-02-29T23:59:59").expect("valid");
        assert_eq!(ms, 1_709_251_199_000);
        assert_eq!(dotnet_date(1_565_025_229_000), "/Date(1565025229000)/");
    }

    #[test]
    fn accepts_documented_shapes() {
        for ok in [
            "2021-12-31T00:52:50.5387438",
            "2021-12-31T00:52:50",
            "2021-12-31T00:52:50Z",
            "2021-12-31T00:52:50.5Z",
            "2021-12-31T00:52:50.538743+00:00",
            "2021-12-31T00:52:50-05:30",
        ] {
            assert!(parse_not_before(ok).is_ok(), "{ok}");
        }
        assert_eq!(parse_not_before("1970-01-01T00:00:01.5387438").expect("valid"), 1538);
    }

    /// What Python's `datetime.isoformat()` gives for an aware datetime, as pyVenafi sends it.
    #[test]
    fn offsets_convert_to_utc() {
        let utc = parse_not_before("2030-01-02T03:04:05Z").expect("valid");
        assert_eq!(parse_not_before("2030-01-02T03:04:05+00:00").expect("valid"), utc);
        assert_eq!(parse_not_before("2030-01-02T05:04:05+02:00").expect("valid"), utc);
        assert_eq!(parse_not_before("2030-01-01T23:34:05-03:30").expect("valid"), utc);
    }

    #[test]
    fn refuses_everything_else() {
        for bad in [
            "",
            "2021-12-31",
            "2021-12-31 00:52:50",
            "2021-02-29T00:00:00",
            "2021-13-01T00:00:00",
            "2021-12-31T24:00:00",
            "2021-12-31T00:52:50.",
            "2021-12-31T00:52:50.12345678",
            "2021-12-31T00:52:50+0100",
            "2021-12-31T00:52:50+01",
            "2021-12-31T00:52:50+15:00",
            "2021-12-31T00:52:50+01:60",
            "2021-12-31T00:52:50Z+01:00",
            "2021-12-31T00:52:50z",
            "tomorrow",
            "２０21-12-31T00:52:50",
        ] {
            assert!(parse_not_before(bad).is_err(), "{bad}");
        }
    }
}
