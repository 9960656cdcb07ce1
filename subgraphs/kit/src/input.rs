//! Checks of client input that every subgraph makes the same way, each failing with a
//! `BAD_USER_INPUT` that names the field at fault.

use uuid::Uuid;

use crate::error::ServiceError;

/// An id argument as a UUID, or `BAD_USER_INPUT` naming `field`.
pub fn parse_id(field: &'static str, id: &str) -> Result<Uuid, ServiceError> {
    Uuid::parse_str(id)
        .map_err(|_| ServiceError::bad_input(field, format!("{field} is not a valid id")))
}

/// Trims a text input and checks it is 1 to `max` characters, naming `field` if not.
pub fn bounded_text(field: &'static str, text: &str, max: usize) -> Result<String, ServiceError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(ServiceError::bad_input(
            field,
            format!("{field} must not be empty"),
        ));
    }
    if text.chars().count() > max {
        return Err(ServiceError::bad_input(
            field,
            format!("{field} must be at most {max} characters"),
        ));
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_trimmed_and_bounded_in_characters_naming_the_field() {
        assert_eq!(bounded_text("body", "  hi \n", 10).unwrap(), "hi");
        assert_eq!(
            bounded_text("body", "   ", 10).unwrap_err().field,
            Some("body")
        );
        assert_eq!(
            bounded_text("body", &"é".repeat(11), 10).unwrap_err().field,
            Some("body")
        );
        assert!(bounded_text("body", &"é".repeat(10), 10).is_ok());
    }

    #[test]
    fn malformed_ids_name_the_field_at_fault() {
        assert_eq!(
            parse_id("postId", "nope").unwrap_err().field,
            Some("postId")
        );
        let id = Uuid::now_v7();
        assert_eq!(parse_id("postId", &id.to_string()).unwrap(), id);
    }
}
