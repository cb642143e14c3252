//! Relation tuples: `namespace:object#relation@subject`, where the subject is an id or a
//! subject set (`Group:eng#members`). Their JSON, query-string and text forms, as Keto
//! writes them.

use serde::de::value::MapAccessDeserializer;
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;
use std::marker::PhantomData;

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SubjectSet {
    pub namespace: String,
    pub object: String,
    #[serde(default)]
    pub relation: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Subject {
    Id(String),
    Set(SubjectSet),
}

impl Subject {
    /// The key stored for uniqueness and lookups: one column however the subject is given.
    pub fn key(&self) -> String {
        match self {
            Subject::Id(id) => format!("id:{id}"),
            Subject::Set(s) => format!("set:{}:{}#{}", s.namespace, s.object, s.relation),
        }
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Id(id) => write!(f, "{id}"),
            Subject::Set(s) if s.relation.is_empty() => write!(f, "{}:{}", s.namespace, s.object),
            Subject::Set(s) => write!(f, "{}:{}#{}", s.namespace, s.object, s.relation),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RelationTuple {
    pub namespace: String,
    pub object: String,
    pub relation: String,
    pub subject: Subject,
}

impl fmt::Display for RelationTuple {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}#{}@{}",
            self.namespace, self.object, self.relation, self.subject
        )
    }
}

/// A tuple as JSON: `subject_id` or `subject_set`, the other omitted. Other fields are
/// ignored, as Keto ignores them.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct TupleBody {
    #[serde(default)]
    pub namespace: String,
    #[serde(default)]
    pub object: String,
    #[serde(default)]
    pub relation: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_id: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "some_object"
    )]
    pub subject_set: Option<SubjectSet>,
}

/// A struct decoded only from a JSON object. serde's derive also fills a struct from an
/// array, by position (`["files", "a", "viewers", "alice"]` would be a tuple); Go's decoder
/// refuses that, so Keto answers 400, and so does gatehouse for every tuple-shaped value a
/// client sends.
pub struct Object<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct OnlyMaps<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for OnlyMaps<T> {
            type Value = T;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map))
            }
        }
        d.deserialize_map(OnlyMaps(PhantomData)).map(Object)
    }
}

fn some_object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    Ok(Option::<Object<T>>::deserialize(d)?.map(|o| o.0))
}

/// Why a tuple or query could not be read; always a 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Malformed(pub String);

/// Refuses a NUL character in `value`: PostgreSQL cannot store one in text (it would fail
/// the statement, a 500), and SQLite would keep a string that no other form of the tuple
/// can name. Every tuple part passes through here from JSON, query strings and text.
fn no_nul(field: &str, value: &str) -> Result<(), Malformed> {
    if value.contains('\0') {
        return Err(Malformed(format!(
            "{field} must not contain a NUL character"
        )));
    }
    Ok(())
}

impl RelationTuple {
    /// Every part free of NUL characters (see [`no_nul`]).
    fn nul_free(self) -> Result<RelationTuple, Malformed> {
        no_nul("namespace", &self.namespace)?;
        no_nul("object", &self.object)?;
        no_nul("relation", &self.relation)?;
        match &self.subject {
            Subject::Id(id) => no_nul("subject_id", id)?,
            Subject::Set(s) => {
                no_nul("subject_set.namespace", &s.namespace)?;
                no_nul("subject_set.object", &s.object)?;
                no_nul("subject_set.relation", &s.relation)?;
            }
        }
        Ok(self)
    }
}

impl TupleBody {
    /// A request body holding one tuple (an object, see [`Object`]).
    pub fn from_json(body: &[u8]) -> serde_json::Result<TupleBody> {
        serde_json::from_slice::<Object<TupleBody>>(body).map(|o| o.0)
    }

    /// A complete tuple; in a JSON body `subject_id` wins over `subject_set`, as in Keto.
    /// An empty namespace is left to the caller, which treats it as Keto does: as a
    /// namespace that does not exist (a denial, or a 404 for writes).
    pub fn into_tuple(self) -> Result<RelationTuple, Malformed> {
        let subject = match (self.subject_id, self.subject_set) {
            (Some(id), _) => Subject::Id(id),
            (None, Some(set)) => Subject::Set(set),
            (None, None) => return Err(Malformed("subject is not allowed to be nil".into())),
        };
        RelationTuple {
            namespace: self.namespace,
            object: self.object,
            relation: self.relation,
            subject,
        }
        .nul_free()
    }
}

impl From<&RelationTuple> for TupleBody {
    fn from(t: &RelationTuple) -> Self {
        let (subject_id, subject_set) = match &t.subject {
            Subject::Id(id) => (Some(id.clone()), None),
            Subject::Set(s) => (None, Some(s.clone())),
        };
        TupleBody {
            namespace: t.namespace.clone(),
            object: t.object.clone(),
            relation: t.relation.clone(),
            subject_id,
            subject_set,
        }
    }
}

/// A filter from query parameters: every part optional.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Query {
    pub namespace: Option<String>,
    pub object: Option<String>,
    pub relation: Option<String>,
    pub subject: Option<Subject>,
}

/// Keys a query is searched for repeats one by one; past them, through a set.
const LINEAR_KEYS: usize = 16;

/// A query string's parameters in the order sent; a repeated key keeps its first value.
/// A few pairs, so a list beats a map, and values that need no decoding stay borrowed.
#[derive(Debug, Default)]
pub struct Params<'a>(Vec<(Cow<'a, str>, Cow<'a, str>)>);

impl<'a> Params<'a> {
    pub fn parse(query: &'a str) -> Params<'a> {
        Params::from_pairs(url::form_urlencoded::parse(query.as_bytes()))
    }

    pub fn from_pairs<K, V>(pairs: impl IntoIterator<Item = (K, V)>) -> Params<'a>
    where
        K: Into<Cow<'a, str>>,
        V: Into<Cow<'a, str>>,
    {
        let mut out: Vec<(Cow<'a, str>, Cow<'a, str>)> = Vec::new();
        // Past a few keys (only a hostile query has that many), a set keeps the search for
        // repeats linear: comparing each key with all before it would be quadratic in a
        // query string of hundreds of kilobytes.
        let mut seen: HashSet<Cow<'a, str>> = HashSet::new();
        for (k, v) in pairs {
            let k = k.into();
            let repeated = if out.len() < LINEAR_KEYS {
                out.iter().any(|(earlier, _)| *earlier == k)
            } else {
                if seen.is_empty() {
                    seen.extend(out.iter().map(|(earlier, _)| earlier.clone()));
                }
                !seen.insert(k.clone())
            };
            if !repeated {
                out.push((k, v.into()));
            }
        }
        Params(out)
    }

    /// The parameters, if no value holds a NUL character (see [`no_nul`]).
    pub fn nul_free(self) -> Result<Params<'a>, Malformed> {
        for (k, v) in &self.0 {
            no_nul(k, v)?;
        }
        Ok(self)
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_ref())
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_ref())
    }

    /// Refuses keys outside `allowed`: for gatehouse's own endpoints, where a misspelt key
    /// would otherwise widen the question silently (Keto's endpoints ignore other keys).
    pub fn only(&self, allowed: &[&str]) -> Result<(), Malformed> {
        match self.keys().find(|k| !allowed.contains(k)) {
            Some(k) => Err(Malformed(format!("unknown query parameter {k:?}"))),
            None => Ok(()),
        }
    }
}

/// The query keys tuples use.
pub const QUERY_KEYS: &[&str] = &[
    "namespace",
    "object",
    "relation",
    "subject_id",
    "subject_set.namespace",
    "subject_set.object",
    "subject_set.relation",
];

impl Query {
    /// Reads Keto's query parameters. Other keys are ignored, as Keto ignores them: a
    /// client or proxy that adds one (a cache-buster, a newer SDK's option) keeps working.
    /// The old `subject` key is refused, as in Keto, because ignoring it would change what
    /// is asked.
    pub fn from_params(params: &Params<'_>) -> Result<Query, Malformed> {
        if params.contains_key("subject") {
            return Err(Malformed(
                "Please use 'subject_id' or 'subject_set.*' instead of 'subject': support for subject was dropped".into(),
            ));
        }
        let get = |k: &str| params.get(k).map(str::to_owned);
        let set_parts = [
            get("subject_set.namespace"),
            get("subject_set.object"),
            get("subject_set.relation"),
        ];
        // Keto's order: an id beside any subject set key is a duplicate, even a partial set.
        let subject = match (get("subject_id"), set_parts) {
            (None, [None, None, None]) => None,
            (Some(id), [None, None, None]) => Some(Subject::Id(id)),
            (Some(_), _) => {
                return Err(Malformed(
                    "exactly one of subject_set or subject_id has to be provided".into(),
                ));
            }
            (None, [Some(namespace), Some(object), Some(relation)]) => {
                Some(Subject::Set(SubjectSet {
                    namespace,
                    object,
                    relation,
                }))
            }
            (None, _) => {
                return Err(Malformed(
                    r#"incomplete subject, provide "subject_id" or a complete "subject_set.*""#
                        .into(),
                ));
            }
        };
        Ok(Query {
            namespace: get("namespace"),
            object: get("object"),
            relation: get("relation"),
            subject,
        })
    }

    /// A complete tuple from the query (for checks).
    pub fn into_tuple(self) -> Result<RelationTuple, Malformed> {
        let Some(subject) = self.subject else {
            return Err(Malformed("subject is not allowed to be nil".into()));
        };
        // Keto's words: a check names the whole tuple (each part may be empty, not absent).
        let (Some(namespace), Some(object), Some(relation)) =
            (self.namespace, self.object, self.relation)
        else {
            return Err(Malformed(
                r#"incomplete tuple, provide "namespace", "object", "relation", and a subject"#
                    .into(),
            ));
        };
        Ok(RelationTuple {
            namespace,
            object,
            relation,
            subject,
        })
    }
}

/// Parses Keto's text form `ns:obj#rel@subject` as Keto reads it: split at the first `:`,
/// `#` and `@`; parentheses stripped from both ends of the subject; a subject with `:` is a
/// subject set (`ns:obj` or `ns:obj#rel`), any other an id. Nothing else is trimmed and
/// empty parts are kept, so `parse` prints back what Keto's would.
pub fn parse(text: &str) -> Result<RelationTuple, Malformed> {
    let bad = |why: &str| Malformed(format!("{text:?} is not a relation tuple: {why}"));
    let (namespace, rest) = text
        .split_once(':')
        .ok_or_else(|| bad("no ':' after the namespace"))?;
    let (object, rest) = rest
        .split_once('#')
        .ok_or_else(|| bad("no '#' after the object"))?;
    let (relation, subject) = rest
        .split_once('@')
        .ok_or_else(|| bad("no '@' after the relation"))?;
    RelationTuple {
        namespace: namespace.into(),
        object: object.into(),
        relation: relation.into(),
        subject: subject_from_text(subject.trim_matches(['(', ')'])),
    }
    .nul_free()
}

/// A subject given on its own, as a command-line argument: `alice`, `User:alice`,
/// `Group:eng#members`, `(Group:eng#members)`; `None` when it is blank.
pub fn parse_subject(text: &str) -> Option<Subject> {
    let s = text.trim().trim_matches(['(', ')']);
    (!s.is_empty()).then(|| subject_from_text(s))
}

fn subject_from_text(s: &str) -> Subject {
    match s.split_once(':') {
        None => Subject::Id(s.into()),
        Some((namespace, rest)) => {
            let (object, relation) = rest.split_once('#').unwrap_or((rest, ""));
            Subject::Set(SubjectSet {
                namespace: namespace.into(),
                object: object.into(),
                relation: relation.into(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_forms_parse_and_print_back() {
        for text in [
            "Document:spec#viewers@alice",
            "Document:spec#viewers@Group:eng#members",
            "Group:eng#members@User:alice",
        ] {
            assert_eq!(parse(text).unwrap().to_string(), text);
        }
        let t = parse("a:b#c@(Group:eng#members)").unwrap();
        assert_eq!(t.to_string(), "a:b#c@Group:eng#members");
        assert!(parse("no-colon").is_err());
        assert!(parse("a:b@c").is_err());
    }

    /// Keto cuts at the first separators and keeps what is between them as it is.
    #[test]
    fn text_forms_keep_what_keto_keeps() {
        let id = |text: &str| match parse(text).unwrap().subject {
            Subject::Id(id) => id,
            Subject::Set(s) => panic!("{text}: a subject set {s:?}"),
        };
        assert_eq!(id("a:b#c@"), "");
        assert_eq!(id("a:b#c@ alice "), " alice ");
        assert_eq!(id("a:b#c@((alice)"), "alice");
        assert_eq!(id("a:b#c@x@y"), "x@y");
        let t = parse(":b:c#d#e@https://x/y#z").unwrap();
        assert_eq!((t.namespace.as_str(), t.object.as_str()), ("", "b:c"));
        assert_eq!(t.relation, "d#e");
        assert_eq!(t.subject.to_string(), "https://x/y#z");
        assert!(matches!(t.subject, Subject::Set(_)));
        // Keto's text cannot carry this one back: printed, the `#` that ended the object
        // goes, and the parenthesis left at the end is then stripped as a wrapper.
        let t = parse(":rq#vo@(G:@(#").unwrap();
        assert_eq!(t.subject.to_string(), "G:@(");
        assert_eq!(parse(&t.to_string()).unwrap().subject.to_string(), "G:@");
        assert_eq!(parse_subject("  "), None);
        assert_eq!(parse_subject(" (G:e#m) ").unwrap().to_string(), "G:e#m");
    }

    #[test]
    fn query_parameters_keep_the_first_of_a_repeated_key_and_decode() {
        let p = Params::parse("b=1&a=x%20y&b=2&c=&d+e=%2F");
        assert_eq!(p.get("b"), Some("1"));
        assert_eq!(p.get("a"), Some("x y"));
        assert_eq!(p.get("c"), Some(""));
        assert_eq!(p.get("d e"), Some("/"));
        assert_eq!(p.get("z"), None);
        assert!(p.contains_key("c") && !p.contains_key("z"));
        assert_eq!(p.keys().collect::<Vec<_>>(), ["b", "a", "c", "d e"]);
        assert_eq!(Params::parse("").keys().count(), 0);
    }

    #[test]
    fn many_query_parameters_keep_the_first_of_a_repeated_key_too() {
        let query: String = (0..100)
            .map(|i| format!("k{}={i}&", i % 40))
            .collect::<String>();
        let p = Params::parse(&query);
        assert_eq!(p.keys().count(), 40);
        assert_eq!(p.get("k0"), Some("0"));
        assert_eq!(p.get("k39"), Some("39"));
        let keys: Vec<String> = (0..40).map(|i| format!("k{i}")).collect();
        assert_eq!(p.keys().collect::<Vec<_>>(), keys);
    }

    #[test]
    fn query_parameters_follow_keto_rules() {
        let q =
            |pairs: &[(&str, &str)]| Query::from_params(&Params::from_pairs(pairs.iter().copied()));
        assert!(q(&[("subject", "x")]).is_err());
        assert!(q(&[("subject_set.namespace", "G")]).is_err());
        assert!(
            q(&[
                ("subject_id", "a"),
                ("subject_set.namespace", "G"),
                ("subject_set.object", "e"),
                ("subject_set.relation", "")
            ])
            .is_err()
        );
        let ok = q(&[
            ("namespace", "D"),
            ("subject_set.namespace", "U"),
            ("subject_set.object", "a"),
            ("subject_set.relation", ""),
        ])
        .unwrap();
        assert_eq!(ok.subject.unwrap().to_string(), "U:a");
        // Keto ignores keys it does not know.
        let extra = q(&[("namespace", "D"), ("snaptoken", "x"), ("_", "1")]).unwrap();
        assert_eq!(extra.namespace.as_deref(), Some("D"));
        assert!(extra.subject.is_none());
    }
}
