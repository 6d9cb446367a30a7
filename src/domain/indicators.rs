//! The indicator catalogue and the numbers reported against it: indicator ids, quantities, and
//! the catalogue kept as data in `indicators.json` (ESF+ common indicators, employment-requirement
//! measures, common IOP follow-up measures), parsed and checked once at start.

use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use super::codes::{Aggregation, Unit};

/// The id of an indicator: an ESF+ code such as `EECO01`, a catalogue id such as
/// `req_employed`, or an agreement's own id; 2 to 40 letters, digits and `_`, starting with a letter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IndicatorId(String);

/// Why a text is not an indicator id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{0}\" is not an indicator id (2-40 letters, digits and '_', starting with a letter)")]
pub struct IndicatorIdError(pub String);

impl IndicatorId {
    /// Parses an id.
    pub fn parse(s: &str) -> Result<Self, IndicatorIdError> {
        let t = s.trim();
        let ok = (2..=40).contains(&t.len())
            && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && t.as_bytes()[0].is_ascii_alphabetic();
        if ok {
            Ok(Self(t.to_owned()))
        } else {
            Err(IndicatorIdError(s.to_owned()))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for IndicatorId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for IndicatorId {
    type Error = IndicatorIdError;
    fn try_from(s: String) -> Result<Self, IndicatorIdError> {
        Self::parse(&s)
    }
}

impl From<IndicatorId> for String {
    fn from(r: IndicatorId) -> String {
        r.0
    }
}

/// A reported or target number, held as whole hundredths so sums are exact.
///
/// Read from a JSON/YAML number (`12`, `33.5`) or text (`"12"`, `"33,5"`, `"1 200"`); written
/// as a whole number when it is one, else as a number with its decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Quantity(i64);

/// Why a text is not a number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{0}\" is not a number with at most two decimals (e.g. 12, 12,5 or 1 200)")]
pub struct QuantityError(pub String);

impl Quantity {
    /// Zero.
    pub const ZERO: Self = Self(0);

    /// A quantity of whole hundredths.
    pub const fn from_centi(c: i64) -> Self {
        Self(c)
    }

    /// A whole number.
    pub const fn whole(n: i64) -> Self {
        Self(n * 100)
    }

    /// The quantity in hundredths.
    pub const fn centi(self) -> i64 {
        self.0
    }

    /// Whether it has no decimals.
    pub fn is_whole(self) -> bool {
        self.0 % 100 == 0
    }

    /// As a float, for charts and averages.
    pub fn as_f64(self) -> f64 {
        self.0 as f64 / 100.0
    }

    /// The nearest quantity to `f`, `None` when out of range or not finite.
    pub fn from_f64(f: f64) -> Option<Self> {
        let c = (f * 100.0).round();
        (c.is_finite() && c.abs() < 9.0e15).then_some(Self(c as i64))
    }

    /// Adds two quantities, saturating.
    pub fn plus(self, other: Self) -> Self {
        Self(self.0.saturating_add(other.0))
    }

    /// Parses `12`, `-3`, `12,5`, `12.25`, `1 200`.
    pub fn parse(s: &str) -> Result<Self, QuantityError> {
        let err = || QuantityError(s.to_owned());
        let cleaned: String = s
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '_'))
            .collect();
        let (negative, body) = match cleaned.strip_prefix(['-', '−']) {
            Some(rest) => (true, rest.to_owned()),
            None => (false, cleaned),
        };
        let body = body.replace(',', ".");
        let (whole, frac) = body.split_once('.').unwrap_or((body.as_str(), ""));
        if whole.is_empty()
            || whole.len() > 15
            || frac.len() > 2
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(err());
        }
        let w: i64 = whole.parse().map_err(|_| err())?;
        let f: i64 = match frac.len() {
            0 => 0,
            1 => frac.parse::<i64>().map_err(|_| err())? * 10,
            _ => frac.parse().map_err(|_| err())?,
        };
        let c = w * 100 + f;
        Ok(Self(if negative { -c } else { c }))
    }

    /// Swedish display: `1 200`, `33,5`.
    pub fn format_swedish(self) -> String {
        let sign = if self.0 < 0 { "−" } else { "" };
        let abs = self.0.unsigned_abs();
        let digits = (abs / 100).to_string();
        let mut grouped = String::new();
        for (i, ch) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                grouped.push('\u{a0}');
            }
            grouped.push(ch);
        }
        match abs % 100 {
            0 => format!("{sign}{grouped}"),
            c if c % 10 == 0 => format!("{sign}{grouped},{}", c / 10),
            c => format!("{sign}{grouped},{c:02}"),
        }
    }
}

impl std::fmt::Display for Quantity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        match abs % 100 {
            0 => write!(f, "{sign}{}", abs / 100),
            c if c % 10 == 0 => write!(f, "{sign}{}.{}", abs / 100, c / 10),
            c => write!(f, "{sign}{}.{c:02}", abs / 100),
        }
    }
}

impl Serialize for Quantity {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.is_whole() {
            s.serialize_i64(self.0 / 100)
        } else {
            s.serialize_f64(self.as_f64())
        }
    }
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(QuantityVisitor)
    }
}

struct QuantityVisitor;

impl serde::de::Visitor<'_> for QuantityVisitor {
    type Value = Quantity;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a number with at most two decimals, or such a number as text")
    }

    fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<Quantity, E> {
        n.checked_mul(100)
            .map(Quantity)
            .ok_or_else(|| E::custom(QuantityError(n.to_string())))
    }

    fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<Quantity, E> {
        i64::try_from(n)
            .ok()
            .and_then(|n| n.checked_mul(100))
            .map(Quantity)
            .ok_or_else(|| E::custom(QuantityError(n.to_string())))
    }

    fn visit_f64<E: serde::de::Error>(self, f: f64) -> Result<Quantity, E> {
        let q = Quantity::from_f64(f).ok_or_else(|| E::custom(QuantityError(f.to_string())))?;
        if ((q.as_f64() - f).abs()) > 1e-9 {
            return Err(E::custom(QuantityError(f.to_string())));
        }
        Ok(q)
    }

    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Quantity, E> {
        Quantity::parse(s).map_err(E::custom)
    }
}

/// One indicator: what is counted, in which unit, broken down by gender or not, and how its
/// values over several periods add up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Indicator {
    /// Its id.
    pub id: IndicatorId,
    /// The catalogue group (`esf_output`, `esf_result`, `employment_requirement`, ...), or `own`.
    #[serde(default = "own")]
    pub group: String,
    /// Swedish name.
    pub name_sv: String,
    /// English name.
    pub name_en: String,
    /// Unit of its values.
    pub unit: Unit,
    /// Whether values are broken down into women, men and other or not stated.
    pub gender: bool,
    /// How values over periods add up.
    pub aggregation: Aggregation,
}

fn own() -> String {
    "own".to_owned()
}

/// The Swedish words of a unit, as the catalogue gives them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitWords {
    /// The plural ("personer"), and the unit's name.
    pub sv: String,
    /// The singular after exactly one ("person").
    pub sv_one: String,
}

/// The indicator catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Catalogue {
    /// Every indicator, in catalogue order.
    pub indicators: Vec<Indicator>,
    /// The Swedish words of every unit: the one home of them (pages, documents, OCDS).
    pub units: std::collections::BTreeMap<Unit, UnitWords>,
}

impl Catalogue {
    /// Parses and checks a catalogue: ids unique, names present.
    pub fn parse(json: &str) -> Result<Self, String> {
        #[derive(Deserialize)]
        struct File {
            #[serde(rename = "_comment", default)]
            _comment: Option<String>,
            indicators: Vec<Indicator>,
            #[serde(default)]
            units: std::collections::BTreeMap<Unit, UnitWords>,
        }
        let f: File = serde_json::from_str(json).map_err(|e| e.to_string())?;
        let mut seen = std::collections::HashSet::new();
        for i in &f.indicators {
            if !seen.insert(i.id.clone()) {
                return Err(format!("indicator {} appears twice", i.id));
            }
            if i.name_sv.trim().is_empty() || i.name_en.trim().is_empty() {
                return Err(format!(
                    "indicator {} needs a Swedish and an English name",
                    i.id
                ));
            }
        }
        if f.indicators.is_empty() {
            return Err("the catalogue has no indicators".into());
        }
        for &u in Unit::ALL {
            match f.units.get(&u) {
                Some(w) if !w.sv.trim().is_empty() && !w.sv_one.trim().is_empty() => {}
                _ => {
                    return Err(format!(
                        "unit {} needs its Swedish words (sv, sv_one) in units",
                        u.code()
                    ));
                }
            }
        }
        Ok(Self {
            indicators: f.indicators,
            units: f.units,
        })
    }

    /// The indicator with this id.
    pub fn get(&self, id: &IndicatorId) -> Option<&Indicator> {
        self.indicators.iter().find(|i| &i.id == id)
    }
}

static CATALOGUE: LazyLock<Result<Catalogue, String>> =
    LazyLock::new(|| Catalogue::parse(include_str!("indicators.json")));

/// The catalogue compiled into the binary, checked: `serve` calls it at start and refuses to run
/// with a broken one.
pub fn load() -> Result<&'static Catalogue, String> {
    CATALOGUE
        .as_ref()
        .map_err(|e| format!("src/domain/indicators.json: {e}"))
}

/// The catalogue, empty if it is broken (which [`load`] reports at start).
pub fn catalogue() -> &'static Catalogue {
    static EMPTY: Catalogue = Catalogue {
        indicators: Vec::new(),
        units: std::collections::BTreeMap::new(),
    };
    load().unwrap_or(&EMPTY)
}

/// The Swedish word for a unit ("personer"), from the catalogue; its code if the catalogue is
/// broken (which [`load`] reports at start).
pub fn unit_sv(u: Unit) -> &'static str {
    catalogue()
        .units
        .get(&u)
        .map_or(u.code(), |w| w.sv.as_str())
}

/// The Swedish word for a unit after the number `shown` (as it is written): the singular after
/// exactly one ("1 person", "1 timme"), the plural otherwise.
pub fn unit_sv_after(u: Unit, shown: &str) -> &'static str {
    if shown != "1" {
        return unit_sv(u);
    }
    catalogue()
        .units
        .get(&u)
        .map_or(u.code(), |w| w.sv_one.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_loads_with_the_esf_codes_and_the_employment_requirement_measures() {
        let c = load().unwrap_or_else(|e| panic!("{e}"));
        for id in [
            "EECO01",
            "EECO12",
            "EECR02",
            "EECR04",
            "EECR05",
            "req_employed",
            "req_hours",
        ] {
            let i = IndicatorId::parse(id).unwrap_or_else(|e| panic!("{e}"));
            assert!(c.get(&i).is_some(), "{id} missing");
        }
        let share = c.get(&IndicatorId("moved_on_share".into()));
        assert_eq!(share.map(|i| i.unit), Some(Unit::Percent));
        assert_eq!(share.map(|i| i.aggregation), Some(Aggregation::Average));
        assert!(c.indicators.iter().all(|i| i.group != "own"));
    }

    #[test]
    fn every_unit_has_its_swedish_words_and_one_takes_the_singular() {
        assert_eq!(unit_sv(Unit::People), "personer");
        assert_eq!(unit_sv(Unit::Kronor), "kronor");
        assert_eq!(unit_sv_after(Unit::People, "1"), "person");
        assert_eq!(unit_sv_after(Unit::Hours, "1"), "timme");
        assert_eq!(unit_sv_after(Unit::People, "5"), "personer");
        assert_eq!(unit_sv_after(Unit::People, "1,5"), "personer");
        assert_eq!(unit_sv_after(Unit::People, "0"), "personer");
        let c = load().unwrap_or_else(|e| panic!("{e}"));
        for &u in Unit::ALL {
            assert!(c.units.contains_key(&u), "{u:?}");
        }
    }

    #[test]
    fn a_broken_catalogue_is_refused_naming_the_problem() {
        let twice = r#"{"indicators":[
            {"id":"a1","unit":"people","gender":true,"aggregation":"sum","name_sv":"x","name_en":"x"},
            {"id":"a1","unit":"people","gender":true,"aggregation":"sum","name_sv":"x","name_en":"x"}]}"#;
        assert!(
            Catalogue::parse(twice)
                .err()
                .unwrap_or_default()
                .contains("twice")
        );
        let unit = r#"{"indicators":[{"id":"a1","unit":"apples","gender":true,"aggregation":"sum","name_sv":"x","name_en":"x"}]}"#;
        assert!(Catalogue::parse(unit).is_err());
        assert!(Catalogue::parse(r#"{"indicators":[]}"#).is_err());
        let no_words = r#"{"indicators":[{"id":"a1","unit":"people","gender":true,"aggregation":"sum","name_sv":"x","name_en":"x"}]}"#;
        assert!(
            Catalogue::parse(no_words)
                .err()
                .unwrap_or_default()
                .contains("unit people")
        );
    }

    #[test]
    fn ids_are_letters_digits_and_underscores() {
        for ok in ["EECO01", "req_employed", "own_cafe_meals"] {
            assert!(IndicatorId::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "x", "1abc", "a-b", "a b", &"a".repeat(41)] {
            assert!(IndicatorId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn quantities_parse_swedish_and_serialise_as_numbers() {
        let cases = [
            ("12", 1200),
            ("12,5", 1250),
            ("12.25", 1225),
            ("1 200", 120_000),
            ("-3", -300),
        ];
        for (text, centi) in cases {
            assert_eq!(
                Quantity::parse(text),
                Ok(Quantity::from_centi(centi)),
                "{text}"
            );
        }
        for bad in ["", "abc", "1,234", "1.2.3", "12 kr"] {
            assert!(Quantity::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            serde_json::to_string(&Quantity::whole(12)).ok(),
            Some("12".into())
        );
        assert_eq!(
            serde_json::to_string(&Quantity::from_centi(3350)).ok(),
            Some("33.5".into())
        );
        let back: Result<Quantity, _> = serde_json::from_str("33.5");
        assert_eq!(back.ok(), Some(Quantity::from_centi(3350)));
        let too_fine: Result<Quantity, _> = serde_json::from_str("1.234");
        assert!(too_fine.is_err());
        assert_eq!(
            Quantity::from_centi(120_050).format_swedish(),
            "1\u{a0}200,5"
        );
    }
}
