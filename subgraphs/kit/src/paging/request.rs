//! Which page a client asks for, from the Relay arguments `first` and `after`, bounded
//! and checked so that a bad argument is a `BAD_USER_INPUT` naming it.

use async_graphql::connection::CursorType;

use super::cursor::{Cursor, Position};
use crate::error::ServiceError;

/// Page size when `first` is omitted.
pub const DEFAULT_PAGE: u64 = 20;
/// The largest page a client may ask for.
pub const MAX_PAGE: u64 = 100;

/// Which page of a list: at most `first` entries after `after`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PageRequest {
    /// Page size.
    pub first: u64,
    /// Continue after this entry; the start when `None`.
    pub after: Option<Position>,
}

/// The page size `first` asks for: [`DEFAULT_PAGE`] when omitted, else 0 to [`MAX_PAGE`].
pub fn page_size(first: Option<i32>) -> Result<u64, ServiceError> {
    match first {
        None => Ok(DEFAULT_PAGE),
        Some(n) => u64::try_from(n)
            .ok()
            .filter(|n| *n <= MAX_PAGE)
            .ok_or_else(|| {
                ServiceError::bad_input("first", format!("first must be between 0 and {MAX_PAGE}"))
            }),
    }
}

/// Turns `first` and `after` into a page request, or `BAD_USER_INPUT` naming the argument.
pub fn page_request(
    first: Option<i32>,
    after: Option<String>,
) -> Result<PageRequest, ServiceError> {
    let first = page_size(first)?;
    let after = after
        .map(|cursor| Cursor::decode_cursor(&cursor))
        .transpose()
        .map_err(|_| ServiceError::bad_input("after", "after is not a cursor from this list"))?
        .map(|cursor| cursor.0);
    Ok(PageRequest { first, after })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_arguments_are_bounded_and_name_the_argument_at_fault() {
        assert_eq!(page_request(None, None).unwrap().first, DEFAULT_PAGE);
        assert_eq!(
            page_request(Some(-1), None).unwrap_err().field,
            Some("first")
        );
        assert_eq!(
            page_request(Some(101), None).unwrap_err().field,
            Some("first")
        );
        let bad_cursor = page_request(Some(5), Some("nope".into())).unwrap_err();
        assert_eq!(bad_cursor.field, Some("after"));
    }
}
