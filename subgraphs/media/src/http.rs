//! Media's own HTTP endpoints beside `/graphql`: `PUT /uploads/{token}` takes an upload's
//! bytes, `GET /media/{id}/{file}` serves a ready media object's files with their type,
//! an `ETag`, long-lived caching (files never change: a new picture is a new id) and
//! single byte ranges (video players seek with them).

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use serde_json::json;
use uuid::Uuid;

use crate::error::UploadError;
use crate::media::MediaService;
use crate::store::media::{self, Status};
use crate::store::variant;

/// Files of a media object that can be fetched.
const FILES: &[&str] = &["original", "display", "thumbnail"];
/// Files never change, so caches may keep them for a year.
const CACHE_CONTROL: &str = "public, max-age=31536000, immutable";

/// The upload and file routes.
pub fn routes(media: Arc<MediaService>) -> axum::Router {
    axum::Router::new()
        .route("/uploads/{token}", put(upload))
        .route("/media/{id}/{file}", get(file))
        .with_state(media)
}

/// Takes the bytes of an upload: at most the declared size is read (more is 413), then
/// they are checked and processed; answers with the ready media as JSON.
async fn upload(
    State(media): State<Arc<MediaService>>,
    Path(token): Path<String>,
    body: Body,
) -> Result<Response, UploadError> {
    let row = media.upload_target(&token).await?;
    let limit = usize::try_from(row.byte_size).unwrap_or(usize::MAX);
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|error| {
        let too_large = std::error::Error::source(&error)
            .is_some_and(|source| source.is::<http_body_util::LengthLimitError>());
        if too_large {
            UploadError::TooLarge {
                declared: row.byte_size,
            }
        } else {
            UploadError::Body
        }
    })?;
    let ready = media.upload(row, bytes).await?;
    let body = json!({
        "id": ready.id,
        "status": ready.status,
        "contentType": ready.content_type,
        "byteSize": ready.byte_size,
        "width": ready.width,
        "height": ready.height,
    });
    Ok((StatusCode::OK, Json(body)).into_response())
}

/// Serves file `file` of ready media `id`: 404 for anything else, 304 for a cached copy,
/// 206 for a satisfiable range, 416 for another one.
async fn file(
    State(media): State<Arc<MediaService>>,
    Path((id, file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    match serve(&media, &id, &file, &headers).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

/// Why a file was not served.
enum FileError {
    /// No such ready media, or no such file of it.
    NotFound,
    /// The range lies outside the file of this many bytes.
    Unsatisfiable(u64),
    /// The database or the store failed (logged).
    Internal(Box<dyn std::error::Error + Send + Sync>),
}

impl IntoResponse for FileError {
    fn into_response(self) -> Response {
        match self {
            FileError::NotFound => (StatusCode::NOT_FOUND, "not found").into_response(),
            FileError::Unsatisfiable(size) => (
                StatusCode::RANGE_NOT_SATISFIABLE,
                [(header::CONTENT_RANGE, format!("bytes */{size}"))],
            )
                .into_response(),
            FileError::Internal(error) => {
                agora_kit::ServiceError::internal(error.as_ref());
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        }
    }
}

impl From<sea_orm::DbErr> for FileError {
    fn from(error: sea_orm::DbErr) -> Self {
        FileError::Internal(Box::new(error))
    }
}

impl From<object_store::Error> for FileError {
    fn from(error: object_store::Error) -> Self {
        match error {
            object_store::Error::NotFound { .. } => FileError::NotFound,
            other => FileError::Internal(Box::new(other)),
        }
    }
}

async fn serve(
    media: &MediaService,
    id: &str,
    file: &str,
    headers: &HeaderMap,
) -> Result<Response, FileError> {
    let id = Uuid::parse_str(id).map_err(|_| FileError::NotFound)?;
    let file = FILES
        .iter()
        .find(|name| **name == file)
        .ok_or(FileError::NotFound)?;
    let row = media::find(&media.db, id)
        .await?
        .filter(|row| row.status() == Status::Ready)
        .ok_or(FileError::NotFound)?;
    let (content_type, size) = if *file == "original" {
        (row.content_type.clone(), row.byte_size)
    } else {
        let variant = variant::find(&media.db, id, file)
            .await?
            .ok_or(FileError::NotFound)?;
        (variant.content_type, variant.byte_size)
    };
    let size = u64::try_from(size).unwrap_or_default();
    let etag = format!("\"{id}-{file}\"");
    let mut response = if if_none_match(headers, &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        match range(headers, size)? {
            Some((start, end)) => {
                let bytes = media.store.get_range(id, file, start..end + 1).await?;
                let mut partial = (StatusCode::PARTIAL_CONTENT, bytes).into_response();
                partial.headers_mut().insert(
                    header::CONTENT_RANGE,
                    header_value(&format!("bytes {start}-{end}/{size}")),
                );
                partial
            }
            None => {
                let stream = media.store.get(id, file).await?.into_stream();
                let mut whole = Body::from_stream(stream).into_response();
                whole
                    .headers_mut()
                    .insert(header::CONTENT_LENGTH, header_value(&size.to_string()));
                whole
            }
        }
    };
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, header_value(&content_type));
    headers.insert(header::ETAG, header_value(&etag));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_CONTROL),
    );
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}

/// A header value from text we made (ASCII); an impossible failure gives an empty value.
fn header_value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Whether the client's `If-None-Match` names `etag` (or `*`).
fn if_none_match(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .split(',')
                .map(|tag| tag.trim().trim_start_matches("W/"))
                .any(|tag| tag == etag || tag == "*")
        })
}

/// The inclusive byte range a `Range` header asks for in a file of `size` bytes: `None`
/// for the whole file (no header, or one this server ignores, such as several ranges).
fn range(headers: &HeaderMap, size: u64) -> Result<Option<(u64, u64)>, FileError> {
    let Some(spec) = headers
        .get(header::RANGE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().strip_prefix("bytes="))
    else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((start, end)) = spec.split_once('-') else {
        return Ok(None);
    };
    let (start, end) = (start.trim(), end.trim());
    let parsed = match (start.parse::<u64>(), end.parse::<u64>()) {
        (Ok(start), Ok(end)) if start <= end => Some((start, end.min(size.saturating_sub(1)))),
        (Ok(start), Err(_)) if end.is_empty() => Some((start, size.saturating_sub(1))),
        (Err(_), Ok(suffix)) if start.is_empty() && suffix > 0 => {
            Some((size.saturating_sub(suffix), size.saturating_sub(1)))
        }
        _ => return Ok(None),
    };
    match parsed {
        Some((start, end)) if start < size && start <= end => Ok(Some((start, end))),
        _ => Err(FileError::Unsatisfiable(size)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranged(value: &str, size: u64) -> Result<Option<(u64, u64)>, u64> {
        let mut headers = HeaderMap::new();
        headers.insert(header::RANGE, HeaderValue::from_str(value).unwrap());
        range(&headers, size).map_err(|error| match error {
            FileError::Unsatisfiable(size) => size,
            _ => u64::MAX,
        })
    }

    #[test]
    fn single_ranges_are_read_as_rfc_9110_says() {
        assert_eq!(ranged("bytes=0-9", 100), Ok(Some((0, 9))));
        assert_eq!(ranged("bytes=90-", 100), Ok(Some((90, 99))));
        assert_eq!(ranged("bytes=-10", 100), Ok(Some((90, 99))));
        assert_eq!(ranged("bytes=50-500", 100), Ok(Some((50, 99))));
        assert_eq!(ranged("bytes=100-", 100), Err(100));
        assert_eq!(ranged("bytes=0-1,5-6", 100), Ok(None));
        assert_eq!(ranged("items=0-1", 100), Ok(None));
    }
}
