//! Reads `access_rules.repositories`: `file://PATH` or a plain path,
//! `inline://BASE64` (standard alphabet, padded) and `http(s)://URL`
//! (fetched once, 15 s timeout, anything but 200 is an error). Object
//! storage (`s3://`, `gs://`, `azblob://`) is not supported.

use std::error::Error;
use std::path::PathBuf;
use std::time::Duration;

use base64::Engine as _;

use super::decode::{decode, label};
use super::entry::{Compiler, Entry};
use super::path::clean_path;
use super::set::{Origin, RuleSet};
use super::types::Strategy;

/// Oathkeeper's connection timeout for remote rule repositories.
const HTTP_TIMEOUT: Duration = Duration::from_secs(15);

/// Loads every repository in order and compiles the rules into one set.
/// Errors name the repository, the rule (id and index in its document) and
/// the field: `access rules in /etc/rules.yml: rule "api" (index 2):
/// match.url is required`.
pub async fn load(repositories: &[String], strategy: Strategy) -> Result<RuleSet, String> {
    let mut compiler = Compiler::new(strategy);
    let mut entries = Vec::new();
    let mut origins = Vec::new();
    for repository in repositories {
        let start = entries.len();
        entries.extend(load_one(repository, &mut compiler).await?);
        origins.push(Origin {
            repository: repository.clone(),
            rules: start..entries.len(),
        });
    }
    Ok(RuleSet::build(entries, strategy, origins))
}

/// The compiled rules of one repository.
pub(crate) async fn load_one(
    repository: &str,
    compiler: &mut Compiler,
) -> Result<Vec<Entry>, String> {
    let source = Source::parse(repository);
    let in_source = |e: String| format!("access rules in {}: {e}", source.name());
    let bytes = source.read().await.map_err(in_source)?;
    let rules = decode(&bytes).map_err(in_source)?;
    rules
        .into_iter()
        .enumerate()
        .map(|(i, rule)| {
            compiler.entry(rule, i).map_err(|e| {
                let rule = label(Some(&e.id), e.index);
                in_source(format!("{rule}: {}{}", e.field, e.problem))
            })
        })
        .collect()
}

/// Where a repository's document comes from.
#[derive(Debug, PartialEq)]
pub(crate) enum Source {
    File(PathBuf),
    Inline(String),
    Http(String),
    Unsupported(String),
}

impl Source {
    pub(crate) fn parse(repository: &str) -> Source {
        let Some((scheme, rest)) = repository.split_once("://").filter(|(s, _)| is_scheme(s))
        else {
            return Source::File(file_path(repository));
        };
        match scheme.to_ascii_lowercase().as_str() {
            // `file:///abs` and also the lenient `file://relative/path`.
            "file" => Source::File(file_path(rest)),
            "inline" => Source::Inline(rest.to_owned()),
            "http" | "https" => Source::Http(repository.to_owned()),
            _ => Source::Unsupported(repository.to_owned()),
        }
    }

    /// How errors and logs name the repository: the file path or the URL.
    pub(crate) fn name(&self) -> String {
        match self {
            Source::File(path) => path.display().to_string(),
            // The whole base64 blob would drown the message.
            Source::Inline(data) if data.chars().count() > 16 => {
                format!("inline://{}…", data.chars().take(16).collect::<String>())
            }
            Source::Inline(data) => format!("inline://{data}"),
            Source::Http(url) | Source::Unsupported(url) => url.clone(),
        }
    }

    async fn read(&self) -> Result<Vec<u8>, String> {
        match self {
            Source::File(path) => tokio::fs::read(path).await.map_err(|e| e.to_string()),
            Source::Inline(data) => base64::engine::general_purpose::STANDARD
                .decode(data.trim())
                .map_err(|e| format!("invalid base64: {e}")),
            Source::Http(url) => fetch(url).await,
            Source::Unsupported(_) => Err("unsupported repository scheme (use file://, \
                 inline:// or http(s)://)"
                .to_owned()),
        }
    }
}

/// RFC 3986 scheme characters; anything else means a plain path.
fn is_scheme(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

/// Like Go's `filepath.Clean` on Unix.
fn file_path(path: &str) -> PathBuf {
    PathBuf::from(clean_path(path))
}

async fn fetch(url: &str) -> Result<Vec<u8>, String> {
    let client = reqwest::Client::builder()
        .timeout(HTTP_TIMEOUT)
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {}", chain(&e)))?;
    let response = client.get(url).send().await.map_err(|e| chain(&e))?;
    let status = response.status().as_u16();
    if status != 200 {
        return Err(format!(
            "expected http response status code 200 but got {status}"
        ));
    }
    let body = response.bytes().await.map_err(|e| chain(&e))?;
    Ok(body.to_vec())
}

/// An error with its causes: reqwest's own message rarely says what failed.
fn chain(e: &dyn Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

#[cfg(test)]
mod tests;
