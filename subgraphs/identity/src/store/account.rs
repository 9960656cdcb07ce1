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
}

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
    }
    .insert(conn)
    .await
}

/// Finds an account by email or by handle, case-insensitively.
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
    Entity::find().filter(column.eq(key)).one(conn).await
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
