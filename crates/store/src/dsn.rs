//! DSN parsing: Ory's forms (`memory`, `sqlite://...?_fk=true`, `postgres://...`,
//! `cockroach://...`) turned into driver options.

use crate::StoreError;
use sqlx::postgres::PgConnectOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use std::str::FromStr;
use std::time::Duration;

pub(crate) enum Target {
    Sqlite {
        options: SqliteConnectOptions,
        in_memory: bool,
    },
    Postgres(PgConnectOptions),
}

pub(crate) fn parse(dsn: &str) -> Result<Target, StoreError> {
    let dsn = dsn.trim();
    if dsn == "memory"
        || dsn.starts_with("sqlite::memory:")
        || dsn.contains("mode=memory")
        || dsn.contains(":memory:")
    {
        let options = SqliteConnectOptions::from_str("sqlite::memory:")
            .map_err(|e| StoreError::Dsn(e.to_string()))?
            .foreign_keys(true);
        return Ok(Target::Sqlite {
            options,
            in_memory: true,
        });
    }
    if let Some(rest) = dsn
        .strip_prefix("sqlite://")
        .or_else(|| dsn.strip_prefix("sqlite:"))
    {
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        if path.is_empty() {
            return Err(StoreError::Dsn("sqlite DSN has no file path".into()));
        }
        // Go's sqlite drivers take `_fk`, `_journal_mode` and the like; sqlx does not know
        // them, and gatehouse sets the equivalent options itself.
        let create =
            query.split('&').any(|kv| kv == "mode=rwc") || !std::path::Path::new(path).exists();
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(create)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        return Ok(Target::Sqlite {
            options,
            in_memory: false,
        });
    }
    let pg = dsn
        .strip_prefix("cockroach://")
        .map(|r| format!("postgres://{r}"))
        .unwrap_or_else(|| dsn.to_string());
    if pg.starts_with("postgres://") || pg.starts_with("postgresql://") {
        let options =
            PgConnectOptions::from_str(&pg).map_err(|e| StoreError::Dsn(e.to_string()))?;
        return Ok(Target::Postgres(options));
    }
    Err(StoreError::Dsn(format!(
        "unsupported DSN {:?}: use memory, sqlite://PATH?mode=rwc or postgres://...",
        redact(dsn)
    )))
}

/// Hides a password in a DSN before it is shown.
pub fn redact(dsn: &str) -> String {
    match (dsn.find("://"), dsn.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &dsn[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &dsn[..s + 3], user, &dsn[at..]),
                None => dsn.to_string(),
            }
        }
        _ => dsn.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ory_forms() {
        assert!(matches!(
            parse("memory").unwrap(),
            Target::Sqlite {
                in_memory: true,
                ..
            }
        ));
        assert!(matches!(
            parse("sqlite:///tmp/x.db?_fk=true").unwrap(),
            Target::Sqlite {
                in_memory: false,
                ..
            }
        ));
        assert!(matches!(
            parse("sqlite://x.db?mode=rwc").unwrap(),
            Target::Sqlite {
                in_memory: false,
                ..
            }
        ));
        assert!(matches!(
            parse("postgres://u:p@localhost:5432/db").unwrap(),
            Target::Postgres(_)
        ));
        assert!(matches!(
            parse("cockroach://u@localhost:26257/db").unwrap(),
            Target::Postgres(_)
        ));
        assert!(parse("mysql://x").is_err());
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
    }
}
