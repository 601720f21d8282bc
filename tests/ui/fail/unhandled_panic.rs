// A bad `unhandled_panic` is reported at its value, naming the valid ones.

#[gpm::main(unhandled_panic = "abort")]
async fn unknown_value() {}

#[gpm::main(unhandled_panic = "Ignore")]
async fn variant_name() {}

#[gpm::main(unhandled_panic = ignore)]
async fn not_a_string() {}

#[gpm::test(unhandled_panic)]
async fn without_value() {}

#[gpm::test(unhandled_panic = "ignore", unhandled_panic = "ignore")]
async fn twice() {}

fn main() {}
