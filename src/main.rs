//! `agora`: run the platform, compose the supergraph, check and publish it, print a
//! subgraph's SDL.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use agora::output::emit;
use agora::platform::{Platform, PlatformConfig};
use agora::seed::{self, SeedConfig};
use agora::{compose, schema, subgraphs};
use agora_kit::Settings;
use clap::{Parser, Subcommand};

#[global_allocator]
static ALLOCATOR: agora_kit::Allocator = agora_kit::Allocator;

/// Agora: a GraphQL federation social platform.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs every subgraph and the router in one process (SQLite, in-process events by
    /// default; Postgres and JetStream when AGORA_<NAME>_DATABASE_URL and AGORA_NATS_URL
    /// are set). GraphiQL is served at the router's /graphql.
    Dev {
        /// Where the router listens.
        #[arg(long, env = "AGORA_ROUTER_ADDR", default_value = "127.0.0.1:4000")]
        listen: SocketAddr,
    },
    /// Prints each subgraph's SDL from code into its schema.graphql and composes them into
    /// supergraph.graphql. Writes nothing when composition fails.
    Compose {
        /// The rover-style subgraph list.
        #[arg(long, default_value = "supergraph.yaml")]
        config: PathBuf,
        /// Write nothing; fail when a committed file differs from what composition gives.
        #[arg(long)]
        check: bool,
    },
    /// Fills a running platform with users, follows, posts, likes and comments through
    /// its API (for benchmarks and demos). Seeded user n signs in as seed_<n> (5 digits)
    /// with the password seed_<n>-password.
    Seed {
        /// The router's GraphQL endpoint.
        #[arg(long, default_value = "http://127.0.0.1:4000/graphql")]
        url: String,
        /// Accounts to create.
        #[arg(long, default_value_t = 1_000)]
        users: usize,
        /// How many others each user follows.
        #[arg(long, default_value_t = 20)]
        follows: usize,
        /// Posts to create.
        #[arg(long, default_value_t = 20_000)]
        posts: usize,
        /// Likes to create.
        #[arg(long, default_value_t = 100_000)]
        likes: usize,
        /// Comments to create.
        #[arg(long, default_value_t = 20_000)]
        comments: usize,
        /// Requests in flight at once.
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        /// Seed of the random choices (the same seed gives the same data).
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Brings every subgraph's database (or one subgraph's) up to its latest migration:
    /// the deployment step before new versions start. Databases come from
    /// AGORA_<NAME>_DATABASE_URL (default: SQLite files in AGORA_DATA_DIR).
    Migrate {
        /// Only this subgraph.
        #[arg(long)]
        subgraph: Option<String>,
    },
    /// Prints one subgraph's federation SDL.
    Sdl {
        /// The subgraph's name.
        subgraph: String,
    },
    /// Schema registry: check changes against the base and the registered operations,
    /// publish versions, list them.
    Schema {
        #[command(subcommand)]
        command: SchemaCommand,
    },
    /// The event bus: apply its streams and consumers, list and replay dead letters,
    /// per-consumer figures.
    Events {
        #[command(subcommand)]
        command: agora::events::EventsCommand,
    },
}

#[derive(Subcommand)]
enum SchemaCommand {
    /// Composes the subgraphs and reports composition errors, public API changes against
    /// the base (BREAKING / DANGEROUS / SAFE), registered operations the new schema
    /// refuses, and lints. Fails on composition errors, invalid operations, and breaking
    /// changes a registered operation uses unless schema-approvals.toml approves them.
    Check {
        /// A supergraph file, a registry directory (its latest version), or a git ref
        /// (its supergraph.graphql). Default: supergraph.graphql as committed at HEAD.
        #[arg(long)]
        base: Option<String>,
        /// Check this composed supergraph instead of composing the subgraphs from code.
        #[arg(long)]
        supergraph: Option<PathBuf>,
        /// The rover-style subgraph list.
        #[arg(long, default_value = "supergraph.yaml")]
        config: PathBuf,
        /// The registered client operations (.graphql files, persisted-query manifests).
        #[arg(long, default_value = "operations")]
        operations: PathBuf,
        /// Approved breaking changes.
        #[arg(long, default_value = "schema-approvals.toml")]
        approvals: PathBuf,
        /// `text` for people, `json` for machines.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// List every safe change, valid operation and lint.
        #[arg(long, short)]
        verbose: bool,
    },
    /// Composes the subgraphs and records the supergraph and subgraph SDLs as the next
    /// version in the registry, unless the latest version has the same supergraph.
    Publish {
        /// The rover-style subgraph list.
        #[arg(long, default_value = "supergraph.yaml")]
        config: PathBuf,
        /// The registry directory.
        #[arg(long, default_value = "registry")]
        registry: PathBuf,
    },
    /// Lists the published versions, newest first.
    Log {
        /// The registry directory.
        #[arg(long, default_value = "registry")]
        registry: PathBuf,
    },
}

/// How `agora schema check` prints its report.
#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    Text,
    Json,
}

#[tokio::main]
async fn main() -> ExitCode {
    let _telemetry = agora_telemetry::init("agora");
    match run(Cli::parse().command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> Result<(), String> {
    match command {
        Command::Dev { listen } => {
            let platform = Platform::start(PlatformConfig {
                lookup: Arc::new(|key| std::env::var(key).ok()),
                router_addr: listen,
                ephemeral_ports: false,
                introspection: true,
            })
            .await
            .map_err(|e| e.to_string())?;
            for (name, addr) in &platform.subgraph_addrs {
                tracing::info!(subgraph = name, %addr, "subgraph listening");
            }
            emit(format_args!(
                "Agora is running: open {} for GraphiQL\n",
                platform.graphql_url()
            ));
            platform
                .run_until(agora_kit::service::shutdown_signal())
                .await;
            Ok(())
        }
        Command::Migrate { subgraph } => {
            let chosen: Vec<&subgraphs::Subgraph> = match &subgraph {
                Some(name) => vec![
                    subgraphs::find(name).ok_or_else(|| format!("no subgraph is called {name}"))?,
                ],
                None => subgraphs::ALL.iter().collect(),
            };
            for subgraph in chosen {
                let settings = Settings::from_lookup(subgraph.name, |key| std::env::var(key).ok())
                    .map_err(|e| e.to_string())?;
                (subgraph.migrate)(settings.database_url)
                    .await
                    .map_err(|e| format!("{}: {e}", subgraph.name))?;
                emit(format_args!("{}: migrated\n", subgraph.name));
            }
            Ok(())
        }
        Command::Compose { config, check } => {
            let output = compose::run(&config).map_err(|e| e.to_string())?;
            if check {
                let stale = output.stale();
                if !stale.is_empty() {
                    let names: Vec<_> = stale.iter().map(|p| p.display().to_string()).collect();
                    return Err(format!("stale, run `agora compose`: {}", names.join(", ")));
                }
                emit("supergraph.graphql and every schema.graphql are current\n");
            } else {
                output.write().map_err(|e| e.to_string())?;
                emit(format_args!("composed {} files\n", output.files.len()));
            }
            Ok(())
        }
        Command::Seed {
            url,
            users,
            follows,
            posts,
            likes,
            comments,
            concurrency,
            seed,
        } => {
            let config = SeedConfig {
                url,
                users,
                follows_per_user: follows,
                posts,
                likes,
                comments,
                concurrency,
                seed,
            };
            seed::run(&config).await.map_err(|e| e.to_string())?;
            emit(format_args!(
                "seeded {users} users, {} follows, {posts} posts, {likes} likes, {comments} comments\n",
                users * follows
            ));
            Ok(())
        }
        Command::Sdl { subgraph } => {
            let found =
                subgraphs::find(&subgraph).ok_or_else(|| format!("no subgraph {subgraph:?}"))?;
            emit((found.sdl)());
            Ok(())
        }
        Command::Schema { command } => run_schema(command),
        Command::Events { command } => agora::events::run(command).await,
    }
}

fn run_schema(command: SchemaCommand) -> Result<(), String> {
    match command {
        SchemaCommand::Check {
            base,
            supergraph,
            config,
            operations,
            approvals,
            format,
            verbose,
        } => {
            let report = schema::check(&schema::CheckOptions {
                config,
                supergraph,
                base,
                operations,
                approvals,
            })?;
            match format {
                Format::Text => emit(schema::report::text(&report, verbose)),
                Format::Json => emit(format_args!("{}\n", schema::report::json(&report))),
            }
            if report.passed() {
                Ok(())
            } else {
                Err(format!(
                    "schema check failed ({} problems)",
                    report.failures.len()
                ))
            }
        }
        SchemaCommand::Publish { config, registry } => {
            emit(format_args!("{}\n", schema::publish(&config, &registry)?));
            Ok(())
        }
        SchemaCommand::Log { registry } => {
            emit(schema::log(&registry)?);
            Ok(())
        }
    }
}
