//! Database URLs in SQLAlchemy form, as `[placement_database] connection`
//! holds them, turned into what each Diesel backend expects.

use std::fmt;

/// Which database engine a URL names.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Backend {
    /// SQLite (`sqlite://`).
    Sqlite,
    /// PostgreSQL (`postgresql://`, `postgres://`).
    Postgres,
    /// MySQL or MariaDB (`mysql://`, `mariadb://`).
    Mysql,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgresql",
            Backend::Mysql => "mysql",
        })
    }
}

/// A parsed connection URL.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    /// The engine the URL names.
    pub backend: Backend,
    /// What Diesel's `establish` takes: a file path for SQLite, a
    /// `postgres://` or `mysql://` URL otherwise.
    pub diesel_url: String,
}

impl fmt::Debug for DatabaseUrl {
    // Never print passwords.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseUrl")
            .field("backend", &self.backend)
            .field("diesel_url", &redact(&self.diesel_url))
            .finish()
    }
}

/// Replace the password in `scheme://user:password@host` with `***`. The
/// userinfo ends at the last `@` before the path, so a password holding
/// `@` (or `:` or `/`) is hidden whole; text with an `@` that does not
/// parse as such a URL is not shown at all.
pub fn redact(text: &str) -> String {
    match url::Url::parse(text) {
        Ok(mut parsed) if parsed.has_host() => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            parsed.to_string()
        }
        _ if !text.contains('@') => text.to_string(),
        _ => "(a URL that cannot be shown)".to_string(),
    }
}

impl DatabaseUrl {
    /// Parse a SQLAlchemy URL (`dialect[+driver]://...`); the driver is
    /// dropped, and so is a MySQL `charset` parameter. The error says why,
    /// without the password.
    pub fn parse(url: &str) -> Result<DatabaseUrl, String> {
        let url = url.trim();
        let (scheme, rest) =
            url.split_once("://").ok_or_else(|| format!("database connection {:?} is not a URL", redact(url)))?;
        let dialect = scheme.split('+').next().unwrap_or(scheme);
        match dialect {
            "sqlite" => Ok(DatabaseUrl { backend: Backend::Sqlite, diesel_url: sqlite_path(rest) }),
            "postgresql" | "postgres" => {
                Ok(DatabaseUrl { backend: Backend::Postgres, diesel_url: format!("postgres://{rest}") })
            }
            "mysql" | "mariadb" => Ok(DatabaseUrl {
                backend: Backend::Mysql,
                diesel_url: format!("mysql://{}", strip_query_params(rest, &["charset"])),
            }),
            other => Err(format!("unsupported database dialect {other:?} in {:?}", redact(url))),
        }
    }

    /// An in-memory SQLite database exists once per connection.
    pub fn is_sqlite_memory(&self) -> bool {
        self.backend == Backend::Sqlite && self.diesel_url == ":memory:"
    }
}

/// `sqlite:///rel.db` is relative, `sqlite:////abs.db` absolute and
/// `sqlite://` in memory (the part after `://` starts with the host, which
/// SQLite URLs leave empty).
fn sqlite_path(rest: &str) -> String {
    let path = rest.split('?').next().unwrap_or("");
    match path.strip_prefix('/') {
        Some(p) if !p.is_empty() => p.to_string(),
        _ => ":memory:".to_string(),
    }
}

fn strip_query_params(rest: &str, drop: &[&str]) -> String {
    let Some((base, query)) = rest.split_once('?') else {
        return rest.to_string();
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|kv| {
            let key = kv.split('=').next().unwrap_or("");
            !kv.is_empty() && !drop.contains(&key)
        })
        .collect();
    if kept.is_empty() { base.to_string() } else { format!("{base}?{}", kept.join("&")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(u: &str) -> DatabaseUrl {
        DatabaseUrl::parse(u).unwrap()
    }

    #[test]
    fn sqlite_paths_follow_sqlalchemy() {
        assert_eq!(parse("sqlite:///rel/p.db").diesel_url, "rel/p.db");
        assert_eq!(parse("sqlite:////abs/p.db").diesel_url, "/abs/p.db");
        assert!(parse("sqlite://").is_sqlite_memory());
        assert!(parse("sqlite:///").is_sqlite_memory());
    }

    #[test]
    fn drivers_are_dropped_from_the_scheme() {
        let pg = parse("postgresql+psycopg2://u:p@h:5432/db");
        assert_eq!((pg.backend, pg.diesel_url.as_str()), (Backend::Postgres, "postgres://u:p@h:5432/db"));
        let my = parse("mysql+pymysql://root:pw@127.0.0.1/placement?charset=utf8");
        assert_eq!((my.backend, my.diesel_url.as_str()), (Backend::Mysql, "mysql://root:pw@127.0.0.1/placement"));
        let my = parse("mysql://root@h/p?charset=utf8&unix_socket=/s");
        assert_eq!(my.diesel_url, "mysql://root@h/p?unix_socket=/s");
    }

    #[test]
    fn unknown_dialects_and_non_urls_are_refused_without_leaking_passwords() {
        let err = DatabaseUrl::parse("oracle://u:secret@h/db").unwrap_err();
        assert!(err.contains("oracle") && !err.contains("secret"), "{err}");
        assert!(DatabaseUrl::parse("just-a-path").is_err());
    }

    #[test]
    fn passwords_with_at_signs_are_hidden_whole() {
        for url in [
            "postgresql://u:p@ss@h:5432/db",
            "mysql+pymysql://root:s3@cr:et@127.0.0.1/placement?charset=utf8",
            "postgresql://u:pa/ss@h/db",
        ] {
            let shown = redact(url);
            for secret in ["p@ss", "ss@h", "s3@cr", "cr:et", "et@", "pa/ss"] {
                assert!(!shown.contains(secret), "{url} shown as {shown}");
            }
        }
        assert_eq!(redact("postgresql://u:p@ss@h:5432/db"), "postgresql://u:***@h:5432/db");
        assert_eq!(redact("sqlite:////var/lib/placement.db"), "sqlite:////var/lib/placement.db");
    }

    #[test]
    fn debug_output_redacts_passwords() {
        let text = format!("{:?}", parse("postgresql://u:secret@h/db"));
        assert!(!text.contains("secret") && text.contains("u:***@h"), "{text}");
    }
}
