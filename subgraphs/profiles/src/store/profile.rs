//! Profiles: what a user says about themselves, keyed by the user id from identity.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::{ActiveValue::Set, ConnectionTrait, QueryFilter};

/// A profile row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "profile")]
pub struct Model {
    /// The user id (identity's account id).
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    /// Replica of the handle, for search and defaults.
    pub handle: String,
    /// Name shown beside the handle.
    pub display_name: String,
    /// Free text about the user; empty when unset.
    pub bio: String,
    /// Personal link.
    pub website: Option<String>,
    /// Where the user says they are.
    pub location: Option<String>,
    /// When the profile was created (on registration).
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Creates the default profile of a new user, unless one exists already.
#[tracing::instrument(skip_all)]
pub async fn create_if_absent(
    conn: &impl ConnectionTrait,
    user_id: Uuid,
    handle: &str,
) -> Result<(), DbErr> {
    let now = Utc::now();
    let row = ActiveModel {
        user_id: Set(user_id),
        handle: Set(handle.to_owned()),
        display_name: Set(handle.to_owned()),
        bio: Set(String::new()),
        website: Set(None),
        location: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    };
    Entity::insert(row)
        .on_conflict_do_nothing_on([Column::UserId])
        .exec(conn)
        .await?;
    Ok(())
}

/// Loads the profiles of the given users (for entity batches), in no particular order.
#[tracing::instrument(skip_all)]
pub async fn find_many(
    conn: &impl ConnectionTrait,
    user_ids: &[Uuid],
) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(Column::UserId.is_in(user_ids.iter().copied()))
        .all(conn)
        .await
}

/// The fields a user may change; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct Changes {
    /// New display name.
    pub display_name: Option<String>,
    /// New bio (empty clears it).
    pub bio: Option<String>,
    /// New website (`Some(None)` clears it).
    pub website: Option<Option<String>>,
    /// New location (`Some(None)` clears it).
    pub location: Option<Option<String>>,
}

/// Applies `changes` to a user's profile and returns it, or `None` if it has no profile.
#[tracing::instrument(skip_all)]
pub async fn update(
    conn: &impl ConnectionTrait,
    user_id: Uuid,
    changes: Changes,
) -> Result<Option<Model>, DbErr> {
    let Some(current) = Entity::find_by_id(user_id).one(conn).await? else {
        return Ok(None);
    };
    let mut row: ActiveModel = current.into();
    if let Some(display_name) = changes.display_name {
        row.display_name = Set(display_name);
    }
    if let Some(bio) = changes.bio {
        row.bio = Set(bio);
    }
    if let Some(website) = changes.website {
        row.website = Set(website);
    }
    if let Some(location) = changes.location {
        row.location = Set(location);
    }
    row.updated_at = Set(Utc::now());
    row.update(conn).await.map(Some)
}
