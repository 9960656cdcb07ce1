//! A small GraphQL-over-HTTP client for the command line's own tools (`agora seed`, the
//! bench binaries): one keep-alive connection pool, errors carried as their
//! `extensions.code`.

use serde_json::{Value, json};

/// Talks to one GraphQL endpoint.
#[derive(Clone)]
pub struct GraphqlClient {
    http: reqwest::Client,
    url: String,
}

/// Why an operation gave no data.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The request did not get an HTTP answer with a JSON body.
    #[error("{0}")]
    Http(#[from] reqwest::Error),
    /// The server answered with GraphQL errors.
    #[error("{code}: {message}")]
    Graphql {
        /// The first error's `extensions.code`.
        code: String,
        /// The first error's message.
        message: String,
    },
}

impl ClientError {
    /// The `extensions.code` of a GraphQL error; `None` for transport failures.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Graphql { code, .. } => Some(code),
            Self::Http(_) => None,
        }
    }
}

impl GraphqlClient {
    /// A client for the endpoint at `url` (e.g. `http://127.0.0.1:4000/graphql`).
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            http: reqwest::Client::new(),
            url: url.into(),
        }
    }

    /// Runs an operation, as `token`'s user if given, and returns its `data`.
    pub async fn run(
        &self,
        query: &str,
        variables: Value,
        token: Option<&str>,
    ) -> Result<Value, ClientError> {
        let mut request = self
            .http
            .post(&self.url)
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let mut response: Value = request.send().await?.json().await?;
        if let Some(error) = response["errors"].get(0) {
            return Err(ClientError::Graphql {
                code: error["extensions"]["code"]
                    .as_str()
                    .unwrap_or("UNKNOWN")
                    .to_owned(),
                message: error["message"].as_str().unwrap_or_default().to_owned(),
            });
        }
        Ok(response["data"].take())
    }

    /// Signs in with a handle or email and password; returns the access token.
    pub async fn login(&self, login: &str, password: &str) -> Result<String, ClientError> {
        let data = self
            .run(
                "mutation($input: LoginInput!) { login(input: $input) { accessToken } }",
                json!({ "input": { "login": login, "password": password } }),
                None,
            )
            .await?;
        Ok(data["login"]["accessToken"]
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }
}
