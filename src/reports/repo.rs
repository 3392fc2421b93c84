//! Reading one page of a report part: the part's statement with the caller's scope,
//! the filters and the period, walked by its key.

use sqlx::Row;
use sqlx::any::AnyRow;
use stimul_actors::rules::points::Points;

use super::Plan;
use super::format::Cell;
use super::specs::{Column, ColumnKind, Part};
use crate::access::scoped::restrict_to;
use crate::db::{Db, Sql};

/// The statement for rows of `part` after `after`, at most `limit` of them.
fn statement(plan: &Plan, part: &Part, after: i64, limit: i64) -> Sql {
    let mut sql = Sql::default();
    let since = sql.placeholder(plan.since);
    let until = sql.placeholder(plan.until);
    restrict_to(&mut sql, plan.program_id, &plan.visibility, &part.scope);
    if let Some(condition) = part.condition {
        sql.and_where(
            condition
                .replace(":since", &since)
                .replace(":until", &until),
        );
    }
    if let Some(time) = part.time {
        sql.and_where(format!("{time} >= {since} AND {time} < {until}"));
    }
    for (column, value) in plan.filters.matched(&part.scope) {
        let p = sql.placeholder(value);
        sql.and_where(format!("{column} = {p}"));
    }
    let after = sql.placeholder(after);
    sql.and_where(format!("{} > {after}", part.key));
    let select = part
        .select
        .replace(":since", &since)
        .replace(":until", &until);
    sql.push(&format!(
        "SELECT {select}, {} AS row_key FROM {}",
        part.key, part.from
    ))
    .push_where()
    .push(&format!(" ORDER BY {} LIMIT ", part.key))
    .bind(limit);
    sql
}

fn cell(row: &AnyRow, column: &Column) -> sqlx::Result<Cell> {
    Ok(match column.kind {
        ColumnKind::Text => row
            .try_get::<Option<String>, _>(column.name)?
            .map_or(Cell::Empty, Cell::Text),
        ColumnKind::Int => row
            .try_get::<Option<i64>, _>(column.name)?
            .map_or(Cell::Empty, Cell::Int),
        ColumnKind::Points => row
            .try_get::<Option<i64>, _>(column.name)?
            .map_or(Cell::Empty, |h| Cell::Points(Points::from_hundredths(h))),
        ColumnKind::Time => row
            .try_get::<Option<i64>, _>(column.name)?
            .map_or(Cell::Empty, Cell::Time),
    })
}

/// Up to `limit` rows of `part` after the key `after`, with the last key read.
#[tracing::instrument(skip_all, fields(after = ?after, limit = ?limit))]
pub async fn page(
    db: &Db,
    plan: &Plan,
    part: &Part,
    after: i64,
    limit: i64,
) -> sqlx::Result<(Vec<Vec<Cell>>, Option<i64>)> {
    let rows = statement(plan, part, after, limit)
        .query()
        .fetch_all(&db.pool)
        .await?;
    let mut last = None;
    let mut cells = Vec::with_capacity(rows.len());
    for row in &rows {
        last = Some(row.try_get::<i64, _>("row_key")?);
        cells.push(
            plan.spec
                .columns
                .iter()
                .map(|column| cell(row, column))
                .collect::<sqlx::Result<Vec<_>>>()?,
        );
    }
    Ok((cells, last))
}
