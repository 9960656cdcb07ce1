//! `@handle` mentions in post and comment bodies.
//!
//! A mention is `@` followed by 3 to 30 of `[a-z0-9_]` (case-insensitive), not preceded
//! by a word character (so `mail@example.org` mentions nobody) and not followed by one
//! more handle character (so a 31-character run is no mention at all).

/// The shortest handle.
pub const HANDLE_MIN: usize = 3;
/// The longest handle.
pub const HANDLE_MAX: usize = 30;

fn is_handle_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The handles mentioned in `body`, lower-cased, each once, in order of appearance.
pub fn mentions(body: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let mut previous: Option<char> = None;
    let mut chars = body.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        let at_boundary = previous.is_none_or(|p| !(p.is_alphanumeric() || p == '_' || p == '@'));
        previous = Some(c);
        if c != '@' || !at_boundary {
            continue;
        }
        let mut end = start + 1;
        while let Some(&(i, next)) = chars.peek() {
            if !is_handle_char(next) {
                break;
            }
            end = i + next.len_utf8();
            previous = Some(next);
            chars.next();
        }
        // A letter outside ASCII right after the run makes it part of a longer word.
        if chars
            .peek()
            .is_some_and(|&(_, next)| next.is_alphanumeric())
        {
            continue;
        }
        let handle = body[start + 1..end].to_ascii_lowercase();
        if (HANDLE_MIN..=HANDLE_MAX).contains(&handle.len()) && !found.contains(&handle) {
            found.push(handle);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_are_lower_cased_unique_and_in_order() {
        assert_eq!(
            mentions("@Ada and @bob_99, again @ADA! (@cyd)"),
            ["ada", "bob_99", "cyd"]
        );
    }

    #[test]
    fn things_that_look_like_mentions_but_are_not_are_ignored() {
        let too_long = format!("@{}", "a".repeat(HANDLE_MAX + 1));
        for body in [
            "mail@example.org",
            "@ab",
            "@@ada",
            "@adaé",
            too_long.as_str(),
            "@ alone",
        ] {
            assert!(mentions(body).is_empty(), "{body}");
        }
        assert_eq!(mentions(&format!("@{}", "a".repeat(HANDLE_MAX))).len(), 1);
    }
}
