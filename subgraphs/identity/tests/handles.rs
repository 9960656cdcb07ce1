//! Handle changes over real HTTP: the rules of registration, once in 30 days, the old
//! handle free at once, and the change published through the outbox.
//!
//! SQLite by default; Postgres in CI's real mode (see the kit's `TestEnv`), each test on
//! a database of its own.

use agora_identity::store::account;
use agora_kit::testing::{Graphql, Member, Stack, error_of, outbox};
use chrono::{Duration, Utc};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, DatabaseConnection, EntityTrait};
use serde_json::{Value, json};

const CHANGE: &str = "mutation($handle: String!) {
    changeHandle(input: { handle: $handle }) { user { id handle } }
}";
const REGISTER: &str =
    "mutation($input: RegisterInput!) { register(input: $input) { user { id } } }";
const BY_HANDLE: &str = "query($handle: String!) { userByHandle(handle: $handle) { id handle } }";

/// Identity on the test's bus, and its database, read and written directly.
struct App {
    identity: Graphql,
    db: DatabaseConnection,
    stack: Stack,
}

async fn spawn() -> App {
    let mut stack = Stack::new().await;
    let identity = stack.start("identity", agora_identity::build).await;
    let db = stack
        .connect::<agora_identity_migration::Migrator>("identity")
        .await;
    App {
        identity,
        db,
        stack,
    }
}

impl App {
    async fn change(&self, member: &Member, handle: &str) -> Value {
        let variables = json!({ "handle": handle });
        self.identity.gql(Some(member), CHANGE, variables).await
    }

    async fn by_handle(&self, handle: &str) -> Value {
        let data = self
            .identity
            .ok(None, BY_HANDLE, json!({ "handle": handle }))
            .await;
        data["userByHandle"].clone()
    }

    /// Moves the account's last handle change `days` into the past.
    async fn changed_days_ago(&self, member: &Member, days: i64) {
        let row = account::Entity::find_by_id(member.id)
            .one(&self.db)
            .await
            .expect("account")
            .expect("exists");
        let mut row: account::ActiveModel = row.into();
        row.handle_changed_at = Set(Some(Utc::now() - Duration::days(days)));
        row.update(&self.db).await.expect("update");
    }
}

#[tokio::test]
async fn a_new_handle_resolves_the_old_one_is_free_at_once_and_the_change_is_published() {
    let app = spawn().await;
    let ada = app.stack.register("ada").await;

    let changed = app.change(&ada, "ada_l").await;

    assert_eq!(
        changed["data"]["changeHandle"]["user"],
        json!({ "id": ada.id.to_string(), "handle": "ada_l" }),
        "{changed}"
    );
    assert_eq!(app.by_handle("ada_l").await["id"], ada.id.to_string());
    assert!(app.by_handle("ada").await.is_null());
    let input = json!({ "email": "other@example.org", "handle": "ada", "password": "correct horse battery" });
    let taken_over = app
        .identity
        .ok(None, REGISTER, json!({ "input": input }))
        .await;
    let newcomer = &taken_over["register"]["user"]["id"];
    assert_ne!(*newcomer, json!(ada.id.to_string()));
    assert_eq!(app.by_handle("ADA").await["id"], *newcomer);
    let published: Vec<Value> = outbox(&app.db)
        .await
        .into_iter()
        .filter(|(event_type, _)| event_type == "identity.user.handle_changed")
        .map(|(_, data)| data)
        .collect();
    assert_eq!(published.len(), 1);
    assert_eq!(published[0]["id"], ada.id.to_string());
    assert_eq!(published[0]["handle"], "ada_l");
    assert_eq!(published[0]["previous"], "ada");
}

#[tokio::test]
async fn a_second_change_within_30_days_is_refused_with_the_date_it_becomes_possible() {
    let app = spawn().await;
    let ada = app.stack.register("ada").await;
    app.change(&ada, "ada_2").await;

    let refused = app.change(&ada, "ada_3").await;

    assert_eq!(
        error_of(&refused),
        ("BAD_USER_INPUT".to_owned(), Some("handle".to_owned()))
    );
    let changed_at = account::Entity::find_by_id(ada.id)
        .one(&app.db)
        .await
        .expect("account")
        .and_then(|row| row.handle_changed_at)
        .expect("changed");
    let next = (changed_at + Duration::days(30))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let message = refused["errors"][0]["message"].as_str().expect("message");
    assert!(message.contains(&next), "{message} should name {next}");
    assert_eq!(app.by_handle("ada_2").await["id"], ada.id.to_string());

    app.changed_days_ago(&ada, 29).await;
    let still = app.change(&ada, "ada_3").await;
    assert_eq!(error_of(&still).0, "BAD_USER_INPUT");

    app.changed_days_ago(&ada, 31).await;
    let allowed = app.change(&ada, "ada_3").await;
    assert_eq!(allowed["data"]["changeHandle"]["user"]["handle"], "ada_3");
}

#[tokio::test]
async fn handles_follow_the_rules_of_registration_and_a_taken_one_is_refused() {
    let app = spawn().await;
    let ada = app.stack.register("ada").await;
    app.stack.register("bob").await;

    for bad in ["ab", "a-b", "ada lovelace", &"x".repeat(31)] {
        let refused = app.change(&ada, bad).await;
        assert_eq!(
            error_of(&refused),
            ("BAD_USER_INPUT".to_owned(), Some("handle".to_owned())),
            "{bad}"
        );
    }
    let taken = app.change(&ada, "BOB").await;
    assert_eq!(
        error_of(&taken),
        ("BAD_USER_INPUT".to_owned(), Some("handle".to_owned()))
    );
    let same = app.change(&ada, "ada").await;
    assert_eq!(error_of(&same).0, "BAD_USER_INPUT");
    let anonymous = app
        .identity
        .gql(None, CHANGE, json!({ "handle": "nobody" }))
        .await;
    assert_eq!(error_of(&anonymous).0, "UNAUTHENTICATED");

    // Refusals change nothing; a change of case alone is the account's own handle.
    let recased = app.change(&ada, "Ada").await;
    assert_eq!(recased["data"]["changeHandle"]["user"]["handle"], "Ada");
    assert_eq!(app.by_handle("ada").await["id"], ada.id.to_string());
}

#[tokio::test]
async fn a_deleted_accounts_handle_is_refused_until_its_hold_ends_then_free() {
    let app = spawn().await;
    let ada = app.stack.register("ada").await;
    let bob = app.stack.register("bob").await;
    let delete =
        "mutation($p: String!) { deleteAccount(input: { password: $p }) { erasure { id } } }";
    app.identity
        .ok(Some(&bob), delete, json!({ "p": "correct horse battery" }))
        .await;

    let held = app.change(&ada, "bob").await;
    assert_eq!(
        error_of(&held),
        ("BAD_USER_INPUT".to_owned(), Some("handle".to_owned()))
    );

    let tombstone = account::Entity::find_by_id(bob.id)
        .one(&app.db)
        .await
        .expect("account")
        .expect("tombstone");
    let mut tombstone: account::ActiveModel = tombstone.into();
    tombstone.deleted_at = Set(Some(Utc::now() - Duration::days(31)));
    tombstone.update(&app.db).await.expect("update");
    let freed = app.change(&ada, "bob").await;
    assert_eq!(
        freed["data"]["changeHandle"]["user"]["handle"], "bob",
        "{freed}"
    );
}
