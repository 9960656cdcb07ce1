//! `agora events apply | dead-letters | replay | stats`: operating the event bus.
//!
//! The bus is the one the services use with the same environment: JetStream when
//! `AGORA_NATS_URL` is set (streams and subjects under `AGORA_EVENTS_NAMESPACE`), else
//! `agora dev`'s embedded log in `AGORA_DATA_DIR` (which these commands may open while
//! `agora dev` runs). The consumers are those of [`crate::subgraphs::ALL`].

use std::fmt::Write as _;
use std::time::Duration;

use agora_kit::Settings;
use agora_kit::events::{
    self, BusTuning, ConsumerSpec, ConsumerStats, DeadLetter, ReplaySelection, topology,
};
use clap::Subcommand;

use crate::output::emit;
use crate::subgraphs;

/// What `agora events` does.
#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// Creates or updates every stream (one per domain, and DEADLETTER) and every durable
    /// consumer, as the services do at start-up; idempotent.
    Apply {
        /// Print the definitions (JSON, as `nats stream add --config` takes them) and apply
        /// nothing.
        #[arg(long)]
        print: bool,
    },
    /// Lists the events consumers gave up on: the consumer, the event, attempts and the
    /// last error.
    DeadLetters {
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Re-drives dead letters to the consumer that gave up on each (and to no other), and
    /// removes them from the dead letters.
    Replay {
        /// A dead letter's id (as `dead-letters` lists it), or an event id (every dead
        /// letter of that event).
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        id: Option<String>,
        /// Every dead letter.
        #[arg(long)]
        all: bool,
    },
    /// Per consumer: events pending, in flight, redelivered, dead-lettered, and the lag
    /// (how long the oldest unacknowledged event has waited).
    Stats {
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// Every durable consumer of every subgraph this build knows.
pub fn consumers() -> Vec<ConsumerSpec> {
    subgraphs::ALL
        .iter()
        .flat_map(|s| (s.consumers)())
        .collect()
}

/// Runs one `agora events` command against the bus the environment names.
pub async fn run(command: EventsCommand) -> Result<(), String> {
    let settings = Settings::from_lookup("events", |key| std::env::var(key).ok())
        .map_err(|e| e.to_string())?;
    let config = settings.bus();
    let consumers = consumers();
    if let EventsCommand::Apply { print: true } = command {
        let definitions =
            topology::definitions(&config.namespace, &consumers, &BusTuning::default())
                .map_err(|e| e.to_string())?;
        for definition in definitions {
            emit(format_args!(
                "# {} {} (stream {})\n{}\n",
                definition.kind,
                definition.name,
                definition.stream,
                serde_json::to_string_pretty(&definition.config).map_err(|e| e.to_string())?
            ));
        }
        return Ok(());
    }
    let admin = events::connect_admin(&config)
        .await
        .map_err(|e| e.to_string())?;
    match command {
        EventsCommand::Apply { .. } => {
            for applied in admin.apply(&consumers).await.map_err(|e| e.to_string())? {
                emit(format_args!("{:<60} {}\n", applied.object, applied.outcome));
            }
        }
        EventsCommand::DeadLetters { json } => {
            let letters = admin.dead_letters().await.map_err(|e| e.to_string())?;
            emit(render_dead_letters(&letters, json));
        }
        EventsCommand::Replay { id, all } => {
            let selection = match (id, all) {
                (_, true) => ReplaySelection::All,
                (Some(id), false) => id.parse()?,
                (None, false) => return Err("name a dead letter or pass --all".to_owned()),
            };
            let replayed = admin.replay(&selection).await.map_err(|e| e.to_string())?;
            emit(format_args!("replayed {replayed} dead letters\n"));
        }
        EventsCommand::Stats { json } => {
            let stats = admin.stats(&consumers).await.map_err(|e| e.to_string())?;
            emit(render_stats(&stats, json));
        }
    }
    Ok(())
}

/// The dead letters as a table, or as JSON lines.
fn render_dead_letters(letters: &[DeadLetter], json: bool) -> String {
    let mut out = String::new();
    if json {
        for letter in letters {
            let line = serde_json::json!({
                "id": letter.id,
                "consumer": letter.consumer,
                "stream_seq": letter.stream_seq,
                "attempts": letter.attempts,
                "error": letter.error,
                "dead_at": letter.dead_at.to_rfc3339(),
                "event": letter.event,
            });
            let _ = writeln!(out, "{line}");
        }
        return out;
    }
    let _ = writeln!(
        out,
        "{:>6}  {:<28} {:<28} {:<36} {:>8}  {:<20}  error",
        "id", "consumer", "type", "event", "attempts", "dead at"
    );
    for letter in letters {
        let (event_type, event_id) = letter.event.as_ref().map_or_else(
            || ("(gone from its stream)".to_owned(), String::new()),
            |e| (e.event_type.clone(), e.id.to_string()),
        );
        let _ = writeln!(
            out,
            "{:>6}  {:<28} {:<28} {:<36} {:>8}  {:<20}  {}",
            letter.id,
            letter.consumer,
            event_type,
            event_id,
            letter.attempts,
            letter.dead_at.format("%Y-%m-%d %H:%M:%S"),
            letter.error
        );
    }
    let _ = writeln!(out, "{} dead letters", letters.len());
    out
}

/// The consumers' figures as a table, or as JSON lines.
fn render_stats(stats: &[ConsumerStats], json: bool) -> String {
    let mut out = String::new();
    if json {
        for s in stats {
            let line = serde_json::json!({
                "consumer": s.consumer,
                "pending": s.pending,
                "in_flight": s.in_flight,
                "redelivered": s.redelivered,
                "dead_lettered": s.dead_lettered,
                "lag_ms": s.lag.as_millis(),
            });
            let _ = writeln!(out, "{line}");
        }
        return out;
    }
    let _ = writeln!(
        out,
        "{:<28} {:>9} {:>9} {:>11} {:>13} {:>10}",
        "consumer", "pending", "in flight", "redelivered", "dead-lettered", "lag"
    );
    for s in stats {
        let _ = writeln!(
            out,
            "{:<28} {:>9} {:>9} {:>11} {:>13} {:>10}",
            s.consumer,
            s.pending,
            s.in_flight,
            s.redelivered,
            s.dead_lettered,
            lag(s.lag)
        );
    }
    out
}

/// A lag for people: "0", "850ms", "12.3s", "4m05s".
fn lag(lag: Duration) -> String {
    match lag.as_millis() {
        0 => "0".to_owned(),
        ms @ 1..1_000 => format!("{ms}ms"),
        ms @ 1_000..60_000 => format!("{:.1}s", ms as f64 / 1_000.0),
        ms => format!("{}m{:02}s", ms / 60_000, (ms % 60_000) / 1_000),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_subgraph_consumer_has_a_distinct_durable_name() {
        let consumers = consumers();
        let mut names: Vec<String> = consumers
            .iter()
            .map(|c| format!("{}-{}", c.name, c.domain))
            .collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), consumers.len());
        assert!(consumers.len() >= 10, "{names:?}");
    }

    #[test]
    fn lags_read_as_milliseconds_seconds_or_minutes() {
        assert_eq!(lag(Duration::ZERO), "0");
        assert_eq!(lag(Duration::from_millis(850)), "850ms");
        assert_eq!(lag(Duration::from_millis(12_340)), "12.3s");
        assert_eq!(lag(Duration::from_secs(245)), "4m05s");
    }
}
