//! The Ed25519 keys that sign access tokens; their public halves form the JWKS.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::{ActiveValue::Set, ConnectionTrait, QueryOrder};

/// A signing key row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "signing_key")]
pub struct Model {
    /// The `kid` header of tokens it signs.
    #[sea_orm(primary_key, auto_increment = false)]
    pub kid: String,
    /// PKCS#8 document, base64. Kept in identity's own database only.
    pub private_key: String,
    /// The raw public key, base64url (the JWK `x`).
    pub public_key: String,
    /// When it was made; the newest key signs.
    pub created_at: DateTime<Utc>,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Every key, newest first.
#[tracing::instrument(skip_all)]
pub async fn all(conn: &impl ConnectionTrait) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .order_by_desc(Column::CreatedAt)
        .all(conn)
        .await
}

/// Stores a new key.
#[tracing::instrument(skip_all)]
pub async fn insert(conn: &impl ConnectionTrait, key: Model) -> Result<(), DbErr> {
    ActiveModel {
        kid: Set(key.kid),
        private_key: Set(key.private_key),
        public_key: Set(key.public_key),
        created_at: Set(key.created_at),
    }
    .insert(conn)
    .await?;
    Ok(())
}
