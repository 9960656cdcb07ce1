//! Helpers for the subgraphs' own migrations, written once so that every schema is
//! built the same way on SQLite and Postgres.

use sea_orm_migration::prelude::*;

/// Creates index `name` on `columns` of `table`, in that order (lead with the parent a
/// list is read by, then its ordering column).
pub async fn create_index<T, C>(
    manager: &SchemaManager<'_>,
    name: &str,
    table: T,
    columns: impl IntoIterator<Item = C>,
) -> Result<(), DbErr>
where
    T: IntoTableRef,
    C: IntoIndexColumn,
{
    let mut index = Index::create();
    index.name(name).table(table);
    for column in columns {
        index.col(column);
    }
    manager.create_index(index).await
}
