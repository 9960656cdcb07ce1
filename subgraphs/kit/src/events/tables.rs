//! sea-orm entities of the `outbox` and `inbox` tables that [`EventTablesMigration`]
//! creates, and of the erasers' `erased_user` ([`ErasedUsersMigration`]), public so that
//! tools (`agora events`) and tests can inspect them.
//!
//! [`EventTablesMigration`]: super::EventTablesMigration
//! [`ErasedUsersMigration`]: super::ErasedUsersMigration

/// An event waiting to be published (or already published, with `sent_at` set).
pub mod outbox {
    use sea_orm::entity::prelude::*;

    /// One outbox row.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "outbox")]
    pub struct Model {
        /// Publication order: rows are relayed by ascending seq.
        #[sea_orm(primary_key)]
        pub seq: i64,
        /// The envelope id, unique.
        #[sea_orm(unique)]
        pub id: Uuid,
        /// The envelope's type, readable without parsing the envelope.
        pub event_type: String,
        /// The whole envelope as JSON text, exactly as it will be published.
        #[sea_orm(column_type = "Text")]
        pub envelope: String,
        /// When the domain transaction wrote the row.
        pub created_at: DateTimeUtc,
        /// When the broker acknowledged it; `None` while pending.
        pub sent_at: Option<DateTimeUtc>,
        /// Failed publish attempts, for monitoring a stuck relay.
        pub attempts: i32,
    }

    /// No relations: the outbox stands alone.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// An event a consumer has applied; its presence makes redelivery harmless.
pub mod inbox {
    use sea_orm::entity::prelude::*;

    /// One inbox row.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "inbox")]
    pub struct Model {
        /// The consumer's name (`ConsumerSpec::name`).
        #[sea_orm(primary_key, auto_increment = false)]
        pub consumer: String,
        /// The envelope id.
        #[sea_orm(primary_key, auto_increment = false)]
        pub event_id: Uuid,
        /// When the effect was committed.
        pub processed_at: DateTimeUtc,
    }

    /// No relations: the inbox stands alone.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// An account this subgraph erased: its tombstone, kept so that events applied later
/// cannot bring its data back (see [`super::erasure`]).
pub mod erased_user {
    use sea_orm::entity::prelude::*;

    /// One erased account.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "erased_user")]
    pub struct Model {
        /// The account id.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        /// When its deletion happened.
        pub erased_at: DateTimeUtc,
    }

    /// No relations: the record stands alone.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
