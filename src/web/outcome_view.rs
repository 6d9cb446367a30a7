//! The view model of progress against target: for each target, the bars of a chart (their
//! coordinates computed here, drawn as SVG by the template with autoescaping, so no user text is
//! ever markup), the numbers for the accessible table beside it, and the verdict in Swedish.

use chrono::NaiveDate;
use serde::Serialize;

use super::figures_form::{unit_sv, unit_sv_after};
use crate::domain::agreement::Agreement;
use crate::domain::codes::{Direction, TargetPer, Verdict};
use crate::domain::indicators::Quantity;
use crate::domain::outcomes::{self, Progress};

/// Chart width and height in SVG units, and the room for the axis labels.
const W: f64 = 360.0;
const H: f64 = 180.0;
const LEFT: f64 = 44.0;
const BOTTOM: f64 = 26.0;
const TOP: f64 = 10.0;

/// One bar.
#[derive(Debug, Clone, Serialize)]
pub struct Bar {
    /// Its label under the axis (a year or a period end).
    pub label: String,
    /// The value as text.
    pub value: String,
    /// Left edge.
    pub x: f64,
    /// Top edge.
    pub y: f64,
    /// Width.
    pub w: f64,
    /// Height.
    pub h: f64,
    /// `met` or `short` against the target line, or `""` without a target.
    pub class: &'static str,
}

/// One row of the table beside the chart.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// A year, a period end, or the whole term.
    pub label: String,
    /// Total.
    pub total: String,
    /// Women.
    pub women: String,
    /// Men.
    pub men: String,
    /// Other or not stated.
    pub other: String,
}

/// One target as the agreement page shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ProgressView {
    /// Indicator id.
    pub id: String,
    /// Indicator name in Swedish.
    pub name: String,
    /// Unit in Swedish.
    pub unit: &'static str,
    /// The target in words, e.g. "minst 12 per år".
    pub target: String,
    /// `no_data`, `behind`, `on_track` or `met`.
    pub verdict: Verdict,
    /// The verdict in Swedish.
    pub verdict_sv: &'static str,
    /// The value the verdict compares, as text.
    pub current: Option<String>,
    /// The unit after that value ("1 person", "5 personer").
    pub current_unit: &'static str,
    /// The chart.
    pub chart: Chart,
    /// The table rows.
    pub rows: Vec<Row>,
}

/// A bar chart's geometry: bars, an optional target line, the scale.
#[derive(Debug, Clone, Serialize)]
pub struct Chart {
    /// The bars.
    pub bars: Vec<Bar>,
    /// Height of the target line, if there is a target.
    pub target_y: Option<f64>,
    /// The top of the scale, as text.
    pub scale_max: String,
    /// SVG width.
    pub width: f64,
    /// SVG height.
    pub height: f64,
    /// The axis' left edge.
    pub left: f64,
    /// The axis' baseline.
    pub base: f64,
}

/// The chart of `points` (label, value) with an optional target line and the side of it that is
/// good.
pub fn chart(points: &[(String, Quantity)], target: Option<(Quantity, Direction)>) -> Chart {
    let good = |q: Quantity| match target {
        None => "",
        Some((t, Direction::AtLeast)) if q >= t => "met",
        Some((t, Direction::AtMost)) if q <= t => "met",
        Some(_) => "short",
    };
    let target = target.map(|t| t.0);
    let top = points
        .iter()
        .map(|x| x.1)
        .chain(target)
        .max()
        .unwrap_or(Quantity::ZERO)
        .as_f64()
        .max(1.0)
        * 1.1;
    // A round top of the scale: 1, 2, 2.5 or 5 times a power of ten.
    let power = 10f64.powf(top.log10().floor());
    let max = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * power)
        .find(|m| *m >= top)
        .unwrap_or(top);
    let plot_h = H - BOTTOM - TOP;
    let base = H - BOTTOM;
    let scale = |v: f64| base - v / max * plot_h;
    let n = points.len().max(1) as f64;
    let slot = (W - LEFT - 8.0) / n;
    let bars = points
        .iter()
        .enumerate()
        .map(|(i, (label, q))| {
            let y = scale(q.as_f64().max(0.0));
            Bar {
                label: label.clone(),
                value: q.format_swedish(),
                x: round(LEFT + 4.0 + i as f64 * slot + slot * 0.15),
                y: round(y),
                w: round(slot * 0.7),
                h: round(base - y),
                class: good(*q),
            }
        })
        .collect();
    Chart {
        bars,
        target_y: target.map(|t| round(scale(t.as_f64()))),
        scale_max: Quantity::from_f64(max)
            .unwrap_or(Quantity::ZERO)
            .format_swedish(),
        width: W,
        height: H,
        left: LEFT,
        base,
    }
}

/// The verdict in Swedish.
pub fn verdict_sv(v: Verdict) -> &'static str {
    match v {
        Verdict::NoData => "inga godkända siffror än",
        Verdict::Behind => "efter målet",
        Verdict::OnTrack => "i fas",
        Verdict::Met => "målet nått",
    }
}

/// The target in Swedish words.
pub fn target_sv(p: &Progress) -> String {
    let dir = match p.target.direction {
        Direction::AtLeast => "minst",
        Direction::AtMost => "högst",
    };
    let per = match p.target.per {
        TargetPer::Year => "per år",
        TargetPer::Term => "under avtalstiden",
        TargetPer::Period => "per rapportperiod",
    };
    let unit = p.indicator.as_ref().map_or("", |i| unit_sv(i.unit));
    format!("{dir} {} {unit} {per}", p.target.value.format_swedish())
}

fn text(q: Option<Quantity>) -> String {
    q.map(Quantity::format_swedish)
        .unwrap_or_else(|| "–".into())
}

/// The view of one progress.
pub fn view(p: &Progress) -> ProgressView {
    // Bars: the years (per year), the periods (per period), or the running total (per term).
    let points: Vec<(String, Quantity)> = match p.target.per {
        TargetPer::Year => p
            .spans
            .iter()
            .map(|s| (s.year.unwrap_or_default().to_string(), s.total))
            .collect(),
        TargetPer::Period => p.periods.iter().map(|(d, q)| (d.to_string(), *q)).collect(),
        TargetPer::Term => {
            let mut running = Quantity::ZERO;
            let agg = p.indicator.as_ref().map(|i| i.aggregation);
            p.periods
                .iter()
                .enumerate()
                .map(|(i, (d, q))| {
                    let vals: Vec<Quantity> = p.periods[..=i].iter().map(|x| x.1).collect();
                    running = agg
                        .and_then(|a| outcomes::aggregate(a, &vals))
                        .unwrap_or(*q);
                    (d.to_string(), running)
                })
                .collect()
        }
    };
    let mut rows: Vec<Row> = match p.target.per {
        TargetPer::Period => Vec::new(),
        _ => p
            .spans
            .iter()
            .map(|s| Row {
                label: s
                    .year
                    .map_or_else(|| "Hela avtalstiden".to_owned(), |y| y.to_string()),
                total: s.total.format_swedish(),
                women: text(s.women),
                men: text(s.men),
                other: text(s.other),
            })
            .collect(),
    };
    if rows.is_empty() {
        rows = p
            .periods
            .iter()
            .map(|(d, q)| Row {
                label: d.to_string(),
                total: q.format_swedish(),
                women: "–".into(),
                men: "–".into(),
                other: "–".into(),
            })
            .collect();
    }
    let ind = p.indicator.as_ref();
    let current = p.current.map(Quantity::format_swedish);
    ProgressView {
        id: p.target.indicator.to_string(),
        name: ind.map_or_else(|| p.target.indicator.to_string(), |i| i.name_sv.clone()),
        unit: ind.map_or("", |i| unit_sv(i.unit)),
        target: target_sv(p),
        verdict: p.verdict,
        verdict_sv: verdict_sv(p.verdict),
        current: current.clone(),
        current_unit: ind.map_or("", |i| {
            unit_sv_after(i.unit, current.as_deref().unwrap_or_default())
        }),
        chart: chart(&points, Some((p.target.value, p.target.direction))),
        rows,
    }
}

fn round(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// Every target of `a` as the agreement page shows it.
pub fn views(a: &Agreement, today: NaiveDate) -> Vec<ProgressView> {
    outcomes::progress(a, today).iter().map(view).collect()
}
