//! Calendar dates (`YYYY-MM-DD`), periods (`YYYY-MM`) and instants, checked without a clock.

use std::fmt;

use crate::error::{InvalidField, Result};

/// The earliest year chibo records (before the founding of the Party in 1930, with room).
pub const MIN_YEAR: u16 = 1900;
/// The latest year chibo records.
pub const MAX_YEAR: u16 = 9999;

/// A calendar date, `YYYY-MM-DD`, in the proleptic Gregorian calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: u16,
    month: u8,
    day: u8,
}

/// A calendar month, `YYYY-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period {
    year: u16,
    month: u8,
}

fn digits(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn is_leap(year: u16) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(year) => 29,
        _ => 28,
    }
}

fn parse_year_month(field: &str, text: &str, y: &str, m: &str, form: &str) -> Result<(u16, u8)> {
    let bad = || InvalidField::new(field, format!("{text:?} is not a {form}"));
    if y.len() != 4 || m.len() != 2 {
        return Err(bad());
    }
    let year = digits(y).ok_or_else(bad)? as u16;
    let month = digits(m).ok_or_else(bad)? as u8;
    if !(MIN_YEAR..=MAX_YEAR).contains(&year) {
        return Err(InvalidField::new(field, format!("{text:?}: the year must be between {MIN_YEAR} and {MAX_YEAR}")));
    }
    if !(1..=12).contains(&month) {
        return Err(InvalidField::new(field, format!("{text:?}: the month must be 01 to 12")));
    }
    Ok((year, month))
}

impl Date {
    /// Checks `text` as the `YYYY-MM-DD` date held in `field`.
    pub fn parse(field: &str, text: &str) -> Result<Self> {
        let mut parts = text.split('-');
        let (Some(y), Some(m), Some(d), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(InvalidField::new(field, format!("{text:?} is not a date YYYY-MM-DD")));
        };
        let (year, month) = parse_year_month(field, text, y, m, "date YYYY-MM-DD")?;
        let day = match (d.len(), digits(d)) {
            (2, Some(day)) => day as u8,
            _ => return Err(InvalidField::new(field, format!("{text:?} is not a date YYYY-MM-DD"))),
        };
        if day == 0 || day > days_in_month(year, month) {
            return Err(InvalidField::new(field, format!("{text:?}: {year:04}-{month:02} has no day {day:02}")));
        }
        Ok(Self { year, month, day })
    }

    /// Like [`Date::parse`], but an empty value means "none".
    pub fn parse_optional(field: &str, text: &str) -> Result<Option<Self>> {
        if text.is_empty() {
            Ok(None)
        } else {
            Self::parse(field, text).map(Some)
        }
    }

    /// The year.
    pub fn year(&self) -> u16 {
        self.year
    }
    /// The month, 1 to 12.
    pub fn month(&self) -> u8 {
        self.month
    }
    /// The day of the month, from 1.
    pub fn day(&self) -> u8 {
        self.day
    }
    /// The month this date falls in.
    pub fn period(&self) -> Period {
        Period { year: self.year, month: self.month }
    }

    /// Days since 1970-01-01 (negative before it), for day arithmetic.
    pub fn days_since_epoch(&self) -> i64 {
        // Days from civil, counting years from March so the leap day ends the year.
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let year_of_era = y - era * 400;
        let m = i64::from(self.month);
        let day_of_year = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
        era * 146_097 + day_of_era - 719_468
    }

    /// The date `days` days after 1970-01-01, if within the years chibo records.
    pub fn from_days_since_epoch(days: i64) -> Option<Self> {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let day_of_era = z - era * 146_097;
        let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let mp = (5 * day_of_year + 2) / 153;
        let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u8;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        let year = year_of_era + era * 400 + i64::from(month <= 2);
        let year = u16::try_from(year).ok().filter(|y| (MIN_YEAR..=MAX_YEAR).contains(y))?;
        Some(Self { year, month, day })
    }

    /// The date `days` days later (earlier when negative), if within range.
    pub fn plus_days(&self, days: i64) -> Option<Self> {
        Self::from_days_since_epoch(self.days_since_epoch() + days)
    }

    /// The first day of `year`, if within range.
    pub fn first_of_year(year: u16) -> Option<Self> {
        (MIN_YEAR..=MAX_YEAR).contains(&year).then_some(Self { year, month: 1, day: 1 })
    }

    /// The last day of `year`, if within range.
    pub fn last_of_year(year: u16) -> Option<Self> {
        (MIN_YEAR..=MAX_YEAR).contains(&year).then_some(Self { year, month: 12, day: 31 })
    }
}

/// Spelled into one buffer and written at once: every event converted for the wire or the log
/// spells its dates. Every way to build a date keeps its year within four digits.
impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self { year, month, day } = *self;
        let digit = |n: u16| b'0' + (n % 10) as u8;
        let (month, day) = (u16::from(month), u16::from(day));
        let text = [
            digit(year / 1000),
            digit(year / 100),
            digit(year / 10),
            digit(year),
            b'-',
            digit(month / 10),
            digit(month),
            b'-',
            digit(day / 10),
            digit(day),
        ];
        f.write_str(std::str::from_utf8(&text).map_err(|_| fmt::Error)?)
    }
}

impl Period {
    /// Checks `text` as the `YYYY-MM` period held in `field`.
    pub fn parse(field: &str, text: &str) -> Result<Self> {
        let mut parts = text.split('-');
        let (Some(y), Some(m), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(InvalidField::new(field, format!("{text:?} is not a period YYYY-MM")));
        };
        let (year, month) = parse_year_month(field, text, y, m, "period YYYY-MM")?;
        Ok(Self { year, month })
    }

    /// The year.
    pub fn year(&self) -> u16 {
        self.year
    }
    /// The month, 1 to 12.
    pub fn month(&self) -> u8 {
        self.month
    }

    /// The quarter, 1 to 4.
    pub fn quarter(&self) -> u8 {
        (self.month - 1) / 3 + 1
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// An instant: seconds and nanoseconds since the Unix epoch (UTC), between the start of
/// [`MIN_YEAR`] and the end of [`MAX_YEAR`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    seconds: i64,
    nanos: u32,
}

/// Vietnam's offset from UTC (ICT, UTC+7).
pub const VIETNAM_OFFSET_SECONDS: i64 = 7 * 3600;

/// 1900-01-01T00:00:00Z.
const MIN_SECONDS: i64 = -2_208_988_800;
/// 9999-12-31T23:59:59Z.
const MAX_SECONDS: i64 = 253_402_300_799;

impl Timestamp {
    /// Checks a (seconds, nanos) pair as the instant held in `field`.
    pub fn new(field: &str, seconds: i64, nanos: i32) -> Result<Self> {
        if !(0..1_000_000_000).contains(&nanos) {
            return Err(InvalidField::new(field, format!("nanos {nanos} is outside 0..=999999999")));
        }
        if !(MIN_SECONDS..=MAX_SECONDS).contains(&seconds) {
            return Err(InvalidField::new(
                field,
                format!("{seconds} s since 1970 is outside the years {MIN_YEAR} to {MAX_YEAR}"),
            ));
        }
        Ok(Self { seconds, nanos: nanos as u32 })
    }

    /// Seconds since the Unix epoch.
    pub fn seconds(&self) -> i64 {
        self.seconds
    }
    /// Nanoseconds within the second.
    pub fn nanos(&self) -> u32 {
        self.nanos
    }
    /// Nanoseconds since the Unix epoch.
    pub fn unix_nanos(&self) -> i128 {
        i128::from(self.seconds) * 1_000_000_000 + i128::from(self.nanos)
    }
    /// The calendar date of this instant in Vietnam (UTC+7, no daylight saving): the date a
    /// cell's secretary would write for it.
    pub fn date_in_vietnam(&self) -> Date {
        let local = self.seconds + VIETNAM_OFFSET_SECONDS;
        // In range by construction: the instant is within MIN_YEAR..=MAX_YEAR, and the offset moves
        // it by less than a day; the ends of the range clamp.
        Date::from_days_since_epoch(local.div_euclid(86_400)).unwrap_or(if local < 0 {
            Date { year: MIN_YEAR, month: 1, day: 1 }
        } else {
            Date { year: MAX_YEAR, month: 12, day: 31 }
        })
    }

    /// The instant `unix_nanos` nanoseconds after the epoch, if in range.
    pub fn from_unix_nanos(unix_nanos: i128) -> Option<Self> {
        let seconds = i64::try_from(unix_nanos.div_euclid(1_000_000_000)).ok()?;
        let nanos = unix_nanos.rem_euclid(1_000_000_000) as i32;
        Self::new("", seconds, nanos).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_arithmetic_round_trips_over_the_whole_range() {
        let d = |s: &str| Date::parse("d", s).unwrap();
        assert_eq!(d("1970-01-01").days_since_epoch(), 0);
        assert_eq!(d("2000-03-01").days_since_epoch(), 11_017);
        assert_eq!(d("1969-12-31").days_since_epoch(), -1);
        assert_eq!(d("2024-02-28").plus_days(1), Some(d("2024-02-29")));
        assert_eq!(d("2023-02-28").plus_days(1), Some(d("2023-03-01")));
        assert_eq!(d("2025-12-31").plus_days(1), Some(d("2026-01-01")));
        let first = d("1900-01-01").days_since_epoch();
        let last = d("9999-12-31").days_since_epoch();
        for days in (first..=last).step_by(13) {
            let date = Date::from_days_since_epoch(days).unwrap();
            assert_eq!(date.days_since_epoch(), days, "{date}");
        }
        assert_eq!(Date::from_days_since_epoch(first - 1), None);
        assert_eq!(Date::from_days_since_epoch(last + 1), None);
    }

    #[test]
    fn dates_are_spelled_as_they_are_parsed_across_the_range() {
        let first = Date::first_of_year(MIN_YEAR).unwrap().days_since_epoch();
        let last = Date::last_of_year(MAX_YEAR).unwrap().days_since_epoch();
        // 8,100 years of 365 days, and 1,964 leap days (2,025 years divisible by 4, less 61
        // centuries).
        assert_eq!(last - first + 1, 2_958_464);
        // Every week's day, which walks through every month and day of the month, and the last.
        let mut spelled = 0;
        for days in (first..=last).step_by(7).chain([last]) {
            let date = Date::from_days_since_epoch(days).unwrap();
            let text = date.to_string();
            assert_eq!(text, format!("{:04}-{:02}-{:02}", date.year(), date.month(), date.day()));
            assert_eq!(Date::parse("date", &text), Ok(date), "{text}");
            spelled += 1;
        }
        assert_eq!(spelled, 422_639);
    }

    #[test]
    fn vietnam_dates_are_seven_hours_ahead_of_utc() {
        // 2026-03-31T16:59:59Z is 23:59:59 in Hà Nội; one second later it is April there.
        let t = |s| Timestamp::new("t", s, 0).unwrap();
        assert_eq!(t(1_774_976_399).date_in_vietnam().to_string(), "2026-03-31");
        assert_eq!(t(1_774_976_400).date_in_vietnam().to_string(), "2026-04-01");
        assert_eq!(t(MAX_SECONDS).date_in_vietnam().to_string(), "9999-12-31");
        assert_eq!(Period::parse("p", "2026-04").unwrap().quarter(), 2);
    }

    #[test]
    fn dates_follow_the_calendar() {
        assert_eq!(Date::parse("date", "2024-02-29").unwrap().to_string(), "2024-02-29");
        assert!(Date::parse("date", "2023-02-29").unwrap_err().reason.contains("no day 29"));
        assert!(Date::parse("date", "2000-02-29").is_ok());
        assert!(Date::parse("date", "1900-02-29").is_err());
        for bad in [
            "2024-1-05",
            "2024-13-01",
            "24-01-01",
            "2024-01-00",
            "2024/01/01",
            "2024-01-01-",
            "+024-01-01",
            "1899-12-31",
        ] {
            assert_eq!(Date::parse("date", bad).unwrap_err().field, "date", "{bad}");
        }
        assert_eq!(Date::parse_optional("d", "").unwrap(), None);
    }

    #[test]
    fn periods_are_months() {
        let p = Period::parse("period", "2026-03").unwrap();
        assert_eq!((p.year(), p.month(), p.to_string()), (2026, 3, "2026-03".into()));
        assert!(Period::parse("period", "2026-3").is_err());
        assert!(Period::parse("period", "2026-03-01").is_err());
    }

    #[test]
    fn timestamps_stay_in_range() {
        assert!(Timestamp::new("t", 0, 0).is_ok());
        assert!(Timestamp::new("t", MIN_SECONDS, 0).is_ok());
        assert!(Timestamp::new("t", MIN_SECONDS - 1, 0).is_err());
        assert!(Timestamp::new("t", MAX_SECONDS + 1, 0).is_err());
        assert!(Timestamp::new("t", 0, -1).is_err());
        assert!(Timestamp::new("t", 0, 1_000_000_000).is_err());
        let t = Timestamp::new("t", -5, 7).unwrap();
        assert_eq!(Timestamp::from_unix_nanos(t.unix_nanos()), Some(t));
    }
}
