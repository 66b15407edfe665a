//! The touch-screen kiosk (iced). Until it is built, `run` starts the
//! text-mode kiosk.

use crate::cli::{CliError, Env};

/// Runs the kiosk's touch screen.
pub fn run(env: &Env) -> Result<i32, CliError> {
    crate::textkiosk::run(env, false)
}
