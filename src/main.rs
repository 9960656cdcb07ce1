//! `agora`: run the platform, compose the supergraph, print a subgraph's SDL.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use agora::platform::{Platform, PlatformConfig};
use agora::seed::{self, SeedConfig};
use agora::{compose, subgraphs};
use clap::{Parser, Subcommand};

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
    /// Prints one subgraph's federation SDL.
    Sdl {
        /// The subgraph's name.
        subgraph: String,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    agora_kit::telemetry::init();
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
            println!(
                "Agora is running: open {} for GraphiQL",
                platform.graphql_url()
            );
            platform
                .run_until(agora_kit::service::shutdown_signal())
                .await;
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
                println!("supergraph.graphql and every schema.graphql are current");
            } else {
                output.write().map_err(|e| e.to_string())?;
                println!("composed {} files", output.files.len());
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
            println!(
                "seeded {users} users, {} follows, {posts} posts, {likes} likes, {comments} comments",
                users * follows
            );
            Ok(())
        }
        Command::Sdl { subgraph } => {
            let found =
                subgraphs::find(&subgraph).ok_or_else(|| format!("no subgraph {subgraph:?}"))?;
            print!("{}", (found.sdl)());
            Ok(())
        }
    }
}
