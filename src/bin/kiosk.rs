//! The `kiosk` binary: the kiosk itself and its command-line tools.

use clap::Parser;

fn main() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KIOSK_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let cli = kiosk::cli::Cli::parse();
    std::process::exit(kiosk::cli::main_with(cli));
}
