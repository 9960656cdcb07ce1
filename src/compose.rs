//! Composition: each subgraph's SDL from code, composed into `supergraph.graphql` as
//! `supergraph.yaml` describes, refusing to write anything on composition errors.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use agora_router::compose::{SubgraphSdl, compose};
use serde::Deserialize;

use crate::subgraphs;

/// `supergraph.yaml`, in the shape rover reads.
#[derive(Debug, Deserialize)]
pub struct SupergraphConfig {
    /// The subgraphs by name.
    pub subgraphs: BTreeMap<String, SubgraphEntry>,
}

/// One subgraph of `supergraph.yaml`.
#[derive(Debug, Deserialize)]
pub struct SubgraphEntry {
    /// Where the router reaches it.
    pub routing_url: String,
    /// Where its SDL is kept.
    pub schema: SchemaFile,
}

/// The `schema:` entry of a subgraph.
#[derive(Debug, Deserialize)]
pub struct SchemaFile {
    /// Path relative to `supergraph.yaml`.
    pub file: PathBuf,
}

/// What composition would write: each file and its content.
pub struct Output {
    /// `(path, content)` for every subgraph SDL and the supergraph, in that order.
    pub files: Vec<(PathBuf, String)>,
}

/// Why composition failed.
#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    /// `supergraph.yaml` could not be read or parsed.
    #[error("{path}: {reason}")]
    Config { path: PathBuf, reason: String },
    /// `supergraph.yaml` names a subgraph this build does not have.
    #[error("supergraph.yaml names unknown subgraph {0:?}")]
    UnknownSubgraph(String),
    /// The schemas do not compose.
    #[error("composition failed:\n{}", .0.join("\n"))]
    Composition(Vec<String>),
}

/// Reads `config` (a `supergraph.yaml`), prints each subgraph's SDL from code, and composes.
pub fn run(config: &Path) -> Result<Output, ComposeError> {
    let text = std::fs::read_to_string(config).map_err(|e| ComposeError::Config {
        path: config.to_owned(),
        reason: e.to_string(),
    })?;
    let parsed: SupergraphConfig =
        serde_yaml::from_str(&text).map_err(|e| ComposeError::Config {
            path: config.to_owned(),
            reason: e.to_string(),
        })?;
    let root = config.parent().unwrap_or(Path::new("."));
    let mut files = Vec::new();
    let mut sdls = Vec::new();
    for (name, entry) in &parsed.subgraphs {
        let subgraph =
            subgraphs::find(name).ok_or_else(|| ComposeError::UnknownSubgraph(name.clone()))?;
        let sdl = (subgraph.sdl)();
        files.push((root.join(&entry.schema.file), sdl.clone()));
        sdls.push(SubgraphSdl {
            name: name.clone(),
            url: entry.routing_url.clone(),
            sdl,
        });
    }
    let supergraph = compose(&sdls).map_err(ComposeError::Composition)?;
    files.push((root.join("supergraph.graphql"), supergraph));
    Ok(Output { files })
}

impl Output {
    /// The composed supergraph SDL.
    pub fn supergraph(&self) -> &str {
        self.files.last().map_or("", |(_, sdl)| sdl)
    }

    /// Writes every file.
    pub fn write(&self) -> std::io::Result<()> {
        for (path, content) in &self.files {
            std::fs::write(path, content)?;
        }
        Ok(())
    }

    /// The files whose committed content differs from what composition produces.
    pub fn stale(&self) -> Vec<&Path> {
        self.files
            .iter()
            .filter(|(path, content)| {
                std::fs::read_to_string(path).ok().as_deref() != Some(content)
            })
            .map(|(path, _)| path.as_path())
            .collect()
    }
}
