//! The `jwt` authenticator: a bearer token that is a JSON Web Token signed by a key of
//! the configured key sets. Oathkeeper's rules: a token that is not three dot-separated
//! parts is not ours (the next authenticator is asked); anything wrong with a JWT (alg
//! not allowed, no `kid`, unknown key, bad signature, `exp`/`nbf`/`iat`, audience,
//! issuer, scope) is a 401 whose reason says what. Subject = `sub`, Extra = all claims
//! with the scope normalised into an `scp` array.

use super::authn::{Outcome, token_from};
use super::{Denied, Incoming, Session, list, text};
use crate::Proxy;
use base64::Engine as _;
use serde_json::{Value, json};

/// How granted scopes are compared with required ones (fosite's strategies).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScopeStrategy {
    Hierarchic,
    Exact,
    Wildcard,
}

impl ScopeStrategy {
    /// `none`, empty and unknown names mean no strategy, as in Oathkeeper.
    pub fn parse(name: &str) -> Option<ScopeStrategy> {
        match name.to_ascii_lowercase().as_str() {
            "hierarchic" => Some(ScopeStrategy::Hierarchic),
            "exact" => Some(ScopeStrategy::Exact),
            "wildcard" => Some(ScopeStrategy::Wildcard),
            _ => None,
        }
    }

    pub fn matches(self, granted: &[String], needle: &str) -> bool {
        match self {
            ScopeStrategy::Exact => granted.iter().any(|g| g == needle),
            ScopeStrategy::Hierarchic => hierarchic(granted, needle),
            ScopeStrategy::Wildcard => wildcard(granted, needle),
        }
    }
}

/// `foo` grants `foo` and `foo.bar`; `foo.bar` does not grant `foo`.
fn hierarchic(granted: &[String], needle: &str) -> bool {
    for this in granted {
        if this == needle {
            return true;
        }
        if this.len() > needle.len() {
            continue;
        }
        let have: Vec<&str> = this.split('.').collect();
        for (k, part) in needle.split('.').enumerate() {
            let Some(current) = have.get(k) else {
                return true;
            };
            if *current != part {
                break;
            }
        }
    }
    false
}

/// `foo.*` grants `foo.bar` and `foo.bar.baz`; `*` matches one non-empty part.
fn wildcard(granted: &[String], needle: &str) -> bool {
    let needle: Vec<&str> = needle.split('.').collect();
    granted.iter().any(|matcher| {
        let parts: Vec<&str> = matcher.split('.').collect();
        if parts.len() > needle.len() {
            return false;
        }
        parts.iter().enumerate().all(|(k, c)| {
            if k == parts.len() - 1 && parts.len() != needle.len() && *c != "*" {
                return false;
            }
            (*c == "*" && !needle[k].is_empty()) || *c == needle[k]
        })
    })
}

/// What a token must satisfy, from the handler config.
struct Expect {
    algorithms: Vec<String>,
    jwks_urls: Vec<String>,
    scope: Vec<String>,
    strategy: Option<ScopeStrategy>,
    audience: Vec<String>,
    issuers: Vec<String>,
}

pub(super) async fn authenticate(
    px: &Proxy,
    config: &Value,
    req: &Incoming,
    session: &mut Session,
) -> Result<Outcome, Denied> {
    let Some(token) = token_from(config.get("token_from"), req) else {
        return Ok(Outcome::NotResponsible);
    };
    if token.split('.').count() != 3 {
        return Ok(Outcome::NotResponsible);
    }
    let jwks_urls = list(config, "jwks_urls");
    if jwks_urls.is_empty() {
        return Err(Denied::internal(
            "The authenticator \"jwt\" is misconfigured: jwks_urls must name at least one JSON Web Key Set",
        ));
    }
    let mut algorithms = list(config, "allowed_algorithms");
    if algorithms.is_empty() {
        algorithms.push("RS256".into());
    }
    let expect = Expect {
        algorithms,
        jwks_urls,
        scope: list(config, "required_scope"),
        strategy: ScopeStrategy::parse(text(config, "scope_strategy")),
        audience: list(config, "target_audience"),
        issuers: list(config, "trusted_issuers"),
    };
    match verify(px, &token, &expect).await {
        Ok(claims) => {
            session.subject = claims
                .get("sub")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            session.extra = claims;
            Ok(Outcome::Authenticated)
        }
        Err(reason) => {
            tracing::debug!(reason = %reason, "a JSON Web Token was refused");
            let mut denied = Denied::unauthorized().reason(reason);
            if let Some(claims) = part(&token, 1) {
                denied.details = json!({"jwt_claims": claims.to_string()});
            }
            Err(denied)
        }
    }
}

/// The JSON object in part `i` of a token, unverified.
fn part(token: &str, i: usize) -> Option<Value> {
    let raw = token.split('.').nth(i)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(raw.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice::<Value>(&bytes)
        .ok()
        .filter(Value::is_object)
}

/// Checks the token; the claims (scope normalised into `scp`) or why it was refused.
async fn verify(px: &Proxy, token: &str, expect: &Expect) -> Result<Value, String> {
    let header = part(token, 0).ok_or("token is malformed: the header is not a JSON object")?;
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
    if !expect.algorithms.iter().any(|a| a == alg) {
        return Err(format!(
            "JSON Web Token used signing method \"{alg}\" which is not allowed."
        ));
    }
    let kid = header
        .get("kid")
        .and_then(Value::as_str)
        .filter(|k| !k.is_empty())
        .ok_or("The JSON Web Token must contain a kid header value but did not.")?;
    let jwk = px.jwks.key(&expect.jwks_urls, kid).await?;
    let algorithm: jsonwebtoken::Algorithm = alg.parse().map_err(|_| {
        format!("This request object uses unsupported signing algorithm \"{alg}\".")
    })?;
    let key = crate::credentials::verifying_key(&jwk)
        .map_err(|e| format!("The key \"{kid}\" cannot verify signatures: {e}"))?;
    let mut validation = jsonwebtoken::Validation::new(algorithm);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    let data = jsonwebtoken::decode::<Value>(token, &key, &validation).map_err(|e| {
        use jsonwebtoken::errors::ErrorKind;
        match e.kind() {
            ErrorKind::InvalidSignature => "token signature is invalid".to_string(),
            ErrorKind::InvalidKeyFormat
            | ErrorKind::InvalidAlgorithm
            | ErrorKind::InvalidRsaKey(_)
            | ErrorKind::InvalidEcdsaKey
            | ErrorKind::InvalidEddsaKey => {
                "The signing key algorithm does not match the algorithm from the token header."
                    .to_string()
            }
            _ => format!("token is malformed: {e}"),
        }
    })?;
    let mut claims = data.claims;
    let Some(map) = claims.as_object_mut() else {
        return Err("token is malformed: the claims are not a JSON object".into());
    };
    check_times(map)?;
    let audience = strings_of(map.get("aud"));
    for a in &expect.audience {
        if !audience.contains(a) {
            return Err(format!(
                "Token audience [{}] is not intended for target audience {a}.",
                audience.join(" ")
            ));
        }
    }
    if !expect.issuers.is_empty() {
        let iss = map.get("iss").and_then(Value::as_str).unwrap_or("");
        if !expect.issuers.iter().any(|i| i == iss) {
            return Err(format!(
                "Token issuer does not match any trusted issuer {iss}."
            ));
        }
    }
    let granted = normalise_scope(map);
    match expect.strategy {
        Some(strategy) => {
            if let Some(missing) = expect.scope.iter().find(|s| !strategy.matches(&granted, s)) {
                return Err(format!(
                    "JSON Web Token is missing required scope \"{missing}\"."
                ));
            }
        }
        None if !expect.scope.is_empty() => {
            return Err(
                "Scope validation was requested but scope strategy is set to \"none\".".into(),
            );
        }
        None => {}
    }
    Ok(claims)
}

/// `exp`, `nbf` and `iat` as golang-jwt v5 checks them (no leeway; `iat` in the future
/// is refused; none of them is required).
fn check_times(claims: &serde_json::Map<String, Value>) -> Result<(), String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let number = |name: &str| -> Result<Option<f64>, String> {
        match claims.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => Ok(n.as_f64()),
            Some(_) => Err(format!(
                "token has invalid claims: the {name} claim is not a number"
            )),
        }
    };
    if let Some(exp) = number("exp")?
        && now >= exp
    {
        return Err("token has invalid claims: token is expired".into());
    }
    if let Some(nbf) = number("nbf")?
        && now < nbf
    {
        return Err("token has invalid claims: token is not valid yet".into());
    }
    if let Some(iat) = number("iat")?
        && now < iat
    {
        return Err("token has invalid claims: token used before issued".into());
    }
    Ok(())
}

/// A claim that is a string or a list of strings (`aud`).
fn strings_of(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

/// Reads the scope from `scp`, `scope` or `scopes` (the first present; a list, or a
/// space-separated string), removes that claim and stores the list as `scp`.
fn normalise_scope(claims: &mut serde_json::Map<String, Value>) -> Vec<String> {
    let found = ["scp", "scope", "scopes"]
        .into_iter()
        .find(|k| claims.contains_key(*k));
    let scope = match found.and_then(|k| claims.remove(k)) {
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| v.as_str().unwrap_or("").to_string())
            .collect(),
        Some(Value::String(s)) if s.is_empty() => Vec::new(),
        Some(Value::String(s)) => s.split(' ').map(str::to_string).collect(),
        _ => Vec::new(),
    };
    claims.insert("scp".into(), json!(scope));
    scope
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn scope_strategies_follow_fosite() {
        let h = ScopeStrategy::Hierarchic;
        assert!(h.matches(&s(&["foo"]), "foo.bar"));
        assert!(h.matches(&s(&["foo.bar"]), "foo.bar"));
        assert!(!h.matches(&s(&["foo.bar"]), "foo"));
        assert!(!h.matches(&s(&["foo"]), "foobar"));
        let w = ScopeStrategy::Wildcard;
        assert!(w.matches(&s(&["foo.*"]), "foo.bar"));
        assert!(w.matches(&s(&["foo.*"]), "foo.bar.baz"));
        assert!(!w.matches(&s(&["foo.*"]), "foo"));
        assert!(w.matches(&s(&["foo.*.baz"]), "foo.bar.baz"));
        assert!(!w.matches(&s(&["foo.bar"]), "foo.bar.baz"));
        let e = ScopeStrategy::Exact;
        assert!(e.matches(&s(&["a", "b"]), "b"));
        assert!(!e.matches(&s(&["a.b"]), "a"));
        assert_eq!(ScopeStrategy::parse("none"), None);
        assert_eq!(ScopeStrategy::parse("Exact"), Some(ScopeStrategy::Exact));
    }

    #[test]
    fn the_scope_claim_becomes_an_scp_list() {
        let mut c = json!({"scope": "a b.c", "sub": "x"});
        let got = normalise_scope(c.as_object_mut().unwrap());
        assert_eq!(got, s(&["a", "b.c"]));
        assert_eq!(c, json!({"scp": ["a", "b.c"], "sub": "x"}));
        let mut c = json!({"scopes": ["a"]});
        normalise_scope(c.as_object_mut().unwrap());
        assert_eq!(c, json!({"scp": ["a"]}));
        let mut c = json!({});
        normalise_scope(c.as_object_mut().unwrap());
        assert_eq!(c, json!({"scp": []}));
    }

    #[test]
    fn times_are_checked_without_leeway() {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let ok = json!({"exp": now + 60, "nbf": now - 1, "iat": now - 1});
        assert!(check_times(ok.as_object().unwrap()).is_ok());
        let expired = json!({"exp": now - 1});
        assert!(check_times(expired.as_object().unwrap()).is_err());
        let early = json!({"nbf": now + 60});
        assert!(check_times(early.as_object().unwrap()).is_err());
        let future = json!({"iat": now + 60});
        assert!(check_times(future.as_object().unwrap()).is_err());
        assert!(check_times(json!({}).as_object().unwrap()).is_ok());
    }
}
