// `select!`'s arms are sealed: no other type can be one (the engine trusts
// an arm to name the same channel on every call).
use gpm::__private::select::{Arm, CaseRef};

struct Fake;

impl Arm for Fake {
    fn case(&self) -> CaseRef<'_> {
        unimplemented!()
    }
}

fn main() {}
