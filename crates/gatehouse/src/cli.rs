//! The command line: `serve`, `identity serve|migrate|courier watch`, `identities ...`,
//! `version`.

use crate::{config_file, identities_cmd, serve};
use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Identity, access proxy and permissions in one binary, wire-compatible with Ory Kratos,
/// Oathkeeper and Keto.
#[derive(Parser, Debug)]
#[command(name = "gatehouse", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run every service in one process (identity on 4433/4434), with the courier worker.
    ///
    /// With --dev and no config file: an SQLite file gatehouse.db in the working directory,
    /// a default identity schema (email, password, name), the built-in UI, plain-HTTP cookies,
    /// generated secrets, and e-mail delivered to the mailbox at /ui/mail.
    Serve(ServeArgs),
    /// The identity service (Ory Kratos compatible).
    Identity {
        #[command(subcommand)]
        command: IdentityCommand,
    },
    /// The access proxy (Ory Oathkeeper compatible).
    Proxy {
        #[command(subcommand)]
        command: crate::proxy_cmd::ProxyCommand,
    },
    /// The permissions service (Ory Keto compatible) and its client commands.
    Permissions {
        #[command(subcommand)]
        command: crate::permissions_cmd::PermissionsCommand,
    },
    /// Manage identities over the admin API, like `kratos identities`.
    Identities {
        #[command(subcommand)]
        command: identities_cmd::IdentitiesCommand,
    },
    /// Print the version.
    Version,
    /// Internal: evaluates Jsonnet for the server in a child process with resource limits.
    #[command(hide = true, name = "jsonnet-worker")]
    JsonnetWorker,
}

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Config file (YAML or JSON); repeat to merge several, later ones win.
    #[arg(short = 'c', long = "config")]
    pub config: Vec<PathBuf>,
    /// Development mode: SQLite default, HTTP cookies, generated secrets, relaxed checks.
    #[arg(long)]
    pub dev: bool,
    /// Run the courier worker (e-mail delivery) in this process, as `kratos serve
    /// --watch-courier` does. `gatehouse serve` always runs it.
    #[arg(long = "watch-courier")]
    pub watch_courier: bool,
    /// Accepted for Kratos compatibility (gatehouse never sends telemetry).
    #[arg(long = "sqa-opt-out", hide = true)]
    pub sqa_opt_out: bool,
}

#[derive(Subcommand, Debug)]
pub enum IdentityCommand {
    /// Serve the public (4433) and admin (4434) APIs from a kratos.yml.
    Serve(ServeArgs),
    /// Database migrations.
    Migrate {
        #[command(subcommand)]
        command: MigrateCommand,
    },
    /// The courier (outgoing e-mail).
    Courier {
        #[command(subcommand)]
        command: CourierCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum CourierCommand {
    /// Run only the courier worker: deliver queued e-mail until stopped, like `kratos
    /// courier watch`. For deployments with several `identity serve` replicas; any number
    /// of workers may run, no message is sent twice.
    Watch {
        /// Config file (YAML or JSON); repeat to merge several, later ones win.
        #[arg(short = 'c', long = "config")]
        config: Vec<PathBuf>,
        /// Development mode (delivers to the dev mailbox when no SMTP server is configured).
        #[arg(long)]
        dev: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum MigrateCommand {
    /// Apply the SQL migrations to the database named by DSN, -e ($DSN) or the config file.
    Sql {
        /// The database, e.g. postgres://user:pass@host:5432/db or sqlite://gatehouse.db?mode=rwc.
        dsn: Option<String>,
        /// Read the DSN from the DSN environment variable.
        #[arg(short = 'e', long = "read-from-env")]
        read_from_env: bool,
        /// Do not ask for confirmation.
        #[arg(short = 'y', long)]
        yes: bool,
        /// Config file with a `dsn` key.
        #[arg(short = 'c', long = "config")]
        config: Vec<PathBuf>,
    },
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Version => {
            println!("gatehouse v{}", gatehouse_core::VERSION);
            Ok(())
        }
        Command::Serve(args) => {
            let cfg = config_file::load_all_in_one(&args.config, args.dev)?;
            let (files, dev) = (args.config.clone(), args.dev);
            let reread: gatehouse_permissions::reload::Reread = std::sync::Arc::new(move || {
                config_file::load_all_in_one(&files, dev)
                    .map_err(|e| format!("{e:#}"))?
                    .permissions
                    .ok_or_else(|| "the `permissions:` key is gone".to_string())
            });
            let permissions = cfg.permissions.map(|p| (p, reread));
            serve::run_all(cfg.identity, cfg.proxy, permissions).await
        }
        Command::Identity {
            command: IdentityCommand::Serve(args),
        } => {
            let cfg = config_file::load_identity(&args.config, args.dev)?;
            serve::run(cfg, args.watch_courier).await
        }
        Command::Identity {
            command:
                IdentityCommand::Courier {
                    command: CourierCommand::Watch { config, dev },
                },
        } => {
            let cfg = config_file::load_identity(&config, dev)?;
            serve::courier_watch(cfg).await
        }
        Command::Identity {
            command:
                IdentityCommand::Migrate {
                    command:
                        MigrateCommand::Sql {
                            dsn,
                            read_from_env,
                            yes,
                            config,
                        },
                },
        } => {
            let dsn = match (dsn, read_from_env) {
                (Some(d), _) => d,
                (None, true) => std::env::var("DSN")
                    .context("-e was given but the DSN environment variable is not set")?,
                (None, false) if !config.is_empty() => config_file::load_identity(&config, false)?
                    .dsn
                    .context("the config file has no dsn")?,
                (None, false) => {
                    anyhow::bail!("give a DSN, -e to read $DSN, or -c with a config file")
                }
            };
            if !yes {
                eprintln!(
                    "Applying migrations to {} (pass --yes to skip this notice).",
                    gatehouse_store_redact(&dsn)
                );
            }
            let applied = gatehouse_identity::boot::migrate(&dsn)
                .await
                .map_err(anyhow::Error::msg)?;
            println!(
                "Applied {} migration(s); the identity schema is up to date.",
                applied.len()
            );
            Ok(())
        }
        Command::Identities { command } => identities_cmd::run(command).await,
        Command::Proxy { command } => crate::proxy_cmd::run(command).await,
        Command::Permissions { command } => crate::permissions_cmd::run(command).await,
        Command::JsonnetWorker => Ok(()),
    }
}

fn gatehouse_store_redact(dsn: &str) -> String {
    match (dsn.find("://"), dsn.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}***{}", &dsn[..s + 3], &dsn[at..]),
        _ => dsn.to_string(),
    }
}
