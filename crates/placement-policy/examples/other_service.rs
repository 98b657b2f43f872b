//! oslo.policy rules for a service that is not Placement: a made-up
//! lending library with two rules, its own defaults, and an operator's
//! override on top, as `policy.yaml` would give it.
//!
//! `cargo run -p placement-policy --example other_service`

use placement_policy::{Credentials, Defaults, Denied, Policy, PolicyConfig, Target};

const LIBRARY_DEFAULTS: &str = r#"
library:books:read:
  check: "role:reader or rule:library:books:lend"
  scope_types: [project]
library:books:lend:
  check: "role:member and project_id:%(project_id)s"
  scope_types: [project]
"#;

fn someone(roles: &[&str], project: &str) -> Credentials {
    Credentials {
        user_id: "u1".into(),
        project_id: Some(project.into()),
        roles: roles.iter().map(|r| r.to_string()).collect(),
        ..Default::default()
    }
}

fn decide(policy: &Policy, rule: &str, who: &Credentials, project: &str) -> Result<(), Denied> {
    let target = Target::from([("project_id".to_string(), project.to_string())]);
    let decision = policy.authorize(rule, who, &target);
    println!(
        "{rule:<20} roles {:<10} in {:<9} on {project:<9}: {decision:?}",
        who.roles.join(","),
        who.project_id.as_deref().unwrap_or("-")
    );
    decision
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = PolicyConfig { enforce_scope: true, enforce_new_defaults: true, ..Default::default() };
    let policy = Policy::load_with(Defaults::from_yaml(LIBRARY_DEFAULTS)?, &config).await?;
    let (reader, member) = (someone(&["reader"], "branch-a"), someone(&["member"], "branch-a"));

    assert!(decide(&policy, "library:books:read", &reader, "branch-a").is_ok());
    assert!(decide(&policy, "library:books:lend", &reader, "branch-a").is_err());
    assert!(decide(&policy, "library:books:lend", &member, "branch-a").is_ok());
    assert!(decide(&policy, "library:books:lend", &member, "branch-b").is_err());
    assert!(decide(&policy, "library:books:read", &member, "branch-b").is_err());

    // An operator lets readers lend too, in a policy file of their own.
    let file = std::env::temp_dir().join(format!("library-policy-{}.yaml", std::process::id()));
    std::fs::write(&file, "\"library:books:lend\": \"role:reader or role:member\"\n")?;
    let overridden = PolicyConfig { policy_file: Some(file.clone()), ..config };
    let policy = Policy::load_with(Defaults::from_yaml(LIBRARY_DEFAULTS)?, &overridden).await?;
    assert!(decide(&policy, "library:books:lend", &reader, "branch-a").is_ok());
    std::fs::remove_file(file)?;
    Ok(())
}
