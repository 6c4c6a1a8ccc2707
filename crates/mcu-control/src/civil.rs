//! Unix time to civil date and time, for the formats the MCU writes (the
//! console's and exports' Vietnam time, file names, e-mail headers): no
//! time-zone database is needed, since Vietnam keeps UTC+7 all year.

/// Vietnam's offset from UTC, seconds (no daylight saving).
pub const VN_OFFSET_SECONDS: i64 = 7 * 3600;

/// A civil date and time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Civil {
    /// Year.
    pub year: i64,
    /// Month, 1–12.
    pub month: i64,
    /// Day of the month, 1–31.
    pub day: i64,
    /// Hour, 0–23.
    pub hour: i64,
    /// Minute.
    pub minute: i64,
    /// Second.
    pub second: i64,
    /// Day of the week, 0 = Monday … 6 = Sunday.
    pub weekday: i64,
}

/// The civil time of Unix ms `ms` at `offset_seconds` east of UTC.
pub fn civil(ms: i64, offset_seconds: i64) -> Civil {
    let secs = ms.div_euclid(1000) + offset_seconds;
    let (days, s) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    Civil {
        year: yoe + era * 400 + i64::from(month <= 2),
        month,
        day,
        hour: s / 3600,
        minute: s / 60 % 60,
        second: s % 60,
        // 1970-01-01 was a Thursday.
        weekday: (days + 3).rem_euclid(7),
    }
}

/// Days from 1970-01-01 to a proleptic Gregorian date (the inverse of the
/// date part of [`civil`]; H. Hinnant's algorithm). `month` 1–12.
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Whether `year-month-day` is a date of the Gregorian calendar.
pub fn is_valid_date(year: i64, month: i64, day: i64) -> bool {
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}

/// Unix ms of midnight starting `year-month-day` at `offset_seconds` east of UTC.
pub fn midnight_ms(year: i64, month: i64, day: i64, offset_seconds: i64) -> i64 {
    (days_from_civil(year, month, day) * 86_400 - offset_seconds) * 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        let c = civil(0, 0);
        assert_eq!(
            (c.year, c.month, c.day, c.hour, c.weekday),
            (1970, 1, 1, 0, 3)
        );
        // 2026-11-20 02:00:00 UTC is 09:00 in Hà Nội, a Friday.
        let c = civil(1_795_140_000_000, VN_OFFSET_SECONDS);
        assert_eq!(
            (
                c.year, c.month, c.day, c.hour, c.minute, c.second, c.weekday
            ),
            (2026, 11, 20, 9, 0, 0, 4)
        );
        // Leap day, and a time before 1970.
        let c = civil(951_782_400_000, 0);
        assert_eq!((c.year, c.month, c.day), (2000, 2, 29));
        // Midnight in Hà Nội is 17:00 UTC the day before, and back again.
        let m = midnight_ms(2026, 1, 1, VN_OFFSET_SECONDS);
        assert_eq!(m, 1_767_200_400_000);
        let c = civil(m, VN_OFFSET_SECONDS);
        assert_eq!((c.year, c.month, c.day, c.hour), (2026, 1, 1, 0));
        assert_eq!(civil(m - 1, VN_OFFSET_SECONDS).day, 31);
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(
            days_from_civil(2000, 3, 1) - days_from_civil(2000, 2, 28),
            2
        );
        for days in (-800_000..800_000).step_by(997) {
            let c = civil(days * 86_400_000, 0);
            assert_eq!(days_from_civil(c.year, c.month, c.day), days);
            assert!(is_valid_date(c.year, c.month, c.day));
        }
        assert!(is_valid_date(2024, 2, 29) && is_valid_date(2000, 2, 29));
        assert!(!is_valid_date(2026, 2, 29) && !is_valid_date(1900, 2, 29));
        assert!(!is_valid_date(2026, 4, 31) && !is_valid_date(2026, 13, 1));
        assert!(!is_valid_date(2026, 1, 0));
        let c = civil(-1000, 0);
        assert_eq!(
            (c.year, c.month, c.day, c.hour, c.minute, c.second),
            (1969, 12, 31, 23, 59, 59)
        );
    }
}
