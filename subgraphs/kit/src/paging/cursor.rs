//! Opaque cursors: a keyset position (time and id) or an offset, base64url-encoded so
//! that clients treat them as tokens.

use async_graphql::connection::CursorType;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// A place in a list: the (time, id) of an entry. Pages continue strictly after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Position {
    /// The entry's `created_at`, to the microsecond.
    pub at: DateTime<Utc>,
    /// The entry's id, breaking ties between equal times.
    pub id: Uuid,
}

/// An opaque cursor: a list entry's position, `<micros>:<uuid>` in base64url.
pub struct Cursor(pub Position);

impl CursorType for Cursor {
    type Error = &'static str;

    fn decode_cursor(s: &str) -> Result<Self, Self::Error> {
        let bytes = URL_SAFE_NO_PAD.decode(s).map_err(|_| "not base64url")?;
        let text = String::from_utf8(bytes).map_err(|_| "not text")?;
        let (micros, id) = text.split_once(':').ok_or("no separator")?;
        let micros: i64 = micros.parse().map_err(|_| "bad time")?;
        let at = DateTime::from_timestamp_micros(micros).ok_or("time out of range")?;
        let id = Uuid::parse_str(id).map_err(|_| "bad id")?;
        Ok(Cursor(Position { at, id }))
    }

    fn encode_cursor(&self) -> String {
        let text = format!("{}:{}", self.0.at.timestamp_micros(), self.0.id);
        URL_SAFE_NO_PAD.encode(text)
    }
}

/// An opaque cursor into a list without a stable key (ranked results): how many results
/// precede the next one, `offset:<n>` in base64url.
pub struct OffsetCursor(pub u64);

impl CursorType for OffsetCursor {
    type Error = &'static str;

    fn decode_cursor(s: &str) -> Result<Self, Self::Error> {
        let bytes = URL_SAFE_NO_PAD.decode(s).map_err(|_| "not base64url")?;
        let text = String::from_utf8(bytes).map_err(|_| "not text")?;
        let offset = text.strip_prefix("offset:").ok_or("not an offset")?;
        offset.parse().map(OffsetCursor).map_err(|_| "bad offset")
    }

    fn encode_cursor(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("offset:{}", self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::SubsecRound;

    #[test]
    fn a_cursor_survives_the_round_trip_to_the_microsecond() {
        let position = Position {
            at: Utc::now().trunc_subsecs(6),
            id: Uuid::now_v7(),
        };
        let encoded = Cursor(position).encode_cursor();
        assert_eq!(Cursor::decode_cursor(&encoded).unwrap().0, position);
        assert!(Cursor::decode_cursor("garbage!").is_err());
    }

    #[test]
    fn offset_cursors_round_trip_and_are_not_keyset_cursors() {
        let encoded = OffsetCursor(40).encode_cursor();
        assert_eq!(OffsetCursor::decode_cursor(&encoded).unwrap().0, 40);
        assert!(Cursor::decode_cursor(&encoded).is_err());
    }
}
