//! The secret that signs upload URLs: made once, on the first start, and shared by every
//! instance through the database.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::rand::{SecureRandom, SystemRandom};
use sea_orm::entity::prelude::*;
use sea_orm::{ActiveValue::Set, ConnectionTrait};

/// The key row (there is one, id 1).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "upload_key")]
pub struct Model {
    /// Always 1.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i32,
    /// 32 random bytes, base64.
    pub secret: String,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// The signing secret, made now if this is the first start (instances starting together
/// agree: the first insert wins and everyone reads it back).
#[tracing::instrument(skip_all)]
pub async fn secret(conn: &impl ConnectionTrait) -> Result<Vec<u8>, DbErr> {
    let mut fresh = [0u8; 32];
    SystemRandom::new()
        .fill(&mut fresh)
        .map_err(|_| DbErr::Custom("no system randomness for the upload key".into()))?;
    let row = ActiveModel {
        id: Set(1),
        secret: Set(STANDARD.encode(fresh)),
    };
    Entity::insert(row)
        .on_conflict_do_nothing_on([Column::Id])
        .exec_without_returning(conn)
        .await?;
    let stored = Entity::find_by_id(1)
        .one(conn)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("upload_key".into()))?;
    STANDARD
        .decode(stored.secret)
        .map_err(|e| DbErr::Custom(format!("upload key: {e}")))
}
