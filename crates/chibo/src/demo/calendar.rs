//! Calendar days without a date crate: a day is a count of days since 1970-01-01, and every
//! event happens at a fixed hour of Vietnam time (UTC+7) on its day.

use std::time::{SystemTime, UNIX_EPOCH};

use chibo_domain::{Date, Period, Timestamp};

/// Vietnam's offset from UTC, in seconds. Vietnam has no daylight saving time.
const VIETNAM_OFFSET: i64 = 7 * 3600;

/// A calendar day, as days since 1970-01-01.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(i32);

impl Day {
    /// The day `year-month-day`; the caller passes a real date.
    pub fn ymd(year: i32, month: u32, day: u32) -> Day {
        debug_assert!((1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month));
        // Howard Hinnant's days_from_civil, with the year starting in March.
        let y = if month <= 2 { year - 1 } else { year };
        let era = y.div_euclid(400);
        let yoe = (y - era * 400) as u32;
        let mp = (month + 9) % 12;
        let doy = (153 * mp + 2) / 5 + day - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        Day(era * 146_097 + doe as i32 - 719_468)
    }

    /// (year, month, day).
    pub fn parts(self) -> (i32, u32, u32) {
        let z = self.0 + 719_468;
        let era = z.div_euclid(146_097);
        let doe = (z - era * 146_097) as u32;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe as i32 + era * 400 + i32::from(month <= 2);
        (year, month, day)
    }

    pub fn year(self) -> i32 {
        self.parts().0
    }

    pub fn month(self) -> u32 {
        self.parts().1
    }

    /// 0 for Monday to 6 for Sunday.
    pub fn weekday(self) -> u32 {
        // 1970-01-01 was a Thursday.
        (self.0 + 3).rem_euclid(7) as u32
    }

    pub fn plus(self, days: i32) -> Day {
        Day(self.0 + days)
    }

    /// Days from `earlier` to `self`.
    pub fn since(self, earlier: Day) -> i32 {
        self.0 - earlier.0
    }

    /// The day as a domain date.
    pub fn date(self) -> Date {
        let (y, m, d) = self.parts();
        Date::parse("date", &format!("{y:04}-{m:02}-{d:02}")).expect("a calendar day is a valid date")
    }

    /// The month of the day as a domain period.
    pub fn period(self) -> Period {
        self.date().period()
    }

    /// The instant `hour:minute` Vietnam time on this day.
    pub fn at(self, (hour, minute): (u32, u32)) -> Timestamp {
        let seconds = i64::from(self.0) * 86_400 + i64::from(hour * 3600 + minute * 60) - VIETNAM_OFFSET;
        Timestamp::new("occurred_at", seconds, 0).expect("a demo year is within the years chibo records")
    }

    /// Today in Vietnam, by the system clock.
    pub fn today_in_vietnam() -> Day {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
        Day((now + VIETNAM_OFFSET).div_euclid(86_400) as i32)
    }
}

pub fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_round_trip_through_the_calendar() {
        assert_eq!(Day::ymd(1970, 1, 1), Day(0));
        assert_eq!(Day::ymd(2000, 3, 1).since(Day::ymd(2000, 2, 28)), 2);
        assert_eq!(Day::ymd(2025, 1, 1).weekday(), 2, "1 January 2025 was a Wednesday");
        for n in (-40_000..40_000).step_by(7) {
            let (y, m, d) = Day(n).parts();
            assert_eq!(Day::ymd(y, m, d), Day(n));
        }
        assert_eq!(Day::ymd(2024, 2, 29).date().to_string(), "2024-02-29");
    }

    #[test]
    fn instants_are_vietnam_time() {
        // 2026-01-05 19:30 in Hà Nội is 12:30 UTC.
        assert_eq!(Day::ymd(2026, 1, 5).at((19, 30)).seconds(), 1_767_616_200);
    }
}
