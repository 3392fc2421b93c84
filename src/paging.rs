//! Keyset paging shared by every list: a page of rows ordered by id, the opaque cursor
//! that names the next one, and the limits a client may ask for.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, ApiResult};

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

    /// For lists read newest first: the id below which the page starts (`i64::MAX`
    /// for the first page), and the page size.
    pub fn newest_first(&self) -> ApiResult<(i64, i64)> {
        let (after, limit) = self.resolve()?;
        Ok((if after > 0 { after } else { i64::MAX }, limit))
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
