//! What the server says at the end: the run's submissions as stored, and its items left
//! in the queue.

use std::collections::HashMap;

use anyhow::Context;
use serde::Deserialize;
use serde_json::Value;

use crate::api::{Api, Session};

#[derive(Deserialize)]
struct StoredSubmission {
    id: i64,
    status: String,
}

#[derive(Deserialize)]
struct StoredItem {
    #[serde(default)]
    summary: Value,
}

/// The run's submissions as stored, and its items still in the queue.
pub(super) struct ServerView {
    pub(super) status_by_submission: HashMap<i64, String>,
    pub(super) items_queued: usize,
    pub(super) items_assigned: usize,
}

impl ServerView {
    pub(super) async fn fetch(api: &Api, admin: &Session, task_id: i64) -> anyhow::Result<Self> {
        let stored: Vec<StoredSubmission> = api
            .list_all(admin, &format!("/api/v1/tasks/{task_id}/submissions"))
            .await
            .context("listing the run's submissions")?;
        let mut left = [0, 0];
        for (slot, status) in left.iter_mut().zip(["queued", "assigned"]) {
            let items: Vec<StoredItem> = api
                .list_all(
                    admin,
                    &format!("/api/v1/moderation/items?status={status}&kind=task_submission"),
                )
                .await
                .with_context(|| format!("listing {status} moderation items"))?;
            *slot = items
                .iter()
                .filter(|i| i.summary["task"]["id"].as_i64() == Some(task_id))
                .count();
        }
        Ok(Self {
            status_by_submission: stored.into_iter().map(|s| (s.id, s.status)).collect(),
            items_queued: left[0],
            items_assigned: left[1],
        })
    }
}
