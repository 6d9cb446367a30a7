//! The figures part of a report form (signed link, enterprise page): one row per indicator the
//! report carries, with the total and, for indicators broken down by gender, women, men and other
//! or not stated. Inputs are named `fig.<indicator>.<part>`; a checkbox `confirmed` lets figures
//! far off the earlier periods through. Parses the inputs into figures and puts each Swedish
//! error beside its input.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::ui::rule_sv;
use crate::domain::agreement::{Agreement, ReportingObligation};
use crate::domain::codes::{Gender, Unit};
use crate::domain::indicators::{Quantity, catalogue};
use crate::domain::outcomes::{self, Figure};
use crate::domain::party::Violation;

/// One indicator's inputs as the form shows them.
#[derive(Debug, Clone, Serialize)]
pub struct FigureRow {
    /// Indicator id.
    pub id: String,
    /// Swedish name.
    pub name: String,
    /// Swedish unit.
    pub unit: &'static str,
    /// Whether the row has the gender inputs.
    pub gender: bool,
    /// The values shown, by part (`total`, `women`, `men`, `other`).
    pub values: BTreeMap<&'static str, String>,
    /// Swedish errors, by part.
    pub errors: BTreeMap<&'static str, Vec<String>>,
}

pub use crate::domain::indicators::{unit_sv, unit_sv_after};

const PARTS: [Gender; 4] = [Gender::Total, Gender::Women, Gender::Men, Gender::Other];

/// The rows of `ob`'s indicators, filled from `fields` when the form is shown again, else from
/// `prefill` (figures handed in before).
pub fn rows(
    a: &Agreement,
    ob: &ReportingObligation,
    fields: Option<&HashMap<String, String>>,
    prefill: &[Figure],
) -> Vec<FigureRow> {
    ob.indicators
        .iter()
        .map(|id| {
            let ind = outcomes::indicator(a, id);
            let earlier = prefill.iter().find(|f| &f.indicator == id);
            let mut values = BTreeMap::new();
            for g in PARTS {
                let v = match fields {
                    Some(f) => f.get(&format!("fig.{id}.{g}")).cloned().unwrap_or_default(),
                    None => earlier
                        .and_then(|f| f.part(g))
                        .map(|q| q.to_string().replace('.', ","))
                        .unwrap_or_default(),
                };
                values.insert(g.code(), v);
            }
            FigureRow {
                id: id.to_string(),
                name: ind.map_or_else(|| id.to_string(), |i| i.name_sv.clone()),
                unit: ind.map_or("", |i| unit_sv(i.unit)),
                gender: ind.is_some_and(|i| i.gender),
                values,
                errors: BTreeMap::new(),
            }
        })
        .collect()
}

/// Parses the inputs of `ob`'s indicators. A blank total of a gender-broken count is the sum of
/// its parts; a figure with neither is left out (the rules then ask for it). Returns the figures
/// and the inputs that are not numbers.
pub fn parse(
    a: &Agreement,
    ob: &ReportingObligation,
    fields: &HashMap<String, String>,
) -> (Vec<Figure>, Vec<Violation>) {
    let mut figures = Vec::new();
    let mut bad = Vec::new();
    for id in &ob.indicators {
        let Some(ind) = outcomes::indicator(a, id).or_else(|| catalogue().get(id)) else {
            continue;
        };
        let mut read = |g: Gender| -> Option<Quantity> {
            let raw = fields
                .get(&format!("fig.{id}.{g}"))
                .map(|s| s.trim())
                .unwrap_or_default();
            if raw.is_empty() {
                return None;
            }
            match Quantity::parse(raw) {
                Ok(q) => Some(q),
                Err(_) => {
                    bad.push(Violation::new(
                        format!("figures.{id}.{g}"),
                        raw,
                        "not_a_number",
                        "not a number",
                    ));
                    None
                }
            }
        };
        let total = read(Gender::Total);
        let (women, men, other) = if ind.gender {
            (read(Gender::Women), read(Gender::Men), read(Gender::Other))
        } else {
            (None, None, None)
        };
        let total = total.or_else(|| match (women, men, other) {
            (Some(w), Some(m), Some(o)) if ind.unit != Unit::Percent => Some(w.plus(m).plus(o)),
            _ => None,
        });
        if let Some(total) = total {
            figures.push(Figure {
                indicator: id.clone(),
                total,
                women,
                men,
                other,
            });
        }
    }
    (figures, bad)
}

/// Puts each violation's Swedish text beside its input; returns those that fit no input.
pub fn attach(rows: &mut [FigureRow], violations: &[Violation]) -> Vec<String> {
    let mut rest = Vec::new();
    for v in violations {
        let mut parts = v.field.splitn(3, '.');
        let (Some("figures"), Some(id), Some(part)) = (parts.next(), parts.next(), parts.next())
        else {
            rest.push(rule_sv(v));
            continue;
        };
        let part = match Gender::parse(part) {
            Ok(g) => g.code(),
            Err(_) => Gender::Total.code(),
        };
        match rows.iter_mut().find(|r| r.id == id) {
            Some(r) => r.errors.entry(part).or_default().push(rule_sv(v)),
            None => rest.push(rule_sv(v)),
        }
    }
    rest
}

/// The header of the figures CSV, in its documented column order.
pub const CSV_HEADER: &str = "indikator;kvinnor;män;annat;totalt";

/// A figures CSV read into the form's inputs, with where each input came from.
#[derive(Debug, Clone, Default)]
pub struct CsvFigures {
    /// The inputs, `fig.<indicator>.<part>`.
    pub fields: HashMap<String, String>,
    /// The line of each indicator's row (from 1, as an editor counts).
    pub rows: HashMap<String, usize>,
    /// The header's name of each part's column.
    pub columns: HashMap<&'static str, String>,
}

impl CsvFigures {
    /// `v` (a rule broken by a figure, `figures.<indicator>.<part>`) named by its row and column
    /// of the CSV: the field becomes `csv.row[<line>].<column>` and the message starts with them.
    pub fn locate(&self, mut v: Violation) -> Violation {
        let mut parts = v.field.splitn(3, '.');
        let (Some("figures"), Some(id), part) = (parts.next(), parts.next(), parts.next()) else {
            return v;
        };
        let Some(line) = self.rows.get(id) else {
            return v;
        };
        let part = part.and_then(|p| Gender::parse(p).ok()).map(Gender::code);
        let column = part
            .and_then(|p| self.columns.get(p))
            .map_or("indikator", String::as_str);
        v.field = format!("csv.row[{line}].{column}");
        v.message = format!("row {line}, column {column}: {}", v.message);
        v
    }
}

/// Reads a figures CSV (docs/format.md: a header `indikator;kvinnor;män;annat;totalt`, one row per
/// indicator) into the form's inputs, `fig.<indicator>.<part>`; a line it cannot read is a
/// violation naming the line.
pub fn csv_fields(text: &str) -> Result<HashMap<String, String>, Violation> {
    csv_table(text).map(|t| t.fields)
}

/// [`csv_fields`] with the line of each row and the name of each column.
pub fn csv_table(text: &str) -> Result<CsvFigures, Violation> {
    let text = text.trim_start_matches('\u{feff}');
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
    let Some((_, header)) = lines.next() else {
        return Err(Violation::new(
            "figures_csv",
            "",
            "figures_csv",
            "the CSV file is empty",
        ));
    };
    let sep = if header.contains(';') { ';' } else { ',' };
    let columns: Vec<Option<Gender>> = header
        .split(sep)
        .map(|c| match c.trim().to_lowercase().as_str() {
            "kvinnor" | "women" => Some(Gender::Women),
            "män" | "men" => Some(Gender::Men),
            "annat" | "annat eller ej angivet" | "other" => Some(Gender::Other),
            "totalt" | "total" => Some(Gender::Total),
            _ => None,
        })
        .collect();
    let first = header
        .split(sep)
        .next()
        .unwrap_or_default()
        .trim()
        .to_lowercase();
    if !matches!(first.as_str(), "indikator" | "indicator") || columns.iter().all(Option::is_none) {
        return Err(Violation::new(
            "figures_csv",
            header.trim(),
            "figures_csv",
            format!("the first row must name the columns: {CSV_HEADER}"),
        ));
    }
    let mut out = CsvFigures::default();
    for (name, col) in header.split(sep).zip(&columns) {
        if let Some(g) = col {
            out.columns.insert(g.code(), name.trim().to_owned());
        }
    }
    for (n, line) in lines {
        let cells: Vec<&str> = line.split(sep).map(str::trim).collect();
        let id = cells.first().copied().unwrap_or_default();
        if crate::domain::indicators::IndicatorId::parse(id).is_err() || cells.len() > columns.len()
        {
            return Err(Violation::new(
                format!("csv.row[{}]", n + 1),
                id,
                "figures_csv",
                format!(
                    "row {} is not an indicator row: an indicator id, then the columns {CSV_HEADER}",
                    n + 1
                ),
            ));
        }
        if out.rows.insert(id.to_owned(), n + 1).is_some() {
            return Err(Violation::new(
                format!("csv.row[{}].indikator", n + 1),
                id,
                "duplicate_figure",
                format!("row {}: {id} has a row already", n + 1),
            ));
        }
        for (cell, col) in cells.iter().zip(&columns).skip(1) {
            if let Some(g) = col
                && !cell.is_empty()
            {
                out.fields
                    .insert(format!("fig.{id}.{g}"), (*cell).to_owned());
            }
        }
    }
    Ok(out)
}

/// The CSV template of `ob`'s report: the header, a comment naming each indicator, and one row
/// per indicator filled from `prefill` (figures handed in before), decimal comma, `;` between
/// fields; what [`csv_table`] reads back.
pub fn csv_template(a: &Agreement, ob: &ReportingObligation, prefill: &[Figure]) -> String {
    let mut out = format!("{CSV_HEADER}\r\n");
    for id in &ob.indicators {
        let ind = outcomes::indicator(a, id);
        let name = ind.map_or_else(|| id.to_string(), |i| i.name_sv.clone());
        let unit = ind.map_or("", |i| unit_sv(i.unit));
        let split = if ind.is_some_and(|i| i.gender) {
            "per kön"
        } else {
            "bara totalt"
        };
        out.push_str(&format!("# {id}: {name} ({unit}, {split})\r\n"));
    }
    for id in &ob.indicators {
        let earlier = prefill.iter().find(|f| &f.indicator == id);
        let gender = outcomes::indicator(a, id).is_some_and(|i| i.gender);
        let cell = |g: Gender| {
            if g != Gender::Total && !gender {
                return String::new();
            }
            earlier
                .and_then(|f| f.part(g))
                .map(|q| q.to_string().replace('.', ","))
                .unwrap_or_default()
        };
        out.push_str(&format!(
            "{id};{};{};{};{}\r\n",
            cell(Gender::Women),
            cell(Gender::Men),
            cell(Gender::Other),
            cell(Gender::Total)
        ));
    }
    out
}

/// The rows of a CSV naming indicators `ob`'s report does not carry: refused, naming the row.
pub fn csv_foreign_rows(table: &CsvFigures, ob: &ReportingObligation) -> Vec<Violation> {
    let mut rows: Vec<(&String, &usize)> = table
        .rows
        .iter()
        .filter(|(id, _)| !ob.indicators.iter().any(|i| i.as_str() == id.as_str()))
        .collect();
    rows.sort_by_key(|(_, line)| **line);
    rows.into_iter()
        .map(|(id, line)| {
            Violation::new(
                format!("csv.row[{line}].indikator"),
                id,
                "indicator_not_in_report",
                format!(
                    "row {line}: the report does not carry {id}; it carries: {}",
                    ob.indicators
                        .iter()
                        .map(|i| i.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_csv_template_reads_into_the_form_inputs() {
        let csv = "\u{feff}indikator;kvinnor;män;annat;totalt\n# kommentar\nparticipants;3;3;0;6\nmoved_on_share;40,5;30;;35\n";
        let f = csv_fields(csv).unwrap_or_else(|v| panic!("{v}"));
        assert_eq!(
            f.get("fig.participants.total").map(String::as_str),
            Some("6")
        );
        assert_eq!(
            f.get("fig.moved_on_share.women").map(String::as_str),
            Some("40,5")
        );
        assert!(
            !f.contains_key("fig.moved_on_share.other"),
            "a blank cell is not given"
        );
        for bad in [
            "",
            "namn;x\nparticipants;1",
            "indikator;kvinnor;män;annat;totalt\nnot an id;1;1;1;3",
        ] {
            assert_eq!(
                csv_fields(bad).err().map(|v| v.rule),
                Some("figures_csv"),
                "{bad}"
            );
        }
    }
}
