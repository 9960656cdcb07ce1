//! `agora migrate`: every subgraph's database brought up to date as a separate step,
//! again without harm, and one subgraph alone on request.

use std::process::Command;

fn migrate(data_dir: &std::path::Path, args: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_agora"))
        .arg("migrate")
        .args(args)
        .env("AGORA_DATA_DIR", data_dir)
        .env("RUST_LOG", "warn")
        .output()
        .expect("agora runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr),
    )
}

#[test]
fn migrate_creates_every_subgraphs_database_and_can_run_again() {
    let dir = tempfile::tempdir().unwrap();

    for _ in 0..2 {
        let (ok, output) = migrate(dir.path(), &[]);
        assert!(ok, "{output}");
        for name in [
            "identity",
            "profiles",
            "content",
            "social",
            "media",
            "messaging",
        ] {
            assert!(output.contains(&format!("{name}: migrated")), "{output}");
            assert!(dir.path().join(format!("{name}.sqlite")).exists(), "{name}");
        }
    }
}

#[test]
fn migrate_takes_one_subgraph_and_refuses_an_unknown_one() {
    let dir = tempfile::tempdir().unwrap();

    let (ok, output) = migrate(dir.path(), &["--subgraph", "social"]);
    assert!(ok, "{output}");
    assert!(dir.path().join("social.sqlite").exists());
    assert!(!dir.path().join("identity.sqlite").exists());

    let (ok, output) = migrate(dir.path(), &["--subgraph", "socal"]);
    assert!(!ok);
    assert!(output.contains("no subgraph is called socal"), "{output}");
}
