//! What the heartbeat says of the devices: each one's last status and the
//! receipt paper, read off the device events. Both kiosks, text and touch
//! screen, report this way; the wire types are in [`crate::protocol`].

use crate::devices::events::DeviceStatus;
use crate::protocol::DeviceHealth;

/// A device's last reported status as the heartbeat carries it.
pub fn device_health(id: &str, status: &DeviceStatus) -> DeviceHealth {
    let (state, info) = match status {
        DeviceStatus::Up { info } => ("up", info),
        DeviceStatus::Down { reason } => ("down", reason),
        DeviceStatus::Error { reason } => ("error", reason),
    };
    DeviceHealth {
        id: id.to_string(),
        state: state.into(),
        info: info.clone(),
    }
}

/// What the heartbeats say of the devices: each one's last status (by
/// id), and the receipt paper as the printers (`printers`: their ids)
/// last reported it. Both kiosks, text and touch screen, report this way.
pub fn device_report<'a>(
    statuses: impl IntoIterator<Item = (&'a String, &'a DeviceStatus)>,
    printers: &[&str],
) -> (Vec<DeviceHealth>, &'static str) {
    let health: Vec<DeviceHealth> = statuses
        .into_iter()
        .map(|(id, s)| device_health(id, s))
        .collect();
    let paper = paper_state(health.iter().filter(|h| printers.contains(&h.id.as_str())));
    (health, paper)
}

/// The receipt paper from the printers' last states: out when a printer is
/// down or in error for paper (the printer driver reports an empty roll as
/// an error), near_end when one warns of it, none without a printer.
pub fn paper_state<'a>(printers: impl Iterator<Item = &'a DeviceHealth>) -> &'static str {
    let mut paper = "none";
    for p in printers {
        let about_paper = p.info.contains("paper");
        paper = match (p.state.as_str(), about_paper, paper) {
            ("down" | "error", true, _) => return "out",
            ("up", true, _) if p.info.contains("low") => "near_end",
            (_, _, "near_end") => "near_end",
            _ => "ok",
        };
    }
    paper
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(state: &str, info: &str) -> DeviceHealth {
        DeviceHealth {
            id: "printer".into(),
            state: state.into(),
            info: info.into(),
        }
    }

    #[test]
    fn paper_follows_what_the_printers_last_said() {
        assert_eq!(paper_state([].iter()), "none");
        assert_eq!(
            paper_state([h("up", "ESC/POS on /dev/ttyUSB0")].iter()),
            "ok"
        );
        assert_eq!(
            paper_state([h("up", "receipt paper is running low")].iter()),
            "near_end"
        );
        assert_eq!(
            paper_state([h("down", "the receipt printer is out of paper")].iter()),
            "out"
        );
        // As the printer driver reports an empty roll.
        assert_eq!(
            paper_state([h("error", "the receipt printer is out of paper")].iter()),
            "out"
        );
        // A printer down for another reason says nothing about paper.
        assert_eq!(paper_state([h("down", "no such port")].iter()), "ok");
        assert_eq!(
            paper_state([h("up", "receipt paper is running low"), h("up", "ESC/POS"),].iter()),
            "near_end"
        );
    }

    #[test]
    fn the_report_names_each_device_and_reads_paper_from_printers_only() {
        let mut s = std::collections::BTreeMap::new();
        s.insert(
            "pad".to_string(),
            DeviceStatus::Down {
                reason: "out of paper? no: no such port".into(),
            },
        );
        s.insert(
            "printer".to_string(),
            DeviceStatus::Up {
                info: "receipt paper is running low".into(),
            },
        );
        let (health, paper) = device_report(&s, &["printer"]);
        assert_eq!(paper, "near_end");
        assert_eq!(health.len(), 2);
        assert_eq!(health[0].id, "pad");
        assert_eq!(health[0].state, "down");
        assert_eq!(health[1].state, "up");
        // The pad's words mention paper, but it is not a printer.
        let (_, paper) = device_report(&s, &[]);
        assert_eq!(paper, "none");
    }
}
