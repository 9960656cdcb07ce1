//! Conversations: who talks with whom (one conversation per set of participants), and
//! when it last saw a message.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{ActiveValue::Set, ConnectionTrait, QueryFilter};
use sha2::{Digest, Sha256};

use super::{message, participant};

/// A conversation row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "conversation")]
pub struct Model {
    /// Its id (UUIDv7).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The digest of its sorted participant ids ([`participant_key`]), unique.
    pub participant_key: String,
    /// When it was started.
    pub created_at: DateTime<Utc>,
    /// When its last message was sent (its start time until then).
    pub last_message_at: DateTime<Utc>,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// The key of a set of participants: the SHA-256 of their sorted ids, so that it is short
/// and the same however the set was written.
pub fn participant_key(participants: &[Uuid]) -> String {
    let mut sorted = participants.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut digest = Sha256::new();
    for id in sorted {
        digest.update(id.as_bytes());
    }
    digest
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The conversation of exactly `participants`, started now unless it exists.
#[tracing::instrument(skip_all, fields(participants = participants.len()))]
pub async fn find_or_start(
    conn: &impl ConnectionTrait,
    participants: &[Uuid],
    now: DateTime<Utc>,
) -> Result<Model, DbErr> {
    let key = participant_key(participants);
    let now = agora_kit::db::micros(now);
    let id = Uuid::now_v7();
    let row = ActiveModel {
        id: Set(id),
        participant_key: Set(key.clone()),
        created_at: Set(now),
        last_message_at: Set(now),
    };
    // A concurrent start of the same set waits on the unique key and then finds ours.
    let inserted = Entity::insert(row)
        .on_conflict_do_nothing_on([Column::ParticipantKey])
        .exec_without_returning(conn)
        .await?;
    if matches!(inserted, sea_orm::TryInsertResult::Inserted(n) if n > 0) {
        participant::insert_many(conn, id, participants, now).await?;
    }
    Entity::find()
        .filter(Column::ParticipantKey.eq(key))
        .one(conn)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("the conversation just started".into()))
}

/// Records a message sent at `at`: the conversation and each participant's list move.
#[tracing::instrument(skip_all)]
pub async fn touch(conn: &impl ConnectionTrait, id: Uuid, at: DateTime<Utc>) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::LastMessageAt, Expr::value(at))
        .filter(Column::Id.eq(id))
        .exec(conn)
        .await?;
    participant::Entity::update_many()
        .col_expr(participant::Column::LastActivityAt, Expr::value(at))
        .filter(participant::Column::ConversationId.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Deletes the conversations nobody is left in, with their messages.
#[tracing::instrument(skip_all)]
pub async fn delete_abandoned(conn: &impl ConnectionTrait) -> Result<u64, DbErr> {
    let occupied = || {
        Query::select()
            .column(participant::Column::ConversationId)
            .from(participant::Entity)
            .to_owned()
    };
    message::Entity::delete_many()
        .filter(message::Column::ConversationId.not_in_subquery(occupied()))
        .exec(conn)
        .await?;
    let result = Entity::delete_many()
        .filter(Column::Id.not_in_subquery(occupied()))
        .exec(conn)
        .await?;
    Ok(result.rows_affected)
}
