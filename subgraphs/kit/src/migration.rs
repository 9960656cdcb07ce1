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

/// Recreates index `name` of `table` over `columns`, in that order: how an index gains a
/// column. A list read by keyset orders by (`created_at`, node id), so its index ends
/// with the node: with `created_at` alone, SQLite sorted every page's rows of equal time
/// in a temporary B-tree, one per page of a batch.
pub async fn replace_index(
    manager: &SchemaManager<'_>,
    name: &str,
    table: &str,
    columns: &[&str],
) -> Result<(), DbErr> {
    manager
        .drop_index(Index::drop().name(name).table(Alias::new(table)).to_owned())
        .await?;
    let columns = columns.iter().map(|column| Alias::new(*column));
    create_index(manager, name, Alias::new(table), columns).await
}
