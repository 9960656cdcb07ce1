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
    /// Their avatar: a ready media object of theirs (media's id).
    pub avatar_media_id: Option<Uuid>,
    /// Whether only the user's approved followers see their posts and follows.
    pub is_private: bool,
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
        avatar_media_id: Set(None),
        is_private: Set(false),
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
    /// New avatar (`Some(None)` clears it).
    pub avatar_media_id: Option<Option<Uuid>>,
    /// Private or public.
    pub is_private: Option<bool>,
}

/// A profile after an update, and whether the update made it private or public.
#[derive(Debug)]
pub struct Updated {
    /// The profile as it is now.
    pub profile: Model,
    /// Whether `is_private` changed.
    pub privacy_changed: bool,
}

/// Applies `changes` to a user's profile and returns it, or `None` if it has no profile.
#[tracing::instrument(skip_all)]
pub async fn update(
    conn: &impl ConnectionTrait,
    user_id: Uuid,
    changes: Changes,
) -> Result<Option<Updated>, DbErr> {
    let Some(current) = Entity::find_by_id(user_id).one(conn).await? else {
        return Ok(None);
    };
    let privacy_changed = changes
        .is_private
        .is_some_and(|private| private != current.is_private);
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
    if let Some(avatar) = changes.avatar_media_id {
        row.avatar_media_id = Set(avatar);
    }
    if let Some(private) = changes.is_private {
        row.is_private = Set(private);
    }
    row.updated_at = Set(Utc::now());
    let profile = row.update(conn).await?;
    Ok(Some(Updated {
        profile,
        privacy_changed,
    }))
}

/// Replicates a user's new handle; a display name still equal to the `previous` handle
/// (the default, never changed) becomes the new one too.
#[tracing::instrument(skip_all)]
pub async fn set_handle(
    conn: &impl ConnectionTrait,
    user_id: Uuid,
    handle: &str,
    previous: &str,
) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::DisplayName, Expr::value(handle.to_owned()))
        .filter(Column::UserId.eq(user_id))
        .filter(Column::DisplayName.eq(previous))
        .exec(conn)
        .await?;
    Entity::update_many()
        .col_expr(Column::Handle, Expr::value(handle.to_owned()))
        .filter(Column::UserId.eq(user_id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Clears the avatar of whoever had deleted media `media` as theirs.
#[tracing::instrument(skip_all)]
pub async fn clear_avatar(conn: &impl ConnectionTrait, media: Uuid) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(
            Column::AvatarMediaId,
            sea_orm::sea_query::Expr::value(Option::<Uuid>::None),
        )
        .filter(Column::AvatarMediaId.eq(media))
        .exec(conn)
        .await?;
    Ok(())
}

/// Deletes the profile of an erased user.
#[tracing::instrument(skip_all)]
pub async fn delete(conn: &impl ConnectionTrait, user_id: Uuid) -> Result<(), DbErr> {
    Entity::delete_by_id(user_id).exec(conn).await?;
    Ok(())
}
