//! The `flowcal` command: serve the web app and API, migrate the database,
//! manage users, tokens and models, and load demo data.
#![forbid(unsafe_code)]

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use flowcal_server::access::people::By;
use flowcal_server::app::App;
use flowcal_server::clock::SystemClock;
use flowcal_server::config::Config;
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "flowcal",
    version = concat!(env!("CARGO_PKG_VERSION"), " (", env!("FLOWCAL_VERSION_COMMIT"), ")"),
    about = "Workflows whose deadlines land in people's calendars"
)]
struct Cli {
    /// Configuration file (default: FLOWCAL_CONFIG, else ./flowcal.toml when present).
    #[arg(long, global = true, env = "FLOWCAL_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web app and JSON API.
    Serve,
    /// Deliver calendar entries only (no web server); run as many as needed.
    Worker,
    /// Create or update the database schema, then exit.
    Migrate,
    /// Copy the SQLite database to a new FILE while flowcal runs (a
    /// consistent snapshot); keep the secret key file with it.
    Backup {
        /// The copy to write (must not exist).
        file: std::path::PathBuf,
    },
    /// Print a commented example configuration.
    DefaultConfig,
    /// Load demo users and process models (safe to run twice).
    Demo,
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage personal API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Manage process models.
    Model {
        #[command(subcommand)]
        command: ModelCommand,
    },
    /// Calendar exports.
    Export {
        #[command(subcommand)]
        command: ExportCommand,
    },
    /// Manage the key that encrypts stored credentials.
    Secrets {
        #[command(subcommand)]
        command: SecretsCommand,
    },
}

#[derive(Subcommand)]
enum ExportCommand {
    /// Bring one user's calendar up to date: every open task of theirs with a
    /// deadline, delivered now (safe to run twice).
    Sync {
        #[arg(long)]
        user: String,
        /// Turn auto-sync on for this calendar account of the user's first.
        #[arg(long)]
        account: Option<i64>,
    },
    /// Compare one user's calendars with what flowcal should have put there:
    /// missing entries, extra ones (duplicates among them) and different
    /// ones; exits 1 when any is found (or not repaired).
    Verify {
        #[arg(long)]
        user: String,
        /// Repair what is found: extra entries deleted, missing ones made
        /// again, different ones written again (delivered now).
        #[arg(long)]
        repair: bool,
    },
}

#[derive(Subcommand)]
enum SecretsCommand {
    /// Add a new key to the secret key file and re-encrypt every stored
    /// credential with it (the old keys stay until `retire`).
    Rotate,
    /// Remove from the key file the keys no stored credential uses any more
    /// (after every running flowcal has seen the rotation).
    Retire,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user.
    Add {
        login: String,
        /// Make the user an administrator.
        #[arg(long)]
        admin: bool,
        /// Put the user in a role (a lane's name); repeat for several.
        #[arg(long = "role")]
        roles: Vec<String>,
        /// Read the password from standard input (one line). Without it, the
        /// user signs in with API tokens only.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users.
    List,
    /// Disable a user at once: no sign-in; their sessions end, their API
    /// tokens and feed stop (their tasks stay visible to administrators).
    Disable { login: String },
    /// Enable a disabled user again.
    Enable { login: String },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a personal API token for a user and print it (shown once).
    Create {
        login: String,
        /// A name to recognise the token by.
        #[arg(long, default_value = "cli")]
        name: String,
        /// The token stops working after this many days (default: never).
        #[arg(long)]
        expires_days: Option<u32>,
    },
    /// List a user's tokens: id, name, created, last used, expires.
    List { login: String },
    /// Revoke one of a user's tokens (by id, see `list`), or all with --all.
    Revoke {
        login: String,
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        id: Option<i64>,
        #[arg(long)]
        all: bool,
    },
}

#[derive(Subcommand)]
enum ModelCommand {
    /// Import a BPMN 2.0 file as the next version of its process.
    Import {
        file: PathBuf,
        /// Upload it in this user's name (an administrator or a member of the
        /// role `designers`): a process with a timer start event starts its
        /// instances in the uploader's name.
        #[arg(long = "as", value_name = "LOGIN")]
        as_user: Option<String>,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    if let Command::DefaultConfig = cli.command {
        print!("{}", Config::example());
        return std::process::ExitCode::SUCCESS;
    }
    let env: Vec<(String, String)> = std::env::vars().collect();
    let config = match Config::load(cli.config.as_deref(), &env) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    init_logging(&config.log);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, config)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn init_logging(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("RUST_LOG")
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(filter))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}

async fn app(config: Config) -> anyhow::Result<Arc<App>> {
    flowcal_server::build(config, Arc::new(SystemClock)).await
}

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::DefaultConfig => Ok(()),
        Command::Serve => {
            let listen = config.listen.clone();
            let app = app(config).await?;
            app.apply_configured_calendars().await?;
            let listener = tokio::net::TcpListener::bind(&listen)
                .await
                .with_context(|| format!("cannot listen on {listen} (set FLOWCAL_LISTEN or listen in flowcal.toml)"))?;
            flowcal_server::serve(app, listener, shutdown_signal()).await
        }
        Command::Backup { file } => {
            let store = flowcal_store::Store::connect(&config.database_url).await?;
            store.backup_to(&file).await?;
            let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
            println!("backed up the database to {} ({size} bytes)", file.display());
            println!(
                "keep the secret key file {} with it: without that key the stored credentials cannot be read",
                config.secret_key_file.display()
            );
            Ok(())
        }
        Command::Migrate => {
            let store = flowcal_store::Store::connect(&config.database_url).await?;
            let applied = store.migrate().await?;
            if applied.is_empty() {
                println!("the database is up to date");
            } else {
                println!("applied: {}", applied.join(", "));
            }
            Ok(())
        }
        Command::Demo => {
            let public_url = config.public_url.clone();
            let app = app(config).await?;
            let report = flowcal_server::demo::load(&app).await?;
            println!("demo users: alice (administrator, designers), bob (managers), carol (managers, hr)");
            println!("demo password for each: {}", flowcal_server::demo::DEMO_PASSWORD);
            if !report.users_created.is_empty() {
                println!("created users: {}", report.users_created.join(", "));
            }
            if !report.models_imported.is_empty() {
                println!("imported models: {}", report.models_imported.join(", "));
            }
            if !report.instances_started.is_empty() {
                println!("started instances: {}", report.instances_started.join(", "));
            }
            println!("start the server with `flowcal serve`; the JSON API is at {public_url}/api/v1 (see the README)");
            Ok(())
        }
        Command::User { command: UserCommand::Add { login, admin, roles, password_stdin } } => {
            let password = if password_stdin {
                let mut s = String::new();
                std::io::stdin().read_to_string(&mut s).context("cannot read the password from standard input")?;
                let line = s.lines().next().unwrap_or("").to_owned();
                if line.is_empty() {
                    bail!("no password on standard input");
                }
                Some(line)
            } else {
                None
            };
            let app = app(config).await?;
            let user = app.access.add_user(&login, admin, &roles, password.as_deref()).await?;
            println!(
                "created user {}{}{}",
                user.login,
                if user.is_admin { " (administrator)" } else { "" },
                if roles.is_empty() { String::new() } else { format!(" in roles {}", roles.join(", ")) }
            );
            Ok(())
        }
        Command::User { command: UserCommand::List } => {
            let app = app(config).await?;
            // A page at a time, so that any number of users is listed in bounded memory.
            let mut after = None;
            loop {
                let page = app.store.users_page(after.take(), 500).await?;
                for u in &page.items {
                    let roles = app.store.roles(u.id).await?;
                    println!(
                        "{}\t{}\t{}\t{}",
                        u.login,
                        if u.is_admin { "admin" } else { "user" },
                        roles.join(","),
                        u.state()
                    );
                }
                match (page.more, page.items.last()) {
                    (true, Some(last)) => after = Some(last.login.clone()),
                    _ => break,
                }
            }
            Ok(())
        }
        Command::User { command: UserCommand::Disable { login } } => {
            let app = app(config).await?;
            let change = flowcal_store::AccessChange { disabled: Some(true), ..Default::default() };
            app.access.change_user(By::CommandLine, &login, change).await?;
            println!("disabled {login}: their sessions ended, their API tokens and feed stopped");
            Ok(())
        }
        Command::User { command: UserCommand::Enable { login } } => {
            let app = app(config).await?;
            let change = flowcal_store::AccessChange { disabled: Some(false), ..Default::default() };
            app.access.change_user(By::CommandLine, &login, change).await?;
            println!("enabled {login}");
            Ok(())
        }
        Command::Export { command: ExportCommand::Sync { user, account } } => {
            let app = app(config).await?;
            let summary = app.exports.export_sync(&user, account, draw_progress).await?;
            eprintln!();
            println!("{}", summary.line());
            let missing = summary.not_done();
            if missing > 0 {
                anyhow::bail!(
                    "{missing} of {} entries are not in the calendar as asked (the admin page's delivery \
                     health says why for each)",
                    summary.total()
                );
            }
            Ok(())
        }
        Command::Export { command: ExportCommand::Verify { user, repair } } => {
            let app = app(config).await?;
            let v = flowcal_server::verify::verify(&app, &user, repair, draw_progress).await?;
            eprintln!();
            for f in &v.findings {
                println!("{}", f.line());
            }
            for note in &v.notes {
                println!("note: {note}");
            }
            println!("{}", v.line());
            if let Some(line) = v.repair_line() {
                println!("{line}");
            }
            match (v.remaining(), v.incomplete) {
                (0, false) => Ok(()),
                (0, true) => bail!("not every calendar of {user} could be checked (see the notes)"),
                (n, _) if repair => bail!("{n} of {} findings were not repaired", v.found()),
                (n, _) => bail!("{n} findings in the calendars of {user}; --repair repairs them"),
            }
        }
        Command::Worker => {
            let app = app(config).await?;
            app.apply_configured_calendars().await?;
            tracing::info!("flowcal worker is delivering calendar entries, firing timers and refreshing holidays");
            // At least one delivery loop, also when `serve` processes run none.
            let workers = flowcal_server::Workers::start(&app, app.config.delivery.workers.max(1))?;
            workers.run_until(&app, shutdown_signal()).await;
            Ok(())
        }
        Command::Secrets { command: SecretsCommand::Rotate } => {
            let app = app(config).await?;
            let r = app.access.rotate_secrets().await?;
            println!("new key {}: {} stored secrets re-encrypted", r.new_key, r.resealed);
            if r.unreadable > 0 {
                println!("{} stored secrets no key opens were left as they are", r.unreadable);
            }
            println!("the old keys stay in the file until `flowcal secrets retire`");
            Ok(())
        }
        Command::Secrets { command: SecretsCommand::Retire } => {
            let app = app(config).await?;
            let (removed, kept) = app.access.retire_keys().await?;
            println!(
                "keys removed: {}; keys kept: {}",
                if removed.is_empty() { "none".to_owned() } else { removed.join(", ") },
                kept.join(", ")
            );
            Ok(())
        }
        Command::Token { command: TokenCommand::Create { login, name, expires_days } } => {
            let app = app(config).await?;
            println!("{}", app.access.issue_token(&login, &name, expires_days).await?.1);
            Ok(())
        }
        Command::Token { command: TokenCommand::List { login } } => {
            let app = app(config).await?;
            let when = |t: Option<String>| t.unwrap_or_else(|| "never".to_owned());
            println!("id\tname\tcreated\tlast used\texpires");
            for t in app.access.tokens_of(&login).await? {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    t.id,
                    t.name.escape_debug(),
                    t.created_at,
                    when(t.last_used_at.map(|t| t.to_string())),
                    when(t.expires_at.map(|t| t.to_string()))
                );
            }
            Ok(())
        }
        Command::Token { command: TokenCommand::Revoke { login, id, all } } => {
            let app = app(config).await?;
            match (id, all) {
                (_, true) => println!("revoked {} tokens of {login}", app.access.revoke_all_tokens(&login).await?),
                (Some(id), false) => {
                    app.access.revoke_token(&login, id).await?;
                    println!("revoked token {id} of {login}");
                }
                (None, false) => bail!("give a token id (flowcal token list {login}) or --all"),
            }
            Ok(())
        }
        Command::Model { command: ModelCommand::Import { file, as_user } } => {
            let bytes = std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let app = app(config).await?;
            let uploader = match as_user {
                None => None,
                Some(login) => {
                    let user = app.store.user_by_login(&login).await?.with_context(|| format!("no user '{login}'"))?;
                    let roles = app.store.roles(user.id).await?;
                    Some(flowcal_server::principal::Principal { user, roles })
                }
            };
            match app.workflow.import_model(uploader.as_ref(), &bytes).await {
                Ok(m) => {
                    println!("imported model {} version {} ({})", m.key, m.version, m.name);
                    Ok(())
                }
                Err(e @ flowcal_server::error::AppError::InvalidModel { .. }) => {
                    bail!("{}: {e}", file.display())
                }
                Err(e) => Err(e.into()),
            }
        }
    }
}

/// A progress bar on standard error: `done` of `total`.
fn draw_progress(done: usize, total: usize) {
    let width = 30;
    let filled = (done * width).checked_div(total).unwrap_or(width).min(width);
    eprint!("\r[{}{}] {done}/{total}", "#".repeat(filled), "-".repeat(width - filled));
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}
