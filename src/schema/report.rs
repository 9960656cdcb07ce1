//! The check's output: text for people, JSON for machines (the [`Report`] as it is).
//!
//! Text lists every breaking and dangerous change, every invalid operation and every
//! failure. Safe changes and lints are listed one by one up to [`LISTED`] of each; past
//! that (a new subgraph adds hundreds of fields, a lint rule switched on may warn
//! everywhere) they are counted by kind, and `--verbose` or `--format json` lists them.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::diff::Level;
use super::{CheckedChange, Report};

/// How many safe changes, and how many lints, are listed before they are only counted.
pub const LISTED: usize = 20;

/// The report as pretty JSON.
pub fn json(report: &Report) -> String {
    serde_json::to_string_pretty(report)
        .unwrap_or_else(|error| format!("{{\"error\":\"{error}\"}}"))
}

/// The report as text; `verbose` lists everything.
pub fn text(report: &Report, verbose: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Schema check against {}", report.base);
    if !report.composition_errors.is_empty() {
        let _ = writeln!(out, "\nComposition FAILED:");
        for error in &report.composition_errors {
            let _ = writeln!(out, "  {error}");
        }
    } else {
        changes(&mut out, &report.changes, verbose);
        operations(&mut out, report, verbose);
        lints(&mut out, report, verbose);
    }
    if report.passed() {
        let warnings = unused_breaking(&report.changes).count() + report.lints.len();
        let _ = writeln!(out, "\nPASSED ({warnings} warnings)");
    } else {
        let _ = writeln!(out, "\nFAILED:");
        for failure in &report.failures {
            let _ = writeln!(out, "  - {failure}");
        }
    }
    out
}

fn changes(out: &mut String, changes: &[CheckedChange], verbose: bool) {
    let count = |level| changes.iter().filter(|c| c.change.level == level).count();
    let safe = count(Level::Safe);
    let _ = writeln!(
        out,
        "\nChanges: {} breaking, {} dangerous, {safe} safe",
        count(Level::Breaking),
        count(Level::Dangerous)
    );
    let list_safe = verbose || safe <= LISTED;
    for checked in changes {
        let change = &checked.change;
        if change.level == Level::Safe && !list_safe {
            continue;
        }
        let level = name(change.level);
        let _ = writeln!(out, "  {level:<9}  {}: {}", change.id, change.message);
        if let Some(reason) = &checked.approved {
            let _ = writeln!(out, "             approved: {reason}");
        }
        if !checked.used_by.is_empty() {
            let _ = writeln!(out, "             used by {}", checked.used_by.join(", "));
        } else if change.level == Level::Breaking {
            let _ = writeln!(
                out,
                "             warning: no registered operation uses it (clients outside \
                 operations/ may)"
            );
        }
    }
    if !list_safe {
        let mut by_kind: BTreeMap<String, usize> = BTreeMap::new();
        for checked in changes.iter().filter(|c| c.change.level == Level::Safe) {
            *by_kind.entry(checked.change.kind.name()).or_default() += 1;
        }
        let counts: Vec<String> = by_kind.iter().map(|(k, n)| format!("{n} {k}")).collect();
        let _ = writeln!(
            out,
            "  SAFE       {} (--verbose lists them)",
            counts.join(", ")
        );
    }
}

fn operations(out: &mut String, report: &Report, verbose: bool) {
    let invalid = report
        .operations
        .iter()
        .filter(|o| !o.errors.is_empty())
        .count();
    let _ = writeln!(
        out,
        "\nOperations: {} registered, {invalid} invalid against the new schema",
        report.operations.len()
    );
    for operation in &report.operations {
        if operation.errors.is_empty() && !verbose {
            continue;
        }
        let mark = match (operation.errors.is_empty(), operation.approved) {
            (true, _) => "ok      ",
            (false, true) => "approved",
            (false, false) => "INVALID ",
        };
        let _ = writeln!(out, "  {mark}  {} ({})", operation.name, operation.source);
        for error in &operation.errors {
            let _ = writeln!(out, "            {error}");
        }
    }
}

fn lints(out: &mut String, report: &Report, verbose: bool) {
    let _ = writeln!(out, "\nLints: {} warnings", report.lints.len());
    if verbose || report.lints.len() <= LISTED {
        for lint in &report.lints {
            let _ = writeln!(out, "  {}: {}", name(lint.rule), lint.message);
        }
        return;
    }
    let mut by_rule: BTreeMap<String, usize> = BTreeMap::new();
    for lint in &report.lints {
        *by_rule.entry(name(lint.rule)).or_default() += 1;
    }
    let counts: Vec<String> = by_rule.iter().map(|(r, n)| format!("{n} {r}")).collect();
    let _ = writeln!(
        out,
        "  {} (--verbose or --format json lists them)",
        counts.join(", ")
    );
}

/// A unit enum's name as serialized: `BREAKING`, `MISSING_DESCRIPTION`.
fn name(value: impl Serialize) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Breaking changes that no registered operation uses: warnings.
fn unused_breaking(changes: &[CheckedChange]) -> impl Iterator<Item = &CheckedChange> {
    changes
        .iter()
        .filter(|c| c.change.level == Level::Breaking && c.used_by.is_empty())
}
