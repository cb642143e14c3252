//! Keyset pagination as Ory does it: `page_size` plus an opaque `page_token`, and a `Link`
//! header with `first` and `next`.

use crate::ApiError;

/// A validated page request: at most `size` items after the item whose key is `after`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageRequest {
    pub size: u32,
    pub after: Option<String>,
}

impl PageRequest {
    /// Checks `page_size` (1..=max, default `default`) and decodes `page_token`.
    pub fn parse(
        page_size: Option<&str>,
        page_token: Option<&str>,
        default: u32,
        max: u32,
    ) -> Result<Self, ApiError> {
        let size = match page_size {
            None | Some("") => default,
            Some(s) => s
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "page_size must be a whole number from 1 to {max}"
                    ))
                })?,
        };
        let after = match page_token {
            None | Some("") => None,
            Some(t) => Some(
                decode_token(t).ok_or_else(|| ApiError::bad_request("page_token is malformed"))?,
            ),
        };
        Ok(Self { size, after })
    }
}

/// Turns the last key of a page into an opaque token.
pub fn encode_token(key: &str) -> String {
    crate::token::b64_url(format!("k:{key}").as_bytes())
}

fn decode_token(t: &str) -> Option<String> {
    let raw = crate::token::b64_url_decode(t)?;
    String::from_utf8(raw)
        .ok()?
        .strip_prefix("k:")
        .map(str::to_string)
}

/// The `Link` header for a keyset page of `path` (which may carry other query parameters).
pub fn link_header(path: &str, size: u32, next_key: Option<&str>) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut link = format!("<{path}{sep}page_size={size}&page_token=>; rel=\"first\"");
    if let Some(k) = next_key {
        link.push_str(&format!(
            ",<{path}{sep}page_size={size}&page_token={}>; rel=\"next\"",
            encode_token(k)
        ));
    }
    link
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_bounds_hold() {
        let t = encode_token("abc");
        let p = PageRequest::parse(Some("10"), Some(&t), 250, 500).unwrap();
        assert_eq!(
            p,
            PageRequest {
                size: 10,
                after: Some("abc".into())
            }
        );
        assert!(PageRequest::parse(Some("0"), None, 250, 500).is_err());
        assert!(PageRequest::parse(Some("501"), None, 250, 500).is_err());
        assert!(PageRequest::parse(None, Some("!!"), 250, 500).is_err());
        assert_eq!(PageRequest::parse(None, None, 250, 500).unwrap().size, 250);
    }
}
