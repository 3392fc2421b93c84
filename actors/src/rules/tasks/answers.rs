//! A seller's answer to a task: what they send, what the check needs to know besides,
//! and the check itself ([`check`]), which lists every problem at once and scores a quiz
//! or a sales plan.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::spec::TaskSpec;
use super::{Issue, issue};
use crate::rules::codes::ProductCode;
use crate::rules::points::Points;

/// A free-text survey answer or a seller's comment.
pub const MAX_ANSWER_TEXT: usize = 2000;

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
