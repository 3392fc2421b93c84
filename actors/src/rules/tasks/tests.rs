//! The task rules' tests, topic by topic in the order of the files they test.

use std::collections::BTreeSet;

use chrono::{NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use super::Issue;
use super::answers::*;
use super::audience::*;
use super::limits::*;
use super::quests::*;
use super::schedule::*;
use super::spec::*;
use super::trust::*;
use crate::rules::codes::ProductCode;
use crate::rules::points::Points;

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
