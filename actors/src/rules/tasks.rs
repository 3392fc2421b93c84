//! Tasks and quests: what a task asks of a seller, how an answer is checked and scored,
//! when a task can be done again, who it is for, how quests and streaks add up, and how
//! much a participant's history is trusted.
//!
//! Rules, in one place:
//! - A task is one of eight kinds ([`TaskSpec`]). Photo tasks (shelf photo, self-audit)
//!   always need a moderator; a quiz and a sales plan never do (they score themselves);
//!   the others default one way and may be switched ([`TaskSpec::moderation`]).
//! - An answer is checked against the task in full ([`check`]): every problem is listed,
//!   nothing is half-accepted. A quiz question counts as right only when exactly the
//!   correct options are chosen; the quiz passes at `pass_mark` right answers.
//! - Recurrence cuts time into periods in the program's zone ([`Recurrence::period`]):
//!   `daily` restarts at local midnight, `weekly` on Monday 00:00 local, `none` never.
//!   Within a period a participant may complete a task `max_completions` times and start
//!   at most `max_attempts` attempts ([`Limits`]); a resubmission after rework continues
//!   its attempt rather than starting a new one.
//! - An audience ([`Audience`]) is a place filter (any of its regions *or* stores), a
//!   level filter and a role filter, all of which must hold; an empty list filters nothing.
//! - A chain quest counts its steps in order: step *k* counts only if done at or after
//!   the moment step *k − 1* was done ([`steps_done`]); a set counts steps in any order.
//!   A streak counts consecutive local days (or weeks) with at least one completion and
//!   pays each time the run reaches a multiple of its length ([`streak_bonus_due`]).
//! - Trust ([`trust_score`]) is the share of moderator decisions that were approvals,
//!   pessimistically smoothed so a short history never looks perfect.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::codes::ProductCode;
use super::points::Points;
use super::windows::{Window, WindowBucket, WindowError};

/// Questions in a quiz or survey: a phone screen's worth of minutes, not an exam.
pub const MAX_QUESTIONS: usize = 50;
/// Options of one question.
pub const MAX_OPTIONS: usize = 10;
/// Checklist items or price-report products of one task.
pub const MAX_ITEMS: usize = 50;
/// A question, option, checklist item or product name.
pub const MAX_TEXT: usize = 500;
/// A free-text survey answer or a seller's comment.
pub const MAX_ANSWER_TEXT: usize = 2000;
/// Photos one submission may require; equals the upload limit of one request.
pub const MAX_PHOTOS: u32 = 10;

/// One problem with a task definition or an answer; `field` is a dotted path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub field: String,
    pub message: String,
}

fn issue(field: impl Into<String>, message: impl Into<String>) -> Issue {
    Issue {
        field: field.into(),
        message: message.into(),
    }
}

/// Checks a display text: not blank, at most `max` characters, no control characters.
fn check_text(issues: &mut Vec<Issue>, field: String, text: &str, max: usize) {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        issues.push(issue(field, "must not be empty"));
    } else if trimmed.chars().count() > max {
        issues.push(issue(field, format!("at most {max} characters")));
    } else if trimmed.chars().any(|c| c.is_control() && c != '\n') {
        issues.push(issue(field, "must not contain control characters"));
    }
}

/// A quiz question. `correct` holds the indices of the right options (several make it a
/// multiple-choice question); it is never shown to participants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct QuizQuestion {
    pub text: String,
    pub options: Vec<String>,
    /// 0-based indices into `options`. Omitted in what participants see.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub correct: Vec<u32>,
}

/// A survey question: with `options` the participant picks (one, or several when
/// `multiple`); without, they write a free-text answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SurveyQuestion {
    pub text: String,
    #[serde(default)]
    pub options: Vec<String>,
    #[serde(default)]
    pub multiple: bool,
}

fn one() -> u32 {
    1
}

/// What a task asks for. The `kind` tag names it in the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TaskSpec {
    /// Photograph the brand's shelf; optionally tick a checklist (facings, price tags).
    ShelfPhoto {
        #[serde(default = "one")]
        min_photos: u32,
        #[serde(default)]
        checklist: Vec<String>,
    },
    /// Scan (or type) the code on a package of the product to show it is in stock.
    StockCheck {
        /// What to look for, shown to the seller (e.g. "AquaLine mixer 40 mm").
        product: Option<String>,
        /// When set, the code must be one issued for this catalog product (checked
        /// against the codes on record); without it any well-formed code counts.
        #[serde(default)]
        product_id: Option<i64>,
    },
    /// Questions with options, scored at once; passes at `pass_mark` right answers.
    Quiz {
        questions: Vec<QuizQuestion>,
        pass_mark: u32,
    },
    /// Questions without a right answer; the answers are recorded.
    Survey { questions: Vec<SurveyQuestion> },
    /// Sell at least this much in the task's period (any target given must be met).
    /// Progress is the participant's sales income: credited code and receipt points.
    SalesPlan {
        /// Sales (credited codes and receipts) in the period.
        target_quantity: Option<i64>,
        /// Points earned from sales in the period, decimal string.
        #[schema(value_type = Option<String>)]
        target_amount: Option<Points>,
    },
    /// Walk through the store with a checklist and photograph it.
    SelfAudit {
        checklist: Vec<String>,
        #[serde(default = "one")]
        min_photos: u32,
    },
    /// Report the prices of these competitor products as seen on the shelf.
    PriceReport { products: Vec<String> },
    /// Finish a training course and mark it done.
    Training {
        course: String,
        /// Where the course is, if online.
        url: Option<String>,
    },
}

/// Whether a kind of task goes through a moderator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moderation {
    /// Always: photos are points only after a person looked at them.
    Required,
    /// The task's author decides; `default` when they do not say.
    Optional { default: bool },
    /// Never: the answer scores itself, a person adds nothing.
    Never,
}

impl TaskSpec {
    /// The `kind` tag, as in the API and the database.
    pub fn kind(&self) -> &'static str {
        match self {
            TaskSpec::ShelfPhoto { .. } => "shelf_photo",
            TaskSpec::StockCheck { .. } => "stock_check",
            TaskSpec::Quiz { .. } => "quiz",
            TaskSpec::Survey { .. } => "survey",
            TaskSpec::SalesPlan { .. } => "sales_plan",
            TaskSpec::SelfAudit { .. } => "self_audit",
            TaskSpec::PriceReport { .. } => "price_report",
            TaskSpec::Training { .. } => "training",
        }
    }

    pub fn moderation(&self) -> Moderation {
        match self {
            TaskSpec::ShelfPhoto { .. } | TaskSpec::SelfAudit { .. } => Moderation::Required,
            TaskSpec::PriceReport { .. } => Moderation::Optional { default: true },
            TaskSpec::StockCheck { .. } | TaskSpec::Survey { .. } | TaskSpec::Training { .. } => {
                Moderation::Optional { default: false }
            }
            TaskSpec::Quiz { .. } | TaskSpec::SalesPlan { .. } => Moderation::Never,
        }
    }

    /// Whether submissions of this task are moderated, given what the author asked for.
    pub fn resolve_moderation(&self, requested: Option<bool>) -> Result<bool, String> {
        match (self.moderation(), requested) {
            (Moderation::Required, Some(false)) => Err(format!(
                "{} tasks are always checked by a moderator",
                self.kind()
            )),
            (Moderation::Never, Some(true)) => Err(format!(
                "{} tasks score themselves and cannot be moderated",
                self.kind()
            )),
            (Moderation::Required, _) => Ok(true),
            (Moderation::Never, _) => Ok(false),
            (Moderation::Optional { default }, requested) => Ok(requested.unwrap_or(default)),
        }
    }

    /// Whether answers carry photos.
    pub fn takes_photos(&self) -> bool {
        matches!(
            self,
            TaskSpec::ShelfPhoto { .. } | TaskSpec::SelfAudit { .. } | TaskSpec::PriceReport { .. }
        )
    }

    /// The task as participants see it: without the quiz's right answers.
    pub fn for_participants(&self) -> TaskSpec {
        match self {
            TaskSpec::Quiz {
                questions,
                pass_mark,
            } => TaskSpec::Quiz {
                questions: questions
                    .iter()
                    .map(|q| QuizQuestion {
                        correct: Vec::new(),
                        ..q.clone()
                    })
                    .collect(),
                pass_mark: *pass_mark,
            },
            other => other.clone(),
        }
    }

    /// Every problem of the definition; fields are under `spec.`.
    pub fn validate(&self) -> Vec<Issue> {
        let mut issues = Vec::new();
        let items = |issues: &mut Vec<Issue>, name: &str, list: &[String], min: usize| {
            if list.len() < min || list.len() > MAX_ITEMS {
                issues.push(issue(
                    format!("spec.{name}"),
                    format!("{min} to {MAX_ITEMS} entries"),
                ));
            }
            for (i, text) in list.iter().enumerate() {
                check_text(issues, format!("spec.{name}[{i}]"), text, MAX_TEXT);
            }
        };
        let photos = |issues: &mut Vec<Issue>, min_photos: u32| {
            if !(1..=MAX_PHOTOS).contains(&min_photos) {
                issues.push(issue("spec.min_photos", format!("1 to {MAX_PHOTOS}")));
            }
        };
        match self {
            TaskSpec::ShelfPhoto {
                min_photos,
                checklist,
            } => {
                photos(&mut issues, *min_photos);
                items(&mut issues, "checklist", checklist, 0);
            }
            TaskSpec::SelfAudit {
                checklist,
                min_photos,
            } => {
                photos(&mut issues, *min_photos);
                items(&mut issues, "checklist", checklist, 1);
            }
            TaskSpec::StockCheck { product, .. } => {
                if let Some(product) = product {
                    check_text(&mut issues, "spec.product".into(), product, MAX_TEXT);
                }
            }
            TaskSpec::Quiz {
                questions,
                pass_mark,
            } => {
                if questions.is_empty() || questions.len() > MAX_QUESTIONS {
                    issues.push(issue(
                        "spec.questions",
                        format!("1 to {MAX_QUESTIONS} questions"),
                    ));
                }
                for (i, question) in questions.iter().enumerate() {
                    let at = format!("spec.questions[{i}]");
                    check_text(&mut issues, format!("{at}.text"), &question.text, MAX_TEXT);
                    check_options(&mut issues, &at, &question.options);
                    let distinct: BTreeSet<u32> = question.correct.iter().copied().collect();
                    if question.correct.is_empty() {
                        issues.push(issue(
                            format!("{at}.correct"),
                            "name at least one right option",
                        ));
                    } else if distinct.len() != question.correct.len()
                        || distinct
                            .iter()
                            .any(|&c| c as usize >= question.options.len())
                    {
                        issues.push(issue(
                            format!("{at}.correct"),
                            "distinct 0-based indices of options",
                        ));
                    }
                }
                if *pass_mark == 0 || *pass_mark as usize > questions.len() {
                    issues.push(issue(
                        "spec.pass_mark",
                        "right answers needed to pass: 1 to the number of questions",
                    ));
                }
            }
            TaskSpec::Survey { questions } => {
                if questions.is_empty() || questions.len() > MAX_QUESTIONS {
                    issues.push(issue(
                        "spec.questions",
                        format!("1 to {MAX_QUESTIONS} questions"),
                    ));
                }
                for (i, question) in questions.iter().enumerate() {
                    let at = format!("spec.questions[{i}]");
                    check_text(&mut issues, format!("{at}.text"), &question.text, MAX_TEXT);
                    if question.options.is_empty() {
                        if question.multiple {
                            issues.push(issue(
                                format!("{at}.multiple"),
                                "only a question with options can allow several",
                            ));
                        }
                    } else {
                        check_options(&mut issues, &at, &question.options);
                    }
                }
            }
            TaskSpec::SalesPlan {
                target_quantity,
                target_amount,
            } => {
                if target_quantity.is_none() && target_amount.is_none() {
                    issues.push(issue("spec", "give target_quantity, target_amount or both"));
                }
                if target_quantity.is_some_and(|q| q < 1) {
                    issues.push(issue("spec.target_quantity", "at least 1"));
                }
                if target_amount.is_some_and(|a| !a.is_positive()) {
                    issues.push(issue("spec.target_amount", "a positive amount"));
                }
            }
            TaskSpec::PriceReport { products } => items(&mut issues, "products", products, 1),
            TaskSpec::Training { course, url } => {
                check_text(&mut issues, "spec.course".into(), course, MAX_TEXT);
                if let Some(url) = url
                    && (url.len() > MAX_TEXT
                        || !(url.starts_with("https://") || url.starts_with("http://")))
                {
                    issues.push(issue("spec.url", "an http(s) address"));
                }
            }
        }
        issues
    }
}

fn check_options(issues: &mut Vec<Issue>, at: &str, options: &[String]) {
    if options.len() < 2 || options.len() > MAX_OPTIONS {
        issues.push(issue(
            format!("{at}.options"),
            format!("2 to {MAX_OPTIONS} options"),
        ));
    }
    for (j, option) in options.iter().enumerate() {
        check_text(issues, format!("{at}.options[{j}]"), option, MAX_TEXT);
    }
}

/// One answer to a quiz or survey question.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Answer {
    /// Chosen options, 0-based.
    #[serde(default)]
    pub options: Vec<u32>,
    /// A free-text answer (survey questions without options).
    pub text: Option<String>,
}

/// One line of a price report, in the order of the task's products.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PriceEntry {
    /// The shelf price, decimal string (`"349.90"`); null when the product is not on
    /// the shelf.
    #[schema(value_type = Option<String>)]
    pub price: Option<Points>,
}

/// What a participant answers. Each kind reads its own fields and refuses the others'
/// absence; unrelated fields are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Answers {
    /// Shelf photo, self-audit: one flag per checklist item, in order.
    pub checklist: Option<Vec<bool>>,
    /// Stock check: the code as scanned (QR payload or link) or typed.
    pub code: Option<String>,
    /// Quiz, survey: one answer per question, in order.
    pub answers: Option<Vec<Answer>>,
    /// Price report: one entry per product, in order.
    pub prices: Option<Vec<PriceEntry>>,
    /// Training: the course is finished.
    pub completed: Option<bool>,
    /// A note for the moderator.
    pub comment: Option<String>,
}

/// Sales counted for a plan over its period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PlanProgress {
    /// Credited sales (codes and receipts).
    pub quantity: i64,
    /// Points those sales earned.
    #[schema(value_type = String)]
    pub amount: Points,
}

impl PlanProgress {
    /// Whether every target the plan sets is reached.
    pub fn meets(&self, target_quantity: Option<i64>, target_amount: Option<Points>) -> bool {
        target_quantity.is_none_or(|q| self.quantity >= q)
            && target_amount.is_none_or(|a| self.amount >= a)
    }
}

/// What the checker needs besides the answer.
#[derive(Debug, Clone, Copy, Default)]
pub struct Context {
    /// Photos attached.
    pub photos: usize,
    /// The participant's sales in the period, for a sales plan.
    pub plan: Option<PlanProgress>,
}

/// A quiz's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Score {
    pub correct: u32,
    pub total: u32,
    pub pass_mark: u32,
}

/// An answer that fits its task.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    /// The answer, normalised, as stored and shown to the moderator (a code in its
    /// canonical form, questions next to their answers).
    pub record: serde_json::Value,
    pub score: Option<Score>,
    /// Whether the answer does the task: a quiz at its pass mark, a plan met. Other
    /// kinds pass when well-formed (a moderator may still reject them).
    pub passed: bool,
    /// The product code of a stock check.
    pub code: Option<ProductCode>,
}

/// Checks `answers` against `spec`; lists every problem at once.
pub fn check(spec: &TaskSpec, answers: &Answers, context: &Context) -> Result<Checked, Vec<Issue>> {
    let mut issues = Vec::new();
    if let Some(comment) = &answers.comment
        && comment.chars().count() > MAX_ANSWER_TEXT
    {
        issues.push(issue(
            "comment",
            format!("at most {MAX_ANSWER_TEXT} characters"),
        ));
    }
    if !spec.takes_photos() && context.photos > 0 {
        issues.push(issue("photos", "this task takes no photos"));
    }
    let mut checked = Checked {
        record: serde_json::Value::Null,
        score: None,
        passed: true,
        code: None,
    };
    match spec {
        TaskSpec::ShelfPhoto {
            min_photos,
            checklist,
        }
        | TaskSpec::SelfAudit {
            checklist,
            min_photos,
        } => {
            if context.photos < *min_photos as usize {
                issues.push(issue(
                    "photos",
                    format!("attach at least {min_photos} photo(s)"),
                ));
            }
            let ticks = check_checklist(&mut issues, checklist, answers.checklist.as_deref());
            checked.record = serde_json::json!({ "checklist": ticks });
        }
        TaskSpec::StockCheck { .. } => match answers.code.as_deref().map(str::trim) {
            None | Some("") => issues.push(issue("code", "scan or type the code on the package")),
            Some(raw) => match ProductCode::parse_scanned(raw) {
                Ok(code) => {
                    checked.record = serde_json::json!({ "code": code.as_str() });
                    checked.code = Some(code);
                }
                Err(err) => issues.push(issue("code", err.to_string())),
            },
        },
        TaskSpec::Quiz {
            questions,
            pass_mark,
        } => {
            let given = answers_for(&mut issues, questions.len(), answers.answers.as_deref());
            let mut correct = 0;
            let mut lines = Vec::with_capacity(questions.len());
            for (i, (question, answer)) in questions.iter().zip(given).enumerate() {
                let chosen = check_choice(&mut issues, i, question.options.len(), answer, true);
                let right: BTreeSet<u32> = question.correct.iter().copied().collect();
                let is_right = chosen.as_ref() == Some(&right);
                correct += u32::from(is_right);
                lines.push(serde_json::json!({ "question": question.text, "chosen": chosen, "right": is_right }));
            }
            let score = Score {
                correct,
                total: questions.len() as u32,
                pass_mark: *pass_mark,
            };
            checked.passed = correct >= *pass_mark;
            checked.score = Some(score);
            checked.record = serde_json::json!({ "answers": lines, "score": score });
        }
        TaskSpec::Survey { questions } => {
            let given = answers_for(&mut issues, questions.len(), answers.answers.as_deref());
            let mut lines = Vec::with_capacity(questions.len());
            for (i, (question, answer)) in questions.iter().zip(given).enumerate() {
                if question.options.is_empty() {
                    let text = answer.text.as_deref().map(str::trim).unwrap_or_default();
                    if text.is_empty() {
                        issues.push(issue(format!("answers[{i}].text"), "write an answer"));
                    } else if text.chars().count() > MAX_ANSWER_TEXT {
                        issues.push(issue(
                            format!("answers[{i}].text"),
                            format!("at most {MAX_ANSWER_TEXT} characters"),
                        ));
                    }
                    lines.push(serde_json::json!({ "question": question.text, "text": text }));
                } else {
                    let chosen = check_choice(
                        &mut issues,
                        i,
                        question.options.len(),
                        answer,
                        question.multiple,
                    );
                    lines.push(serde_json::json!({ "question": question.text, "chosen": chosen }));
                }
            }
            checked.record = serde_json::json!({ "answers": lines });
        }
        TaskSpec::SalesPlan {
            target_quantity,
            target_amount,
        } => {
            let progress = context.plan.unwrap_or_default();
            checked.passed = progress.meets(*target_quantity, *target_amount);
            checked.record = serde_json::json!({ "progress": progress });
        }
        TaskSpec::PriceReport { products } => match answers.prices.as_deref() {
            None => issues.push(issue("prices", "one entry per product")),
            Some(prices) if prices.len() != products.len() => issues.push(issue(
                "prices",
                format!("{} entries, one per product in order", products.len()),
            )),
            Some(prices) => {
                for (i, entry) in prices.iter().enumerate() {
                    if entry.price.is_some_and(|p| !p.is_positive()) {
                        issues.push(issue(format!("prices[{i}].price"), "a positive price"));
                    }
                }
                if prices.iter().all(|entry| entry.price.is_none()) {
                    issues.push(issue("prices", "report at least one price"));
                }
                let lines: Vec<_> = products
                    .iter()
                    .zip(prices)
                    .map(|(product, entry)| serde_json::json!({ "product": product, "price": entry.price }))
                    .collect();
                checked.record = serde_json::json!({ "prices": lines });
            }
        },
        TaskSpec::Training { course, .. } => {
            if answers.completed != Some(true) {
                issues.push(issue("completed", "finish the course, then send true"));
            }
            checked.record = serde_json::json!({ "course": course, "completed": true });
        }
    }
    if let (Some(comment), Some(record)) = (&answers.comment, checked.record.as_object_mut()) {
        let comment = comment.trim();
        if !comment.is_empty() {
            record.insert("comment".into(), comment.into());
        }
    }
    if issues.is_empty() {
        Ok(checked)
    } else {
        Err(issues)
    }
}

fn check_checklist(
    issues: &mut Vec<Issue>,
    checklist: &[String],
    ticks: Option<&[bool]>,
) -> Vec<serde_json::Value> {
    if checklist.is_empty() {
        return Vec::new();
    }
    match ticks {
        Some(ticks) if ticks.len() == checklist.len() => checklist
            .iter()
            .zip(ticks)
            .map(|(item, done)| serde_json::json!({ "item": item, "done": done }))
            .collect(),
        _ => {
            issues.push(issue(
                "checklist",
                format!("{} flags, one per checklist item in order", checklist.len()),
            ));
            Vec::new()
        }
    }
}

/// The answers to `count` questions, or an issue and an empty list.
fn answers_for<'a>(
    issues: &mut Vec<Issue>,
    count: usize,
    given: Option<&'a [Answer]>,
) -> &'a [Answer] {
    match given {
        Some(given) if given.len() == count => given,
        _ => {
            issues.push(issue(
                "answers",
                format!("{count} answers, one per question in order"),
            ));
            &[]
        }
    }
}

/// The chosen options of question `i`, if the choice is well-formed.
fn check_choice(
    issues: &mut Vec<Issue>,
    i: usize,
    options: usize,
    answer: &Answer,
    multiple: bool,
) -> Option<BTreeSet<u32>> {
    let chosen: BTreeSet<u32> = answer.options.iter().copied().collect();
    let field = format!("answers[{i}].options");
    if chosen.is_empty() {
        issues.push(issue(field, "choose an option"));
        None
    } else if chosen.len() != answer.options.len() || chosen.iter().any(|&c| c as usize >= options)
    {
        issues.push(issue(
            field,
            format!(
                "distinct option indices from 0 to {}",
                options.saturating_sub(1)
            ),
        ));
        None
    } else if !multiple && chosen.len() > 1 {
        issues.push(issue(field, "choose one option"));
        None
    } else {
        Some(chosen)
    }
}

/// How often a task (or quest) starts over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Recurrence {
    /// Once for the task's whole life.
    #[default]
    None,
    /// Every local day.
    Daily,
    /// Every ISO week, from Monday 00:00 local.
    Weekly,
}

impl Recurrence {
    pub fn as_str(self) -> &'static str {
        match self {
            Recurrence::None => "none",
            Recurrence::Daily => "daily",
            Recurrence::Weekly => "weekly",
        }
    }

    pub fn parse(value: &str) -> Result<Self, String> {
        match value {
            "none" => Ok(Recurrence::None),
            "daily" => Ok(Recurrence::Daily),
            "weekly" => Ok(Recurrence::Weekly),
            other => Err(format!(
                "unknown recurrence {other:?}; expected none, daily or weekly"
            )),
        }
    }
}

/// One period of a schedule: `[start_ms, end_ms)` and a readable key
/// (`all`, `2024-06-15`, `2024-W24`) that names it in ledger keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Period {
    pub start_ms: i64,
    /// `None` when the period never ends.
    pub end_ms: Option<i64>,
    pub key: String,
}

impl Period {
    pub fn contains(&self, at_ms: i64) -> bool {
        self.start_ms <= at_ms && self.end_ms.is_none_or(|end| at_ms < end)
    }
}

/// When a task or quest is open and how it recurs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Schedule {
    pub starts_at: Option<i64>,
    pub ends_at: Option<i64>,
    pub recurrence: Recurrence,
}

impl Schedule {
    pub fn validate(&self) -> Option<Issue> {
        match (self.starts_at, self.ends_at) {
            (Some(start), Some(end)) if end <= start => {
                Some(issue("ends_at", "must be after starts_at"))
            }
            _ => None,
        }
    }

    pub fn is_open(&self, at_ms: i64) -> bool {
        self.starts_at.is_none_or(|s| at_ms >= s) && self.ends_at.is_none_or(|e| at_ms < e)
    }

    /// The period containing `at_ms`, in zone `tz`, clipped to the schedule.
    pub fn period(&self, at_ms: i64, tz: Tz) -> Result<Period, WindowError> {
        let window = match self.recurrence {
            Recurrence::None => {
                return Ok(Period {
                    start_ms: self.starts_at.unwrap_or(0),
                    end_ms: self.ends_at,
                    key: "all".into(),
                });
            }
            Recurrence::Daily => Window::Day,
            Recurrence::Weekly => Window::Week,
        };
        let none = WindowBucket {
            start_ms: 0,
            end_ms: 0,
        };
        let bucket = window.bucket(at_ms, tz, none)?;
        let date = DateTime::from_timestamp_millis(bucket.start_ms)
            .ok_or(WindowError::OutOfRange)?
            .with_timezone(&tz)
            .date_naive();
        let key = match self.recurrence {
            Recurrence::Weekly => {
                let week = date.iso_week();
                format!("{}-W{:02}", week.year(), week.week())
            }
            _ => date.format("%Y-%m-%d").to_string(),
        };
        Ok(Period {
            start_ms: self
                .starts_at
                .map_or(bucket.start_ms, |s| s.max(bucket.start_ms)),
            end_ms: Some(self.ends_at.map_or(bucket.end_ms, |e| e.min(bucket.end_ms))),
            key,
        })
    }
}

/// How often a participant may do a task within one period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Completions (approved or auto-credited submissions).
    pub max_completions: u32,
    /// Attempts (first submissions, passed or not); `None` is unlimited.
    pub max_attempts: Option<u32>,
}

/// What a participant has done with a task in the current period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Usage {
    /// Completed (approved or credited at once).
    pub completed: u32,
    /// Waiting for a moderator.
    pub pending: u32,
    /// Sent back for rework and not yet resubmitted.
    pub rework: u32,
    /// Attempts started (resubmissions continue theirs).
    pub attempts: u32,
}

/// Why a new attempt is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Every completion of the period is done or waiting for a decision.
    CompletionLimit,
    AttemptsExhausted,
}

/// Where a participant stands with a task in the current period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskState {
    /// Can be done (again).
    Available,
    /// A moderator sent a submission back: fix and resubmit it.
    Rework,
    /// Every remaining completion waits for a moderator.
    Pending,
    /// Done as often as the period allows.
    Completed,
    /// No attempts left this period.
    Exhausted,
}

impl Limits {
    /// Whether a new attempt (not a resubmission) may start.
    pub fn may_start(&self, usage: &Usage) -> Result<(), Refusal> {
        if usage.completed + usage.pending + usage.rework >= self.max_completions {
            return Err(Refusal::CompletionLimit);
        }
        if self.max_attempts.is_some_and(|max| usage.attempts >= max) {
            return Err(Refusal::AttemptsExhausted);
        }
        Ok(())
    }

    pub fn attempts_left(&self, usage: &Usage) -> Option<u32> {
        self.max_attempts
            .map(|max| max.saturating_sub(usage.attempts))
    }

    pub fn state(&self, usage: &Usage) -> TaskState {
        if usage.rework > 0 {
            TaskState::Rework
        } else if usage.completed >= self.max_completions {
            TaskState::Completed
        } else {
            match self.may_start(usage) {
                Ok(()) => TaskState::Available,
                Err(Refusal::CompletionLimit) => TaskState::Pending,
                Err(Refusal::AttemptsExhausted) => TaskState::Exhausted,
            }
        }
    }
}

/// Who a task or quest is for. Empty lists filter nothing; `regions` and `stores`
/// together are one place filter (either matches).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Audience {
    #[serde(default)]
    pub regions: Vec<i64>,
    #[serde(default)]
    pub stores: Vec<i64>,
    /// Level indices (0 is the first level).
    #[serde(default)]
    pub levels: Vec<u32>,
    /// Role names, e.g. `seller`, `owner`.
    #[serde(default)]
    pub roles: Vec<String>,
}

/// A participant as an audience sees them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Member {
    pub region: Option<i64>,
    pub store: Option<i64>,
    pub level: u32,
    pub roles: BTreeSet<String>,
}

/// Entries one audience list may hold.
pub const MAX_AUDIENCE: usize = 1000;

impl Audience {
    pub fn includes(&self, member: &Member) -> bool {
        let placed = (self.regions.is_empty() && self.stores.is_empty())
            || member.region.is_some_and(|r| self.regions.contains(&r))
            || member.store.is_some_and(|s| self.stores.contains(&s));
        let leveled = self.levels.is_empty() || self.levels.contains(&member.level);
        let roled = self.roles.is_empty() || self.roles.iter().any(|r| member.roles.contains(r));
        placed && leveled && roled
    }

    /// Sizes only; that ids exist is for the caller to check.
    pub fn validate(&self) -> Vec<Issue> {
        let mut issues = Vec::new();
        for (name, len) in [
            ("regions", self.regions.len()),
            ("stores", self.stores.len()),
            ("levels", self.levels.len()),
            ("roles", self.roles.len()),
        ] {
            if len > MAX_AUDIENCE {
                issues.push(issue(
                    format!("audience.{name}"),
                    format!("at most {MAX_AUDIENCE} entries"),
                ));
            }
        }
        issues
    }
}

/// How a quest adds its tasks up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QuestKind {
    /// Every task, in order.
    Chain,
    /// Every task, in any order.
    Set,
    /// Any of its tasks on consecutive days (or weeks).
    Streak,
}

impl QuestKind {
    pub fn as_str(self) -> &'static str {
        match self {
            QuestKind::Chain => "chain",
            QuestKind::Set => "set",
            QuestKind::Streak => "streak",
        }
    }

    pub fn parse(value: &str) -> Result<Self, String> {
        match value {
            "chain" => Ok(QuestKind::Chain),
            "set" => Ok(QuestKind::Set),
            "streak" => Ok(QuestKind::Streak),
            other => Err(format!(
                "unknown quest kind {other:?}; expected chain, set or streak"
            )),
        }
    }
}

/// Steps of a chain or set done, given each step's completion times (any order).
pub fn steps_done(kind: QuestKind, steps: &[Vec<i64>]) -> usize {
    match kind {
        QuestKind::Set | QuestKind::Streak => steps.iter().filter(|s| !s.is_empty()).count(),
        QuestKind::Chain => {
            let mut since = i64::MIN;
            let mut done = 0;
            for times in steps {
                match times.iter().copied().filter(|&t| t >= since).min() {
                    Some(at) => {
                        since = at;
                        done += 1;
                    }
                    None => break,
                }
            }
            done
        }
    }
}

/// The unit of a streak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StreakUnit {
    Day,
    Week,
}

impl StreakUnit {
    pub fn as_str(self) -> &'static str {
        match self {
            StreakUnit::Day => "day",
            StreakUnit::Week => "week",
        }
    }

    pub fn parse(value: &str) -> Result<Self, String> {
        match value {
            "day" => Ok(StreakUnit::Day),
            "week" => Ok(StreakUnit::Week),
            other => Err(format!(
                "unknown streak unit {other:?}; expected day or week"
            )),
        }
    }

    /// The consecutive number of the local day (or ISO week) containing `at_ms`:
    /// neighbouring periods differ by one, whatever their length in hours.
    pub fn index(self, at_ms: i64, tz: Tz) -> Result<i64, WindowError> {
        let date = DateTime::from_timestamp_millis(at_ms)
            .ok_or(WindowError::OutOfRange)?
            .with_timezone(&tz)
            .date_naive();
        let day = i64::from(date.num_days_from_ce());
        Ok(match self {
            StreakUnit::Day => day,
            // Day 1 of the common era was a Monday, so weeks split on Mondays.
            StreakUnit::Week => (day - 1).div_euclid(7),
        })
    }

    /// The schedule whose periods are this unit's (for period keys).
    pub fn recurrence(self) -> Recurrence {
        match self {
            StreakUnit::Day => Recurrence::Daily,
            StreakUnit::Week => Recurrence::Weekly,
        }
    }
}

/// The current run of consecutive active periods: ending at `current` when it is active,
/// else at the one before (a run is not broken until its next period has passed).
pub fn streak_run(active: &BTreeSet<i64>, current: i64) -> u32 {
    let mut at = if active.contains(&current) {
        current
    } else {
        current - 1
    };
    let mut run = 0;
    while active.contains(&at) {
        run += 1;
        at -= 1;
    }
    run
}

/// Whether the streak bonus is earned in `current`: it is active and the run ending in
/// it is a whole number of streaks (5, 10, 15 … days for a five-day streak).
pub fn streak_bonus_due(active: &BTreeSet<i64>, current: i64, length: u32) -> bool {
    let run = streak_run(active, current);
    length > 0 && active.contains(&current) && run > 0 && run.is_multiple_of(length)
}

/// Moderator decisions on a participant's submissions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TrustHistory {
    pub approved: u32,
    pub rejected: u32,
    pub reworked: u32,
}

impl TrustHistory {
    pub fn decided(&self) -> u32 {
        self.approved + self.rejected + self.reworked
    }
}

/// Pseudo-decisions against the participant added to every history: with 18 approvals
/// and nothing else the score is 90, not 100, so only a long clean record scores high.
const TRUST_PRIOR: u32 = 2;

/// Trust in percent: approvals over all decisions plus [`TRUST_PRIOR`], rounded down.
/// A rework counts against it like a rejection: the work was not acceptable as sent.
pub fn trust_score(history: &TrustHistory) -> u32 {
    let denominator = u64::from(history.decided()) + u64::from(TRUST_PRIOR);
    (u64::from(history.approved) * 100 / denominator) as u32
}

/// A program's rule for approving trusted participants' submissions without a moderator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TrustPolicy {
    /// Off by default: every moderated submission is checked by a person.
    pub enabled: bool,
    /// The trust score (percent) at or above which a participant is trusted.
    pub threshold: u32,
    /// Decisions a participant needs before trust counts at all.
    pub min_decisions: u32,
    /// Only tasks paying at most this many base points are low-risk.
    #[schema(value_type = String)]
    pub max_points: Points,
    /// Percent of would-be automatic approvals sent to a moderator anyway.
    pub spot_check_percent: u32,
}

impl Default for TrustPolicy {
    fn default() -> Self {
        Self {
            enabled: false,
            threshold: 90,
            min_decisions: 20,
            max_points: Points::from_hundredths(5_000),
            spot_check_percent: 10,
        }
    }
}

impl TrustPolicy {
    pub fn validate(&self) -> Vec<Issue> {
        let mut issues = Vec::new();
        if self.threshold > 100 {
            issues.push(issue("threshold", "a percent, 0 to 100"));
        }
        if self.spot_check_percent > 100 {
            issues.push(issue("spot_check_percent", "a percent, 0 to 100"));
        }
        if self.max_points.is_negative() {
            issues.push(issue("max_points", "not negative"));
        }
        issues
    }
}

/// Where a moderated submission goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Routing {
    /// To a moderator, as always.
    Moderate,
    /// Approved at once: a trusted participant, a low-risk task.
    AutoApprove,
    /// Would have been approved at once, but drew a spot check.
    SpotCheck,
}

/// Routes a moderated submission. `roll` is a uniformly random number in `0..100`.
pub fn route(policy: &TrustPolicy, history: &TrustHistory, base: Points, roll: u32) -> Routing {
    let trusted = policy.enabled
        && history.decided() >= policy.min_decisions
        && trust_score(history) >= policy.threshold
        && base <= policy.max_points;
    if !trusted {
        Routing::Moderate
    } else if roll < policy.spot_check_percent {
        Routing::SpotCheck
    } else {
        Routing::AutoApprove
    }
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeZone, Utc};

    use super::*;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> i64 {
        match NaiveDate::from_ymd_opt(y, mo, d).and_then(|date| date.and_hms_opt(h, mi, 0)) {
            Some(t) => Utc.from_utc_datetime(&t).timestamp_millis(),
            None => panic!("bad test date"),
        }
    }

    fn quiz() -> TaskSpec {
        TaskSpec::Quiz {
            questions: vec![
                QuizQuestion {
                    text: "Pipe size?".into(),
                    options: vec!["20".into(), "40".into(), "50".into()],
                    correct: vec![1],
                },
                QuizQuestion {
                    text: "Which are AquaLine?".into(),
                    options: vec!["Mixer".into(), "Drill".into(), "Siphon".into()],
                    correct: vec![0, 2],
                },
            ],
            pass_mark: 2,
        }
    }

    fn choose(options: &[&[u32]]) -> Answers {
        Answers {
            answers: Some(
                options
                    .iter()
                    .map(|o| Answer {
                        options: o.to_vec(),
                        text: None,
                    })
                    .collect(),
            ),
            ..Answers::default()
        }
    }

    fn fields(result: Result<Checked, Vec<Issue>>) -> Vec<String> {
        match result {
            Ok(_) => Vec::new(),
            Err(issues) => issues.into_iter().map(|i| i.field).collect(),
        }
    }

    #[test]
    fn a_quiz_passes_only_with_exactly_the_right_options() {
        let spec = quiz();
        let right = check(&spec, &choose(&[&[1], &[2, 0]]), &Context::default());
        assert_eq!(
            right
                .as_ref()
                .map(|c| (c.passed, c.score.map(|s| s.correct))),
            Ok((true, Some(2)))
        );
        // A subset of a multiple-choice answer is wrong, and one wrong answer fails a
        // quiz whose pass mark is every question.
        let partial = check(&spec, &choose(&[&[1], &[0]]), &Context::default());
        assert_eq!(
            partial.map(|c| (c.passed, c.score.map(|s| s.correct))),
            Ok((false, Some(1)))
        );
        let superset = check(&spec, &choose(&[&[1], &[0, 1, 2]]), &Context::default());
        assert_eq!(superset.map(|c| c.passed), Ok(false));
    }

    #[test]
    fn malformed_quiz_answers_are_listed_not_scored() {
        let spec = quiz();
        assert_eq!(
            fields(check(&spec, &choose(&[&[1]]), &Context::default())),
            ["answers"]
        );
        assert_eq!(
            fields(check(&spec, &choose(&[&[], &[7]]), &Context::default())),
            ["answers[0].options", "answers[1].options"]
        );
        assert_eq!(
            fields(check(&spec, &choose(&[&[1, 1], &[0]]), &Context::default())),
            ["answers[0].options"]
        );
        assert_eq!(
            fields(check(&spec, &Answers::default(), &Context::default())),
            ["answers"]
        );
    }

    #[test]
    fn participants_never_see_right_answers() -> Result<(), serde_json::Error> {
        let shown = serde_json::to_string(&quiz().for_participants())?;
        assert!(!shown.contains("correct"), "{shown}");
        assert!(serde_json::to_string(&quiz())?.contains("correct"));
        Ok(())
    }

    #[test]
    fn task_definitions_are_validated_in_full() {
        let bad = TaskSpec::Quiz {
            questions: vec![QuizQuestion {
                text: " ".into(),
                options: vec!["only".into()],
                correct: vec![3],
            }],
            pass_mark: 2,
        };
        let found: Vec<String> = bad.validate().into_iter().map(|i| i.field).collect();
        assert_eq!(
            found,
            [
                "spec.questions[0].text",
                "spec.questions[0].options",
                "spec.questions[0].correct",
                "spec.pass_mark"
            ]
        );
        assert!(quiz().validate().is_empty());
        let plan = TaskSpec::SalesPlan {
            target_quantity: None,
            target_amount: None,
        };
        assert_eq!(plan.validate().len(), 1);
        let audit = TaskSpec::SelfAudit {
            checklist: vec![],
            min_photos: 0,
        };
        assert_eq!(audit.validate().len(), 2);
        let training = TaskSpec::Training {
            course: "Mixers 101".into(),
            url: Some("ftp://x".into()),
        };
        assert_eq!(training.validate().len(), 1);
    }

    #[test]
    fn moderation_follows_the_kind() {
        let photo = TaskSpec::ShelfPhoto {
            min_photos: 1,
            checklist: vec![],
        };
        assert_eq!(photo.resolve_moderation(None), Ok(true));
        assert!(photo.resolve_moderation(Some(false)).is_err());
        assert_eq!(quiz().resolve_moderation(None), Ok(false));
        assert!(quiz().resolve_moderation(Some(true)).is_err());
        let survey = TaskSpec::Survey { questions: vec![] };
        assert_eq!(survey.resolve_moderation(None), Ok(false));
        assert_eq!(survey.resolve_moderation(Some(true)), Ok(true));
    }

    #[test]
    fn photo_tasks_count_photos_and_ticks() {
        let spec = TaskSpec::ShelfPhoto {
            min_photos: 2,
            checklist: vec!["Facings".into(), "Price tags".into()],
        };
        let answers = Answers {
            checklist: Some(vec![true, false]),
            ..Answers::default()
        };
        assert_eq!(
            fields(check(
                &spec,
                &answers,
                &Context {
                    photos: 1,
                    plan: None
                }
            )),
            ["photos"]
        );
        let ok = check(
            &spec,
            &answers,
            &Context {
                photos: 2,
                plan: None,
            },
        );
        assert_eq!(
            ok.map(|c| c.record["checklist"][1]["done"].clone()),
            Ok(serde_json::json!(false))
        );
        let quiz_with_photo = check(
            &quiz(),
            &choose(&[&[1], &[0, 2]]),
            &Context {
                photos: 1,
                plan: None,
            },
        );
        assert_eq!(fields(quiz_with_photo), ["photos"]);
    }

    #[test]
    fn stock_checks_take_well_formed_codes_in_canonical_form() {
        let spec = TaskSpec::StockCheck {
            product: None,
            product_id: None,
        };
        let code = ProductCode::from_value(123_456_789).map(|c| c.to_string());
        let answers = Answers {
            code: code.map(|c| format!("  {}  ", c.to_lowercase())),
            ..Answers::default()
        };
        let checked = check(&spec, &answers, &Context::default());
        assert_eq!(
            checked.as_ref().map(|c| c.code.map(|code| code.value())),
            Ok(Some(123_456_789))
        );
        let typo = Answers {
            code: Some("ABCD-EFGH-JKA".into()),
            ..Answers::default()
        };
        assert_eq!(fields(check(&spec, &typo, &Context::default())), ["code"]);
    }

    #[test]
    fn surveys_take_choices_and_text() {
        let spec = TaskSpec::Survey {
            questions: vec![
                SurveyQuestion {
                    text: "Busy?".into(),
                    options: vec!["Yes".into(), "No".into()],
                    multiple: false,
                },
                SurveyQuestion {
                    text: "Why?".into(),
                    options: vec![],
                    multiple: false,
                },
            ],
        };
        let good = Answers {
            answers: Some(vec![
                Answer {
                    options: vec![0],
                    text: None,
                },
                Answer {
                    options: vec![],
                    text: Some("Holidays".into()),
                },
            ]),
            ..Answers::default()
        };
        assert!(check(&spec, &good, &Context::default()).is_ok());
        let bad = Answers {
            answers: Some(vec![
                Answer {
                    options: vec![0, 1],
                    text: None,
                },
                Answer::default(),
            ]),
            ..Answers::default()
        };
        assert_eq!(
            fields(check(&spec, &bad, &Context::default())),
            ["answers[0].options", "answers[1].text"]
        );
    }

    #[test]
    fn price_reports_and_training() {
        let spec = TaskSpec::PriceReport {
            products: vec!["Rival mixer".into(), "Rival siphon".into()],
        };
        let price = |p: &str| Points::parse(p).ok();
        let good = Answers {
            prices: Some(vec![
                PriceEntry {
                    price: price("349.90"),
                },
                PriceEntry { price: None },
            ]),
            ..Answers::default()
        };
        assert!(check(&spec, &good, &Context::default()).is_ok());
        let empty = Answers {
            prices: Some(vec![PriceEntry { price: None }, PriceEntry { price: None }]),
            ..Answers::default()
        };
        assert_eq!(
            fields(check(&spec, &empty, &Context::default())),
            ["prices"]
        );
        let training = TaskSpec::Training {
            course: "Mixers 101".into(),
            url: None,
        };
        assert_eq!(
            fields(check(&training, &Answers::default(), &Context::default())),
            ["completed"]
        );
    }

    #[test]
    fn sales_plans_pass_when_every_target_is_met() {
        let spec = TaskSpec::SalesPlan {
            target_quantity: Some(3),
            target_amount: Points::parse("100").ok(),
        };
        let progress = |quantity, amount: &str| Context {
            photos: 0,
            plan: Some(PlanProgress {
                quantity,
                amount: Points::parse(amount).unwrap_or_default(),
            }),
        };
        let passed = |ctx| check(&spec, &Answers::default(), &ctx).map(|c| c.passed);
        assert_eq!(passed(progress(3, "100")), Ok(true));
        assert_eq!(passed(progress(5, "99.99")), Ok(false));
        assert_eq!(passed(progress(2, "500")), Ok(false));
    }

    #[test]
    fn daily_periods_start_at_local_midnight() {
        let schedule = Schedule {
            starts_at: None,
            ends_at: None,
            recurrence: Recurrence::Daily,
        };
        // 20:59 UTC is 23:59 in Moscow; 21:00 UTC is the next Moscow day.
        let before = schedule.period(utc(2024, 6, 15, 20, 59), Tz::Europe__Moscow);
        let after = schedule.period(utc(2024, 6, 15, 21, 0), Tz::Europe__Moscow);
        assert_eq!(
            before.as_ref().map(|p| (p.key.as_str(), p.end_ms)),
            Ok(("2024-06-15", Some(utc(2024, 6, 15, 21, 0))))
        );
        assert_eq!(
            after.as_ref().map(|p| (p.key.as_str(), p.start_ms)),
            Ok(("2024-06-16", utc(2024, 6, 15, 21, 0)))
        );
        let weekly = Schedule {
            recurrence: Recurrence::Weekly,
            ..schedule
        };
        assert_eq!(
            weekly
                .period(utc(2024, 6, 15, 12, 0), Tz::Europe__Moscow)
                .map(|p| p.key),
            Ok("2024-W24".to_string())
        );
    }

    #[test]
    fn periods_are_clipped_to_the_schedule() {
        let schedule = Schedule {
            starts_at: Some(utc(2024, 6, 15, 12, 0)),
            ends_at: Some(utc(2024, 6, 20, 0, 0)),
            recurrence: Recurrence::Daily,
        };
        let first = schedule.period(utc(2024, 6, 15, 13, 0), Tz::UTC);
        assert_eq!(
            first.map(|p| (p.start_ms, p.end_ms)),
            Ok((utc(2024, 6, 15, 12, 0), Some(utc(2024, 6, 16, 0, 0))))
        );
        assert!(!schedule.is_open(utc(2024, 6, 20, 0, 0)));
        assert!(schedule.is_open(utc(2024, 6, 19, 23, 59)));
        let once = Schedule {
            recurrence: Recurrence::None,
            ..schedule
        };
        assert_eq!(
            once.period(utc(2024, 6, 16, 0, 0), Tz::UTC).map(|p| p.key),
            Ok("all".to_string())
        );
        assert!(
            Schedule {
                starts_at: Some(5),
                ends_at: Some(5),
                recurrence: Recurrence::None
            }
            .validate()
            .is_some()
        );
    }

    #[test]
    fn limits_count_completions_open_work_and_attempts() {
        let limits = Limits {
            max_completions: 2,
            max_attempts: Some(3),
        };
        let usage = |completed, pending, rework, attempts| Usage {
            completed,
            pending,
            rework,
            attempts,
        };
        assert_eq!(limits.may_start(&usage(1, 0, 0, 1)), Ok(()));
        assert_eq!(
            limits.may_start(&usage(1, 1, 0, 2)),
            Err(Refusal::CompletionLimit)
        );
        assert_eq!(
            limits.may_start(&usage(0, 0, 0, 3)),
            Err(Refusal::AttemptsExhausted)
        );
        assert_eq!(limits.attempts_left(&usage(0, 0, 0, 2)), Some(1));
        assert_eq!(limits.state(&usage(0, 0, 1, 1)), TaskState::Rework);
        assert_eq!(limits.state(&usage(2, 0, 0, 2)), TaskState::Completed);
        assert_eq!(limits.state(&usage(1, 1, 0, 2)), TaskState::Pending);
        assert_eq!(limits.state(&usage(0, 0, 0, 3)), TaskState::Exhausted);
        assert_eq!(limits.state(&usage(1, 0, 0, 1)), TaskState::Available);
    }

    #[test]
    fn audiences_filter_by_place_level_and_role() {
        let member = Member {
            region: Some(1),
            store: Some(10),
            level: 0,
            roles: BTreeSet::from(["seller".to_string()]),
        };
        assert!(Audience::default().includes(&member));
        let moscow_or_store_20 = Audience {
            regions: vec![1],
            stores: vec![20],
            ..Audience::default()
        };
        assert!(moscow_or_store_20.includes(&member));
        let other_place = Audience {
            regions: vec![2],
            stores: vec![20],
            ..Audience::default()
        };
        assert!(!other_place.includes(&member));
        let gold_only = Audience {
            levels: vec![2],
            ..Audience::default()
        };
        assert!(!gold_only.includes(&member));
        let owners = Audience {
            roles: vec!["owner".into()],
            ..Audience::default()
        };
        assert!(!owners.includes(&member));
    }

    #[test]
    fn chains_count_in_order_and_sets_in_any() {
        let steps = vec![vec![10], vec![5, 20], vec![15]];
        // Step 2's first completion (5) came before step 1; its second (20) counts, and
        // step 3 (15) came before that.
        assert_eq!(steps_done(QuestKind::Chain, &steps), 2);
        assert_eq!(steps_done(QuestKind::Set, &steps), 3);
        assert_eq!(steps_done(QuestKind::Chain, &[vec![], vec![1]]), 0);
        assert_eq!(steps_done(QuestKind::Chain, &[vec![1], vec![1]]), 2);
    }

    #[test]
    fn streaks_run_over_consecutive_local_days() {
        let tz = Tz::Europe__Moscow;
        // 23:30 and 00:30 Moscow time are different days, an hour apart.
        let late = StreakUnit::Day.index(utc(2024, 6, 15, 20, 30), tz);
        let early = StreakUnit::Day.index(utc(2024, 6, 15, 21, 30), tz);
        assert_eq!(early.and_then(|e| late.map(|l| e - l)), Ok(1));
        // Sunday and the next Monday are different weeks.
        let sunday = StreakUnit::Week.index(utc(2024, 6, 16, 12, 0), Tz::UTC);
        let monday = StreakUnit::Week.index(utc(2024, 6, 17, 0, 0), Tz::UTC);
        let saturday = StreakUnit::Week.index(utc(2024, 6, 15, 0, 0), Tz::UTC);
        assert_eq!(monday.and_then(|m| sunday.map(|s| m - s)), Ok(1));
        assert_eq!(saturday, sunday);

        let active: BTreeSet<i64> = [1, 2, 3, 5, 6, 7, 8, 9].into_iter().collect();
        assert_eq!(streak_run(&active, 9), 5);
        assert_eq!(
            streak_run(&active, 10),
            5,
            "not broken until the day passes"
        );
        assert_eq!(streak_run(&active, 11), 0);
        assert!(streak_bonus_due(&active, 9, 5));
        assert!(!streak_bonus_due(&active, 8, 5));
        assert!(!streak_bonus_due(&active, 10, 5), "today is not done yet");
        assert!(streak_bonus_due(&active, 3, 3));
    }

    #[test]
    fn trust_is_earned_slowly_and_spot_checked() {
        let clean = |approved| TrustHistory {
            approved,
            rejected: 0,
            reworked: 0,
        };
        assert_eq!(trust_score(&clean(0)), 0);
        assert_eq!(trust_score(&clean(18)), 90);
        assert_eq!(
            trust_score(&TrustHistory {
                approved: 18,
                rejected: 1,
                reworked: 1
            }),
            81
        );
        let policy = TrustPolicy {
            enabled: true,
            ..TrustPolicy::default()
        };
        let cheap = Points::from_hundredths(1_000);
        assert_eq!(route(&policy, &clean(30), cheap, 50), Routing::AutoApprove);
        assert_eq!(route(&policy, &clean(30), cheap, 5), Routing::SpotCheck);
        assert_eq!(route(&policy, &clean(10), cheap, 50), Routing::Moderate);
        let dear = Points::from_hundredths(10_000);
        assert_eq!(route(&policy, &clean(30), dear, 50), Routing::Moderate);
        assert_eq!(
            route(&TrustPolicy::default(), &clean(100), cheap, 50),
            Routing::Moderate,
            "off by default"
        );
    }
}
