//! Calendar arithmetic for the three places that need it (the report's timestamps, HTTP dates,
//! `not-before`), without a date crate. Howard Hinnant's algorithms, proleptic Gregorian, UTC.

/// Days since 1970-01-01 of a civil date.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(month) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    // A day of 1 to 31 and a month of 1 to 12, whatever the day count.
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Days in the month, leap Februaries included: a date past the end of its month is not a date.
pub fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// `YYYY-MM-DDTHH:MM:SS` of Unix seconds.
pub fn format_utc(secs: i64) -> String {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction]` followed by `Z`, `±HH:MM` or nothing (UTC), as `date -u
/// -Iseconds` and most tools print it. Returns the UTC time in the form TPP's docs show (no
/// offset), or None when it is not a real time.
#[allow(clippy::many_single_char_names)] // y, m, d, h, s: the fields of a date, as written
pub fn normalize_not_before(v: &str) -> Option<String> {
    let (t, offset_secs) = if let Some(t) = v.strip_suffix('Z') {
        (t, 0)
    } else if v.len() > 19 && matches!(v.as_bytes()[v.len() - 6], b'+' | b'-') && v.as_bytes()[v.len() - 3] == b':' {
        let (t, off) = v.split_at(v.len() - 6);
        let sign = if off.starts_with('-') { -1 } else { 1 };
        let (h, m): (i64, i64) = (off.get(1..3)?.parse().ok()?, off.get(4..6)?.parse().ok()?);
        if h > 14 || m > 59 {
            return None;
        }
        (t, sign * (h * 3600 + m * 60))
    } else {
        (v, 0)
    };
    let (main, frac) = match t.split_once('.') {
        Some((m, f)) if (1..=7).contains(&f.len()) && f.bytes().all(|c| c.is_ascii_digit()) => (m, Some(f)),
        Some(_) => return None,
        None => (t, None),
    };
    let b = main.as_bytes();
    if b.len() != 19 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| {
        main.get(r).filter(|s| s.bytes().all(|c| c.is_ascii_digit())).and_then(|s| s.parse::<u32>().ok())
    };
    let (y, mo, d, h, mi, s) = (num(0..4)?, num(5..7)?, num(8..10)?, num(11..13)?, num(14..16)?, num(17..19)?);
    let y = i64::from(y);
    if !(1..=12).contains(&mo) || d == 0 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 59 {
        return None;
    }
    let local = days_from_civil(y, mo, d) * 86_400 + i64::from(h * 3600 + mi * 60 + s);
    let utc = format_utc(local - offset_secs);
    Some(match frac {
        Some(f) => format!("{utc}.{f}"),
        None => utc,
    })
}

/// UTC `YYYY-MM-DDTHH:MM:SSZ`, the report's one timestamp format.
pub fn utc_timestamp(t: std::time::SystemTime) -> String {
    let secs = t.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    format!("{}Z", format_utc(i64::try_from(secs).unwrap_or(i64::MAX)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        for days in [-800_000, -1, 0, 59, 11_016, 19_782, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(format_utc(1_709_251_199), "2024-02-29T23:59:59");
        assert_eq!((days_in_month(2024, 2), days_in_month(1900, 2), days_in_month(2000, 2)), (29, 28, 29));
    }

    #[test]
    fn not_before_offsets_become_utc() {
        let nb = |v| normalize_not_before(v);
        assert_eq!(nb("2021-12-31T00:52:50.5387438").as_deref(), Some("2021-12-31T00:52:50.5387438"));
        assert_eq!(nb("2026-01-31T12:00:00Z").as_deref(), Some("2026-01-31T12:00:00"));
        assert_eq!(nb("2026-03-01T01:30:00+02:00").as_deref(), Some("2026-02-28T23:30:00"));
        assert_eq!(nb("2024-12-31T23:00:00-01:00").as_deref(), Some("2025-01-01T00:00:00"));
        assert_eq!(nb("2024-02-29T00:00:00Z").as_deref(), Some("2024-02-29T00:00:00"));
        for bad in [
            "2025-02-29T00:00:00Z",
            "2026-01-31T12:00:00+0200",
            "2026-01-31 12:00:00",
            "2026-01-31T12:00:00.Z",
            "2026-01-31T24:00:00",
        ] {
            assert_eq!(nb(bad), None, "{bad}");
        }
    }

    /// Every day from 1600 to 2400 against the `time` crate, written by others.
    #[test]
    fn every_day_agrees_with_the_time_crate() {
        let epoch = time::Date::from_calendar_date(1970, time::Month::January, 1).unwrap();
        let mut date = time::Date::from_calendar_date(1600, time::Month::January, 1).unwrap();
        let end = time::Date::from_calendar_date(2400, time::Month::December, 31).unwrap();
        while date <= end {
            let days = (date - epoch).whole_days();
            let (y, m, d) = (i64::from(date.year()), u32::from(u8::from(date.month())), u32::from(date.day()));
            assert_eq!(days_from_civil(y, m, d), days, "{date}");
            assert_eq!(civil_from_days(days), (y, m, d), "{date}");
            assert_eq!(days_in_month(y, m), u32::from(date.month().length(date.year())), "{date}");
            date = date.next_day().unwrap();
        }
    }
}
