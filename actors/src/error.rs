//! Storage failures as they cross from the storage traits into the actors and back
//! out to callers: typed, with their cause kept, so the log can show the whole chain
//! (down to the database driver's error) while clients see only a code.

use std::borrow::Cow;
use std::error::Error;
use std::fmt;
use std::sync::Arc;

/// A storage call that failed. Cheap to clone (a batch's answers share it) and keeps
/// the underlying error as its [`Error::source`].
#[derive(Clone)]
pub struct StorageError {
    /// What failed, in words (`the store gave no answer`), when there is no source
    /// error to say it.
    what: Cow<'static, str>,
    /// The error the storage reported, if any.
    cause: Option<Arc<dyn Error + Send + Sync + 'static>>,
}

impl StorageError {
    /// A failure the storage layer reported as `cause` (a database error, say).
    pub fn from_cause(cause: impl Error + Send + Sync + 'static) -> Self {
        Self {
            what: Cow::Borrowed("storage failed"),
            cause: Some(Arc::new(cause)),
        }
    }

    /// A failure with no underlying error (a contract of the storage trait broken,
    /// stored data that does not read back).
    pub fn message(what: impl Into<Cow<'static, str>>) -> Self {
        Self {
            what: what.into(),
            cause: None,
        }
    }

    /// The error and its causes, outermost first, joined with `: ` (for logs and for
    /// tests; never for clients).
    pub fn chain(&self) -> String {
        let mut text = self.what.to_string();
        let mut next = self.source();
        while let Some(cause) = next {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            next = cause.source();
        }
        text
    }
}

impl fmt::Display for StorageError {
    /// Only what failed: the cause is reached through [`Error::source`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.what)
    }
}

impl fmt::Debug for StorageError {
    /// The whole chain, so `?err` in a log line shows it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.chain())
    }
}

impl Error for StorageError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.cause
            .as_deref()
            .map(|cause| cause as &(dyn Error + 'static))
    }
}

impl PartialEq for StorageError {
    /// Two failures are the same when they read the same (errors are not comparable).
    fn eq(&self, other: &Self) -> bool {
        self.chain() == other.chain()
    }
}

impl Eq for StorageError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Inner;
    impl fmt::Display for Inner {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("pool timed out")
        }
    }
    impl Error for Inner {}

    #[test]
    fn keeps_its_cause_and_shows_the_chain() {
        let err = StorageError::from_cause(Inner);
        assert_eq!(err.to_string(), "storage failed");
        assert_eq!(
            err.source().map(|s| s.to_string()).as_deref(),
            Some("pool timed out")
        );
        assert_eq!(format!("{err:?}"), "storage failed: pool timed out");
        assert_eq!(err.clone(), err);
        assert_ne!(err, StorageError::message("the store gave no answer"));
    }
}
