//! Profiles' consumer of identity's events (registrations and erasures), driven step by
//! step against a real bus.
//!
//! Embedded bus and SQLite by default; JetStream and Postgres in CI's real mode (see the
//! kit's `TestEnv`), each test on a namespace and database of its own.

use std::sync::Arc;
use std::time::Duration;

use agora_kit::events::{self, BusTuning, Consumer, Envelope, EventBus, Outcome};
use agora_kit::testing::{TestEnv, outbox};
use agora_profiles::events::{AccountEraser, OnIdentityEvent, USER_DELETED, USER_REGISTERED};
use agora_profiles::store::profile;
use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait};
use uuid::Uuid;

struct Harness {
    db: DatabaseConnection,
    bus: Arc<dyn EventBus>,
    _env: TestEnv,
}

async fn harness() -> Harness {
    let mut env = TestEnv::new();
    let url = env.database_url("profiles").await;
    let db = agora_kit::db::connect::<agora_profiles_migration::Migrator>(&url)
        .await
        .expect("database");
    let tuning = BusTuning {
        ack_wait: Duration::from_secs(1),
        ..BusTuning::default()
    };
    let bus = events::connect_with(&env.bus_config(), tuning)
        .await
        .expect("bus");
    bus.ensure_stream("identity").await.expect("stream");
    Harness { db, bus, _env: env }
}

impl Harness {
    async fn consumer(&self) -> Consumer {
        Consumer::open(
            self.db.clone(),
            &self.bus,
            agora_profiles::identity_consumer(),
            Arc::new(OnIdentityEvent),
        )
        .await
        .expect("consumer")
        .with_eraser(Arc::new(AccountEraser))
    }

    async fn publish_registration(&self, handle: &str) -> Uuid {
        let id = Uuid::now_v7();
        let data = serde_json::json!({ "id": id, "handle": handle, "email": format!("{handle}@example.org") });
        self.bus
            .publish(&Envelope::new("identity", USER_REGISTERED, id, &data))
            .await
            .expect("publish");
        id
    }

    async fn profiles(&self) -> u64 {
        profile::Entity::find()
            .count(&self.db)
            .await
            .expect("count")
    }
}

#[tokio::test]
async fn a_registration_event_creates_the_profile_with_the_handle_as_display_name() {
    let h = harness().await;
    let id = h.publish_registration("ada").await;

    let outcome = h.consumer().await.process_one().await.expect("processed");

    assert_eq!(outcome, Outcome::Applied);
    let rows = profile::find_many(&h.db, &[id]).await.expect("query");
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].handle.as_str(), rows[0].display_name.as_str()),
        ("ada", "ada")
    );
}

#[tokio::test]
async fn a_consumer_killed_after_the_effect_but_before_the_ack_yields_exactly_one_profile() {
    let h = harness().await;
    h.publish_registration("crashy").await;
    let mut first = h.consumer().await;
    let delivery = first.receive().await.expect("delivered");

    // The effect and its inbox row commit; then the process dies before acking.
    assert_eq!(
        first.apply(&delivery.envelope).await.expect("applied"),
        Outcome::Applied
    );
    drop(delivery);
    drop(first);

    let mut restarted = h.consumer().await;
    assert_eq!(
        restarted.process_one().await.expect("redelivered"),
        Outcome::Duplicate
    );
    assert_eq!(h.profiles().await, 1);
}

#[tokio::test]
async fn a_consumer_killed_before_the_effect_applies_it_after_restart() {
    let h = harness().await;
    h.publish_registration("early").await;
    let mut first = h.consumer().await;
    drop(first.receive().await.expect("delivered"));
    drop(first);

    let mut restarted = h.consumer().await;
    assert_eq!(
        restarted.process_one().await.expect("redelivered"),
        Outcome::Applied
    );
    assert_eq!(h.profiles().await, 1);
}

#[tokio::test]
async fn an_erased_account_loses_its_profile_and_profiles_confirms_once_however_often_told() {
    let h = harness().await;
    let ada = h.publish_registration("ada").await;
    let bob = h.publish_registration("bob").await;
    let erased = Envelope::new(
        "identity",
        USER_DELETED,
        ada,
        &serde_json::json!({ "id": ada }),
    );
    h.bus.publish(&erased).await.expect("publish");
    let mut consumer = h.consumer().await;
    for _ in 0..3 {
        assert_eq!(
            consumer.process_one().await.expect("applied"),
            Outcome::Applied
        );
    }

    // A redelivery of the deletion (a crash before its ack) changes nothing.
    assert_eq!(
        consumer.apply(&erased).await.expect("applied"),
        Outcome::Duplicate
    );
    let left = profile::find_many(&h.db, &[ada, bob]).await.expect("query");
    assert_eq!(left.iter().map(|p| p.user_id).collect::<Vec<_>>(), [bob]);
    assert_eq!(
        outbox(&h.db).await,
        [(
            "profiles.user.erased".to_owned(),
            serde_json::json!({ "userId": ada })
        )]
    );
}
