//! The browser UI, embedded into the binary from `web/app/` at build time (no Node,
//! no files to deploy). Every path outside the API is a file of `web/app/`, or the UI's
//! `index.html` so client-side routes survive a reload.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "web/app/"]
struct Assets;

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or_default() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "json" | "webmanifest" => "application/json",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

/// `GET /{path}` for everything the API does not answer.
pub async fn asset(request: HttpRequest) -> HttpResponse {
    let path = request.path().trim_start_matches('/');
    let (path, file) = match Assets::get(path) {
        Some(file) if !path.is_empty() => (path, file),
        // Unknown paths that look like files are 404s; the rest are UI routes.
        _ if path
            .rsplit('/')
            .next()
            .is_some_and(|last| last.contains('.')) =>
        {
            return actix_web::ResponseError::error_response(&crate::error::ApiError::not_found(
                format!("/{path}"),
            ));
        }
        _ => match Assets::get("index.html") {
            Some(file) => ("index.html", file),
            None => {
                return HttpResponse::NotFound().body("the web UI is not built into this binary");
            }
        },
    };
    HttpResponse::Ok()
        .content_type(content_type(path))
        // HTML may change with every release; assets are revalidated cheaply.
        .insert_header((
            header::CACHE_CONTROL,
            if path.ends_with(".html") {
                "no-cache"
            } else {
                "public, max-age=3600"
            },
        ))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(file.data.into_owned())
}
