//! Month arithmetic with month-end anchoring, and Swedish business days (provisional).

use chrono::{Datelike, Duration, NaiveDate, Weekday};

/// Why a text is not a date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{0}\" is not a date in the form YYYY-MM-DD")]
pub struct DateParseError(pub String);

/// The last day of the month of `date`.
pub fn last_day_of_month(date: NaiveDate) -> NaiveDate {
    let (y, m) = if date.month() == 12 {
        (date.year() + 1, 1)
    } else {
        (date.year(), date.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1)
        .and_then(|d| d.pred_opt())
        .unwrap_or(date)
}

/// Whether `date` is the last day of its month.
pub fn is_last_day_of_month(date: NaiveDate) -> bool {
    last_day_of_month(date) == date
}

fn add_months_plain(date: NaiveDate, months: i32) -> NaiveDate {
    let idx = date.year() * 12 + date.month0() as i32 + months;
    let (y, m0) = (idx.div_euclid(12), idx.rem_euclid(12) as u32);
    let first = NaiveDate::from_ymd_opt(y, m0 + 1, 1).unwrap_or(date);
    let last = last_day_of_month(first);
    NaiveDate::from_ymd_opt(y, m0 + 1, date.day().min(last.day())).unwrap_or(last)
}

/// Adds calendar months with month-end anchoring.
pub fn add_months(date: NaiveDate, months: i32) -> NaiveDate {
    let r = add_months_plain(date, months);
    if is_last_day_of_month(date) {
        last_day_of_month(r)
    } else {
        r
    }
}

/// The last day of a term of `months` months beginning on `start`.
pub fn term_end(start: NaiveDate, months: u32) -> NaiveDate {
    let same = add_months_plain(start, months as i32);
    if same.day() < start.day() {
        same
    } else {
        same - Duration::days(1)
    }
}

/// Gregorian Easter Sunday.
pub fn easter_sunday(year: i32) -> NaiveDate {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32).unwrap_or_default()
}

/// Whether `date` is a Swedish public holiday or a non-working eve.
pub fn is_swedish_holiday(date: NaiveDate) -> bool {
    let (m, d) = (date.month(), date.day());
    if matches!(
        (m, d),
        (1, 1) | (1, 6) | (5, 1) | (6, 6) | (12, 24) | (12, 25) | (12, 26) | (12, 31)
    ) {
        return true;
    }
    if m == 6 && (19..=26).contains(&d) {
        let wd = date.weekday();
        if (wd == Weekday::Sat && d >= 20) || (wd == Weekday::Fri && d <= 25) {
            return true;
        }
    }
    if date.weekday() == Weekday::Sat && ((m == 10 && d == 31) || (m == 11 && d <= 6)) {
        return true;
    }
    let easter = easter_sunday(date.year());
    let diff = (date - easter).num_days();
    matches!(diff, -2 | -1 | 0 | 1 | 39 | 49)
}

/// Monday to Friday and not a holiday or eve.
pub fn is_business_day(date: NaiveDate) -> bool {
    !matches!(date.weekday(), Weekday::Sat | Weekday::Sun) && !is_swedish_holiday(date)
}

/// The date itself if a business day, else the closest earlier one.
pub fn previous_business_day(date: NaiveDate) -> NaiveDate {
    let mut d = date;
    while !is_business_day(d) {
        d = d.pred_opt().unwrap_or(d);
    }
    d
}

/// The date itself if a business day, else the closest later one.
pub fn next_business_day(date: NaiveDate) -> NaiveDate {
    let mut d = date;
    while !is_business_day(d) {
        d = d.succ_opt().unwrap_or(d);
    }
    d
}

/// Parses `YYYY-MM-DD` strictly.
pub fn parse_iso_date(s: &str) -> Result<NaiveDate, DateParseError> {
    let ok = s.len() == 10 && s.as_bytes()[4] == b'-' && s.as_bytes()[7] == b'-';
    if !ok {
        return Err(DateParseError(s.to_owned()));
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| DateParseError(s.to_owned()))
}
