//! Lists restricted to what a caller may see: the SQL condition for a
//! [`Visibility`] over a list's scope columns.

use super::Visibility;
use crate::db::Sql;

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
    filter: &mut Sql,
    program_id: i64,
    visibility: &Visibility,
    columns: &ScopeColumns,
) {
    let program = filter.placeholder(program_id);
    filter.and_where(format!("{} = {program}", columns.program));
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
        let placeholders: Vec<String> = ids.iter().map(|id| filter.placeholder(*id)).collect();
        any_of.push(format!("{column} IN ({})", placeholders.join(", ")));
    }
    if any_of.is_empty() {
        filter.and_where("1 = 0");
    } else {
        filter.and_where(format!("({})", any_of.join(" OR ")));
    }
}
