//! `gatehouse identities list|get|import|delete`: the admin API from the command line, as
//! `kratos identities` offers it.

use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::Value;
use std::io::Read;
use std::path::PathBuf;

#[derive(Args, Debug, Clone)]
pub struct Remote {
    /// The admin API, e.g. http://127.0.0.1:4434 (also $KRATOS_ADMIN_URL).
    #[arg(
        short = 'e',
        long,
        env = "KRATOS_ADMIN_URL",
        default_value = "http://127.0.0.1:4434"
    )]
    endpoint: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Table,
    Json,
    JsonPretty,
}

#[derive(Subcommand, Debug)]
pub enum IdentitiesCommand {
    /// List identities.
    List {
        #[command(flatten)]
        remote: Remote,
        /// How many per page.
        #[arg(long, default_value_t = 250)]
        page_size: u32,
        /// Continue from a page token printed by a previous call.
        #[arg(long)]
        page_token: Option<String>,
    },
    /// Show identities by id.
    Get {
        #[command(flatten)]
        remote: Remote,
        ids: Vec<String>,
        /// Include the config of these credential types (e.g. password).
        #[arg(long = "include-credentials")]
        include_credentials: Vec<String>,
    },
    /// Create identities from JSON files (createIdentityBody, or an array of them); `-` reads stdin.
    Import {
        #[command(flatten)]
        remote: Remote,
        files: Vec<PathBuf>,
    },
    /// Delete identities by id.
    Delete {
        #[command(flatten)]
        remote: Remote,
        ids: Vec<String>,
    },
}

fn client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()?)
}

fn url(remote: &Remote, path: &str) -> String {
    format!("{}/admin/{}", remote.endpoint.trim_end_matches('/'), path)
}

/// Turns a non-2xx answer into an error carrying the server's reason.
async fn check(res: reqwest::Response) -> anyhow::Result<Value> {
    let status = res.status();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        let msg = body
            .pointer("/error/reason")
            .or_else(|| body.pointer("/error/message"))
            .and_then(Value::as_str)
            .unwrap_or("");
        bail!("the server answered {status}: {msg}");
    }
    Ok(body)
}

pub async fn run(cmd: IdentitiesCommand) -> anyhow::Result<()> {
    let http = client()?;
    match cmd {
        IdentitiesCommand::List {
            remote,
            page_size,
            page_token,
        } => {
            let mut req = http
                .get(url(&remote, "identities"))
                .query(&[("page_size", page_size.to_string())]);
            if let Some(t) = page_token {
                req = req.query(&[("page_token", t)]);
            }
            let res = req
                .send()
                .await
                .with_context(|| format!("cannot reach {}", remote.endpoint))?;
            let next = res
                .headers()
                .get("link")
                .and_then(|l| l.to_str().ok())
                .and_then(next_token);
            let body = check(res).await?;
            print(remote.format, &body);
            if let Some(t) = next {
                eprintln!("NEXT PAGE TOKEN\t{t}");
            }
        }
        IdentitiesCommand::Get {
            remote,
            ids,
            include_credentials,
        } => {
            let mut out = Vec::new();
            for id in ids {
                let q: Vec<(&str, &str)> = include_credentials
                    .iter()
                    .map(|c| ("include_credential", c.as_str()))
                    .collect();
                let res = http
                    .get(url(&remote, &format!("identities/{id}")))
                    .query(&q)
                    .send()
                    .await?;
                out.push(check(res).await.with_context(|| format!("identity {id}"))?);
            }
            print(remote.format, &Value::Array(out));
        }
        IdentitiesCommand::Import { remote, files } => {
            let mut out = Vec::new();
            for f in files {
                let text = read_input(&f)?;
                let doc: Value = serde_json::from_str(&text)
                    .with_context(|| format!("{} is not valid JSON", f.display()))?;
                let items = match doc {
                    Value::Array(a) => a,
                    other => vec![other],
                };
                for item in items {
                    let res = http
                        .post(url(&remote, "identities"))
                        .json(&item)
                        .send()
                        .await?;
                    out.push(
                        check(res)
                            .await
                            .with_context(|| format!("importing from {}", f.display()))?,
                    );
                }
            }
            print(remote.format, &Value::Array(out));
        }
        IdentitiesCommand::Delete { remote, ids } => {
            for id in ids {
                let res = http
                    .delete(url(&remote, &format!("identities/{id}")))
                    .send()
                    .await?;
                if !res.status().is_success() {
                    check(res).await.with_context(|| format!("identity {id}"))?;
                }
                println!("{id}");
            }
        }
    }
    Ok(())
}

fn read_input(f: &PathBuf) -> anyhow::Result<String> {
    if f.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s)?;
        return Ok(s);
    }
    std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))
}

fn next_token(link: &str) -> Option<String> {
    let next = link.split(',').find(|p| p.contains("rel=\"next\""))?;
    let url = next.split('<').nth(1)?.split('>').next()?;
    url.split(['?', '&'])
        .find_map(|kv| kv.strip_prefix("page_token="))
        .map(str::to_string)
}

fn print(format: Format, v: &Value) {
    match format {
        Format::Json => println!("{v}"),
        Format::JsonPretty => println!("{}", serde_json::to_string_pretty(v).unwrap_or_default()),
        Format::Table => print_table(v),
    }
}

fn print_table(v: &Value) {
    let items: Vec<&Value> = match v {
        Value::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    println!("ID\tSTATE\tSCHEMA\tIDENTIFIERS");
    for i in items {
        let identifiers: Vec<&str> = i
            .get("credentials")
            .and_then(Value::as_object)
            .map(|c| {
                c.values()
                    .filter_map(|c| c.get("identifiers"))
                    .filter_map(Value::as_array)
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect()
            })
            .unwrap_or_default();
        println!(
            "{}\t{}\t{}\t{}",
            i.get("id").and_then(Value::as_str).unwrap_or(""),
            i.get("state").and_then(Value::as_str).unwrap_or(""),
            i.get("schema_id").and_then(Value::as_str).unwrap_or(""),
            identifiers.join(", ")
        );
    }
}
