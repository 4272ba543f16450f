//! `mercato`: the server (`serve`), its schema (`migrate`), the operator's
//! key management (`keys`), and the client commands that talk to a running
//! server over its API (`listen`, `trigger`).

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use mercato::client::api::DEFAULT_API_BASE;
use mercato::client::listen::{self, ListenOptions};
use mercato::client::trigger::{self, TriggerOptions};
use mercato::keys_command::{self, CreateKey};
use mercato::{logging, server};
use mercato_core::config::ConfigOverrides;
use mercato_core::{Config, LogFormat};
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
    /// Forward the account's events to a local URL, signed like webhooks.
    Listen(ListenArgs),
    /// Fire a sandbox event by making the API calls that cause it.
    Trigger(TriggerArgs),
}

/// How a client command reaches the server.
#[derive(Args)]
struct ApiArgs {
    /// A secret API key (sk_test_...).
    #[arg(long, env = "MERCATO_API_KEY", hide_env_values = true)]
    api_key: String,
    /// The server's base URL.
    #[arg(
        long,
        env = "MERCATO_API_BASE",
        hide_env_values = true,
        default_value = DEFAULT_API_BASE
    )]
    api_base: String,
}

#[derive(Args)]
struct ListenArgs {
    /// Where each event is POSTed, e.g. http://127.0.0.1:3000/webhook.
    #[arg(long)]
    forward_to: String,
    /// Only these event types (comma-separated); all when left out.
    #[arg(long, value_delimiter = ',')]
    events: Vec<String>,
    /// Also receive the connected accounts' events.
    #[arg(long)]
    connect: bool,
    #[command(flatten)]
    api: ApiArgs,
}

#[derive(Args)]
struct TriggerArgs {
    /// The event type to fire (listed below).
    event: String,
    /// Act as this connected account (acct_...).
    #[arg(long)]
    stripe_account: Option<String>,
    #[command(flatten)]
    api: ApiArgs,
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
    let cli = parse_command_line();
    match cli.command {
        Command::Serve { store, listen } => serve(load_config(&store, listen)?).await,
        Command::Migrate { store } => migrate(load_config(&store, None)?).await,
        Command::Keys { store, action } => keys(load_config(&store, None)?, action).await,
        Command::Listen(args) => listen_command(args).await,
        Command::Trigger(args) => trigger_command(args).await,
    }
}

/// The arguments, with `trigger --help` listing the supported events.
fn parse_command_line() -> Cli {
    let command = Cli::command().mut_subcommand("trigger", |trigger_command| {
        trigger_command.after_help(trigger::supported_events_help())
    });
    let matches = command.get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|error| error.exit())
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

async fn listen_command(args: ListenArgs) -> anyhow::Result<()> {
    logging::init(LogFormat::Text, "warn");
    let options = ListenOptions {
        api_base: args.api.api_base,
        api_key: args.api.api_key,
        forward_to: args.forward_to,
        events: args.events,
        connect: args.connect,
    };
    let stop = async {
        if let Err(error) = wait_for_signal().await {
            tracing::warn!(target: "mercato::listen", %error, "cannot watch for ^C");
            std::future::pending::<()>().await;
        }
    };
    listen::listen(options, |line| println!("{line}"), stop).await
}

async fn trigger_command(args: TriggerArgs) -> anyhow::Result<()> {
    logging::init(LogFormat::Text, "warn");
    let options = TriggerOptions {
        api_base: args.api.api_base,
        api_key: args.api.api_key,
        stripe_account: args.stripe_account,
    };
    let fired = trigger::trigger(&options, &args.event).await?;
    for line in fired.lines() {
        println!("{line}");
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
