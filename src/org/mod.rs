//! The organisation of a program: the program itself, its regions, partners, brands,
//! stores and people, and the way people join (registration, invitations, imports).
//! Functions here take a transaction or the pool and validated domain values; the HTTP
//! layer in `api/` checks access and shapes requests and answers.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::access::Visibility;
use crate::db::{Bind, SqlFilter};
use crate::error::{ApiError, ApiResult};

pub mod imports;
pub mod people;
pub mod programs;
pub mod registration;
pub mod stores;

/// A page of a list, newest objects last; pass `next_cursor` back as `cursor` to get
/// the next page. Cursors are opaque.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// From a previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// 1 to 200, default 50.
    pub limit: Option<i64>,
}

pub const DEFAULT_PAGE: i64 = 50;
pub const MAX_PAGE: i64 = 200;

impl PageParams {
    /// The id after which the page starts, and the page size.
    pub fn resolve(&self) -> ApiResult<(i64, i64)> {
        let limit = self.limit.unwrap_or(DEFAULT_PAGE);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(ApiError::field("limit", format!("must be 1 to {MAX_PAGE}")));
        }
        let after = match &self.cursor {
            None => 0,
            Some(cursor) => cursor
                .parse::<i64>()
                .ok()
                .filter(|id| *id >= 0)
                .ok_or_else(|| ApiError::field("cursor", "not a cursor from this API"))?,
        };
        Ok((after, limit))
    }
}

/// Builds a page from rows fetched with `LIMIT limit + 1` ordered by id.
pub fn page_of<T>(mut rows: Vec<T>, limit: i64, id_of: impl Fn(&T) -> i64) -> Page<T> {
    let next_cursor = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|row| id_of(row).to_string())
    } else {
        None
    };
    Page {
        items: rows,
        next_cursor,
    }
}

/// The columns a list is matched on against a caller's [`Visibility`].
pub struct ScopeColumns {
    pub program: &'static str,
    pub region: Option<&'static str>,
    pub partner: Option<&'static str>,
    pub brand: Option<&'static str>,
    pub store: Option<&'static str>,
}

/// Restricts a list query to what the caller may see.
pub fn restrict_to(
    filter: &mut SqlFilter,
    program_id: i64,
    visibility: &Visibility,
    columns: &ScopeColumns,
) {
    let program = filter.placeholder(Bind::Int(program_id));
    filter.push(format!("{} = {program}", columns.program));
    if visibility.whole_program {
        return;
    }
    let mut any_of = Vec::new();
    let sets = [
        (columns.region, &visibility.regions),
        (columns.partner, &visibility.partners),
        (columns.brand, &visibility.brands),
        (columns.store, &visibility.stores),
    ];
    for (column, ids) in sets {
        let Some(column) = column else { continue };
        if ids.is_empty() {
            continue;
        }
        let placeholders: Vec<String> = ids
            .iter()
            .map(|id| filter.placeholder(Bind::Int(*id)))
            .collect();
        any_of.push(format!("{column} IN ({})", placeholders.join(", ")));
    }
    if any_of.is_empty() {
        filter.push("1 = 0");
    } else {
        filter.push(format!("({})", any_of.join(" OR ")));
    }
}
