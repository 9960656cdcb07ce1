//! Reading a [`Value`] from any serde deserializer (a subgraph's response bytes, or a
//! `serde_json::Value` from a WebSocket message).
//!
//! The fields of an object and the items of a list are first collected on a stack
//! shared by the whole document and moved into a vector of exactly their number when
//! the object or list ends, so that every object and list is allocated once instead of
//! growing (JSON does not say how long they are).

use std::fmt;

use compact_str::CompactString;
use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Number;

use super::{Object, Value};

/// Spare fields allocated with an object that has a `__typename` (see `visit_map`).
const ENTITY_ROOM: usize = 2;

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut stacks = Stacks::default();
        stacks.seed().deserialize(deserializer)
    }
}

/// Partly read objects' fields and lists' items, innermost last.
#[derive(Default)]
struct Stacks {
    fields: Vec<(CompactString, Value)>,
    items: Vec<Value>,
}

impl Stacks {
    fn seed(&mut self) -> ValueSeed<'_> {
        ValueSeed { stacks: self }
    }
}

/// Reads one value, collecting on the shared stacks.
struct ValueSeed<'s> {
    stacks: &'s mut Stacks,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = Value;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        self.deserialize(deserializer)
    }

    fn visit_bool<E>(self, flag: bool) -> Result<Value, E> {
        Ok(Value::Bool(flag))
    }

    fn visit_i64<E>(self, number: i64) -> Result<Value, E> {
        Ok(Value::Number(number.into()))
    }

    fn visit_u64<E>(self, number: u64) -> Result<Value, E> {
        Ok(Value::Number(number.into()))
    }

    fn visit_f64<E>(self, number: f64) -> Result<Value, E> {
        Ok(Number::from_f64(number).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, text: &str) -> Result<Value, E> {
        Ok(Value::String(CompactString::new(text)))
    }

    fn visit_string<E>(self, text: String) -> Result<Value, E> {
        Ok(Value::String(CompactString::from(text)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let start = self.stacks.items.len();
        while let Some(item) = seq.next_element_seed(self.stacks.seed())? {
            self.stacks.items.push(item);
        }
        Ok(Value::List(self.stacks.items.drain(start..).collect()))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let start = self.stacks.fields.len();
        let mut typed = false;
        while let Some(key) = map.next_key_seed(KeySeed)? {
            typed |= key == "__typename";
            let value = map.next_value_seed(self.stacks.seed())?;
            self.stacks.fields.push((key, value));
        }
        let fields = self.stacks.fields.drain(start..);
        // Objects with a `__typename` are the entities later fetches add fields to:
        // room for a few saves growing them then.
        let mut object = Vec::with_capacity(fields.len() + if typed { ENTITY_ROOM } else { 0 });
        object.extend(fields);
        Ok(Value::Object(Object { fields: object }))
    }
}

/// Reads an object key.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = CompactString;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for KeySeed {
    type Value = CompactString;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("an object key")
    }

    fn visit_str<E>(self, key: &str) -> Result<CompactString, E> {
        Ok(CompactString::new(key))
    }

    fn visit_string<E>(self, key: String) -> Result<CompactString, E> {
        Ok(CompactString::from(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nested_objects_and_lists_in_order() {
        let text = r#"{"b":[1,{"x":null,"y":"é\n"},[]],"a":true,"c":-2.5,"d":{}}"#;
        let value: Value = serde_json::from_str(text).expect("valid JSON");
        assert_eq!(value.to_string(), text);
    }

    #[test]
    fn reads_a_serde_json_value() {
        let json = serde_json::json!({"data": {"n": [1, 2]}, "e": null});
        let value: Value = serde_json::from_value(json.clone()).expect("readable");
        assert_eq!(value, Value::from(json));
    }
}
