//! `placement-policy`: the policy as enforced, for operators (what
//! oslopolicy-checker and oslopolicy-policy-generator do for upstream).

use std::collections::BTreeMap;

use clap::{Parser, Subcommand};
use placement_policy::{Credentials, Policy, Target, default_lines, render_csv, sample_yaml};
use placement_server::cli::{self, CommonArgs};
use placement_server::{load_config, out, outln, policy_config};

/// The policy as enforced, for operators: list, write out and check
/// Placement's rules.
#[derive(Parser)]
#[command(name = "placement-policy", after_help = cli::ENVIRONMENT)]
struct Options {
    #[command(flatten)]
    common: CommonArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Every rule as enforced: its check string, where it comes from, its
    /// scope types and its Casbin lines (policies/model.conf)
    List,
    /// A policy.yaml with every default commented out
    Sample,
    /// Upstream's defaults as Casbin lines (policies/policy.csv)
    Csv,
    /// Whether RULE allows such a caller on such a target (exit 0 if it
    /// does, 1 if not); the target defaults to the caller's own project
    /// and user, as the API's checks do
    Check {
        /// The rule's name, such as placement:traits:list
        #[arg(value_name = "RULE")]
        rule: String,
        /// roles=R1,R2 project=ID user=ID system_scope=all target.project_id=ID target.user_id=ID
        #[arg(value_name = "KEY=VALUE")]
        given: Vec<String>,
    },
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let cli: Options = cli::parse();
    if cli.common.version {
        outln!("{}", env!("CARGO_PKG_VERSION"));
        return;
    }
    let Some(command) = cli.command else { cli::missing_command::<Options>("a command is required") };
    match command {
        Command::Sample => out!("{}", sample_yaml()),
        Command::Csv => out!("{}", render_csv(&default_lines().unwrap_or_else(|e| fail(&e.to_string())))),
        Command::List => list(&load(&cli.common).await),
        Command::Check { rule, given } => check(&load(&cli.common).await, &rule, &given),
    }
}

async fn load(cli: &CommonArgs) -> Policy {
    let config = load_config(cli).unwrap_or_else(|e| fail(&e));
    Policy::load(&policy_config(&config)).await.unwrap_or_else(|e| fail(&e.to_string()))
}

fn list(policy: &Policy) {
    for rule in policy.effective() {
        outln!("{}", rule.name);
        outln!("  check: {:?} ({:?})", rule.check, rule.source);
        if !rule.scope_types.is_empty() {
            outln!("  scope_types: {}", rule.scope_types.join(", "));
        }
        for line in &rule.lines {
            outln!("  {line}");
        }
        if rule.lines.is_empty() {
            outln!("  (no line: nobody is allowed)");
        }
    }
}

fn check(policy: &Policy, rule: &str, pairs: &[String]) {
    let mut given = BTreeMap::new();
    for pair in pairs {
        let (k, v) = pair.split_once('=').unwrap_or_else(|| fail(&format!("{pair:?} is not KEY=VALUE")));
        given.insert(k.to_string(), v.to_string());
    }
    let creds = Credentials {
        user_id: given.get("user").cloned().unwrap_or_default(),
        project_id: given.get("project").cloned(),
        roles: given.get("roles").map(|r| r.split(',').map(str::to_string).collect()).unwrap_or_default(),
        system_scope: given.get("system_scope").cloned(),
        ..Credentials::default()
    };
    let mut target = Target::new();
    for (key, own) in [("project_id", creds.project_id.clone()), ("user_id", Some(creds.user_id.clone()))] {
        if let Some(value) = given.get(&format!("target.{key}")).cloned().or(own) {
            target.insert(key.to_string(), value);
        }
    }
    match policy.authorize(rule, &creds, &target) {
        Ok(()) => outln!("{rule}: allowed"),
        Err(denied) => {
            outln!("{rule}: denied ({denied})");
            std::process::exit(1);
        }
    }
}

fn fail(message: &str) -> ! {
    eprintln!("placement-policy: {message}");
    std::process::exit(2)
}
