//! Schema registry checks (`agora schema check | publish | log`), offline, in any CI.
//!
//! `check` composes the subgraphs, diffs the public API schema against a base, validates
//! the frontends' registered operations against the new schema, and lints it. It fails
//! on composition errors, on an invalid registered operation, and on a breaking change
//! that a registered operation uses, unless `schema-approvals.toml` approves that change;
//! breaking changes no operation uses are warnings.
//!
//! # Layout
//! - [`api`]: the public API schema of a supergraph, as the router derives it.
//! - [`diff`]: changes between two public schemas, classified BREAKING / DANGEROUS / SAFE.
//! - [`operations`]: registered operations, their validation, and what they use.
//! - [`approvals`]: the breaking changes `schema-approvals.toml` lets through.
//! - [`lints`]: warnings about the public schema.
//! - [`registry`]: published versions under `registry/`.
//! - [`report`]: the check's output for people and as JSON.

pub mod api;
pub mod approvals;
pub mod diff;
pub mod lints;
pub mod operations;
pub mod registry;
pub mod report;

use std::path::{Path, PathBuf};

use serde::Serialize;

use self::api::ApiSchema;
use self::approvals::Approvals;
use self::diff::{Change, Level};
use self::lints::Lint;
use self::operations::{Operation, Usage};
use crate::compose::{self, ComposeError};

/// Where `check` finds its inputs.
pub struct CheckOptions {
    /// `supergraph.yaml`; the subgraphs are composed from code as it lists them.
    pub config: PathBuf,
    /// A composed supergraph to check instead of composing the subgraphs.
    pub supergraph: Option<PathBuf>,
    /// The base: a file, a registry directory (its latest version), or a git ref (its
    /// `supergraph.graphql`). `None`: the committed `supergraph.graphql` (`HEAD`).
    pub base: Option<String>,
    /// The registered operations.
    pub operations: PathBuf,
    /// The approvals file.
    pub approvals: PathBuf,
}

/// Everything a check found.
#[derive(Debug, Serialize)]
pub struct Report {
    /// What the new schema was compared with.
    pub base: String,
    /// Composition errors; nothing else is checked when there are some.
    pub composition_errors: Vec<String>,
    /// Public API changes, breaking first.
    pub changes: Vec<CheckedChange>,
    /// Every registered operation and its validation errors against the new schema.
    pub operations: Vec<CheckedOperation>,
    /// Lint warnings about the new schema.
    pub lints: Vec<Lint>,
    /// Why the check fails; empty when it passes.
    pub failures: Vec<String>,
}

/// A change and the operations it concerns.
#[derive(Debug, Serialize)]
pub struct CheckedChange {
    /// The change.
    #[serde(flatten)]
    pub change: Change,
    /// Registered operations a breaking or dangerous change reaches, as
    /// `Name (source)`.
    pub used_by: Vec<String>,
    /// The reason from `schema-approvals.toml`, if approved.
    pub approved: Option<String>,
}

/// A registered operation's result.
#[derive(Debug, Serialize)]
pub struct CheckedOperation {
    /// The operation's name.
    pub name: String,
    /// Its file (and manifest id).
    pub source: String,
    /// Why the new schema does not accept it; empty when it does.
    pub errors: Vec<String>,
    /// Whether its errors come only from approved breaking changes (it was valid
    /// against the base), so they do not fail the check.
    pub approved: bool,
}

impl Report {
    /// Whether the check passes.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Runs the check: composes (or reads `options.supergraph`), resolves the base, and
/// compares. `Err` is for inputs that cannot be read at all, not for failed checks.
pub fn check(options: &CheckOptions) -> Result<Report, String> {
    let root = match options.config.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let (base_label, base_sdl) = read_base(options.base.as_deref(), root)?;
    let new_sdl = match &options.supergraph {
        Some(path) => read(path)?,
        None => match compose::run(&options.config) {
            Ok(output) => output.supergraph().to_owned(),
            Err(ComposeError::Composition(errors)) => {
                return Ok(Report {
                    base: base_label,
                    composition_errors: errors,
                    changes: Vec::new(),
                    operations: Vec::new(),
                    lints: Vec::new(),
                    failures: vec!["the subgraphs do not compose".to_owned()],
                });
            }
            Err(error) => return Err(error.to_string()),
        },
    };
    let base = ApiSchema::from_supergraph(&base_sdl).map_err(|e| format!("{base_label}: {e}"))?;
    let new = ApiSchema::from_supergraph(&new_sdl)?;
    let operations = operations::load(&options.operations)?;
    let approvals = Approvals::load(&options.approvals)?;
    Ok(compare(base_label, &base, &new, &operations, &approvals))
}

/// The check proper, on schemas and operations already read.
pub fn compare(
    base_label: String,
    base: &ApiSchema,
    new: &ApiSchema,
    operations: &[Operation],
    approvals: &Approvals,
) -> Report {
    let changes = diff::diff(base, new);
    let usages: Vec<Option<Usage>> = operations
        .iter()
        .map(|op| {
            op.document
                .as_ref()
                .ok()
                .map(|d| Usage::of(d, &base.document))
        })
        .collect();
    let mut failures = Vec::new();

    let checked_changes: Vec<CheckedChange> = changes
        .into_iter()
        .map(|change| {
            let used_by: Vec<String> = operations
                .iter()
                .zip(&usages)
                .filter(|(_, usage)| usage.as_ref().is_some_and(|u| u.affected_by(&change)))
                .map(|(op, _)| op.label())
                .collect();
            let approved = approvals.reason(&change.id).map(str::to_owned);
            if change.level == Level::Breaking && !used_by.is_empty() && approved.is_none() {
                failures.push(format!(
                    "{} breaks {} (approve it in schema-approvals.toml if intended)",
                    change.id,
                    used_by.join(", ")
                ));
            }
            CheckedChange {
                change,
                used_by,
                approved,
            }
        })
        .collect();

    let checked_operations = operations
        .iter()
        .map(|operation| {
            let errors = match &operation.document {
                Ok(document) => agora_router::validation_errors(&new.document, document),
                Err(syntax) => vec![format!("Syntax error: {syntax}")],
            };
            let label = operation.label();
            // Invalid now but valid before, and broken only by approved changes.
            let approved = !errors.is_empty()
                && operation.document.as_ref().is_ok_and(|document| {
                    agora_router::validation_errors(&base.document, document).is_empty()
                })
                && {
                    let mut breaking = checked_changes
                        .iter()
                        .filter(|c| c.change.level == Level::Breaking && c.used_by.contains(&label))
                        .peekable();
                    breaking.peek().is_some() && breaking.all(|c| c.approved.is_some())
                };
            if !errors.is_empty() && !approved {
                failures.push(format!(
                    "operation {label} is invalid against the new schema: {}",
                    errors.join("; ")
                ));
            }
            CheckedOperation {
                name: operation.name.clone(),
                source: operation.source.clone(),
                errors,
                approved,
            }
        })
        .collect();

    Report {
        base: base_label,
        composition_errors: Vec::new(),
        changes: checked_changes,
        operations: checked_operations,
        lints: lints::lint(new),
        failures,
    }
}

/// The base supergraph SDL and how to name it: `spec` is a file, a registry directory,
/// or a git ref; without one, `supergraph.graphql` as committed at `HEAD` (the working
/// copy outside a git repository).
fn read_base(spec: Option<&str>, root: &Path) -> Result<(String, String), String> {
    let Some(spec) = spec else {
        let label = "HEAD:supergraph.graphql".to_owned();
        return match git_show(root, "HEAD", "supergraph.graphql") {
            Some(sdl) => Ok((label, sdl)),
            None => {
                let path = root.join("supergraph.graphql");
                Ok((path.display().to_string(), read(&path)?))
            }
        };
    };
    let path = Path::new(spec);
    if path.is_file() {
        return Ok((spec.to_owned(), read(path)?));
    }
    if path.is_dir() {
        let (latest, sdl) = registry::latest_supergraph(path)?
            .ok_or_else(|| format!("{spec}: no published version"))?;
        return Ok((latest.display().to_string(), sdl));
    }
    git_show(root, spec, "supergraph.graphql")
        .map(|sdl| (format!("{spec}:supergraph.graphql"), sdl))
        .ok_or_else(|| format!("--base {spec}: not a file, a registry directory, or a git ref"))
}

/// A file at a git revision, by its path relative to `root`.
fn git_show(root: &Path, revision: &str, file: &str) -> Option<String> {
    let output = std::process::Command::new("git")
        .current_dir(root)
        .args(["show", &format!("{revision}:./{file}")])
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|error| format!("{}: {error}", path.display()))
}

/// `agora schema publish`: composes and records a new version in `registry` unless the
/// latest one has the same supergraph. Returns a line for people.
pub fn publish(config: &Path, registry_dir: &Path) -> Result<String, String> {
    let output = compose::run(config).map_err(|error| error.to_string())?;
    let names = subgraph_names(config)?;
    let new = ApiSchema::from_supergraph(output.supergraph())?;
    let changes = match registry::latest_supergraph(registry_dir)? {
        Some((path, sdl)) => {
            let base =
                ApiSchema::from_supergraph(&sdl).map_err(|e| format!("{}: {e}", path.display()))?;
            diff::diff(&base, &new)
        }
        None => Vec::new(),
    };
    let subgraphs = names
        .into_iter()
        .zip(output.files.iter().map(|(_, sdl)| sdl.as_str()))
        .collect();
    let (version, written) = registry::publish(
        registry_dir,
        registry::Draft {
            supergraph: output.supergraph(),
            subgraphs,
            changes,
        },
    )?;
    Ok(if written {
        format!(
            "published v{:06} ({}, {} changes)",
            version.version,
            version.hash,
            version.changes.len()
        )
    } else {
        format!(
            "unchanged: v{:06} already has this supergraph ({})",
            version.version, version.hash
        )
    })
}

/// The subgraph names of `supergraph.yaml`, in the order `compose::run` prints them.
fn subgraph_names(config: &Path) -> Result<Vec<String>, String> {
    let parsed: compose::SupergraphConfig = serde_yaml::from_str(&read(config)?)
        .map_err(|error| format!("{}: {error}", config.display()))?;
    Ok(parsed.subgraphs.into_keys().collect())
}

/// `agora schema log`: one line per published version, newest first.
pub fn log(registry_dir: &Path) -> Result<String, String> {
    let versions = registry::versions(registry_dir)?;
    if versions.is_empty() {
        return Ok(format!(
            "{}: no published version\n",
            registry_dir.display()
        ));
    }
    let mut out = String::new();
    for version in versions.iter().rev() {
        let breaking = version
            .changes
            .iter()
            .filter(|c| c.level == Level::Breaking)
            .count();
        let commit = version
            .git_commit
            .as_deref()
            .map_or("no commit".to_owned(), |c| {
                let short = c.get(..10).unwrap_or(c);
                format!("{short}{}", if version.git_dirty { "+dirty" } else { "" })
            });
        out.push_str(&format!(
            "v{:06}  {}  {}  {}  {} changes ({breaking} breaking)  {}\n",
            version.version,
            version.time,
            version.hash.get(..19).unwrap_or(&version.hash),
            commit,
            version.changes.len(),
            version.subgraphs.join(",")
        ));
    }
    Ok(out)
}
