//! The request as the pipeline sees it (`Incoming`), and what the pipeline builds for it
//! (`Session`: subject, extra, headers to emit), with the data templates render against.

use axum::http::HeaderMap;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The request being decided: the proxied one, or the one a decisions call describes.
#[derive(Clone, Debug)]
pub struct Incoming {
    pub method: String,
    pub scheme: String,
    /// `host[:port]`, as the client addressed it.
    pub host: String,
    /// The path as sent (percent-encoded), before cleaning.
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    /// The body, read only for a rule whose authorizer is `remote` (which forwards it).
    pub body: Option<bytes::Bytes>,
}

impl Incoming {
    /// `scheme://host/cleaned-path`: what rules are matched against (no query; the path
    /// percent-decoded, as Go's `URL.Path`).
    pub fn match_url(&self) -> String {
        crate::rule::match_url(&self.scheme, &self.host, &self.decoded_path())
    }

    pub fn decoded_path(&self) -> std::borrow::Cow<'_, str> {
        percent_encoding::percent_decode_str(&self.path).decode_utf8_lossy()
    }

    /// The full URL, with query.
    pub fn full_url(&self) -> String {
        match &self.query {
            Some(q) if !q.is_empty() => format!("{}?{q}", self.match_url()),
            _ => self.match_url(),
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The request's cookies, by name.
    pub fn cookies(&self) -> Vec<(String, String)> {
        Incoming::cookies_of(&self.headers)
    }

    pub fn cookies_of(headers: &HeaderMap) -> Vec<(String, String)> {
        headers
            .get_all(axum::http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| {
                let (k, v) = pair.trim().split_once('=')?;
                Some((k.to_string(), v.to_string()))
            })
            .collect()
    }
}

/// What authenticators found and mutators add, beside the request it is about.
#[derive(Clone, Debug)]
pub struct Session {
    pub subject: String,
    /// A JSON object, or null.
    pub extra: Value,
    /// Headers to emit upstream (or in a decision), by canonical name.
    pub header: BTreeMap<String, String>,
    pub captures: Vec<String>,
    /// Shared, not copied: the proxy takes its headers back to forward them.
    pub request: Arc<Incoming>,
}

impl Session {
    pub fn new(request: Arc<Incoming>, captures: Vec<String>) -> Session {
        Session {
            subject: String::new(),
            extra: Value::Null,
            header: BTreeMap::new(),
            captures,
            request,
        }
    }

    /// The matched URL's path as templates see it (`.MatchContext.URL.Path`): decoded
    /// and cleaned.
    fn path(&self) -> String {
        crate::rule::clean_path(&self.request.decoded_path())
    }

    /// The headers to emit, giving up the rest.
    pub fn into_header(self) -> BTreeMap<String, String> {
        self.header
    }

    /// Sets a header to emit, under its canonical name (`x-user` -> `X-User`).
    pub fn set_header(&mut self, name: &str, value: String) {
        self.header.insert(canonical(name), value);
    }

    /// What templates see, with Oathkeeper's Go field names.
    pub fn template_data(&self) -> Value {
        self.template_data_for(Reads::ALL)
    }

    /// The template data with only the top-level fields in `reads`: a header template
    /// such as `{{ print .Subject }}` does not need every request header copied first.
    pub fn template_data_for(&self, reads: Reads) -> Value {
        let mut data = Map::new();
        if reads.subject {
            data.insert("Subject".into(), Value::String(self.subject.clone()));
        }
        if reads.extra {
            // Go's nil map reads as empty; a JSON null would make `.Extra.x` an error.
            let extra = if self.extra.is_null() {
                json!({})
            } else {
                self.extra.clone()
            };
            data.insert("Extra".into(), extra);
        }
        if reads.header {
            let emitted = self.header.iter().map(|(k, v)| (k.clone(), v.clone()));
            data.insert("Header".into(), header_lists(emitted));
        }
        if reads.match_context {
            data.insert("MatchContext".into(), self.match_context());
        }
        Value::Object(data)
    }

    fn match_context(&self) -> Value {
        json!({
            "RegexpCaptureGroups": self.captures,
            "URL": {
                "Scheme": self.request.scheme,
                "Host": self.request.host,
                "Path": self.path(),
                "RawQuery": self.request.query.as_deref().unwrap_or(""),
                "Fragment": "",
            },
            "Method": self.request.method,
            "Header": header_lists(self.request.headers.iter().filter_map(|(k, v)| {
                v.to_str().ok().map(|v| (canonical(k.as_str()), v.to_string()))
            })),
        })
    }

    /// The session as hydrators and `remote` calls receive it (Oathkeeper's JSON names).
    pub fn wire(&self) -> Value {
        json!({
            "subject": self.subject,
            "extra": self.extra,
            "header": header_lists(self.header.iter().map(|(k, v)| (k.clone(), v.clone()))),
            "match_context": {
                "regexp_capture_groups": self.captures,
                "url": format!("{}://{}{}", self.request.scheme, self.request.host, self.path()),
                "method": self.request.method,
            },
        })
    }
}

/// Go's `http.Header` as JSON: canonical name -> list of values.
fn header_lists(pairs: impl Iterator<Item = (String, String)>) -> Value {
    let mut m: Map<String, Value> = Map::new();
    for (k, v) in pairs {
        match m.entry(k).or_insert_with(|| json!([])) {
            Value::Array(a) => a.push(Value::String(v)),
            other => *other = json!([v]),
        }
    }
    Value::Object(m)
}

/// Go's canonical MIME header key: `x-user-EMAIL` -> `X-User-Email`.
pub fn canonical(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut out = String::with_capacity(part.len());
            for (i, c) in part.chars().enumerate() {
                if i == 0 {
                    out.push(c.to_ascii_uppercase());
                } else {
                    out.push(c.to_ascii_lowercase());
                }
            }
            out
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// Which top-level fields of the template data some templates read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reads {
    pub subject: bool,
    pub extra: bool,
    pub header: bool,
    pub match_context: bool,
}

impl Reads {
    pub const ALL: Reads = Reads {
        subject: true,
        extra: true,
        header: true,
        match_context: true,
    };

    /// What `t` reads; everything when it may read the data whole (`{{ . }}`).
    pub fn of(t: &gatehouse_gotmpl::Template) -> Reads {
        let Some(fields) = t.reads() else {
            return Reads::ALL;
        };
        Reads {
            subject: fields.contains("Subject"),
            extra: fields.contains("Extra"),
            header: fields.contains("Header"),
            match_context: fields.contains("MatchContext"),
        }
    }

    pub fn and(self, other: Reads) -> Reads {
        Reads {
            subject: self.subject || other.subject,
            extra: self.extra || other.extra,
            header: self.header || other.header,
            match_context: self.match_context || other.match_context,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::canonical;

    #[test]
    fn header_names_are_canonical() {
        assert_eq!(canonical("X-USER-EMAIL"), "X-User-Email");
        assert_eq!(canonical("content-type"), "Content-Type");
        assert_eq!(canonical("x"), "X");
    }
}
