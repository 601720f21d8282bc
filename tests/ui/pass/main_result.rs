// `main` keeps its return type: `?` and `return` leave the body with it.

use std::error::Error;

#[gpm::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let n: u32 = "42".parse()?;
    if n != 42 {
        return Err("wrong answer".into());
    }
    Ok(())
}
