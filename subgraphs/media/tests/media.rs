//! Media over real HTTP: uploads through their signed URLs, every way an upload is
//! refused, files served with caching headers and ranges, deletion by the owner, and the
//! files leaving the store with deleted posts, erased accounts and abandoned uploads
//! (content's, profiles' and identity's events played on the test's bus).
//!
//! Embedded bus and SQLite by default; JetStream and Postgres in CI's real mode (see the
//! kit's `TestEnv`); the file store is the test's local directory in both.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::time::Duration;

use agora_kit::events::Envelope;
use agora_kit::testing::{Graphql, Member, Stack, error_of, outbox};
use agora_media::config::MediaSettings;
use image::{ImageBuffer, ImageFormat, Rgb};
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};
use uuid::Uuid;

const CREATE_UPLOAD: &str = "mutation($input: CreateUploadInput!) {
    createUpload(input: $input) { media { id status } uploadUrl expiresAt }
}";
const MEDIA: &str = "query($id: ID!) {
    media(id: $id) { id owner { id } status contentType width height byteSize url thumbnailUrl
        variants { name url contentType width height } }
}";
const DELETE: &str =
    "mutation($id: ID!) { deleteMedia(input: { mediaId: $id }) { deletedMediaId } }";

/// One test's identity and media subgraphs, media's database and its file store.
struct App {
    media: Graphql,
    db: DatabaseConnection,
    store: PathBuf,
    http: reqwest::Client,
    stack: Stack,
}

/// Starts identity and media; `tune` adjusts media's settings (TTLs, limits).
async fn spawn_with(tune: impl FnOnce(&mut MediaSettings)) -> App {
    let mut stack = Stack::new().await;
    stack.start("identity", agora_identity::build).await;
    let mut store = None;
    let media = stack
        .start("media", |settings, bus| {
            let mut media = MediaSettings::from_lookup(&settings, |_| None).expect("settings");
            tune(&mut media);
            store = Some(PathBuf::from(&media.store));
            agora_media::build_with(settings, media, bus)
        })
        .await;
    let db = stack
        .connect::<agora_media_migration::Migrator>("media")
        .await;
    App {
        media,
        db,
        store: store.expect("store"),
        http: reqwest::Client::new(),
        stack,
    }
}

async fn spawn() -> App {
    spawn_with(|_| {}).await
}

/// A PNG of `width` × `height` with a gradient, as a client would send it.
fn png(width: u32, height: u32) -> Vec<u8> {
    let image = ImageBuffer::from_fn(width, height, |x, y| Rgb([x as u8, y as u8, 200]));
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, ImageFormat::Png).expect("png");
    out.into_inner()
}

/// The files in the store, as `<media id>/<file>`, sorted.
fn files(store: &Path) -> Vec<String> {
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

impl App {
    /// Creates an upload as `member`; returns (media id, upload URL).
    async fn create(&self, member: &Member, content_type: &str, size: usize) -> (String, String) {
        let input = json!({ "filename": "photo", "contentType": content_type, "byteSize": size });
        let data = self
            .media
            .ok(Some(member), CREATE_UPLOAD, json!({ "input": input }))
            .await;
        let payload = &data["createUpload"];
        assert_eq!(payload["media"]["status"], "PENDING");
        (
            payload["media"]["id"].as_str().expect("id").to_owned(),
            payload["uploadUrl"].as_str().expect("url").to_owned(),
        )
    }

    /// PUTs `bytes` to `url`; returns the status and the JSON body.
    async fn put(&self, url: &str, bytes: Vec<u8>) -> (u16, Value) {
        let response = self.http.put(url).body(bytes).send().await.expect("put");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Uploads a `width` × `height` PNG as `member`; returns its id.
    async fn upload_png(&self, member: &Member, width: u32, height: u32) -> String {
        let bytes = png(width, height);
        let (id, url) = self.create(member, "image/png", bytes.len()).await;
        let (status, body) = self.put(&url, bytes).await;
        assert_eq!(status, 200, "{body}");
        id
    }

    /// Waits (bounded) until the store holds exactly `expected`.
    async fn store_holds(&self, expected: &[String]) {
        for _ in 0..250 {
            if files(&self.store) == expected {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(files(&self.store), expected);
    }
}

/// The three files of an image's folder.
fn image_files(id: &str) -> Vec<String> {
    ["display", "original", "thumbnail"]
        .iter()
        .map(|file| format!("{id}/{file}"))
        .collect()
}

#[tokio::test]
async fn a_png_uploaded_to_its_url_becomes_ready_with_variants_served_with_cache_headers() {
    let app = spawn().await;
    let ada = app.stack.register("ada").await;
    let id = app.upload_png(&ada, 1600, 1200).await;

    let data = app.media.ok(None, MEDIA, json!({ "id": id })).await;
    let media = &data["media"];
    assert_eq!(media["status"], "READY");
    assert_eq!(media["owner"]["id"], ada.id.to_string());
    assert_eq!(media["contentType"], "image/png");
    assert_eq!(
        (media["width"].clone(), media["height"].clone()),
        (json!(1600), json!(1200))
    );
    let sizes: Vec<_> = media["variants"]
        .as_array()
        .expect("variants")
        .iter()
        .map(|v| (v["name"].clone(), v["width"].clone(), v["height"].clone()))
        .collect();
    assert_eq!(
        sizes,
        [
            (json!("display"), json!(1080), json!(810)),
            (json!("thumbnail"), json!(256), json!(192))
        ]
    );
    assert_eq!(files(&app.store), image_files(&id));

    let thumbnail = media["thumbnailUrl"].as_str().expect("thumbnail url");
    let response = app.http.get(thumbnail).send().await.expect("get");
    assert_eq!(response.status().as_u16(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "image/webp");
    assert_eq!(
        headers["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let etag = headers["etag"].to_str().expect("etag").to_owned();
    let bytes = response.bytes().await.expect("body");
    let decoded = image::load_from_memory(&bytes).expect("a decodable thumbnail");
    assert_eq!((decoded.width(), decoded.height()), (256, 192));

    let cached = app
        .http
        .get(thumbnail)
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("get");
    assert_eq!(cached.status().as_u16(), 304);
    let original = media["url"].as_str().expect("url");
    let partial = app
        .http
        .get(original)
        .header("range", "bytes=0-7")
        .send()
        .await
        .expect("get");
    assert_eq!(partial.status().as_u16(), 206);
    assert!(
        partial.headers()["content-range"]
            .to_str()
            .unwrap()
            .starts_with("bytes 0-7/")
    );
    assert_eq!(
        partial.bytes().await.expect("body").as_ref(),
        b"\x89PNG\r\n\x1a\n"
    );

    let events = outbox(&app.db).await;
    assert_eq!(events[0].0, "media.media.ready");
    assert_eq!(events[0].1["ownerId"], ada.id.to_string());
}

#[tokio::test]
async fn bytes_that_are_not_what_was_declared_are_refused_and_the_url_works_again() {
    let app = spawn().await;
    let ada = app.stack.register("ada").await;
    let real = png(64, 64);
    let mut fake = b"<?php echo 'not a picture'; ?>".to_vec();
    fake.resize(real.len(), b' ');
    let (id, url) = app.create(&ada, "image/png", real.len()).await;

    let (status, body) = app.put(&url, fake).await;
    assert_eq!(status, 415, "{body}");
    assert_eq!(body["error"]["code"], "UNSUPPORTED_MEDIA_TYPE");
    assert!(files(&app.store).is_empty());
    let pending = app.media.ok(Some(&ada), MEDIA, json!({ "id": id })).await;
    assert_eq!(pending["media"]["status"], "PENDING");

    let (status, body) = app.put(&url, real).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "READY");
}

#[tokio::test]
async fn uploads_over_the_limit_or_over_their_declared_size_are_refused() {
    let app = spawn_with(|media| media.max_bytes = 100_000).await;
    let ada = app.stack.register("ada").await;
    let input = json!({ "filename": "big", "contentType": "image/png", "byteSize": 100_001 });
    let response = app
        .media
        .gql(Some(&ada), CREATE_UPLOAD, json!({ "input": input }))
        .await;
    assert_eq!(
        error_of(&response),
        ("BAD_USER_INPUT".into(), Some("byteSize".into()))
    );

    let bytes = png(32, 32);
    let (_, url) = app.create(&ada, "image/png", bytes.len()).await;
    let mut longer = bytes.clone();
    longer.extend_from_slice(&[0; 1000]);
    let (status, body) = app.put(&url, longer).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["error"]["code"], "TOO_LARGE");
    assert!(files(&app.store).is_empty());
    let (status, _) = app.put(&url, bytes).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn empty_uploads_are_refused() {
    let app = spawn().await;
    let ada = app.stack.register("ada").await;
    let input = json!({ "filename": "empty", "contentType": "image/png", "byteSize": 0 });
    let response = app
        .media
        .gql(Some(&ada), CREATE_UPLOAD, json!({ "input": input }))
        .await;
    assert_eq!(
        error_of(&response),
        ("BAD_USER_INPUT".into(), Some("byteSize".into()))
    );

    let (_, url) = app.create(&ada, "image/png", 100).await;
    let (status, body) = app.put(&url, Vec::new()).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "EMPTY");
    assert!(files(&app.store).is_empty());
}

/// A PNG whose header claims `side` × `side` RGB pixels over the pixels of a small one:
/// a few hundred bytes that would decode to `3 × side²` bytes.
fn bomb(side: u32) -> Vec<u8> {
    let small = png(16, 16);
    // Signature (8), IHDR length and type (8), then width and height (8), then the rest
    // of IHDR and its CRC, which the decoder checks: recompute it.
    let mut bytes = small.clone();
    bytes[16..20].copy_from_slice(&side.to_be_bytes());
    bytes[20..24].copy_from_slice(&side.to_be_bytes());
    let crc = crc32(&bytes[12..29]);
    bytes[29..33].copy_from_slice(&crc.to_be_bytes());
    bytes
}

/// CRC-32 (IEEE), as PNG chunks carry it.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for byte in data {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[tokio::test]
async fn a_decompression_bomb_is_refused_before_it_is_decoded() {
    let app = spawn().await;
    let ada = app.stack.register("ada").await;
    for side in [100_000, 11_000] {
        let bytes = bomb(side);
        let (_, url) = app.create(&ada, "image/png", bytes.len()).await;
        let (status, body) = app.put(&url, bytes).await;
        assert_eq!(status, 422, "{side}: {body}");
        assert_eq!(body["error"]["code"], "IMAGE_TOO_LARGE", "{side}");
    }
    assert!(files(&app.store).is_empty());
}

#[tokio::test]
async fn an_upload_url_works_once_only_until_it_expires_and_cannot_be_forged() {
    let app = spawn_with(|media| media.upload_ttl = Duration::from_secs(1)).await;
    let ada = app.stack.register("ada").await;
    let bytes = png(16, 16);
    let (_, url) = app.create(&ada, "image/png", bytes.len()).await;
    let (status, _) = app.put(&url, bytes.clone()).await;
    assert_eq!(status, 200);
    let (status, body) = app.put(&url, bytes.clone()).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "ALREADY_UPLOADED");

    let forged = format!("{}x", url.trim_end_matches(|c| c != '.'));
    let (status, _) = app.put(&forged, bytes.clone()).await;
    assert_eq!(status, 403);

    let (_, url) = app.create(&ada, "image/png", bytes.len()).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (status, body) = app.put(&url, bytes).await;
    assert_eq!(status, 410, "{body}");
    assert_eq!(body["error"]["code"], "EXPIRED");
}

#[tokio::test]
async fn only_its_owner_deletes_media_and_its_files_leave_the_store() {
    let app = spawn().await;
    let ada = app.stack.register("ada").await;
    let bob = app.stack.register("bob").await;
    let id = app.upload_png(&ada, 300, 200).await;

    let response = app.media.gql(Some(&bob), DELETE, json!({ "id": id })).await;
    assert_eq!(error_of(&response).0, "FORBIDDEN");
    let response = app.media.gql(None, DELETE, json!({ "id": id })).await;
    assert_eq!(error_of(&response).0, "UNAUTHENTICATED");

    app.media.ok(Some(&ada), DELETE, json!({ "id": id })).await;
    let data = app.media.ok(None, MEDIA, json!({ "id": id })).await;
    assert_eq!(data["media"], Value::Null);
    app.store_holds(&[]).await;
    let events: Vec<_> = outbox(&app.db).await.into_iter().map(|(t, _)| t).collect();
    assert_eq!(events, ["media.media.ready", "media.media.deleted"]);
    let response = app.media.gql(Some(&ada), DELETE, json!({ "id": id })).await;
    assert_eq!(error_of(&response).0, "NOT_FOUND");
}

/// An event of `domain` as its publisher would send it.
fn event(domain: &str, event_type: &str, subject: &str, data: Value) -> Envelope {
    Envelope::new(domain, event_type, subject, &data)
}

#[tokio::test]
async fn a_deleted_post_takes_the_media_only_it_used() {
    let app = spawn().await;
    let ada = app.stack.register("ada").await;
    let (only, shared, avatar) = (
        app.upload_png(&ada, 20, 20).await,
        app.upload_png(&ada, 20, 20).await,
        app.upload_png(&ada, 20, 20).await,
    );
    let (first, second) = (Uuid::now_v7().to_string(), Uuid::now_v7().to_string());
    let created = |post: &str, media: Vec<&str>| {
        event(
            "content",
            "content.post.created",
            post,
            json!({
                "id": post, "authorId": ada.id, "body": "x", "tags": [], "mediaIds": media,
            }),
        )
    };
    app.stack
        .deliver(
            &app.db,
            "media",
            created(&first, vec![&only, &shared, &avatar]),
        )
        .await;
    app.stack
        .deliver(&app.db, "media", created(&second, vec![&shared]))
        .await;
    let profile = event(
        "profiles",
        "profiles.profile.updated",
        &ada.id.to_string(),
        json!({
            "userId": ada.id, "displayName": "ada", "avatarMediaId": avatar,
        }),
    );
    app.stack.deliver(&app.db, "media", profile).await;

    let deleted = event(
        "content",
        "content.post.deleted",
        &first,
        json!({ "id": first, "authorId": ada.id }),
    );
    app.stack.deliver(&app.db, "media", deleted).await;
    let mut kept = image_files(&shared);
    kept.extend(image_files(&avatar));
    kept.sort();
    app.store_holds(&kept).await;
    let announced: Vec<_> = outbox(&app.db)
        .await
        .into_iter()
        .filter(|(t, _)| t == "media.media.deleted")
        .map(|(_, data)| data["id"].clone())
        .collect();
    assert_eq!(announced, [json!(only)]);
}

#[tokio::test]
async fn an_erased_account_takes_all_its_media_and_only_its_own() {
    let app = spawn().await;
    let ada = app.stack.register("ada").await;
    let bob = app.stack.register("bob").await;
    app.upload_png(&ada, 20, 20).await;
    app.upload_png(&ada, 20, 20).await;
    app.create(&ada, "image/png", 10).await;
    let kept = app.upload_png(&bob, 20, 20).await;

    let erased = event(
        "identity",
        "identity.user.deleted",
        &ada.id.to_string(),
        json!({ "id": ada.id }),
    );
    app.stack.deliver(&app.db, "media", erased).await;
    app.store_holds(&image_files(&kept)).await;
    let confirmed: Vec<(String, Value)> = outbox(&app.db)
        .await
        .into_iter()
        .filter(|(event_type, _)| event_type == "media.user.erased")
        .collect();
    assert_eq!(
        confirmed,
        [("media.user.erased".to_owned(), json!({ "userId": ada.id }))]
    );
}

#[tokio::test]
async fn abandoned_uploads_are_purged_after_their_expiry() {
    let app = spawn_with(|media| {
        media.upload_ttl = Duration::from_secs(1);
        media.purge_grace = Duration::ZERO;
        media.janitor_interval = Duration::from_secs(1);
    })
    .await;
    let ada = app.stack.register("ada").await;
    let (id, _) = app.create(&ada, "image/png", 10).await;
    for _ in 0..100 {
        let row = agora_media::store::media::find(&app.db, Uuid::parse_str(&id).unwrap())
            .await
            .expect("database");
        if row.is_none() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the abandoned upload was never purged");
}

#[test]
fn the_committed_schema_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql");
    agora_kit::testing::assert_committed_schema(path, &agora_media::schema::sdl());
}
