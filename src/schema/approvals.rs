//! `schema-approvals.toml`: breaking changes that the teams whose operations they break
//! have agreed to, each with the reason, so the check lets them through.
//!
//! ```toml
//! [[approve]]
//! change = "FIELD_REMOVED:Post.legacyBody"
//! reason = "web and mobile read Post.body since release 42"
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

/// Approved change ids and their reasons.
#[derive(Debug, Default)]
pub struct Approvals(BTreeMap<String, String>);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    approve: Vec<Approval>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Approval {
    change: String,
    reason: String,
}

impl Approvals {
    /// Reads the approvals file; a missing file approves nothing. Every approval needs
    /// a non-empty reason.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Self::default());
            }
            Err(error) => return Err(format!("{}: {error}", path.display())),
        };
        Self::parse(&text).map_err(|error| format!("{}: {error}", path.display()))
    }

    fn parse(text: &str) -> Result<Self, String> {
        let file: File = toml::from_str(text).map_err(|error| error.to_string())?;
        let mut approvals = BTreeMap::new();
        for approval in file.approve {
            if approval.reason.trim().is_empty() {
                return Err(format!("the approval of {} has no reason", approval.change));
            }
            approvals.insert(approval.change, approval.reason);
        }
        Ok(Self(approvals))
    }

    /// The reason `change_id` was approved, if it was.
    pub fn reason(&self, change_id: &str) -> Option<&str> {
        self.0.get(change_id).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approvals_are_read_by_change_id_and_need_a_reason() {
        let approvals = Approvals::parse(
            "[[approve]]\nchange = \"FIELD_REMOVED:Query.feed\"\nreason = \"moved to homeFeed\"\n",
        )
        .unwrap();
        assert_eq!(
            approvals.reason("FIELD_REMOVED:Query.feed"),
            Some("moved to homeFeed")
        );
        assert_eq!(approvals.reason("FIELD_REMOVED:Query.me"), None);

        let error =
            Approvals::parse("[[approve]]\nchange = \"TYPE_REMOVED:Post\"\nreason = \" \"\n")
                .unwrap_err();
        assert!(error.contains("no reason"), "{error}");
        assert!(Approvals::parse("").unwrap().reason("x").is_none());
    }
}
