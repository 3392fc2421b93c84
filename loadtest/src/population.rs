//! The people a scenario plays, made through the public API only: a few stores without
//! region or owner, sellers with login and password spread over them, moderators (staff
//! with the built-in `moderator` role over the whole program) when a scenario needs
//! them, and a session for each. A population is named by `--prefix` (logins
//! `{prefix}-s00001`…, `{prefix}-m001`…, store codes `{prefix}-store-1`…), so a later
//! run with the same prefix reuses what exists and creates only what is missing.
//! Password hashing costs the server tens of milliseconds per account, so creation and
//! login run with bounded concurrency.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use clap::Args;
use futures_util::{StreamExt, TryStreamExt, stream};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::api::{Api, Session};
use crate::progress::Progress;

/// Digits of a phone number in E.164 form as we make them (`+7 955 0000001`).
const PHONE_DIGITS: usize = 11;

#[derive(Args, Debug, Clone)]
pub struct PopulationArgs {
    /// Sellers to play: each gets a login, a session and a WebSocket.
    #[arg(long, default_value_t = 1000)]
    pub sellers: usize,
    /// Stores the sellers are spread over (round-robin), created without region or
    /// owner, so a credit moves only the seller's points.
    #[arg(long, default_value_t = 10)]
    pub stores: usize,
    /// Names the population: logins `{prefix}-s00001`…, store codes `{prefix}-store-1`….
    /// A later run with the same prefix reuses them; a new prefix needs a new
    /// --phone-prefix too.
    #[arg(long, default_value = "lt")]
    pub prefix: String,
    /// Sellers' phones: this prefix then the seller's number, zero-padded to 11 digits.
    #[arg(long, default_value = "+7955")]
    pub phone_prefix: String,
    /// Password of every seller of the population (at least 8 characters).
    #[arg(long, default_value = "loadtest-password")]
    pub seller_password: String,
    /// Setup calls in flight at once (creating and logging in sellers; each hashes a
    /// password with argon2 on the server).
    #[arg(long, default_value_t = 4)]
    pub setup_concurrency: usize,
}

impl PopulationArgs {
    fn check(&self) -> anyhow::Result<()> {
        ensure!(self.sellers > 0, "--sellers must be at least 1");
        ensure!(self.stores > 0, "--stores must be at least 1");
        ensure!(
            self.setup_concurrency > 0,
            "--setup-concurrency must be at least 1"
        );
        ensure!(
            (1..=40).contains(&self.prefix.len())
                && self
                    .prefix
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()),
            "--prefix is 1 to 40 of a-z and 0-9"
        );
        let digits = self.phone_digits()?;
        let room = PHONE_DIGITS.saturating_sub(digits.len());
        ensure!(
            room > 0 && self.sellers.to_string().len() <= room,
            "--phone-prefix {:?} leaves {room} digits, too few for {} sellers",
            self.phone_prefix,
            self.sellers
        );
        ensure!(
            self.seller_password.chars().count() >= 8,
            "--seller-password needs at least 8 characters"
        );
        Ok(())
    }

    fn phone_digits(&self) -> anyhow::Result<&str> {
        let digits = self
            .phone_prefix
            .strip_prefix('+')
            .unwrap_or(&self.phone_prefix);
        ensure!(
            !digits.is_empty()
                && !digits.starts_with('0')
                && digits.bytes().all(|b| b.is_ascii_digit()),
            "--phone-prefix is + and digits with a country code, like +7955"
        );
        Ok(digits)
    }

    /// Seller numbers start at 1, as people count.
    fn login(&self, number: usize) -> String {
        format!("{}-s{number:05}", self.prefix)
    }

    fn phone(&self, number: usize) -> anyhow::Result<String> {
        let digits = self.phone_digits()?;
        let width = PHONE_DIGITS - digits.len();
        Ok(format!("+{digits}{number:0width$}"))
    }

    fn store_code(&self, number: usize) -> String {
        format!("{}-store-{number}", self.prefix)
    }

    fn moderator_login(&self, number: usize) -> String {
        format!("{}-m{number:03}", self.prefix)
    }
}

/// A seller ready to act.
#[derive(Debug, Clone)]
pub struct Seller {
    /// 1-based number in the population.
    pub number: usize,
    pub id: i64,
    pub login: String,
    pub session: Session,
}

/// What setup found and did.
#[derive(Debug, Clone, Serialize)]
pub struct SetupReport {
    pub stores_created: usize,
    pub stores_reused: usize,
    pub sellers_created: usize,
    pub sellers_reused: usize,
    pub create_secs: f64,
    pub login_secs: f64,
}

pub struct Population {
    pub stores: Vec<i64>,
    pub sellers: Vec<Seller>,
    pub report: SetupReport,
}

/// A moderator ready to act.
#[derive(Debug, Clone)]
pub struct Moderator {
    pub login: String,
    pub session: Session,
}

/// What moderator setup found and did.
#[derive(Debug, Clone, Serialize)]
pub struct ModeratorSetup {
    pub created: usize,
    pub reused: usize,
    /// Existing accounts that lacked the role and were given it.
    pub roles_assigned: usize,
    pub secs: f64,
}

#[derive(Deserialize)]
struct RoleRow {
    id: i64,
    name: String,
}

#[derive(Deserialize)]
struct AssignmentRow {
    role: String,
    scope: Value,
}

#[derive(Deserialize)]
struct ProgramRow {
    id: i64,
}

#[derive(Deserialize)]
struct StoreRow {
    id: i64,
    external_ref: Option<String>,
}

#[derive(Deserialize)]
struct PersonRow {
    id: i64,
    login: Option<String>,
    status: String,
}

/// Makes sure the population exists and logs every seller in.
pub async fn prepare(
    api: &Api,
    admin: &Session,
    args: &PopulationArgs,
) -> anyhow::Result<Population> {
    args.check()?;
    let (stores, stores_created) = ensure_stores(api, admin, args).await?;
    let (people, sellers_created, create_time) = ensure_sellers(api, admin, args, &stores).await?;
    let (sellers, login_time) = log_in(api, args, people).await?;
    Ok(Population {
        stores,
        report: SetupReport {
            stores_created,
            stores_reused: args.stores - stores_created,
            sellers_created,
            sellers_reused: args.sellers - sellers_created,
            create_secs: create_time.as_secs_f64(),
            login_secs: login_time.as_secs_f64(),
        },
        sellers,
    })
}

async fn ensure_stores(
    api: &Api,
    admin: &Session,
    args: &PopulationArgs,
) -> anyhow::Result<(Vec<i64>, usize)> {
    let search = format!("/api/v1/stores?q={}-store-", args.prefix);
    let existing: HashMap<String, i64> = api
        .list_all::<StoreRow>(admin, &search)
        .await
        .context("listing the population's stores")?
        .into_iter()
        .filter_map(|s| s.external_ref.map(|code| (code, s.id)))
        .collect();
    let mut ids = Vec::with_capacity(args.stores);
    let mut created = 0;
    for number in 1..=args.stores {
        let code = args.store_code(number);
        if let Some(id) = existing.get(&code) {
            ids.push(*id);
            continue;
        }
        let body = json!({
            "name": format!("Load test {} store {number}", args.prefix),
            "external_ref": code,
        });
        let store: StoreRow = api
            .post(admin, "/api/v1/stores", &body, &format!("create-{code}"))
            .await
            .with_context(|| format!("creating store {code}"))?;
        ids.push(store.id);
        created += 1;
    }
    Ok((ids, created))
}

/// A seller that exists, not yet logged in.
struct Existing {
    number: usize,
    id: i64,
    login: String,
}

async fn ensure_sellers(
    api: &Api,
    admin: &Session,
    args: &PopulationArgs,
    stores: &[i64],
) -> anyhow::Result<(Vec<Existing>, usize, Duration)> {
    let search = format!("/api/v1/participants?q={}-s", args.prefix);
    let mut found: HashMap<String, PersonRow> = api
        .list_all::<PersonRow>(admin, &search)
        .await
        .context("listing the population's sellers")?
        .into_iter()
        .filter_map(|p| p.login.clone().map(|login| (login, p)))
        .collect();
    let mut people = Vec::with_capacity(args.sellers);
    let mut missing = Vec::new();
    for number in 1..=args.sellers {
        let login = args.login(number);
        match found.remove(&login) {
            Some(person) => {
                if person.status != "active" {
                    bail!(
                        "{login} exists but is {}; use another --prefix",
                        person.status
                    );
                }
                people.push(Existing {
                    number,
                    id: person.id,
                    login,
                });
            }
            None => missing.push(number),
        }
    }
    let created = missing.len();
    let (progress, ticker) = Progress::start("creating sellers", created);
    let made: Vec<Existing> = stream::iter(missing)
        .map(|number| {
            let progress = progress.clone();
            async move {
                let seller = create_seller(api, admin, args, stores, number).await?;
                progress.inc();
                anyhow::Ok(seller)
            }
        })
        .buffer_unordered(args.setup_concurrency)
        .try_collect()
        .await?;
    let took = ticker.finish().await;
    people.extend(made);
    people.sort_by_key(|p| p.number);
    Ok((people, created, took))
}

async fn create_seller(
    api: &Api,
    admin: &Session,
    args: &PopulationArgs,
    stores: &[i64],
    number: usize,
) -> anyhow::Result<Existing> {
    let login = args.login(number);
    let store_id = stores[(number - 1) % stores.len()];
    let body = json!({
        "phone": args.phone(number)?,
        "name": format!("Load seller {number}"),
        "store_id": store_id,
        "login": login,
        "password": args.seller_password,
    });
    // The key makes an interrupted setup safe to run again.
    let person: PersonRow = api
        .post(admin, "/api/v1/participants", &body, &format!("create-{login}"))
        .await
        .with_context(|| format!("creating seller {login} (is the phone taken by another population? pick another --phone-prefix)"))?;
    Ok(Existing {
        number,
        id: person.id,
        login,
    })
}

async fn log_in(
    api: &Api,
    args: &PopulationArgs,
    people: Vec<Existing>,
) -> anyhow::Result<(Vec<Seller>, Duration)> {
    let (progress, ticker) = Progress::start("logging sellers in", people.len());
    let mut sellers: Vec<Seller> = stream::iter(people)
        .map(|person| {
            let progress = progress.clone();
            async move {
                let session = api.login(&person.login, &args.seller_password).await?;
                ensure!(
                    session.user_id == person.id,
                    "{} logged in as user {} but was listed as {}",
                    person.login,
                    session.user_id,
                    person.id
                );
                progress.inc();
                Ok(Seller {
                    number: person.number,
                    id: person.id,
                    login: person.login,
                    session,
                })
            }
        })
        .buffer_unordered(args.setup_concurrency)
        .try_collect()
        .await?;
    let took = ticker.finish().await;
    sellers.sort_by_key(|s| s.number);
    Ok((sellers, took))
}

/// Makes sure `count` moderators of the population exist with the `moderator` role over
/// the whole program (staff accounts have no phone, so only the prefix names them), and
/// logs each in. They share the sellers' password.
pub async fn prepare_moderators(
    api: &Api,
    admin: &Session,
    args: &PopulationArgs,
    count: usize,
) -> anyhow::Result<(Vec<Moderator>, ModeratorSetup)> {
    args.check()?;
    ensure!((1..=999).contains(&count), "--moderators must be 1 to 999");
    let started = Instant::now();
    let program: ProgramRow = api
        .get(admin, "/api/v1/program")
        .await
        .context("reading the administrator's program")?;
    let roles: Vec<RoleRow> = api
        .get(admin, "/api/v1/roles")
        .await
        .context("listing roles")?;
    let role_id = roles
        .iter()
        .find(|r| r.name == "moderator")
        .map(|r| r.id)
        .context("the program has no `moderator` role")?;
    let whole_program = json!({ "kind": "program", "id": program.id });

    let mut setup = ModeratorSetup {
        created: 0,
        reused: 0,
        roles_assigned: 0,
        secs: 0.0,
    };
    let mut moderators = Vec::with_capacity(count);
    // A handful of accounts: one at a time keeps the failure messages plain.
    for number in 1..=count {
        let login = args.moderator_login(number);
        let existing = api.try_login(&login, &args.seller_password).await?;
        let (id, fresh) = match &existing {
            Some(session) => (session.user_id, false),
            None => {
                let body = json!({
                    "login": login,
                    "password": args.seller_password,
                    "name": format!("Load moderator {number}"),
                });
                let person: PersonRow = api
                    .post(admin, "/api/v1/users", &body, &format!("create-{login}"))
                    .await
                    .with_context(|| {
                        format!(
                            "creating moderator {login} (is the login taken with another password?)"
                        )
                    })?;
                (person.id, true)
            }
        };
        let held: Vec<AssignmentRow> = api
            .get(admin, &format!("/api/v1/users/{id}/roles"))
            .await
            .with_context(|| format!("listing {login}'s roles"))?;
        if !held
            .iter()
            .any(|a| a.role == "moderator" && a.scope == whole_program)
        {
            let body = json!({ "role_id": role_id, "scope": whole_program });
            let _: Value = api
                .post(
                    admin,
                    &format!("/api/v1/users/{id}/roles"),
                    &body,
                    &format!("assign-{login}-moderator"),
                )
                .await
                .with_context(|| format!("making {login} a moderator"))?;
            if !fresh {
                setup.roles_assigned += 1;
            }
        }
        // Log in after the role is given, so the session carries it from the start.
        let session = match existing {
            Some(session) => session,
            None => api.login(&login, &args.seller_password).await?,
        };
        if fresh {
            setup.created += 1;
        } else {
            setup.reused += 1;
        }
        moderators.push(Moderator { login, session });
    }
    setup.secs = started.elapsed().as_secs_f64();
    Ok((moderators, setup))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        population: PopulationArgs,
    }

    fn args(extra: &[&str]) -> PopulationArgs {
        Cli::parse_from(std::iter::once("t").chain(extra.iter().copied())).population
    }

    #[test]
    fn names_and_phones_follow_the_prefixes() {
        let a = args(&[]);
        a.check().expect("defaults are valid");
        assert_eq!(a.login(7), "lt-s00007");
        assert_eq!(a.phone(7).expect("phone"), "+79550000007");
        assert_eq!(a.store_code(3), "lt-store-3");
        assert_eq!(a.moderator_login(4), "lt-m004");
        let b = args(&["--prefix", "run2", "--phone-prefix", "+79561"]);
        assert_eq!(b.phone(1000).expect("phone"), "+79561001000");
    }

    #[test]
    fn bad_populations_are_refused_before_any_call() {
        for extra in [
            &["--sellers", "0"][..],
            &["--prefix", "Bad_Prefix"],
            &["--phone-prefix", "+7955123456"],
            &["--phone-prefix", "7x"],
            &["--seller-password", "short"],
            &["--sellers", "100000", "--phone-prefix", "+7955123"],
        ] {
            assert!(args(extra).check().is_err(), "{extra:?}");
        }
    }
}
