//! Accounts: email, handle and the Argon2id password hash.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::{ActiveValue::Set, ConnectionTrait, QueryFilter};

/// An account row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "account")]
pub struct Model {
    /// The user id everywhere in Agora (UUIDv7).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Lower-cased email, unique.
    pub email: String,
    /// The handle as the user typed it.
    pub handle: String,
    /// The lower-cased handle, unique: handles differ by more than case.
    pub handle_key: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// When the account was registered.
    pub created_at: DateTime<Utc>,
    /// When the current email was proven to reach its owner; null until then.
    pub email_verified_at: Option<DateTime<Utc>>,
    /// When the handle was last changed (changes are rate-limited); null if never.
    pub handle_changed_at: Option<DateTime<Utc>>,
    /// When the account was deleted: the row is then a tombstone holding its handle
    /// reserved for [`HANDLE_HOLD`], with no email or password.
    pub deleted_at: Option<DateTime<Utc>>,
}

/// How long a deleted account's handle stays reserved, so that nobody takes it over
/// while others still remember it.
pub const HANDLE_HOLD: chrono::Duration = chrono::Duration::days(30);

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Inserts a new account. A unique violation surfaces as a `DbErr` for the caller to map.
#[tracing::instrument(skip_all)]
pub async fn insert(
    conn: &impl ConnectionTrait,
    email: &str,
    handle: &str,
    password_hash: String,
) -> Result<Model, DbErr> {
    ActiveModel {
        id: Set(Uuid::now_v7()),
        email: Set(email.to_lowercase()),
        handle: Set(handle.to_owned()),
        handle_key: Set(handle.to_lowercase()),
        password_hash: Set(password_hash),
        created_at: Set(Utc::now()),
        email_verified_at: Set(None),
        handle_changed_at: Set(None),
        deleted_at: Set(None),
    }
    .insert(conn)
    .await
}

/// Finds a live account by email or by handle, case-insensitively (never a tombstone).
#[tracing::instrument(skip_all)]
pub async fn find_by_login(
    conn: &impl ConnectionTrait,
    login: &str,
) -> Result<Option<Model>, DbErr> {
    let key = login.trim().to_lowercase();
    let column = if key.contains('@') {
        Column::Email
    } else {
        Column::HandleKey
    };
    Entity::find()
        .filter(column.eq(key))
        .filter(Column::DeletedAt.is_null())
        .one(conn)
        .await
}

/// Whether an email or a handle is already taken, as `(email_taken, handle_taken)`.
#[tracing::instrument(skip_all)]
pub async fn taken(
    conn: &impl ConnectionTrait,
    email: &str,
    handle: &str,
) -> Result<(bool, bool), DbErr> {
    let email_taken = Entity::find()
        .filter(Column::Email.eq(email.to_lowercase()))
        .one(conn)
        .await?
        .is_some();
    let handle_taken = Entity::find()
        .filter(Column::HandleKey.eq(handle.to_lowercase()))
        .one(conn)
        .await?
        .is_some();
    Ok((email_taken, handle_taken))
}

/// Loads the accounts with the given ids (for entity batches), in no particular order.
#[tracing::instrument(skip_all)]
pub async fn find_many(conn: &impl ConnectionTrait, ids: &[Uuid]) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(Column::Id.is_in(ids.iter().copied()))
        .all(conn)
        .await
}

/// Replaces the password hash of an account.
#[tracing::instrument(skip_all)]
pub async fn set_password(
    conn: &impl ConnectionTrait,
    id: Uuid,
    password_hash: String,
) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::PasswordHash, Expr::value(password_hash))
        .filter(Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Gives account `id` the handle `handle` at `at`, unless its handle was changed after
/// `not_after` (the rate limit, checked here so that concurrent changes cannot both pass
/// it); false if refused. A unique violation surfaces as a `DbErr` for the caller to map.
#[tracing::instrument(skip_all)]
pub async fn set_handle(
    conn: &impl ConnectionTrait,
    id: Uuid,
    handle: &str,
    at: DateTime<Utc>,
    not_after: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = Entity::update_many()
        .col_expr(Column::Handle, Expr::value(handle.to_owned()))
        .col_expr(Column::HandleKey, Expr::value(handle.to_lowercase()))
        .col_expr(Column::HandleChangedAt, Expr::value(at))
        .filter(Column::Id.eq(id))
        .filter(
            sea_orm::Condition::any()
                .add(Column::HandleChangedAt.is_null())
                .add(Column::HandleChangedAt.lte(not_after)),
        )
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Marks the account's email verified, if it is still `email` (a link sent to an earlier
/// address proves nothing about the current one); false if it is not.
#[tracing::instrument(skip_all)]
pub async fn mark_email_verified(
    conn: &impl ConnectionTrait,
    id: Uuid,
    email: &str,
    at: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = Entity::update_many()
        .col_expr(Column::EmailVerifiedAt, Expr::value(at))
        .filter(Column::Id.eq(id))
        .filter(Column::Email.eq(email))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Replaces the email; the new one is unverified. A unique violation surfaces as a
/// `DbErr` for the caller to map.
#[tracing::instrument(skip_all)]
pub async fn set_email(conn: &impl ConnectionTrait, id: Uuid, email: &str) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::Email, Expr::value(email.to_lowercase()))
        .col_expr(
            Column::EmailVerifiedAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Turns a live account into a tombstone: its email and password hash are wiped (the
/// email becomes an address that cannot exist, so the real one is free again), its handle
/// stays reserved. False if it was not a live account (deleted concurrently).
#[tracing::instrument(skip_all)]
pub async fn erase(
    conn: &impl ConnectionTrait,
    id: Uuid,
    at: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = Entity::update_many()
        .col_expr(Column::Email, Expr::value(format!("{id}@erased.invalid")))
        .col_expr(Column::PasswordHash, Expr::value(String::new()))
        .col_expr(
            Column::EmailVerifiedAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(Column::DeletedAt, Expr::value(at))
        .filter(Column::Id.eq(id))
        .filter(Column::DeletedAt.is_null())
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Frees `handle` if a tombstone has held it for longer than [`HANDLE_HOLD`], so that it
/// can be taken again: the tombstone keeps a key no handle can have (`~` and its id).
#[tracing::instrument(skip_all)]
pub async fn release_held_handle(conn: &impl ConnectionTrait, handle: &str) -> Result<(), DbErr> {
    let Some(tombstone) = Entity::find()
        .filter(Column::HandleKey.eq(handle.to_lowercase()))
        .filter(Column::DeletedAt.lt(Utc::now() - HANDLE_HOLD))
        .one(conn)
        .await?
    else {
        return Ok(());
    };
    Entity::update_many()
        .col_expr(Column::HandleKey, Expr::value(format!("~{}", tombstone.id)))
        .filter(Column::Id.eq(tombstone.id))
        .exec(conn)
        .await?;
    Ok(())
}
