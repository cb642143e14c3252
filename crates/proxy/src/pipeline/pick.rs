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
    let mut found = pick_all(doc, &[path])?;
    Ok(found.pop().flatten())
}

/// The values at each of `paths`, in one pass over `doc`.
pub fn pick_all(doc: &[u8], paths: &[&str]) -> Result<Vec<Option<Value>>, serde_json::Error> {
    let keys: Vec<Vec<&str>> = paths
        .iter()
        .map(|p| match *p {
            "" | "@this" => Vec::new(),
            p => p.split('.').collect(),
        })
        .collect();
    let wanted: Vec<Wanted> = keys.iter().enumerate().map(|(i, k)| (i, &k[..])).collect();
    let mut de = serde_json::Deserializer::from_slice(doc);
    let found = Pick(wanted).deserialize(&mut de)?;
    de.end()?;
    let mut out = vec![None; paths.len()];
    for (i, v) in found {
        out[i] = v;
    }
    Ok(out)
}

/// A path by its position among those asked for, and the keys still to walk.
type Wanted<'k> = (usize, &'k [&'k str]);

/// What a walk found, by path position (positions not found may be missing).
type Found = Vec<(usize, Option<Value>)>;

/// Walks down the remaining keys of every path; everything off them is skipped unbuilt.
struct Pick<'k>(Vec<Wanted<'k>>);

impl<'k> Pick<'k> {
    /// The paths whose next key is `key`, one key further on.
    fn through(&self, key: &str) -> Pick<'k> {
        self.through_where(|k| k == key)
    }

    /// The paths whose next key passes `next`, one key further on.
    fn through_where(&self, next: impl Fn(&str) -> bool) -> Pick<'k> {
        Pick(
            self.0
                .iter()
                .filter_map(|&(i, keys)| match keys.split_first() {
                    Some((k, rest)) if next(k) => Some((i, rest)),
                    _ => None,
                })
                .collect(),
        )
    }

    fn nothing(&self) -> Found {
        self.0.iter().map(|&(i, _)| (i, None)).collect()
    }
}

impl<'de> DeserializeSeed<'de> for Pick<'_> {
    type Value = Found;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Found, D::Error> {
        if self.0.iter().any(|(_, keys)| keys.is_empty()) {
            // A path ends here: build this value and walk the others inside it.
            let v: Value = serde::Deserialize::deserialize(d)?;
            return Ok(self
                .0
                .iter()
                .map(|&(i, keys)| (i, walk(&v, keys)))
                .collect());
        }
        d.deserialize_any(self)
    }
}

/// The value at `keys` inside an already built `v`.
fn walk(v: &Value, keys: &[&str]) -> Option<Value> {
    let mut at = v;
    for key in keys {
        at = match at {
            Value::Object(m) => m.get(*key)?,
            Value::Array(a) => a.get(key.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(at.clone())
}

impl<'de> Visitor<'de> for Pick<'_> {
    type Value = Found;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Found, A::Error> {
        let mut firsts: Vec<&str> = self
            .0
            .iter()
            .filter_map(|(_, k)| k.first().copied())
            .collect();
        firsts.sort_unstable();
        firsts.dedup();
        let mut found = self.nothing();
        // With a key given twice the last one counts, as in a parsed document.
        while let Some(which) = map.next_key_seed(OneOf(&firsts))? {
            match which {
                Some(n) => found.extend(map.next_value_seed(self.through(firsts[n]))?),
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(found)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Found, A::Error> {
        // Indexes read as numbers ("01" is element 1), as `walk` and gjson read them.
        let index = |k: &str| k.parse::<usize>().ok();
        let wanted: Vec<usize> = self
            .0
            .iter()
            .filter_map(|(_, k)| index(k.first()?))
            .collect();
        let mut found = self.nothing();
        let mut i = 0usize;
        loop {
            if wanted.contains(&i) {
                match seq.next_element_seed(self.through_where(|k| index(k) == Some(i)))? {
                    Some(v) => found.extend(v),
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
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Found, E> {
        Ok(self.nothing())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Found, E> {
        Ok(self.nothing())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Found, E> {
        Ok(self.nothing())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Found, E> {
        Ok(self.nothing())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Found, E> {
        Ok(self.nothing())
    }
    fn visit_unit<E: de::Error>(self) -> Result<Found, E> {
        Ok(self.nothing())
    }
}

/// Which of the wanted keys an object key is, compared without keeping the key.
struct OneOf<'a>(&'a [&'a str]);

impl<'de> DeserializeSeed<'de> for OneOf<'_> {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<usize>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for OneOf<'_> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Option<usize>, E> {
        Ok(self.0.iter().position(|k| *k == key))
    }
}

#[cfg(test)]
mod tests {
    use super::{pick, pick_all};
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
        assert_eq!(at(&doc, "devices.01.id"), Some(json!("d1")));
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
    fn several_paths_are_read_in_one_pass_as_each_alone() {
        let doc = json!({"identity": {"traits": {"email": "a@b.c", "tags": ["x", "y"]}},
                         "devices": [{"id": "d0"}, {"id": "d1"}], "n": 3});
        let text = doc.to_string();
        let paths = [
            "identity.traits.email",
            "extra",
            "identity",
            "@this",
            "devices.1.id",
            "devices.0",
            "identity.traits.tags.1",
            "n.x",
            "identity.traits.email",
        ];
        let together = pick_all(text.as_bytes(), &paths).unwrap();
        for (path, got) in paths.iter().zip(together) {
            assert_eq!(got, pick(text.as_bytes(), path).unwrap(), "{path}");
        }
        let dup = br#"{"x": {"y": 1, "z": 1}, "x": {"z": 2}}"#;
        assert_eq!(
            pick_all(dup, &["x.y", "x.z", "x"]).unwrap(),
            vec![None, Some(json!(2)), Some(json!({"z": 2}))]
        );
    }

    #[test]
    fn a_broken_document_is_an_error_even_off_the_path() {
        assert!(pick(br#"{"a": 1, "b": [1, }"#, "a").is_err());
        assert!(pick(br#"{"a": 1} trailing"#, "a").is_err());
        assert!(pick(b"", "a").is_err());
    }
}
