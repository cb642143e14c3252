-- One-time codes for verification and recovery. Only an HMAC of the code is stored; the
-- attempt counter lives on the row so concurrent guesses are counted atomically.
CREATE TABLE identity_codes (
    id TEXT PRIMARY KEY,
    flow_id TEXT NOT NULL,
    purpose TEXT NOT NULL,
    identity_id TEXT REFERENCES identity_identities (id) ON DELETE CASCADE,
    via TEXT NOT NULL,
    address TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX identity_codes_flow ON identity_codes (flow_id, purpose);
