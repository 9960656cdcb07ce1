//! A test's GraphQL client: operations over real HTTP, as a registered member or
//! anonymously, and the reading of errors the way a client would.

use serde_json::{Value, json};
use uuid::Uuid;

/// A user registered through identity, with the access token to act as them.
#[derive(Clone, Debug)]
pub struct Member {
    /// The account id.
    pub id: Uuid,
    /// A bearer access token for the account.
    pub token: String,
}

/// One subgraph's `/graphql` endpoint.
#[derive(Clone, Debug)]
pub struct Graphql {
    /// The endpoint's URL.
    pub url: String,
    /// Shared connection pool.
    http: reqwest::Client,
}

impl Graphql {
    /// A client of the endpoint at `url`.
    pub fn new(url: String) -> Self {
        Self {
            url,
            http: reqwest::Client::new(),
        }
    }

    /// Runs an operation as `member` (or anonymously) and returns the whole response.
    pub async fn gql(&self, member: Option<&Member>, query: &str, variables: Value) -> Value {
        let mut request = self
            .http
            .post(&self.url)
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(member) = member {
            request = request.bearer_auth(&member.token);
        }
        request
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("JSON")
    }

    /// Runs an operation that must succeed and returns its data.
    pub async fn ok(&self, member: Option<&Member>, query: &str, variables: Value) -> Value {
        let response = self.gql(member, query, variables).await;
        assert!(response.get("errors").is_none(), "{response}");
        response["data"].clone()
    }

    /// Registers `handle` (email `<handle>@example.org`) through this endpoint, which must
    /// be identity's.
    pub async fn register(&self, handle: &str) -> Member {
        let response = self
            .gql(
                None,
                "mutation($input: RegisterInput!) { register(input: $input) { accessToken user { id } } }",
                json!({ "input": {
                    "email": format!("{handle}@example.org"),
                    "handle": handle,
                    "password": "correct horse battery",
                }}),
            )
            .await;
        let payload = &response["data"]["register"];
        Member {
            id: payload["user"]["id"]
                .as_str()
                .and_then(|id| Uuid::parse_str(id).ok())
                .unwrap_or_else(|| panic!("registered: {response}")),
            token: payload["accessToken"].as_str().expect("token").to_owned(),
        }
    }
}

/// The `extensions.code` and `extensions.field` of a response's first error
/// (`"no error"` when it has none).
pub fn error_of(response: &Value) -> (String, Option<String>) {
    let extensions = &response["errors"][0]["extensions"];
    (
        extensions["code"].as_str().unwrap_or("no error").to_owned(),
        extensions["field"].as_str().map(str::to_owned),
    )
}
