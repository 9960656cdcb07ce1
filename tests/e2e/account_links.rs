//! Password reset, email verification and email change through the router, reading the
//! links from the dev mailbox that messaging writes when no SMTP server is configured.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{LOGIN, TestApp, error_code, password, spawn};

const REQUEST_RESET: &str = "mutation($email: String!) {
    requestPasswordReset(input: { email: $email }) { ok }
}";
const RESET: &str = "mutation($token: String!, $password: String!) {
    resetPassword(input: { token: $token, newPassword: $password }) { ok }
}";
const VERIFY: &str = "mutation($token: String!) {
    verifyEmail(input: { token: $token }) { ok user { handle } }
}";
const CHANGE_EMAIL: &str = "mutation($email: String!, $password: String!) {
    changeEmail(input: { newEmail: $email, password: $password }) { user { email emailVerified } }
}";
const ME: &str = "{ me { email emailVerified } }";

/// The dev mailbox of `app`'s messaging.
fn mailbox(app: &TestApp) -> PathBuf {
    PathBuf::from(&app.env["AGORA_DATA_DIR"]).join("mailbox")
}

/// The `.eml` files in the mailbox sent to `to` whose subject starts with `subject`.
fn mails(app: &TestApp, to: &str, subject: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(mailbox(app)) else {
        return Vec::new();
    };
    let mut names: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "eml"))
        .collect();
    names.sort();
    names
        .into_iter()
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .filter(|mail| {
            mail.contains(&format!("To: {to}\r\n")) && mail.contains(&format!("Subject: {subject}"))
        })
        .collect()
}

/// Waits (bounded) until `count` mails to `to` about `subject` are in the mailbox, and
/// returns the token of the link in the newest.
async fn token_from_mail(app: &TestApp, to: &str, subject: &str, count: usize) -> String {
    for _ in 0..300 {
        let found = mails(app, to, subject);
        if found.len() >= count {
            let mail = found.last().expect("a mail");
            let start = mail.find("?token=").expect("a link with a token") + "?token=".len();
            return mail[start..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no mail {subject:?} to {to} in the dev mailbox");
}

const RESET_SUBJECT: &str = "Reset your Agora password";
const VERIFY_SUBJECT: &str = "Confirm your email address";

async fn login(app: &TestApp, login: &str, password: &str) -> Value {
    app.graphql(
        LOGIN,
        json!({ "input": { "login": login, "password": password } }),
        None,
    )
    .await
}

#[tokio::test]
async fn a_reset_link_from_the_mailbox_sets_a_new_password_once_and_ends_every_session() {
    let app = spawn().await;
    let ada = app.register("ada").await;

    let known = app
        .graphql(REQUEST_RESET, json!({ "email": "ADA@example.org" }), None)
        .await;
    let unknown = app
        .graphql(
            REQUEST_RESET,
            json!({ "email": "nobody@example.org" }),
            None,
        )
        .await;
    assert_eq!(
        known,
        json!({ "data": { "requestPasswordReset": { "ok": true } } })
    );
    assert_eq!(known, unknown, "the answer reveals no account");

    let token = token_from_mail(&app, "ada@example.org", RESET_SUBJECT, 1).await;
    let reset = app
        .graphql(
            RESET,
            json!({ "token": token, "password": "a brand new secret" }),
            None,
        )
        .await;
    assert_eq!(reset["data"]["resetPassword"]["ok"], true, "{reset}");

    let me = app.graphql(ME, json!({}), Some(&ada.access_token)).await;
    assert_eq!(
        error_code(&me),
        "UNAUTHENTICATED",
        "the old session ended: {me}"
    );
    let old = login(&app, "ada", &password("ada")).await;
    assert_eq!(error_code(&old), "UNAUTHENTICATED", "{old}");
    let new = login(&app, "ada", "a brand new secret").await;
    assert!(new["errors"].is_null(), "{new}");

    let again = app
        .graphql(
            RESET,
            json!({ "token": token, "password": "yet another one" }),
            None,
        )
        .await;
    assert_eq!(error_code(&again), "BAD_USER_INPUT", "single use: {again}");
    assert_eq!(again["errors"][0]["extensions"]["field"], "token");
    let forged = app
        .graphql(
            RESET,
            json!({ "token": "forged", "password": "yet another one" }),
            None,
        )
        .await;
    assert_eq!(error_code(&forged), "BAD_USER_INPUT", "{forged}");
}

#[tokio::test]
async fn only_the_newest_reset_link_works() {
    let app = spawn().await;
    app.register("ada").await;
    let email = json!({ "email": "ada@example.org" });
    app.graphql(REQUEST_RESET, email.clone(), None).await;
    let first = token_from_mail(&app, "ada@example.org", RESET_SUBJECT, 1).await;
    app.graphql(REQUEST_RESET, email, None).await;
    let second = token_from_mail(&app, "ada@example.org", RESET_SUBJECT, 2).await;
    assert_ne!(first, second);

    let stale = app
        .graphql(
            RESET,
            json!({ "token": first, "password": "new password 1" }),
            None,
        )
        .await;
    let fresh = app
        .graphql(
            RESET,
            json!({ "token": second, "password": "new password 2" }),
            None,
        )
        .await;

    assert_eq!(error_code(&stale), "BAD_USER_INPUT", "{stale}");
    assert!(fresh["errors"].is_null(), "{fresh}");
}

#[tokio::test]
async fn registering_mails_a_link_that_verifies_the_email_for_its_owner_to_see() {
    let app = spawn().await;
    let ada = app.register("ada").await;
    let bob = app.register("bob").await;
    let unverified = app.ok(ME, json!({}), &ada).await;
    assert_eq!(unverified["me"]["emailVerified"], false);

    let token = token_from_mail(&app, "ada@example.org", VERIFY_SUBJECT, 1).await;
    let verified = app.graphql(VERIFY, json!({ "token": token }), None).await;

    assert_eq!(
        verified["data"]["verifyEmail"],
        json!({ "ok": true, "user": { "handle": "ada" } }),
        "{verified}"
    );
    assert_eq!(
        app.ok(ME, json!({}), &ada).await["me"]["emailVerified"],
        true
    );
    let seen_by_bob = app
        .ok(
            r#"{ userByHandle(handle: "ada") { emailVerified } }"#,
            json!({}),
            &bob,
        )
        .await;
    assert_eq!(seen_by_bob["userByHandle"]["emailVerified"], Value::Null);
    let again = app.graphql(VERIFY, json!({ "token": token }), None).await;
    assert_eq!(error_code(&again), "BAD_USER_INPUT", "{again}");
}

#[tokio::test]
async fn changing_the_email_takes_the_password_and_a_new_verification() {
    let app = spawn().await;
    let ada = app.register("ada").await;
    app.register("bob").await;
    let old_link = token_from_mail(&app, "ada@example.org", VERIFY_SUBJECT, 1).await;
    let change = |email: &str, password: &str| {
        app.graphql(
            CHANGE_EMAIL,
            json!({ "email": email, "password": password }),
            Some(&ada.access_token),
        )
    };

    let wrong_password = change("ada@new.example", "not my password").await;
    let taken = change("bob@example.org", &password("ada")).await;
    let malformed = change("not an address", &password("ada")).await;
    for (response, field) in [
        (&wrong_password, "password"),
        (&taken, "newEmail"),
        (&malformed, "newEmail"),
    ] {
        assert_eq!(error_code(response), "BAD_USER_INPUT", "{response}");
        assert_eq!(response["errors"][0]["extensions"]["field"], field);
    }
    let changed = change("Ada@New.Example", &password("ada")).await;
    assert_eq!(
        changed["data"]["changeEmail"]["user"],
        json!({ "email": "ada@new.example", "emailVerified": false }),
        "{changed}"
    );

    let stale = app
        .graphql(VERIFY, json!({ "token": old_link }), None)
        .await;
    assert_eq!(
        error_code(&stale),
        "BAD_USER_INPUT",
        "a link to the old address proves nothing: {stale}"
    );
    let token = token_from_mail(&app, "ada@new.example", VERIFY_SUBJECT, 1).await;
    let verified = app.graphql(VERIFY, json!({ "token": token }), None).await;
    assert!(verified["errors"].is_null(), "{verified}");
    assert_eq!(
        app.ok(ME, json!({}), &ada).await["me"],
        json!({ "email": "ada@new.example", "emailVerified": true })
    );
    let by_new_email = login(&app, "ada@new.example", &password("ada")).await;
    assert!(by_new_email["errors"].is_null(), "{by_new_email}");
}
