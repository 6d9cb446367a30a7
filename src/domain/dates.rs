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
    // In i64 so a month count from user data cannot overflow; a result beyond the calendar
    // leaves the date as it is.
    let idx = i64::from(date.year()) * 12 + i64::from(date.month0()) + i64::from(months);
    let (Ok(y), m0) = (i32::try_from(idx.div_euclid(12)), idx.rem_euclid(12) as u32) else {
        return date;
    };
    let Some(first) = NaiveDate::from_ymd_opt(y, m0 + 1, 1) else {
        return date;
    };
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

/// No run of non-business days is longer than this (the longest is four, e.g. Christmas or Easter).
const MAX_NON_BUSINESS_RUN: usize = 14;

/// The date itself if a business day, else the closest earlier one.
pub fn previous_business_day(date: NaiveDate) -> NaiveDate {
    let mut d = date;
    // Bounded, so the first day of the calendar cannot loop forever.
    for _ in 0..MAX_NON_BUSINESS_RUN {
        if is_business_day(d) {
            break;
        }
        d = d.pred_opt().unwrap_or(d);
    }
    d
}

/// The date itself if a business day, else the closest later one.
pub fn next_business_day(date: NaiveDate) -> NaiveDate {
    let mut d = date;
    for _ in 0..MAX_NON_BUSINESS_RUN {
        if is_business_day(d) {
            break;
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        parse_iso_date(s).unwrap_or_else(|e| panic!("{e}"))
    }

    fn ymd(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap_or_else(|| panic!("{y}-{m}-{day}"))
    }

    #[test]
    fn month_ends_anchor_to_month_ends() {
        assert_eq!(add_months(d("2027-06-30"), -6), d("2026-12-31"));
        assert_eq!(add_months(d("2026-01-31"), 1), d("2026-02-28"));
        assert_eq!(add_months(d("2026-02-28"), 1), d("2026-03-31"));
        assert_eq!(add_months(d("2024-02-29"), 12), d("2025-02-28"));
        assert_eq!(add_months(d("2027-04-30"), -3), d("2027-01-31"));
        assert_eq!(add_months(d("2026-01-30"), 1), d("2026-02-28"));
        assert_eq!(add_months(d("2026-03-15"), -15), d("2024-12-15"));
    }

    #[test]
    fn month_counts_beyond_the_calendar_do_not_panic() {
        let x = d("2026-11-22");
        assert_eq!(add_months(x, i32::MAX), x);
        assert_eq!(add_months(x, i32::MIN), x);
        assert_eq!(term_end(x, u32::MAX), term_end(x, u32::MAX));
    }

    #[test]
    fn terms_end_the_day_before_the_same_day_number() {
        assert_eq!(term_end(d("2025-01-15"), 48), d("2029-01-14"));
        assert_eq!(term_end(d("2025-01-01"), 24), d("2026-12-31"));
        assert_eq!(term_end(d("2026-01-31"), 1), d("2026-02-28"));
    }

    #[test]
    fn easter_sunday_matches_known_dates() {
        for (y, e) in [
            (1900, "1900-04-15"),
            (1954, "1954-04-18"),
            (2000, "2000-04-23"),
            (2008, "2008-03-23"),
            (2019, "2019-04-21"),
            (2024, "2024-03-31"),
            (2026, "2026-04-05"),
            (2027, "2027-03-28"),
            (2038, "2038-04-25"),
            (2100, "2100-03-28"),
            (2200, "2200-04-06"),
        ] {
            assert_eq!(easter_sunday(y), d(e), "Easter {y}");
        }
    }

    #[test]
    fn swedish_holidays_of_2026_and_2027_are_not_business_days() {
        for h in [
            "2026-01-01", // nyårsdagen
            "2026-01-06", // trettondedag jul
            "2026-04-03", // långfredagen
            "2026-04-06", // annandag påsk
            "2026-05-01", // första maj
            "2026-05-14", // Kristi himmelsfärdsdag
            "2026-06-06", // nationaldagen (a Saturday)
            "2026-06-19", // midsommarafton
            "2026-10-31", // alla helgons dag (a Saturday)
            "2026-12-24", // julafton
            "2026-12-25", // juldagen
            "2026-12-26", // annandag jul
            "2026-12-31", // nyårsafton
            "2027-03-26", // långfredagen
            "2027-03-29", // annandag påsk
            "2027-05-06", // Kristi himmelsfärdsdag
            "2027-06-25", // midsommarafton
        ] {
            assert!(is_swedish_holiday(d(h)), "{h} is a holiday");
            assert!(!is_business_day(d(h)), "{h} is not a business day");
        }
        for w in [
            "2026-04-07",
            "2026-06-18",
            "2026-06-22",
            "2026-12-30",
            "2027-01-29",
        ] {
            assert!(is_business_day(d(w)), "{w} is a business day");
        }
    }

    #[test]
    fn reminders_move_to_the_previous_business_day() {
        assert_eq!(previous_business_day(d("2027-01-31")), d("2027-01-29"));
        assert_eq!(previous_business_day(d("2026-12-31")), d("2026-12-30"));
        assert_eq!(previous_business_day(d("2026-12-27")), d("2026-12-23"));
        assert_eq!(previous_business_day(d("2026-11-01")), d("2026-10-30"));
        assert_eq!(previous_business_day(d("2026-04-06")), d("2026-04-02"));
        assert_eq!(next_business_day(d("2026-12-24")), d("2026-12-28"));
    }

    /// Any date from 1900 to 2199, month ends included often.
    fn date() -> impl Strategy<Value = NaiveDate> {
        (1900i32..2200, 1u32..=12, 1u32..=31).prop_map(|(y, m, day)| {
            let last = last_day_of_month(ymd(y, m, 1));
            ymd(y, m, day.min(last.day()))
        })
    }

    fn month_index(x: NaiveDate) -> i32 {
        x.year() * 12 + x.month0() as i32
    }

    fn holidays_in(year: i32) -> usize {
        let mut x = ymd(year, 1, 1);
        let mut n = 0;
        while x.year() == year {
            if is_swedish_holiday(x) {
                n += 1;
            }
            x = x.succ_opt().unwrap_or_else(|| panic!("end of time"));
        }
        n
    }

    #[test]
    fn every_year_from_1900_to_2200_has_the_expected_holidays() {
        for year in 1900..=2200 {
            for (m, day) in [
                (1, 1),
                (1, 6),
                (5, 1),
                (6, 6),
                (12, 24),
                (12, 25),
                (12, 26),
                (12, 31),
            ] {
                assert!(is_swedish_holiday(ymd(year, m, day)), "{year}-{m}-{day}");
            }
            let easter = easter_sunday(year);
            assert_eq!(easter.weekday(), Weekday::Sun, "Easter {year}");
            assert!(matches!(easter.month(), 3 | 4), "Easter {year}");
            let june: Vec<NaiveDate> = (1..=30).map(|day| ymd(year, 6, day)).collect();
            let eves: Vec<&NaiveDate> = june
                .iter()
                .filter(|x| x.weekday() == Weekday::Fri && is_swedish_holiday(**x))
                .filter(|x| x.day() != 6)
                .collect();
            assert_eq!(eves.len(), 1, "one midsummer eve in {year}");
            assert!((19..=25).contains(&eves[0].day()), "midsummer eve {year}");
            let all_saints = (0..7)
                .map(|i| ymd(year, 10, 31) + Duration::days(i))
                .filter(|x| is_swedish_holiday(*x))
                .count();
            assert_eq!(all_saints, 1, "one All Saints' Day in {year}");
            // 8 fixed days, midsummer eve and day, All Saints' Day and 6 Easter-based days
            // (Good Friday to Easter Monday, Ascension, Whitsunday), less the days two share.
            let ascension_on_may_day = easter + Duration::days(39) == ymd(year, 5, 1);
            let whitsun_on_national_day = easter + Duration::days(49) == ymd(year, 6, 6);
            let expected =
                17 - usize::from(ascension_on_may_day) - usize::from(whitsun_on_national_day);
            assert_eq!(holidays_in(year), expected, "holidays in {year}");
        }
    }

    proptest! {
        #[test]
        fn adding_months_and_back_returns_the_date_when_its_day_exists(x in date(), n in -600i32..600) {
            let there = add_months(x, n);
            let fits = x.day() < last_day_of_month(there).day();
            if is_last_day_of_month(x) || fits {
                prop_assert_eq!(add_months(there, -n), x);
            }
        }

        #[test]
        fn adding_months_moves_exactly_n_months_and_keeps_the_day_when_it_can(x in date(), n in -600i32..600) {
            let there = add_months(x, n);
            prop_assert_eq!(month_index(there) - month_index(x), n);
            prop_assert!(there.day() <= x.day() || is_last_day_of_month(x));
            if x.day() <= 28 && !is_last_day_of_month(x) {
                prop_assert_eq!(there.day(), x.day());
            }
        }

        #[test]
        fn month_ends_give_month_ends(y in 1900i32..2200, m in 1u32..=12, n in -600i32..600) {
            let end = last_day_of_month(ymd(y, m, 1));
            prop_assert!(is_last_day_of_month(add_months(end, n)));
        }

        #[test]
        fn a_term_ends_the_day_before_the_start_comes_round_again(x in date(), n in 1u32..600) {
            let end = term_end(x, n);
            prop_assert!(end >= x);
            let same_day = add_months_plain(x, n as i32);
            if same_day.day() == x.day() {
                prop_assert_eq!(end.succ_opt(), Some(same_day));
            } else {
                // No such day in the target month: the term runs to that month's last day.
                prop_assert_eq!(end, last_day_of_month(same_day));
                prop_assert_eq!(month_index(end) - month_index(x), n as i32);
            }
        }

        #[test]
        fn business_day_moves_land_on_business_days(x in date()) {
            let p = previous_business_day(x);
            let n = next_business_day(x);
            prop_assert!(is_business_day(p) && is_business_day(n));
            prop_assert!(p <= x && x <= n);
            prop_assert!((x - p).num_days() < 7 && (n - x).num_days() < 7);
        }
    }
}
