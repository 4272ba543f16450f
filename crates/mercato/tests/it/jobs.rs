//! The durable job queue on the backend under test: two independent pools
//! (as two processes would have) never hold the same job at once, an expired
//! lease is taken over, and a worker that lost its lease cannot finish.

use std::collections::HashSet;

use mercato_core::time::now_unix_millis;
use mercato_store::jobs::{self, JobState};
use mercato_store::Db;
use serde_json::json;

use crate::support::fresh_database_url;

async fn two_pools() -> (Db, Db, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("dir");
    let url = fresh_database_url(dir.path()).await;
    let first = Db::connect(&url, 4).await.expect("connect");
    first.migrate().await.expect("migrate");
    let second = Db::connect(&url, 4).await.expect("connect");
    (first, second, dir)
}

async fn enqueue_many(db: &Db, count: usize) {
    let mut tx = db.write().await.expect("tx");
    for index in 0..count {
        jobs::enqueue(&mut tx, "test.work", &json!({ "index": index }), 0)
            .await
            .expect("enqueue");
    }
    tx.commit().await.expect("commit");
}

/// Claims and completes jobs until none is left; returns the payload indexes.
async fn drain(db: Db) -> Vec<i64> {
    let mut done = Vec::new();
    while let Some(job) = jobs::claim(&db, &["test.work"], now_unix_millis(), 30_000)
        .await
        .expect("claim")
    {
        assert!(
            jobs::complete(&db, &job).await.expect("complete"),
            "lease held"
        );
        done.push(job.payload["index"].as_i64().unwrap_or(-1));
    }
    done
}

#[tokio::test]
async fn two_workers_never_take_the_same_job() {
    let (first, second, _dir) = two_pools().await;
    enqueue_many(&first, 200).await;

    let (mine, theirs) = tokio::join!(
        tokio::spawn(drain(first.clone())),
        tokio::spawn(drain(second.clone()))
    );
    let mine = mine.expect("worker");
    let theirs = theirs.expect("worker");

    let all: Vec<i64> = mine.iter().chain(theirs.iter()).copied().collect();
    let distinct: HashSet<i64> = all.iter().copied().collect();
    assert_eq!(all.len(), 200, "every job ran exactly once");
    assert_eq!(distinct.len(), 200);
    assert_eq!(jobs::depth(first.pool()).await.expect("depth"), (0, 0));
}

#[tokio::test]
async fn an_expired_lease_is_taken_over_and_fences_the_old_worker() {
    let (first, second, _dir) = two_pools().await;
    enqueue_many(&first, 1).await;
    let now = now_unix_millis();
    let stalled = jobs::claim(&first, &["test.work"], now, 1_000)
        .await
        .expect("claim")
        .expect("a job");

    let too_early = jobs::claim(&second, &["test.work"], now + 500, 1_000)
        .await
        .expect("claim");
    let taken_over = jobs::claim(&second, &["test.work"], now + 1_500, 1_000)
        .await
        .expect("claim")
        .expect("the lease expired");

    assert!(too_early.is_none(), "a held lease is respected");
    assert_eq!(taken_over.id, stalled.id);
    assert_eq!(taken_over.attempts, 2);
    assert!(
        !jobs::complete(&first, &stalled).await.expect("complete"),
        "the old lease is void"
    );
    assert!(jobs::complete(&second, &taken_over)
        .await
        .expect("complete"));
    let status = jobs::status(first.pool(), &stalled.id)
        .await
        .expect("status")
        .expect("row");
    assert_eq!(status.state, JobState::Succeeded);
}

#[tokio::test]
async fn retries_wait_until_their_time_and_failures_are_final() {
    let (db, _, _dir) = two_pools().await;
    enqueue_many(&db, 1).await;
    let now = now_unix_millis();
    let job = jobs::claim(&db, &["test.work"], now, 10_000)
        .await
        .expect("claim")
        .expect("job");

    jobs::retry_later(&db, &job, now + 5_000, "receiver down")
        .await
        .expect("retry");
    let before = jobs::claim(&db, &["test.work"], now + 1_000, 10_000)
        .await
        .expect("claim");
    let after = jobs::claim(&db, &["test.work"], now + 6_000, 10_000)
        .await
        .expect("claim")
        .expect("due");
    jobs::fail(&db, &after, "gave up").await.expect("fail");

    assert!(before.is_none());
    let status = jobs::status(db.pool(), &job.id)
        .await
        .expect("status")
        .expect("row");
    assert_eq!(status.state, JobState::Failed);
    assert_eq!(status.last_error.as_deref(), Some("gave up"));
    assert!(jobs::claim(&db, &["test.work"], now + 60_000, 10_000)
        .await
        .expect("claim")
        .is_none());
}

#[tokio::test]
async fn jobs_of_other_kinds_are_left_alone() {
    let (db, _, _dir) = two_pools().await;
    enqueue_many(&db, 1).await;

    let claimed = jobs::claim(&db, &["webhook.deliver"], now_unix_millis(), 1_000)
        .await
        .expect("claim");

    assert!(claimed.is_none());
    assert_eq!(jobs::depth(db.pool()).await.expect("depth"), (1, 0));
}
