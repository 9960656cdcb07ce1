//! Writing a [`Value`] as JSON (representations, verbatim values, leaves in projection)
//! straight into a buffer.
//!
//! Most strings need no escaping (a subgraph's JSON has none in keys, ids and names),
//! so a string is first checked 16 bytes at a time and then copied as is; only the rest
//! go through serde_json's escaping.

use std::fmt;

use super::{Object, Value};
use crate::response::write_json;

/// Appends `value` as JSON.
pub(crate) fn write_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(number) => write_json(out, number),
        Value::String(text) => write_str(out, text),
        Value::List(items) => {
            out.push(b'[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                write_value(out, item);
            }
            out.push(b']');
        }
        Value::Object(object) => write_object(out, object),
    }
}

fn write_object(out: &mut Vec<u8>, object: &Object) {
    out.push(b'{');
    for (index, (key, value)) in object.fields.iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        write_str(out, key);
        out.push(b':');
        write_value(out, value);
    }
    out.push(b'}');
}

/// Appends `text` as a JSON string.
pub(crate) fn write_str(out: &mut Vec<u8>, text: &str) {
    if needs_escaping(text.as_bytes()) {
        write_json(out, text);
    } else {
        out.reserve(text.len() + 2);
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    }
}

/// Whether any byte must be escaped in a JSON string. The check runs over whole
/// 16-byte chunks without stopping early, which the compiler turns into vector code.
fn needs_escaping(bytes: &[u8]) -> bool {
    let (chunks, rest) = bytes.as_chunks::<16>();
    chunks.iter().any(|chunk| {
        chunk
            .iter()
            .fold(false, |found, &byte| found | escaped(byte))
    }) || rest.iter().any(|&byte| escaped(byte))
}

/// The bytes serde_json escapes: control characters, `"` and `\`.
const fn escaped(byte: u8) -> bool {
    byte < 0x20 || byte == b'"' || byte == b'\\'
}

/// The value as compact JSON, for error messages.
impl fmt::Display for Value {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut json = Vec::new();
        write_value(&mut json, self);
        formatter.write_str(&String::from_utf8_lossy(&json))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_exactly_like_serde_json() {
        let long = "a".repeat(40);
        for text in [
            "",
            "plain",
            "quote \" here",
            "back\\slash",
            "tab\t",
            "\u{1}é",
            &long,
        ] {
            let mut ours = Vec::new();
            write_str(&mut ours, text);
            let theirs = serde_json::to_vec(text).expect("serializes");
            assert_eq!(ours, theirs, "{text:?}");
        }
        let mut ours = Vec::new();
        write_str(&mut ours, &format!("{long}\n{long}"));
        assert_eq!(
            ours,
            serde_json::to_vec(&format!("{long}\n{long}")).expect("serializes")
        );
    }
}
