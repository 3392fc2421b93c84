//! Signed callbacks from providers: `X-Signature: sha256=<hex HMAC-SHA256 of the body>`
//! under a secret shared with the provider. One reading for every provider, compared in
//! constant time; a callback without a configured secret is refused.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::config::Secret;
use crate::error::{ApiError, ApiResult, ErrorCode};

/// Whether `signature` (`sha256=<hex>`) is the HMAC-SHA256 of `body` under `secret`,
/// compared in constant time.
pub fn signature_valid(secret: &str, body: &[u8], signature: &str) -> bool {
    let Some(hex_digest) = signature.trim().strip_prefix("sha256=") else {
        return false;
    };
    let Ok(expected) = hex::decode(hex_digest) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// Refuses a callback not signed by the provider: no secret configured, no signature,
/// or one that does not match the body.
pub fn verify_callback(
    secret: Option<&Secret<String>>,
    body: &[u8],
    signature: Option<&str>,
) -> ApiResult<()> {
    let signed = match (secret, signature) {
        (Some(secret), Some(signature)) => signature_valid(secret.expose(), body, signature),
        _ => false,
    };
    if signed {
        return Ok(());
    }
    tracing::warn!("a provider callback with a missing or wrong signature was refused");
    Err(ApiError::new(
        ErrorCode::InvalidSignature,
        "the callback's X-Signature does not match its body",
    ))
}

/// The signature a provider puts on a callback (for fake providers and tests).
pub fn sign(secret: &str, body: &[u8]) -> String {
    // unwrap-free: HMAC takes a key of any length.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The signature of an outbound webhook in the manner of the Standard Webhooks
/// specification: `v1,` and the base64 of the HMAC-SHA256 of `{id}.{timestamp}.{body}`
/// under the key the secret carries (`whsec_` and the key in base64). `None` for a
/// secret that is not of that form.
pub fn sign_webhook(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Option<String> {
    use base64::Engine;
    let engine = base64::engine::general_purpose::STANDARD;
    let key = engine.decode(secret.strip_prefix("whsec_")?).ok()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Some(format!("v1,{}", engine.encode(mac.finalize().into_bytes())))
}

/// A new webhook secret: `whsec_` and 24 random bytes in base64.
pub fn new_webhook_secret() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut key = [0_u8; 24];
    rand::rng().fill_bytes(&mut key);
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(key)
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn webhook_signatures_match_the_standard_webhooks_example() {
        // The specification's published example.
        let signed = super::sign_webhook(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(
            signed.as_deref(),
            Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        );
        assert_eq!(super::sign_webhook("not-a-secret", "id", 1, b""), None);
        assert!(super::new_webhook_secret().starts_with("whsec_"));
    }

    use super::*;

    #[test]
    fn a_signature_is_checked_against_the_body_and_the_secret() {
        let body = br#"{"id":"order-1-1","status":"done"}"#;
        let signature = sign("s3cret", body);
        assert!(signature_valid("s3cret", body, &signature));
        assert!(!signature_valid("other", body, &signature));
        assert!(!signature_valid("s3cret", b"{}", &signature));
        assert!(!signature_valid("s3cret", body, "sha256=zz"));
        assert!(!signature_valid(
            "s3cret",
            body,
            &signature.replace("sha256=", "")
        ));
        let secret = Secret::new("s3cret".to_string());
        assert!(verify_callback(Some(&secret), body, Some(&signature)).is_ok());
        assert!(verify_callback(None, body, Some(&signature)).is_err());
        assert!(verify_callback(Some(&secret), body, None).is_err());
    }
}
