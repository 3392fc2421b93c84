//! The actors against the in-memory store: group commit, per-participant ordering,
//! rules applied at the source, version-ordered absorption of outside changes.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use futures_util::future::join_all;

use crate::bus::{BusEvent, EventBus, LocalBus};
use crate::ledger::{
    AccountKey, CommitListener, GroupCommitter, LedgerError, Movement, Purpose, TransactionRequest,
    TransactionStatus,
};
use crate::live::RealtimeCore;
use crate::memory::{MemoryStore, level, rules};
use crate::participant::{Adjust, ApplyChange, Earn, GetView, ParticipantError, Settle};
use crate::rules::points::Points;

const SELLER: i64 = 10;
const OWNER: i64 = 20;
const STORE: i64 = 5;

fn store() -> Arc<MemoryStore> {
    let rules = rules(
        vec![level("Bronze", "0", "1"), level("Silver", "100.00", "1.5")],
        "10",
    );
    Arc::new(MemoryStore::new(
        rules,
        HashMap::from([(STORE, OWNER)]),
        HashMap::from([(SELLER, STORE), (OWNER, STORE)]),
    ))
}

fn live(store: Arc<MemoryStore>) -> Arc<RealtimeCore> {
    RealtimeCore::start(
        stores(store),
        "test-node".into(),
        Arc::new(|| 1_700_000_000_000),
        2,
        |dispatch| -> Arc<dyn EventBus> { Arc::new(LocalBus::new(dispatch)) },
    )
    .0
}

fn stores(store: Arc<MemoryStore>) -> crate::live::Stores {
    crate::live::Stores {
        live: store.clone(),
        moderation: store.clone(),
        leaderboards: store,
    }
}

fn points(text: &str) -> Points {
    Points::parse(text).expect("points")
}

fn earn(amount: &str, key: &str) -> Earn {
    Earn {
        base: points(amount),
        reason: "award".into(),
        idempotency_key: key.into(),
        pay_from: AccountKey::Issued,
        hold: false,
        source: None,
        actor_id: None,
        comment: None,
        completed_tasks: 0,
        fingerprint: None,
    }
}

fn request(key: &str, reason: &str, user: i64, amount: i64) -> TransactionRequest {
    TransactionRequest {
        program_id: 1,
        idempotency_key: key.into(),
        reason: reason.into(),
        participant_id: Some(user),
        store_id: None,
        source: None,
        actor_id: None,
        comment: None,
        status: TransactionStatus::Posted,
        settles: None,
        movements: vec![Movement {
            from: AccountKey::Issued,
            to: AccountKey::Participant(user),
            amount: Points::from_hundredths(amount),
            purpose: Purpose::Earning,
        }],
        completed_tasks: 0,
        campaign_id: None,
        fingerprint: None,
        earning: None,
    }
}

#[actix::test]
async fn group_commit_batches_concurrent_transactions() {
    let memory = store();
    let committed = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = committed.clone();
    let listener: CommitListener = Arc::new(move |_, _| {
        seen.fetch_add(1, Ordering::SeqCst);
    });
    let (committer, _task) = GroupCommitter::start(memory.clone(), listener);
    let answers = join_all(
        (0..500).map(|i| committer.commit(request(&format!("k{i}"), "award", 100 + i % 50, 100))),
    )
    .await;
    assert!(answers.iter().all(Result::is_ok));
    let batches = memory.batches.load(Ordering::SeqCst);
    assert!(
        batches < 100,
        "500 concurrent commits took {batches} batches"
    );
    assert_eq!(
        committed.load(Ordering::SeqCst),
        500,
        "every commit is announced once"
    );
    assert_eq!(memory.sum_of_balances(), 0);

    // A retried key commits nothing and is not announced again.
    let replay = committer
        .commit(request("k7", "award", 107, 100))
        .await
        .expect("replayed");
    assert!(replay.replayed);
    assert_eq!(committed.load(Ordering::SeqCst), 500);
}

#[actix::test]
async fn a_flush_answers_once_everything_asked_before_it_is_committed() {
    let memory = store();
    let (committer, _task) = GroupCommitter::start(memory.clone(), Arc::new(|_, _| {}));
    // Commits whose callers are gone (a stopped actor) still commit before the flush.
    for i in 0..300 {
        let committer = committer.clone();
        let request = request(&format!("f{i}"), "award", 1, 10);
        tokio::spawn(async move { committer.commit(request).await });
    }
    tokio::task::yield_now().await;
    committer.flush().await;
    assert_eq!(memory.balance(AccountKey::Participant(1)), 3_000);
}

#[actix::test]
async fn one_bad_request_does_not_fail_its_batch() {
    let memory = store();
    let (committer, _task) = GroupCommitter::start(memory.clone(), Arc::new(|_, _| {}));
    let mut work: Vec<TransactionRequest> = (0..20)
        .map(|i| request(&format!("ok{i}"), "award", 1, 10))
        .collect();
    work.insert(7, request("bad", "poison", 1, 10));
    let answers = join_all(work.into_iter().map(|r| committer.commit(r))).await;
    assert_eq!(answers.iter().filter(|a| a.is_ok()).count(), 20);
    assert!(matches!(answers[7], Err(LedgerError::Storage(_))));
    assert_eq!(memory.balance(AccountKey::Participant(1)), 200);
}

#[actix::test]
async fn earning_applies_the_multiplier_and_pays_the_owner() {
    let memory = store();
    let live = live(memory.clone());
    let first = live
        .earn(SELLER, earn("100.00", "e1"))
        .await
        .expect("credited");
    assert_eq!(
        (first.amount, first.owner_share),
        (points("100.00"), points("10.00"))
    );
    assert_eq!(
        first.view.level.name, "Silver",
        "the credit that reaches the threshold levels up"
    );
    // Silver multiplies by 1.5: 3.33 × 1.5 = 4.995 → 5.00; the owner gets 10 % → 0.50.
    let second = live
        .earn(SELLER, earn("3.33", "e2"))
        .await
        .expect("credited");
    assert_eq!(
        (second.amount, second.owner_share),
        (points("5.00"), points("0.50"))
    );
    assert_eq!(memory.balance(AccountKey::Participant(SELLER)), 10_500);
    assert_eq!(memory.balance(AccountKey::Participant(OWNER)), 1_050);
    // The owner's own live actor heard about its share.
    let owner = live.participant_view(OWNER).await.expect("owner view");
    assert_eq!(owner.balance.available, points("10.50"));
    assert_eq!(memory.sum_of_balances(), 0);
}

#[actix::test]
async fn debits_on_one_participant_are_serialised_and_never_overdraw() {
    let memory = store();
    let live = live(memory.clone());
    live.earn(SELLER, earn("50.00", "seed"))
        .await
        .expect("seeded");
    let debits = (0..30).map(|i| {
        live.adjust(
            SELLER,
            Adjust {
                amount: points("-4.00"),
                comment: "fee".into(),
                idempotency_key: format!("d{i}"),
                actor_id: None,
                fingerprint: None,
            },
        )
    });
    let answers = join_all(debits).await;
    let accepted = answers.iter().filter(|a| a.is_ok()).count();
    assert_eq!(accepted, 12);
    assert!(answers.iter().filter(|a| a.is_err()).all(|a| matches!(
        a,
        Err(ParticipantError::Ledger(
            LedgerError::InsufficientFunds { .. }
        ))
    )));
    let view = live.participant_view(SELLER).await.expect("view");
    assert_eq!(view.balance.available, points("2.00"));
    // Versions are consecutive: one per change, none lost or doubled.
    assert_eq!(view.version, 13);
}

#[actix::test]
async fn holds_settle_once() {
    let memory = store();
    let live = live(memory.clone());
    let held = live
        .earn(
            SELLER,
            Earn {
                hold: true,
                ..earn("20.00", "h1")
            },
        )
        .await
        .expect("held");
    assert_eq!(
        (
            held.view.balance.pending,
            held.view.balance.available,
            held.owner_share
        ),
        (points("20.00"), Points::ZERO, Points::ZERO)
    );
    let settle = |key: &str, confirm| Settle {
        hold_transaction_id: held.transaction_id,
        confirm,
        idempotency_key: key.into(),
        actor_id: None,
        comment: None,
        completed_tasks: 1,
        fingerprint: None,
    };
    let confirmed = live
        .settle(SELLER, settle("s1", true))
        .await
        .expect("confirmed");
    assert_eq!(
        (
            confirmed.view.balance.available,
            confirmed.view.balance.pending,
            confirmed.owner_share
        ),
        (points("20.00"), Points::ZERO, points("2.00"))
    );
    assert_eq!(confirmed.view.completed_tasks, 1);
    let again = live.settle(SELLER, settle("s2", false)).await;
    assert!(matches!(
        again,
        Err(ParticipantError::Ledger(LedgerError::NotPending { .. }))
    ));
    assert_eq!(memory.sum_of_balances(), 0);
}

#[actix::test]
async fn outside_changes_apply_in_order_and_a_gap_reloads() {
    let memory = store();
    let live = live(memory.clone());
    let actor = live.participant(SELLER).await.expect("started");
    assert_eq!(actor.send(GetView).await.expect("view").version, 0);
    // Two changes made elsewhere; only the second is heard: a gap.
    memory.external_credit(SELLER, 100);
    let second = memory.external_credit(SELLER, 200);
    actor.do_send(ApplyChange {
        change: second,
        reason: "award".into(),
        transaction_id: 2,
    });
    let view = actor.send(GetView).await.expect("view");
    assert_eq!(
        (view.version, view.balance.available),
        (2, points("3.00")),
        "reloaded from the store after the gap"
    );
    // An old change arriving late is ignored.
    actor.do_send(ApplyChange {
        change: crate::ledger::ParticipantBalance {
            version: 1,
            ..second
        },
        reason: "late".into(),
        transaction_id: 1,
    });
    assert_eq!(actor.send(GetView).await.expect("view").version, 2);
}

#[actix::test]
async fn events_reach_the_hub_numbered() {
    use crate::hub::{Backlog, Push, Subscriber};
    use actix::prelude::*;

    struct Collector(Arc<std::sync::Mutex<Vec<String>>>, Arc<Backlog>);
    impl Actor for Collector {
        type Context = Context<Self>;
    }
    impl Handler<Push> for Collector {
        type Result = ();
        fn handle(&mut self, push: Push, _: &mut Context<Self>) {
            self.1.written();
            self.0.lock().expect("frames").push(push.frame.to_string());
        }
    }
    let memory = store();
    let live = live(memory);
    let frames = Arc::new(std::sync::Mutex::new(Vec::new()));
    let backlog = Arc::new(Backlog::default());
    let collector = Collector(frames.clone(), backlog.clone()).start();
    live.participant(SELLER).await.expect("started");
    let seq = live.hub.subscribe(
        &crate::participant::topic(SELLER),
        "me",
        Subscriber {
            id: 1,
            recipient: collector.recipient(),
            backlog,
        },
    );
    assert_eq!(seq, 0);
    live.earn(SELLER, earn("100.00", "x1"))
        .await
        .expect("credited");
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let frames = frames.lock().expect("frames").clone();
    let events: Vec<serde_json::Value> = frames
        .iter()
        .filter_map(|f| serde_json::from_str(f).ok())
        .collect();
    let names: Vec<&str> = events.iter().filter_map(|e| e["event"].as_str()).collect();
    assert_eq!(names, ["balance_changed", "level_up"]);
    assert_eq!(events[0]["seq"], 1);
    assert_eq!(events[1]["seq"], 2);
    assert_eq!(events[0]["data"]["balance"]["available"], "100.00");
    // Program rules changing makes live actors reload.
    live.bus.publish(BusEvent::ProgramChanged { program_id: 1 });
}

#[actix::test]
async fn sellers_stay_online_while_their_node_beats_and_leave_when_it_stops() {
    use std::sync::atomic::AtomicI64;
    let now = Arc::new(AtomicI64::new(1_700_000_000_000));
    let clock = now.clone();
    let live = RealtimeCore::start(
        stores(store()),
        "this-node".into(),
        Arc::new(move || clock.load(Ordering::SeqCst)),
        1,
        |dispatch| -> Arc<dyn EventBus> { Arc::new(LocalBus::new(dispatch)) },
    )
    .0;
    let online = |live: Arc<RealtimeCore>| async move {
        live.store_progress(STORE)
            .await
            .expect("progress")
            .sellers_online
    };
    assert_eq!(online(live.clone()).await, 0);
    // Two tabs of one seller here; one seller on another node.
    live.session_opened(STORE, SELLER);
    live.session_opened(STORE, SELLER);
    live.dispatch(BusEvent::Presence {
        node: "other-node".into(),
        store_id: STORE,
        user_id: OWNER,
        online: true,
    });
    assert_eq!(online(live.clone()).await, 2);
    live.session_closed(STORE, SELLER);
    assert_eq!(
        online(live.clone()).await,
        2,
        "the second tab is still open"
    );
    // Time passes; this node beats, the other node has died and does not.
    let step = crate::store::PRESENCE_TTL_MS / 2;
    for _ in 0..3 {
        now.fetch_add(step, Ordering::SeqCst);
        live.presence_beat();
    }
    assert_eq!(
        online(live.clone()).await,
        1,
        "the dead node's seller expired"
    );
    live.session_closed(STORE, SELLER);
    assert_eq!(online(live.clone()).await, 0);
    live.shutdown();
}

mod moderation {
    use std::sync::atomic::AtomicI64;
    use std::time::Duration;

    use super::*;
    use crate::moderation::{DEFAULT_LEASE, Join, Leave, ModerationStore, Settled};
    use crate::rules::routing::{ItemKind, Scope};

    fn live_with_clock(store: Arc<MemoryStore>, now: Arc<AtomicI64>) -> Arc<RealtimeCore> {
        RealtimeCore::start(
            super::stores(store),
            "test-node".into(),
            Arc::new(move || now.load(Ordering::SeqCst)),
            2,
            |dispatch| -> Arc<dyn EventBus> { Arc::new(LocalBus::new(dispatch)) },
        )
        .0
    }

    fn join(moderator_id: i64, capacity: u32) -> Join {
        Join {
            moderator_id,
            session: moderator_id as u64,
            program_id: 1,
            capacity,
            kinds: Scope::All,
            regions: Scope::All,
        }
    }

    async fn settle_held(
        memory: &MemoryStore,
        live: &RealtimeCore,
        moderator: i64,
        capacity: usize,
    ) -> usize {
        let held = memory.held(moderator).await.expect("held");
        assert!(
            held.len() <= capacity,
            "moderator {moderator} holds {} > {capacity}",
            held.len()
        );
        for item in &held {
            let decided = memory
                .decide(item.id, moderator)
                .expect("held items can be decided by their holder");
            live.moderation.do_send(Settled {
                item: decided,
                reason: crate::moderation::SettleReason::Decided,
            });
        }
        held.len()
    }

    #[actix::test]
    async fn every_item_is_routed_within_capacity_and_decided_once() {
        let memory = store();
        let live = live_with_clock(memory.clone(), Arc::new(AtomicI64::new(1_000)));
        for id in 1..=60 {
            memory.enqueue(id, ItemKind::TaskSubmission, None, id);
        }
        for moderator in [101, 102, 103] {
            live.moderation
                .send(join(moderator, 3))
                .await
                .expect("mailbox")
                .expect("joined");
        }
        let mut decided_by = HashMap::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while memory
            .statuses()
            .iter()
            .any(|(_, status, _)| *status != crate::rules::routing::ItemStatus::Decided)
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the queue drains: {:?}",
                memory.statuses()
            );
            for moderator in [101, 102, 103] {
                *decided_by.entry(moderator).or_insert(0) +=
                    settle_held(&memory, &live, moderator, 3).await;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(
            decided_by.values().sum::<usize>(),
            60,
            "each item decided exactly once"
        );
        assert!(
            decided_by.values().all(|n| *n >= 10),
            "work is shared: {decided_by:?}"
        );
    }

    #[actix::test]
    async fn leaving_or_an_expired_lease_returns_items_to_the_queue() {
        let memory = store();
        let now = Arc::new(AtomicI64::new(1_000));
        let live = live_with_clock(memory.clone(), now.clone());
        for id in 1..=4 {
            memory.enqueue(id, ItemKind::Receipt, None, id);
        }
        live.moderation
            .send(join(201, 3))
            .await
            .expect("mailbox")
            .expect("joined");
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(memory.held(201).await.expect("held").len(), 3);

        // The moderator disconnects: a colleague gets the items.
        live.moderation
            .send(Leave {
                moderator_id: 201,
                session: 201,
            })
            .await
            .expect("mailbox");
        live.moderation
            .send(join(202, 4))
            .await
            .expect("mailbox")
            .expect("joined");
        tokio::time::sleep(Duration::from_millis(50)).await;
        let held = memory.held(202).await.expect("held");
        assert_eq!(held.len(), 4);
        assert!(memory.held(201).await.expect("held").is_empty());

        // Nobody decides: after the lease the items are re-queued and handed out anew.
        let first_lease = held[0].lease_expires_at.expect("leased");
        now.fetch_add(DEFAULT_LEASE.as_millis() as i64 + 1, Ordering::SeqCst);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let held = memory.held(202).await.expect("held");
            if held.len() == 4
                && held
                    .iter()
                    .all(|i| i.lease_expires_at.is_some_and(|l| l > first_lease))
            {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "expired leases are re-queued and routed: {held:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

mod campaigns {
    use super::*;
    use crate::campaign::{Cohort, Earned, GetBoard};
    use crate::rules::windows::Window;

    const CAMPAIGN: i64 = 1;

    fn pay(key: &str, user: i64, hundredths: i64) -> Earn {
        Earn {
            pay_from: AccountKey::CampaignFund(CAMPAIGN),
            ..earn("0.01", key)
        }
        .with_base(hundredths, user)
    }

    trait WithBase {
        fn with_base(self, hundredths: i64, user: i64) -> Self;
    }

    impl WithBase for Earn {
        fn with_base(mut self, hundredths: i64, user: i64) -> Self {
            self.base = Points::from_hundredths(hundredths);
            self.idempotency_key = format!("{}-{user}", self.idempotency_key);
            self
        }
    }

    async fn funded() -> (Arc<MemoryStore>, Arc<RealtimeCore>) {
        let memory = store();
        let live = live(memory.clone());
        let mut funding = request("fund", "funding", 0, 100_000_000);
        funding.participant_id = None;
        funding.movements = vec![Movement {
            from: AccountKey::Issued,
            to: AccountKey::CampaignFund(CAMPAIGN),
            amount: Points::from_hundredths(100_000_000),
            purpose: Purpose::Funding,
        }];
        live.committer.commit(funding).await.expect("funded");
        live.campaign(CAMPAIGN).await.expect("campaign actor");
        (memory, live)
    }

    fn board(window: Window, cohort: Cohort, around: Option<(i64, usize)>) -> GetBoard {
        GetBoard {
            window,
            cohort,
            limit: 10,
            around,
        }
    }

    #[actix::test]
    async fn campaign_credits_rank_participants_live() {
        let (_memory, live) = funded().await;
        // No multiplier or owner share for these ids: they are in no store and Bronze.
        for (user, amount) in [(101, 10_000), (102, 5_000), (103, 7_500)] {
            live.earn(user, pay("c", user, amount))
                .await
                .expect("credited");
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let view = live
            .leaderboard(
                CAMPAIGN,
                board(Window::Campaign, Cohort::Everyone, Some((102, 1))),
            )
            .await
            .expect("board");
        let order: Vec<i64> = view.top.iter().map(|e| e.participant_id).collect();
        assert_eq!(order, [101, 103, 102]);
        assert_eq!(view.top[0].score, "100.00");
        assert_eq!(view.my_rank, Some(3));
        assert_eq!(
            view.around
                .iter()
                .map(|e| e.participant_id)
                .collect::<Vec<_>>(),
            [103, 102]
        );
        assert_eq!(view.top[0].name, "P101");

        // Points earned elsewhere: 102 overtakes; a reversal drops 101 off the board.
        let actor = live.campaign(CAMPAIGN).await.expect("actor");
        actor.do_send(Earned {
            participant_id: 102,
            delta: 6_000,
            at: 1_700_000_000_001,
        });
        actor.do_send(Earned {
            participant_id: 101,
            delta: -10_000,
            at: 1_700_000_000_002,
        });
        let view = live
            .leaderboard(CAMPAIGN, board(Window::Day, Cohort::Everyone, None))
            .await
            .expect("board");
        assert_eq!(
            view.top
                .iter()
                .map(|e| e.participant_id)
                .collect::<Vec<_>>(),
            [102, 103]
        );
        assert_eq!(view.top[0].score, "110.00");
    }

    #[actix::test]
    async fn store_cohorts_hold_only_their_store() {
        let (_memory, live) = funded().await;
        live.earn(SELLER, pay("s", SELLER, 1_000))
            .await
            .expect("credited");
        live.earn(300, pay("o", 300, 5_000))
            .await
            .expect("credited");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let store_board = live
            .leaderboard(CAMPAIGN, board(Window::Week, Cohort::Store(STORE), None))
            .await
            .expect("board");
        assert_eq!(
            store_board
                .top
                .iter()
                .map(|e| e.participant_id)
                .collect::<Vec<_>>(),
            [SELLER]
        );
        let everyone = live
            .leaderboard(CAMPAIGN, board(Window::Week, Cohort::Everyone, None))
            .await
            .expect("board");
        assert_eq!(everyone.total, 2);
    }

    #[actix::test]
    async fn ranks_agree_with_a_sorted_reference() {
        use rand::{Rng, SeedableRng};
        let (_memory, live) = funded().await;
        let actor = live.campaign(CAMPAIGN).await.expect("actor");
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut reference: HashMap<i64, (i64, i64)> = HashMap::new();
        for step in 0..3_000_i64 {
            let user = rng.random_range(1..200);
            let delta = rng.random_range(-500..3_000);
            let at = 1_700_000_000_000 + step;
            actor.do_send(Earned {
                participant_id: user,
                delta,
                at,
            });
            let entry = reference.entry(user).or_insert((0, at));
            entry.0 += delta;
            entry.1 = at;
            if entry.0 <= 0 {
                reference.remove(&user);
            }
        }
        let mut sorted: Vec<(i64, i64, i64)> = reference
            .iter()
            .map(|(user, (score, at))| (*user, *score, *at))
            .collect();
        sorted.sort_by(|a, b| b.1.cmp(&a.1).then(a.2.cmp(&b.2)).then(a.0.cmp(&b.0)));
        let probe = sorted[sorted.len() / 2].0;
        let view = live
            .leaderboard(
                CAMPAIGN,
                board(Window::Campaign, Cohort::Everyone, Some((probe, 2))),
            )
            .await
            .expect("board");
        assert_eq!(view.total, sorted.len());
        assert_eq!(
            view.top
                .iter()
                .map(|e| e.participant_id)
                .collect::<Vec<_>>(),
            sorted.iter().take(10).map(|s| s.0).collect::<Vec<_>>()
        );
        let rank = sorted
            .iter()
            .position(|s| s.0 == probe)
            .map(|p| p as u64 + 1);
        assert_eq!(view.my_rank, rank);
    }
}
