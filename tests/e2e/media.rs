//! Media through the router and the upload URL, as a frontend uses them: a photo made in
//! the test is uploaded, shown in a post and as an avatar, read back from the feed with
//! its URLs and size, and its thumbnail fetched and decoded; media nobody may attach is
//! refused; and deleting the post or the account takes the files out of the store.

use std::io::Cursor;
use std::path::PathBuf;
use std::time::Duration;

use agora_kit::events::Envelope;
use image::{ImageBuffer, ImageFormat, Rgb};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{self, Session, TestApp, error_code};

const CREATE_UPLOAD: &str = "mutation($input: CreateUploadInput!) {
    createUpload(input: $input) { media { id status } uploadUrl expiresAt }
}";
pub(crate) const CREATE_POST: &str = "mutation($body: String!, $media: [ID!]) {
    createPost(input: { body: $body, mediaIds: $media }) { post { id media { id status } } }
}";
pub(crate) const SET_AVATAR: &str = "mutation($id: ID) {
    updateProfile(input: { avatarMediaId: $id }) { user { avatar { id } } }
}";
const DELETE_POST: &str =
    "mutation($id: ID!) { deletePost(input: { postId: $id }) { deletedPostId } }";
const FEED: &str = "{ feed(first: 10) { nodes {
    body
    media { url thumbnailUrl width height }
    author { handle avatar { thumbnailUrl width height } }
} } }";

/// A `width` × `height` PNG with a gradient, as a phone would send one.
fn png(width: u32, height: u32) -> Vec<u8> {
    let image = ImageBuffer::from_fn(width, height, |x, y| Rgb([x as u8, y as u8, 90]));
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, ImageFormat::Png).expect("png");
    out.into_inner()
}

/// The files of the platform's local store, as `<media id>/<file>`, sorted.
fn stored(app: &TestApp) -> Vec<String> {
    let store = PathBuf::from(&app.env["AGORA_DATA_DIR"]).join("media");
    let mut found = Vec::new();
    for folder in std::fs::read_dir(store).into_iter().flatten().flatten() {
        for file in std::fs::read_dir(folder.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            found.push(format!(
                "{}/{}",
                folder.file_name().to_string_lossy(),
                file.file_name().to_string_lossy()
            ));
        }
    }
    found.sort();
    found
}

/// The three files of an image.
fn image_files(id: &str) -> Vec<String> {
    ["display", "original", "thumbnail"]
        .iter()
        .map(|file| format!("{id}/{file}"))
        .collect()
}

/// Waits (bounded) until the store holds exactly `expected`: files go with the janitor.
pub(crate) async fn store_holds(app: &TestApp, expected: &[String]) {
    for _ in 0..200 {
        if stored(app) == expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(stored(app), expected);
}

/// Uploads a `width` × `height` PNG as `session` through `createUpload` and the upload
/// URL; returns the media id.
pub(crate) async fn upload(app: &TestApp, session: &Session, width: u32, height: u32) -> String {
    let bytes = png(width, height);
    let input =
        json!({ "filename": "photo.png", "contentType": "image/png", "byteSize": bytes.len() });
    let data = app
        .ok(CREATE_UPLOAD, json!({ "input": input }), session)
        .await;
    let url = data["createUpload"]["uploadUrl"].as_str().expect("url");
    let response = app.client.put(url).body(bytes).send().await.expect("put");
    assert_eq!(response.status().as_u16(), 200);
    data["createUpload"]["media"]["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

/// Runs a mutation attaching media until the attaching subgraph has heard that the media
/// is ready (until then it answers `BAD_USER_INPUT`); returns the last response.
pub(crate) async fn attach(
    app: &TestApp,
    query: &str,
    variables: Value,
    session: &Session,
) -> Value {
    for _ in 0..200 {
        let response = app
            .graphql(query, variables.clone(), Some(&session.access_token))
            .await;
        if error_code(&response) != "BAD_USER_INPUT" {
            return response;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{query}: the media never became attachable");
}

#[tokio::test]
async fn a_photo_is_posted_and_made_an_avatar_and_the_post_takes_only_its_own_files_when_deleted() {
    let app = helpers::spawn().await;
    let ada = app.register("ada").await;
    app.wait_for_profile(&ada.access_token).await;
    let photo = upload(&app, &ada, 1600, 1200).await;
    let avatar = upload(&app, &ada, 512, 512).await;

    let created = attach(
        &app,
        CREATE_POST,
        json!({ "body": "Sunset", "media": [photo] }),
        &ada,
    )
    .await;
    assert!(created["errors"].is_null(), "{created}");
    let post = created["data"]["createPost"]["post"].clone();
    assert_eq!(post["media"], json!([{ "id": photo, "status": "READY" }]));
    let set = attach(&app, SET_AVATAR, json!({ "id": avatar }), &ada).await;
    assert_eq!(
        set["data"]["updateProfile"]["user"]["avatar"]["id"], avatar,
        "{set}"
    );

    let feed = app
        .eventually(FEED, json!({}), &ada, |data| {
            data["feed"]["nodes"]
                .as_array()
                .is_some_and(|n| !n.is_empty())
        })
        .await;
    let node = &feed["feed"]["nodes"][0];
    assert_eq!(node["body"], "Sunset");
    assert_eq!(
        (
            node["media"][0]["width"].clone(),
            node["media"][0]["height"].clone()
        ),
        (json!(1600), json!(1200))
    );
    assert_eq!(node["author"]["avatar"]["width"], 512);
    let thumbnail = node["media"][0]["thumbnailUrl"]
        .as_str()
        .expect("thumbnail");
    let response = app.client.get(thumbnail).send().await.expect("thumbnail");
    assert_eq!(response.headers()["content-type"], "image/webp");
    let bytes = response.bytes().await.expect("bytes");
    let decoded = image::load_from_memory(&bytes).expect("a decodable thumbnail");
    assert_eq!((decoded.width(), decoded.height()), (256, 192));
    let original = node["media"][0]["url"].as_str().expect("url");
    let response = app.client.get(original).send().await.expect("original");
    assert_eq!(response.headers()["content-type"], "image/png");

    let mut both = image_files(&photo);
    both.extend(image_files(&avatar));
    both.sort();
    assert_eq!(stored(&app), both);
    app.ok(DELETE_POST, json!({ "id": post["id"] }), &ada).await;
    store_holds(&app, &image_files(&avatar)).await;
}

#[tokio::test]
async fn only_ones_own_ready_media_can_be_attached_and_the_field_is_named() {
    let app = helpers::spawn().await;
    let ada = app.register("ada").await;
    let bob = app.register("bob").await;
    app.wait_for_profile(&ada.access_token).await;
    let bobs = upload(&app, &bob, 64, 64).await;

    let theirs = attach(
        &app,
        CREATE_POST,
        json!({ "body": "mine?", "media": [bobs] }),
        &ada,
    )
    .await;
    assert_eq!(error_code(&theirs), "FORBIDDEN", "{theirs}");
    let avatar = attach(&app, SET_AVATAR, json!({ "id": bobs }), &ada).await;
    assert_eq!(error_code(&avatar), "FORBIDDEN", "{avatar}");

    let unknown = app
        .graphql(
            CREATE_POST,
            json!({ "body": "x", "media": [Uuid::now_v7()] }),
            Some(&ada.access_token),
        )
        .await;
    assert_eq!(error_code(&unknown), "BAD_USER_INPUT");
    assert_eq!(unknown["errors"][0]["extensions"]["field"], "mediaIds");
    let eleven: Vec<_> = (0..11).map(|_| Uuid::now_v7()).collect();
    let too_many = app
        .graphql(
            CREATE_POST,
            json!({ "body": "x", "media": eleven }),
            Some(&ada.access_token),
        )
        .await;
    assert_eq!(
        too_many["errors"][0]["extensions"]["field"], "mediaIds",
        "{too_many}"
    );
    let pending = {
        let input = json!({ "filename": "later.png", "contentType": "image/png", "byteSize": 10 });
        let data = app.ok(CREATE_UPLOAD, json!({ "input": input }), &ada).await;
        data["createUpload"]["media"]["id"].clone()
    };
    let not_ready = app
        .graphql(
            CREATE_POST,
            json!({ "body": "x", "media": [pending] }),
            Some(&ada.access_token),
        )
        .await;
    assert_eq!(
        not_ready["errors"][0]["extensions"]["field"], "mediaIds",
        "{not_ready}"
    );
}

#[tokio::test]
async fn an_erased_account_takes_its_files_out_of_the_store() {
    let app = helpers::spawn().await;
    let ada = app.register("ada").await;
    let bob = app.register("bob").await;
    upload(&app, &ada, 64, 64).await;
    let kept = upload(&app, &bob, 64, 64).await;
    // The test publishes `identity.user.deleted` as identity's `deleteAccount` does, to
    // watch media alone (the whole erasure is in `erasure.rs`).
    let erased = Envelope::new(
        "identity",
        "identity.user.deleted",
        &ada.user_id,
        &json!({ "id": ada.user_id }),
    );
    let platform = app.platform.as_ref().expect("platform");
    platform.bus.publish(&erased).await.expect("published");
    store_holds(&app, &image_files(&kept)).await;
}
