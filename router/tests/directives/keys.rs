//! `@key`: a type with two keys, a compound key, a nested key
//! (`@key(fields: "id org { id }")`), one entity resolved from three subgraphs, and a
//! `resolvable: false` reference the planner must never call. 16 operations.

use async_graphql::{EmptyMutation, EmptySubscription, ID, InputObject, Object, Schema};
use serde_json::json;

use crate::harness::{Graph, Subgraph, case};

// ---- accounts: users, resolvable by `id` and by `email` ----------------------------

const USERS: [(&str, &str, &str); 3] = [
    ("u1", "ada@example.org", "Ada"),
    ("u2", "grace@example.org", "Grace"),
    ("u3", "alan@example.org", "Alan"),
];

struct AccountUser(&'static (&'static str, &'static str, &'static str));

#[Object(name = "User")]
impl AccountUser {
    async fn id(&self) -> ID {
        ID(self.0.0.to_owned())
    }
    async fn email(&self) -> &str {
        self.0.1
    }
    async fn name(&self) -> &str {
        self.0.2
    }
}

struct AccountsQuery;

#[Object(name = "Query")]
impl AccountsQuery {
    async fn users(&self) -> Vec<AccountUser> {
        USERS.iter().map(AccountUser).collect()
    }
    async fn user(&self, id: ID) -> Option<AccountUser> {
        USERS.iter().find(|u| u.0 == id.as_str()).map(AccountUser)
    }
    #[graphql(entity)]
    async fn find_user_by_id(&self, #[graphql(key)] id: ID) -> Option<AccountUser> {
        USERS.iter().find(|u| u.0 == id.as_str()).map(AccountUser)
    }
    #[graphql(entity)]
    async fn find_user_by_email(&self, #[graphql(key)] email: String) -> Option<AccountUser> {
        USERS.iter().find(|u| u.1 == email).map(AccountUser)
    }
}

// ---- orgs: organisations, members keyed by id and org, seats keyed by row and number --

/// (member id, org id, role, user id)
const MEMBERS: [(&str, &str, &str, &str); 4] = [
    ("m1", "o1", "founder", "u1"),
    ("m1", "o2", "admiral", "u2"),
    ("m2", "o1", "member", "u3"),
    ("m3", "o2", "guest", "u9"),
];

const ORGS: [(&str, &str); 2] = [("o1", "Analytical Society"), ("o2", "Navy")];

struct Org(&'static (&'static str, &'static str));

#[Object]
impl Org {
    async fn id(&self) -> ID {
        ID(self.0.0.to_owned())
    }
    async fn name(&self) -> &str {
        self.0.1
    }
    async fn members(&self) -> Vec<Member> {
        MEMBERS
            .iter()
            .filter(|m| m.1 == self.0.0)
            .map(Member)
            .collect()
    }
}

struct Member(&'static (&'static str, &'static str, &'static str, &'static str));

#[Object]
impl Member {
    async fn id(&self) -> ID {
        ID(self.0.0.to_owned())
    }
    async fn org(&self) -> Option<Org> {
        ORGS.iter().find(|o| o.0 == self.0.1).map(Org)
    }
    async fn role(&self) -> &str {
        self.0.2
    }
    async fn user(&self) -> Option<OrgUser> {
        Some(OrgUser {
            id: ID(self.0.3.to_owned()),
        })
    }
}

/// orgs only references users: `@key(fields: "id", resolvable: false)`.
#[derive(async_graphql::SimpleObject)]
#[graphql(name = "User", unresolvable = "id")]
struct OrgUser {
    id: ID,
}

struct Seat(&'static (&'static str, i32, i32));

const SEATS: [(&str, i32, i32); 3] = [("A", 1, 50), ("A", 2, 60), ("B", 1, 40)];

#[Object]
impl Seat {
    async fn row(&self) -> &str {
        self.0.0
    }
    async fn number(&self) -> i32 {
        self.0.1
    }
}

struct OrgsQuery;

#[Object(name = "Query")]
impl OrgsQuery {
    async fn members(&self) -> Vec<Member> {
        MEMBERS.iter().map(Member).collect()
    }
    async fn org(&self, id: ID) -> Option<Org> {
        ORGS.iter().find(|o| o.0 == id.as_str()).map(Org)
    }
    async fn seats(&self) -> Vec<Seat> {
        SEATS.iter().map(Seat).collect()
    }
    #[graphql(entity)]
    async fn find_org_by_id(&self, id: ID) -> Option<Org> {
        ORGS.iter().find(|o| o.0 == id.as_str()).map(Org)
    }
    #[graphql(entity)]
    async fn find_member(&self, id: ID, org: OrgKey) -> Option<Member> {
        MEMBERS
            .iter()
            .find(|m| m.0 == id.as_str() && m.1 == org.id.as_str())
            .map(Member)
    }
    #[graphql(entity)]
    async fn find_seat(&self, row: String, number: i32) -> Option<Seat> {
        SEATS.iter().find(|s| s.0 == row && s.1 == number).map(Seat)
    }
}

/// The `org { id }` part of a member's key, as async-graphql receives it.
#[derive(InputObject)]
#[graphql(inaccessible)]
struct OrgKey {
    id: ID,
}

// ---- billing: plans per membership, credit per email, seat prices --------------------

/// billing only knows organisations by id.
#[derive(async_graphql::SimpleObject)]
#[graphql(name = "Org", unresolvable = "id")]
struct BillingOrg {
    id: ID,
}

struct BillingMember {
    id: ID,
    org: ID,
}

#[Object(name = "Member")]
impl BillingMember {
    async fn id(&self) -> &ID {
        &self.id
    }
    async fn org(&self) -> BillingOrg {
        BillingOrg {
            id: self.org.clone(),
        }
    }
    /// Differs for `m1` in `o1` and `m1` in `o2`: only the whole key tells them apart.
    async fn plan(&self) -> Option<&str> {
        match (self.id.as_str(), self.org.as_str()) {
            ("m1", "o1") => Some("gold"),
            ("m1", "o2") => Some("silver"),
            ("m2", "o1") => Some("free"),
            _ => None,
        }
    }
}

struct BillingUser {
    email: String,
}

#[Object(name = "User")]
impl BillingUser {
    async fn email(&self) -> &str {
        &self.email
    }
    async fn credit(&self) -> i32 {
        match self.email.as_str() {
            "ada@example.org" => 100,
            "grace@example.org" => 250,
            _ => 0,
        }
    }
}

struct BillingSeat {
    row: String,
    number: i32,
}

#[Object(name = "Seat")]
impl BillingSeat {
    async fn row(&self) -> &str {
        &self.row
    }
    async fn number(&self) -> i32 {
        self.number
    }
    async fn price(&self) -> Option<i32> {
        SEATS
            .iter()
            .find(|s| s.0 == self.row && s.1 == self.number)
            .map(|s| s.2)
    }
}

struct BillingQuery;

#[Object(name = "Query")]
impl BillingQuery {
    /// Whoever pays with this email, known to billing or not.
    async fn customer(&self, email: String) -> Option<BillingUser> {
        Some(BillingUser { email })
    }
    #[graphql(entity)]
    async fn find_member(&self, id: ID, org: OrgKey) -> BillingMember {
        BillingMember { id, org: org.id }
    }
    #[graphql(entity)]
    async fn find_user_by_email(&self, email: String) -> BillingUser {
        BillingUser { email }
    }
    #[graphql(entity)]
    async fn find_seat(&self, row: String, number: i32) -> BillingSeat {
        BillingSeat { row, number }
    }
}

async fn graph() -> Graph {
    let accounts = Schema::build(AccountsQuery, EmptyMutation, EmptySubscription)
        .enable_federation()
        .finish();
    let orgs = Schema::build(OrgsQuery, EmptyMutation, EmptySubscription)
        .enable_federation()
        .finish();
    let billing = Schema::build(BillingQuery, EmptyMutation, EmptySubscription)
        .enable_federation()
        .finish();
    Graph::start(vec![
        Subgraph::serve("accounts", accounts).await,
        Subgraph::serve("orgs", orgs).await,
        Subgraph::serve("billing", billing).await,
    ])
    .await
}

#[tokio::test]
async fn entities_are_joined_by_every_kind_of_key() {
    let graph = graph().await;
    graph
        .check(&[
            case(
                "fields of one subgraph need no entity fetch",
                "{ users { id name } }",
                json!({ "data": { "users": [
                    { "id": "u1", "name": "Ada" },
                    { "id": "u2", "name": "Grace" },
                    { "id": "u3", "name": "Alan" },
                ] } }),
            )
            .requests("accounts", 1)
            .requests("billing", 0),
            case(
                "a subgraph keyed by the second key is reached through it",
                "{ users { name credit } }",
                json!({ "data": { "users": [
                    { "name": "Ada", "credit": 100 },
                    { "name": "Grace", "credit": 250 },
                    { "name": "Alan", "credit": 0 },
                ] } }),
            )
            .requests("billing", 1),
            case(
                "an entity found by its second key resolves fields keyed by the first",
                r#"{ customer(email: "grace@example.org") { email credit id name } }"#,
                json!({ "data": { "customer": {
                    "email": "grace@example.org", "credit": 250, "id": "u2", "name": "Grace",
                } } }),
            ),
            case(
                "an entity the owning subgraph does not know nulls its non-null field's parent",
                r#"{ customer(email: "nobody@example.org") { email name } }"#,
                json!({
                    "data": { "customer": null },
                    "errors": [{
                        "message": "Cannot return null for non-nullable field User.name.",
                        "path": ["customer", "name"],
                    }],
                }),
            ),
            case(
                "a nested key tells apart entities that share an id",
                "{ members { id role org { name } plan } }",
                json!({ "data": { "members": [
                    { "id": "m1", "role": "founder", "org": { "name": "Analytical Society" }, "plan": "gold" },
                    { "id": "m1", "role": "admiral", "org": { "name": "Navy" }, "plan": "silver" },
                    { "id": "m2", "role": "member", "org": { "name": "Analytical Society" }, "plan": "free" },
                    { "id": "m3", "role": "guest", "org": { "name": "Navy" }, "plan": null },
                ] } }),
            ),
            case(
                "the nested key's fields stay out of the response when not selected",
                "{ members { plan } }",
                json!({ "data": { "members": [
                    { "plan": "gold" }, { "plan": "silver" }, { "plan": "free" }, { "plan": null },
                ] } }),
            ),
            case(
                "entities below an entity are joined by their nested key",
                r#"{ org(id: "o2") { name members { role plan } } }"#,
                json!({ "data": { "org": { "name": "Navy", "members": [
                    { "role": "admiral", "plan": "silver" },
                    { "role": "guest", "plan": null },
                ] } } }),
            ),
            case(
                "a compound key joins on both fields",
                "{ seats { row number price } }",
                json!({ "data": { "seats": [
                    { "row": "A", "number": 1, "price": 50 },
                    { "row": "A", "number": 2, "price": 60 },
                    { "row": "B", "number": 1, "price": 40 },
                ] } }),
            ),
            case(
                "a compound key is fetched even when none of its fields is selected",
                "{ seats { price } }",
                json!({ "data": { "seats": [{ "price": 50 }, { "price": 60 }, { "price": 40 }] } }),
            )
            .requests("billing", 1),
            case(
                "a key of a resolvable: false reference is answered without calling its owner",
                "{ members { user { id } } }",
                json!({ "data": { "members": [
                    { "user": { "id": "u1" } },
                    { "user": { "id": "u2" } },
                    { "user": { "id": "u3" } },
                    { "user": { "id": "u9" } },
                ] } }),
            )
            .requests("accounts", 0),
            case(
                "a resolvable: false reference is resolved by the subgraph that owns the entity",
                "{ members { role user { name } } }",
                json!({
                    "data": { "members": [
                        { "role": "founder", "user": { "name": "Ada" } },
                        { "role": "admiral", "user": { "name": "Grace" } },
                        { "role": "member", "user": { "name": "Alan" } },
                        { "role": "guest", "user": null },
                    ] },
                    "errors": [{
                        "message": "Cannot return null for non-nullable field User.name.",
                        "path": ["members", 3, "user", "name"],
                    }],
                }),
            )
            .requests("accounts", 1),
            case(
                "one entity crosses three subgraphs: id to email to credit",
                "{ members { user { credit } } }",
                json!({ "data": { "members": [
                    { "user": { "credit": 100 } },
                    { "user": { "credit": 250 } },
                    { "user": { "credit": 0 } },
                    { "user": null },
                ] },
                    "errors": [{
                        "message": "Cannot return null for non-nullable field User.credit.",
                        "path": ["members", 3, "user", "credit"],
                    }],
                }),
            )
            .requests("orgs", 1)
            .requests("accounts", 1)
            .requests("billing", 1),
            case(
                "variables reach the root field and the key fetch follows",
                "query ($id: ID!) { user(id: $id) { email credit } }",
                json!({ "data": { "user": { "email": "ada@example.org", "credit": 100 } } }),
            )
            .variables(json!({ "id": "u1" })),
            case(
                "a root field returning null skips the entity fetch",
                "query ($id: ID!) { user(id: $id) { name credit } }",
                json!({ "data": { "user": null } }),
            )
            .variables(json!({ "id": "u9" }))
            .requests("billing", 0),
            case(
                "an aliased key field still feeds the representation",
                "{ users { mail: email credit } }",
                json!({ "data": { "users": [
                    { "mail": "ada@example.org", "credit": 100 },
                    { "mail": "grace@example.org", "credit": 250 },
                    { "mail": "alan@example.org", "credit": 0 },
                ] } }),
            ),
            case(
                "the key's input object is not part of the API schema",
                r#"{ __type(name: "OrgKey") { name } }"#,
                json!({ "data": { "__type": null } }),
            ),
        ])
        .await;
}
