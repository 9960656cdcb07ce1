//! GraphiQL for browsers: the page on `GET /graphql` and its scripts and styles on
//! `GET /graphiql/<file>`, all built into the binary (`router/assets/graphiql`), so the
//! IDE works offline and under a strict content-security policy: scripts and styles
//! from the router itself, and the page's inline ones by a nonce drawn for each
//! response (`browser::graphiql_csp`).

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use crate::browser;

/// The page, whose inline `<script>` and `<style>` say `nonce="{csp_nonce}"`.
const PAGE: &str = include_str!("../assets/graphiql/index.html");

/// The page itself, with a fresh nonce in it and in its policy. Not cached: a nonce
/// is good for one response.
pub(crate) fn page() -> Response {
    let nonce: String = rand::random::<[u8; 16]>()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    (
        [
            (
                header::CONTENT_SECURITY_POLICY,
                browser::graphiql_csp(&nonce),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        Html(PAGE.replace("{csp_nonce}", &nonce)),
    )
        .into_response()
}

/// One of the page's assets; they never change within a build, so browsers may keep
/// them for a day.
pub(crate) async fn asset(Path(file): Path<String>) -> Response {
    let (content_type, body): (&str, &'static [u8]) = match file.as_str() {
        "graphiql.min.js" => (
            "text/javascript",
            include_bytes!("../assets/graphiql/graphiql.min.js"),
        ),
        "graphiql.min.css" => (
            "text/css",
            include_bytes!("../assets/graphiql/graphiql.min.css"),
        ),
        "react.production.min.js" => (
            "text/javascript",
            include_bytes!("../assets/graphiql/react.production.min.js"),
        ),
        "react-dom.production.min.js" => (
            "text/javascript",
            include_bytes!("../assets/graphiql/react-dom.production.min.js"),
        ),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        body,
    )
        .into_response()
}
