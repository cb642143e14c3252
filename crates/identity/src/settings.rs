//! The resolved runtime settings of the identity service: what the code reads, with every
//! default and fallback of the config file already applied (see `config` for the file).

use std::time::Duration;

/// Cookie attributes shared by the session and CSRF cookies.
#[derive(Clone, Debug)]
pub struct CookieSettings {
    pub session_name: String,
    pub csrf_name: String,
    pub domain: Option<String>,
    pub path: String,
    /// `Strict`, `Lax` or `None`.
    pub same_site: String,
    pub secure: bool,
    /// Session cookies carry a Max-Age (survive the browser) unless false.
    pub persistent: bool,
}

/// Where a flow's UI lives and how long a flow lives.
#[derive(Clone, Debug)]
pub struct FlowSettings {
    pub ui_url: String,
    pub lifespan: Duration,
    /// Where browsers go after success when no `return_to` was given.
    pub after_return_url: Option<String>,
}

/// Verification and recovery: flows that mail a code (or a link) to an address.
#[derive(Clone, Debug)]
pub struct CodeFlowSettings {
    pub enabled: bool,
    pub flow: FlowSettings,
    /// `use: link` instead of the default `code`.
    pub use_link: bool,
    /// Mail the "invalid" template to addresses nobody has, instead of staying silent.
    pub notify_unknown_recipients: bool,
}

#[derive(Clone, Debug)]
pub struct PasswordSettings {
    pub enabled: bool,
    pub min_length: usize,
    pub similarity_check: bool,
}

#[derive(Clone, Debug)]
pub struct Settings {
    pub dev: bool,
    /// Always ends with `/`.
    pub public_base_url: String,
    /// Always ends with `/`.
    pub admin_base_url: String,
    pub default_return_url: String,
    pub allowed_return_urls: Vec<String>,
    pub login: FlowSettings,
    pub registration: FlowSettings,
    pub registration_enabled: bool,
    /// The `session` hook runs after a password registration.
    pub registration_issues_session: bool,
    pub settings_flow: FlowSettings,
    /// A settings change that touches credentials needs a sign-in this recent.
    pub privileged_session_max_age: Duration,
    /// `revoke_active_sessions` runs after a password change in settings.
    pub settings_password_revokes_sessions: bool,
    /// `revoke_active_sessions` runs after a profile change in settings.
    pub settings_profile_revokes_sessions: bool,
    /// `show_verification_ui` runs after a profile change: browsers go to verify a new
    /// address.
    pub settings_shows_verification_ui: bool,
    /// `revoke_active_sessions` runs after a password login.
    pub login_revokes_sessions: bool,
    pub recovery: CodeFlowSettings,
    pub verification: CodeFlowSettings,
    /// How long a mailed verification or recovery link works.
    pub link_lifespan: Duration,
    /// `show_verification_ui` runs after a password registration.
    pub registration_shows_verification_ui: bool,
    /// `revoke_active_sessions` runs after a recovery.
    pub recovery_revokes_sessions: bool,
    /// `require_verified_address` runs after a password login.
    pub login_requires_verified_address: bool,
    pub error_ui_url: String,
    pub logout_return_url: Option<String>,
    pub session_lifespan: Duration,
    pub earliest_possible_extend: Duration,
    pub cookies: CookieSettings,
    pub password: PasswordSettings,
    /// Keys for derived tokens (logout tokens); the first signs, all verify.
    pub secrets: Vec<String>,
    /// `serve.public.cors`.
    pub cors: crate::config::Cors,
}

impl Settings {
    /// `PUB/<path>` without a double slash.
    pub fn public_url(&self, path: &str) -> String {
        format!("{}{}", self.public_base_url, path.trim_start_matches('/'))
    }

    /// `ADM/<path>`.
    pub fn admin_url(&self, path: &str) -> String {
        format!("{}{}", self.admin_base_url, path.trim_start_matches('/'))
    }

    /// The name of the CSRF cookie, derived from the public base URL as Kratos does.
    pub fn csrf_cookie_name(public_base_url: &str) -> String {
        format!(
            "csrf_token_{}",
            gatehouse_core::token::sha256_hex(public_base_url)
        )
    }

    /// Settings for tests and `--dev`: everything on loopback at `public`/`admin`.
    pub fn for_dev(public: &str, admin: &str) -> Self {
        let public = with_slash(public);
        let ui = |p: &str| format!("{public}ui/{p}");
        let flow = |p: &str| FlowSettings {
            ui_url: ui(p),
            lifespan: Duration::from_secs(3600),
            after_return_url: None,
        };
        Settings {
            dev: true,
            admin_base_url: with_slash(admin),
            default_return_url: ui("welcome"),
            allowed_return_urls: Vec::new(),
            login: flow("login"),
            registration: flow("registration"),
            registration_enabled: true,
            registration_issues_session: true,
            settings_flow: flow("settings"),
            privileged_session_max_age: Duration::from_secs(3600),
            settings_password_revokes_sessions: false,
            settings_profile_revokes_sessions: false,
            settings_shows_verification_ui: false,
            login_revokes_sessions: false,
            recovery: CodeFlowSettings {
                enabled: false,
                flow: flow("recovery"),
                use_link: false,
                notify_unknown_recipients: false,
            },
            verification: CodeFlowSettings {
                enabled: false,
                flow: flow("verification"),
                use_link: false,
                notify_unknown_recipients: false,
            },
            link_lifespan: Duration::from_secs(3600),
            registration_shows_verification_ui: false,
            recovery_revokes_sessions: false,
            login_requires_verified_address: false,
            error_ui_url: ui("error"),
            logout_return_url: Some(ui("login")),
            session_lifespan: Duration::from_secs(24 * 3600),
            earliest_possible_extend: Duration::from_secs(24 * 3600),
            cookies: CookieSettings {
                session_name: "ory_kratos_session".into(),
                csrf_name: Self::csrf_cookie_name(&public),
                domain: None,
                path: "/".into(),
                same_site: "Lax".into(),
                secure: false,
                persistent: true,
            },
            password: PasswordSettings {
                enabled: true,
                min_length: 8,
                similarity_check: true,
            },
            secrets: vec![gatehouse_core::token::random_alphanumeric(32)],
            public_base_url: public,
            cors: Default::default(),
        }
    }

    /// Whether `url` may be a `return_to`: the default return URL's origin, or an entry of
    /// `allowed_return_urls` (absolute prefix, path, or `https://*.domain` wildcard).
    pub fn return_to_allowed(&self, url: &str) -> bool {
        let Ok(target) = url::Url::parse(url) else {
            return false;
        };
        if !matches!(target.scheme(), "http" | "https") {
            return false;
        }
        let same_origin = |allowed: &str| {
            url::Url::parse(allowed)
                .map(|a| a.origin() == target.origin() && target.path().starts_with(a.path()))
                .unwrap_or(false)
        };
        if same_origin(&self.public_base_url) && target.path().starts_with("/ui/") {
            return true;
        }
        if same_origin(&self.default_return_url) {
            return true;
        }
        self.allowed_return_urls.iter().any(|allowed| {
            if allowed.starts_with('/') {
                return same_origin(&self.public_base_url)
                    && target.path().starts_with(allowed.as_str());
            }
            if let Some(rest) = allowed.split_once("://*.") {
                let (scheme, domain) = rest;
                let domain = domain.trim_end_matches('/');
                return target.scheme() == scheme
                    && target
                        .host_str()
                        .is_some_and(|h| h.ends_with(&format!(".{domain}")));
            }
            same_origin(allowed)
        })
    }
}

fn with_slash(u: &str) -> String {
    if u.ends_with('/') {
        u.to_string()
    } else {
        format!("{u}/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_to_rules() {
        let mut s = Settings::for_dev("http://127.0.0.1:4433", "http://127.0.0.1:4434");
        s.allowed_return_urls = vec![
            "https://app.example.org/dashboard".into(),
            "https://*.example.com".into(),
        ];
        assert!(s.return_to_allowed("https://app.example.org/dashboard/x"));
        assert!(!s.return_to_allowed("https://app.example.org/other"));
        assert!(s.return_to_allowed("https://a.example.com/x"));
        assert!(!s.return_to_allowed("https://evil.com/?https://a.example.com"));
        assert!(!s.return_to_allowed("javascript:alert(1)"));
        assert!(s.return_to_allowed("http://127.0.0.1:4433/ui/welcome"));
        assert!(!s.return_to_allowed("http://127.0.0.1:4433/admin"));
    }
}
