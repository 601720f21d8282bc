// rustc's own type errors point into the body, not at the attribute.

#[gpm::main]
async fn missing_return_type() {
    Ok(())
}

#[gpm::main]
async fn extra_semicolon() -> Result<(), String> {
    Ok(());
}

fn main() {}
