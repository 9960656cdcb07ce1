//! Checks on what users type: emails and handles.

use agora_kit::ServiceError;

/// Handles are 3 to 30 characters.
pub const HANDLE_LEN: std::ops::RangeInclusive<usize> = 3..=30;
/// RFC 5321's practical limit on an address.
pub const EMAIL_MAX_LEN: usize = 254;

/// A handle: 3–30 of `[a-z0-9_]`, any case (uniqueness ignores case).
pub fn handle(field: &'static str, handle: &str) -> Result<(), ServiceError> {
    let well_formed = HANDLE_LEN.contains(&handle.len())
        && handle
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if well_formed {
        Ok(())
    } else {
        Err(ServiceError::bad_input(
            field,
            "handle must be 3 to 30 characters of letters, digits and underscores",
        ))
    }
}

/// An email address: one `@`, a dotted domain, no spaces. Deliverability is proven by the
/// verification mail, not by a pattern.
pub fn email(field: &'static str, email: &str) -> Result<(), ServiceError> {
    let well_formed = email.len() <= EMAIL_MAX_LEN
        && !email.chars().any(char::is_whitespace)
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.split('.').count() >= 2
                && domain.split('.').all(|part| !part.is_empty())
        });
    if well_formed {
        Ok(())
    } else {
        Err(ServiceError::bad_input(
            field,
            "email is not a valid address",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_follow_the_documented_rules() {
        for good in [
            "ada",
            "Ada_Lovelace",
            "x_1",
            "a23456789012345678901234567890",
        ] {
            assert!(handle("handle", good).is_ok(), "{good}");
        }
        for bad in [
            "ab",
            "a-b",
            "ada lovelace",
            "é_ada",
            "a234567890123456789012345678901",
            "",
        ] {
            assert!(handle("handle", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn emails_need_a_local_part_and_a_dotted_domain() {
        assert!(email("email", "ada@example.org").is_ok());
        for bad in [
            "ada",
            "@example.org",
            "ada@example",
            "ada@@example.org",
            "a da@example.org",
            "ada@example..org",
        ] {
            assert!(email("email", bad).is_err(), "{bad}");
        }
    }
}
