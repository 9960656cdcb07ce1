//! The profile operations: validation, the write with its outbox event, the wake-up.

use std::sync::Arc;

use agora_kit::events::{self, Envelope};
use agora_kit::{Code, ServiceError};
use sea_orm::{DatabaseConnection, TransactionTrait};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::error::ProfilesError;
use crate::events::{PRIVACY_CHANGED, PROFILE_UPDATED, PrivacyChanged, ProfileUpdated, SOURCE};
use crate::store::media;
use crate::store::profile::{self, Changes};

/// Display names are 1 to 50 characters.
pub const DISPLAY_NAME_MAX: usize = 50;
/// Bios are at most 300 characters.
pub const BIO_MAX: usize = 300;
/// Websites are at most 200 characters, `http://` or `https://`.
pub const WEBSITE_MAX: usize = 200;
/// Locations are at most 100 characters.
pub const LOCATION_MAX: usize = 100;
/// Search queries are at most 50 characters (the longest display name).
pub const SEARCH_QUERY_MAX: usize = 50;

/// What the operations need: the database and the relay's wake-up.
pub struct Profiles {
    /// Profiles' own database.
    pub db: DatabaseConnection,
    /// Woken after a commit that enqueued events.
    pub outbox: Arc<Notify>,
}

impl Profiles {
    /// Validates and applies a user's changes to their own profile; a change of privacy is
    /// published as `profiles.profile.privacy_changed` too, in the same transaction.
    pub async fn update(
        &self,
        user_id: Uuid,
        changes: Changes,
    ) -> Result<profile::Model, ProfilesError> {
        let changes = validate(changes)?;
        let txn = self.db.begin().await?;
        if let Some(Some(avatar)) = changes.avatar_media_id {
            let known = media::find(&txn, avatar).await?.ok_or_else(|| {
                ServiceError::bad_input(
                    "avatarMediaId",
                    "avatarMediaId names media that does not exist or is not ready",
                )
            })?;
            if known.owner_id != user_id {
                return Err(ServiceError::new(
                    Code::Forbidden,
                    "avatarMediaId: only your own media can be your avatar",
                )
                .into());
            }
        }
        let profile::Updated {
            profile: updated,
            privacy_changed,
        } = profile::update(&txn, user_id, changes)
            .await?
            .ok_or_else(|| ServiceError::new(Code::NotFound, "profile not found"))?;
        if privacy_changed {
            let payload = PrivacyChanged {
                user_id,
                is_private: updated.is_private,
                changed_at: updated.updated_at,
            };
            let envelope = Envelope::new(SOURCE, PRIVACY_CHANGED, user_id, &payload);
            events::enqueue(&txn, &envelope).await?;
        }
        let payload = ProfileUpdated {
            user_id,
            display_name: updated.display_name.clone(),
            avatar_media_id: updated.avatar_media_id,
            updated_at: updated.updated_at,
        };
        let envelope = Envelope::new(SOURCE, PROFILE_UPDATED, user_id, &payload);
        events::commit_with(txn, &envelope, &self.outbox).await?;
        Ok(updated)
    }
}

/// Trims every field, enforces the length limits, and turns empty optional fields into
/// "clear it".
fn validate(changes: Changes) -> Result<Changes, ServiceError> {
    let display_name = changes.display_name.map(|name| name.trim().to_owned());
    if let Some(name) = &display_name {
        check_len("displayName", name, DISPLAY_NAME_MAX)?;
        if name.is_empty() {
            return Err(ServiceError::bad_input(
                "displayName",
                "display name must not be empty",
            ));
        }
    }
    let bio = changes.bio.map(|bio| bio.trim().to_owned());
    if let Some(bio) = &bio {
        check_len("bio", bio, BIO_MAX)?;
    }
    let website = changes.website.map(clear_if_empty);
    if let Some(Some(url)) = &website {
        check_len("website", url, WEBSITE_MAX)?;
        if !(url.starts_with("https://") || url.starts_with("http://"))
            || url.contains(char::is_whitespace)
        {
            return Err(ServiceError::bad_input(
                "website",
                "website must be an http(s) URL",
            ));
        }
    }
    let location = changes.location.map(clear_if_empty);
    if let Some(Some(location)) = &location {
        check_len("location", location, LOCATION_MAX)?;
    }
    Ok(Changes {
        display_name,
        bio,
        website,
        location,
        avatar_media_id: changes.avatar_media_id,
        is_private: changes.is_private,
    })
}

/// A `searchUsers` query as the search reads it: trimmed, without a leading `@`,
/// lower-case; `BAD_USER_INPUT` on `query` when that leaves nothing or too much.
pub fn search_query(query: &str) -> Result<String, ServiceError> {
    let query = query.trim();
    let query = query
        .strip_prefix('@')
        .unwrap_or(query)
        .trim()
        .to_lowercase();
    if query.is_empty() {
        return Err(ServiceError::bad_input("query", "query must not be empty"));
    }
    check_len("query", &query, SEARCH_QUERY_MAX)?;
    Ok(query)
}

fn clear_if_empty(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

fn check_len(field: &'static str, value: &str, max: usize) -> Result<(), ServiceError> {
    if value.chars().count() > max {
        return Err(ServiceError::bad_input(
            field,
            format!("{field} must be at most {max} characters"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_name_the_field_at_fault() {
        let long_bio = Changes {
            bio: Some("x".repeat(BIO_MAX + 1)),
            ..Changes::default()
        };
        assert_eq!(validate(long_bio).unwrap_err().field, Some("bio"));
        let blank_name = Changes {
            display_name: Some("   ".into()),
            ..Changes::default()
        };
        assert_eq!(validate(blank_name).unwrap_err().field, Some("displayName"));
        let ftp = Changes {
            website: Some(Some("ftp://x.org".into())),
            ..Changes::default()
        };
        assert_eq!(validate(ftp).unwrap_err().field, Some("website"));
    }

    #[test]
    fn search_queries_are_normalized_and_bounded() {
        assert_eq!(search_query("  @Ada_L ").unwrap(), "ada_l");
        for bad in ["", "   ", "@", &"x".repeat(SEARCH_QUERY_MAX + 1)] {
            assert_eq!(search_query(bad).unwrap_err().field, Some("query"), "{bad}");
        }
    }

    #[test]
    fn empty_optional_fields_clear_them() {
        let changes = Changes {
            website: Some(Some("  ".into())),
            location: Some(Some("".into())),
            ..Changes::default()
        };
        let valid = validate(changes).unwrap();
        assert_eq!(valid.website, Some(None));
        assert_eq!(valid.location, Some(None));
    }
}
