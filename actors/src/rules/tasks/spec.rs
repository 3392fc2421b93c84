//! What a task asks of a seller: the eight kinds ([`TaskSpec`]), which need a
//! moderator, what participants are shown of them, and a definition checked in full.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Issue, check_text, issue};
use crate::rules::points::Points;

/// Questions in a quiz or survey: a phone screen's worth of minutes, not an exam.
pub const MAX_QUESTIONS: usize = 50;
/// Options of one question.
pub const MAX_OPTIONS: usize = 10;
/// Checklist items or price-report products of one task.
pub const MAX_ITEMS: usize = 50;
/// A question, option, checklist item or product name.
pub const MAX_TEXT: usize = 500;
/// Photos one submission may require; equals the upload limit of one request.
pub const MAX_PHOTOS: u32 = 10;

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

crate::stored_enum! {
    /// The kinds of task, as a [`TaskSpec`]'s `kind` tag names them.
    pub enum TaskKind {
        ShelfPhoto = "shelf_photo",
        StockCheck = "stock_check",
        Quiz = "quiz",
        Survey = "survey",
        SalesPlan = "sales_plan",
        SelfAudit = "self_audit",
        PriceReport = "price_report",
        Training = "training",
    }
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
    pub fn kind(&self) -> TaskKind {
        match self {
            TaskSpec::ShelfPhoto { .. } => TaskKind::ShelfPhoto,
            TaskSpec::StockCheck { .. } => TaskKind::StockCheck,
            TaskSpec::Quiz { .. } => TaskKind::Quiz,
            TaskSpec::Survey { .. } => TaskKind::Survey,
            TaskSpec::SalesPlan { .. } => TaskKind::SalesPlan,
            TaskSpec::SelfAudit { .. } => TaskKind::SelfAudit,
            TaskSpec::PriceReport { .. } => TaskKind::PriceReport,
            TaskSpec::Training { .. } => TaskKind::Training,
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
