//! Logging: `tracing` to standard error, filtered by `RUST_LOG` or the configured
//! level, and, in a binary built with `--features otlp` and an `otlp_endpoint` set,
//! every span exported to an OpenTelemetry collector (one request followed through
//! handler, use cases, live core and SQL by its request id). Installed once per
//! process; later calls (tests) are no-ops.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

pub fn init(default_filter: &str, otlp_endpoint: Option<&str>) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let log = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false);
    let subscriber = tracing_subscriber::registry().with(filter).with(log);
    #[cfg(feature = "otlp")]
    let subscriber = subscriber.with(otlp_endpoint.and_then(otlp::layer));
    let _ = subscriber.try_init();
    #[cfg(not(feature = "otlp"))]
    if let Some(endpoint) = otlp_endpoint {
        tracing::warn!(
            endpoint,
            "otlp_endpoint is set, but this binary was built without the otlp feature; spans are not exported"
        );
    }
}

/// Sends the spans still buffered (at shutdown).
pub fn flush() {
    #[cfg(feature = "otlp")]
    otlp::flush();
}

#[cfg(feature = "otlp")]
mod otlp {
    use std::sync::OnceLock;

    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_otlp::{SpanExporter, WithExportConfig};
    use opentelemetry_sdk::Resource;
    use opentelemetry_sdk::trace::{SdkTracerProvider, Tracer};

    /// Kept to flush at shutdown.
    static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

    /// A layer exporting spans in batches (on the exporter's own thread) to `endpoint`.
    pub fn layer<S>(endpoint: &str) -> Option<tracing_opentelemetry::OpenTelemetryLayer<S, Tracer>>
    where
        S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
    {
        let exporter = match SpanExporter::builder()
            .with_http()
            .with_endpoint(endpoint)
            .build()
        {
            Ok(exporter) => exporter,
            Err(err) => {
                eprintln!("otlp_endpoint {endpoint:?}: spans are not exported: {err}");
                return None;
            }
        };
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(Resource::builder().with_service_name("stimul").build())
            .build();
        let tracer = provider.tracer("stimul");
        let _ = PROVIDER.set(provider);
        Some(tracing_opentelemetry::layer().with_tracer(tracer))
    }

    pub fn flush() {
        if let Some(provider) = PROVIDER.get() {
            let _ = provider.force_flush();
        }
    }
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
