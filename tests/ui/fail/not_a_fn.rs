#[gpm::main]
struct Main;

#[gpm::test]
const TEST: () = ();

fn main() {}
