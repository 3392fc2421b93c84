//! CSV imports of stores and participants.
//!
//! Decision: a file is imported whole or not at all. Every row is checked first; if any
//! row is bad, nothing is written and the answer lists every bad row with its field
//! errors, so the person fixes the file once and uploads it again. Rows are matched on
//! their natural key (store `code`, participant `phone`), so uploading a corrected or
//! repeated file updates instead of duplicating. `dry_run` checks without writing.
//!
//! Files may be comma- or semicolon-separated (Excel in Russian locales writes `;`),
//! UTF-8 with or without a byte-order mark.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use utoipa::ToSchema;

use super::people::{self, NewPerson, ParticipantRole, PersonStatus};
use super::stores::{self, Store, StoreFields, StoreStatus};
use crate::access::{Permission, Section, Target};
use crate::auth::Principal;
use crate::db::Db;
use crate::domain::AccountKind;
use crate::domain::{Address, Login, PersonName, Phone, Text, Title};
use crate::error::{ApiError, ApiResult, ErrorCode, FieldError, RowError};

/// The most rows one file may hold; bigger imports are split.
pub const MAX_ROWS: usize = 100_000;
/// Bad rows listed in a refusal; more are summarised by count.
const MAX_REPORTED_ROWS: usize = 1_000;

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportSummary {
    /// Data rows in the file.
    pub rows: u64,
    pub created: u64,
    pub updated: u64,
    /// True when nothing was written because the request asked only to check.
    pub dry_run: bool,
}

/// A parsed file: lower-cased headers and the data rows with their numbers.
pub struct CsvTable {
    headers: Vec<String>,
    rows: Vec<(u64, csv::StringRecord)>,
}

impl CsvTable {
    /// Parses `bytes`, refusing unknown columns and missing required ones.
    pub fn parse(bytes: &[u8], required: &[&str], optional: &[&str]) -> ApiResult<Self> {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let text = std::str::from_utf8(bytes).map_err(|_| {
            ApiError::new(
                ErrorCode::ImportRejected,
                "the file is not UTF-8 text; save it as \"CSV UTF-8\"",
            )
        })?;
        let first_line = text.lines().next().unwrap_or_default();
        let delimiter = if first_line.matches(';').count() > first_line.matches(',').count() {
            b';'
        } else {
            b','
        };
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        let headers: Vec<String> = reader
            .headers()
            .map_err(|err| {
                ApiError::new(
                    ErrorCode::ImportRejected,
                    format!("the header row is unreadable: {err}"),
                )
            })?
            .iter()
            .map(|h| h.trim().to_lowercase())
            .collect();
        let mut header_errors = Vec::new();
        for header in &headers {
            if !required.contains(&header.as_str()) && !optional.contains(&header.as_str()) {
                header_errors.push(FieldError {
                    field: header.clone(),
                    message: format!(
                        "unknown column; the columns are {}",
                        [required, optional].concat().join(", ")
                    ),
                });
            }
        }
        for column in required {
            if !headers.iter().any(|h| h == column) {
                header_errors.push(FieldError {
                    field: (*column).into(),
                    message: "required column is missing".into(),
                });
            }
        }
        if !header_errors.is_empty() {
            let mut err = ApiError::new(
                ErrorCode::ImportRejected,
                "the header row does not match; nothing was imported",
            );
            err.rows = vec![RowError {
                row: 0,
                errors: header_errors,
            }];
            return Err(err);
        }
        let mut rows = Vec::new();
        for (index, record) in reader.records().enumerate() {
            let number = index as u64 + 1;
            if rows.len() >= MAX_ROWS {
                return Err(ApiError::new(
                    ErrorCode::ImportRejected,
                    format!("the file has more than {MAX_ROWS} rows; split it"),
                ));
            }
            let record = record.map_err(|err| {
                let mut e = ApiError::new(
                    ErrorCode::ImportRejected,
                    "a row is unreadable; nothing was imported",
                );
                e.rows = vec![RowError {
                    row: number,
                    errors: vec![FieldError {
                        field: "row".into(),
                        message: err.to_string(),
                    }],
                }];
                e
            })?;
            if record.iter().all(str::is_empty) {
                continue;
            }
            if record.len() > headers.len() {
                let mut e = ApiError::new(
                    ErrorCode::ImportRejected,
                    "a row has more cells than the header; nothing was imported",
                );
                let message = format!(
                    "the row has {} cells but the header has {}; quote values that contain the separator",
                    record.len(),
                    headers.len()
                );
                e.rows = vec![RowError {
                    row: number,
                    errors: vec![FieldError {
                        field: "row".into(),
                        message,
                    }],
                }];
                return Err(e);
            }
            rows.push((number, record));
        }
        if rows.is_empty() {
            return Err(ApiError::new(
                ErrorCode::ImportRejected,
                "the file has no data rows",
            ));
        }
        Ok(Self { headers, rows })
    }

    /// The data rows with their numbers in the file (1 = the first after the header).
    pub fn rows(&self) -> &[(u64, csv::StringRecord)] {
        &self.rows
    }

    /// The cell of `column` in `record` (empty when the file has no such column).
    pub fn cell<'a>(&self, record: &'a csv::StringRecord, column: &str) -> &'a str {
        self.headers
            .iter()
            .position(|h| h == column)
            .and_then(|i| record.get(i))
            .unwrap_or_default()
    }
}

/// Collects the errors of one row.
#[derive(Default)]
pub struct RowCheck {
    pub errors: Vec<FieldError>,
}

impl RowCheck {
    pub fn take<T>(&mut self, field: &str, result: Result<T, String>) -> Option<T> {
        result
            .map_err(|message| {
                self.errors.push(FieldError {
                    field: field.into(),
                    message,
                })
            })
            .ok()
    }

    pub fn fail(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }
}

/// Refuses the import if any row failed, listing them.
pub fn reject_if_any(mut bad: Vec<RowError>) -> ApiResult<()> {
    if bad.is_empty() {
        return Ok(());
    }
    let total = bad.len();
    bad.truncate(MAX_REPORTED_ROWS);
    let mut err = ApiError::new(
        ErrorCode::ImportRejected,
        format!(
            "{total} row(s) have errors; nothing was imported. Fix them and upload the file again"
        ),
    );
    err.rows = bad;
    Err(err)
}

/// A reference list's names (lower-cased) to ids, for looking up a file's names.
#[tracing::instrument(skip_all, fields(program_id = ?program_id))]
pub async fn names_to_ids(
    db: &Db,
    table: &'static str,
    program_id: i64,
) -> ApiResult<HashMap<String, i64>> {
    let rows: Vec<(i64, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT id, name FROM {table} WHERE program_id = $1"
    )))
    .bind(program_id)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, name)| (name.to_lowercase(), id))
        .collect())
}

/// The id of `value` in `names` (empty is none); an unknown name fails the row.
pub fn lookup(
    names: &HashMap<String, i64>,
    check: &mut RowCheck,
    field: &str,
    noun: &str,
    value: &str,
) -> Option<i64> {
    if value.is_empty() {
        return None;
    }
    let id = names.get(&value.to_lowercase()).copied();
    if id.is_none() {
        check.fail(
            field,
            format!("there is no {noun} named {value:?}; create it first"),
        );
    }
    id
}

pub const STORE_COLUMNS: (&[&str], &[&str]) =
    (&["code", "name"], &["address", "region", "partner"]);

/// Imports stores: new codes become connected stores, known codes are updated.
#[tracing::instrument(skip_all, fields(dry_run = ?dry_run))]
pub async fn import_stores(
    db: &Db,
    caller: &Principal,
    table: &CsvTable,
    dry_run: bool,
    now_ms: i64,
) -> ApiResult<ImportSummary> {
    let program_id = caller.program_id();
    let regions = names_to_ids(db, "regions", program_id).await?;
    let partners = names_to_ids(db, "partners", program_id).await?;
    let mut seen_codes = HashSet::new();
    let mut bad = Vec::new();
    let mut good = Vec::new();
    for (number, record) in &table.rows {
        let mut check = RowCheck::default();
        let code = check.take(
            "code",
            Text::<64>::parse(table.cell(record, "code")).map(Text::into_string),
        );
        let name = check.take("name", Title::parse(table.cell(record, "name")));
        let address = check.take(
            "address",
            Address::parse_optional(table.cell(record, "address")),
        );
        let region_id = lookup(
            &regions,
            &mut check,
            "region",
            "region",
            table.cell(record, "region"),
        );
        let partner_id = lookup(
            &partners,
            &mut check,
            "partner",
            "partner",
            table.cell(record, "partner"),
        );
        if let Some(code) = &code
            && !seen_codes.insert(code.clone())
        {
            check.fail(
                "code",
                format!("code {code:?} appears more than once in the file"),
            );
        }
        let target = Target {
            program_id,
            region_id,
            partner_id,
            brand_id: None,
            store_id: None,
        };
        if !caller
            .access
            .allows(Permission::edit(Section::Stores), &target)
        {
            check.fail("region", "you may not edit stores there");
        }
        match (code, name, address) {
            (Some(code), Some(name), Some(address)) if check.errors.is_empty() => good.push((
                *number,
                StoreFields {
                    name: name.into_string(),
                    address: address.into_string(),
                    region_id,
                    partner_id,
                    external_ref: Some(code),
                    monthly_plan: None,
                },
            )),
            _ => bad.push(RowError {
                row: *number,
                errors: check.errors,
            }),
        }
    }
    reject_if_any(bad)?;

    let mut tx = db.begin().await?;
    let mut summary = ImportSummary {
        rows: table.rows.len() as u64,
        created: 0,
        updated: 0,
        dry_run,
    };
    let mut bad = Vec::new();
    for (number, fields) in &good {
        let code = fields.external_ref.as_deref().unwrap_or_default();
        match stores::by_external_ref(&mut tx, program_id, code).await? {
            Some(existing) => {
                if !caller
                    .access
                    .allows(Permission::edit(Section::Stores), &existing.target())
                {
                    bad.push(RowError {
                        row: *number,
                        errors: vec![FieldError {
                            field: "code".into(),
                            message: format!("store {code:?} exists outside your scope"),
                        }],
                    });
                    continue;
                }
                // The file has no plan column: keep the store's plan.
                let fields = StoreFields {
                    monthly_plan: existing.monthly_plan,
                    ..fields.clone()
                };
                stores::update(&mut tx, existing.id, &fields, now_ms).await?;
                summary.updated += 1;
            }
            None => {
                stores::create(&mut tx, program_id, fields, StoreStatus::Connected, now_ms).await?;
                summary.created += 1;
            }
        }
    }
    reject_if_any(bad)?;
    finish(tx, dry_run).await?;
    Ok(summary)
}

pub const PARTICIPANT_COLUMNS: (&[&str], &[&str]) =
    (&["phone", "name", "store_code"], &["role", "login"]);

/// Imports participants into stores by store code: new phones become active
/// participants, known phones get their name and store updated.
#[tracing::instrument(skip_all, fields(dry_run = ?dry_run))]
pub async fn import_participants(
    db: &Db,
    caller: &Principal,
    table: &CsvTable,
    dry_run: bool,
    now_ms: i64,
) -> ApiResult<ImportSummary> {
    let program_id = caller.program_id();
    let stores_by_code: HashMap<String, Store> = {
        let mut tx = db.begin().await?;
        let mut map = HashMap::new();
        let mut seen = HashSet::new();
        for (_, record) in &table.rows {
            let code = table.cell(record, "store_code").to_string();
            if seen.insert(code.clone())
                && let Some(store) = stores::by_external_ref(&mut tx, program_id, &code).await?
            {
                map.insert(code, store);
            }
        }
        tx.rollback().await?;
        map
    };
    // The phone of each store's current owner: a file may repeat the owner, not replace it.
    let mut owner_phones: HashMap<i64, String> = HashMap::new();
    for store in stores_by_code.values() {
        if let Some(owner) = store.owner_user_id {
            let phone: Option<String> = sqlx::query_scalar("SELECT phone FROM users WHERE id = $1")
                .bind(owner)
                .fetch_one(&db.pool)
                .await?;
            owner_phones.insert(store.id, phone.unwrap_or_default());
        }
    }
    let mut seen_phones = HashSet::new();
    let mut owners_claimed = HashSet::new();
    let mut bad = Vec::new();
    let mut good = Vec::new();
    for (number, record) in &table.rows {
        let mut check = RowCheck::default();
        let phone = check.take("phone", Phone::parse(table.cell(record, "phone")));
        let name = check.take("name", PersonName::parse(table.cell(record, "name")));
        let role = check.take("role", ParticipantRole::parse(table.cell(record, "role")));
        let login_cell = table.cell(record, "login");
        let login = if login_cell.is_empty() {
            Some(None)
        } else {
            check.take("login", Login::parse(login_cell).map(Some))
        };
        let store_code = table.cell(record, "store_code");
        let store = stores_by_code.get(store_code);
        match store {
            None => check.fail(
                "store_code",
                format!("there is no store with code {store_code:?}"),
            ),
            Some(store) => {
                if !caller
                    .access
                    .allows(Permission::edit(Section::Participants), &store.target())
                {
                    check.fail("store_code", "you may not edit participants of this store");
                }
                if store.status != StoreStatus::Connected {
                    check.fail(
                        "store_code",
                        format!("store {store_code:?} is {}", store.status),
                    );
                }
                if role == Some(ParticipantRole::Owner) {
                    if !owners_claimed.insert(store.id) {
                        check.fail("role", "the file names two owners for this store");
                    }
                    let current_owner = owner_phones.get(&store.id);
                    if current_owner
                        .is_some_and(|owner| phone.as_ref().is_none_or(|p| p.as_str() != owner))
                    {
                        check.fail("role", format!("store {store_code:?} already has an owner; change it in the store first"));
                    }
                }
            }
        }
        if let Some(phone) = &phone
            && !seen_phones.insert(phone.clone())
        {
            check.fail(
                "phone",
                format!("{phone} appears more than once in the file"),
            );
        }
        match (phone, name, role, login, store) {
            (Some(phone), Some(name), Some(role), Some(login), Some(store))
                if check.errors.is_empty() =>
            {
                good.push((*number, phone, name, role, login, store.clone()))
            }
            _ => bad.push(RowError {
                row: *number,
                errors: check.errors,
            }),
        }
    }
    reject_if_any(bad)?;

    let mut tx = db.begin().await?;
    let mut summary = ImportSummary {
        rows: table.rows.len() as u64,
        created: 0,
        updated: 0,
        dry_run,
    };
    let mut bad = Vec::new();
    for (number, phone, name, role, login, store) in good {
        let row_error = |field: &str, message: String| RowError {
            row: number,
            errors: vec![FieldError {
                field: field.into(),
                message,
            }],
        };
        let person_id = match people::by_phone(&mut tx, program_id, &phone).await? {
            Some(existing) if !existing.kind.is_participant() => {
                bad.push(row_error(
                    "phone",
                    format!("{phone} belongs to a staff account"),
                ));
                continue;
            }
            Some(existing) => {
                if !caller
                    .access
                    .allows(Permission::edit(Section::Participants), &existing.target())
                {
                    bad.push(row_error(
                        "phone",
                        format!("{phone} belongs to a participant outside your scope"),
                    ));
                    continue;
                }
                people::update_profile(&mut tx, existing.id, name.as_str(), Some(&phone), now_ms)
                    .await?;
                if role == ParticipantRole::Seller {
                    people::move_to_store(&mut tx, &existing, store.id, now_ms).await?;
                }
                summary.updated += 1;
                existing.id
            }
            None => {
                let new = NewPerson {
                    kind: AccountKind::Participant,
                    name: name.into_string(),
                    phone: Some(phone.clone()),
                    login,
                    password_hash: None,
                    status: PersonStatus::Active,
                    store_id: Some(store.id),
                    partner_id: None,
                    brand_id: None,
                    registration_id: None,
                };
                match people::create_participant(&mut tx, program_id, &new, role, now_ms).await {
                    Ok(id) => {
                        summary.created += 1;
                        id
                    }
                    Err(err) if !err.errors.is_empty() => {
                        bad.push(RowError {
                            row: number,
                            errors: err.errors,
                        });
                        continue;
                    }
                    Err(err) => return Err(err),
                }
            }
        };
        if role == ParticipantRole::Owner {
            let current = stores::get(&mut *tx, store.id).await?;
            match current.owner_user_id {
                Some(owner) if owner != person_id => bad.push(row_error(
                    "role",
                    format!(
                        "store {:?} already has an owner",
                        store.external_ref.as_deref().unwrap_or_default()
                    ),
                )),
                _ => stores::set_owner(&mut tx, &current, Some(person_id), now_ms).await?,
            }
        }
    }
    reject_if_any(bad)?;
    finish(tx, dry_run).await?;
    Ok(summary)
}

/// Commits an import, or rolls it back when it was only checked.
#[tracing::instrument(skip_all, fields(dry_run = ?dry_run))]
pub async fn finish(tx: crate::db::Tx, dry_run: bool) -> ApiResult<()> {
    if dry_run {
        tx.rollback().await?;
    } else {
        tx.commit().await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_semicolons_bom_and_refuses_unknown_columns() {
        let table = CsvTable::parse(
            "\u{feff}code;name;address\nS1;Shop;Main st\n\n".as_bytes(),
            &["code", "name"],
            &["address"],
        );
        let table = table.ok();
        assert_eq!(table.as_ref().map(|t| t.rows.len()), Some(1));
        let unknown = CsvTable::parse(
            b"code,name,adress\nS1,Shop,x\n",
            &["code", "name"],
            &["address"],
        );
        assert!(matches!(unknown, Err(e) if e.rows[0].errors[0].field == "adress"));
        let missing = CsvTable::parse(b"code\nS1\n", &["code", "name"], &[]);
        assert!(missing.is_err());
        assert!(CsvTable::parse(b"code,name\n", &["code", "name"], &[]).is_err());
        assert!(CsvTable::parse(&[0xff, 0xfe, 0x00], &["code"], &[]).is_err());
    }
}
