//! `essaim doctor`: print the checks of `essaim_node::doctor`, one line each
//! with its fix; exit 1 if any failed.

use anyhow::{Result, bail};
use essaim_node::doctor::{self, Status};
use serde_json::json;

use crate::commands::Global;

/// `essaim doctor`.
pub(crate) fn run(global: &Global) -> Result<()> {
    let data = global.data_dir()?;
    let checks = doctor::run(&data);
    let failed = checks.iter().filter(|c| c.status == Status::Fail).count();
    if global.json {
        println!(
            "{}",
            json!({
                "data_dir": data.root(),
                "ok": failed == 0,
                "checks": checks,
            })
        );
    } else {
        println!("essaim doctor: {}", data.root().display());
        for check in &checks {
            println!(
                "{} {:<13} {}",
                check.status.mark(),
                check.name,
                check.message
            );
            if let Some(fix) = &check.fix {
                println!("  {:<13} fix: {fix}", "");
            }
        }
    }
    if failed > 0 {
        bail!("{failed} check(s) failed: fix them as shown above, then run `essaim doctor` again");
    }
    Ok(())
}
