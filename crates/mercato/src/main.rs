//! `mercato`: the server (`serve`), its schema (`migrate`) and the operator's
//! key management (`keys`).

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};
use mercato::keys_command::{self, CreateKey};
use mercato::{logging, server};
use mercato_core::config::ConfigOverrides;
use mercato_core::Config;
use mercato_store::keys::KeyKind;

#[derive(Parser)]
#[command(
    name = "mercato",
    version,
    about = "Sell a platform's catalogs through AI agents"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the server's settings come from; each flag also has a `MERCATO_*`
/// variable, read through the configuration.
#[derive(Args, Clone)]
struct StoreArgs {
    /// A TOML file of settings (see ARCHITECTURE.md for every key).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Directory for the SQLite database and uploaded files [env: MERCATO_DATA_DIR].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// `sqlite://PATH` or `postgres://...` [env: MERCATO_DATABASE_URL].
    #[arg(long)]
    database_url: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the API server.
    Serve {
        #[command(flatten)]
        store: StoreArgs,
        /// Address to listen on [env: MERCATO_LISTEN; default 127.0.0.1:4242].
        #[arg(long)]
        listen: Option<SocketAddr>,
    },
    /// Apply database migrations and exit.
    Migrate {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Manage API keys.
    Keys {
        #[command(flatten)]
        store: StoreArgs,
        #[command(subcommand)]
        action: KeysAction,
    },
}

#[derive(Subcommand)]
enum KeysAction {
    /// Make a new key and print its secret once.
    Create {
        /// The account (acct_...); the platform when left out.
        #[arg(long)]
        account: Option<String>,
        #[arg(long, value_enum, default_value_t = Mode::Test)]
        mode: Mode,
        #[arg(long, value_enum, default_value_t = Kind::Secret)]
        kind: Kind,
    },
    /// List keys (never their secrets).
    List {
        #[arg(long)]
        account: Option<String>,
    },
    /// Revoke a key by its id (key_...).
    Revoke { key_id: String },
}

#[derive(Clone, Copy, ValueEnum)]
enum Mode {
    Test,
    Live,
}

#[derive(Clone, Copy, ValueEnum)]
enum Kind {
    Secret,
    Restricted,
    Publishable,
}

impl From<Kind> for KeyKind {
    fn from(kind: Kind) -> Self {
        match kind {
            Kind::Secret => KeyKind::Secret,
            Kind::Restricted => KeyKind::Restricted,
            Kind::Publishable => KeyKind::Publishable,
        }
    }
}

fn load_config(store: &StoreArgs, listen: Option<SocketAddr>) -> anyhow::Result<Config> {
    let overrides = ConfigOverrides {
        listen,
        data_dir: store.data_dir.clone(),
        database_url: store.database_url.clone(),
    };
    Ok(Config::load(store.config.as_deref(), &overrides)?)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve { store, listen } => serve(load_config(&store, listen)?).await,
        Command::Migrate { store } => migrate(load_config(&store, None)?).await,
        Command::Keys { store, action } => keys(load_config(&store, None)?, action).await,
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    logging::init(config.log_format, &config.log_level);
    let mut running = server::start(config).await?;
    if let Some(made) = running.bootstrapped.take() {
        print!("{}", server::bootstrap_banner(&made));
    }
    println!("Listening on http://{}", running.addr);

    wait_for_signal().await?;
    tracing::info!(target: "mercato::server", "shutting down");
    running.shutdown().await
}

async fn wait_for_signal() -> anyhow::Result<()> {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("cannot listen for SIGTERM")?;
    tokio::select! {
        _ = terminate.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(())
}

async fn migrate(config: Config) -> anyhow::Result<()> {
    logging::init(config.log_format, &config.log_level);
    let db = server::open_store(&config).await?;
    db.close().await;
    println!(
        "The database at {} is up to date.",
        redact_url(&config.effective_database_url())
    );
    Ok(())
}

async fn keys(config: Config, action: KeysAction) -> anyhow::Result<()> {
    logging::init(config.log_format, "warn");
    let db = server::open_store(&config).await?;
    match action {
        KeysAction::Create {
            account,
            mode,
            kind,
        } => {
            let request = CreateKey {
                account,
                livemode: matches!(mode, Mode::Live),
                kind: kind.into(),
            };
            let (id, secret) = keys_command::create(&db, &request).await?;
            println!("{id}\n{secret}\nThis secret is shown once; Mercato keeps only its hash.");
        }
        KeysAction::List { account } => {
            print!("{}", keys_command::list(&db, account.as_deref()).await?)
        }
        KeysAction::Revoke { key_id } => {
            keys_command::revoke(&db, &key_id).await?;
            println!("{key_id} revoked");
        }
    }
    db.close().await;
    Ok(())
}

/// The URL without its password, for messages.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            let user = credentials.split(':').next().unwrap_or_default();
            format!("{}{user}:****{}", &url[..scheme_end + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}
