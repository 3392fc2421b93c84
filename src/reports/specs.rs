//! What each report reads: its columns (with their Russian and English headings) and
//! the statements it walks, with the columns a caller's scope and filters apply to.

use crate::access::scoped::ScopeColumns;

use super::ReportKind;

/// How a column's value is read and written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    Text,
    Int,
    /// Hundredths of a point: `12.50` in CSV, a number with two decimals in Excel.
    Points,
    /// Epoch ms, written as the local date and time in the program's zone.
    Time,
}

/// One column of a report.
#[derive(Debug)]
pub struct Column {
    /// The alias the statement gives it.
    pub name: &'static str,
    pub ru: &'static str,
    pub en: &'static str,
    pub kind: ColumnKind,
}

const fn column(
    name: &'static str,
    ru: &'static str,
    en: &'static str,
    kind: ColumnKind,
) -> Column {
    Column { name, ru, en, kind }
}

/// One statement of a report: several parts are walked one after another (sales are
/// codes, then receipts), each by its own key, so every page is an index range scan.
pub struct Part {
    /// The select list, every column aliased as its [`Column::name`]. May use
    /// `:since` and `:until` for the period's bounds (epoch ms, `[since, until)`).
    pub select: &'static str,
    pub from: &'static str,
    /// The keyset: unique and increasing within the part.
    pub key: &'static str,
    /// What the period filters; `None` when the period only feeds the select (the
    /// participants report lists everyone with what they earned in it).
    pub time: Option<&'static str>,
    /// Always true for the part (`u.kind = 'participant'`).
    pub condition: Option<&'static str>,
    /// The columns the caller's scope and the store, region, partner and brand filters
    /// match; a filter whose column is `None` is refused.
    pub scope: ScopeColumns,
}

pub struct ReportSpec {
    pub columns: &'static [Column],
    pub parts: &'static [Part],
}

use ColumnKind::{Int, Points, Text, Time};

const PARTICIPANT_COLUMNS: [Column; 10] = [
    column("participant_id", "ID участника", "Participant ID", Int),
    column("name", "Имя", "Name", Text),
    column("phone", "Телефон", "Phone", Text),
    column("status", "Статус", "Status", Text),
    column("store", "Магазин", "Store", Text),
    column("region", "Регион", "Region", Text),
    column("partner", "Партнёр", "Partner", Text),
    column("registered_at", "Зарегистрирован", "Registered", Time),
    column(
        "earned",
        "Начислено за период",
        "Earned in the period",
        Points,
    ),
    column("balance", "Баланс сейчас", "Balance now", Points),
];

const PARTICIPANTS: [Part; 1] = [Part {
    select: "u.id AS participant_id, u.name AS name, u.phone AS phone, u.status AS status, \
             s.name AS store, r.name AS region, pa.name AS partner, u.created_at AS registered_at, \
             COALESCE((SELECT CAST(SUM(t.earned) AS BIGINT) FROM ledger_transactions t \
                       WHERE t.participant_id = u.id AND t.created_at >= :since AND t.created_at < :until), 0) AS earned, \
             COALESCE((SELECT a.balance FROM accounts a \
                       WHERE a.program_id = u.program_id AND a.kind = 'participant' AND a.owner_id = u.id), 0) AS balance",
    from: "users u LEFT JOIN stores s ON s.id = u.store_id LEFT JOIN regions r ON r.id = s.region_id \
           LEFT JOIN partners pa ON pa.id = COALESCE(u.partner_id, s.partner_id)",
    key: "u.id",
    time: None,
    condition: Some("u.kind = 'participant'"),
    scope: ScopeColumns {
        program: "u.program_id",
        region: Some("s.region_id"),
        partner: Some("COALESCE(u.partner_id, s.partner_id)"),
        brand: None,
        store: Some("u.store_id"),
    },
}];

const TRANSACTION_COLUMNS: [Column; 12] = [
    column("transaction_id", "ID операции", "Transaction ID", Int),
    column("created_at", "Дата и время", "Date and time", Time),
    column("reason", "Основание", "Reason", Text),
    column("status", "Статус", "Status", Text),
    column("participant_id", "ID участника", "Participant ID", Int),
    column("participant", "Участник", "Participant", Text),
    column("store", "Магазин", "Store", Text),
    column("region", "Регион", "Region", Text),
    column("campaign", "Кампания", "Campaign", Text),
    column("amount", "Изменение баланса", "Balance change", Points),
    column("earned", "Заработано", "Earned", Points),
    column("comment", "Комментарий", "Comment", Text),
];

const TRANSACTIONS: [Part; 1] = [Part {
    select: "t.id AS transaction_id, t.created_at AS created_at, t.reason AS reason, t.status AS status, \
             t.participant_id AS participant_id, u.name AS participant, s.name AS store, r.name AS region, \
             c.name AS campaign, \
             COALESCE((SELECT CAST(SUM(CASE WHEN ca.kind = 'participant' AND ca.owner_id = t.participant_id THEN p.amount ELSE 0 END) \
                                 - SUM(CASE WHEN da.kind = 'participant' AND da.owner_id = t.participant_id THEN p.amount ELSE 0 END) AS BIGINT) \
                       FROM postings p JOIN accounts ca ON ca.id = p.credit_account JOIN accounts da ON da.id = p.debit_account \
                       WHERE p.transaction_id = t.id), 0) AS amount, \
             t.earned AS earned, t.comment AS comment",
    from: "ledger_transactions t LEFT JOIN users u ON u.id = t.participant_id \
           LEFT JOIN stores s ON s.id = t.store_id LEFT JOIN regions r ON r.id = s.region_id \
           LEFT JOIN campaigns c ON c.id = t.campaign_id",
    key: "t.id",
    time: Some("t.created_at"),
    condition: None,
    scope: ScopeColumns {
        program: "t.program_id",
        region: Some("s.region_id"),
        partner: Some("s.partner_id"),
        brand: Some("c.brand_id"),
        store: Some("t.store_id"),
    },
}];

const SALE_COLUMNS: [Column; 15] = [
    column("source", "Источник", "Source", Text),
    column("source_id", "ID", "ID", Int),
    column("created_at", "Дата и время", "Date and time", Time),
    column(
        "document",
        "Код или номер чека",
        "Code or receipt number",
        Text,
    ),
    column("status", "Статус", "Status", Text),
    column("participant_id", "ID участника", "Participant ID", Int),
    column("participant", "Участник", "Participant", Text),
    column("store", "Магазин", "Store", Text),
    column("region", "Регион", "Region", Text),
    column("brand", "Бренд", "Brand", Text),
    column("campaign", "Кампания", "Campaign", Text),
    column("sku", "Артикул", "SKU", Text),
    column("product", "Товар", "Product", Text),
    column("quantity", "Количество", "Quantity", Int),
    column("points", "Баллы", "Points", Points),
];

const SALES: [Part; 2] = [
    Part {
        select: "'code' AS source, k.id AS source_id, k.registered_at AS created_at, k.code AS document, \
                 k.status AS status, u.id AS participant_id, u.name AS participant, s.name AS store, \
                 r.name AS region, b.name AS brand, c.name AS campaign, pr.sku AS sku, pr.name AS product, \
                 COALESCE(pr.pack_size, 1) AS quantity, COALESCE(t.earned, 0) AS points",
        from: "codes k JOIN users u ON u.id = k.registered_by LEFT JOIN stores s ON s.id = u.store_id \
               LEFT JOIN regions r ON r.id = s.region_id LEFT JOIN products pr ON pr.id = k.product_id \
               LEFT JOIN brands b ON b.id = pr.brand_id LEFT JOIN campaigns c ON c.id = k.campaign_id \
               LEFT JOIN ledger_transactions t ON t.id = k.transaction_id",
        key: "k.id",
        time: Some("k.registered_at"),
        condition: Some("k.status IN ('held', 'registered')"),
        scope: ScopeColumns {
            program: "u.program_id",
            region: Some("s.region_id"),
            partner: Some("s.partner_id"),
            brand: Some("pr.brand_id"),
            store: Some("u.store_id"),
        },
    },
    Part {
        select: "'receipt' AS source, e.id AS source_id, e.created_at AS created_at, e.receipt_number AS document, \
                 e.status AS status, u.id AS participant_id, u.name AS participant, s.name AS store, \
                 r.name AS region, b.name AS brand, c.name AS campaign, pr.sku AS sku, pr.name AS product, \
                 e.quantity AS quantity, e.points AS points",
        from: "receipts e JOIN users u ON u.id = e.participant_id LEFT JOIN stores s ON s.id = e.store_id \
               LEFT JOIN regions r ON r.id = e.region_id LEFT JOIN products pr ON pr.id = e.product_id \
               LEFT JOIN brands b ON b.id = pr.brand_id LEFT JOIN campaigns c ON c.id = e.campaign_id",
        key: "e.id",
        time: Some("e.created_at"),
        condition: None,
        scope: ScopeColumns {
            program: "e.program_id",
            region: Some("e.region_id"),
            partner: Some("s.partner_id"),
            brand: Some("pr.brand_id"),
            store: Some("e.store_id"),
        },
    },
];

const TASK_COMPLETION_COLUMNS: [Column; 13] = [
    column("submission_id", "ID ответа", "Submission ID", Int),
    column("created_at", "Дата и время", "Date and time", Time),
    column("task_id", "ID задания", "Task ID", Int),
    column("task", "Задание", "Task", Text),
    column("kind", "Вид", "Kind", Text),
    column("status", "Статус", "Status", Text),
    column("participant_id", "ID участника", "Participant ID", Int),
    column("participant", "Участник", "Participant", Text),
    column("store", "Магазин", "Store", Text),
    column("region", "Регион", "Region", Text),
    column("attempt", "Попытка", "Attempt", Int),
    column("points", "Баллы по заданию", "Task points", Points),
    column("credited", "Начислено", "Credited", Points),
];

const TASK_COMPLETIONS: [Part; 1] = [Part {
    select: "ts.id AS submission_id, ts.created_at AS created_at, ts.task_id AS task_id, tk.title AS task, \
             tk.kind AS kind, ts.status AS status, ts.participant_id AS participant_id, u.name AS participant, \
             s.name AS store, r.name AS region, ts.attempt AS attempt, ts.points AS points, ts.credited AS credited",
    from: "task_submissions ts JOIN tasks tk ON tk.id = ts.task_id JOIN users u ON u.id = ts.participant_id \
           LEFT JOIN stores s ON s.id = ts.store_id LEFT JOIN regions r ON r.id = ts.region_id",
    key: "ts.id",
    time: Some("ts.created_at"),
    condition: None,
    scope: ScopeColumns {
        program: "ts.program_id",
        region: Some("ts.region_id"),
        partner: Some("s.partner_id"),
        brand: Some("tk.brand_id"),
        store: Some("ts.store_id"),
    },
}];

const ORDER_COLUMNS: [Column; 10] = [
    column("order_id", "Номер заказа", "Order", Int),
    column("created_at", "Дата и время", "Date and time", Time),
    column("status", "Статус", "Status", Text),
    column("participant_id", "ID участника", "Participant ID", Int),
    column("participant", "Участник", "Participant", Text),
    column("phone", "Телефон", "Phone", Text),
    column("store", "Магазин", "Store", Text),
    column("region", "Регион", "Region", Text),
    column("items", "Позиций", "Items", Int),
    column("total", "Сумма, баллы", "Total, points", Points),
];

const ORDERS: [Part; 1] = [Part {
    select: "o.id AS order_id, o.created_at AS created_at, o.status AS status, o.participant_id AS participant_id, \
             u.name AS participant, u.phone AS phone, s.name AS store, r.name AS region, \
             (SELECT CAST(COALESCE(SUM(oi.quantity), 0) AS BIGINT) FROM order_items oi WHERE oi.order_id = o.id) AS items, \
             o.total AS total",
    from: "orders o JOIN users u ON u.id = o.participant_id LEFT JOIN stores s ON s.id = u.store_id \
           LEFT JOIN regions r ON r.id = s.region_id",
    key: "o.id",
    time: Some("o.created_at"),
    condition: None,
    scope: ScopeColumns {
        program: "o.program_id",
        region: Some("s.region_id"),
        partner: Some("s.partner_id"),
        brand: None,
        store: Some("u.store_id"),
    },
}];

const TAX_COLUMNS: [Column; 20] = [
    column("participant_id", "ID участника", "Participant ID", Int),
    column("name", "ФИО", "Name", Text),
    column("phone", "Телефон", "Phone", Text),
    column("tax_id", "ИНН", "Tax number (INN)", Text),
    column("store", "Магазин", "Store", Text),
    column("income", "Доход за год", "Income of the year", Points),
    column("tax", "Налог исчислен", "Tax computed", Points),
    column(
        "paid",
        "Налог удержан или уплачен",
        "Tax withheld or paid",
        Points,
    ),
    column("month_01", "Доход: январь", "Income: January", Points),
    column("month_02", "Доход: февраль", "Income: February", Points),
    column("month_03", "Доход: март", "Income: March", Points),
    column("month_04", "Доход: апрель", "Income: April", Points),
    column("month_05", "Доход: май", "Income: May", Points),
    column("month_06", "Доход: июнь", "Income: June", Points),
    column("month_07", "Доход: июль", "Income: July", Points),
    column("month_08", "Доход: август", "Income: August", Points),
    column("month_09", "Доход: сентябрь", "Income: September", Points),
    column("month_10", "Доход: октябрь", "Income: October", Points),
    column("month_11", "Доход: ноябрь", "Income: November", Points),
    column("month_12", "Доход: декабрь", "Income: December", Points),
];

/// The year's events summed per person: income and tax by the events' own records, so
/// the report equals the sum of the taxable events.
const TAXES: [Part; 1] = [Part {
    select: "u.id AS participant_id, u.name AS name, u.phone AS phone, u.tax_id AS tax_id, s.name AS store, \
             COALESCE((SELECT CAST(SUM(e.income) AS BIGINT) FROM tax_events e WHERE e.participant_id = u.id AND e.created_at >= :since AND e.created_at < :until), 0) AS income, \
             COALESCE((SELECT CAST(SUM(e.tax) AS BIGINT) FROM tax_events e WHERE e.participant_id = u.id AND e.created_at >= :since AND e.created_at < :until), 0) AS tax, \
             COALESCE((SELECT CAST(SUM(e.paid) AS BIGINT) FROM tax_events e WHERE e.participant_id = u.id AND e.created_at >= :since AND e.created_at < :until), 0) AS paid, \
             COALESCE((SELECT CAST(SUM(e.income) AS BIGINT) FROM tax_events e WHERE e.participant_id = u.id AND e.created_at >= :since AND e.created_at < :until AND e.month = 1), 0) AS month_01, \
             COALESCE((SELECT CAST(SUM(e.income) AS BIGINT) FROM tax_events e WHERE e.participant_id = u.id AND e.created_at >= :since AND e.created_at < :until AND e.month = 2), 0) AS month_02, \
             COALESCE((SELECT CAST(SUM(e.income) AS BIGINT) FROM tax_events e WHERE e.participant_id = u.id AND e.created_at >= :since AND e.created_at < :until AND e.month = 3), 0) AS month_03, \
             COALESCE((SELECT CAST(SUM(e.income) AS BIGINT) FROM tax_events e WHERE e.participant_id = u.id AND e.created_at >= :since AND e.created_at < :until AND e.month = 4), 0) AS month_04, \
             COALESCE((SELECT CAST(SUM(e.income) AS BIGINT) FROM tax_events e WHERE e.participant_id = u.id AND e.created_at >= :since AND e.created_at < :until AND e.month = 5), 0) AS month_05, \
             COALESCE((SELECT CAST(SUM(e.income) AS BIGINT) FROM tax_events e WHERE e.participant_id = u.id AND e.created_at >= :since AND e.created_at < :until AND e.month = 6), 0) AS month_06, \
             COALESCE((SELECT CAST(SUM(e.income) AS BIGINT) FROM tax_events e WHERE e.participant_id = u.id AND e.created_at >= :since AND e.created_at < :until AND e.month = 7), 0) AS month_07, \
             COALESCE((SELECT CAST(SUM(e.income) AS BIGINT) FROM tax_events e WHERE e.participant_id = u.id AND e.created_at >= :since AND e.created_at < :until AND e.month = 8), 0) AS month_08, \
             COALESCE((SELECT CAST(SUM(e.income) AS BIGINT) FROM tax_events e WHERE e.participant_id = u.id AND e.created_at >= :since AND e.created_at < :until AND e.month = 9), 0) AS month_09, \
             COALESCE((SELECT CAST(SUM(e.income) AS BIGINT) FROM tax_events e WHERE e.participant_id = u.id AND e.created_at >= :since AND e.created_at < :until AND e.month = 10), 0) AS month_10, \
             COALESCE((SELECT CAST(SUM(e.income) AS BIGINT) FROM tax_events e WHERE e.participant_id = u.id AND e.created_at >= :since AND e.created_at < :until AND e.month = 11), 0) AS month_11, \
             COALESCE((SELECT CAST(SUM(e.income) AS BIGINT) FROM tax_events e WHERE e.participant_id = u.id AND e.created_at >= :since AND e.created_at < :until AND e.month = 12), 0) AS month_12",
    from: "users u LEFT JOIN stores s ON s.id = u.store_id",
    key: "u.id",
    time: None,
    condition: Some(
        "u.kind = 'participant' AND EXISTS (SELECT 1 FROM tax_events e WHERE e.participant_id = u.id AND e.created_at >= :since AND e.created_at < :until)",
    ),
    scope: ScopeColumns {
        program: "u.program_id",
        region: Some("s.region_id"),
        partner: Some("COALESCE(u.partner_id, s.partner_id)"),
        brand: None,
        store: Some("u.store_id"),
    },
}];

impl ReportKind {
    pub fn spec(self) -> &'static ReportSpec {
        match self {
            ReportKind::Participants => &ReportSpec {
                columns: &PARTICIPANT_COLUMNS,
                parts: &PARTICIPANTS,
            },
            ReportKind::Transactions => &ReportSpec {
                columns: &TRANSACTION_COLUMNS,
                parts: &TRANSACTIONS,
            },
            ReportKind::Sales => &ReportSpec {
                columns: &SALE_COLUMNS,
                parts: &SALES,
            },
            ReportKind::TaskCompletions => &ReportSpec {
                columns: &TASK_COMPLETION_COLUMNS,
                parts: &TASK_COMPLETIONS,
            },
            ReportKind::Orders => &ReportSpec {
                columns: &ORDER_COLUMNS,
                parts: &ORDERS,
            },
            ReportKind::Tax => &ReportSpec {
                columns: &TAX_COLUMNS,
                parts: &TAXES,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_report_kind_has_one_spec_and_every_part_names_its_columns() {
        for kind in ReportKind::ALL {
            let spec = kind.spec();
            for part in spec.parts {
                for column in spec.columns {
                    assert!(
                        part.select.contains(&format!(" AS {},", column.name))
                            || part.select.ends_with(&format!(" AS {}", column.name)),
                        "{kind}: a part does not select {}",
                        column.name
                    );
                }
            }
        }
    }
}
