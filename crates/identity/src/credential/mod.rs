//! Credentials: password hashing (configured hasher, imported formats) and password policy.

pub mod hash;
pub mod policy;
