//! The profile operations: validation, the write with its outbox event, the wake-up.

use std::sync::Arc;

use agora_kit::ServiceError;
use agora_kit::events::{self, Envelope};
use sea_orm::{DatabaseConnection, TransactionTrait};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::error::ProfilesError;
use crate::events::{PROFILE_UPDATED, ProfileUpdated, SOURCE};
use crate::store::profile::{self, Changes};

/// Display names are 1 to 50 characters.
pub const DISPLAY_NAME_MAX: usize = 50;
/// Bios are at most 300 characters.
pub const BIO_MAX: usize = 300;
/// Websites are at most 200 characters, `http://` or `https://`.
pub const WEBSITE_MAX: usize = 200;
/// Locations are at most 100 characters.
pub const LOCATION_MAX: usize = 100;

/// What the operations need: the database and the relay's wake-up.
pub struct Profiles {
    /// Profiles' own database.
    pub db: DatabaseConnection,
    /// Woken after a commit that enqueued events.
    pub outbox: Arc<Notify>,
}

impl Profiles {
    /// Validates and applies a user's changes to their own profile.
    pub async fn update(
        &self,
        user_id: Uuid,
        changes: Changes,
    ) -> Result<profile::Model, ProfilesError> {
        let changes = validate(changes)?;
        let txn = self.db.begin().await?;
        let updated = profile::update(&txn, user_id, changes)
            .await?
            .ok_or_else(|| ServiceError::new(agora_kit::Code::NotFound, "profile not found"))?;
        let payload = ProfileUpdated {
            user_id,
            display_name: updated.display_name.clone(),
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
    })
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
