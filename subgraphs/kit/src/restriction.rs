//! The replica of social's blocks and mutes, for every subgraph that must honour a block
//! on its own (a block hides each side from the other everywhere, and social cannot be
//! asked on every read). Written once here because every replica is the same table, the
//! same idempotent writes from the same events and the same reads; what a block means to
//! a domain stays in that domain.
//!
//! - The `restriction` table: [`create_table`] in a subgraph's migrations, [`Entity`].
//! - Kept by [`apply`] (inside a subgraph's own handler) or [`Replica`] (a handler of its
//!   own) from [`SOCIAL`]'s [`EVENTS`] (or only [`BLOCK_EVENTS`]).
//! - Read by [`not_blocked`] inside a list's statement, by [`blocked_with`] and
//!   [`silenced`] in store code, and by [`is_blocked`] through the [`BlockLoader`] in
//!   resolvers.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use async_graphql::Context;
use async_graphql::dataloader::{DataLoader, Loader};
use async_trait::async_trait;
use sea_orm::entity::prelude::*;
use sea_orm::{
    ActiveValue::Set, Condition, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    QueryFilter,
};
use sea_orm_migration::prelude::{Index, SchemaManager, Table};
use sea_orm_migration::schema::{string, uuid};
use serde::Deserialize;

use crate::db::in_list;
use crate::events::{Envelope, Handler, HandlerError};
use crate::graphql::internal;
use crate::migration::create_index;

/// The publishing domain of blocks and mutes.
pub const SOCIAL: &str = "social";
/// A user blocked another: they are invisible to each other.
pub const USER_BLOCKED: &str = "social.user.blocked";
/// A block was lifted.
pub const USER_UNBLOCKED: &str = "social.user.unblocked";
/// A user muted another.
pub const USER_MUTED: &str = "social.user.muted";
/// A mute was lifted.
pub const USER_UNMUTED: &str = "social.user.unmuted";
/// The events of a replica of blocks only.
pub const BLOCK_EVENTS: &[&str] = &[USER_BLOCKED, USER_UNBLOCKED];
/// The events of a replica of blocks and mutes.
pub const EVENTS: &[&str] = &[USER_BLOCKED, USER_UNBLOCKED, USER_MUTED, USER_UNMUTED];

/// A block (the `kind` column).
pub const BLOCK: &str = "block";
/// A mute (the `kind` column).
pub const MUTE: &str = "mute";

/// A replicated block or mute.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "restriction")]
pub struct Model {
    /// Who blocked or muted.
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    /// Whom.
    #[sea_orm(primary_key, auto_increment = false)]
    pub target_id: Uuid,
    /// [`BLOCK`] or [`MUTE`].
    #[sea_orm(primary_key, auto_increment = false)]
    pub kind: String,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Creates the `restriction` table and its index by target, for a subgraph's migration.
pub async fn create_table(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(Restriction::Table)
                .col(uuid(Restriction::UserId))
                .col(uuid(Restriction::TargetId))
                .col(string(Restriction::Kind))
                .primary_key(
                    Index::create()
                        .col(Restriction::UserId)
                        .col(Restriction::TargetId)
                        .col(Restriction::Kind),
                )
                .to_owned(),
        )
        .await?;
    create_index(
        manager,
        "restriction_target_idx",
        Restriction::Table,
        [Restriction::TargetId],
    )
    .await
}

#[derive(DeriveIden)]
enum Restriction {
    Table,
    UserId,
    TargetId,
    Kind,
}

/// The part of social's `user.blocked|unblocked|muted|unmuted` payload a replica reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserRestricted {
    /// Who blocked or muted (or lifted it).
    pub user_id: Uuid,
    /// Whom.
    pub target_id: Uuid,
}

/// Keeps the replica in step with one of social's [`EVENTS`]; any other event is left
/// alone, so a subgraph's handler can pass every event of its social consumer here.
pub async fn apply(txn: &DatabaseTransaction, event: &Envelope) -> Result<(), HandlerError> {
    let (kind, blocked) = match event.event_type.as_str() {
        USER_BLOCKED => (BLOCK, true),
        USER_UNBLOCKED => (BLOCK, false),
        USER_MUTED => (MUTE, true),
        USER_UNMUTED => (MUTE, false),
        _ => return Ok(()),
    };
    let changed: UserRestricted = event.data_as()?;
    let (user, target) = (changed.user_id, changed.target_id);
    if blocked {
        insert(txn, kind, user, target).await?;
    } else {
        delete(txn, kind, user, target).await?;
    }
    Ok(())
}

/// A handler that only keeps the replica, for a consumer of social's blocks (and mutes)
/// alone.
pub struct Replica;

#[async_trait]
impl Handler for Replica {
    async fn handle(
        &self,
        txn: &DatabaseTransaction,
        event: &Envelope,
    ) -> Result<(), HandlerError> {
        apply(txn, event).await
    }
}

/// Records a block or mute (again is harmless).
#[tracing::instrument(skip_all)]
pub async fn insert(
    conn: &impl ConnectionTrait,
    kind: &str,
    user: Uuid,
    target: Uuid,
) -> Result<(), DbErr> {
    let row = ActiveModel {
        user_id: Set(user),
        target_id: Set(target),
        kind: Set(kind.to_owned()),
    };
    Entity::insert(row)
        .on_conflict_do_nothing_on([Column::UserId, Column::TargetId, Column::Kind])
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Forgets a lifted block or mute.
#[tracing::instrument(skip_all)]
pub async fn delete(
    conn: &impl ConnectionTrait,
    kind: &str,
    user: Uuid,
    target: Uuid,
) -> Result<(), DbErr> {
    Entity::delete_many()
        .filter(Column::UserId.eq(user))
        .filter(Column::TargetId.eq(target))
        .filter(Column::Kind.eq(kind))
        .exec(conn)
        .await?;
    Ok(())
}

/// SQL: no block either way between the viewer (the placeholder `viewer`, such as `$4`)
/// and the user in column `user`. Both directions are index reads of `restriction` (its
/// key, and its index by target); the alias `r` is its own.
pub fn not_blocked(user: &str, viewer: &str) -> String {
    format!(
        "NOT EXISTS (SELECT 1 FROM restriction r WHERE r.kind = '{BLOCK}' \
         AND ((r.user_id = {viewer} AND r.target_id = {user}) \
         OR (r.target_id = {viewer} AND r.user_id = {user})))"
    )
}

/// Those of `others` between whom and `user` a block stands, either way.
pub async fn blocked_with(
    conn: &impl ConnectionTrait,
    user: Uuid,
    others: &[Uuid],
) -> Result<HashSet<Uuid>, DbErr> {
    let keys: Vec<BlockKey> = others
        .iter()
        .map(|&other| BlockKey {
            viewer: user,
            user: other,
        })
        .collect();
    let blocked = blocked_pairs(conn, &keys).await?;
    Ok(blocked.into_iter().map(|key| key.user).collect())
}

/// Those of `keys` with a block between their viewer and user, either way: one statement
/// whatever the number of viewers, so that the checks of many requests share it.
#[tracing::instrument(skip_all, fields(keys = keys.len()))]
pub async fn blocked_pairs(
    conn: &impl ConnectionTrait,
    keys: &[BlockKey],
) -> Result<HashSet<BlockKey>, DbErr> {
    let viewers: HashSet<Uuid> = keys.iter().map(|key| key.viewer).collect();
    let users: HashSet<Uuid> = keys.iter().map(|key| key.user).collect();
    let between = |one: Column, other: Column| {
        Condition::all()
            .add(one.is_in(in_list(viewers.iter().copied())))
            .add(other.is_in(in_list(users.iter().copied())))
    };
    let rows = Entity::find()
        .filter(Column::Kind.eq(BLOCK))
        .filter(
            Condition::any()
                .add(between(Column::UserId, Column::TargetId))
                .add(between(Column::TargetId, Column::UserId)),
        )
        .all(conn)
        .await?;
    let asked: HashSet<&BlockKey> = keys.iter().collect();
    Ok(rows
        .into_iter()
        .flat_map(|row| {
            [(row.user_id, row.target_id), (row.target_id, row.user_id)]
                .map(|(viewer, user)| BlockKey { viewer, user })
        })
        .filter(|key| asked.contains(key))
        .collect())
}

/// Those of `recipients` who must not hear of `actor`: a block either way, or a mute of
/// the actor by the recipient.
#[tracing::instrument(skip_all)]
pub async fn silenced(
    conn: &impl ConnectionTrait,
    actor: Uuid,
    recipients: &[Uuid],
) -> Result<HashSet<Uuid>, DbErr> {
    let mut silenced = blocked_with(conn, actor, recipients).await?;
    let muters = Entity::find()
        .filter(Column::Kind.eq(MUTE))
        .filter(Column::TargetId.eq(actor))
        .filter(Column::UserId.is_in(recipients.iter().copied()))
        .all(conn)
        .await?;
    silenced.extend(muters.into_iter().map(|row| row.user_id));
    Ok(silenced)
}

/// Forgets every block and mute by or of an erased user.
#[tracing::instrument(skip_all)]
pub async fn delete_user(conn: &impl ConnectionTrait, user: Uuid) -> Result<(), DbErr> {
    Entity::delete_many()
        .filter(
            Condition::any()
                .add(Column::UserId.eq(user))
                .add(Column::TargetId.eq(user)),
        )
        .exec(conn)
        .await?;
    Ok(())
}

/// Whether a block stands between a viewer and a user, either way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BlockKey {
    /// Who is looking.
    pub viewer: Uuid,
    /// At whom.
    pub user: Uuid,
}

/// Loads [`BlockKey`]s: one [`blocked_pairs`] for the whole batch; only blocked pairs
/// are in its answer. Put it in the schema's data to use [`is_blocked`].
pub struct BlockLoader(pub DatabaseConnection);

impl Loader<BlockKey> for BlockLoader {
    type Value = ();
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[BlockKey]) -> Result<HashMap<BlockKey, ()>, Self::Error> {
        let blocked = blocked_pairs(&self.0, keys).await.map_err(Arc::new)?;
        Ok(blocked.into_iter().map(|key| (key, ())).collect())
    }
}

/// Whether a block stands between `viewer` and `user`, either way, through the schema's
/// [`BlockLoader`] (batched with the other checks of the request).
pub async fn is_blocked(
    ctx: &Context<'_>,
    viewer: Uuid,
    user: Uuid,
) -> async_graphql::Result<bool> {
    let loader = ctx.data_unchecked::<DataLoader<BlockLoader>>();
    let found = loader
        .load_one(BlockKey { viewer, user })
        .await
        .map_err(|e| internal(&e))?;
    Ok(found.is_some())
}
