//! `[healthcheck]`: oslo.middleware's healthcheck options (`path`,
//! `detailed`, `backends`, `disable_by_file_path`, `disable_by_file_paths`,
//! `allowed_source_ranges`, `ignore_proxied_requests`), and `enabled`
//! (ours: upstream Placement has no health check to switch off).

use std::path::PathBuf;

use placement_api::healthcheck::{Check, HealthcheckSettings, Network};

use crate::config::ConfigError;

#[derive(Clone, Debug, PartialEq)]
pub struct HealthcheckOptions {
    pub enabled: bool,
    pub settings: HealthcheckSettings,
}

impl Default for HealthcheckOptions {
    fn default() -> Self {
        HealthcheckOptions { enabled: true, settings: HealthcheckSettings::default() }
    }
}

fn list(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim).filter(|s| !s.is_empty())
}

impl HealthcheckOptions {
    /// Apply `option`; false when it is none of ours.
    pub fn set(&mut self, option: &str, value: &str) -> Result<bool, ConfigError> {
        let invalid = |message: String| crate::config::invalid("healthcheck", option, message);
        let s = &mut self.settings;
        match option {
            "enabled" => self.enabled = crate::config::parse_bool("healthcheck", option, value)?,
            "path" => s.path = value.trim().to_string(),
            "detailed" => s.detailed = crate::config::parse_bool("healthcheck", option, value)?,
            "ignore_proxied_requests" => {
                s.ignore_proxied_requests = crate::config::parse_bool("healthcheck", option, value)?;
            }
            "backends" => {
                s.checks = list(value)
                    .map(|name| {
                        Check::parse(name).ok_or_else(|| {
                            invalid(format!("{name:?} is not one of database, disable_by_file, disable_by_files_ports"))
                        })
                    })
                    .collect::<Result<_, _>>()?;
            }
            "disable_by_file_path" => {
                s.disable_by_file_path = Some(value.trim()).filter(|v| !v.is_empty()).map(PathBuf::from);
            }
            "disable_by_file_paths" => {
                s.disable_by_file_paths = list(value)
                    .map(|pair| {
                        let (port, path) =
                            pair.split_once(':').ok_or_else(|| invalid(format!("{pair:?} is not port:path")))?;
                        let port =
                            port.trim().parse::<u16>().map_err(|_| invalid(format!("{port:?} is not a port")))?;
                        Ok((port, PathBuf::from(path.trim())))
                    })
                    .collect::<Result<_, ConfigError>>()?;
            }
            "allowed_source_ranges" => {
                s.allowed_source_ranges = list(value)
                    .map(|r| Network::parse(r).ok_or_else(|| invalid(format!("{r:?} is not an IP network"))))
                    .collect::<Result<_, _>>()?;
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_parse_and_bad_values_are_refused() {
        let mut h = HealthcheckOptions::default();
        assert!(h.set("backends", "database, disable_by_files_ports").unwrap());
        assert!(h.set("disable_by_file_paths", "8778:/run/a, 8779:/run/b").unwrap());
        assert!(h.set("allowed_source_ranges", "10.0.0.0/8,::1").unwrap());
        assert_eq!(h.settings.checks, [Check::Database, Check::DisableByFilesPorts]);
        assert_eq!(h.settings.disable_by_file_paths[1], (8779, PathBuf::from("/run/b")));
        assert_eq!(h.settings.allowed_source_ranges.len(), 2);
        assert!(!h.set("no_such_option", "x").unwrap());
        for (option, value) in
            [("backends", "magic"), ("disable_by_file_paths", "/run/a"), ("allowed_source_ranges", "10.0.0.0/99")]
        {
            let err = h.set(option, value).unwrap_err().to_string();
            assert!(err.contains(&format!("[healthcheck] {option}")), "{err}");
        }
    }
}
