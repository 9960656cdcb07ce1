//! Accounts and profiles: registration, sessions, tokens, lockout, profile updates and
//! restarts, across identity and profiles.

use crate::helpers::{self, LOGIN, REFRESH, Session, error_code, password, spawn};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

#[tokio::test]
async fn registering_then_asking_me_crosses_identity_and_profiles() {
    let app = spawn().await;
    let ada = app.register("ada_l").await;

    let response = app.wait_for_profile(&ada.access_token).await;

    assert_eq!(
        response["data"]["me"],
        json!({ "handle": "ada_l", "displayName": "ada_l" })
    );
    assert!(response["errors"].is_null(), "{response}");
}

#[tokio::test]
async fn the_email_is_shown_to_its_owner_only() {
    let app = spawn().await;
    let ada = app.register("ada").await;
    let bob = app.register("bob").await;

    let own = app
        .graphql("{ me { email } }", json!({}), Some(&ada.access_token))
        .await;
    let other = app
        .graphql(
            r#"{ userByHandle(handle: "ADA") { handle email } }"#,
            json!({}),
            Some(&bob.access_token),
        )
        .await;

    assert_eq!(own["data"]["me"]["email"], "ada@example.org");
    assert_eq!(
        other["data"]["userByHandle"],
        json!({ "handle": "ada", "email": null })
    );
}

#[tokio::test]
async fn registration_refuses_bad_input_naming_the_field() {
    let app = spawn().await;
    app.register("taken").await;
    let cases = [
        (
            json!({ "email": "x@example.org", "handle": "TAKEN", "password": "long enough" }),
            "handle",
        ),
        (
            json!({ "email": "TAKEN@example.org", "handle": "fresh", "password": "long enough" }),
            "email",
        ),
        (
            json!({ "email": "not-an-email", "handle": "fresh", "password": "long enough" }),
            "email",
        ),
        (
            json!({ "email": "x@example.org", "handle": "no spaces", "password": "long enough" }),
            "handle",
        ),
        (
            json!({ "email": "x@example.org", "handle": "fresh", "password": "short" }),
            "password",
        ),
    ];
    for (input, field) in cases {
        let response = app
            .graphql(helpers::REGISTER, json!({ "input": input }), None)
            .await;
        assert_eq!(error_code(&response), "BAD_USER_INPUT", "{response}");
        assert_eq!(
            response["errors"][0]["extensions"]["field"], field,
            "{response}"
        );
        assert!(response["data"].is_null(), "{response}");
    }
}

#[tokio::test]
async fn a_refresh_token_rotates_and_its_reuse_ends_the_whole_session() {
    let app = spawn().await;
    let first = app.register("rotator").await;

    let second = refresh(&app, &first.refresh_token).await;
    let second = Session::from_payload(&second["data"]["refreshSession"]).expect("rotation works");
    assert_ne!(second.refresh_token, first.refresh_token);

    let reuse = refresh(&app, &first.refresh_token).await;
    assert_eq!(error_code(&reuse), "UNAUTHENTICATED", "{reuse}");

    let after_reuse = refresh(&app, &second.refresh_token).await;
    assert_eq!(
        error_code(&after_reuse),
        "UNAUTHENTICATED",
        "the family is revoked: {after_reuse}"
    );
    let me = app
        .graphql("{ me { id } }", json!({}), Some(&second.access_token))
        .await;
    assert_eq!(
        error_code(&me),
        "UNAUTHENTICATED",
        "its access tokens too: {me}"
    );
    let user_id = first.user_id.parse().expect("a UUID");
    let identity_db = app.database("identity").await;
    let audit = agora_identity::store::audit::actions_of(&identity_db, user_id)
        .await
        .expect("audit log");
    assert!(
        audit.iter().any(|a| a == "refresh.reuse_detected"),
        "{audit:?}"
    );
}

#[tokio::test]
async fn logout_ends_the_session_but_not_the_others() {
    let app = spawn().await;
    let phone = app.register("twodevices").await;
    let laptop = login(&app, "twodevices", &password("twodevices")).await;
    let laptop = Session::from_payload(&laptop["data"]["login"]).expect("login works");

    let out = app
        .graphql(
            "mutation { logout { ok } }",
            json!({}),
            Some(&phone.access_token),
        )
        .await;
    assert_eq!(out["data"]["logout"]["ok"], true, "{out}");

    let phone_me = app
        .graphql("{ me { id } }", json!({}), Some(&phone.access_token))
        .await;
    assert_eq!(error_code(&phone_me), "UNAUTHENTICATED");
    assert_eq!(
        error_code(&refresh(&app, &phone.refresh_token).await),
        "UNAUTHENTICATED"
    );
    let laptop_me = app
        .graphql("{ me { id } }", json!({}), Some(&laptop.access_token))
        .await;
    assert_eq!(laptop_me["data"]["me"]["id"], laptop.user_id.as_str());

    app.graphql(
        "mutation { logoutEverywhere { ok } }",
        json!({}),
        Some(&laptop.access_token),
    )
    .await;
    assert_eq!(
        error_code(&refresh(&app, &laptop.refresh_token).await),
        "UNAUTHENTICATED"
    );
}

#[tokio::test]
async fn changing_the_password_ends_other_sessions_and_needs_the_current_one() {
    let app = spawn().await;
    let here = app.register("changer").await;
    let elsewhere = login(&app, "changer", &password("changer")).await;
    let elsewhere = Session::from_payload(&elsewhere["data"]["login"]).expect("login works");
    let change = "mutation($input: ChangePasswordInput!) { changePassword(input: $input) { user { handle } } }";

    let wrong = app
        .graphql(
            change,
            json!({ "input": { "currentPassword": "nope-nope", "newPassword": "brand new pass" } }),
            Some(&here.access_token),
        )
        .await;
    assert_eq!(error_code(&wrong), "BAD_USER_INPUT");
    assert_eq!(wrong["errors"][0]["extensions"]["field"], "currentPassword");

    let input = json!({ "input": { "currentPassword": password("changer"), "newPassword": "brand new pass" } });
    let changed = app.graphql(change, input, Some(&here.access_token)).await;
    assert_eq!(
        changed["data"]["changePassword"]["user"]["handle"], "changer",
        "{changed}"
    );

    assert_eq!(
        error_code(&refresh(&app, &elsewhere.refresh_token).await),
        "UNAUTHENTICATED"
    );
    assert!(refresh(&app, &here.refresh_token).await["errors"].is_null());
    assert_eq!(
        error_code(&login(&app, "changer", &password("changer")).await),
        "UNAUTHENTICATED"
    );
    assert!(login(&app, "changer", "brand new pass").await["errors"].is_null());
}

#[tokio::test]
async fn repeated_failed_logins_lock_known_and_unknown_logins_alike() {
    let app = spawn().await;
    app.register("victim").await;

    for login_name in ["victim", "nobody_here"] {
        for attempt in 1..=5 {
            let response = login(&app, login_name, "wrong password").await;
            assert_eq!(
                error_code(&response),
                "UNAUTHENTICATED",
                "{login_name} attempt {attempt}: {response}"
            );
            assert_eq!(
                response["errors"][0]["message"],
                "invalid login or password"
            );
        }
        let locked = login(&app, login_name, &password(login_name)).await;
        assert_eq!(
            error_code(&locked),
            "TOO_MANY_REQUESTS",
            "{login_name}: {locked}"
        );
        assert!(
            locked["errors"][0]["extensions"]["retryAfter"]
                .as_u64()
                .unwrap_or(0)
                > 0,
            "{locked}"
        );
    }
}

#[tokio::test]
async fn wrong_expired_and_forged_tokens_are_refused_with_unauthenticated() {
    let app = spawn().await;
    let ada = app.register("tokens").await;
    let (kid, key) = signing_key(&app).await;
    let claims = |exp_offset: i64| {
        let now = chrono_now();
        json!({ "sub": ada.user_id, "sid": uuid::Uuid::now_v7(), "iss": "agora", "aud": "agora", "iat": now, "exp": now + exp_offset })
    };
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid);
    let expired = jsonwebtoken::encode(&header, &claims(-3600), &key).expect("sign");
    let forged_key = EncodingKey::from_ed_der(
        ring::signature::Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new())
            .expect("key")
            .as_ref(),
    );
    let forged = jsonwebtoken::encode(&header, &claims(600), &forged_key).expect("sign");
    let mut tampered = ada.access_token.clone();
    tampered.insert(tampered.find('.').expect("a JWT") + 2, 'x');

    for token in [
        "garbage",
        expired.as_str(),
        forged.as_str(),
        tampered.as_str(),
    ] {
        let response = app
            .graphql("{ me { handle displayName } }", json!({}), Some(token))
            .await;
        assert_eq!(
            error_code(&response),
            "UNAUTHENTICATED",
            "{token}: {response}"
        );
        assert!(response["data"]["me"].is_null(), "{response}");
    }
    let valid = app
        .graphql("{ me { handle } }", json!({}), Some(&ada.access_token))
        .await;
    assert_eq!(valid["data"]["me"]["handle"], "tokens");
}

#[tokio::test]
async fn update_profile_changes_only_the_viewers_own_profile() {
    let app = spawn().await;
    let ada = app.register("ada_p").await;
    let bob = app.register("bob_p").await;
    app.wait_for_profile(&ada.access_token).await;
    app.wait_for_profile(&bob.access_token).await;
    let update = "mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { user { displayName bio website } } }";

    let input = json!({ "input": { "displayName": "Ada Lovelace", "bio": "Analyst", "website": "https://ada.example.org" } });
    let updated = app.graphql(update, input, Some(&ada.access_token)).await;
    assert_eq!(
        updated["data"]["updateProfile"]["user"],
        json!({ "displayName": "Ada Lovelace", "bio": "Analyst", "website": "https://ada.example.org" })
    );

    let anonymous = app
        .graphql(update, json!({ "input": { "bio": "hijack" } }), None)
        .await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");
    let too_long = app
        .graphql(
            update,
            json!({ "input": { "bio": "x".repeat(301) } }),
            Some(&bob.access_token),
        )
        .await;
    assert_eq!(error_code(&too_long), "BAD_USER_INPUT");
    assert_eq!(too_long["errors"][0]["extensions"]["field"], "bio");

    let bob_me = app
        .graphql(
            "{ me { displayName bio } }",
            json!({}),
            Some(&bob.access_token),
        )
        .await;
    assert_eq!(
        bob_me["data"]["me"],
        json!({ "displayName": "bob_p", "bio": "" })
    );
}

#[tokio::test]
async fn restarting_the_platform_keeps_accounts_and_profiles() {
    let mut app = spawn().await;
    let ada = app.register("survivor").await;
    app.wait_for_profile(&ada.access_token).await;

    app.restart().await;

    let again = login(&app, "survivor", &password("survivor")).await;
    let again = Session::from_payload(&again["data"]["login"]).expect("the account survived");
    let me = app
        .graphql(
            "{ me { handle displayName } }",
            json!({}),
            Some(&again.access_token),
        )
        .await;
    assert_eq!(
        me["data"]["me"],
        json!({ "handle": "survivor", "displayName": "survivor" })
    );
    let old = app
        .graphql("{ me { handle } }", json!({}), Some(&ada.access_token))
        .await;
    assert_eq!(
        old["data"]["me"]["handle"], "survivor",
        "tokens outlive a restart: {old}"
    );
}

async fn login(app: &helpers::TestApp, login: &str, password: &str) -> Value {
    app.graphql(
        LOGIN,
        json!({ "input": { "login": login, "password": password } }),
        None,
    )
    .await
}

async fn refresh(app: &helpers::TestApp, token: &str) -> Value {
    app.graphql(REFRESH, json!({ "input": { "refreshToken": token } }), None)
        .await
}

/// Identity's current signing key, read from its database as an attacker with a stolen
/// key (or a clock in the past) would have it.
async fn signing_key(app: &helpers::TestApp) -> (String, EncodingKey) {
    let db = app.database("identity").await;
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT kid, private_key FROM signing_key",
        ))
        .await
        .expect("query")
        .expect("a key");
    let kid: String = row.try_get("", "kid").expect("kid");
    let der: String = row.try_get("", "private_key").expect("key");
    (
        kid,
        EncodingKey::from_ed_der(&STANDARD.decode(der).expect("base64")),
    )
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
