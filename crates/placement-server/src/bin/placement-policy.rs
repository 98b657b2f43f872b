//! `placement-policy`: the policy as enforced, for operators (what
//! oslopolicy-checker and oslopolicy-policy-generator do for upstream).

use std::collections::BTreeMap;

use placement_policy::{Credentials, Policy, Target, default_lines, render_csv, sample_yaml};
use placement_server::{cli, load_config, out, outln, policy_config};

const USAGE: &str = "usage: placement-policy [--config-file FILE]... COMMAND
  list      every rule as enforced: its check string, where it comes from,
            its scope types and its Casbin lines (policies/model.conf)
  sample    a policy.yaml with every default commented out
  csv       upstream's defaults as Casbin lines (policies/policy.csv)
  check RULE [roles=R1,R2] [project=ID] [user=ID] [system_scope=all]
            [target.project_id=ID] [target.user_id=ID]
            whether RULE allows such a caller on such a target (exit 0 if
            it does, 1 if not); the target defaults to the caller's own
            project and user, as the API's checks do";

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let cli = cli::parse(std::env::args().skip(1)).unwrap_or_else(|e| fail(&format!("{e}\n{USAGE}")));
    if cli.version {
        outln!("{}", env!("CARGO_PKG_VERSION"));
        return;
    }
    let Some(command) = cli.args.first().filter(|_| !cli.help) else {
        outln!("{USAGE}\n{}", cli::COMMON_OPTIONS);
        std::process::exit(if cli.help { 0 } else { 2 });
    };
    match command.as_str() {
        "sample" => out!("{}", sample_yaml()),
        "csv" => out!("{}", render_csv(&default_lines().unwrap_or_else(|e| fail(&e.to_string())))),
        "list" => list(&load(&cli).await),
        "check" => check(&load(&cli).await, &cli.args[1..]),
        other => fail(&format!("unknown command {other:?}\n{USAGE}")),
    }
}

async fn load(cli: &cli::Cli) -> Policy {
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

fn check(policy: &Policy, args: &[String]) {
    let Some((rule, pairs)) = args.split_first() else { fail(USAGE) };
    let mut given = BTreeMap::new();
    for pair in pairs {
        let (k, v) = pair.split_once('=').unwrap_or_else(|| fail(&format!("{pair:?} is not KEY=VALUE\n{USAGE}")));
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
