//! `mercato`: the server (`serve`), its schema (`migrate`), the operator's
//! key management (`keys`), the client commands that talk to a running
//! server over its API (`listen`, `trigger`, `import`), and the catalog
//! generator for tests and benchmarks (`gen-catalog`).

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use mercato::client::api::DEFAULT_API_BASE;
use mercato::client::gen_catalog::{self, CatalogFormat, GenCatalogError, GenCatalogOptions};
use mercato::client::import::{self, ImportMode, ImportOptions};
use mercato::client::import_progress::ProgressDisplay;
use mercato::client::listen::{self, ListenOptions};
use mercato::client::trigger::{self, TriggerOptions};
use mercato::keys_command::{self, CreateKey};
use mercato::{logging, server};
use mercato_catalog::FeedFormat;
use mercato_core::config::ConfigOverrides;
use mercato_core::{Config, LogFormat};
use mercato_store::keys::KeyKind;

/// mimalloc rather than the system allocator: an import allocates and frees
/// millions of small strings across threads, where glibc's allocator spent
/// about a third of the CPU time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// Import a catalog feed into a connected account: upload, ImportSet,
    /// progress, reports. Exits 0 on success (even with row errors), 1 when
    /// the ImportSet failed, 2 when a request failed.
    Import(ImportArgs),
    /// Write a realistic product catalog feed, some rows broken on purpose.
    GenCatalog(GenCatalogArgs),
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

#[derive(Args)]
struct ImportArgs {
    /// The feed to import, CSV (.csv) or TSV (.tsv).
    file: PathBuf,
    /// The connected account whose catalog it is (acct_...).
    #[arg(long)]
    account: String,
    #[arg(long, value_enum, default_value_t = ImportFormat::ProductCatalogFeed)]
    format: ImportFormat,
    /// `replace` also withdraws the products the file does not name.
    #[arg(long, value_enum, default_value_t = ImportModeArg::Upsert)]
    mode: ImportModeArg,
    /// Check every row and write the reports, but change no product.
    #[arg(long)]
    validate_only: bool,
    /// Where the error and warning reports are saved.
    #[arg(long, default_value = ".")]
    report_dir: PathBuf,
    #[command(flatten)]
    api: ApiArgs,
}

#[derive(Clone, Copy, ValueEnum)]
#[value(rename_all = "snake_case")]
enum ImportFormat {
    ProductCatalogFeed,
    InventoryFeed,
}

#[derive(Clone, Copy, ValueEnum)]
enum ImportModeArg {
    Upsert,
    Replace,
}

#[derive(Args)]
struct GenCatalogArgs {
    /// Data rows to write (about 500 bytes each).
    #[arg(long)]
    rows: u64,
    /// The same seed writes the same bytes.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The share of rows broken on purpose, 0.0 to 1.0.
    #[arg(long, default_value_t = 0.0)]
    error_rate: f64,
    #[arg(long, value_enum, default_value_t = GenFormat::Csv)]
    format: GenFormat,
    /// Write here instead of to stdout.
    #[arg(long)]
    output: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum GenFormat {
    Csv,
    Tsv,
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
        Command::Import(args) => import_command(args).await,
        Command::GenCatalog(args) => gen_catalog_command(&args),
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

/// Runs the import; prints the summary, or the error and exits 2.
async fn import_command(args: ImportArgs) -> anyhow::Result<()> {
    logging::init(LogFormat::Text, "warn");
    let options = ImportOptions {
        api_base: args.api.api_base,
        api_key: args.api.api_key,
        file: args.file,
        account: args.account,
        format: match args.format {
            ImportFormat::ProductCatalogFeed => FeedFormat::ProductCatalog,
            ImportFormat::InventoryFeed => FeedFormat::Inventory,
        },
        mode: match args.mode {
            ImportModeArg::Upsert => ImportMode::Upsert,
            ImportModeArg::Replace => ImportMode::Replace,
        },
        validate_only: args.validate_only,
        report_dir: args.report_dir,
        progress: ProgressDisplay::Stderr,
    };
    let outcome = match import::import(options).await {
        Ok(outcome) => outcome,
        Err(error) => {
            eprintln!("Error: {error:#}");
            std::process::exit(2);
        }
    };
    for line in outcome.summary_lines() {
        println!("{line}");
    }
    match outcome.exit_code() {
        0 => Ok(()),
        code => std::process::exit(code),
    }
}

/// Writes the catalog to `--output` or stdout; a summary goes to stderr.
fn gen_catalog_command(args: &GenCatalogArgs) -> anyhow::Result<()> {
    let options = GenCatalogOptions {
        rows: args.rows,
        seed: args.seed,
        error_rate: args.error_rate,
        format: match args.format {
            GenFormat::Csv => CatalogFormat::Csv,
            GenFormat::Tsv => CatalogFormat::Tsv,
        },
    };
    let written = match &args.output {
        Some(path) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            gen_catalog::write_catalog(&options, file)
        }
        None => gen_catalog::write_catalog(&options, std::io::stdout().lock()),
    };
    let catalog = match written {
        Ok(catalog) => catalog,
        Err(GenCatalogError::Write(error)) if error.kind() == std::io::ErrorKind::BrokenPipe => {
            return Ok(());
        }
        Err(error) => return Err(error.into()),
    };
    eprintln!(
        "Wrote {} rows ({} broken on purpose), {} bytes{}",
        catalog.rows,
        catalog.broken.len(),
        catalog.bytes,
        args.output
            .as_ref()
            .map(|path| format!(", to {}", path.display()))
            .unwrap_or_default(),
    );
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
