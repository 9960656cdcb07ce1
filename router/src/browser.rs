//! What the router does for browsers besides GraphQL: CORS for the origins the
//! configuration lists (and no other), and security headers on every response.
//!
//! CORS is `tower-http`'s layer, given a predicate over the configured origins
//! ([`AllowedOrigins`]); a preflight from an origin that is not listed (every preflight,
//! when none is) is refused with 403 before it reaches that layer, so a misconfigured
//! page fails loudly in the browser's network tab rather than with a silent missing
//! header. Requests that are not preflights pass whatever their `Origin`: without
//! `Access-Control-Allow-Origin` the browser keeps the response from the page, and CSRF
//! prevention keeps simple cross-site requests from acting.
//!
//! Every response gets `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`
//! (no page of the router links anywhere, so nothing is lost), `X-Frame-Options: DENY`
//! and, unless the handler set its own, `Content-Security-Policy: default-src 'none';
//! frame-ancestors 'none'`: JSON, event streams and errors are never documents to run.
//! The GraphiQL page sets a policy of its own ([`graphiql_csp`]).

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, Method, header};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::config::Cors;
use crate::error::RouterError;

/// The policy of every response that sets none itself.
pub(crate) const STRICT_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

/// The request headers a listed origin's page may send: GraphQL over HTTP's, Apollo's
/// CSRF and client-awareness headers, and W3C trace context.
const ALLOWED_HEADERS: [HeaderName; 9] = [
    header::AUTHORIZATION,
    header::CONTENT_TYPE,
    header::ACCEPT,
    HeaderName::from_static("apollo-require-preflight"),
    HeaderName::from_static("x-apollo-operation-name"),
    HeaderName::from_static("apollographql-client-name"),
    HeaderName::from_static("apollographql-client-version"),
    HeaderName::from_static("traceparent"),
    HeaderName::from_static("tracestate"),
];

/// The policy of the GraphiQL page: its own scripts and styles (served under
/// `/graphiql/`), the inline ones carrying this response's `nonce` (GraphiQL's dialogs
/// add a `<style>` element that takes the nonce too), the icons and fonts its CSS
/// embeds as `data:` URLs, and requests to this origin only (the endpoint, and its
/// WebSocket: CSP 3's `'self'` covers `ws:`/`wss:` to the same host). No `unsafe-inline`
/// and no `unsafe-eval`.
pub(crate) fn graphiql_csp(nonce: &str) -> String {
    format!(
        "default-src 'none'; script-src 'self' 'nonce-{nonce}'; \
         style-src 'self' 'nonce-{nonce}'; img-src 'self' data:; font-src 'self' data:; \
         connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
}

/// CORS for the listed origins; `None` when none is listed.
pub(crate) fn cors_layer(cors: &Cors, origins: &Arc<AllowedOrigins>) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let origins = Arc::clone(origins);
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::predicate(move |origin, _| {
                origins.allows(origin)
            }))
            .allow_methods([Method::GET, Method::POST])
            .allow_headers(ALLOWED_HEADERS)
            .expose_headers([header::RETRY_AFTER])
            .allow_credentials(cors.allow_credentials)
            .max_age(cors.max_age),
    )
}

/// The security headers on every response of `router`, those a handler set left alone.
pub(crate) fn with_security_headers<S>(router: Router<S>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let always = |name: HeaderName, value: &'static str| {
        SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
    };
    router
        .layer(always(header::CONTENT_SECURITY_POLICY, STRICT_CSP))
        .layer(always(header::X_FRAME_OPTIONS, "DENY"))
        .layer(always(header::REFERRER_POLICY, "no-referrer"))
        .layer(always(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
}

/// A CORS preflight: `OPTIONS` with the `Origin` and `Access-Control-Request-Method`
/// a browser sends before a request that is not simple.
pub(crate) fn is_preflight(method: &Method, headers: &axum::http::HeaderMap) -> bool {
    method == Method::OPTIONS
        && headers.contains_key(header::ORIGIN)
        && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

/// The configured origins, parsed once.
#[derive(Debug, Default)]
pub(crate) struct AllowedOrigins {
    patterns: Vec<Pattern>,
}

#[derive(Debug, PartialEq, Eq)]
struct Pattern {
    scheme: String,
    host: String,
    /// `None`: any port.
    port: Option<Port>,
}

/// A port as an origin states it: absent (the scheme's default) or a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Port {
    Default,
    Number(u16),
}

impl AllowedOrigins {
    /// Parses `scheme://host[:port]` entries, `*` allowed as the port only.
    pub fn parse(origins: &[String]) -> Result<Self, RouterError> {
        let patterns = origins
            .iter()
            .map(|origin| {
                parse_origin(origin.trim(), true)
                    .ok_or_else(|| RouterError::CorsOrigin(origin.clone()))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { patterns })
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Whether a request's `Origin` value is listed.
    pub fn allows(&self, origin: &HeaderValue) -> bool {
        let Some(origin) = origin
            .to_str()
            .ok()
            .and_then(|origin| parse_origin(origin, false))
        else {
            return false;
        };
        self.patterns.iter().any(|pattern| {
            pattern.scheme == origin.scheme
                && pattern.host == origin.host
                && pattern.port.is_none_or(|port| {
                    effective_port(&pattern.scheme, port)
                        == origin
                            .port
                            .and_then(|port| effective_port(&origin.scheme, port))
                })
        })
    }
}

/// The port a scheme's default stands for (HTTP's 80, HTTPS's 443), so that
/// `https://a.example` and `https://a.example:443` are one origin.
fn effective_port(scheme: &str, port: Port) -> Option<u16> {
    match (port, scheme) {
        (Port::Number(number), _) => Some(number),
        (Port::Default, "http") => Some(80),
        (Port::Default, "https") => Some(443),
        (Port::Default, _) => None,
    }
}

/// `scheme://host[:port]`, lower-cased; with `wildcard`, the port may be `*` (then
/// `port` is `None`). Anything else (a path, user info, `null`, a `*` host) is `None`.
fn parse_origin(origin: &str, wildcard: bool) -> Option<Pattern> {
    let origin = origin.to_ascii_lowercase();
    let (scheme, rest) = origin.split_once("://")?;
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !scheme_ok {
        return None;
    }
    // An IPv6 host is bracketed and holds colons itself.
    let (host, port) = if rest.starts_with('[') {
        let end = rest.find(']')?;
        let (host, after) = rest.split_at(end + 1);
        let valid = host[1..host.len() - 1]
            .chars()
            .all(|c| c.is_ascii_hexdigit() || matches!(c, ':' | '.'));
        if !valid || host.len() < 3 {
            return None;
        }
        match after {
            "" => (host, None),
            after => (host, Some(after.strip_prefix(':')?)),
        }
    } else {
        let (host, port) = match rest.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (rest, None),
        };
        let valid = !host.is_empty()
            && !host.starts_with(['.', '-'])
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.'));
        if !valid {
            return None;
        }
        (host, port)
    };
    let port = match port {
        None => Some(Port::Default),
        Some("*") if wildcard => None,
        Some(port) if !port.is_empty() && port.chars().all(|c| c.is_ascii_digit()) => {
            Some(Port::Number(port.parse().ok()?))
        }
        Some(_) => return None,
    };
    Some(Pattern {
        scheme: scheme.to_owned(),
        host: host.to_owned(),
        port,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origins(list: &[&str]) -> AllowedOrigins {
        let list: Vec<String> = list.iter().map(|origin| (*origin).to_owned()).collect();
        AllowedOrigins::parse(&list).expect("valid origins")
    }

    fn allows(origins: &AllowedOrigins, origin: &str) -> bool {
        origins.allows(&HeaderValue::from_str(origin).expect("header value"))
    }

    #[test]
    fn listed_origins_match_exactly_with_default_ports_understood() {
        let list = origins(&["https://app.example.org", "http://Admin.example.org:8080"]);
        assert!(allows(&list, "https://app.example.org"));
        assert!(allows(&list, "https://app.example.org:443"));
        assert!(allows(&list, "http://admin.example.org:8080"));
        for refused in [
            "http://app.example.org",
            "https://app.example.org:8443",
            "https://evil.app.example.org",
            "https://app.example.org.evil.example",
            "http://admin.example.org",
            "null",
            "https://app.example.org/",
        ] {
            assert!(!allows(&list, refused), "{refused}");
        }
    }

    #[test]
    fn a_port_wildcard_allows_every_port_of_its_scheme_and_host_only() {
        let list = origins(&["http://localhost:*", "http://[::1]:*"]);
        assert!(allows(&list, "http://localhost"));
        assert!(allows(&list, "http://localhost:5173"));
        assert!(allows(&list, "http://[::1]:3000"));
        assert!(!allows(&list, "https://localhost:5173"));
        assert!(!allows(&list, "http://localhost.evil.example:5173"));
        assert!(!allows(&list, "http://127.0.0.1:5173"));
    }

    #[test]
    fn wildcards_other_than_the_port_and_malformed_origins_are_refused() {
        for bad in [
            "*",
            "null",
            "https://*.example.org",
            "https://app.example.org/path",
            "https://user@app.example.org",
            "app.example.org",
            "https://app.example.org:http",
            "https://app.example.org:99999",
            "https://",
            "http://[zz]:1",
        ] {
            assert!(
                AllowedOrigins::parse(&[bad.to_owned()]).is_err(),
                "{bad} should be refused"
            );
        }
    }

    #[test]
    fn the_development_origins_are_local_ones() {
        let list = origins(
            &Cors::local_development()
                .origins
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        );
        for allowed in [
            "http://localhost:3000",
            "http://127.0.0.1:5173",
            "https://localhost:8443",
            "http://[::1]:4200",
        ] {
            assert!(allows(&list, allowed), "{allowed}");
        }
        assert!(!allows(&list, "http://192.168.1.10:3000"));
        assert!(!allows(&list, "https://agora.example"));
    }
}
