//! The demo program: enough people, stores and roles to click through every screen.
//! Loading is idempotent: what exists is left alone, what is missing is added. The demo
//! program has a shelf-photo task for the moderator to check, a quiz, and an active
//! AquaLine campaign with three products run by the `brand` account.
//! Every demo account's password is `demo`.

use chrono::Datelike;

use crate::access::repo::{assign, role_id};
use crate::access::{ADMIN, MANAGER, MANUFACTURER, MODERATOR, Scope};
use crate::auth::hash_password;
use crate::db::{Clock, Db, Tx};
use crate::domain::AccountKind;
use crate::domain::{Login, Phone, Slug};
use crate::org::people::{self, NewPerson, ParticipantRole, PersonStatus};
use crate::org::programs::{self, Program};
use crate::org::stores::{self, StoreFields, StoreStatus};

pub const DEMO_PASSWORD: &str = "demo";

/// What the demo consists of, for printing at start.
pub struct DemoSummary {
    pub program: Program,
    pub logins: Vec<(String, &'static str)>,
}

impl DemoSummary {
    pub fn print(&self) {
        println!(
            "Demo program {:?} is loaded. Every account's password is {DEMO_PASSWORD:?}:",
            self.program.slug
        );
        for (login, what) in &self.logins {
            println!("  {login:<12} {what}");
        }
    }
}

pub async fn load(db: &Db, clock: &Clock, program_slug: &str) -> anyhow::Result<DemoSummary> {
    let slug = Slug::parse(program_slug).map_err(anyhow::Error::msg)?;
    let now = clock.now_ms();
    let program = programs::ensure(db, &slug, now).await?;
    let password_hash = hash_password(DEMO_PASSWORD.into()).await?;
    let mut tx = db.begin().await?;
    let moscow = named(&mut tx, "regions", program.id, "Moscow", now).await?;
    let petersburg = named(&mut tx, "regions", program.id, "Saint Petersburg", now).await?;
    named(&mut tx, "partners", program.id, "StroyPartner", now).await?;
    named(&mut tx, "brands", program.id, "AquaLine", now).await?;

    let mut logins = Vec::new();
    let staff = [
        (
            "admin",
            "Anna Admin",
            ADMIN,
            "admin: runs the whole program",
        ),
        (
            "moderator",
            "Maxim Moderator",
            MODERATOR,
            "moderator: works the queue",
        ),
        (
            "manager",
            "Marina Manager",
            MANAGER,
            "manager of the Moscow region",
        ),
    ];
    for (login, name, role, what) in staff {
        let scope = if role == MANAGER {
            Scope::Region(moscow)
        } else {
            Scope::Program(program.id)
        };
        let id = person(
            &mut tx,
            program.id,
            login,
            name,
            None,
            AccountKind::Staff,
            None,
            &password_hash,
            now,
        )
        .await?;
        let role = role_id(&mut *tx, program.id, role).await?;
        assign(&mut tx, id, role, scope, now).await?;
        logins.push((login.to_string(), what));
    }
    let store_specs = [
        (
            "DEMO-1",
            "Santekhnika na Tverskoy",
            "Moscow, Tverskaya 1",
            moscow,
            "owner1",
        ),
        (
            "DEMO-2",
            "Vodoley",
            "Saint Petersburg, Nevsky 20",
            petersburg,
            "owner2",
        ),
    ];
    for (index, (code, name, address, region, owner_login)) in store_specs.into_iter().enumerate() {
        let store = match stores::by_external_ref(&mut tx, program.id, code).await? {
            Some(store) => store,
            None => {
                let fields = StoreFields {
                    name: name.into(),
                    address: address.into(),
                    region_id: Some(region),
                    partner_id: None,
                    external_ref: Some(code.into()),
                    monthly_plan: None,
                };
                stores::create(&mut tx, program.id, &fields, StoreStatus::Connected, now).await?
            }
        };
        let owner_phone = format!("+7900100000{}", index + 1);
        let owner = person(
            &mut tx,
            program.id,
            owner_login,
            &format!("Owner {}", index + 1),
            Some(&owner_phone),
            AccountKind::Participant,
            Some(store.id),
            &password_hash,
            now,
        )
        .await?;
        stores::set_owner(&mut tx, &store, Some(owner), now).await?;
        logins.push((
            owner_login.to_string(),
            if index == 0 {
                "owner of store DEMO-1 (sellers 1-10)"
            } else {
                "owner of store DEMO-2 (sellers 11-20)"
            },
        ));
        for n in 1..=10 {
            let number = index * 10 + n;
            let login = format!("seller{number}");
            let phone = format!("+790020000{number:02}");
            person(
                &mut tx,
                program.id,
                &login,
                &format!("Seller {number}"),
                Some(&phone),
                AccountKind::Participant,
                Some(store.id),
                &password_hash,
                now,
            )
            .await?;
        }
    }
    logins.push((
        "seller1..20".into(),
        "sellers (phones +79002000001..20 for SMS login)",
    ));
    let aqualine: i64 =
        sqlx::query_scalar("SELECT id FROM brands WHERE program_id = $1 AND name = 'AquaLine'")
            .bind(program.id)
            .fetch_one(&mut *tx)
            .await?;
    let brand_user = person(
        &mut tx,
        program.id,
        "brand",
        "Boris Brand",
        None,
        AccountKind::Staff,
        None,
        &password_hash,
        now,
    )
    .await?;
    let role = role_id(&mut *tx, program.id, MANUFACTURER).await?;
    assign(&mut tx, brand_user, role, Scope::Brand(aqualine), now).await?;
    logins.push((
        "brand".into(),
        "the AquaLine brand: its campaign, products and codes",
    ));
    tx.commit().await?;
    demo_tasks(db, program.id, now).await?;
    demo_campaign(db, &program, aqualine, now).await?;
    Ok(DemoSummary { program, logins })
}

/// An active shelf-photo task (daily, moderated: the demo `moderator` decides it) and a
/// quiz (scored at once, three attempts), each added when no task has its title yet.
async fn demo_tasks(db: &Db, program_id: i64, now: i64) -> anyhow::Result<()> {
    let tasks = [
        serde_json::json!({
            "title": "Photograph the AquaLine shelf",
            "description": "One photo of the whole AquaLine shelf, labels readable.",
            "spec": { "kind": "shelf_photo", "min_photos": 1, "checklist": ["AquaLine at eye level", "A price tag on every product"] },
            "recurrence": "daily",
            "points": "30.00",
        }),
        serde_json::json!({
            "title": "Quiz: AquaLine mixers",
            "description": "Three questions; two right answers pass.",
            "spec": { "kind": "quiz", "pass_mark": 2, "questions": [
                { "text": "Which thread do AquaLine mixers use?", "options": ["1/2\"", "3/4\"", "1\""], "correct": [0] },
                { "text": "How long is the AquaLine warranty?", "options": ["1 year", "3 years", "7 years"], "correct": [2] },
                { "text": "Which of these are AquaLine products?", "options": ["Mixers", "Drills", "Siphons"], "correct": [0, 2] }
            ] },
            "points": "20.00",
            "max_attempts": 3,
        }),
    ];
    let mut tx = db.begin().await?;
    for task in tasks {
        let input: crate::tasks::TaskInput = serde_json::from_value(task)?;
        let existing: Option<i64> =
            sqlx::query_scalar("SELECT id FROM tasks WHERE program_id = $1 AND title = $2")
                .bind(program_id)
                .bind(&input.title)
                .fetch_optional(&mut *tx)
                .await?;
        if existing.is_none() {
            crate::tasks::insert(&mut tx, program_id, &input, None, now).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// The AquaLine catalog and an active campaign paying for it, running from the first
/// of last month for six months; added when no campaign has its name yet. Its fund is
/// posted by the server at start (`campaigns::funding::fund_pending`), as for any campaign
/// activated before a crash.
async fn demo_campaign(db: &Db, program: &Program, brand: i64, now: i64) -> anyhow::Result<()> {
    let mut tx = db.begin().await?;
    let existing: Option<i64> =
        sqlx::query_scalar("SELECT id FROM campaigns WHERE program_id = $1 AND name = $2")
            .bind(program.id)
            .bind(DEMO_CAMPAIGN)
            .fetch_optional(&mut *tx)
            .await?;
    if existing.is_some() {
        return Ok(());
    }
    let catalog = [
        ("AQ-MIX-100", "AquaLine Basic mixer", "mixer", 1, "25.00"),
        (
            "AQ-SIF-6",
            "AquaLine siphon, pack of 6",
            "siphon",
            6,
            "2.50",
        ),
        (
            "AQ-FLT-3",
            "AquaLine filter cartridges, 3 pcs",
            "filter",
            3,
            "4.00",
        ),
    ];
    let mut products = Vec::new();
    for (sku, name, kind, pack, points) in catalog {
        sqlx::query(
            "INSERT INTO products (program_id, brand_id, sku, name, kind, pack_size, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT (program_id, sku) DO NOTHING",
        )
        .bind(program.id)
        .bind(brand)
        .bind(sku)
        .bind(name)
        .bind(kind)
        .bind(pack)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let id: i64 =
            sqlx::query_scalar("SELECT id FROM products WHERE program_id = $1 AND sku = $2")
                .bind(program.id)
                .bind(sku)
                .fetch_one(&mut *tx)
                .await?;
        products.push(serde_json::json!({ "product_id": id, "points_per_unit": points }));
    }
    let zone: chrono_tz::Tz = program
        .timezone
        .parse()
        .unwrap_or(chrono_tz::Europe::Moscow);
    let today = chrono::DateTime::from_timestamp_millis(now)
        .map(|t| t.with_timezone(&zone).date_naive())
        .unwrap_or_default();
    let first_of_last_month = today
        .with_day(1)
        .and_then(|d| d.checked_sub_months(chrono::Months::new(1)))
        .unwrap_or(today);
    let last_day = first_of_last_month
        .checked_add_months(chrono::Months::new(6))
        .and_then(|d| d.pred_opt())
        .unwrap_or(today);
    let input: crate::campaigns::CampaignInput = serde_json::from_value(serde_json::json!({
        "name": DEMO_CAMPAIGN,
        "description": "Register the code on every AquaLine package you sell.",
        "starts_on": first_of_last_month,
        "ends_on": last_day,
        "budget": "1000000.00",
        "products": products,
        "brand_id": brand,
    }))?;
    let campaign = crate::campaigns::insert(&mut tx, program.id, &input, None, now).await?;
    sqlx::query("UPDATE campaigns SET status = 'active' WHERE id = $1")
        .bind(campaign.id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// The demo campaign's name.
pub const DEMO_CAMPAIGN: &str = "AquaLine winter";

async fn named(
    tx: &mut Tx,
    table: &'static str,
    program_id: i64,
    name: &str,
    now: i64,
) -> anyhow::Result<i64> {
    let existing: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT id FROM {table} WHERE program_id = $1 AND name = $2"
    )))
    .bind(program_id)
    .bind(name)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(id) = existing {
        return Ok(id);
    }
    Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "INSERT INTO {table} (program_id, name, created_at) VALUES ($1, $2, $3) RETURNING id"
    )))
    .bind(program_id)
    .bind(name)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?)
}

/// The id of the account with `login`, created when missing.
#[allow(clippy::too_many_arguments)]
async fn person(
    tx: &mut Tx,
    program_id: i64,
    login: &str,
    name: &str,
    phone: Option<&str>,
    kind: AccountKind,
    store_id: Option<i64>,
    password_hash: &str,
    now: i64,
) -> anyhow::Result<i64> {
    let existing: Option<i64> =
        sqlx::query_scalar("SELECT id FROM users WHERE program_id = $1 AND login = $2")
            .bind(program_id)
            .bind(login)
            .fetch_optional(&mut **tx)
            .await?;
    if let Some(id) = existing {
        return Ok(id);
    }
    let new = NewPerson {
        kind,
        name: name.into(),
        phone: phone
            .map(Phone::parse)
            .transpose()
            .map_err(anyhow::Error::msg)?,
        login: Some(Login::parse(login).map_err(anyhow::Error::msg)?),
        password_hash: Some(password_hash.into()),
        status: PersonStatus::Active,
        store_id,
        partner_id: None,
        brand_id: None,
        registration_id: None,
    };
    let is_seller = kind.is_participant() && !login.starts_with("owner");
    let id = if kind.is_participant() {
        let role = if is_seller {
            ParticipantRole::Seller
        } else {
            ParticipantRole::Owner
        };
        people::create_participant(tx, program_id, &new, role, now)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?
    } else {
        people::insert(tx, program_id, &new, now)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?
    };
    Ok(id)
}

/// Where the demo writes its printed codes, inside the data directory.
pub const DEMO_CODES_FILE: &str = "demo-codes.csv";

/// The demo's code pool and one printed batch: a pool of 20,000 codes (small, so the
/// demo starts in seconds; the code generator keeps it full from then on) and 1,000
/// codes issued for the AquaLine mixer, written to `<data_dir>/demo-codes.csv` with the
/// header `code`, one code per line in the dashed form printed on packages
/// (`ABCD-EFGH-JKL`, what a seller types; the 11 letters alone are accepted too). Runs
/// after [`load`]; a second run finds the batch and writes the same file again.
pub async fn demo_codes(
    db: &Db,
    clock: &Clock,
    program_slug: &str,
    database_url: &str,
    data_dir: &std::path::Path,
) -> anyhow::Result<std::path::PathBuf> {
    use crate::codes::{self, PoolRequest, SqlCodegen};

    const POOL: &str = "Demo pool";
    const PRINTED: i64 = 1_000;
    let program = programs::by_slug(db, program_slug)
        .await?
        .ok_or_else(|| anyhow::anyhow!("program {program_slug:?} is not loaded"))?;
    let product: i64 =
        sqlx::query_scalar("SELECT id FROM products WHERE program_id = $1 AND sku = 'AQ-MIX-100'")
            .bind(program.id)
            .fetch_one(&db.pool)
            .await?;
    let existing: Option<i64> =
        sqlx::query_scalar("SELECT id FROM code_pools WHERE program_id = $1 AND name = $2")
            .bind(program.id)
            .bind(POOL)
            .fetch_optional(&db.pool)
            .await?;
    let pool = match existing {
        Some(id) => id,
        None => {
            let request = PoolRequest {
                name: POOL.into(),
                target_size: 20_000,
                low_watermark: 5_000,
            };
            codes::create_pool(db, program.id, &request, clock.now_ms())
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?
                .id
        }
    };
    let store = SqlCodegen::new(db.clone(), database_url, 2, clock.clone(), None)?;
    let batch: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM code_batches WHERE pool_id = $1 AND product_id = $2 ORDER BY id LIMIT 1",
    )
    .bind(pool)
    .bind(product)
    .fetch_optional(&db.pool)
    .await?;
    let batch = match batch {
        Some(batch) => batch,
        None => {
            let now = clock.clone();
            let live_clock: stimul_actors::live::Clock = std::sync::Arc::new(move || now.now_ms());
            stimul_actors::codegen::refill_inline(
                store.as_ref(),
                pool,
                2,
                10_000,
                "demo",
                &live_clock,
                std::time::Duration::from_secs(30),
            )
            .await
            .map_err(anyhow::Error::msg)?;
            codes::create_batch(db, program.id, pool, product, PRINTED, None, clock.now_ms())
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?
                .id
        }
    };
    // Issues what is not issued yet (nothing, when a running server already did).
    use stimul_actors::codegen::CodegenStore;
    while !store
        .issue_chunk(batch, 10_000)
        .await
        .map_err(anyhow::Error::msg)?
        .complete()
    {}
    let printed: Vec<String> =
        sqlx::query_scalar("SELECT code FROM codes WHERE batch_id = $1 ORDER BY id")
            .bind(batch)
            .fetch_all(&db.pool)
            .await?;
    let mut file = String::from("code\n");
    for code in printed {
        let code = stimul_actors::rules::codes::ProductCode::parse(&code)
            .map_err(|e| anyhow::anyhow!("stored code {code:?}: {e}"))?;
        file.push_str(&code.to_string());
        file.push('\n');
    }
    std::fs::create_dir_all(data_dir)?;
    let path = data_dir.join(DEMO_CODES_FILE);
    std::fs::write(&path, file)?;
    Ok(path)
}

/// Points each demo seller starts with (1,500.00, in hundredths), so a newcomer can
/// order at once.
const DEMO_WELCOME_POINTS: i64 = 150_000;

/// The demo showcase: eight rewards of every kind (added when their SKU is new) and
/// welcome points for every seller (ledger key `demo:welcome:{user}`, so loading twice
/// pays once). With the console provider a certificate ordered here is fulfilled a few
/// seconds later, live.
pub async fn demo_showcase(db: &Db, clock: &Clock, program_slug: &str) -> anyhow::Result<()> {
    use stimul_actors::ledger::{
        AccountKey, Movement, Purpose, TransactionRequest, TransactionStatus,
    };
    use stimul_actors::rules::points::Points;

    let slug = Slug::parse(program_slug).map_err(anyhow::Error::msg)?;
    let now = clock.now_ms();
    let program = programs::ensure(db, &slug, now).await?;
    let rewards = [
        (
            "LENTA-1000",
            "gift_certificate",
            "Lenta gift certificate, 1,000 ₽",
            "Certificates",
            Some("Lenta"),
            Some("1000"),
            None,
            None,
        ),
        (
            "OZON-ANY",
            "gift_certificate",
            "Ozon gift certificate, any amount",
            "Certificates",
            Some("Ozon"),
            None,
            Some("500"),
            Some("15000"),
        ),
        (
            "MVIDEO-3000",
            "gift_certificate",
            "M.Video gift certificate, 3,000 ₽",
            "Certificates",
            Some("M.Video"),
            Some("3000"),
            None,
            None,
        ),
        (
            "VCARD-500",
            "virtual_card",
            "Virtual payment card, 500 ₽",
            "Cards",
            None,
            Some("500"),
            None,
            None,
        ),
        (
            "TOPUP",
            "phone_topup",
            "Mobile top-up",
            "Phone",
            None,
            None,
            Some("100"),
            Some("3000"),
        ),
        (
            "AQ-KETTLE",
            "goods",
            "Electric kettle",
            "Home",
            None,
            Some("2500"),
            None,
            Some("20"),
        ),
        (
            "MERCH-CAP",
            "merch",
            "AquaLine cap",
            "Merch",
            None,
            Some("300"),
            None,
            Some("100"),
        ),
        (
            "CARD-PAYOUT",
            "card_payout",
            "Payout to a bank card",
            "Money",
            None,
            None,
            Some("1000"),
            Some("50000"),
        ),
    ];
    let mut tx = db.begin().await?;
    for (sku, kind, title, category, network, price, min, max_or_stock) in rewards {
        if crate::rewards::repo::sku_exists(&mut *tx, program.id, sku).await? {
            continue;
        }
        let chosen = price.is_none();
        let input: crate::rewards::RewardInput = serde_json::from_value(serde_json::json!({
            "sku": sku, "kind": kind, "title": title, "category": category, "network": network,
            "price": price, "min_amount": min, "max_amount": if chosen { max_or_stock } else { None },
            "stock": if chosen { None } else { max_or_stock.and_then(|s| s.parse::<i64>().ok()) },
            "description": "A demo reward: order it and watch the order's status change live.",
        }))?;
        crate::rewards::insert_checked(&mut tx, program.id, &input, now).await?;
    }
    // The demo takes card payments (the console provider confirms each after a few
    // seconds), so a newcomer can order more than their points cover and watch it.
    sqlx::query("UPDATE programs SET card_payments = 1 WHERE id = $1")
        .bind(program.id)
        .execute(&mut *tx)
        .await?;
    let sellers: Vec<(i64, Option<i64>)> = sqlx::query_as(
        "SELECT id, store_id FROM users WHERE program_id = $1 AND kind = 'participant' AND login LIKE 'seller%'",
    )
    .bind(program.id)
    .fetch_all(&mut *tx)
    .await?;
    let ledger = crate::ledger::SqlActorStorage::new(db.clone(), db.clone(), clock.clone());
    for (user, store) in sellers {
        let request = TransactionRequest {
            program_id: program.id,
            idempotency_key: format!("demo:welcome:{user}"),
            reason: "welcome".into(),
            participant_id: Some(user),
            store_id: store,
            source: Some(("demo".into(), "welcome".into())),
            actor_id: None,
            comment: Some("Welcome to the demo program".into()),
            status: TransactionStatus::Posted,
            settles: None,
            movements: vec![Movement {
                from: AccountKey::Issued,
                to: AccountKey::Participant(user),
                amount: Points::from_hundredths(DEMO_WELCOME_POINTS),
                purpose: Purpose::Earning,
            }],
            completed_tasks: 0,
            campaign_id: None,
            fingerprint: None,
            earning: None,
        };
        if let Err(err) = ledger.post_in(&mut tx, &request).await? {
            anyhow::bail!("welcome points for {user}: {err}");
        }
    }
    tx.commit().await?;
    Ok(())
}
