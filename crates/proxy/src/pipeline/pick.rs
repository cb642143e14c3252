//! One value out of a JSON document, found by the GJSON-style path Oathkeeper users write
//! (`@this`, or dotted keys with array indexes: `identity.traits.email`, `devices.0.id`),
//! without building the rest of the document: a session store's answer is a few KiB of
//! identity, addresses and devices, of which a rule wants one string.

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use std::fmt;

/// The value at `path` in `doc` (`None` when the path leads nowhere), or the syntax error
/// that makes `doc` no JSON document.
pub fn pick(doc: &[u8], path: &str) -> Result<Option<Value>, serde_json::Error> {
    let keys: Vec<&str> = if path.is_empty() || path == "@this" {
        Vec::new()
    } else {
        path.split('.').collect()
    };
    let mut de = serde_json::Deserializer::from_slice(doc);
    let found = Pick(&keys).deserialize(&mut de)?;
    de.end()?;
    Ok(found)
}

/// Walks down the remaining keys; everything off the path is skipped unbuilt.
struct Pick<'k>(&'k [&'k str]);

impl<'de> DeserializeSeed<'de> for Pick<'_> {
    type Value = Option<Value>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        if self.0.is_empty() {
            return serde::Deserialize::deserialize(d).map(Some);
        }
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Pick<'_> {
    type Value = Option<Value>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let Some((key, rest)) = self.0.split_first() else {
            // Not reached: an empty path reads the whole value (see `deserialize`).
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            return Ok(None);
        };
        let mut found = None;
        // With a key given twice the last one counts, as in a parsed document.
        while let Some(matches) = map.next_key_seed(Is(key))? {
            if matches {
                found = map.next_value_seed(Pick(rest))?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let Some((key, rest)) = self.0.split_first() else {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            return Ok(None);
        };
        let wanted = key.parse::<usize>().ok();
        let mut found = None;
        let mut i = 0;
        loop {
            if Some(i) == wanted {
                match seq.next_element_seed(Pick(rest))? {
                    Some(v) => found = v,
                    None => break,
                }
            } else if seq.next_element::<IgnoredAny>()?.is_none() {
                break;
            }
            i += 1;
        }
        Ok(found)
    }

    // A path that goes on past a scalar leads nowhere.
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// Whether an object key is the one wanted, compared without keeping the key.
struct Is<'a>(&'a str);

impl<'de> DeserializeSeed<'de> for Is<'_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Is<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<bool, E> {
        Ok(key == self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::pick;
    use serde_json::json;

    fn at(doc: &serde_json::Value, path: &str) -> Option<serde_json::Value> {
        pick(doc.to_string().as_bytes(), path).unwrap()
    }

    #[test]
    fn paths_walk_objects_and_arrays() {
        let doc = json!({"identity": {"traits": {"email": "a@b.c"}}, "devices": [{"id": "d0"}, {"id": "d1"}], "n": 3});
        assert_eq!(at(&doc, "@this"), Some(doc.clone()));
        assert_eq!(at(&doc, ""), Some(doc.clone()));
        assert_eq!(at(&doc, "identity.traits.email"), Some(json!("a@b.c")));
        assert_eq!(at(&doc, "identity.traits"), Some(json!({"email": "a@b.c"})));
        assert_eq!(at(&doc, "devices.1.id"), Some(json!("d1")));
        assert_eq!(at(&doc, "devices.2.id"), None);
        assert_eq!(at(&doc, "devices.x"), None);
        assert_eq!(at(&doc, "identity.missing.x"), None);
        assert_eq!(at(&doc, "n.x"), None);
        assert_eq!(at(&doc, "n"), Some(json!(3)));
    }

    #[test]
    fn escaped_keys_and_repeated_keys_read_as_parsed() {
        let doc = br#"{"a\u0062": 1, "x": {"y": 1}, "x": {"y": 2}}"#;
        assert_eq!(pick(doc, "ab").unwrap(), Some(json!(1)));
        assert_eq!(pick(doc, "x.y").unwrap(), Some(json!(2)));
    }

    #[test]
    fn a_broken_document_is_an_error_even_off_the_path() {
        assert!(pick(br#"{"a": 1, "b": [1, }"#, "a").is_err());
        assert!(pick(br#"{"a": 1} trailing"#, "a").is_err());
        assert!(pick(b"", "a").is_err());
    }
}
