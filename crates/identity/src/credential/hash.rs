//! Password hashes: the configured hasher (bcrypt or argon2id) for new passwords, and
//! verification of every format an import may bring (bcrypt, argon2id/argon2i, pbkdf2,
//! scrypt). Hashing runs on a bounded blocking pool, never on the async workers.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use std::sync::Arc;
use tokio::sync::Semaphore;

/// Why a hash could not be made or checked.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error(
        "unsupported hash format (supported: bcrypt, argon2id, argon2i, pbkdf2-sha1/sha256/sha512, scrypt)"
    )]
    Unsupported,
    #[error("malformed {0} hash: {1}")]
    Malformed(&'static str, String),
    #[error("bcrypt accepts passwords of at most 72 bytes")]
    TooLong,
    #[error("hashing failed: {0}")]
    Failed(String),
}

/// The hasher for new passwords, from `hashers.*`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Hasher {
    Bcrypt {
        cost: u32,
    },
    Argon2 {
        memory_kib: u32,
        iterations: u32,
        parallelism: u32,
        salt_length: u32,
        key_length: u32,
    },
}

impl Hasher {
    /// Hashes a new password: `$2a$<cost>$...` or `$argon2id$v=19$m=..,t=..,p=..$salt$hash`.
    pub fn hash(&self, password: &str) -> Result<String, HashError> {
        match self {
            Hasher::Bcrypt { cost } => {
                if password.len() > 72 {
                    return Err(HashError::TooLong);
                }
                bcrypt::hash_with_result(password, *cost)
                    .map(|h| h.format_for_version(bcrypt::Version::TwoA))
                    .map_err(|e| HashError::Failed(e.to_string()))
            }
            Hasher::Argon2 {
                memory_kib,
                iterations,
                parallelism,
                salt_length,
                key_length,
            } => {
                let mut salt = vec![0u8; (*salt_length).clamp(8, 64) as usize];
                salt.iter_mut()
                    .zip(gatehouse_core::token::random_bytes::<64>())
                    .for_each(|(s, r)| *s = r);
                let mut out = vec![0u8; (*key_length).clamp(16, 64) as usize];
                argon2_into(
                    argon2::Algorithm::Argon2id,
                    *memory_kib,
                    *iterations,
                    *parallelism,
                    password,
                    &salt,
                    &mut out,
                )?;
                Ok(format!(
                    "$argon2id$v=19$m={memory_kib},t={iterations},p={parallelism}${}${}",
                    STANDARD_NO_PAD.encode(&salt),
                    STANDARD_NO_PAD.encode(&out)
                ))
            }
        }
    }
}

fn argon2_into(
    alg: argon2::Algorithm,
    m: u32,
    t: u32,
    p: u32,
    password: &str,
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), HashError> {
    let params = argon2::Params::new(m, t, p, Some(out.len()))
        .map_err(|e| HashError::Malformed("argon2", e.to_string()))?;
    argon2::Argon2::new(alg, argon2::Version::V0x13, params)
        .hash_password_into(password.as_bytes(), salt, out)
        .map_err(|e| HashError::Malformed("argon2", e.to_string()))
}

fn b64(kind: &'static str, s: &str) -> Result<Vec<u8>, HashError> {
    STANDARD_NO_PAD
        .decode(s.trim_end_matches('='))
        .or_else(|_| STANDARD.decode(s))
        .or_else(|_| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s.trim_end_matches('='))
        })
        .map_err(|e| HashError::Malformed(kind, format!("bad base64: {e}")))
}

/// `k=v,k=v` parameters of a PHC-style hash.
fn params(kind: &'static str, s: &str) -> Result<Vec<(String, u64)>, HashError> {
    s.split(',')
        .map(|kv| {
            let (k, v) = kv
                .split_once('=')
                .ok_or_else(|| HashError::Malformed(kind, format!("bad parameter {kv:?}")))?;
            let v = v
                .parse::<u64>()
                .map_err(|_| HashError::Malformed(kind, format!("bad number in {kv:?}")))?;
            Ok((k.to_string(), v))
        })
        .collect()
}

fn param(kind: &'static str, ps: &[(String, u64)], key: &str) -> Result<u64, HashError> {
    ps.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| *v)
        .ok_or_else(|| HashError::Malformed(kind, format!("missing {key}")))
}

/// A parsed hash, ready to check a password against.
enum Parsed {
    Bcrypt(String),
    Argon2 {
        alg: argon2::Algorithm,
        m: u32,
        t: u32,
        p: u32,
        salt: Vec<u8>,
        hash: Vec<u8>,
    },
    Pbkdf2 {
        digest: &'static str,
        rounds: u32,
        salt: Vec<u8>,
        hash: Vec<u8>,
    },
    Scrypt {
        log_n: u8,
        r: u32,
        p: u32,
        salt: Vec<u8>,
        hash: Vec<u8>,
    },
}

fn parse(hashed: &str) -> Result<Parsed, HashError> {
    let parts: Vec<&str> = hashed.split('$').collect();
    match parts.get(1).copied() {
        Some("2a" | "2b" | "2y" | "2x") => {
            if hashed.len() != 60 {
                return Err(HashError::Malformed(
                    "bcrypt",
                    "a bcrypt hash has 60 characters".into(),
                ));
            }
            Ok(Parsed::Bcrypt(hashed.to_string()))
        }
        Some(kind @ ("argon2id" | "argon2i")) => parse_argon2(kind, &parts),
        Some(kind) if kind.starts_with("pbkdf2") => parse_pbkdf2(kind, &parts),
        Some("scrypt") => parse_scrypt(&parts),
        _ => Err(HashError::Unsupported),
    }
}

fn parse_argon2(kind: &str, parts: &[&str]) -> Result<Parsed, HashError> {
    // $argon2id$v=19$m=..,t=..,p=..$salt$hash
    let [_, _, version, ps, salt, hash] = parts else {
        return Err(HashError::Malformed(
            "argon2",
            "expected $argon2id$v=19$m=,t=,p=$salt$hash".into(),
        ));
    };
    if *version != "v=19" {
        return Err(HashError::Malformed(
            "argon2",
            format!("unsupported version {version}"),
        ));
    }
    let ps = params("argon2", ps)?;
    let alg = if kind == "argon2id" {
        argon2::Algorithm::Argon2id
    } else {
        argon2::Algorithm::Argon2i
    };
    let small = |v: u64| {
        u32::try_from(v)
            .map_err(|_| HashError::Malformed("argon2", "parameter out of range".into()))
    };
    Ok(Parsed::Argon2 {
        alg,
        m: small(param("argon2", &ps, "m")?)?,
        t: small(param("argon2", &ps, "t")?)?,
        p: small(param("argon2", &ps, "p")?)?,
        salt: b64("argon2", salt)?,
        hash: b64("argon2", hash)?,
    })
}

fn parse_pbkdf2(kind: &str, parts: &[&str]) -> Result<Parsed, HashError> {
    // $pbkdf2-sha256$i=<rounds>,l=<keylen>$salt$hash
    let digest = match kind {
        "pbkdf2-sha1" => "sha1",
        "pbkdf2-sha256" | "pbkdf2" => "sha256",
        "pbkdf2-sha512" => "sha512",
        _ => return Err(HashError::Unsupported),
    };
    let [_, _, ps, salt, hash] = parts else {
        return Err(HashError::Malformed(
            "pbkdf2",
            "expected $pbkdf2-<digest>$i=,l=$salt$hash".into(),
        ));
    };
    let ps = params("pbkdf2", ps)?;
    let rounds = u32::try_from(param("pbkdf2", &ps, "i")?)
        .map_err(|_| HashError::Malformed("pbkdf2", "too many rounds".into()))?;
    if rounds == 0 {
        return Err(HashError::Malformed("pbkdf2", "zero rounds".into()));
    }
    Ok(Parsed::Pbkdf2 {
        digest,
        rounds,
        salt: b64("pbkdf2", salt)?,
        hash: b64("pbkdf2", hash)?,
    })
}

fn parse_scrypt(parts: &[&str]) -> Result<Parsed, HashError> {
    // $scrypt$ln=<N or log2 N>,r=<r>,p=<p>$salt$hash; Kratos writes N itself under `ln`.
    let [_, _, ps, salt, hash] = parts else {
        return Err(HashError::Malformed(
            "scrypt",
            "expected $scrypt$ln=,r=,p=$salt$hash".into(),
        ));
    };
    let ps = params("scrypt", ps)?;
    let ln = param("scrypt", &ps, "ln")?;
    let log_n = if ln < 64 {
        ln as u8
    } else if ln.is_power_of_two() {
        ln.trailing_zeros() as u8
    } else {
        return Err(HashError::Malformed(
            "scrypt",
            "N must be a power of two".into(),
        ));
    };
    let small = |v: u64| {
        u32::try_from(v)
            .map_err(|_| HashError::Malformed("scrypt", "parameter out of range".into()))
    };
    Ok(Parsed::Scrypt {
        log_n,
        r: small(param("scrypt", &ps, "r")?)?,
        p: small(param("scrypt", &ps, "p")?)?,
        salt: b64("scrypt", salt)?,
        hash: b64("scrypt", hash)?,
    })
}

/// Checks that a hash is in a format gatehouse can verify (for imports).
pub fn validate_hash(hashed: &str) -> Result<(), HashError> {
    let parsed = parse(hashed)?;
    if let Parsed::Argon2 { hash, .. } | Parsed::Pbkdf2 { hash, .. } | Parsed::Scrypt { hash, .. } =
        &parsed
        && (hash.is_empty() || hash.len() > 1024)
    {
        return Err(HashError::Malformed(
            "password",
            "empty or oversized hash".into(),
        ));
    }
    Ok(())
}

/// Checks `password` against `hashed`. `Err` only for hashes that cannot be checked.
pub fn verify(password: &str, hashed: &str) -> Result<bool, HashError> {
    let eq = |a: &[u8], b: &[u8]| gatehouse_core::token::constant_time_eq(a, b);
    match parse(hashed)? {
        Parsed::Bcrypt(h) => {
            bcrypt::verify(password, &h).map_err(|e| HashError::Malformed("bcrypt", e.to_string()))
        }
        Parsed::Argon2 {
            alg,
            m,
            t,
            p,
            salt,
            hash,
        } => {
            let mut out = vec![0u8; hash.len()];
            argon2_into(alg, m, t, p, password, &salt, &mut out)?;
            Ok(eq(&out, &hash))
        }
        Parsed::Pbkdf2 {
            digest,
            rounds,
            salt,
            hash,
        } => {
            let mut out = vec![0u8; hash.len()];
            match digest {
                "sha512" => pbkdf2::pbkdf2_hmac::<sha2::Sha512>(
                    password.as_bytes(),
                    &salt,
                    rounds,
                    &mut out,
                ),
                "sha1" => return Err(HashError::Unsupported),
                _ => pbkdf2::pbkdf2_hmac::<sha2::Sha256>(
                    password.as_bytes(),
                    &salt,
                    rounds,
                    &mut out,
                ),
            }
            Ok(eq(&out, &hash))
        }
        Parsed::Scrypt {
            log_n,
            r,
            p,
            salt,
            hash,
        } => {
            let params = scrypt::Params::new(log_n, r, p)
                .map_err(|e| HashError::Malformed("scrypt", e.to_string()))?;
            let mut out = vec![0u8; hash.len()];
            scrypt::scrypt(password.as_bytes(), &salt, &params, &mut out)
                .map_err(|e| HashError::Malformed("scrypt", e.to_string()))?;
            Ok(eq(&out, &hash))
        }
    }
}

/// True when a stored hash is not what the configured hasher would produce now (imported
/// formats, another algorithm, weaker parameters); it is replaced after a good login.
pub fn needs_rehash(hasher: &Hasher, hashed: &str) -> bool {
    match (hasher, parse(hashed)) {
        (Hasher::Bcrypt { cost }, Ok(Parsed::Bcrypt(h))) => h
            .get(4..6)
            .and_then(|c| c.parse::<u32>().ok())
            .is_none_or(|c| c < *cost),
        (
            Hasher::Argon2 {
                memory_kib,
                iterations,
                parallelism,
                ..
            },
            Ok(Parsed::Argon2 { alg, m, t, p, .. }),
        ) => {
            alg != argon2::Algorithm::Argon2id
                || m < *memory_kib
                || t < *iterations
                || p != *parallelism
        }
        _ => true,
    }
}

/// Runs hashing on the blocking pool, at most `max_parallel` at once, so sign-ins under load
/// queue here instead of starving the async workers that serve everything else.
#[derive(Clone)]
pub struct HashPool {
    hasher: Hasher,
    permits: Arc<Semaphore>,
    /// A real hash of a random password, verified when the identifier is unknown.
    dummy: Arc<String>,
}

impl HashPool {
    pub fn new(hasher: Hasher, max_parallel: usize) -> Self {
        let dummy = hasher
            .hash(&gatehouse_core::token::random_alphanumeric(16))
            .unwrap_or_default();
        HashPool {
            hasher,
            permits: Arc::new(Semaphore::new(max_parallel.max(1))),
            dummy: Arc::new(dummy),
        }
    }

    pub fn hasher(&self) -> &Hasher {
        &self.hasher
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| HashError::Failed(e.to_string()))?;
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|e| HashError::Failed(e.to_string()))
    }

    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        let hasher = self.hasher.clone();
        self.run(move || hasher.hash(&password)).await?
    }

    pub async fn verify(&self, password: String, hashed: String) -> Result<bool, HashError> {
        self.run(move || verify(&password, &hashed)).await?
    }

    /// Costs what verifying a real password costs, so an unknown identifier is not
    /// revealed by a faster answer.
    pub async fn verify_dummy(&self, password: String) {
        let dummy = self.dummy.as_ref().clone();
        let _ = self.run(move || verify(&password, &dummy)).await;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn configured_hashers_round_trip() {
        for h in [
            Hasher::Bcrypt { cost: 4 },
            Hasher::Argon2 {
                memory_kib: 1024,
                iterations: 1,
                parallelism: 1,
                salt_length: 16,
                key_length: 32,
            },
        ] {
            let hashed = h.hash("s3cret pass").unwrap();
            assert!(verify("s3cret pass", &hashed).unwrap());
            assert!(!verify("s3cret pasS", &hashed).unwrap());
            assert!(!needs_rehash(&h, &hashed));
        }
        assert!(Hasher::Bcrypt { cost: 4 }.hash(&"x".repeat(73)).is_err());
        let weak = Hasher::Bcrypt { cost: 4 }.hash("pw").unwrap();
        assert!(needs_rehash(&Hasher::Bcrypt { cost: 5 }, &weak));
    }

    // Made with Python's hashlib, independently of this code:
    // hashlib.pbkdf2_hmac('sha256', b'password123', b'saltsaltsaltsalt', 1000, 32)
    // hashlib.scrypt(b'password123', salt=b'saltsaltsaltsalt', n=1024, r=8, p=1, dklen=32)
    #[test]
    fn foreign_hashes_verify() {
        let pbkdf2 = "$pbkdf2-sha256$i=1000,l=32$c2FsdHNhbHRzYWx0c2FsdA$nbDfBuNmVDELurgbLjt7G/cAtPjNHxOojWTPn6dZRAg";
        let scrypt = "$scrypt$ln=1024,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA==$9wariKsaP3V7+aggxBt98nz+hMQpbilN/SDbDmaxHX0=";
        for (h, kind) in [(pbkdf2, "pbkdf2"), (scrypt, "scrypt")] {
            assert!(verify("password123", h).unwrap(), "{kind}");
            assert!(!verify("password124", h).unwrap(), "{kind}");
            assert!(needs_rehash(&Hasher::Bcrypt { cost: 4 }, h));
        }
    }

    #[test]
    fn bad_hashes_are_refused() {
        for bad in [
            "",
            "plain",
            "$md5$abc",
            "$argon2id$v=19$m=x$a$b",
            "$2a$04$short",
            "$pbkdf2-sha256$i=0,l=32$YQ$YQ",
            "$scrypt$ln=1000,r=8,p=1$YQ$YQ",
        ] {
            assert!(validate_hash(bad).is_err(), "{bad}");
        }
    }
}
