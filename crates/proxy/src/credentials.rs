//! JSON Web Keys, as Oathkeeper's `credentials` package handles them: key sets fetched
//! from `file://` and `http(s)://` URLs and cached for a while (the `jwt` authenticator,
//! the `id_token` mutator, `/.well-known/jwks.json`), JWKs turned into verifying and
//! signing keys, public halves of private keys, and fresh key sets for
//! `gatehouse proxy credentials generate`.

use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a fetched key set is used before it is fetched again (Oathkeeper's
/// `authenticators.jwt.config.jwks_ttl`).
pub const DEFAULT_TTL: Duration = Duration::from_secs(30);
/// How long a request waits for key sets being fetched (`jwks_max_wait`); a fetch that
/// takes longer still completes in the background and fills the cache.
pub const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(1);
/// A URL is fetched at most this often, however many tokens name unknown key ids: an
/// attacker sending random `kid`s cannot make the proxy hammer the key server.
const MIN_REFETCH: Duration = Duration::from_secs(1);
/// Largest key set document read.
const MAX_BYTES: usize = 1 << 20;

/// Key sets by URL, shared by every handler.
#[derive(Clone)]
pub struct Fetcher {
    inner: Arc<Inner>,
    pub ttl: Duration,
    pub max_wait: Duration,
}

struct Inner {
    http: reqwest::Client,
    slots: Mutex<HashMap<String, Slot>>,
}

#[derive(Default)]
struct Slot {
    /// The last set read, and when.
    set: Option<(Arc<Vec<Value>>, Instant)>,
    /// When a fetch last started (successful or not).
    attempted: Option<Instant>,
    /// Held while fetching, so concurrent requests wait for one fetch.
    fetching: Arc<tokio::sync::Mutex<()>>,
}

impl Fetcher {
    pub fn new(http: reqwest::Client, ttl: Duration, max_wait: Duration) -> Fetcher {
        Fetcher {
            inner: Arc::new(Inner {
                http,
                slots: Mutex::new(HashMap::new()),
            }),
            ttl,
            max_wait,
        }
    }

    /// The signing key `kid` (with `use` `sig` or no `use`) from the first of `urls`
    /// that has it. Cached sets younger than the TTL are searched first; when the key is
    /// not there, the sets are fetched again (at most once a second per URL) and an old
    /// set is still used when its URL cannot be read now.
    pub async fn key(&self, urls: &[String], kid: &str) -> Result<Value, String> {
        if let Some(k) = self.find(urls, kid, false) {
            return Ok(k);
        }
        self.refresh(urls).await;
        self.find(urls, kid, true).ok_or_else(|| {
            format!(
                "JSON Web Key ID \"{kid}\" with use \"sig\" could not be found in any of the provided URIs ({})",
                urls.join(", ")
            )
        })
    }

    /// The key sets of `urls` (those that could be read), fetching the missing and
    /// expired ones.
    pub async fn sets(&self, urls: &[String]) -> Result<Vec<Arc<Vec<Value>>>, String> {
        let stale: Vec<String> = urls
            .iter()
            .filter(|u| self.cached(u, false).is_none())
            .cloned()
            .collect();
        if !stale.is_empty() {
            self.refresh(&stale).await;
        }
        let sets: Vec<_> = urls.iter().filter_map(|u| self.cached(u, true)).collect();
        if sets.is_empty() && !urls.is_empty() {
            return Err(format!(
                "None of the provided URLs returned a valid JSON Web Key Set ({})",
                urls.join(", ")
            ));
        }
        Ok(sets)
    }

    fn cached(&self, url: &str, stale_ok: bool) -> Option<Arc<Vec<Value>>> {
        let slots = self.inner.slots.lock().ok()?;
        let (set, at) = slots.get(url)?.set.as_ref()?;
        (stale_ok || at.elapsed() <= self.ttl).then(|| set.clone())
    }

    fn find(&self, urls: &[String], kid: &str, stale_ok: bool) -> Option<Value> {
        urls.iter()
            .filter_map(|u| self.cached(u, stale_ok))
            .find_map(|set| {
                set.iter()
                    .find(|k| {
                        k.get("kid").and_then(Value::as_str) == Some(kid)
                            && matches!(k.get("use").and_then(Value::as_str), None | Some("sig"))
                    })
                    .cloned()
            })
    }

    /// Fetches `urls` in parallel, waiting at most `max_wait`.
    async fn refresh(&self, urls: &[String]) {
        let tasks: Vec<_> = urls
            .iter()
            .map(|u| {
                let me = self.clone();
                let u = u.clone();
                tokio::spawn(async move { me.refresh_one(&u).await })
            })
            .collect();
        let all = async {
            for t in tasks {
                let _ = t.await;
            }
        };
        if tokio::time::timeout(self.max_wait, all).await.is_err() {
            tracing::warn!(
                urls = ?urls,
                "ignoring JSON Web Key Sets that did not arrive within jwks_max_wait"
            );
        }
    }

    async fn refresh_one(&self, url: &str) {
        let Some(lock) = self.slot(url, |s| s.fetching.clone()) else {
            return;
        };
        let _fetching = lock.lock().await;
        let recent = self
            .slot(url, |s| {
                s.attempted.is_some_and(|a| a.elapsed() < MIN_REFETCH)
            })
            .unwrap_or(true);
        if recent {
            return;
        }
        self.slot(url, |s| s.attempted = Some(Instant::now()));
        match self.load(url).await {
            Ok(keys) => {
                self.slot(url, |s| s.set = Some((Arc::new(keys), Instant::now())));
            }
            Err(e) => {
                tracing::error!(url, error = %e, "unable to fetch a JSON Web Key Set");
            }
        }
    }

    fn slot<T>(&self, url: &str, f: impl FnOnce(&mut Slot) -> T) -> Option<T> {
        let mut slots = self.inner.slots.lock().ok()?;
        Some(f(slots.entry(url.to_string()).or_default()))
    }

    async fn load(&self, url: &str) -> Result<Vec<Value>, String> {
        let bytes = match url.split_once("://") {
            None => read_file(url).await?,
            Some((scheme, rest)) => {
                match scheme.to_ascii_lowercase().as_str() {
                    "file" => read_file(rest).await?,
                    "http" | "https" => {
                        let res = self.inner.http.get(url).send().await.map_err(|e| {
                            format!("Unable to fetch JSON Web Keys from {url}: {e}")
                        })?;
                        let status = res.status().as_u16();
                        if !(200..400).contains(&status) {
                            return Err(format!(
                                "Expected successful status code from location \"{url}\", but received code \"{status}\""
                            ));
                        }
                        let body = res.bytes().await.map_err(|e| {
                            format!("Unable to fetch JSON Web Keys from {url}: {e}")
                        })?;
                        body.to_vec()
                    }
                    other => {
                        return Err(format!(
                            "Unable to fetch JSON Web Keys from location \"{url}\" because URL scheme \"{other}\" is not supported"
                        ));
                    }
                }
            }
        };
        if bytes.len() > MAX_BYTES {
            return Err(format!(
                "the JSON Web Key Set at {url} is larger than 1 MiB"
            ));
        }
        parse_set(&bytes).map_err(|e| {
            format!("Unable to decode JSON Web Keys from location \"{url}\" because \"{e}\"")
        })
    }
}

async fn read_file(path: &str) -> Result<Vec<u8>, String> {
    let path = crate::rule::clean_path(path);
    tokio::fs::read(&path)
        .await
        .map_err(|e| format!("Unable to fetch JSON Web Keys from \"{path}\": {e}"))
}

/// The `keys` of a JWKS document (each one a JSON object).
pub fn parse_set(bytes: &[u8]) -> Result<Vec<Value>, String> {
    let doc: Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let keys = doc
        .get("keys")
        .and_then(Value::as_array)
        .ok_or("the document has no \"keys\" array")?;
    if let Some(bad) = keys.iter().position(|k| !k.is_object()) {
        return Err(format!("keys[{bad}] is not an object"));
    }
    Ok(keys.clone())
}

fn b64(s: &str) -> Result<Vec<u8>, String> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .map_err(|e| format!("invalid base64url: {e}"))
}

fn b64e(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn member<'k>(jwk: &'k Value, name: &str) -> Result<&'k str, String> {
    jwk.get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| format!("the key has no \"{name}\""))
}

fn kty(jwk: &Value) -> &str {
    jwk.get("kty").and_then(Value::as_str).unwrap_or("")
}

/// What a JWK holds.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum KeyKind {
    Public,
    Private,
    Symmetric,
}

pub fn kind(jwk: &Value) -> Result<KeyKind, String> {
    match kty(jwk) {
        "oct" => Ok(KeyKind::Symmetric),
        "RSA" | "EC" | "OKP" if jwk.get("d").is_some() => Ok(KeyKind::Private),
        "RSA" | "EC" | "OKP" => Ok(KeyKind::Public),
        other => Err(format!("unknown key type {other:?}")),
    }
}

/// The key that checks signatures made with `jwk` (a private key's public half).
pub fn verifying_key(jwk: &Value) -> Result<DecodingKey, String> {
    let e = |e: jsonwebtoken::errors::Error| e.to_string();
    match kty(jwk) {
        "RSA" => DecodingKey::from_rsa_components(member(jwk, "n")?, member(jwk, "e")?).map_err(e),
        "EC" => DecodingKey::from_ec_components(member(jwk, "x")?, member(jwk, "y")?).map_err(e),
        "OKP" => DecodingKey::from_ed_components(member(jwk, "x")?).map_err(e),
        "oct" => Ok(DecodingKey::from_secret(&b64(member(jwk, "k")?)?)),
        other => Err(format!("unsupported key type {other:?}")),
    }
}

/// The key that signs with the private or symmetric `jwk`.
pub fn signing_key(jwk: &Value) -> Result<EncodingKey, String> {
    let big = |name: &str| -> Result<rsa::BigUint, String> {
        Ok(rsa::BigUint::from_bytes_be(&b64(member(jwk, name)?)?))
    };
    match kty(jwk) {
        "RSA" => {
            use rsa::pkcs1::EncodeRsaPrivateKey as _;
            let primes = match (jwk.get("p"), jwk.get("q")) {
                (Some(_), Some(_)) => vec![big("p")?, big("q")?],
                _ => Vec::new(),
            };
            let key = rsa::RsaPrivateKey::from_components(big("n")?, big("e")?, big("d")?, primes)
                .map_err(|e| format!("invalid RSA key: {e}"))?;
            let der = key
                .to_pkcs1_der()
                .map_err(|e| format!("invalid RSA key: {e}"))?;
            Ok(EncodingKey::from_rsa_der(der.as_bytes()))
        }
        "EC" => {
            use p256::pkcs8::EncodePrivateKey as _;
            let d = b64(member(jwk, "d")?)?;
            let der = match jwk.get("crv").and_then(Value::as_str) {
                Some("P-256") => p256::SecretKey::from_slice(&d)
                    .map_err(|e| format!("invalid P-256 key: {e}"))?
                    .to_pkcs8_der(),
                Some("P-384") => p384::SecretKey::from_slice(&d)
                    .map_err(|e| format!("invalid P-384 key: {e}"))?
                    .to_pkcs8_der(),
                other => return Err(format!("unsupported curve {other:?}")),
            }
            .map_err(|e| format!("invalid EC key: {e}"))?;
            Ok(EncodingKey::from_ec_der(der.as_bytes()))
        }
        "OKP" => {
            use ed25519_dalek::pkcs8::EncodePrivateKey as _;
            if jwk.get("crv").and_then(Value::as_str) != Some("Ed25519") {
                return Err("only the Ed25519 curve is supported for OKP keys".into());
            }
            let d: [u8; 32] = b64(member(jwk, "d")?)?
                .try_into()
                .map_err(|_| "an Ed25519 private key has 32 bytes".to_string())?;
            let der = ed25519_dalek::SigningKey::from_bytes(&d)
                .to_pkcs8_der()
                .map_err(|e| format!("invalid Ed25519 key: {e}"))?;
            Ok(EncodingKey::from_ed_der(der.as_bytes()))
        }
        "oct" => Ok(EncodingKey::from_secret(&b64(member(jwk, "k")?)?)),
        other => Err(format!("unsupported key type {other:?}")),
    }
}

/// The public half of `jwk` as published in `/.well-known/jwks.json`; `None` for a
/// symmetric (or unknown) key, which is never published.
pub fn public(jwk: &Value) -> Option<Value> {
    if !matches!(kind(jwk), Ok(KeyKind::Public | KeyKind::Private)) {
        return None;
    }
    const PUBLIC: [&str; 13] = [
        "use", "kty", "kid", "crv", "alg", "n", "e", "x", "y", "x5c", "x5u", "x5t", "x5t#S256",
    ];
    let obj = jwk.as_object()?;
    let out: Map<String, Value> = PUBLIC
        .iter()
        .filter_map(|k| obj.get(*k).map(|v| (k.to_string(), v.clone())))
        .collect();
    Some(Value::Object(out))
}

/// What signs id_tokens: a private or symmetric key of the set, and the `kid` to put in
/// the header.
pub struct Signer {
    pub key: EncodingKey,
    pub alg: Algorithm,
    pub kid: String,
}

/// Picks the signing key of a set the way Oathkeeper does: walking the keys, a private
/// or symmetric key is the one to sign with and a public key's id is the `kid` to send,
/// until both are found; without a public key the private key's own id is sent.
pub fn signer(set: &[Value]) -> Result<Signer, String> {
    let mut private: Option<&Value> = None;
    let mut kid = String::new();
    for k in set {
        let id = k.get("kid").and_then(Value::as_str).unwrap_or("");
        match kind(k)? {
            KeyKind::Private => private = Some(k),
            KeyKind::Public => kid = id.to_string(),
            KeyKind::Symmetric => {
                private = Some(k);
                kid = id.to_string();
            }
        }
        if private.is_some() && !kid.is_empty() {
            break;
        }
    }
    let Some(pk) = private.filter(|k| {
        k.get("kid")
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty())
    }) else {
        return Err(
            "no suitable signing key (a private or symmetric key with a kid) was found".into(),
        );
    };
    if kid.is_empty() {
        kid = member(pk, "kid")?.to_string();
    }
    let alg_name = pk.get("alg").and_then(Value::as_str).unwrap_or("");
    let alg: Algorithm = alg_name.parse().map_err(|_| {
        format!(
            "signing key \"{}\" declares unsupported algorithm \"{alg_name}\"",
            member(pk, "kid").unwrap_or("")
        )
    })?;
    Ok(Signer {
        key: signing_key(pk)?,
        alg,
        kid,
    })
}

/// A JWKS with one new private key for `alg` (`RS256/384/512`, `PS256/384/512`,
/// `ES256`, `ES384`, `EdDSA`, `HS256/384/512`), as `oathkeeper credentials generate`
/// prints it. `bits` applies to RSA (default 4096) and HMAC (default: the hash size).
pub fn generate(alg: &str, kid: Option<&str>, bits: Option<usize>) -> Result<Value, String> {
    use p256::elliptic_curve::sec1::ToEncodedPoint as _;
    use rand_core_06::{OsRng, RngCore as _};
    let kid = match kid {
        Some(k) if !k.is_empty() => k.to_string(),
        _ => uuid::Uuid::new_v4().to_string(),
    };
    let mut key = match alg {
        "RS256" | "RS384" | "RS512" | "PS256" | "PS384" | "PS512" => {
            use rsa::traits::{PrivateKeyParts as _, PublicKeyParts as _};
            let bits = bits.unwrap_or(4096);
            if bits < 2048 {
                return Err("RSA keys need at least 2048 bits".into());
            }
            let k = rsa::RsaPrivateKey::new(&mut OsRng, bits).map_err(|e| e.to_string())?;
            let enc = |n: &rsa::BigUint| b64e(&n.to_bytes_be());
            let primes = k.primes();
            let (Some(p), Some(q), Some(dp), Some(dq), Some(qi)) = (
                primes.first(),
                primes.get(1),
                k.dp(),
                k.dq(),
                k.crt_coefficient(),
            ) else {
                return Err("the generated RSA key lacks its CRT values".into());
            };
            json!({"kty": "RSA", "n": enc(k.n()), "e": enc(k.e()), "d": enc(k.d()),
                   "p": enc(p), "q": enc(q), "dp": enc(dp), "dq": enc(dq), "qi": enc(&qi)})
        }
        "ES256" => {
            let k = p256::SecretKey::random(&mut OsRng);
            let point = k.public_key().to_encoded_point(false);
            let (Some(x), Some(y)) = (point.x(), point.y()) else {
                return Err("the generated P-256 key has no coordinates".into());
            };
            json!({"kty": "EC", "crv": "P-256", "x": b64e(x), "y": b64e(y), "d": b64e(&k.to_bytes())})
        }
        "ES384" => {
            let k = p384::SecretKey::random(&mut OsRng);
            let point = k.public_key().to_encoded_point(false);
            let (Some(x), Some(y)) = (point.x(), point.y()) else {
                return Err("the generated P-384 key has no coordinates".into());
            };
            json!({"kty": "EC", "crv": "P-384", "x": b64e(x), "y": b64e(y), "d": b64e(&k.to_bytes())})
        }
        "EdDSA" => {
            let mut seed = [0u8; 32];
            OsRng.fill_bytes(&mut seed);
            let k = ed25519_dalek::SigningKey::from_bytes(&seed);
            json!({"kty": "OKP", "crv": "Ed25519", "x": b64e(k.verifying_key().as_bytes()), "d": b64e(&seed)})
        }
        "HS256" | "HS384" | "HS512" => {
            let default = match alg {
                "HS256" => 256,
                "HS384" => 384,
                _ => 512,
            };
            let bits = bits.unwrap_or(default);
            if bits < 256 || !bits.is_multiple_of(8) {
                return Err("HMAC keys need at least 256 bits, in whole bytes".into());
            }
            let mut k = vec![0u8; bits / 8];
            OsRng.fill_bytes(&mut k);
            json!({"kty": "oct", "k": b64e(&k)})
        }
        other => {
            return Err(format!(
                "unsupported algorithm {other:?} (use RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA, HS256, HS384 or HS512)"
            ));
        }
    };
    key["use"] = json!("sig");
    key["kid"] = json!(kid);
    key["alg"] = json!(alg);
    Ok(json!({"keys": [key]}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_sign_and_verify() {
        for alg in ["ES256", "ES384", "EdDSA", "HS256"] {
            let set = generate(alg, Some("k1"), None).unwrap();
            let keys = set["keys"].as_array().unwrap();
            let s = signer(keys).unwrap();
            assert_eq!(s.kid, "k1");
            let header = jsonwebtoken::Header {
                kid: Some(s.kid.clone()),
                ..jsonwebtoken::Header::new(s.alg)
            };
            let token = jsonwebtoken::encode(&header, &json!({"sub": "a"}), &s.key).unwrap();
            let mut v = jsonwebtoken::Validation::new(s.alg);
            v.required_spec_claims.clear();
            v.validate_exp = false;
            let key = verifying_key(&keys[0]).unwrap();
            let data = jsonwebtoken::decode::<Value>(&token, &key, &v).unwrap();
            assert_eq!(data.claims["sub"], "a");
            match alg {
                "HS256" => assert!(public(&keys[0]).is_none()),
                _ => assert!(public(&keys[0]).unwrap().get("d").is_none()),
            }
        }
    }

    #[test]
    fn a_public_key_names_the_kid_of_a_private_one() {
        let mut set = generate("ES256", Some("private"), None).unwrap()["keys"]
            .as_array()
            .unwrap()
            .clone();
        let mut public = super::public(&set[0]).unwrap();
        public["kid"] = json!("public");
        set.insert(0, public);
        assert_eq!(signer(&set).unwrap().kid, "public");
        assert!(signer(&set[..1]).is_err(), "a public key alone cannot sign");
    }
}
