//! The schema registry: a directory (`registry/`) with one entry per published version,
//! kept in git beside the code, so it needs no hosted service.
//!
//! ```text
//! registry/v000001/version.json        hash, time, git commit, subgraphs, changes
//! registry/v000001/supergraph.graphql  what the router serves
//! registry/v000001/subgraphs/<name>.graphql
//! ```
//!
//! Version directories are numbered with six digits so that name order is publication
//! order: the router, given the directory (`agora-router --supergraph registry/`),
//! serves the supergraph of the greatest name.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::diff::Change;

/// What `version.json` records about one version.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Version {
    /// 1, 2, …: the directory is `v` and this number in six digits.
    pub version: u32,
    /// `sha256:` and the hex SHA-256 of the supergraph SDL.
    pub hash: String,
    /// When it was published, RFC 3339 UTC.
    pub time: String,
    /// The git commit of the tree it was published from, if known.
    pub git_commit: Option<String>,
    /// Whether that tree had uncommitted changes.
    pub git_dirty: bool,
    /// The subgraphs, by name.
    pub subgraphs: Vec<String>,
    /// The public API changes from the previous version (none for the first).
    pub changes: Vec<Change>,
}

/// A version about to be published.
pub struct Draft<'a> {
    /// The composed supergraph SDL.
    pub supergraph: &'a str,
    /// `(name, SDL)` of each subgraph.
    pub subgraphs: Vec<(String, &'a str)>,
    /// Changes from the latest published version.
    pub changes: Vec<Change>,
}

/// `sha256:<hex>` of an SDL.
pub fn hash(sdl: &str) -> String {
    let digest = Sha256::digest(sdl.as_bytes());
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("sha256:{hex}")
}

/// Every published version, oldest first.
pub fn versions(dir: &Path) -> Result<Vec<Version>, String> {
    version_dirs(dir)?
        .iter()
        .map(|path| {
            let file = path.join("version.json");
            let text = std::fs::read_to_string(&file)
                .map_err(|error| format!("{}: {error}", file.display()))?;
            serde_json::from_str(&text).map_err(|error| format!("{}: {error}", file.display()))
        })
        .collect()
}

/// The latest version's supergraph SDL and its path, if any version was published.
pub fn latest_supergraph(dir: &Path) -> Result<Option<(PathBuf, String)>, String> {
    let Some(latest) = version_dirs(dir)?.pop() else {
        return Ok(None);
    };
    let path = latest.join("supergraph.graphql");
    let sdl =
        std::fs::read_to_string(&path).map_err(|error| format!("{}: {error}", path.display()))?;
    Ok(Some((path, sdl)))
}

/// Writes `draft` as the next version, unless the latest version has the same
/// supergraph: then nothing is written and that version is returned with `false`.
pub fn publish(dir: &Path, draft: Draft) -> Result<(Version, bool), String> {
    let hash = hash(draft.supergraph);
    let published = versions(dir)?;
    if let Some(latest) = published.last()
        && latest.hash == hash
    {
        return Ok((latest.clone(), false));
    }
    let version = Version {
        version: published.last().map_or(1, |v| v.version + 1),
        hash,
        time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        git_commit: git(&["rev-parse", "HEAD"]),
        git_dirty: git(&["status", "--porcelain"]).is_some_and(|status| !status.is_empty()),
        subgraphs: draft
            .subgraphs
            .iter()
            .map(|(name, _)| name.clone())
            .collect(),
        changes: draft.changes,
    };
    let entry = dir.join(format!("v{:06}", version.version));
    let write = |path: PathBuf, content: &str| {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|error| format!("{}: {error}", parent.display()))?;
        }
        std::fs::write(&path, content).map_err(|error| format!("{}: {error}", path.display()))
    };
    write(entry.join("supergraph.graphql"), draft.supergraph)?;
    for (name, sdl) in &draft.subgraphs {
        write(entry.join("subgraphs").join(format!("{name}.graphql")), sdl)?;
    }
    let json = serde_json::to_string_pretty(&version).map_err(|error| error.to_string())?;
    write(entry.join("version.json"), &format!("{json}\n"))?;
    Ok((version, true))
}

/// The version directories (`v` and six digits) in publication order.
fn version_dirs(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(format!("{}: {error}", dir.display())),
    };
    let mut dirs = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|error| format!("{}: {error}", dir.display()))?
            .path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let numbered = name.len() == 7
            && name.starts_with('v')
            && name[1..].bytes().all(|b| b.is_ascii_digit());
        if numbered && path.join("supergraph.graphql").is_file() {
            dirs.push(path);
        }
    }
    dirs.sort();
    Ok(dirs)
}

/// A git command's trimmed output in the current directory; `None` outside a
/// repository or without git.
fn git(args: &[&str]) -> Option<String> {
    let output = std::process::Command::new("git").args(args).output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(supergraph: &str) -> Draft<'_> {
        Draft {
            supergraph,
            subgraphs: vec![("identity".to_owned(), "type Query { me: ID }")],
            changes: Vec::new(),
        }
    }

    #[test]
    fn publishing_numbers_versions_and_skips_an_unchanged_supergraph() {
        let dir = tempfile::tempdir().unwrap();
        let registry = dir.path().join("registry");
        assert!(latest_supergraph(&registry).unwrap().is_none());

        let (first, written) = publish(&registry, draft("type Query { a: Int }")).unwrap();
        assert!(written);
        assert_eq!(first.version, 1);
        let (same, written) = publish(&registry, draft("type Query { a: Int }")).unwrap();
        assert!(!written);
        assert_eq!(same.version, 1);
        let (second, _) = publish(&registry, draft("type Query { b: Int }")).unwrap();
        assert_eq!(second.version, 2);

        let listed: Vec<u32> = versions(&registry)
            .unwrap()
            .iter()
            .map(|v| v.version)
            .collect();
        assert_eq!(listed, [1, 2]);
        let (path, sdl) = latest_supergraph(&registry).unwrap().unwrap();
        assert_eq!(path, registry.join("v000002/supergraph.graphql"));
        assert_eq!(sdl, "type Query { b: Int }");
        assert!(
            registry
                .join("v000002/subgraphs/identity.graphql")
                .is_file()
        );
        assert_eq!(second.hash, hash("type Query { b: Int }"));
    }
}
