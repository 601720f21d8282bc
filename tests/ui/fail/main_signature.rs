// The function is still expanded as written, so rustc adds its own E0580
// for a `main` with parameters.

#[gpm::main]
async fn main(args: Vec<String>) {
    let _ = args;
}

#[gpm::main]
async fn generic<T: Default>() {}
