//! SMTP delivery with lettre over rustls: Kratos's `courier.smtp.connection_uri` rules, the
//! sender, custom headers, and a multipart/alternative message (plaintext and HTML).
//!
//! - `smtp://host:port/` requires STARTTLS; `?disable_starttls=true` allows cleartext.
//! - `smtps://host:port/` is implicit TLS.
//! - `?skip_ssl_verify=true` accepts any certificate (both schemes);
//!   `?server_name=` is the name the certificate is checked against (and sent as SNI).
//! - User and password are percent-decoded. Without a port, `smtp` uses 25 and `smtps` 465.

use super::message::Message;
use crate::config::SmtpConfig;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use std::time::Duration;

/// A parsed `courier.smtp.connection_uri`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmtpUri {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub user: Option<String>,
    pub password: Option<String>,
    pub skip_ssl_verify: bool,
    /// The name the server certificate must carry; the host unless `server_name` is given.
    pub server_name: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Security {
    /// `smtps://`: TLS from the first byte.
    ImplicitTls,
    /// `smtp://`: STARTTLS, and no delivery if the server does not offer it.
    StartTls,
    /// `smtp://...?disable_starttls=true`.
    Cleartext,
}

/// Go's `strconv.ParseBool`, which Kratos uses for the query flags; anything else is refused
/// here rather than silently read as false.
fn flag(name: &str, value: &str) -> Result<bool, String> {
    match value {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err(format!("{name}={value:?} must be true or false")),
    }
}

impl SmtpUri {
    pub fn parse(raw: &str) -> Result<SmtpUri, String> {
        let u = url::Url::parse(raw).map_err(|e| format!("not a valid URI: {e}"))?;
        let implicit = match u.scheme() {
            "smtps" => true,
            "smtp" => false,
            other => {
                return Err(format!(
                    "the scheme must be smtp (STARTTLS) or smtps (implicit TLS), not {other:?}"
                ));
            }
        };
        let host = u
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or("the URI has no host")?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let decode = |s: &str| {
            percent_decode(s).ok_or("user or password is not valid percent-encoded UTF-8")
        };
        let user = match u.username() {
            "" => None,
            name => Some(decode(name)?),
        };
        let password = u.password().map(decode).transpose()?;
        let mut disable_starttls = false;
        let mut skip_ssl_verify = false;
        let mut server_name = None;
        for (k, v) in u.query_pairs() {
            match k.as_ref() {
                "disable_starttls" => disable_starttls = flag(&k, &v)?,
                "skip_ssl_verify" => skip_ssl_verify = flag(&k, &v)?,
                "server_name" if !v.is_empty() => server_name = Some(v.into_owned()),
                // Kratos ignores other parameters; so does gatehouse (legacy ones exist).
                _ => {}
            }
        }
        let security = match (implicit, disable_starttls) {
            (true, _) => Security::ImplicitTls,
            (false, false) => Security::StartTls,
            (false, true) => Security::Cleartext,
        };
        Ok(SmtpUri {
            port: u.port().unwrap_or(if implicit { 465 } else { 25 }),
            server_name: server_name.unwrap_or_else(|| host.clone()),
            host,
            security,
            user,
            password,
            skip_ssl_verify,
        })
    }
}

/// Percent-decoding of a URI component into UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Sends messages to one SMTP server, reusing connections (lettre's pool).
pub struct SmtpSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    headers: Vec<(HeaderName, String)>,
    /// `host:port`, for log lines and errors.
    pub server: String,
}

/// How long one SMTP command may take before the attempt counts as failed.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

impl SmtpSender {
    /// Builds the sender from config that `config::validate` has checked. Client
    /// certificates are read here, so a missing file stops start-up.
    pub fn new(uri: &str, cfg: &SmtpConfig) -> Result<SmtpSender, String> {
        let uri = SmtpUri::parse(uri)?;
        let tls_params = || -> Result<TlsParameters, String> {
            let mut b = TlsParameters::builder(uri.server_name.clone())
                .dangerous_accept_invalid_certs(uri.skip_ssl_verify);
            if let (Some(cert), Some(key)) = (&cfg.client_cert_path, &cfg.client_key_path)
                && !cert.is_empty()
                && !key.is_empty()
            {
                let cert_pem = std::fs::read(cert).map_err(|e| {
                    format!("courier.smtp.client_cert_path: cannot read {cert}: {e}")
                })?;
                let key_pem = std::fs::read(key)
                    .map_err(|e| format!("courier.smtp.client_key_path: cannot read {key}: {e}"))?;
                let identity =
                    lettre::transport::smtp::client::Identity::from_pem(&cert_pem, &key_pem)
                        .map_err(|e| format!("courier.smtp.client_cert_path: {e}"))?;
                b = b.identify_with(identity);
            }
            b.build_rustls()
                .map_err(|e| format!("courier.smtp: TLS setup failed: {e}"))
        };
        let tls = match uri.security {
            Security::ImplicitTls => Tls::Wrapper(tls_params()?),
            Security::StartTls => Tls::Required(tls_params()?),
            Security::Cleartext => Tls::None,
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&uri.host)
            .port(uri.port)
            .tls(tls)
            .timeout(Some(COMMAND_TIMEOUT))
            .hello_name(ClientId::Domain(cfg.local_name.clone()));
        if let Some(user) = &uri.user {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                uri.password.clone().unwrap_or_default(),
            ));
        }
        let address: lettre::Address = cfg
            .from_address
            .parse()
            .map_err(|e| format!("courier.smtp.from_address: {e}"))?;
        let from = Mailbox::new(cfg.from_name.clone().filter(|n| !n.is_empty()), address);
        let headers = cfg
            .headers
            .iter()
            .map(|(k, v)| {
                HeaderName::new_from_ascii(k.clone())
                    .map(|name| (name, v.clone()))
                    .map_err(|_| format!("courier.smtp.headers.{k}: not a valid header name"))
            })
            .collect::<Result<_, _>>()?;
        Ok(SmtpSender {
            transport: builder.build(),
            from,
            headers,
            server: format!("{}:{}", uri.host, uri.port),
        })
    }

    /// Delivers one message; the error says what the server or the connection did.
    pub async fn send(&self, m: &Message) -> Result<(), String> {
        let to: Mailbox = m.recipient.parse().map_err(|e| {
            format!(
                "the recipient {:?} is not a valid address: {e}",
                m.recipient
            )
        })?;
        let mut builder = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(m.subject.clone());
        for (name, value) in &self.headers {
            builder = builder.raw_header(HeaderValue::new(name.clone(), value.clone()));
        }
        let email = builder
            .multipart(MultiPart::alternative_plain_html(
                m.body_plaintext.clone(),
                m.body_html.clone(),
            ))
            .map_err(|e| format!("cannot build the message: {e}"))?;
        self.transport
            .send(email)
            .await
            .map(|_| ())
            .map_err(|e| format!("SMTP delivery to {} failed: {e}", self.server))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kratos_connection_uris() {
        let u = SmtpUri::parse("smtps://apikey:s%40cret%2F1@smtp.example.com:465/").unwrap();
        assert_eq!(u.security, Security::ImplicitTls);
        assert_eq!(u.user.as_deref(), Some("apikey"));
        assert_eq!(u.password.as_deref(), Some("s@cret/1"));
        assert_eq!(u.port, 465);
        assert_eq!(u.server_name, "smtp.example.com");

        let u = SmtpUri::parse("smtp://mailpit:1025/?disable_starttls=true").unwrap();
        assert_eq!(u.security, Security::Cleartext);
        assert_eq!(u.user, None);

        let u = SmtpUri::parse("smtp://a%20b@mail.test/?skip_ssl_verify=true&server_name=mx.test")
            .unwrap();
        assert_eq!(u.security, Security::StartTls);
        assert_eq!(u.user.as_deref(), Some("a b"));
        assert!(u.skip_ssl_verify);
        assert_eq!(u.server_name, "mx.test");
        assert_eq!(u.port, 25);

        assert!(SmtpUri::parse("http://mail.test/").is_err());
        assert!(SmtpUri::parse("smtp:///").is_err());
        assert!(SmtpUri::parse("smtp://mail.test/?disable_starttls=yes").is_err());
        assert!(SmtpUri::parse("smtp://%ff@mail.test/").is_err());
    }
}
