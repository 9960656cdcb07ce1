//! `compose.yaml` as an operator runs it: every subgraph (as `src/subgraphs.rs` lists
//! them) built from its own Dockerfile target, on its own database and role, after the
//! migration step; every variable it reads documented in `.env.example`; every file it
//! mounts present. With the Docker CLI's compose plugin, `docker compose config` must
//! accept it too.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use serde_yaml::Value;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn compose() -> Value {
    let mut compose: Value = serde_yaml::from_str(&read("compose.yaml")).unwrap();
    compose.apply_merge().unwrap();
    compose
}

fn subgraph_names() -> Vec<&'static str> {
    agora::subgraphs::ALL.iter().map(|s| s.name).collect()
}

#[test]
fn every_subgraph_has_its_image_its_own_database_and_waits_for_migrations() {
    let compose = compose();
    let dockerfile = read("Dockerfile");
    for name in subgraph_names() {
        let service = &compose["services"][name];
        assert_eq!(service["build"]["target"], name, "{name}'s image");
        assert!(
            dockerfile.contains(&format!("FROM runtime AS {name}\n")),
            "Dockerfile has no {name} target"
        );
        let upper = name.to_uppercase();
        let url = service["environment"][format!("AGORA_{upper}_DATABASE_URL").as_str()]
            .as_str()
            .unwrap_or_else(|| panic!("{name} has no database URL"));
        assert_eq!(
            url,
            format!("postgres://{name}:${{AGORA_{upper}_DB_PASSWORD}}@postgres:5432/{name}"),
            "{name} uses its own role and database"
        );
        assert_eq!(
            service["environment"][format!("AGORA_{upper}_DATABASE_URL").as_str()],
            compose["services"]["migrate"]["environment"]
                [format!("AGORA_{upper}_DATABASE_URL").as_str()],
            "the migration step migrates {name}'s database"
        );
        assert_eq!(
            service["depends_on"]["migrate"]["condition"],
            "service_completed_successfully"
        );
        assert_eq!(service["environment"]["AGORA_NATS_URL"], "nats://nats:4222");
        assert!(
            read("deploy/postgres/init.sh").contains(name)
                && !compose["services"]["postgres"]["environment"]
                    [format!("AGORA_{upper}_DB_PASSWORD").as_str()]
                .is_null(),
            "postgres creates {name}'s role and database"
        );
    }
    for target in ["router", "migrate"] {
        assert!(dockerfile.contains(&format!("FROM runtime AS {target}\n")));
        assert_eq!(compose["services"][target]["build"]["target"], target);
    }
    let router_config = read("deploy/router.yaml");
    for name in subgraph_names() {
        assert!(
            router_config.contains(&format!("http://{name}:")),
            "router → {name}"
        );
    }
}

#[test]
fn every_variable_compose_reads_is_in_env_example_and_every_mounted_file_exists() {
    let text = read("compose.yaml");
    let env_example = read(".env.example");
    let documented: BTreeSet<&str> = env_example
        .lines()
        .filter_map(|line| line.split_once('=').map(|(name, _)| name.trim()))
        .filter(|name| !name.starts_with('#'))
        .collect();
    for reference in text.split("${").skip(1) {
        let name: String = reference
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        assert!(
            documented.contains(name.as_str()),
            "{name} is not in .env.example"
        );
    }
    let compose = compose();
    for (name, service) in compose["services"].as_mapping().unwrap() {
        for volume in service["volumes"].as_sequence().into_iter().flatten() {
            let volume = volume.as_str().unwrap();
            if let Some(path) = volume.strip_prefix("./") {
                let path = path.split(':').next().unwrap();
                assert!(
                    root().join(path).exists(),
                    "{name:?} mounts a missing {path}"
                );
            }
        }
    }
}

#[test]
fn docker_compose_accepts_it_when_the_cli_is_here() {
    let plugin = Command::new("docker").args(["compose", "version"]).output();
    if !plugin.is_ok_and(|output| output.status.success()) {
        eprintln!("no docker compose here: checked the file's structure only");
        return;
    }
    let output = Command::new("docker")
        .args(["compose", "--env-file", ".env.example", "config", "--quiet"])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
