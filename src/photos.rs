//! Photos participants upload (receipts, shelf photos): checked by content (JPEG, PNG
//! or WebP magic bytes, not the name or header the client claims), size-limited, and
//! stored content-addressed under `<data_dir>/photos/ab/cd/<sha256>`, so the same photo
//! uploaded twice is stored once and a duplicate receipt photo is recognisable.
//!
//! Several nodes need `data_dir/photos` on shared storage (a network volume).

use std::path::{Path, PathBuf};

use actix_multipart::Multipart;
use futures_util::StreamExt;
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::access::{Permission, Section};
use crate::auth::Principal;
use crate::db::{Db, Tx};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::org::people;

/// Largest photo accepted: a phone camera's JPEG is 2-6 MB.
pub const MAX_PHOTO_BYTES: usize = 10 * 1024 * 1024;
/// Photos per upload.
pub const MAX_PHOTOS: usize = 10;
/// Largest text field of a multipart form.
const MAX_FIELD_BYTES: usize = 64 * 1024;

/// A stored photo.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct PhotoRef {
    /// SHA-256 of the content, hex; fetch with `GET /api/v1/photos/{sha256}`.
    pub sha256: String,
    pub content_type: String,
    pub size: i64,
}

/// The image type of `bytes` by its magic numbers.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

fn path_of(data_dir: &Path, sha256: &str) -> PathBuf {
    data_dir
        .join("photos")
        .join(&sha256[0..2])
        .join(&sha256[2..4])
        .join(sha256)
}

/// Checks and stores one photo; records it in the caller's transaction.
#[tracing::instrument(skip_all, fields(program_id = ?program_id, uploaded_by = ?uploaded_by))]
pub async fn store(
    tx: &mut Tx,
    data_dir: &Path,
    program_id: i64,
    uploaded_by: i64,
    bytes: &[u8],
    now_ms: i64,
) -> ApiResult<PhotoRef> {
    if bytes.len() > MAX_PHOTO_BYTES {
        return Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("a photo is at most {} MB", MAX_PHOTO_BYTES / 1024 / 1024),
        ));
    }
    let content_type =
        sniff(bytes).ok_or_else(|| ApiError::field("photos", "not a JPEG, PNG or WebP image"))?;
    let sha256 = hex::encode(Sha256::digest(bytes));
    let path = path_of(data_dir, &sha256);
    if tokio::fs::metadata(&path).await.is_err() {
        let parent = path
            .parent()
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("photo path has no parent")))?;
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(ApiError::internal)?;
        // Write aside, flush to disk, then rename: a reader never sees half a photo,
        // and a row that commits after this never points at a file lost in a crash.
        let partial = path.with_extension(format!("part-{}", uuid::Uuid::new_v4().simple()));
        let mut file = tokio::fs::File::create(&partial)
            .await
            .map_err(ApiError::internal)?;
        tokio::io::AsyncWriteExt::write_all(&mut file, bytes)
            .await
            .map_err(ApiError::internal)?;
        file.sync_all().await.map_err(ApiError::internal)?;
        drop(file);
        tokio::fs::rename(&partial, &path)
            .await
            .map_err(ApiError::internal)?;
    }
    sqlx::query(
        "INSERT INTO photos (sha256, program_id, content_type, size, uploaded_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (sha256) DO NOTHING",
    )
    .bind(&sha256)
    .bind(program_id)
    .bind(content_type)
    .bind(bytes.len() as i64)
    .bind(uploaded_by)
    .bind(now_ms)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO photo_uploads (sha256, user_id, program_id, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (sha256, user_id) DO NOTHING",
    )
    .bind(&sha256)
    .bind(uploaded_by)
    .bind(program_id)
    .bind(now_ms)
    .execute(&mut **tx)
    .await?;
    Ok(PhotoRef {
        sha256,
        content_type: content_type.into(),
        size: bytes.len() as i64,
    })
}

/// A multipart form: its text fields and the bytes of its `photos` parts.
#[derive(Debug, Default)]
pub struct Upload {
    pub fields: Vec<(String, String)>,
    pub photos: Vec<Vec<u8>>,
}

impl Upload {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Reads a multipart form with bounded memory: at most [`MAX_PHOTOS`] photos of at most
/// [`MAX_PHOTO_BYTES`] each, in parts named `photos` (or `photo`), and small text
/// fields (a JSON part named `data`, or plain fields).
#[tracing::instrument(skip_all)]
pub async fn read_upload(mut form: Multipart) -> ApiResult<Upload> {
    let mut upload = Upload::default();
    while let Some(part) = form.next().await {
        let mut part = part.map_err(|e| {
            ApiError::new(
                ErrorCode::InvalidParameter,
                format!("the upload is not a valid multipart form: {e}"),
            )
        })?;
        let name = part
            .content_disposition()
            .and_then(|d| d.get_name())
            .unwrap_or_default()
            .to_string();
        let is_photo = matches!(name.as_str(), "photos" | "photo");
        let limit = if is_photo {
            MAX_PHOTO_BYTES
        } else {
            MAX_FIELD_BYTES
        };
        if is_photo && upload.photos.len() >= MAX_PHOTOS {
            return Err(ApiError::field(
                "photos",
                format!("at most {MAX_PHOTOS} photos"),
            ));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = part.next().await {
            let chunk = chunk.map_err(|e| {
                ApiError::new(
                    ErrorCode::InvalidParameter,
                    format!("the upload broke off: {e}"),
                )
            })?;
            if bytes.len() + chunk.len() > limit {
                return Err(ApiError::new(
                    ErrorCode::PayloadTooLarge,
                    format!("the part {name:?} is larger than {limit} bytes"),
                ));
            }
            bytes.extend_from_slice(&chunk);
        }
        if is_photo {
            upload.photos.push(bytes);
        } else {
            let text =
                String::from_utf8(bytes).map_err(|_| ApiError::field(&name, "not UTF-8 text"))?;
            upload.fields.push((name, text));
        }
    }
    Ok(upload)
}

/// Shows a stored photo to everyone in its program (a reward's picture), in the
/// caller's transaction.
#[tracing::instrument(skip_all, fields(program_id = ?program_id))]
pub async fn publish(tx: &mut Tx, program_id: i64, sha256: &str) -> ApiResult<()> {
    sqlx::query("UPDATE photos SET public = 1 WHERE sha256 = $1 AND program_id = $2")
        .bind(sha256)
        .bind(program_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Whether `principal` may see a photo uploaded by `uploader`: their own, anything a
/// moderator checks, or a participant's in the viewer's scope.
#[tracing::instrument(skip_all, fields(uploader = ?uploader))]
async fn may_see(db: &Db, principal: &Principal, uploader: i64) -> ApiResult<bool> {
    if principal.id() == uploader
        || principal
            .access
            .has_permission_anywhere(Permission::view(Section::Moderation))
        || principal
            .access
            .has_permission_anywhere(Permission::view(Section::Support))
    {
        return Ok(true);
    }
    let person = people::get(&db.pool, principal.program_id(), uploader).await?;
    Ok(principal
        .access
        .allows(Permission::view(Section::Participants), &person.target()))
}

/// A stored photo's type and bytes, for whoever may see it.
#[tracing::instrument(skip_all)]
pub async fn open(
    db: &Db,
    data_dir: &Path,
    caller: &Principal,
    sha256: &str,
) -> ApiResult<(String, Vec<u8>)> {
    if sha256.len() != 64
        || !sha256
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    {
        return Err(ApiError::not_found("photo"));
    }
    let row: Option<(String, i64, i64)> =
        sqlx::query_as("SELECT content_type, program_id, public FROM photos WHERE sha256 = $1")
            .bind(sha256)
            .fetch_optional(&db.pool)
            .await?;
    // Everyone in the caller's program who uploaded these bytes.
    let uploaders: Vec<i64> = sqlx::query_scalar(
        "SELECT user_id FROM photo_uploads WHERE sha256 = $1 AND program_id = $2 ORDER BY user_id",
    )
    .bind(sha256)
    .bind(caller.program_id())
    .fetch_all(&db.pool)
    .await?;
    let Some((content_type, program_id, public)) = row else {
        return Err(ApiError::not_found("photo"));
    };
    let public_here = public != 0 && program_id == caller.program_id();
    if uploaders.is_empty() && !public_here {
        return Err(ApiError::not_found("photo"));
    }
    let mut allowed = public_here;
    for uploader in uploaders {
        if allowed {
            break;
        }
        allowed = may_see(db, caller, uploader).await?;
    }
    if !allowed {
        return Err(ApiError::forbidden("you may not see this photo"));
    }
    let bytes = tokio::fs::read(path_of(data_dir, sha256))
        .await
        .map_err(|e| {
            ApiError::new(ErrorCode::NotFound, "the photo file is missing").with_source(e)
        })?;
    Ok((content_type, bytes))
}

#[cfg(test)]
mod tests {
    use super::sniff;

    #[test]
    fn sniffs_by_content() {
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]), Some("image/jpeg"));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff(b"GIF89a"), None);
        assert_eq!(sniff(b"<svg xmlns=...>"), None);
        assert_eq!(sniff(b""), None);
    }
}
