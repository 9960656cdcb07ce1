//! Login lockout: failures counted per login key, with a delay that grows with each
//! failure past the free attempts.
//!
//! The key is the account id when the login names an account, else the login text itself,
//! so unknown logins lock exactly like real ones and lockout reveals nothing.

use chrono::{DateTime, Duration, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::{ActiveValue::Set, ConnectionTrait, sea_query::OnConflict};

/// Failures allowed before the first lock.
pub const FREE_ATTEMPTS: i32 = 5;
/// The first lock lasts this long; each further failure doubles it.
const BASE_LOCK_SECONDS: i64 = 30;
/// No lock lasts longer than this.
const MAX_LOCK_SECONDS: i64 = 3600;

/// A lockout counter row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "login_attempt")]
pub struct Model {
    /// `account:<id>` or `login:<lower-cased login>`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    /// Consecutive failures.
    pub failures: i32,
    /// Logins are refused until then.
    pub locked_until: Option<DateTime<Utc>>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Seconds left on the lock of `key`, if it is locked now.
#[tracing::instrument(skip_all)]
pub async fn locked_for(conn: &impl ConnectionTrait, key: &str) -> Result<Option<u64>, DbErr> {
    let row = Entity::find_by_id(key.to_owned()).one(conn).await?;
    let now = Utc::now();
    Ok(row
        .and_then(|row| row.locked_until)
        .filter(|until| *until > now)
        .map(|until| (until - now).num_seconds().max(1) as u64))
}

/// Counts a failure for `key`, locking it once the free attempts are used up.
#[tracing::instrument(skip_all)]
pub async fn record_failure(conn: &impl ConnectionTrait, key: &str) -> Result<(), DbErr> {
    let failures = Entity::find_by_id(key.to_owned())
        .one(conn)
        .await?
        .map_or(0, |row| row.failures)
        + 1;
    let now = Utc::now();
    let row = ActiveModel {
        key: Set(key.to_owned()),
        failures: Set(failures),
        locked_until: Set(lock_duration(failures).map(|d| now + d)),
        updated_at: Set(now),
    };
    Entity::insert(row)
        .on_conflict(
            OnConflict::column(Column::Key)
                .update_columns([Column::Failures, Column::LockedUntil, Column::UpdatedAt])
                .to_owned(),
        )
        .exec(conn)
        .await?;
    Ok(())
}

/// Forgets the failures of `key` after a successful login.
#[tracing::instrument(skip_all)]
pub async fn clear(conn: &impl ConnectionTrait, key: &str) -> Result<(), DbErr> {
    Entity::delete_by_id(key.to_owned()).exec(conn).await?;
    Ok(())
}

/// How long `failures` consecutive failures lock a key: nothing for the free attempts,
/// then 30 s doubling per failure, at most an hour.
pub fn lock_duration(failures: i32) -> Option<Duration> {
    let over = failures - FREE_ATTEMPTS;
    (over >= 0).then(|| {
        let seconds = BASE_LOCK_SECONDS.saturating_mul(1_i64 << over.min(20));
        Duration::seconds(seconds.min(MAX_LOCK_SECONDS))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_starts_after_the_free_attempts_and_doubles_up_to_an_hour() {
        assert_eq!(lock_duration(FREE_ATTEMPTS - 1), None);
        assert_eq!(lock_duration(FREE_ATTEMPTS), Some(Duration::seconds(30)));
        assert_eq!(
            lock_duration(FREE_ATTEMPTS + 1),
            Some(Duration::seconds(60))
        );
        assert_eq!(
            lock_duration(FREE_ATTEMPTS + 40),
            Some(Duration::seconds(3600))
        );
    }
}
