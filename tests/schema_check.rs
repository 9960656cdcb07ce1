//! The schema check as CI runs it, scripted: the `agora` binary checks edited copies of
//! the committed supergraph against the committed one and the platform's registered
//! operations (`operations/`); and the binary's printing ends quietly when its reader
//! goes away. No platform is started.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root, where `supergraph.graphql` and `operations/` are.
fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The committed supergraph without `type_name.field` (its line and description).
fn without_field(type_name: &str, field: &str) -> String {
    let sdl = std::fs::read_to_string(repo().join("supergraph.graphql")).unwrap();
    let mut lines: Vec<&str> = sdl.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.split_whitespace().take(2).eq(["type", type_name]))
        .unwrap_or_else(|| panic!("no type {type_name}"));
    let offset = lines[start..]
        .iter()
        .take_while(|l| !l.starts_with('}'))
        .position(|l| l.trim_start().starts_with(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no field {type_name}.{field}"));
    let end = start + offset;
    let mut first = end;
    if lines[end - 1].trim() == "\"\"\"" {
        first = end - 1;
        while lines[first - 1].trim() != "\"\"\"" {
            first -= 1;
        }
        first -= 1;
    }
    lines.drain(first..=end);
    lines.join("\n") + "\n"
}

/// Runs `agora schema check` on `supergraph` against the committed one, with the
/// given approvals file content; exit success and standard output.
fn check(dir: &Path, supergraph: &str, approvals: &str, extra: &[&str]) -> (bool, String) {
    let new = dir.join("new.graphql");
    std::fs::write(&new, supergraph).unwrap();
    let approvals_file = dir.join("schema-approvals.toml");
    std::fs::write(&approvals_file, approvals).unwrap();
    let path = |p: PathBuf| p.to_str().unwrap().to_owned();
    let output = Command::new(env!("CARGO_BIN_EXE_agora"))
        .args(["schema", "check", "--supergraph", &path(new), "--base"])
        .arg(path(repo().join("supergraph.graphql")))
        .arg("--operations")
        .arg(path(repo().join("operations")))
        .arg("--approvals")
        .arg(path(approvals_file))
        .args(extra)
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    (output.status.success(), stdout)
}

#[test]
fn removing_a_field_a_registered_operation_uses_fails_and_names_the_operation() {
    let dir = tempfile::tempdir().unwrap();

    let (passed, out) = check(dir.path(), &without_field("Post", "likeCount"), "", &[]);

    assert!(!passed, "{out}");
    assert!(
        out.contains("Changes: 1 breaking, 0 dangerous, 0 safe"),
        "{out}"
    );
    assert!(
        out.contains("FIELD_REMOVED:Post.likeCount breaks FeedPage (")
            && out.contains("feed.graphql)"),
        "{out}"
    );
    assert!(
        out.contains("operation FeedPage (")
            && out.contains("Cannot query field \"likeCount\" on type \"Post\""),
        "{out}"
    );
}

#[test]
fn removing_a_field_no_registered_operation_uses_passes_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();

    let (passed, out) = check(dir.path(), &without_field("User", "email"), "", &[]);

    assert!(passed, "{out}");
    assert!(
        out.contains("BREAKING   FIELD_REMOVED:User.email: Field `User.email` was removed"),
        "{out}"
    );
    assert!(
        out.contains("warning: no registered operation uses it"),
        "{out}"
    );
    assert!(
        out.contains("registered, 0 invalid against the new schema"),
        "{out}"
    );
}

#[test]
fn an_approved_breaking_change_passes_and_json_reports_it() {
    let dir = tempfile::tempdir().unwrap();
    let approvals = "[[approve]]\nchange = \"FIELD_REMOVED:Post.likeCount\"\n\
                     reason = \"the apps show likes from likedBy now\"\n";

    let (passed, out) = check(
        dir.path(),
        &without_field("Post", "likeCount"),
        approvals,
        &["--format", "json"],
    );

    assert!(passed, "{out}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let change = &report["changes"][0];
    assert_eq!(change["id"], "FIELD_REMOVED:Post.likeCount");
    assert_eq!(change["level"], "BREAKING");
    assert_eq!(change["approved"], "the apps show likes from likedBy now");
    assert!(change["used_by"].as_array().unwrap().len() >= 3, "{change}");
    assert_eq!(report["failures"], serde_json::json!([]));
}

#[test]
fn the_committed_supergraph_serves_every_registered_operation() {
    let dir = tempfile::tempdir().unwrap();
    let committed = std::fs::read_to_string(repo().join("supergraph.graphql")).unwrap();

    let (passed, out) = check(dir.path(), &committed, "", &["--verbose"]);

    assert!(passed, "{out}");
    for name in [
        "FeedPage",
        "ProfilePage",
        "PostPage",
        "NotificationAdded",
        "LikePost",
    ] {
        assert!(
            out.contains(&format!("ok        {name} (")),
            "{name}: {out}"
        );
    }
}

#[test]
fn printing_to_a_reader_that_went_away_ends_quietly() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_agora"))
        .args(["sdl", "content"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // `| head` that has read enough: before anything is written
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{:?}: {stderr}", output.status);
    assert!(!stderr.contains("panicked"), "{stderr}");
}
