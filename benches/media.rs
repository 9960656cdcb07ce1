//! Upload-to-READY of a 4000×3000 JPEG, and the peak resident memory while ten are
//! processed at once. Starts the platform as `agora dev` does (SQLite, in-process bus,
//! media on local disk), then, through the router and the upload URL as a client would:
//! p50/p99/max of the `PUT` of one photo until it answers `READY` (its variants made and
//! stored), sequentially; then ten such photos `PUT` at once, with the process's peak RSS
//! (`VmHWM`, reset first) and its growth over the resident size before them. The platform
//! and this load generator share the process, so the figure bounds media's from above.
//! Run with `cargo bench --bench media` (release: the targets are p99 ≤ 1.5 s and peak
//! ≤ 512 MB on this machine).

use std::io::Cursor;
use std::sync::Arc;
use std::time::{Duration, Instant};

use agora::client::GraphqlClient;
use agora::load::ms;
use agora::platform::{Platform, PlatformConfig};
use image::codecs::jpeg::JpegEncoder;
use image::{ImageBuffer, Rgb};
use serde_json::json;

/// Sequential uploads measured.
const SEQUENTIAL: usize = 20;
/// Uploads sent at once for the memory figure.
const AT_ONCE: usize = 10;
const CREATE_UPLOAD: &str = "mutation($input: CreateUploadInput!) {
    createUpload(input: $input) { uploadUrl }
}";

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let data_dir = dir.path().display().to_string();
    let platform = Platform::start(PlatformConfig {
        lookup: Arc::new(move |key| match key {
            "AGORA_DATA_DIR" => Some(data_dir.clone()),
            "AGORA_RATE_LIMIT" => Some("off".to_owned()),
            _ => None,
        }),
        router_addr: "127.0.0.1:0".parse().expect("address"),
        ephemeral_ports: true,
        introspection: false,
    })
    .await
    .expect("platform starts");
    let client = GraphqlClient::new(platform.graphql_url());
    let http = reqwest::Client::new();
    let token = register(&client).await;
    let photo = Arc::new(jpeg(4000, 3000));
    println!(
        "photo: 4000×3000 JPEG, {:.1} MiB",
        photo.len() as f64 / 1024.0 / 1024.0
    );

    upload(&client, &http, &token, &photo).await; // warm-up: connections, first writes
    let mut latencies = Vec::with_capacity(SEQUENTIAL);
    for _ in 0..SEQUENTIAL {
        latencies.push(upload(&client, &http, &token, &photo).await);
    }
    latencies.sort();
    println!(
        "upload-to-READY, {SEQUENTIAL} sequential: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        ms(latencies[SEQUENTIAL / 2 - 1]),
        ms(latencies[(SEQUENTIAL * 99).div_ceil(100) - 1]),
        ms(latencies[SEQUENTIAL - 1]),
    );

    let before = memory().1;
    reset_peak();
    let start = Instant::now();
    let uploads = (0..AT_ONCE).map(|_| upload(&client, &http, &token, &photo));
    let mut at_once = futures::future::join_all(uploads).await;
    let total = start.elapsed();
    at_once.sort();
    let (peak, _) = memory();
    println!(
        "{AT_ONCE} at once: all READY in {:.0} ms (slowest {:.0} ms); peak RSS {:.0} MiB \
         (was {:.0} MiB before them, +{:.0} MiB)",
        ms(total),
        ms(at_once[AT_ONCE - 1]),
        peak as f64 / 1024.0,
        before as f64 / 1024.0,
        (peak.saturating_sub(before)) as f64 / 1024.0,
    );
    platform.stop().await;
}

/// Creates an upload through the router and `PUT`s `photo` to its URL; returns how long
/// the `PUT` took to answer `READY`.
async fn upload(
    client: &GraphqlClient,
    http: &reqwest::Client,
    token: &str,
    photo: &Arc<Vec<u8>>,
) -> Duration {
    let input =
        json!({ "filename": "photo.jpg", "contentType": "image/jpeg", "byteSize": photo.len() });
    let data = client
        .run(CREATE_UPLOAD, json!({ "input": input }), Some(token))
        .await
        .expect("createUpload");
    let url = data["createUpload"]["uploadUrl"].as_str().expect("url");
    let start = Instant::now();
    let response = http
        .put(url)
        .body(photo.as_ref().clone())
        .send()
        .await
        .expect("put");
    let elapsed = start.elapsed();
    assert_eq!(
        response.status().as_u16(),
        200,
        "{:?}",
        response.text().await
    );
    elapsed
}

/// A photo-like JPEG (gradients and grain, so it compresses like a photo) at quality 85.
fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let image = ImageBuffer::from_fn(width, height, |x, y| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let grain = (seed % 24) as u32;
        Rgb([
            ((x * 255 / width + grain) % 256) as u8,
            ((y * 255 / height + grain) % 256) as u8,
            (((x + y) / 32 + grain) % 256) as u8,
        ])
    });
    let mut out = Cursor::new(Vec::new());
    image
        .write_with_encoder(JpegEncoder::new_with_quality(&mut out, 85))
        .expect("jpeg");
    out.into_inner()
}

/// Registers the bench user; returns its access token.
async fn register(client: &GraphqlClient) -> String {
    let register = "mutation { register(input: { email: \"bench@example.org\", handle: \"bench\", password: \"bench-password\" }) { accessToken } }";
    let data = client
        .run(register, json!({}), None)
        .await
        .expect("register");
    data["register"]["accessToken"]
        .as_str()
        .expect("token")
        .to_owned()
}

/// `(VmHWM, VmRSS)` of this process, in KiB.
fn memory() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// Resets the peak resident size to the current one (Linux: `5` to `clear_refs`).
fn reset_peak() {
    if let Err(error) = std::fs::write("/proc/self/clear_refs", "5") {
        eprintln!("peak RSS not reset ({error}): the figure includes the start-up");
    }
}
