//! Logging: `tracing` to standard error, filtered by `RUST_LOG` or the configured
//! level. Installed once per process; later calls (tests) are no-ops.

use tracing_subscriber::EnvFilter;

pub fn init(default_filter: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

/// Request spans as tracing-actix-web builds them, except that a client error (4xx)
/// only records its status: refusing bad input is normal work. (Failures are logged
/// once, by `ApiError`.)
pub struct RequestSpans;

impl tracing_actix_web::RootSpanBuilder for RequestSpans {
    fn on_request_start(request: &actix_web::dev::ServiceRequest) -> tracing::Span {
        tracing_actix_web::DefaultRootSpanBuilder::on_request_start(request)
    }

    fn on_request_end<B: actix_web::body::MessageBody>(
        span: tracing::Span,
        outcome: &Result<actix_web::dev::ServiceResponse<B>, actix_web::Error>,
    ) {
        match outcome {
            Ok(response) if response.status().is_client_error() => {
                span.record("http.status_code", i32::from(response.status().as_u16()));
                span.record("otel.status_code", "OK");
            }
            _ => tracing_actix_web::DefaultRootSpanBuilder::on_request_end(span, outcome),
        }
    }
}
