//! The command line: `stimul [serve|migrate|demo|admin create|program create|openapi]`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::Settings;
use crate::db::{Clock, Db};
use crate::domain::{Slug, TimeZoneName, Title};
use crate::org::people;
use crate::org::programs;
use crate::startup::Application;

#[derive(Parser)]
#[command(
    name = "stimul",
    version,
    about = "Stimul: a real-time motivation platform server"
)]
pub struct Cli {
    /// A TOML configuration file (default: ./stimul.toml when present).
    #[arg(long, global = true, env = "STIMUL_CONFIG")]
    config: Option<PathBuf>,
    /// Where the embedded database and files live (default ./data).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Load the demo program into the database and exit.
    Demo,
    /// Manage administrators.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Manage programs.
    #[command(subcommand)]
    Program(ProgramCommand),
    /// Print the OpenAPI document.
    Openapi,
}

#[derive(Args, Default)]
struct ServeArgs {
    /// Load the demo program and print its logins.
    #[arg(long)]
    demo: bool,
    #[arg(long)]
    port: Option<u16>,
    #[arg(long)]
    host: Option<String>,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an administrator of a program.
    Create {
        #[arg(long)]
        login: String,
        #[arg(long)]
        password: String,
        #[arg(long, default_value = "Administrator")]
        name: String,
        /// Program slug (default: the configured default program).
        #[arg(long)]
        program: Option<String>,
    },
}

#[derive(Subcommand)]
enum ProgramCommand {
    /// Create a program with its built-in roles.
    Create {
        #[arg(long)]
        slug: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "Europe/Moscow")]
        timezone: String,
    },
}

pub async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mut settings =
        Settings::load(cli.config.as_deref()).map_err(|e| anyhow::anyhow!("configuration: {e}"))?;
    if let Some(dir) = cli.data_dir {
        settings.data_dir = dir;
    }
    crate::telemetry::init(&settings.log, settings.otlp_endpoint.as_deref());
    match cli.command.unwrap_or(Command::Serve(ServeArgs::default())) {
        Command::Serve(args) => serve(settings, args).await,
        Command::Migrate => {
            connect(&settings).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Demo => {
            let db = connect(&settings).await?;
            let clock = Clock::default();
            crate::demo::load(&db, &clock, &settings.default_program)
                .await?
                .print();
            print_demo_codes(&db, &clock, &settings).await
        }
        Command::Admin(AdminCommand::Create {
            login,
            password,
            name,
            program,
        }) => {
            let db = connect(&settings).await?;
            let slug = program.unwrap_or_else(|| settings.default_program.clone());
            create_admin(&db, &slug, &login, &password, &name).await
        }
        Command::Program(ProgramCommand::Create {
            slug,
            name,
            timezone,
        }) => {
            let db = connect(&settings).await?;
            let slug = Slug::parse(&slug).map_err(anyhow::Error::msg)?;
            let name = Title::parse(&name).map_err(anyhow::Error::msg)?;
            let zone = TimeZoneName::parse(&timezone).map_err(anyhow::Error::msg)?;
            let mut tx = db.begin().await?;
            let program =
                programs::create(&mut tx, &slug, &name, &zone, Clock::default().now_ms()).await?;
            tx.commit().await?;
            println!("program {:?} created (id {})", program.slug, program.id);
            Ok(())
        }
        Command::Openapi => {
            print!("{}", crate::api::openapi_json());
            Ok(())
        }
    }
}

async fn connect(settings: &Settings) -> anyhow::Result<Db> {
    let db = Db::connect(&settings.database_url(), &settings.database).await?;
    db.migrate().await?;
    Ok(db)
}

/// Creates the demo's code pool and printed batch and says where the codes are; fills
/// the showcase and gives the sellers their welcome points.
async fn print_demo_codes(db: &Db, clock: &Clock, settings: &Settings) -> anyhow::Result<()> {
    crate::demo::demo_showcase(db, clock, &settings.default_program).await?;
    println!("the showcase has 8 rewards; every seller starts with 1,500 points");
    let path = crate::demo::demo_codes(
        db,
        clock,
        &settings.default_program,
        &settings.database_url(),
        &settings.data_dir,
    )
    .await?;
    println!(
        "1,000 printed demo codes (AquaLine Basic mixer) are in {}",
        path.display()
    );
    Ok(())
}

async fn serve(mut settings: Settings, args: ServeArgs) -> anyhow::Result<()> {
    if let Some(port) = args.port {
        settings.port = port;
    }
    if let Some(host) = args.host {
        settings.host = host;
    }
    let app = Application::build(settings.clone()).await?;
    if args.demo {
        crate::demo::load(
            &app.state().db,
            &app.state().clock,
            &settings.default_program,
        )
        .await?
        .print();
        print_demo_codes(&app.state().db, &app.state().clock, &settings).await?;
    }
    println!(
        "Stimul is listening on http://{}:{}",
        settings.host,
        app.port()
    );
    tracing::info!(port = app.port(), backend = ?app.state().db.backend, "listening");
    let stopped = app.run_until_stopped().await;
    crate::telemetry::flush();
    stopped
}

async fn create_admin(
    db: &Db,
    program_slug: &str,
    login: &str,
    password: &str,
    name: &str,
) -> anyhow::Result<()> {
    let (program, id) =
        people::create_admin(db, &Clock::default(), program_slug, login, password, name).await?;
    println!(
        "admin {login:?} created in program {:?} (user id {id})",
        program.slug
    );
    Ok(())
}
