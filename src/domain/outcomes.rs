//! Social outcomes of an agreement: the targets its goals and social clauses set, the figures its
//! reports carry, the rules those figures follow, and progress against target (values per year,
//! and a verdict: on track, behind, met). Only figures of accepted reports count.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use super::agreement::{Agreement, OccurrenceRecord};
use super::codes::{Aggregation, Direction, Gender, OccurrenceState, TargetPer, Unit, Verdict};
use super::indicators::{Indicator, IndicatorId, Quantity, catalogue};
use super::party::Violation;

/// A target: an indicator, a value, the side that is good, and the period it counts over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// The indicator.
    pub indicator: IndicatorId,
    /// The target value.
    pub value: Quantity,
    /// At least (default) or at most.
    #[serde(default = "at_least")]
    pub direction: Direction,
    /// Per year (default), over the whole term, or in every reporting period.
    #[serde(default = "per_year")]
    pub per: TargetPer,
}

fn at_least() -> Direction {
    Direction::AtLeast
}

fn per_year() -> TargetPer {
    TargetPer::Year
}

impl std::fmt::Display for Target {
    /// `participants minst 12 per år`: the form the officer's form shows and reads.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let dir = match self.direction {
            Direction::AtLeast => "minst",
            Direction::AtMost => "högst",
        };
        let per = match self.per {
            TargetPer::Year => "per år",
            TargetPer::Term => "under avtalstiden",
            TargetPer::Period => "per period",
        };
        write!(
            f,
            "{} {dir} {} {per}",
            self.indicator,
            self.value.to_string().replace('.', ",")
        )
    }
}

impl std::str::FromStr for Target {
    type Err = String;

    /// Reads `<indicator> minst|högst <value> [per år|under avtalstiden|per period]`.
    fn from_str(s: &str) -> Result<Self, String> {
        let words: Vec<&str> = s.split_whitespace().collect();
        let bad = || {
            format!(
                "\"{s}\" is not a target: write e.g. \"participants minst 12 per år\" or \"moved_on_share minst 30 under avtalstiden\""
            )
        };
        let [id, dir, value, rest @ ..] = words.as_slice() else {
            return Err(bad());
        };
        let indicator = IndicatorId::parse(id).map_err(|e| e.to_string())?;
        let direction = match dir.to_lowercase().as_str() {
            "minst" | "at_least" | ">=" | "≥" => Direction::AtLeast,
            "högst" | "at_most" | "<=" | "≤" => Direction::AtMost,
            _ => return Err(bad()),
        };
        let value = Quantity::parse(value).map_err(|e| e.to_string())?;
        let per = match rest.join(" ").to_lowercase().as_str() {
            "" | "per år" | "/år" | "year" => TargetPer::Year,
            "under avtalstiden" | "per avtalstid" | "term" => TargetPer::Term,
            "per period" | "period" => TargetPer::Period,
            _ => return Err(bad()),
        };
        Ok(Self {
            indicator,
            value,
            direction,
            per,
        })
    }
}

/// One reported figure: an indicator's total and, when the indicator is broken down by gender,
/// its parts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Figure {
    /// The indicator.
    pub indicator: IndicatorId,
    /// The total (for a share: the share of everyone).
    pub total: Quantity,
    /// Women.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub women: Option<Quantity>,
    /// Men.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub men: Option<Quantity>,
    /// Other or not stated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other: Option<Quantity>,
}

impl Figure {
    /// The value of one part (`Total` for the total).
    pub fn part(&self, g: Gender) -> Option<Quantity> {
        match g {
            Gender::Total => Some(self.total),
            Gender::Women => self.women,
            Gender::Men => self.men,
            Gender::Other => self.other,
        }
    }
}

/// Figures handed in earlier for an occurrence and rejected: kept, never counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RejectedFigures {
    /// When they were handed in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submitted_on: Option<NaiveDate>,
    /// When they were rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_on: Option<NaiveDate>,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The figures.
    pub figures: Vec<Figure>,
}

/// The indicator `id` as `a` knows it: from the catalogue, or one of the agreement's own.
pub fn indicator<'a>(a: &'a Agreement, id: &IndicatorId) -> Option<&'a Indicator> {
    catalogue()
        .get(id)
        .or_else(|| a.indicators.iter().find(|i| &i.id == id))
}

/// Every target of the agreement: its IOP goals' and its social clauses', with the field path.
pub fn targets(a: &Agreement) -> Vec<(String, &Target)> {
    let mut out = Vec::new();
    if let Some(iop) = &a.iop {
        for (g, goal) in iop.goals.iter().enumerate() {
            for (t, target) in goal.targets.iter().enumerate() {
                out.push((format!("iop.goals[{g}].targets[{t}]"), target));
            }
        }
    }
    for (c, clause) in a.social_clauses.iter().enumerate() {
        for (t, target) in clause.targets.iter().enumerate() {
            out.push((format!("social_clauses[{c}].targets[{t}]"), target));
        }
    }
    out
}

/// The rules of one value of `ind`: not negative, whole for people, at most 100 for a share.
fn value_rules(ind: &Indicator, field: &str, q: Quantity, v: &mut Vec<Violation>) {
    if q < Quantity::ZERO {
        v.push(Violation::new(
            field,
            q,
            "figure_non_negative",
            "a figure cannot be negative",
        ));
    } else if ind.unit == Unit::People && !q.is_whole() {
        v.push(Violation::new(
            field,
            q,
            "whole_people",
            format!("{} counts people: write a whole number", ind.id),
        ));
    } else if ind.unit == Unit::Percent && q > Quantity::whole(100) {
        v.push(Violation::new(
            field,
            q,
            "share_0_100",
            format!("{} is a share: write a percentage from 0 to 100", ind.id),
        ));
    }
}

/// The rules of one figure set at `base` (`...figures`): known indicators, none twice, the values'
/// rules, a breakdown for indicators broken down by gender (summing to the total, except for a
/// share) and none for the others.
pub fn figure_rules(a: &Agreement, base: &str, figures: &[Figure]) -> Vec<Violation> {
    let mut v = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for f in figures {
        let at = format!("{base}.{}", f.indicator);
        let Some(ind) = indicator(a, &f.indicator) else {
            v.push(Violation::new(
                format!("{at}.indicator"),
                &f.indicator,
                "unknown_indicator",
                format!(
                    "no indicator {} in the catalogue or among the agreement's own",
                    f.indicator
                ),
            ));
            continue;
        };
        if !seen.insert(&f.indicator) {
            v.push(Violation::new(
                format!("{at}.indicator"),
                &f.indicator,
                "duplicate_figure",
                "each indicator is reported once per report",
            ));
        }
        for g in Gender::ALL {
            if let Some(q) = f.part(*g) {
                value_rules(ind, &format!("{at}.{g}"), q, &mut v);
            }
        }
        let parts = [f.women, f.men, f.other];
        if ind.gender {
            for (g, q) in [Gender::Women, Gender::Men, Gender::Other]
                .iter()
                .zip(parts)
            {
                if q.is_none() {
                    v.push(Violation::new(
                        format!("{at}.{g}"),
                        "",
                        "gender_breakdown_required",
                        format!("{} is broken down by gender: give women, men and other or not stated (0 when none)", ind.id),
                    ));
                }
            }
            if ind.unit != Unit::Percent && parts.iter().all(Option::is_some) {
                let sum = parts
                    .iter()
                    .flatten()
                    .fold(Quantity::ZERO, |s, q| s.plus(*q));
                if sum != f.total {
                    v.push(Violation::new(
                        format!("{at}.total"),
                        f.total,
                        "breakdown_sums_to_total",
                        format!(
                            "women, men and other or not stated add up to {sum}, not to the total {}",
                            f.total
                        ),
                    ));
                }
            }
        } else if parts.iter().any(Option::is_some) {
            v.push(Violation::new(
                format!("{at}.women"),
                "",
                "no_gender_breakdown",
                format!(
                    "{} is not broken down by gender: give the total only",
                    ind.id
                ),
            ));
        }
    }
    v
}

/// The outcome rules of an agreement: its own indicators, its targets, the indicators its reports
/// carry and the figures stored in them.
pub fn rules(a: &Agreement) -> Vec<Violation> {
    let mut v = Vec::new();
    let mut own = std::collections::HashSet::new();
    for (i, ind) in a.indicators.iter().enumerate() {
        if catalogue().get(&ind.id).is_some() {
            v.push(Violation::new(
                format!("indicators[{i}].id"),
                &ind.id,
                "indicator_in_catalogue",
                "the catalogue already has this id: use it, or choose another id for your own indicator",
            ));
        }
        if !own.insert(&ind.id) {
            v.push(Violation::new(
                format!("indicators[{i}].id"),
                &ind.id,
                "duplicate_indicator",
                "two of the agreement's own indicators have the same id",
            ));
        }
        if ind.name_sv.trim().is_empty() {
            v.push(Violation::new(
                format!("indicators[{i}].name_sv"),
                "",
                "required",
                "an indicator needs a Swedish name",
            ));
        }
    }
    for (at, t) in targets(a) {
        match indicator(a, &t.indicator) {
            None => v.push(Violation::new(
                format!("{at}.indicator"),
                &t.indicator,
                "unknown_indicator",
                format!(
                    "no indicator {} in the catalogue or among the agreement's own",
                    t.indicator
                ),
            )),
            Some(ind) => value_rules(ind, &format!("{at}.value"), t.value, &mut v),
        }
    }
    for (o, ob) in a.reporting.iter().enumerate() {
        let mut seen = std::collections::HashSet::new();
        for (i, id) in ob.indicators.iter().enumerate() {
            if indicator(a, id).is_none() {
                v.push(Violation::new(
                    format!("reporting[{o}].indicators[{i}]"),
                    id,
                    "unknown_indicator",
                    format!("no indicator {id} in the catalogue or among the agreement's own"),
                ));
            }
            if !seen.insert(id) {
                v.push(Violation::new(
                    format!("reporting[{o}].indicators[{i}]"),
                    id,
                    "duplicate_indicator",
                    "the report names this indicator twice",
                ));
            }
        }
        for (r, rec) in ob.occurrences.iter().enumerate() {
            v.extend(figure_rules(
                a,
                &format!("reporting[{o}].occurrences[{r}].figures"),
                &rec.figures,
            ));
        }
    }
    v
}

/// How far a figure may stray from the earlier accepted ones before it needs confirming: more
/// than three times or less than a third of their median (and at least 5 apart), or for a share
/// more than 40 percentage points.
fn far_off(unit: Unit, value: Quantity, earlier: &[Quantity]) -> bool {
    if earlier.is_empty() {
        return false;
    }
    let mut e = earlier.to_vec();
    e.sort();
    let median = e[e.len() / 2];
    let gap = (value.centi() - median.centi()).abs();
    if unit == Unit::Percent {
        return gap > 4000;
    }
    gap >= 500 && (value.centi() > median.centi() * 3 || value.centi() * 3 < median.centi())
}

/// The checks of figures handed in for occurrence `period_end` of obligation `ob`: the figure
/// rules, exactly the indicators the report carries, and, unless `confirmed`, no figure far off
/// the report's earlier accepted periods.
pub fn submission_rules(
    a: &Agreement,
    ob: usize,
    period_end: NaiveDate,
    figures: &[Figure],
    confirmed: bool,
) -> Vec<Violation> {
    let mut v = figure_rules(a, "figures", figures);
    let Some(obligation) = a.reporting.get(ob) else {
        return v;
    };
    for f in figures {
        if !obligation.indicators.contains(&f.indicator) {
            v.push(Violation::new(
                format!("figures.{}.indicator", f.indicator),
                &f.indicator,
                "indicator_not_in_report",
                format!(
                    "the report does not carry {}; it carries: {}",
                    f.indicator,
                    list(&obligation.indicators)
                ),
            ));
        }
    }
    for id in &obligation.indicators {
        if !figures.iter().any(|f| &f.indicator == id) {
            v.push(Violation::new(
                format!("figures.{id}.total"),
                "",
                "figure_required",
                format!("the report carries {id}: give its figure (0 when none)"),
            ));
        }
    }
    if !v.is_empty() || confirmed {
        return v;
    }
    for f in figures {
        let Some(ind) = indicator(a, &f.indicator) else {
            continue;
        };
        let earlier: Vec<Quantity> = obligation
            .occurrences
            .iter()
            .filter(|r| r.state == OccurrenceState::Accepted && r.period_end != period_end)
            .filter_map(|r| r.figures.iter().find(|x| x.indicator == f.indicator))
            .map(|x| x.total)
            .collect();
        if far_off(ind.unit, f.total, &earlier) {
            v.push(Violation::new(
                format!("figures.{}.total", f.indicator),
                f.total,
                "unusual_value",
                format!(
                    "{} is far from the earlier periods ({}): check it and confirm",
                    f.total,
                    earlier
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
    }
    v
}

fn list(ids: &[IndicatorId]) -> String {
    if ids.is_empty() {
        "none".into()
    } else {
        ids.iter()
            .map(IndicatorId::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Records figures on an occurrence record as it is handed in: figures handed in before and
/// rejected move to its history.
pub fn record_figures(r: &mut OccurrenceRecord, figures: Vec<Figure>) {
    if r.state == OccurrenceState::Rejected && !r.figures.is_empty() {
        r.rejected_figures.push(RejectedFigures {
            submitted_on: r.submitted_on,
            decided_on: r.decided_on,
            reason: r.rejection_reason.clone(),
            figures: std::mem::take(&mut r.figures),
        });
    }
    r.figures = figures;
}

/// One accepted figure with the end of its period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepted<'a> {
    /// End of the reported period.
    pub period_end: NaiveDate,
    /// The figure.
    pub figure: &'a Figure,
}

/// Every accepted figure of `id` in `a`, oldest period first. Figures of reports not (yet)
/// accepted, and rejected ones, do not count.
pub fn accepted<'a>(a: &'a Agreement, id: &IndicatorId) -> Vec<Accepted<'a>> {
    let mut out: Vec<Accepted<'a>> = a
        .reporting
        .iter()
        .flat_map(|ob| ob.occurrences.iter())
        .filter(|r| r.state == OccurrenceState::Accepted)
        .flat_map(|r| {
            r.figures
                .iter()
                .filter(move |f| &f.indicator == id)
                .map(move |figure| Accepted {
                    period_end: r.period_end,
                    figure,
                })
        })
        .collect();
    out.sort_by_key(|x| x.period_end);
    out
}

/// Values over periods added up as `agg` says: the sum, the last one, or their average.
pub fn aggregate(agg: Aggregation, values: &[Quantity]) -> Option<Quantity> {
    let last = *values.last()?;
    Some(match agg {
        Aggregation::Sum => values.iter().fold(Quantity::ZERO, |s, q| s.plus(*q)),
        Aggregation::Last => last,
        Aggregation::Average => {
            let sum: i64 = values.iter().map(|q| q.centi()).sum();
            Quantity::from_centi((sum as f64 / values.len() as f64).round() as i64)
        }
    })
}

/// An indicator's accepted values over a span (a year, or the whole term), per part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Span {
    /// The year, or `None` for the whole term.
    pub year: Option<i32>,
    /// How many periods it covers.
    pub periods: usize,
    /// End of the last period in it.
    pub last_period_end: NaiveDate,
    /// Total.
    pub total: Quantity,
    /// Women.
    pub women: Option<Quantity>,
    /// Men.
    pub men: Option<Quantity>,
    /// Other or not stated.
    pub other: Option<Quantity>,
}

impl Span {
    /// The value of one part.
    pub fn part(&self, g: Gender) -> Option<Quantity> {
        match g {
            Gender::Total => Some(self.total),
            Gender::Women => self.women,
            Gender::Men => self.men,
            Gender::Other => self.other,
        }
    }
}

fn span(agg: Aggregation, year: Option<i32>, figures: &[Accepted<'_>]) -> Option<Span> {
    let last = figures.last()?;
    let part = |g: Gender| {
        let vals: Vec<Quantity> = figures.iter().filter_map(|x| x.figure.part(g)).collect();
        if vals.len() == figures.len() {
            aggregate(agg, &vals)
        } else {
            None
        }
    };
    Some(Span {
        year,
        periods: figures.len(),
        last_period_end: last.period_end,
        total: part(Gender::Total)?,
        women: part(Gender::Women),
        men: part(Gender::Men),
        other: part(Gender::Other),
    })
}

/// An indicator's accepted values per calendar year of the period end, oldest first.
pub fn yearly(a: &Agreement, ind: &Indicator) -> Vec<Span> {
    let all = accepted(a, &ind.id);
    let mut out = Vec::new();
    let mut i = 0;
    while i < all.len() {
        let y = all[i].period_end.year();
        let j = all[i..]
            .iter()
            .position(|x| x.period_end.year() != y)
            .map_or(all.len(), |k| i + k);
        out.extend(span(ind.aggregation, Some(y), &all[i..j]));
        i = j;
    }
    out
}

/// One target with its indicator, the accepted values, and the verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Progress {
    /// Where the target is set (`iop.goals[0].targets[0]`, ...).
    pub field: String,
    /// The target.
    pub target: Target,
    /// The indicator (`None` only for an unknown one, which the rules refuse).
    pub indicator: Option<Indicator>,
    /// Values per year (per: year or period) or one span for the whole term (per: term).
    pub spans: Vec<Span>,
    /// Values per accepted period, oldest first: `(period end, total)`.
    pub periods: Vec<(NaiveDate, Quantity)>,
    /// The value the verdict compares: the latest span's, or the latest period's (per: period).
    pub current: Option<Quantity>,
    /// On track, behind, met, or no figures yet.
    pub verdict: Verdict,
}

/// How much of a span has passed by `until`, from 0 to 1.
fn elapsed(start: NaiveDate, end: NaiveDate, until: NaiveDate) -> f64 {
    let all = (end - start).num_days().max(1) as f64;
    ((until - start).num_days() as f64 / all).clamp(0.0, 1.0)
}

/// The verdict of `value` against `t` when `done` (0 to 1) of the span has passed: a sum is on
/// track when it keeps pace with the target; a last value or an average is judged as it stands.
pub fn verdict(t: &Target, agg: Aggregation, value: Quantity, done: f64) -> Verdict {
    let complete = done >= 0.999;
    let target = t.value.as_f64();
    let v = value.as_f64();
    match (t.direction, agg) {
        (Direction::AtLeast, Aggregation::Sum) => {
            if v >= target {
                Verdict::Met
            } else if !complete && v >= target * done {
                Verdict::OnTrack
            } else {
                Verdict::Behind
            }
        }
        (Direction::AtLeast, _) => match (v >= target, complete) {
            (true, true) => Verdict::Met,
            (true, false) => Verdict::OnTrack,
            (false, _) => Verdict::Behind,
        },
        (Direction::AtMost, _) => match (v <= target, complete) {
            (false, _) => Verdict::Behind,
            (true, true) => Verdict::Met,
            (true, false) => Verdict::OnTrack,
        },
    }
}

/// Progress of every target of `a` as of `today`.
pub fn progress(a: &Agreement, today: NaiveDate) -> Vec<Progress> {
    targets(a)
        .into_iter()
        .map(|(field, t)| {
            let Some(ind) = indicator(a, &t.indicator) else {
                return Progress {
                    field,
                    target: t.clone(),
                    indicator: None,
                    spans: Vec::new(),
                    periods: Vec::new(),
                    current: None,
                    verdict: Verdict::NoData,
                };
            };
            let all = accepted(a, &t.indicator);
            let periods: Vec<(NaiveDate, Quantity)> =
                all.iter().map(|x| (x.period_end, x.figure.total)).collect();
            let (spans, current, verdict) = match t.per {
                TargetPer::Term => {
                    let s: Vec<Span> = span(ind.aggregation, None, &all).into_iter().collect();
                    let cur = s.first().map(|s| s.total);
                    let v = s.first().map_or(Verdict::NoData, |s| {
                        let until = s.last_period_end.max(today.min(a.period.current_end));
                        let done = elapsed(a.period.start, a.period.current_end, until);
                        verdict(t, ind.aggregation, s.total, done)
                    });
                    (s, cur, v)
                }
                TargetPer::Year => {
                    let s = yearly(a, ind);
                    let cur = s.last().map(|s| s.total);
                    let v = s.last().map_or(Verdict::NoData, |s| {
                        let y = s.year.unwrap_or_default();
                        let start = NaiveDate::from_ymd_opt(y, 1, 1).unwrap_or(s.last_period_end);
                        let end = NaiveDate::from_ymd_opt(y, 12, 31).unwrap_or(s.last_period_end);
                        verdict(
                            t,
                            ind.aggregation,
                            s.total,
                            elapsed(start, end, s.last_period_end),
                        )
                    });
                    (s, cur, v)
                }
                TargetPer::Period => {
                    let cur = periods.last().map(|p| p.1);
                    let v = cur.map_or(Verdict::NoData, |q| verdict(t, Aggregation::Last, q, 1.0));
                    (yearly(a, ind), cur, v)
                }
            };
            Progress {
                field,
                target: t.clone(),
                indicator: Some(ind.clone()),
                spans,
                periods,
                current,
                verdict,
            }
        })
        .collect()
}

/// Whether any target of `a` is behind.
pub fn behind(a: &Agreement, today: NaiveDate) -> bool {
    progress(a, today)
        .iter()
        .any(|p| p.verdict == Verdict::Behind)
}

/// One row of the follow-up index: an agreement's accepted value of an indicator in a year, for
/// one part (the total or a gender).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexRow {
    /// The indicator.
    pub indicator: IndicatorId,
    /// The calendar year of the period ends.
    pub year: i32,
    /// The part.
    pub gender: Gender,
    /// The year's value, aggregated over its periods as the indicator says.
    pub value: Quantity,
    /// How many periods it covers.
    pub periods: usize,
}

/// The follow-up index rows of `a`: every indicator with accepted figures, per year and part.
pub fn index_rows(a: &Agreement) -> Vec<IndexRow> {
    let mut ids: Vec<&IndicatorId> = a
        .reporting
        .iter()
        .flat_map(|ob| ob.occurrences.iter())
        .filter(|r| r.state == OccurrenceState::Accepted)
        .flat_map(|r| r.figures.iter().map(|f| &f.indicator))
        .collect();
    ids.sort();
    ids.dedup();
    let mut out = Vec::new();
    for id in ids {
        let Some(ind) = indicator(a, id) else {
            continue;
        };
        for s in yearly(a, ind) {
            for g in Gender::ALL {
                if let Some(value) = s.part(*g) {
                    out.push(IndexRow {
                        indicator: id.clone(),
                        year: s.year.unwrap_or_default(),
                        gender: *g,
                        value,
                        periods: s.periods,
                    });
                }
            }
        }
    }
    out
}

/// A cell of the follow-up's running totals: a grouping (`all`, `objective`, or `role:` and a
/// party role), the group's key (`""`, an objective code, or an organisation number), the year,
/// the indicator and the part.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TotalKey {
    /// `all`, `objective` or `role:<party role>`.
    pub grouping: String,
    /// `""`, the objective's code, or the organisation number.
    pub key: String,
    /// The year.
    pub year: i32,
    /// The indicator.
    pub indicator: String,
    /// The part's code.
    pub gender: &'static str,
}

/// The grouping of a party role in [`TotalKey`].
pub fn role_grouping(role: super::codes::PartyRole) -> String {
    format!("role:{}", role.code())
}

/// The groups an agreement counts in: everything, each of its parties in its role (once per
/// organisation and role), and each of its social objectives.
fn total_groups(a: &Agreement) -> Vec<(String, String)> {
    let mut groups = vec![("all".to_owned(), String::new())];
    for p in &a.parties {
        let g = (role_grouping(p.role), p.org.as_str().to_owned());
        if !groups.contains(&g) {
            groups.push(g);
        }
    }
    let bits = a.social_objective_bits();
    for o in super::codes::SocialObjective::ALL {
        if bits & o.bit() != 0 {
            groups.push(("objective".to_owned(), o.code().to_owned()));
        }
    }
    groups
}

/// What writing `new` in place of `old` (`None`: a new agreement) changes in the running totals:
/// per cell, the change of the sum (hundredths) and of the count of agreements. Cells that do not
/// change are left out, so an edit that touches neither figures, parties nor objectives changes
/// nothing.
pub fn total_changes(old: Option<&Agreement>, new: &Agreement) -> Vec<(TotalKey, i64, i64)> {
    let mut out: std::collections::BTreeMap<TotalKey, (i64, i64)> = Default::default();
    let mut add = |a: &Agreement, sign: i64| {
        let rows = index_rows(a);
        if rows.is_empty() {
            return;
        }
        for (grouping, key) in total_groups(a) {
            for r in &rows {
                let cell = out
                    .entry(TotalKey {
                        grouping: grouping.clone(),
                        key: key.clone(),
                        year: r.year,
                        indicator: r.indicator.to_string(),
                        gender: r.gender.code(),
                    })
                    .or_default();
                cell.0 += sign * r.value.centi();
                cell.1 += sign;
            }
        }
    };
    if let Some(old) = old {
        add(old, -1);
    }
    add(new, 1);
    out.into_iter()
        .filter(|(_, (sum, n))| *sum != 0 || *n != 0)
        .map(|(k, (sum, n))| (k, sum, n))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        super::super::dates::parse_iso_date(s).unwrap_or_default()
    }

    fn id(s: &str) -> IndicatorId {
        IndicatorId::parse(s).unwrap_or_else(|e| panic!("{e}"))
    }

    fn q(n: i64) -> Quantity {
        Quantity::whole(n)
    }

    fn fig(ind: &str, total: i64, w: i64, m: i64, o: i64) -> Figure {
        Figure {
            indicator: id(ind),
            total: q(total),
            women: Some(q(w)),
            men: Some(q(m)),
            other: Some(q(o)),
        }
    }

    /// AGR-2025-0001 with a participants target and its first report carrying participants.
    fn textile() -> Agreement {
        let mut a = crate::domain::samples::agreements()
            .into_iter()
            .find(|a| a.reference.as_str() == "AGR-2025-0001")
            .unwrap_or_else(|| panic!("no sample"));
        if let Some(iop) = a.iop.as_mut() {
            iop.goals[0].targets = vec![Target {
                indicator: id("participants"),
                value: q(12),
                direction: Direction::AtLeast,
                per: TargetPer::Year,
            }];
        }
        a.reporting[0].indicators = vec![id("participants")];
        a.reporting[0].occurrences.clear();
        a
    }

    fn accept(a: &mut Agreement, pe: &str, figures: Vec<Figure>, state: OccurrenceState) {
        let mut r = OccurrenceRecord::open(d(pe));
        r.state = state;
        r.figures = figures;
        a.reporting[0].occurrences.push(r);
        a.reporting[0].occurrences.sort_by_key(|r| r.period_end);
    }

    #[test]
    fn targets_read_and_write_the_short_swedish_form() {
        let t: Target = "participants minst 12 per år"
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.value, q(12));
        assert_eq!(t.to_string(), "participants minst 12 per år");
        let t: Target = "moved_on_share högst 33,5 under avtalstiden"
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((t.direction, t.per), (Direction::AtMost, TargetPer::Term));
        assert_eq!(t.to_string(), "moved_on_share högst 33,5 under avtalstiden");
        for bad in [
            "participants",
            "participants ungefär 12",
            "participants minst tolv",
            "x minst 1",
        ] {
            assert!(bad.parse::<Target>().is_err(), "{bad}");
        }
    }

    #[test]
    fn every_figure_rule_names_its_field() {
        let a = textile();
        let cases: Vec<(Figure, &str, &str)> = vec![
            (
                Figure {
                    total: Quantity::from_centi(250),
                    ..fig("participants", 0, 1, 1, 0)
                },
                "figures.participants.total",
                "whole_people",
            ),
            (
                fig("participants", 5, 1, 1, 0),
                "figures.participants.total",
                "breakdown_sums_to_total",
            ),
            (
                fig("participants", -1, 0, 0, -1),
                "figures.participants.total",
                "figure_non_negative",
            ),
            (
                Figure {
                    men: None,
                    ..fig("participants", 2, 1, 1, 0)
                },
                "figures.participants.men",
                "gender_breakdown_required",
            ),
            (
                fig("moved_on_share", 120, 20, 30, 0),
                "figures.moved_on_share.total",
                "share_0_100",
            ),
            (
                fig("volunteer_hours", 10, 5, 5, 0),
                "figures.volunteer_hours.women",
                "no_gender_breakdown",
            ),
            (
                fig("no_such_thing", 1, 1, 0, 0),
                "figures.no_such_thing.indicator",
                "unknown_indicator",
            ),
        ];
        for (f, field, rule) in cases {
            let v = figure_rules(&a, "figures", &[f]);
            assert!(
                v.iter().any(|x| x.field == field && x.rule == rule),
                "{rule} at {field}: {v:?}"
            );
        }
        // A share's parts need not add up to its total.
        assert!(figure_rules(&a, "figures", &[fig("moved_on_share", 40, 50, 30, 0)]).is_empty());
    }

    #[test]
    fn a_submission_carries_exactly_the_reports_indicators_and_far_off_figures_need_confirming() {
        let mut a = textile();
        let pe = d("2025-12-31");
        let none = submission_rules(&a, 0, pe, &[], false);
        assert_eq!(
            none.iter().map(|v| v.rule).collect::<Vec<_>>(),
            vec!["figure_required"]
        );
        let extra = submission_rules(
            &a,
            0,
            pe,
            &[fig("participants", 6, 3, 3, 0), fig("EECO01", 6, 3, 3, 0)],
            false,
        );
        assert_eq!(extra.len(), 1);
        assert_eq!(extra[0].rule, "indicator_not_in_report");
        accept(
            &mut a,
            "2025-06-30",
            vec![fig("participants", 6, 3, 3, 0)],
            OccurrenceState::Accepted,
        );
        let big = [fig("participants", 60, 30, 30, 0)];
        let v = submission_rules(&a, 0, pe, &big, false);
        assert_eq!(
            v.iter().map(|v| v.rule).collect::<Vec<_>>(),
            vec!["unusual_value"]
        );
        assert!(
            submission_rules(&a, 0, pe, &big, true).is_empty(),
            "confirmed"
        );
        assert!(submission_rules(&a, 0, pe, &[fig("participants", 9, 5, 4, 0)], false).is_empty());
    }

    #[test]
    fn only_accepted_figures_count_summed_over_periods_and_genders() {
        let mut a = textile();
        accept(
            &mut a,
            "2025-06-30",
            vec![fig("participants", 7, 4, 3, 0)],
            OccurrenceState::Accepted,
        );
        accept(
            &mut a,
            "2025-12-31",
            vec![fig("participants", 6, 2, 3, 1)],
            OccurrenceState::Accepted,
        );
        accept(
            &mut a,
            "2026-06-30",
            vec![fig("participants", 50, 25, 25, 0)],
            OccurrenceState::Rejected,
        );
        accept(
            &mut a,
            "2026-12-31",
            vec![fig("participants", 40, 20, 20, 0)],
            OccurrenceState::Submitted,
        );
        let ind = indicator(&a, &id("participants"))
            .cloned()
            .unwrap_or_else(|| panic!("no ind"));
        let years = yearly(&a, &ind);
        assert_eq!(years.len(), 1, "{years:?}");
        assert_eq!(
            (years[0].total, years[0].women, years[0].men, years[0].other),
            (q(13), Some(q(6)), Some(q(6)), Some(q(1)))
        );
        let rows = index_rows(&a);
        assert_eq!(rows.len(), 4);
        assert!(rows.iter().all(|r| r.year == 2025 && r.periods == 2));
        let p = progress(&a, d("2026-11-22"));
        assert_eq!(p[0].verdict, Verdict::Met, "13 of 12 in 2025");
    }

    #[test]
    fn the_verdict_keeps_pace_for_sums_and_judges_shares_as_they_stand() {
        let at_least = Target {
            indicator: id("participants"),
            value: q(12),
            direction: Direction::AtLeast,
            per: TargetPer::Year,
        };
        assert_eq!(
            verdict(&at_least, Aggregation::Sum, q(7), 0.5),
            Verdict::OnTrack
        );
        assert_eq!(
            verdict(&at_least, Aggregation::Sum, q(5), 0.5),
            Verdict::Behind
        );
        assert_eq!(
            verdict(&at_least, Aggregation::Sum, q(11), 1.0),
            Verdict::Behind
        );
        assert_eq!(
            verdict(&at_least, Aggregation::Sum, q(12), 0.5),
            Verdict::Met
        );
        assert_eq!(
            verdict(&at_least, Aggregation::Average, q(12), 0.5),
            Verdict::OnTrack
        );
        assert_eq!(
            verdict(&at_least, Aggregation::Average, q(12), 1.0),
            Verdict::Met
        );
        let at_most = Target {
            direction: Direction::AtMost,
            ..at_least
        };
        assert_eq!(
            verdict(&at_most, Aggregation::Sum, q(13), 0.5),
            Verdict::Behind
        );
        assert_eq!(
            verdict(&at_most, Aggregation::Sum, q(3), 0.5),
            Verdict::OnTrack
        );
        assert_eq!(verdict(&at_most, Aggregation::Sum, q(3), 1.0), Verdict::Met);
    }

    #[test]
    fn rejected_figures_move_to_the_history_when_new_ones_come() {
        let mut r = OccurrenceRecord::open(d("2025-06-30"));
        r.state = OccurrenceState::Rejected;
        r.rejection_reason = Some("fel".into());
        r.figures = vec![fig("participants", 1, 1, 0, 0)];
        record_figures(&mut r, vec![fig("participants", 2, 1, 1, 0)]);
        assert_eq!(r.rejected_figures.len(), 1);
        assert_eq!(r.rejected_figures[0].reason.as_deref(), Some("fel"));
        assert_eq!(r.figures[0].total, q(2));
    }

    #[test]
    fn running_totals_change_only_with_figures_parties_or_objectives() {
        let a = crate::domain::samples::agreements()
            .into_iter()
            .find(|a| a.reference.as_str() == "AGR-2025-0001")
            .unwrap_or_else(|| panic!("no sample"));
        let new = total_changes(None, &a);
        assert!(!new.is_empty(), "the sample has accepted figures");
        assert!(
            new.iter().all(|(_, _, n)| *n == 1),
            "a new agreement counts once per cell"
        );
        assert!(
            new.iter().any(|(k, _, _)| k.grouping == "all")
                && new.iter().any(|(k, _, _)| k.grouping == "role:iop_partner"),
            "{new:?}"
        );
        let mut retitled = a.clone();
        retitled.title.push_str(" (rev.)");
        assert!(
            total_changes(Some(&a), &retitled).is_empty(),
            "nothing to change"
        );
        let mut aimed = a.clone();
        aimed.eforms.bt_775 = vec![crate::domain::codes::SocialObjective::Employment];
        let changes = total_changes(Some(&a), &aimed);
        assert!(!changes.is_empty());
        assert!(
            changes
                .iter()
                .all(|(k, _, n)| k.grouping == "objective" && k.key == "opp" && *n == 1),
            "{changes:?}"
        );
        let mut moved = a.clone();
        if let Some(p) = moved.parties.first_mut() {
            p.org = crate::domain::org_number::OrgNumber::parse("212000-0142")
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let changes = total_changes(Some(&a), &moved);
        assert!(
            changes.iter().any(|(_, _, n)| *n == -1) && changes.iter().any(|(_, _, n)| *n == 1)
        );
        assert!(
            changes
                .iter()
                .all(|(k, _, _)| k.grouping.starts_with("role:")),
            "{changes:?}"
        );
    }
}
