//! CSRF protection of browser flows, in Kratos's form: the cookie holds base64 of 32 random
//! bytes; forms carry a masked token (a one-time pad and the token XOR the pad) so the value
//! in the page changes every time while the secret stays the same.

use gatehouse_core::token::{b64_std, b64_std_decode, constant_time_eq, random_bytes};

/// A new raw token, as it goes into the cookie.
pub fn new_token() -> String {
    b64_std(&random_bytes::<32>())
}

/// A fresh masked form of `raw` for a form field.
pub fn mask(raw: &str) -> String {
    let Some(token) = b64_std_decode(raw).filter(|t| t.len() == 32) else {
        return String::new();
    };
    let pad = random_bytes::<32>();
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(&pad);
    out.extend(token.iter().zip(pad.iter()).map(|(t, p)| t ^ p));
    b64_std(&out)
}

/// The 32 secret bytes of a submitted token, masked (64 bytes) or not (32 bytes).
fn unmask(submitted: &str) -> Option<Vec<u8>> {
    let bytes = b64_std_decode(submitted.trim())?;
    match bytes.len() {
        32 => Some(bytes),
        64 => Some(
            bytes[..32]
                .iter()
                .zip(bytes[32..].iter())
                .map(|(p, x)| p ^ x)
                .collect(),
        ),
        _ => None,
    }
}

/// True when the submitted (masked) token carries the same secret as the cookie.
pub fn verify(cookie_raw: &str, submitted: &str) -> bool {
    match (b64_std_decode(cookie_raw), unmask(submitted)) {
        (Some(c), Some(s)) if c.len() == 32 => constant_time_eq(&c, &s),
        _ => false,
    }
}

/// True when a cookie value is a well-formed token worth reusing.
pub fn is_well_formed(raw: &str) -> bool {
    b64_std_decode(raw).is_some_and(|b| b.len() == 32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_tokens_verify_and_differ() {
        let raw = new_token();
        let a = mask(&raw);
        let b = mask(&raw);
        assert_ne!(a, b);
        assert!(verify(&raw, &a));
        assert!(verify(&raw, &b));
        assert!(verify(&raw, &raw));
        assert!(!verify(&new_token(), &a));
        assert!(!verify(&raw, "garbage"));
        assert!(!verify("", &a));
    }
}
