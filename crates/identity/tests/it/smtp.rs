//! A small SMTP server on loopback for the courier tests: EHLO/HELO, STARTTLS or implicit
//! TLS with a self-signed certificate, AUTH PLAIN/LOGIN, MAIL/RCPT/DATA/QUIT. It keeps what
//! it receives, and can be switched to misbehave: refuse connections, drop the connection
//! in the middle of DATA, or answer 4xx.

use base64::Engine;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;

/// One message as the server received it.
#[derive(Clone, Debug)]
pub struct Received {
    pub helo: String,
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    /// The message as sent after DATA (headers and MIME body), dot-unstuffed.
    pub data: String,
    /// Whether the session was encrypted when the message arrived.
    pub tls: bool,
    /// The user and password of AUTH, if the client authenticated.
    pub auth: Option<(String, String)>,
}

impl Received {
    /// A header's value (first occurrence, unfolded).
    pub fn header(&self, name: &str) -> Option<String> {
        header_in(head_and_body(&self.data).0, name)
    }

    /// Whether `address` is among the recipients (`RCPT TO`).
    pub fn is_to(&self, address: &str) -> bool {
        self.rcpt_to
            .iter()
            .any(|r| r.trim_matches(['<', '>']).eq_ignore_ascii_case(address))
    }

    /// The first `text/plain` part, decoded from its transfer encoding (7bit, 8bit,
    /// quoted-printable or base64), with CRLF line ends.
    pub fn plain_text(&self) -> Option<String> {
        let (head, body) = head_and_body(&self.data);
        plain_text_of(head, body)
    }
}

/// An entity's header block and body.
fn head_and_body(entity: &str) -> (&str, &str) {
    if let Some(body) = entity.strip_prefix("\r\n") {
        return ("", body);
    }
    entity.split_once("\r\n\r\n").unwrap_or((entity, ""))
}

/// A header's value in a header block (first occurrence, unfolded).
fn header_in(head: &str, name: &str) -> Option<String> {
    let mut found: Option<String> = None;
    for line in head.split("\r\n") {
        if let Some(v) = &mut found {
            if line.starts_with(' ') || line.starts_with('\t') {
                v.push_str(line.trim_start());
                continue;
            }
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case(name)
        {
            found = Some(v.trim().to_string());
        }
    }
    found
}

/// The `text/plain` body of a MIME entity, looking into multipart entities.
fn plain_text_of(head: &str, body: &str) -> Option<String> {
    let content_type = header_in(head, "Content-Type").unwrap_or_else(|| "text/plain".into());
    let lower = content_type.to_ascii_lowercase();
    if lower.starts_with("multipart/") {
        let at = lower.find("boundary=")? + "boundary=".len();
        let boundary = content_type[at..]
            .split(';')
            .next()?
            .trim()
            .trim_matches('"');
        let delimiter = format!("--{boundary}");
        let mut parts: Vec<Vec<&str>> = Vec::new();
        for line in body.split("\r\n") {
            if line == delimiter {
                parts.push(Vec::new());
            } else if line == format!("{delimiter}--") {
                break;
            } else if let Some(part) = parts.last_mut() {
                part.push(line);
            }
        }
        return parts.iter().find_map(|lines| {
            let part = lines.join("\r\n");
            let (h, b) = head_and_body(&part);
            plain_text_of(h, b)
        });
    }
    if !lower.starts_with("text/plain") {
        return None;
    }
    let encoding = header_in(head, "Content-Transfer-Encoding")
        .unwrap_or_default()
        .to_ascii_lowercase();
    match encoding.as_str() {
        "quoted-printable" => Some(quoted_printable(body)),
        "base64" => {
            let compact: String = body.split_whitespace().collect();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(compact)
                .ok()?;
            String::from_utf8(bytes).ok()
        }
        _ => Some(body.to_string()),
    }
}

/// Decodes quoted-printable text: `=XX` escapes and `=` soft line breaks.
fn quoted_printable(text: &str) -> String {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' {
            if bytes[i + 1..].starts_with(b"\r\n") {
                i += 3;
                continue;
            }
            let hex = text
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(b) = hex {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// How the server treats the next connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behaviour {
    Accept,
    /// Close every connection right after accepting it.
    Refuse,
    /// Answer MAIL FROM with `451 4.3.0`.
    TemporaryFailure,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Security {
    Plain,
    StartTls,
    Implicit,
}

pub struct SmtpSink {
    pub port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    behaviour: Arc<Mutex<Behaviour>>,
    /// Connections to drop after the first line of DATA.
    drops: Arc<AtomicUsize>,
    /// DATA transfers begun (whether or not they finished).
    pub data_started: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

fn tls_acceptor() -> TlsAcceptor {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert.cert.der().clone()], key)
    .unwrap();
    TlsAcceptor::from(Arc::new(config))
}

impl SmtpSink {
    /// Cleartext SMTP (use `?disable_starttls=true`).
    pub async fn plain() -> SmtpSink {
        Self::start(Security::Plain).await
    }

    /// Offers STARTTLS with a self-signed certificate for `localhost`.
    pub async fn starttls() -> SmtpSink {
        Self::start(Security::StartTls).await
    }

    /// TLS from the first byte (`smtps://`), self-signed certificate for `localhost`.
    pub async fn implicit_tls() -> SmtpSink {
        Self::start(Security::Implicit).await
    }

    async fn start(security: Security) -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let behaviour = Arc::new(Mutex::new(Behaviour::Accept));
        let drops = Arc::new(AtomicUsize::new(0));
        let data_started = Arc::new(AtomicUsize::new(0));
        let acceptor = (security != Security::Plain).then(tls_acceptor);
        let (r, b, d, s) = (
            received.clone(),
            behaviour.clone(),
            drops.clone(),
            data_started.clone(),
        );
        let task = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                if *b.lock().unwrap() == Behaviour::Refuse {
                    drop(tcp);
                    continue;
                }
                let session = Session {
                    received: r.clone(),
                    behaviour: b.clone(),
                    drops: d.clone(),
                    data_started: s.clone(),
                    acceptor: acceptor.clone(),
                    security,
                };
                tokio::spawn(async move {
                    let _ = session.run(tcp).await;
                });
            }
        });
        SmtpSink {
            port,
            received,
            behaviour,
            drops,
            data_started,
            task,
        }
    }

    pub fn set(&self, b: Behaviour) {
        *self.behaviour.lock().unwrap() = b;
    }

    /// Drops the next `n` connections in the middle of DATA.
    pub fn drop_next_data(&self, n: usize) {
        self.drops.store(n, Ordering::SeqCst);
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits until `n` messages to `address` arrived, or panics after `within`; the
    /// messages to `address`, oldest first.
    pub async fn wait_for_to(&self, address: &str, n: usize, within: Duration) -> Vec<Received> {
        let deadline = Instant::now() + within;
        loop {
            let got: Vec<Received> = self
                .received()
                .into_iter()
                .filter(|m| m.is_to(address))
                .collect();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "expected {n} message(s) to {address} within {within:?}, got {}",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until `n` messages arrived, or panics after `within`.
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<Received> {
        let deadline = Instant::now() + within;
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "expected {n} message(s) within {within:?}, got {}",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

struct Session {
    received: Arc<Mutex<Vec<Received>>>,
    behaviour: Arc<Mutex<Behaviour>>,
    drops: Arc<AtomicUsize>,
    data_started: Arc<AtomicUsize>,
    acceptor: Option<TlsAcceptor>,
    security: Security,
}

async fn reply(io: &mut BufReader<Box<dyn Io>>, line: &str) -> std::io::Result<()> {
    io.get_mut().write_all(line.as_bytes()).await?;
    io.get_mut().write_all(b"\r\n").await?;
    io.get_mut().flush().await
}

async fn read_line(io: &mut BufReader<Box<dyn Io>>) -> std::io::Result<Option<String>> {
    let mut line = String::new();
    if io.read_line(&mut line).await? == 0 {
        return Ok(None);
    }
    Ok(Some(line.trim_end_matches(['\r', '\n']).to_string()))
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_default()
}

impl Session {
    async fn run(self, tcp: tokio::net::TcpStream) -> std::io::Result<()> {
        let mut tls = false;
        let stream: Box<dyn Io> = match (self.security, &self.acceptor) {
            (Security::Implicit, Some(a)) => {
                tls = true;
                Box::new(a.accept(tcp).await?)
            }
            _ => Box::new(tcp),
        };
        let mut io = BufReader::new(stream);
        reply(&mut io, "220 localhost ESMTP gatehouse-test").await?;
        let mut helo = String::new();
        let mut auth = None;
        let mut mail_from = String::new();
        let mut rcpt_to = Vec::new();
        while let Some(line) = read_line(&mut io).await? {
            let upper = line.to_ascii_uppercase();
            if upper.starts_with("EHLO ") {
                helo = line[5..].to_string();
                let mut caps = vec!["250-localhost"];
                if self.security == Security::StartTls && !tls {
                    caps.push("250-STARTTLS");
                }
                caps.push("250-AUTH PLAIN LOGIN");
                caps.push("250 8BITMIME");
                for c in caps {
                    reply(&mut io, c).await?;
                }
            } else if upper.starts_with("HELO ") {
                helo = line[5..].to_string();
                reply(&mut io, "250 localhost").await?;
            } else if upper == "STARTTLS" {
                let Some(acceptor) = self.acceptor.clone().filter(|_| !tls) else {
                    reply(&mut io, "502 5.5.1 not offered").await?;
                    continue;
                };
                reply(&mut io, "220 2.0.0 ready to start TLS").await?;
                let inner = io.into_inner();
                io = BufReader::new(Box::new(acceptor.accept(inner).await?));
                tls = true;
                helo.clear();
            } else if upper.starts_with("AUTH PLAIN") {
                let initial = line.get(11..).unwrap_or("").trim().to_string();
                let creds = if initial.is_empty() {
                    reply(&mut io, "334 ").await?;
                    read_line(&mut io).await?.unwrap_or_default()
                } else {
                    initial
                };
                let decoded = b64(&creds);
                let mut parts = decoded.split('\0').skip(1);
                auth = Some((
                    parts.next().unwrap_or("").to_string(),
                    parts.next().unwrap_or("").to_string(),
                ));
                reply(&mut io, "235 2.7.0 authenticated").await?;
            } else if upper.starts_with("AUTH LOGIN") {
                reply(&mut io, "334 VXNlcm5hbWU6").await?;
                let user = b64(&read_line(&mut io).await?.unwrap_or_default());
                reply(&mut io, "334 UGFzc3dvcmQ6").await?;
                let pass = b64(&read_line(&mut io).await?.unwrap_or_default());
                auth = Some((user, pass));
                reply(&mut io, "235 2.7.0 authenticated").await?;
            } else if upper.starts_with("MAIL FROM:") {
                if *self.behaviour.lock().unwrap() == Behaviour::TemporaryFailure {
                    reply(&mut io, "451 4.3.0 try again later").await?;
                    continue;
                }
                mail_from = line[10..].trim().to_string();
                rcpt_to.clear();
                reply(&mut io, "250 2.1.0 ok").await?;
            } else if upper.starts_with("RCPT TO:") {
                rcpt_to.push(line[8..].trim().to_string());
                reply(&mut io, "250 2.1.5 ok").await?;
            } else if upper == "DATA" {
                reply(&mut io, "354 end with <CRLF>.<CRLF>").await?;
                self.data_started.fetch_add(1, Ordering::SeqCst);
                let mut data = String::new();
                let mut first = true;
                loop {
                    let Some(l) = read_line(&mut io).await? else {
                        return Ok(());
                    };
                    if first {
                        first = false;
                        let drop_it = self
                            .drops
                            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                            .is_ok();
                        if drop_it {
                            // The connection dies mid-transfer: nothing is delivered.
                            return Ok(());
                        }
                    }
                    if l == "." {
                        break;
                    }
                    data.push_str(l.strip_prefix('.').unwrap_or(&l));
                    data.push_str("\r\n");
                }
                self.received.lock().unwrap().push(Received {
                    helo: helo.clone(),
                    mail_from: mail_from.clone(),
                    rcpt_to: rcpt_to.clone(),
                    data,
                    tls,
                    auth: auth.clone(),
                });
                reply(&mut io, "250 2.0.0 queued").await?;
            } else if upper == "RSET" {
                mail_from.clear();
                rcpt_to.clear();
                reply(&mut io, "250 2.0.0 ok").await?;
            } else if upper == "NOOP" {
                reply(&mut io, "250 2.0.0 ok").await?;
            } else if upper == "QUIT" {
                reply(&mut io, "221 2.0.0 bye").await?;
                return Ok(());
            } else {
                reply(&mut io, "502 5.5.2 command not recognized").await?;
            }
        }
        Ok(())
    }
}

/// A port nothing listens on: connections are refused.
pub async fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap().port()
}
