//! `gatehouse permissions ...`: the permissions service with Keto's config file, its
//! migrations, and Keto's client commands. Client commands talk to a running server
//! (`--read-remote`, `--write-remote`) or, given `-c keto.yml`, to the database directly
//! through the same API handlers.

use crate::serve::{Listener, shutdown_signal};
use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use gatehouse_core::config::{apply_env, read_documents};
use gatehouse_permissions::config::Config;
use serde_json::{Value, json};
use std::io::Read;
use std::path::PathBuf;

mod client;
mod output;

use client::Client;
pub use output::Format;
use output::{print_page, print_parsed, print_tuples, tree_text};

#[derive(Subcommand, Debug)]
pub enum PermissionsCommand {
    /// Serve the read (4466), write (4467) and OPL (4469) APIs with a Keto config file.
    Serve {
        #[arg(short = 'c', long = "config")]
        config: Vec<PathBuf>,
        /// Accepted for compatibility with Ory's `serve` (gatehouse never sends telemetry).
        #[arg(long = "sqa-opt-out", hide = true)]
        sqa_opt_out: bool,
    },
    /// Database migrations.
    Migrate {
        #[command(subcommand)]
        command: MigrateCommand,
    },
    /// Check whether SUBJECT has RELATION on NAMESPACE:OBJECT (or NAMESPACE OBJECT).
    Check {
        subject: String,
        relation: String,
        namespace_object: String,
        object: Option<String>,
        #[arg(short = 'd', long = "max-depth")]
        max_depth: Option<u32>,
        /// `default` prints Allowed or Denied; `json` prints `{"allowed":...}`.
        #[arg(long, value_enum, default_value_t = Format::Default)]
        format: Format,
        #[command(flatten)]
        target: Target,
    },
    /// Expand the subject set RELATION on NAMESPACE:OBJECT (or NAMESPACE OBJECT).
    Expand {
        relation: String,
        namespace_object: String,
        object: Option<String>,
        #[arg(short = 'd', long = "max-depth")]
        max_depth: Option<u32>,
        /// `default` draws the tree as Keto's CLI does; `json`/`json-pretty` print it.
        #[arg(long, value_enum, default_value_t = Format::Default)]
        format: Format,
        #[command(flatten)]
        target: Target,
    },
    /// Which objects of NAMESPACE SUBJECT has RELATION on (gatehouse extension).
    #[command(name = "list-objects")]
    ListObjects {
        subject: String,
        relation: String,
        namespace: String,
        #[arg(long = "page-size")]
        page_size: Option<usize>,
        #[arg(long = "page-token")]
        page_token: Option<String>,
        #[command(flatten)]
        target: Target,
    },
    /// Who has RELATION on NAMESPACE:OBJECT (gatehouse extension).
    #[command(name = "list-subjects")]
    ListSubjects {
        relation: String,
        namespace_object: String,
        #[arg(long = "page-size")]
        page_size: Option<usize>,
        #[arg(long = "page-token")]
        page_token: Option<String>,
        #[command(flatten)]
        target: Target,
    },
    /// Relation tuples.
    #[command(name = "relation-tuple")]
    RelationTuple {
        #[command(subcommand)]
        command: TupleCommand,
    },
    /// Namespaces.
    Namespace {
        #[command(subcommand)]
        command: NamespaceCommand,
    },
    /// Whether the server is ready: prints SERVING or NOT_SERVING, as `keto status` does
    /// (gatehouse asks `/health/ready` where Keto asks its gRPC health service).
    Status {
        /// Which API to ask: read or write. With --block, waits until it is SERVING.
        #[arg(long, default_value = "read", value_parser = ["read", "write"])]
        endpoint: String,
        #[command(flatten)]
        target: Target,
    },
}

#[derive(Subcommand, Debug)]
pub enum MigrateCommand {
    /// Apply pending migrations.
    Up {
        #[arg(short = 'y', long = "yes")]
        yes: bool,
        #[arg(short = 'c', long = "config")]
        config: Vec<PathBuf>,
    },
    /// List the migrations, each Applied or Pending; nothing is applied.
    Status {
        #[arg(short = 'c', long = "config")]
        config: Vec<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub enum TupleCommand {
    /// Create tuples from JSON files (`-f FILE` or as arguments, `-` for stdin) or one
    /// `SUBJECT RELATION NS:OBJ`.
    Create(TupleArgs),
    /// Delete tuples from JSON files or one `SUBJECT RELATION NS:OBJ`.
    Delete(TupleArgs),
    /// List tuples matching the filters.
    Get {
        #[command(flatten)]
        filters: Filters,
        #[arg(long = "page-size")]
        page_size: Option<usize>,
        #[arg(long = "page-token")]
        page_token: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Default)]
        format: Format,
        #[command(flatten)]
        target: Target,
    },
    /// Delete every tuple matching the filters. Without --force, only shows (the first 100
    /// of) what would be deleted, as Keto's `delete-all` does.
    #[command(name = "delete-all")]
    DeleteAll {
        #[command(flatten)]
        filters: Filters,
        #[arg(long)]
        force: bool,
        #[arg(long, value_enum, default_value_t = Format::Default)]
        format: Format,
        #[command(flatten)]
        target: Target,
    },
    /// Turn text tuples (`ns:obj#rel@subject`, one per line, `//` comments) into JSON.
    Parse {
        /// Files (`-` for stdin), as `-f` or as arguments (older Keto's form).
        #[arg(short = 'f', long = "file")]
        file: Vec<PathBuf>,
        files: Vec<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Default)]
        format: Format,
    },
}

/// Keto's relation query flags.
#[derive(Args, Debug)]
pub struct Filters {
    #[arg(long)]
    namespace: Option<String>,
    #[arg(long)]
    object: Option<String>,
    #[arg(long)]
    relation: Option<String>,
    #[arg(long = "subject-id")]
    subject_id: Option<String>,
    /// `ns:obj#rel`
    #[arg(long = "subject-set")]
    subject_set: Option<String>,
}

impl Filters {
    /// The filters as query parameters.
    fn query(self) -> anyhow::Result<url::form_urlencoded::Serializer<'static, String>> {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("namespace", self.namespace),
            ("object", self.object),
            ("relation", self.relation),
            ("subject_id", self.subject_id),
        ] {
            if let Some(v) = v {
                q.append_pair(k, &v);
            }
        }
        if let Some(set) = self.subject_set {
            if !set.contains(':') {
                bail!("--subject-set must be ns:obj#rel, got {set:?}");
            }
            subject_params(&mut q, &set)?;
        }
        Ok(q)
    }
}

#[derive(Args, Debug)]
pub struct TupleArgs {
    /// JSON files or directories (every file below, as Keto reads them); `-` for stdin.
    #[arg(short = 'f', long = "file")]
    files: Vec<PathBuf>,
    /// `SUBJECT RELATION NS:OBJ`, or JSON files as older Keto took them
    parts: Vec<String>,
    /// How to print the tuples written: Keto's table, or `json`/`json-pretty`.
    #[arg(long, value_enum, default_value_t = Format::Default)]
    format: Format,
    #[command(flatten)]
    target: Target,
}

#[derive(Subcommand, Debug)]
pub enum NamespaceCommand {
    /// Check the namespaces of a config (OPL errors with line and column) or OPL files.
    Validate {
        files: Vec<PathBuf>,
        #[arg(short = 'c', long = "config")]
        config: Vec<PathBuf>,
    },
}

/// Where client commands go.
#[derive(Args, Debug, Clone)]
pub struct Target {
    /// The read API, as host:port or URL.
    #[arg(
        long = "read-remote",
        env = "KETO_READ_REMOTE",
        default_value = "127.0.0.1:4466"
    )]
    read_remote: String,
    /// The write API, as host:port or URL.
    #[arg(
        long = "write-remote",
        env = "KETO_WRITE_REMOTE",
        default_value = "127.0.0.1:4467"
    )]
    write_remote: String,
    /// Use this config's database directly instead of a server.
    #[arg(short = 'c', long = "config")]
    config: Vec<PathBuf>,
    /// Keto's flags for its gRPC client, read for HTTP: connect without TLS (a remote without
    /// a scheme is plain HTTP already; this turns https:// into http://).
    #[arg(long = "insecure-disable-transport-security")]
    insecure_disable_transport_security: bool,
    /// Accept any certificate from an https:// remote.
    #[arg(long = "insecure-skip-hostname-verification")]
    insecure_skip_hostname_verification: bool,
    /// The host to ask for (the `Host` header; Keto's gRPC authority).
    #[arg(long, env = "KETO_AUTHORITY")]
    authority: Option<String>,
    /// Wait until the remote accepts connections (and, for `status`, is ready).
    #[arg(long)]
    block: bool,
}

pub async fn run(command: PermissionsCommand) -> anyhow::Result<()> {
    match command {
        PermissionsCommand::Serve { config, .. } => {
            let cfg = load(&config)?;
            let reread: gatehouse_permissions::reload::Reread =
                std::sync::Arc::new(move || load(&config).map_err(|e| format!("{e:#}")));
            serve(cfg, reread).await
        }
        PermissionsCommand::Migrate {
            command: MigrateCommand::Up { yes: _, config },
        } => {
            let cfg = load(&config)?;
            let p = gatehouse_permissions::Permissions::build(cfg)
                .await
                .map_err(anyhow::Error::msg)?;
            let applied = p
                .store
                .db
                .applied(gatehouse_permissions::store::SERVICE)
                .await?;
            println!("migrations applied: {applied:?}");
            p.store.db.close().await;
            Ok(())
        }
        PermissionsCommand::Check {
            subject,
            relation,
            namespace_object,
            object,
            max_depth,
            format,
            target,
        } => {
            let (namespace, object) = split_object(&namespace_object, object)?;
            let mut t = json!({"namespace": namespace, "object": object, "relation": relation});
            put_subject(&mut t, &subject)?;
            let path = match max_depth {
                Some(d) => format!("/relation-tuples/check/openapi?max-depth={d}"),
                None => "/relation-tuples/check/openapi".into(),
            };
            let answer = Client::read(&target)
                .await?
                .send("POST", &path, Some(t))
                .await?;
            let allowed = answer["allowed"].as_bool().unwrap_or(false);
            match format.json(&json!({"allowed": allowed}))? {
                Some(text) => println!("{text}"),
                None => println!("{}", if allowed { "Allowed" } else { "Denied" }),
            }
            Ok(())
        }
        PermissionsCommand::Expand {
            relation,
            namespace_object,
            object,
            max_depth,
            format,
            target,
        } => {
            let (namespace, object) = split_object(&namespace_object, object)?;
            let mut q = url::form_urlencoded::Serializer::new(String::new());
            q.append_pair("namespace", &namespace)
                .append_pair("object", &object)
                .append_pair("relation", &relation);
            if let Some(d) = max_depth {
                q.append_pair("max-depth", &d.to_string());
            }
            let tree = Client::read(&target)
                .await?
                .send(
                    "GET",
                    &format!("/relation-tuples/expand?{}", q.finish()),
                    None,
                )
                .await?;
            match format.json(&tree)? {
                Some(text) => println!("{text}"),
                None if tree.is_null() => println!(
                    "Got an empty tree. This probably means that the requested relation tuple is not present in Keto."
                ),
                None => println!("{}", tree_text(&tree)),
            }
            Ok(())
        }
        PermissionsCommand::ListObjects {
            subject,
            relation,
            namespace,
            page_size,
            page_token,
            target,
        } => {
            let mut q = url::form_urlencoded::Serializer::new(String::new());
            q.append_pair("namespace", &namespace)
                .append_pair("relation", &relation);
            subject_params(&mut q, &subject)?;
            page_params(&mut q, page_size, page_token);
            let page = Client::read(&target)
                .await?
                .send(
                    "GET",
                    &format!("/relation-tuples/list-objects?{}", q.finish()),
                    None,
                )
                .await?;
            println!("{}", serde_json::to_string_pretty(&page)?);
            Ok(())
        }
        PermissionsCommand::ListSubjects {
            relation,
            namespace_object,
            page_size,
            page_token,
            target,
        } => {
            let (namespace, object) = split_object(&namespace_object, None)?;
            let mut q = url::form_urlencoded::Serializer::new(String::new());
            q.append_pair("namespace", &namespace)
                .append_pair("object", &object)
                .append_pair("relation", &relation);
            page_params(&mut q, page_size, page_token);
            let page = Client::read(&target)
                .await?
                .send(
                    "GET",
                    &format!("/relation-tuples/list-subjects?{}", q.finish()),
                    None,
                )
                .await?;
            println!("{}", serde_json::to_string_pretty(&page)?);
            Ok(())
        }
        PermissionsCommand::Migrate {
            command: MigrateCommand::Status { config },
        } => migration_status(load(&config)?).await,
        PermissionsCommand::Status { endpoint, target } => status(&endpoint, &target).await,
        PermissionsCommand::RelationTuple { command } => tuples(command).await,
        PermissionsCommand::Namespace {
            command: NamespaceCommand::Validate { files, config },
        } => validate(files, config).await,
    }
}

/// `migrate status`: every migration the service knows, Applied or Pending.
async fn migration_status(cfg: Config) -> anyhow::Result<()> {
    let dsn = cfg.dsn.clone().unwrap_or_default();
    let db = gatehouse_store::Db::connect(&dsn)
        .await
        .with_context(|| "database")?;
    let applied = db.applied(gatehouse_permissions::store::SERVICE).await?;
    println!("Version\tName\tStatus");
    for m in gatehouse_permissions::store::MIGRATIONS {
        let state = if applied.contains(&m.version) {
            "Applied"
        } else {
            "Pending"
        };
        println!("{}\t{}\t{state}", m.version, m.name);
    }
    db.close().await;
    Ok(())
}

/// `status`: SERVING when the API answers ready; with `block`, asks until it does.
async fn status(endpoint: &str, target: &Target) -> anyhow::Result<()> {
    let client = match endpoint {
        "write" => Client::write(target).await?,
        _ => Client::read(target).await?,
    };
    let block = target.block;
    loop {
        let answer = client.status_of("/health/ready").await;
        match answer {
            Ok(200) => {
                println!("SERVING");
                return Ok(());
            }
            Ok(_) if !block => {
                println!("NOT_SERVING");
                return Ok(());
            }
            Err(e) if !block => return Err(e),
            Ok(code) => eprintln!("got {code} (NOT_SERVING), waiting until SERVING"),
            Err(e) => eprintln!("{e:#}; retrying"),
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}

/// A Keto config file with Keto's environment variables.
pub fn load(files: &[PathBuf]) -> anyhow::Result<Config> {
    if files.is_empty() {
        bail!("no config file given: use -c keto.yml");
    }
    let mut doc = read_documents(files)?;
    apply_env(&mut doc, "", &Config::known_env_paths(), std::env::vars())?;
    Ok(Config::from_value(doc, "")?)
}

async fn serve(cfg: Config, reread: gatehouse_permissions::reload::Reread) -> anyhow::Result<()> {
    let stop = shutdown_signal();
    let (p, listeners) = build(cfg, Some(reread)).await?;
    crate::serve::serve_until(listeners, stop, async {}).await;
    p.store.db.close().await;
    Ok(())
}

/// The service and its listeners (read, write, OPL); with `reread`, the namespaces follow
/// the config file.
pub async fn build(
    cfg: Config,
    reread: Option<gatehouse_permissions::reload::Reread>,
) -> anyhow::Result<(gatehouse_permissions::SharedPermissions, Vec<Listener>)> {
    let (read, write, opl, metrics) = (
        cfg.serve.read.addr(),
        cfg.serve.write.addr(),
        cfg.serve.opl.addr(),
        cfg.serve.metrics.addr(),
    );
    let p = gatehouse_permissions::Permissions::build_with(cfg, reread)
        .await
        .map_err(anyhow::Error::msg)
        .context("cannot start the permissions service")?;
    let api = gatehouse_permissions::api::read_router;
    let listeners = vec![
        Listener::bind(&read, "permissions read API", api(p.clone())).await?,
        Listener::bind(
            &write,
            "permissions write API",
            gatehouse_permissions::api::write_router(p.clone()),
        )
        .await?,
        Listener::bind(
            &opl,
            "permissions OPL API",
            gatehouse_permissions::api::opl_router(p.clone()),
        )
        .await?,
        Listener::bind(
            &metrics,
            "permissions metrics",
            gatehouse_permissions::api::metrics_router(p.clone()),
        )
        .await?,
    ];
    Ok((p, listeners))
}

/// `subject_id=` or the three `subject_set.*=` parameters for a subject in text form.
fn subject_params(
    q: &mut url::form_urlencoded::Serializer<'_, String>,
    subject: &str,
) -> anyhow::Result<()> {
    match gatehouse_permissions::tuple::parse_subject(subject) {
        Some(gatehouse_permissions::tuple::Subject::Id(id)) => {
            q.append_pair("subject_id", &id);
        }
        Some(gatehouse_permissions::tuple::Subject::Set(s)) => {
            q.append_pair("subject_set.namespace", &s.namespace)
                .append_pair("subject_set.object", &s.object)
                .append_pair("subject_set.relation", &s.relation);
        }
        None => bail!("the subject is empty"),
    }
    Ok(())
}

fn page_params(
    q: &mut url::form_urlencoded::Serializer<'_, String>,
    size: Option<usize>,
    token: Option<String>,
) {
    if let Some(n) = size {
        q.append_pair("page_size", &n.to_string());
    }
    if let Some(t) = token {
        q.append_pair("page_token", &t);
    }
}

fn split_object(ns_obj: &str, object: Option<String>) -> anyhow::Result<(String, String)> {
    match object {
        Some(o) => Ok((ns_obj.to_string(), o)),
        None => match ns_obj.split_once(':') {
            Some((ns, o)) => Ok((ns.to_string(), o.to_string())),
            None => bail!("expected NAMESPACE:OBJECT or NAMESPACE OBJECT, got {ns_obj:?}"),
        },
    }
}

fn put_subject(t: &mut Value, subject: &str) -> anyhow::Result<()> {
    match gatehouse_permissions::tuple::parse_subject(subject) {
        Some(gatehouse_permissions::tuple::Subject::Id(id)) => t["subject_id"] = json!(id),
        Some(gatehouse_permissions::tuple::Subject::Set(s)) => t["subject_set"] = json!(s),
        None => bail!("the subject is empty"),
    }
    Ok(())
}

async fn tuples(command: TupleCommand) -> anyhow::Result<()> {
    match command {
        TupleCommand::Create(args) => change(args, "insert").await,
        TupleCommand::Delete(args) => change(args, "delete").await,
        TupleCommand::Get {
            filters,
            page_size,
            page_token,
            format,
            target,
        } => {
            let mut q = filters.query()?;
            page_params(&mut q, page_size, page_token);
            let page = Client::read(&target)
                .await?
                .send("GET", &format!("/relation-tuples?{}", q.finish()), None)
                .await?;
            print_page(&page, format)
        }
        TupleCommand::DeleteAll {
            filters,
            force,
            format,
            target,
        } => {
            let mut q = filters.query()?;
            if !force {
                println!(
                    "WARNING: This operation is not reversible. Please use the `--force` flag to proceed.\nThese tuples would be deleted:\n"
                );
                page_params(&mut q, Some(100), None);
                let page = Client::read(&target)
                    .await?
                    .send("GET", &format!("/relation-tuples?{}", q.finish()), None)
                    .await?;
                return print_page(&page, format);
            }
            Client::write(&target)
                .await?
                .send(
                    "DELETE",
                    &format!("/admin/relation-tuples?{}", q.finish()),
                    None,
                )
                .await?;
            Ok(())
        }
        TupleCommand::Parse {
            file,
            files,
            format,
        } => {
            let files = [file, files].concat();
            if files.is_empty() {
                bail!("name the files to parse (-f FILE, or - for stdin)");
            }
            let mut out = Vec::new();
            for text in read_inputs(&files)? {
                for line in text.lines() {
                    // As Keto: a comment is a whole line; `//` inside a tuple (a URL as
                    // subject) is part of it.
                    let line = line.trim();
                    if line.is_empty() || line.starts_with("//") {
                        continue;
                    }
                    let t = gatehouse_permissions::tuple::parse(line)
                        .map_err(|e| anyhow::anyhow!(e.0))?;
                    out.push(serde_json::to_value(
                        gatehouse_permissions::tuple::TupleBody::from(&t),
                    )?);
                }
            }
            print_parsed(&out, format)
        }
    }
}

/// Inserts or deletes tuples, all in one transaction.
async fn change(mut args: TupleArgs, action: &str) -> anyhow::Result<()> {
    // Older Keto took the JSON files as arguments (`create tuples.json`): arguments that are
    // not one `SUBJECT RELATION NS:OBJ` (not three, or three files) are read as files.
    let all_files = args
        .parts
        .iter()
        .all(|p| p == "-" || std::path::Path::new(p).is_file());
    if args.parts.len() != 3 || all_files {
        args.files.extend(args.parts.drain(..).map(PathBuf::from));
    }
    let mut list: Vec<Value> = Vec::new();
    for text in read_inputs(&args.files)? {
        match serde_json::from_str::<Value>(&text).context("the tuples are not JSON")? {
            Value::Array(items) => list.extend(items),
            one => list.push(one),
        }
    }
    if let [subject, relation, ns_obj] = args.parts.as_slice() {
        let (namespace, object) = split_object(ns_obj, None)?;
        let mut t = json!({"namespace": namespace, "object": object, "relation": relation});
        put_subject(&mut t, subject)?;
        list.push(t);
    }
    if list.is_empty() {
        bail!("no tuples given: use -f FILE (or -) or SUBJECT RELATION NAMESPACE:OBJECT");
    }
    let deltas: Vec<Value> = list
        .iter()
        .map(|t| json!({"action": action, "relation_tuple": t}))
        .collect();
    Client::write(&args.target)
        .await?
        .send(
            "PATCH",
            "/admin/relation-tuples",
            Some(Value::Array(deltas)),
        )
        .await?;
    // As Keto: the tuples written, as a table or as JSON.
    print_tuples(&list, args.format)
}

/// The texts of files, `-` (stdin) and directories (every file below, in name order, as
/// Keto reads them).
fn read_inputs(files: &[PathBuf]) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    for f in files {
        if f.as_os_str() == "-" {
            let mut s = String::new();
            std::io::stdin().read_to_string(&mut s)?;
            out.push(s);
        } else {
            read_path(f, 0, &mut out)?;
        }
    }
    Ok(out)
}

/// How deep directories are followed: far enough for any tree of tuple files, short of a
/// link loop.
const MAX_DIR_DEPTH: usize = 16;

fn read_path(path: &std::path::Path, depth: usize, out: &mut Vec<String>) -> anyhow::Result<()> {
    let cannot = || format!("cannot read {}", path.display());
    if !path.is_dir() {
        out.push(std::fs::read_to_string(path).with_context(cannot)?);
        return Ok(());
    }
    if depth >= MAX_DIR_DEPTH {
        bail!(
            "{} is more than {MAX_DIR_DEPTH} directories deep",
            path.display()
        );
    }
    let mut entries = std::fs::read_dir(path)
        .with_context(cannot)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<Vec<_>, _>>()
        .with_context(cannot)?;
    entries.sort();
    for entry in entries {
        read_path(&entry, depth + 1, out)?;
    }
    Ok(())
}

async fn validate(files: Vec<PathBuf>, config: Vec<PathBuf>) -> anyhow::Result<()> {
    if !config.is_empty() {
        let cfg = load(&config)?;
        let ns = gatehouse_permissions::load_namespaces(&cfg)
            .await
            .map_err(anyhow::Error::msg)?;
        println!(
            "{} namespace(s) are valid: {}",
            ns.names().len(),
            ns.names().join(", ")
        );
        return Ok(());
    }
    if files.is_empty() {
        bail!("name OPL files or -c keto.yml");
    }
    let mut failed = false;
    for f in &files {
        let text =
            std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?;
        match gatehouse_permissions::opl::parse(&text) {
            Ok(classes) => println!("{}: {} namespace(s) are valid", f.display(), classes.len()),
            Err(errors) => {
                failed = true;
                for e in errors {
                    println!("{}:{}:{}: {}", f.display(), e.line, e.column, e.message);
                }
            }
        }
    }
    if failed {
        bail!("the OPL has errors");
    }
    Ok(())
}
