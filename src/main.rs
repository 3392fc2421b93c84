//! The `stimul` binary: parses the command line and hands over to the library.

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    match stimul::cli::run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
