//! Notifications: what causes a message to a person (the trigger), the values its
//! template may name, and rendering a template in Russian or English.
//!
//! A template is text with `{name}` placeholders; every trigger declares the names it
//! provides, and a template naming anything else is refused when it is checked, so a
//! typo never reaches a person as a literal `{amout}`. `{{` and `}}` are literal braces.

use std::collections::BTreeMap;

crate::stored_enum! {
    /// What caused a message.
    pub enum Trigger {
        /// Points credited (a burst of credits coalesced into one message).
        PointsCredited = "points_credited",
        /// An order's status changed.
        OrderStatus = "order_status",
        /// A moderator decided a task submission (approved, rejected, sent back).
        TaskDecided = "task_decided",
        /// The person's registration was approved.
        RegistrationApproved = "registration_approved",
        /// Points expire soon.
        PointsExpiring = "points_expiring",
        /// The person reached a new level.
        LevelUp = "level_up",
        /// A task opened to the person.
        NewTask = "new_task",
        /// A mailing staff sent to a segment (its texts are its own).
        Mailing = "mailing",
    }
}

crate::stored_enum! {
    /// The languages messages are written in.
    pub enum Language {
        Ru = "ru",
        En = "en",
    }
}

crate::stored_enum! {
    /// Where a message goes.
    pub enum Channel {
        /// The in-app inbox (always; the other channels come on top).
        InApp = "in_app",
        Sms = "sms",
        Email = "email",
        Push = "push",
    }
}

impl Channel {
    /// Whether quiet hours hold this channel's messages back (a phone that buzzes).
    pub fn keeps_quiet(self) -> bool {
        matches!(self, Channel::Sms | Channel::Push)
    }
}

/// When the quiet hours `from`–`to` (local times; the window may cross midnight)
/// around `now` end, if `now` (epoch ms) falls inside them in `tz`.
pub fn quiet_until(
    now: i64,
    tz: chrono_tz::Tz,
    from: chrono::NaiveTime,
    to: chrono::NaiveTime,
) -> Option<i64> {
    use chrono::TimeZone;
    if from == to {
        return None;
    }
    let local = chrono::DateTime::from_timestamp_millis(now)?.with_timezone(&tz);
    let time = local.time();
    let inside = if from < to {
        time >= from && time < to
    } else {
        time >= from || time < to
    };
    if !inside {
        return None;
    }
    let day = if time >= to {
        local.date_naive().succ_opt()?
    } else {
        local.date_naive()
    };
    let end = tz.from_local_datetime(&day.and_time(to)).earliest()?;
    Some(end.timestamp_millis())
}

/// A message's title and body templates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Template {
    pub title: &'static str,
    pub body: &'static str,
}

impl Trigger {
    /// The names a template of this trigger may use.
    pub fn variables(self) -> &'static [&'static str] {
        match self {
            Trigger::PointsCredited => &["amount", "credits", "balance"],
            Trigger::OrderStatus => &["order_id", "status"],
            Trigger::TaskDecided => &["task", "decision", "comment"],
            Trigger::RegistrationApproved => &["name", "program"],
            Trigger::PointsExpiring => &["amount", "on"],
            Trigger::LevelUp => &["level", "multiplier"],
            Trigger::NewTask => &["task", "points"],
            Trigger::Mailing => &["title", "body"],
        }
    }

    /// The built-in template in `language`.
    pub fn template(self, language: Language) -> Template {
        use Language::{En, Ru};
        let (title, body) = match (self, language) {
            (Trigger::PointsCredited, Ru) => (
                "Начислены баллы: {amount}",
                "Начислений: {credits}. Теперь на счёте {balance}.",
            ),
            (Trigger::PointsCredited, En) => (
                "Points credited: {amount}",
                "Credits: {credits}. Your balance is now {balance}.",
            ),
            (Trigger::OrderStatus, Ru) => (
                "Заказ №{order_id}: {status}",
                "Статус вашего заказа №{order_id} изменился: {status}.",
            ),
            (Trigger::OrderStatus, En) => (
                "Order {order_id}: {status}",
                "Your order {order_id} is now {status}.",
            ),
            (Trigger::TaskDecided, Ru) => (
                "Задание «{task}»: {decision}",
                "Решение по заданию «{task}»: {decision}. {comment}",
            ),
            (Trigger::TaskDecided, En) => (
                "Task “{task}”: {decision}",
                "Your task “{task}” was {decision}. {comment}",
            ),
            (Trigger::RegistrationApproved, Ru) => (
                "Регистрация подтверждена",
                "{name}, добро пожаловать в программу «{program}»!",
            ),
            (Trigger::RegistrationApproved, En) => {
                ("Registration approved", "{name}, welcome to {program}!")
            }
            (Trigger::PointsExpiring, Ru) => (
                "Баллы скоро сгорят",
                "{amount} сгорят {on}. Потратьте их раньше.",
            ),
            (Trigger::PointsExpiring, En) => (
                "Points expire soon",
                "{amount} expire on {on}. Spend them before.",
            ),
            (Trigger::LevelUp, Ru) => (
                "Новый уровень: {level}",
                "Поздравляем! Теперь ваши баллы умножаются на {multiplier}.",
            ),
            (Trigger::LevelUp, En) => (
                "New level: {level}",
                "Congratulations! Your points are now multiplied by {multiplier}.",
            ),
            (Trigger::NewTask, Ru) => ("Новое задание: {task}", "Награда за выполнение: {points}."),
            (Trigger::NewTask, En) => ("New task: {task}", "It pays {points} points."),
            (Trigger::Mailing, _) => ("{title}", "{body}"),
        };
        Template { title, body }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("unknown variable {{{name}}}; this trigger provides {known}")]
    UnknownVariable { name: String, known: String },
    #[error("a brace is not closed")]
    Unclosed,
}

/// The parts of a template: literal text and variable names, in order.
fn parts(template: &str) -> Result<Vec<(bool, String)>, TemplateError> {
    let mut parts = Vec::new();
    let mut text = String::new();
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                text.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                text.push('}');
            }
            '{' => {
                let mut name = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some(c) => name.push(c),
                        None => return Err(TemplateError::Unclosed),
                    }
                }
                parts.push((false, std::mem::take(&mut text)));
                parts.push((true, name.trim().to_string()));
            }
            c => text.push(c),
        }
    }
    parts.push((false, text));
    Ok(parts)
}

/// Checks that `template` names only the variables `trigger` provides.
pub fn check(trigger: Trigger, template: &str) -> Result<(), TemplateError> {
    for (is_name, name) in parts(template)? {
        if is_name && !trigger.variables().contains(&name.as_str()) {
            return Err(TemplateError::UnknownVariable {
                name,
                known: trigger.variables().join(", "),
            });
        }
    }
    Ok(())
}

/// `template` with each `{name}` replaced by its value in `values` (a missing value
/// renders empty; the result is trimmed).
pub fn render(template: &str, values: &BTreeMap<String, String>) -> String {
    let Ok(parts) = parts(template) else {
        return template.to_string();
    };
    let mut out = String::with_capacity(template.len());
    for (is_name, text) in parts {
        if is_name {
            out.push_str(values.get(&text).map(String::as_str).unwrap_or_default());
        } else {
            out.push_str(&text);
        }
    }
    out.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_hours_across_midnight_hold_messages_until_morning() {
        let tz = chrono_tz::Europe::Moscow;
        let at = |text: &str| {
            chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M")
                .ok()
                .and_then(|local| local.and_local_timezone(tz).earliest())
                .map(|at| at.timestamp_millis())
                .expect("a local time")
        };
        let time = |text: &str| chrono::NaiveTime::parse_from_str(text, "%H:%M").expect("a time");
        let (from, to) = (time("22:00"), time("08:00"));
        assert_eq!(
            quiet_until(at("2026-12-02 23:30"), tz, from, to),
            Some(at("2026-12-03 08:00"))
        );
        assert_eq!(
            quiet_until(at("2026-12-03 07:59"), tz, from, to),
            Some(at("2026-12-03 08:00"))
        );
        assert_eq!(quiet_until(at("2026-12-03 08:00"), tz, from, to), None);
        assert_eq!(quiet_until(at("2026-12-03 12:00"), tz, from, to), None);
        // A window within one day.
        let (from, to) = (time("13:00"), time("14:00"));
        assert_eq!(
            quiet_until(at("2026-12-03 13:30"), tz, from, to),
            Some(at("2026-12-03 14:00"))
        );
        assert_eq!(quiet_until(at("2026-12-03 12:59"), tz, from, to), None);
    }

    fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn every_built_in_template_names_only_its_triggers_variables() {
        for trigger in [
            Trigger::PointsCredited,
            Trigger::OrderStatus,
            Trigger::TaskDecided,
            Trigger::RegistrationApproved,
            Trigger::PointsExpiring,
            Trigger::LevelUp,
            Trigger::NewTask,
            Trigger::Mailing,
        ] {
            for language in [Language::Ru, Language::En] {
                let template = trigger.template(language);
                assert_eq!(check(trigger, template.title), Ok(()), "{trigger:?}");
                assert_eq!(check(trigger, template.body), Ok(()), "{trigger:?}");
            }
        }
    }

    #[test]
    fn an_unknown_variable_is_refused() {
        let err = check(Trigger::PointsCredited, "You got {amout}").expect_err("a typo");
        assert_eq!(
            err.to_string(),
            "unknown variable {amout}; this trigger provides amount, credits, balance"
        );
        assert_eq!(
            check(Trigger::PointsCredited, "{amount"),
            Err(TemplateError::Unclosed)
        );
    }

    #[test]
    fn rendering_fills_names_and_keeps_escaped_braces() {
        let text = render(
            "{{bonus}} {amount} points, {credits} credits {missing}",
            &values(&[("amount", "12.50"), ("credits", "3")]),
        );
        assert_eq!(text, "{bonus} 12.50 points, 3 credits");
    }
}
