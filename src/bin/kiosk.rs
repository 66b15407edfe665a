//! The `kiosk` binary: the kiosk itself and its command-line tools.

use clap::Parser;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::prelude::*;

fn main() {
    // Stderr as KIOSK_LOG says, and the last warnings and errors for the
    // staff menu whatever KIOSK_LOG says.
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_filter(
                    tracing_subscriber::EnvFilter::try_from_env("KIOSK_LOG")
                        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
                ),
        )
        .with(kiosk::ui::log::RecentLayer.with_filter(LevelFilter::WARN))
        .init();
    let cli = kiosk::cli::Cli::parse();
    std::process::exit(kiosk::cli::main_with(cli));
}
