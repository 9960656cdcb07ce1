//! Profiles over real HTTP: user search (prefix and fuzzy, ranked, paged, never across a
//! block), profiles hidden across a block, and the handle replica following identity's
//! handle changes, with tokens and events from a real identity subgraph and social's
//! blocks played on the test's bus.
//!
//! Embedded bus and SQLite by default; JetStream and Postgres in CI's real mode (see the
//! kit's `TestEnv`), each test on a namespace and databases of its own.

use std::time::Duration;

use agora_kit::events::Envelope;
use agora_kit::testing::{Graphql, Member, Stack, error_of, outbox};
use agora_profiles::store::profile;
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};

const SEARCH: &str = "query($q: String!, $first: Int, $after: String) {
    searchUsers(query: $q, first: $first, after: $after) {
        edges { cursor node { id displayName } }
        pageInfo { hasNextPage hasPreviousPage endCursor }
    }
}";
const USER: &str = "query($id: ID!) { user(id: $id) { id displayName bio } }";
const ENTITY: &str = "query($r: [_Any!]!) {
    _entities(representations: $r) { ... on User { id displayName bio website location } }
}";
const UPDATE: &str = "mutation($input: UpdateProfileInput!) {
    updateProfile(input: $input) { user { displayName } }
}";
const CHANGE_HANDLE: &str =
    "mutation($h: String!) { changeHandle(input: { handle: $h }) { user { handle } } }";

/// How often, and how many times, a test looks for what an event should have done.
const POLL: Duration = Duration::from_millis(20);
const POLLS: usize = 500;

/// Identity and profiles on the test's bus, on which the test plays social's blocks.
struct App {
    identity: Graphql,
    profiles: Graphql,
    db: DatabaseConnection,
    stack: Stack,
}

async fn spawn() -> App {
    let mut stack = Stack::new().await;
    let identity = stack.start("identity", agora_identity::build).await;
    let profiles = stack.start("profiles", agora_profiles::build).await;
    let db = stack
        .connect::<agora_profiles_migration::Migrator>("profiles")
        .await;
    App {
        identity,
        profiles,
        db,
        stack,
    }
}

impl App {
    /// Registers `handle` through identity and waits (bounded) until profiles created the
    /// profile from identity's event; sets its display name if given.
    async fn member(&self, handle: &str, display_name: Option<&str>) -> Member {
        let member = self.stack.register(handle).await;
        self.until(|| async {
            profile::find_many(&self.db, &[member.id])
                .await
                .expect("profile")
                .len()
                == 1
        })
        .await;
        if let Some(name) = display_name {
            let input = json!({ "input": { "displayName": name } });
            self.profiles.ok(Some(&member), UPDATE, input).await;
        }
        member
    }

    /// Waits (bounded) until `done` holds.
    async fn until<F, Fut>(&self, done: F)
    where
        F: Fn() -> Fut,
        Fut: Future<Output = bool>,
    {
        for _ in 0..POLLS {
            if done().await {
                return;
            }
            tokio::time::sleep(POLL).await;
        }
        panic!("never came to pass");
    }

    /// The ids found by a search as `viewer`, best first.
    async fn search(&self, viewer: Option<&Member>, query: &str) -> Vec<String> {
        let data = self
            .profiles
            .ok(viewer, SEARCH, json!({ "q": query }))
            .await;
        ids(&data["searchUsers"])
    }

    /// Plays social's `user.blocked` (or `unblocked`) and waits until profiles applied it.
    async fn block(&self, verb: &str, who: &Member, whom: &Member) {
        let data = json!({ "userId": who.id, "targetId": whom.id, "at": "2026-01-01T00:00:00Z" });
        let event = Envelope::new("social", &format!("social.user.{verb}"), who.id, &data);
        self.stack.deliver(&self.db, "profiles", event).await;
    }

    async fn user(&self, viewer: &Member, whom: &Member) -> Value {
        let variables = json!({ "id": whom.id.to_string() });
        self.profiles.ok(Some(viewer), USER, variables).await["user"].clone()
    }

    async fn entity(&self, viewer: &Member, whom: &Member) -> Value {
        let representations = json!({ "r": [{ "__typename": "User", "id": whom.id.to_string() }] });
        self.profiles
            .ok(Some(viewer), ENTITY, representations)
            .await["_entities"][0]
            .clone()
    }
}

fn ids(connection: &Value) -> Vec<String> {
    connection["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|edge| edge["node"]["id"].as_str().expect("id").to_owned())
        .collect()
}

fn id(member: &Member) -> String {
    member.id.to_string()
}

#[tokio::test]
async fn search_ranks_the_exact_handle_then_handle_prefixes_then_name_words_then_near_misses() {
    let app = spawn().await;
    let ada = app.member("ada", Some("Ada Byron")).await;
    let countess = app.member("ada_lovelace", Some("Countess")).await;
    let adamant = app.member("adamant", None).await;
    let lovelace = app.member("lovelace", None).await;
    let fan = app.member("lovelace_fan", None).await;
    let society = app.member("society", Some("The Lovelace Society")).await;
    let grace = app.member("grace", Some("Grace Hopper")).await;

    assert_eq!(
        app.search(None, "ADA").await,
        [id(&ada), id(&countess), id(&adamant)]
    );
    assert_eq!(
        app.search(Some(&grace), "@lovelace").await,
        [id(&lovelace), id(&fan), id(&society), id(&countess)]
    );
    // Typos: in a handle, and in a word of a display name.
    let mut near = app.search(None, "lovelase").await;
    near.sort();
    let mut expected = [id(&countess), id(&lovelace), id(&fan), id(&society)];
    expected.sort();
    assert_eq!(near, expected);
    assert_eq!(app.search(None, "hoper").await, [id(&grace)]);
    assert_eq!(app.search(None, "hop").await, [id(&grace)]);
    assert!(app.search(None, "zzyzx").await.is_empty());
}

#[tokio::test]
async fn search_pages_follow_the_ranking() {
    let app = spawn().await;
    let ada = app.member("ada", None).await;
    let countess = app.member("ada_lovelace", None).await;
    let adamant = app.member("adamant", None).await;

    let first = app
        .profiles
        .ok(None, SEARCH, json!({ "q": "ada", "first": 2 }))
        .await;
    let page = &first["searchUsers"];
    assert_eq!(ids(page), [id(&ada), id(&countess)]);
    assert_eq!(page["pageInfo"]["hasNextPage"], true);
    let after = page["pageInfo"]["endCursor"].clone();
    let second = app
        .profiles
        .ok(
            None,
            SEARCH,
            json!({ "q": "ada", "first": 2, "after": after }),
        )
        .await;
    let page = &second["searchUsers"];
    assert_eq!(ids(page), [id(&adamant)]);
    assert_eq!(page["pageInfo"]["hasNextPage"], false);
    assert_eq!(page["pageInfo"]["hasPreviousPage"], true);
}

#[tokio::test]
async fn bad_search_input_is_refused_naming_the_argument() {
    let app = spawn().await;
    let long = "x".repeat(51);
    for (variables, field) in [
        (json!({ "q": "" }), "query"),
        (json!({ "q": "  @ " }), "query"),
        (json!({ "q": long }), "query"),
        (json!({ "q": "ada", "first": 101 }), "first"),
        (json!({ "q": "ada", "first": -1 }), "first"),
        (json!({ "q": "ada", "after": "not a cursor" }), "after"),
    ] {
        let response = app.profiles.gql(None, SEARCH, variables.clone()).await;
        assert_eq!(
            error_of(&response),
            ("BAD_USER_INPUT".to_owned(), Some(field.to_owned())),
            "{variables}"
        );
    }
}

#[tokio::test]
async fn a_block_either_way_hides_the_profile_and_the_search_result_until_lifted() {
    let app = spawn().await;
    let ada = app.member("ada", Some("Ada Byron")).await;
    let bob = app.member("bob", None).await;
    let carol = app.member("carol", None).await;
    let bio = json!({ "input": { "bio": "analyst", "location": "London" } });
    app.profiles.ok(Some(&ada), UPDATE, bio).await;

    app.block("blocked", &ada, &bob).await;

    for (viewer, other) in [(&bob, &ada), (&ada, &bob)] {
        assert!(app.user(viewer, other).await.is_null());
        assert_eq!(
            app.entity(viewer, other).await,
            json!({ "id": id(other), "displayName": null, "bio": null, "website": null, "location": null })
        );
    }
    assert!(app.search(Some(&bob), "ada").await.is_empty());
    assert!(app.search(Some(&ada), "bob").await.is_empty());
    // Nobody else is affected, and the blocker still sees their own profile.
    assert_eq!(app.search(Some(&carol), "ada").await, [id(&ada)]);
    assert_eq!(app.search(None, "ada").await, [id(&ada)]);
    assert_eq!(app.entity(&carol, &ada).await["bio"], "analyst");
    assert_eq!(app.user(&ada, &ada).await["displayName"], "Ada Byron");

    app.block("unblocked", &ada, &bob).await;

    assert_eq!(app.user(&bob, &ada).await["bio"], "analyst");
    assert_eq!(app.search(Some(&bob), "ada").await, [id(&ada)]);
}

#[tokio::test]
async fn a_handle_change_moves_the_search_and_a_default_display_name_follows_it() {
    let app = spawn().await;
    let ada = app.member("ada", None).await;
    let bob = app.member("bob", Some("Bobby")).await;

    for (member, handle) in [(&ada, "countess"), (&bob, "robert")] {
        let variables = json!({ "h": handle });
        app.identity
            .ok(Some(member), CHANGE_HANDLE, variables)
            .await;
    }
    app.until(|| async {
        let rows = profile::find_many(&app.db, &[ada.id, bob.id])
            .await
            .expect("profiles");
        rows.iter()
            .all(|row| row.handle != "ada" && row.handle != "bob")
    })
    .await;

    assert_eq!(app.search(None, "countess").await, [id(&ada)]);
    assert_eq!(app.search(None, "robert").await, [id(&bob)]);
    assert!(app.search(None, "ada").await.is_empty());
    assert_eq!(app.user(&bob, &ada).await["displayName"], "countess");
    assert_eq!(app.user(&ada, &bob).await["displayName"], "Bobby");
}

#[tokio::test]
async fn going_private_and_public_again_publishes_each_change_once_in_the_update() {
    let app = spawn().await;
    let ada = app.member("ada", None).await;
    let bob = app.member("bob", None).await;
    let set = "mutation($input: UpdateProfileInput!) {
        updateProfile(input: $input) { user { isPrivate } }
    }";
    let private = json!({ "input": { "isPrivate": true } });

    let made = app.profiles.ok(Some(&ada), set, private.clone()).await;
    app.profiles.ok(Some(&ada), set, private).await;
    app.profiles
        .ok(Some(&ada), set, json!({ "input": { "bio": "unrelated" } }))
        .await;
    let public = json!({ "input": { "isPrivate": false } });
    let unmade = app.profiles.ok(Some(&ada), set, public).await;

    assert_eq!(made["updateProfile"]["user"]["isPrivate"], true);
    assert_eq!(unmade["updateProfile"]["user"]["isPrivate"], false);
    let changes: Vec<Value> = outbox(&app.db)
        .await
        .into_iter()
        .filter(|(event_type, _)| event_type == "profiles.profile.privacy_changed")
        .map(|(_, data)| data)
        .collect();
    assert_eq!(changes.len(), 2, "a repeat or another field publishes none");
    let read: Vec<(&Value, &Value)> = changes
        .iter()
        .map(|data| (&data["userId"], &data["isPrivate"]))
        .collect();
    assert_eq!(
        read,
        [
            (&json!(id(&ada)), &json!(true)),
            (&json!(id(&ada)), &json!(false))
        ]
    );
    assert!(changes[0]["changedAt"].is_string());
    let seen = app
        .profiles
        .ok(
            Some(&bob),
            "query($id: ID!) { user(id: $id) { isPrivate } }",
            json!({ "id": id(&ada) }),
        )
        .await;
    assert_eq!(seen["user"]["isPrivate"], false);
    let signed_out = app
        .profiles
        .gql(None, set, json!({ "input": { "isPrivate": true } }))
        .await;
    assert_eq!(error_of(&signed_out).0, "UNAUTHENTICATED");
}
