//! The replica of private accounts, for every subgraph that must honour privacy on its
//! own: a private account's posts, comments and follows are for itself and its approved
//! followers only, and the owner of the data cannot be asked on every read. Written once
//! here, beside [`crate::restriction`], because every replica is the same tables, the same
//! idempotent writes from the same events and the same reads; what privacy hides stays
//! each domain's decision.
//!
//! - [`account`]: which accounts are private, from [`PROFILES`]' [`PRIVACY_CHANGED`]
//!   (the newest change wins, whatever order it arrives in); [`create_account_table`].
//! - [`follower`]: who follows whom, from social's [`USER_FOLLOWED`] and
//!   [`USER_UNFOLLOWED`], and its `user.blocked` (a block ends the follows both ways
//!   without an unfollow); [`create_follower_table`]. Social keeps the follows
//!   themselves and needs only [`account`].
//! - Kept by [`apply`] (inside a subgraph's own handler) or [`Replica`] (a handler of its
//!   own).
//! - Read by [`may_see`] inside a list's statement, and by [`hidden_from`] and
//!   [`hidden_authors`] (through the [`PrivacyLoader`]) elsewhere.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use async_graphql::Context;
use async_graphql::dataloader::{DataLoader, Loader};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, QueryFilter, QuerySelect};
use sea_orm_migration::prelude::{Index, SchemaManager, Table};
use sea_orm_migration::schema::{boolean, pk_uuid, timestamp_with_time_zone, uuid};
use serde::Deserialize;

use crate::db::in_list;
use crate::events::{Envelope, Handler, HandlerError};
use crate::graphql::internal;
use crate::migration::create_index;
use crate::restriction::USER_BLOCKED;

/// The publishing domain of privacy settings.
pub const PROFILES: &str = "profiles";
/// An account became private or public.
pub const PRIVACY_CHANGED: &str = "profiles.profile.privacy_changed";
/// A user follows another (directly, or by an accepted request).
pub const USER_FOLLOWED: &str = "social.user.followed";
/// A user stopped following another.
pub const USER_UNFOLLOWED: &str = "social.user.unfollowed";

/// Which accounts are private: the `account_privacy` table and its writes.
pub mod account {
    use chrono::{DateTime, Utc};
    use sea_orm::entity::prelude::*;
    use sea_orm::sea_query::{ExprTrait, OnConflict};
    use sea_orm::{ActiveValue::Set, ConnectionTrait};

    use crate::db::micros;

    /// An account's privacy as profiles last said it.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "account_privacy")]
    pub struct Model {
        /// The account.
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: Uuid,
        /// Whether only its approved followers see what it writes and whom it follows.
        pub is_private: bool,
        /// When profiles changed it; an older change arriving late is ignored.
        pub changed_at: DateTime<Utc>,
    }

    /// No relations are navigated through sea-orm.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    /// Records that `user` became private or public at `at`, unless a newer change is
    /// known; true if this change is now the one in force.
    #[tracing::instrument(skip_all)]
    pub async fn set(
        conn: &impl ConnectionTrait,
        user: Uuid,
        private: bool,
        at: DateTime<Utc>,
    ) -> Result<bool, DbErr> {
        let at = micros(at);
        let row = ActiveModel {
            user_id: Set(user),
            is_private: Set(private),
            changed_at: Set(at),
        };
        let newer = Expr::col((Entity, Column::ChangedAt)).lt(at);
        let result = Entity::insert(row)
            .on_conflict(
                OnConflict::column(Column::UserId)
                    .update_columns([Column::IsPrivate, Column::ChangedAt])
                    .action_and_where(newer)
                    .to_owned(),
            )
            .exec_without_returning(conn)
            .await?;
        Ok(result > 0)
    }

    /// Whether `user` is private (an account profiles never spoke of is public).
    #[tracing::instrument(skip_all)]
    pub async fn is_private(conn: &impl ConnectionTrait, user: Uuid) -> Result<bool, DbErr> {
        Ok(Entity::find_by_id(user)
            .one(conn)
            .await?
            .is_some_and(|row| row.is_private))
    }

    /// Forgets an erased account's privacy.
    #[tracing::instrument(skip_all)]
    pub async fn delete(conn: &impl ConnectionTrait, user: Uuid) -> Result<(), DbErr> {
        Entity::delete_by_id(user).exec(conn).await?;
        Ok(())
    }
}

/// Who follows whom: the `follower` table, a replica of social's follows.
pub mod follower {
    use sea_orm::entity::prelude::*;
    use sea_orm::{ActiveValue::Set, Condition, ConnectionTrait, QueryFilter};

    /// A replicated follow: `follower_id` follows `user_id`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "follower")]
    pub struct Model {
        /// The one followed.
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: Uuid,
        /// Who follows them.
        #[sea_orm(primary_key, auto_increment = false)]
        pub follower_id: Uuid,
    }

    /// No relations are navigated through sea-orm.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    /// Records that `follower` follows `user` (again is harmless).
    #[tracing::instrument(skip_all)]
    pub async fn insert(
        conn: &impl ConnectionTrait,
        follower: Uuid,
        user: Uuid,
    ) -> Result<(), DbErr> {
        let row = ActiveModel {
            user_id: Set(user),
            follower_id: Set(follower),
        };
        Entity::insert(row)
            .on_conflict_do_nothing_on([Column::UserId, Column::FollowerId])
            .exec_without_returning(conn)
            .await?;
        Ok(())
    }

    /// Forgets that `follower` follows `user` (if it was known).
    #[tracing::instrument(skip_all)]
    pub async fn delete(
        conn: &impl ConnectionTrait,
        follower: Uuid,
        user: Uuid,
    ) -> Result<(), DbErr> {
        Entity::delete_by_id((user, follower)).exec(conn).await?;
        Ok(())
    }

    /// Forgets every follow by or of an erased user.
    #[tracing::instrument(skip_all)]
    pub async fn delete_user(conn: &impl ConnectionTrait, user: Uuid) -> Result<(), DbErr> {
        Entity::delete_many()
            .filter(
                Condition::any()
                    .add(Column::UserId.eq(user))
                    .add(Column::FollowerId.eq(user)),
            )
            .exec(conn)
            .await?;
        Ok(())
    }
}

/// Creates the `account_privacy` table, for a subgraph's migration.
pub async fn create_account_table(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(AccountPrivacy::Table)
                .col(pk_uuid(AccountPrivacy::UserId))
                .col(boolean(AccountPrivacy::IsPrivate))
                .col(timestamp_with_time_zone(AccountPrivacy::ChangedAt))
                .to_owned(),
        )
        .await
}

/// Creates the `follower` table and its index by follower, for a subgraph's migration.
pub async fn create_follower_table(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(Follows::Table)
                .col(uuid(Follows::UserId))
                .col(uuid(Follows::FollowerId))
                .primary_key(
                    Index::create()
                        .col(Follows::UserId)
                        .col(Follows::FollowerId),
                )
                .to_owned(),
        )
        .await?;
    // An erased account's follows are found from either side.
    create_index(
        manager,
        "follower_follower_idx",
        Follows::Table,
        [Follows::FollowerId],
    )
    .await
}

#[derive(DeriveIden)]
enum AccountPrivacy {
    Table,
    UserId,
    IsPrivate,
    ChangedAt,
}

#[derive(DeriveIden)]
enum Follows {
    #[sea_orm(iden = "follower")]
    Table,
    UserId,
    FollowerId,
}

/// The part of profiles' `profile.privacy_changed` payload a replica reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrivacyChanged {
    /// Whose account.
    pub user_id: Uuid,
    /// Whether it is private now.
    pub is_private: bool,
    /// When it changed; the newest change wins.
    pub changed_at: DateTime<Utc>,
}

/// The part of social's `user.followed` and `user.unfollowed` payloads a replica reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FollowChanged {
    /// Who follows (or stopped).
    pub follower_id: Uuid,
    /// Whom.
    pub followee_id: Uuid,
}

/// The part of social's `user.blocked` payload a replica reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Blocked {
    user_id: Uuid,
    target_id: Uuid,
}

/// Keeps both tables in step with [`PRIVACY_CHANGED`], [`USER_FOLLOWED`],
/// [`USER_UNFOLLOWED`] and social's `user.blocked`; any other event is left alone, so a subgraph's handler can pass every event of its social
/// or profiles consumer here. Applying an event again changes nothing.
pub async fn apply(txn: &DatabaseTransaction, event: &Envelope) -> Result<(), HandlerError> {
    match event.event_type.as_str() {
        PRIVACY_CHANGED => {
            let changed: PrivacyChanged = event.data_as()?;
            account::set(txn, changed.user_id, changed.is_private, changed.changed_at).await?;
        }
        USER_FOLLOWED => {
            let followed: FollowChanged = event.data_as()?;
            follower::insert(txn, followed.follower_id, followed.followee_id).await?;
        }
        USER_UNFOLLOWED => {
            let unfollowed: FollowChanged = event.data_as()?;
            follower::delete(txn, unfollowed.follower_id, unfollowed.followee_id).await?;
        }
        USER_BLOCKED => {
            let blocked: Blocked = event.data_as()?;
            let (user, target) = (blocked.user_id, blocked.target_id);
            follower::delete(txn, user, target).await?;
            follower::delete(txn, target, user).await?;
        }
        _ => {}
    }
    Ok(())
}

/// A handler that only keeps the replica, for a consumer of profiles' privacy changes
/// (or of social's follows) alone.
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

/// Forgets an erased user: their privacy and every follow by or of them.
#[tracing::instrument(skip_all)]
pub async fn delete_user(conn: &impl ConnectionTrait, user: Uuid) -> Result<(), DbErr> {
    account::delete(conn, user).await?;
    follower::delete_user(conn, user).await
}

/// SQL: the viewer (the placeholder `viewer`, such as `$4`; the nil id for a signed-out
/// viewer) may see what the user in column `author` wrote: the author is the viewer, or
/// is not private, or the viewer follows them. Each test is an index read of the replica
/// (`account_privacy`'s key, `follower`'s key); the aliases `ap` and `f` are its own.
pub fn may_see(author: &str, viewer: &str) -> String {
    format!(
        "({author} = {viewer} \
         OR NOT EXISTS (SELECT 1 FROM account_privacy ap \
         WHERE ap.user_id = {author} AND ap.is_private) \
         OR EXISTS (SELECT 1 FROM follower f \
         WHERE f.user_id = {author} AND f.follower_id = {viewer}))"
    )
}

/// Those of `authors` whose writing `viewer` (none when signed out) may not see: private,
/// not the viewer, and not followed by the viewer.
pub async fn hidden_from(
    conn: &impl ConnectionTrait,
    viewer: Option<Uuid>,
    authors: &[Uuid],
) -> Result<HashSet<Uuid>, DbErr> {
    let keys: Vec<PrivacyKey> = authors
        .iter()
        .map(|&author| PrivacyKey { viewer, author })
        .collect();
    let hidden = hidden_pairs(conn, &keys).await?;
    Ok(hidden.into_iter().map(|key| key.author).collect())
}

/// Those of `keys` whose viewer may not see what their author wrote (see [`hidden_from`]),
/// whatever the number of viewers: one statement for the private authors among them, and
/// one more for their followers among the viewers if there are any, so that the checks of
/// many requests share them.
#[tracing::instrument(skip_all, fields(keys = keys.len()))]
pub async fn hidden_pairs(
    conn: &impl ConnectionTrait,
    keys: &[PrivacyKey],
) -> Result<HashSet<PrivacyKey>, DbErr> {
    let authors: HashSet<Uuid> = keys.iter().map(|key| key.author).collect();
    let private: HashSet<Uuid> = account::Entity::find()
        .select_only()
        .column(account::Column::UserId)
        .filter(account::Column::IsPrivate.eq(true))
        .filter(account::Column::UserId.is_in(in_list(authors)))
        .into_tuple::<Uuid>()
        .all(conn)
        .await?
        .into_iter()
        .collect();
    let asking: Vec<&PrivacyKey> = keys
        .iter()
        .filter(|key| private.contains(&key.author) && key.viewer != Some(key.author))
        .collect();
    let viewers: HashSet<Uuid> = asking.iter().filter_map(|key| key.viewer).collect();
    let follows: HashSet<(Uuid, Uuid)> = if viewers.is_empty() {
        HashSet::new()
    } else {
        follower::Entity::find()
            .filter(follower::Column::UserId.is_in(in_list(private.iter().copied())))
            .filter(follower::Column::FollowerId.is_in(in_list(viewers)))
            .all(conn)
            .await?
            .into_iter()
            .map(|row| (row.user_id, row.follower_id))
            .collect()
    };
    Ok(asking
        .into_iter()
        .filter(|key| {
            key.viewer
                .is_none_or(|viewer| !follows.contains(&(key.author, viewer)))
        })
        .copied()
        .collect())
}

/// Whether a viewer (none when signed out) may not see what a user wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PrivacyKey {
    /// Who is looking.
    pub viewer: Option<Uuid>,
    /// Whose writing.
    pub author: Uuid,
}

/// Loads [`PrivacyKey`]s: one [`hidden_pairs`] for the whole batch; only hidden pairs are
/// in its answer. Put it in the schema's data to use [`hidden_authors`].
pub struct PrivacyLoader(pub DatabaseConnection);

impl Loader<PrivacyKey> for PrivacyLoader {
    type Value = ();
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[PrivacyKey]) -> Result<HashMap<PrivacyKey, ()>, Self::Error> {
        let hidden = hidden_pairs(&self.0, keys).await.map_err(Arc::new)?;
        Ok(hidden.into_iter().map(|key| (key, ())).collect())
    }
}

/// Those of `authors` whose writing `viewer` may not see, through the schema's
/// [`PrivacyLoader`] (batched with the other checks of the request).
pub async fn hidden_authors(
    ctx: &Context<'_>,
    viewer: Option<Uuid>,
    authors: impl IntoIterator<Item = Uuid>,
) -> async_graphql::Result<HashSet<Uuid>> {
    let keys: HashSet<PrivacyKey> = authors
        .into_iter()
        .map(|author| PrivacyKey { viewer, author })
        .collect();
    if keys.is_empty() {
        return Ok(HashSet::new());
    }
    let loader = ctx.data_unchecked::<DataLoader<PrivacyLoader>>();
    let hidden = loader.load_many(keys).await.map_err(|e| internal(&e))?;
    Ok(hidden.into_keys().map(|key| key.author).collect())
}
